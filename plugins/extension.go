package plugins

import (
	"context"
	"time"
)

// Extension is the contract between the host and an extension. The host calls
// its methods concurrently; implementations must be safe for concurrent use.
type Extension interface {
	// Describe reports who the extension is and what it provides. The host
	// calls it once per process start.
	Describe(ctx context.Context) (Description, error)

	// Run runs one automation. ctx ends at the run's deadline
	// (Invocation.Deadline); an extension stops work when it is done. A
	// failure of the automation itself is an Outcome with Exit ExitError;
	// the returned error is for runs that could not start (unknown trigger,
	// invalid script, bad inputs) and should be an *Error.
	Run(ctx context.Context, inv Invocation, host Host) (Outcome, error)

	// RunCommand runs one of the commands listed in Description.Commands.
	// inputs and the output are JSON values; errors should be *Error.
	RunCommand(ctx context.Context, call CommandCall, host Host) (output []byte, err error)
}

// ReturnReuser is an Extension that reuses the memory of its runs'
// Outcome.Return. When a run's result has gone to the host over the run
// socket, the SDK hands its Return back to ReuseReturn: the SDK no longer
// refers to it, and the extension may write to it (a buffer for a later
// run's Return). A Return that goes another way (gRPC, in-process, a result
// the host no longer wanted) is not handed back.
//
// Implement it only if every Return is a buffer made for that run alone:
// never shared with another run, cached, kept after Run returns, or part of
// the Invocation. The SDK cannot check this; a buffer written to while
// something else still refers to it gives a run another run's result.
//
// ReuseReturn is called on the send loop of a host connection after each
// write, so it must be quick and must not block: the results that follow
// wait for it. It runs concurrently with Run and with itself (one send loop
// per host connection). A panic in it is logged and the buffer dropped,
// as a panic in Run fails that run alone.
type ReturnReuser interface {
	ReuseReturn(b []byte)
}

// Description is what Describe reports.
type Description struct {
	ID       string   // extension id, e.g. "webhook"
	Version  string   // the extension's own version, free-form
	Triggers []string // trigger ids it runs, e.g. "cerb.trigger.webhook.respond"
	Commands []string // command names it provides, e.g. "example.slugify"
	// ProtocolVersion is the protocol the extension speaks; Describe
	// implementations may leave it 0, the SDK fills in ProtocolVersion.
	ProtocolVersion int
	// Formats lists the encodings of Invocation.Inputs besides JSON that
	// the extension reads (see Invocation.InputsFormat), e.g. "dict/1".
	Formats []string
}

// Invocation is one automation run. Received from a host, its strings and
// Inputs may share the memory of the message they came in: an extension
// that keeps some of them long after the run (a cache of compiled scripts)
// keeps a copy (strings.Clone), not the whole message.
type Invocation struct {
	RunID      string // the host's run id, for logs
	Automation string // automation name, e.g. "example.webhook.respond"
	// Revision changes whenever the automation's script or policy changes
	// (e.g. its updated_at); extensions may cache compiled programs by
	// (Automation, Revision).
	Revision string
	Trigger  string // e.g. "cerb.trigger.webhook.respond"
	Script   string // the automation's KATA
	Policy   string // the policy KATA, may be empty
	// Inputs is a JSON object; key order is significant (Cerb dictionaries
	// keep insertion order). With InputsFormat, it is that encoding of
	// the object instead.
	Inputs []byte
	// InputsFormat is the encoding of Inputs: "" for JSON, or one the
	// extension lists in Description.Formats. The host uses another only
	// for an extension that lists it; the built-in webhook extension
	// reads "dict/1", the wire form of package templates/dict
	// (dict.AppendWire), which is cheaper to write and read than JSON. A
	// Client refuses a format the extension process did not list
	// (CodeUnsupported), and the caller may send JSON instead.
	InputsFormat string
	// Deadline is when the run must end; zero means none. The host also
	// sets it on ctx.
	Deadline time.Time
	// Commands names the commands (of any extension) the script may call
	// through Host.RunCommand; the extension manager fills it in when it is
	// nil. Extensions that validate scripts use it at compile time.
	Commands []string
	// Values, when not nil, replaces Inputs with the same object already
	// decoded into the caller's Go values, so that an in-process call skips
	// encoding and decoding JSON; Inputs is then nil. Only a host calling an
	// extension in its own process sets it, and only for an extension it
	// knows reads it (the built-in webhook extension reads a *dict.Map of
	// package templates/dict, and answers exactly as it would to the JSON).
	// It never crosses a process boundary.
	Values any
	// Simulate asks for a dry run: the automation runs, but no command
	// with a side effect does (http.request, function, storage.*,
	// commands of extensions: those the policy checks); Cerb's
	// on_simulate: blocks run instead. An extension that honours it sets
	// Outcome.Simulated; the host must not trust a dry run whose outcome
	// does not say so (an extension built before the field ignores it).
	Simulate bool
	// InputsReleased, when not nil, is set by a Client's Run to whether
	// it returns with nothing of the run's transport referring to Inputs
	// any more: true when the run went over the run socket and its answer
	// (an outcome or the extension's error) came once its message was
	// sent; false after a gRPC call (which may keep a message after
	// sending it) or a failure of the transport (a context ended, a
	// broken stream). The caller may reuse Inputs' memory only when true.
	// It is never sent to an extension process, and an in-process
	// extension gets it nil.
	InputsReleased *bool
}

// CommandCall is one command call.
type CommandCall struct {
	RunID  string // the run that called the command, "" if none
	Name   string // e.g. "example.slugify"
	Inputs []byte // a JSON object
}

// Exit is the state an automation run ended in.
type Exit string

// Exit states.
const (
	ExitReturn Exit = "return"
	ExitError  Exit = "error"
	ExitExit   Exit = "exit"
	ExitAwait  Exit = "await"
)

// Limit names that Outcome.Limit may hold.
const (
	LimitTime  = "time"
	LimitSteps = "steps"
	LimitValue = "value"
	// LimitMemory is the run's memory limit: the values it keeps add up
	// past automations.Limits.RunBytes.
	LimitMemory = "memory"
)

// Outcome is how a run ended.
type Outcome struct {
	Exit Exit
	// Return is the return: dictionary as a JSON object; nil when the run
	// ended without return:. A top-level body that is not valid UTF-8
	// (binary, from body@base64:) travels base64-encoded under the key
	// "body@base64" instead of "body"; the host decodes it back. With
	// ReturnFormat, it is that encoding of the dictionary instead.
	Return []byte
	// ReturnFormat is the encoding of Return: "" for JSON, or the
	// InputsFormat of the invocation (an extension may answer in JSON
	// any invocation).
	ReturnFormat string
	Log          []LogEntry
	// Error is set when Exit is ExitError.
	Error *Error
	// Limit names the limit that ended the run (LimitTime, LimitSteps,
	// LimitValue, LimitMemory), "" when none did.
	Limit string
	Steps int
	// Value, when not nil, replaces Return with the return dictionary as a
	// Go value (for the built-in webhook extension, a *dict.Map of package
	// templates/dict whose top-level "body" may hold bytes that are not
	// UTF-8); an extension may set it only when the invocation came with
	// Values. Like Values, it never crosses a process boundary.
	Value any
	// Simulated reports that the run honoured Invocation.Simulate.
	Simulated bool
	// SideEffects lists, in order, the commands a simulated run did not
	// run.
	SideEffects []SideEffect
}

// MaxLogEntries and MaxSideEffects bound an Outcome's Log and SideEffects
// across a process boundary: a run whose outcome has more fails with
// CodeInternal instead, so that an extension cannot make the host decode
// (and allocate for) entries without bound. The built-in engine's run log
// (64 KiB by default, 8 bytes an entry besides its text) holds 8,193
// entries at most, and it lists 1,000 side effects at most
// (automations.MaxSideEffects).
const (
	MaxLogEntries  = 10_000
	MaxSideEffects = 1_000
)

// SideEffect is a command a simulated run (Invocation.Simulate) did not
// run.
type SideEffect struct {
	Command string // "http.request"
	Node    string // node id, e.g. "start:http.request/notify:"
	// OnSimulate reports that its on_simulate: block ran instead.
	OnSimulate bool
	// Denied reports that the policy refused it: it failed as it would
	// have in a real run.
	Denied bool
}

// LogEntry is one line of a run log. Level follows Cerb: 7 log, 4 warn,
// 3 error, 1 alert.
type LogEntry struct {
	Level   int
	Node    string // node id, e.g. "start:log/hello:"
	Message string
}

// Host is what an extension may call back into during Run and RunCommand.
// Every method may be called concurrently. Values are JSON. A Host passed to
// Run is valid only until Run returns.
type Host interface {
	// Log records one log line of the current run.
	Log(ctx context.Context, entry LogEntry) error
	// StorageGet reads a key of the automation key-value store.
	StorageGet(ctx context.Context, key string) (value []byte, found bool, err error)
	// StorageSet writes a key; a zero expires keeps it forever.
	StorageSet(ctx context.Context, key string, value []byte, expires time.Time) error
	// StorageDelete removes a key and reports whether it existed.
	StorageDelete(ctx context.Context, key string) (found bool, err error)
	// RunFunction runs the automation named name with inputs (a JSON
	// object) and returns how it ended.
	RunFunction(ctx context.Context, name string, inputs []byte) (Outcome, error)
	// Secret looks up a secret by name.
	Secret(ctx context.Context, name string) (value string, found bool, err error)
	// RunCommand runs a command provided by any extension (including this
	// one) and returns its output.
	RunCommand(ctx context.Context, name string, inputs []byte) (output []byte, err error)
}

// NoHost is a Host that provides nothing: every method fails with
// CodeUnsupported (Log discards the line). Embed it in a Host that
// implements only some methods.
type NoHost struct{}

var _ Host = NoHost{}

func unsupported(what string) error {
	return &Error{Code: CodeUnsupported, Message: "host does not provide " + what}
}

// Log discards the entry.
func (NoHost) Log(context.Context, LogEntry) error { return nil }

// StorageGet fails with CodeUnsupported.
func (NoHost) StorageGet(context.Context, string) ([]byte, bool, error) {
	return nil, false, unsupported("storage")
}

// StorageSet fails with CodeUnsupported.
func (NoHost) StorageSet(context.Context, string, []byte, time.Time) error {
	return unsupported("storage")
}

// StorageDelete fails with CodeUnsupported.
func (NoHost) StorageDelete(context.Context, string) (bool, error) {
	return false, unsupported("storage")
}

// RunFunction fails with CodeUnsupported.
func (NoHost) RunFunction(context.Context, string, []byte) (Outcome, error) {
	return Outcome{}, unsupported("functions")
}

// Secret fails with CodeUnsupported.
func (NoHost) Secret(context.Context, string) (string, bool, error) {
	return "", false, unsupported("secrets")
}

// RunCommand fails with CodeUnsupported.
func (NoHost) RunCommand(context.Context, string, []byte) ([]byte, error) {
	return nil, unsupported("commands")
}
