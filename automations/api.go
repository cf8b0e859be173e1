// Package automations compiles Cerb automation scripts written in KATA into
// immutable programs, validates them (every problem at once, with line:col),
// and interprets them: flow nodes, commands, policy, and limits. It also holds
// the webhook.respond trigger layer (request keys in, HTTP response out) and
// the event KATA of webhooks (handler selection).
//
// This file fixes the package's exported contract; the implementation lives
// in the other files of the package.
package automations

import (
	"context"
	"net/http"
	"time"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// Diagnostic is one validation problem with its source and position.
// Source is "script", "policy" or "event".
type Diagnostic = kata.Error

// Diagnostics is every problem found; it is the error type of Compile and
// ParseEvent.
type Diagnostics = kata.Errors

// Source is what Compile needs of an automation record.
type Source struct {
	Name    string // e.g. "example.webhook.respond"
	Trigger string // the record's extension_id, e.g. "cerb.trigger.webhook.respond" (see Trigger)
	Script  string
	Policy  string // policy KATA, may be empty
}

// Limits bound a run. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	Time       time.Duration // default 25s; policy settings:time_limit_ms can change it, up to 120s
	Steps      int           // node activations, default 100,000
	ValueBytes int           // largest value a command may produce, default 16 MiB
	LogBytes   int           // run log cap, default 64 KiB
	// RunBytes bounds the memory of the values a run keeps in its
	// variables (set:, var.*, outputs, repeat's as:), each charged what it
	// takes in Go's heap, approximately (a text its bytes and 16, a
	// dictionary entry its key's bytes and 64 besides its value, a list
	// item 16); default 256 MiB. The caller's inputs do not count. A value
	// kept under several keys counts under each, though the run shares it.
	RunBytes int
}

// Options configure Compile.
type Options struct {
	Templates *templates.Env // required
	Limits    Limits
	// Commands lists extra command names (provided by extensions) that
	// scripts may call; they run through Runtime.Commands.
	Commands []string
}

// Exit is the state an automation ended in.
type Exit string

// Exit states (spec §2.6).
const (
	ExitReturn Exit = "return"
	ExitError  Exit = "error"
	ExitExit   Exit = "exit"
	ExitAwait  Exit = "await"
)

// LogEntry is one line of the run log. Level follows Cerb: 7 log, 4 warn,
// 3 error, 1 alert.
type LogEntry struct {
	Level   int
	Node    string // node id, e.g. "start:log/hello:"
	Message string
}

// Result is how a run ended.
type Result struct {
	Exit   Exit
	Return *dict.Map // __return; nil when the run ended without return:
	// ReturnJSON is Return as the JSON object an extension process sent
	// (nil in-process, or when the host changed it on the way): a run
	// record keeps these bytes instead of encoding Return again when
	// redaction changes nothing in it.
	ReturnJSON []byte
	// Error is the failure message when Exit is ExitError ("" otherwise);
	// ErrorAt the node id where it happened. Limit names the limit that
	// ended the run ("time", "steps", "value", "memory", "" when none).
	Error   string
	ErrorAt string
	Limit   string
	Log     []LogEntry
	Steps   int
	// SideEffects lists, in order, the commands a simulated run
	// (Runtime.Simulate) did not run: at most MaxSideEffects of them.
	SideEffects []SideEffect
}

// SideEffect is a command that a simulated run did not run: a command the
// policy gate covers (http.request, function, storage.*, extension
// commands), or any command with an `on_simulate:` block.
type SideEffect struct {
	Command string // "http.request"
	Node    string // node id, "start:http.request/notify:"
	// OnSimulate reports that the command's `on_simulate:` block ran
	// instead of it.
	OnSimulate bool
	// Denied reports that the policy refused the command: it failed as it
	// would have in a real run, and nothing was simulated.
	Denied bool
}

// MaxSideEffects bounds Result.SideEffects; a loop that simulates more
// commands than this lists only the first ones (the run log says so).
const MaxSideEffects = 1000

// Storage is the key-value store behind storage.get/set/delete.
type Storage interface {
	Get(ctx context.Context, key string) (value any, found bool, err error)
	Set(ctx context.Context, key string, value any, expires time.Time) error
	Delete(ctx context.Context, key string) (found bool, err error)
}

// FunctionRunner runs another automation for the function: command.
// name is the automation name (from cerb:automation:<name>).
type FunctionRunner interface {
	RunFunction(ctx context.Context, name string, inputs *dict.Map) (*Result, error)
}

// CommandRunner runs a command provided by an extension.
type CommandRunner interface {
	RunCommand(ctx context.Context, name string, inputs *dict.Map) (output any, err error)
}

// Runtime is what a run may reach outside the interpreter. Nil fields make the
// matching commands fail with a clear error.
type Runtime struct {
	HTTPClient *http.Client
	Storage    Storage
	Functions  FunctionRunner
	Commands   CommandRunner
	Now        func() time.Time
	// Simulate runs the program as a dry run: no command the policy gate
	// covers runs (http.request, function, storage.*, extension
	// commands). The policy is checked as in a real run (a denial fails
	// the command as it would); then the command's `on_simulate:` block
	// runs instead of it when it has one (`simulate.success:` and
	// `simulate.error:` there set its output and run its `on_success:` or
	// `on_error:`, as in Cerb), else its output stays unset and the run
	// continues after it. As in Cerb's simulator, any other command with
	// an `on_simulate:` block runs the block instead too. Result.SideEffects
	// lists what did not run.
	Simulate bool
}

// HTTPRequest is an incoming webhook request before normalisation. Headers,
// query and form pairs keep their order and their original spelling (names
// and values URL-decoded, nothing else done to them): WebhookInputs
// normalises them as Cerb under PHP does.
type HTTPRequest struct {
	Method string
	// Path is the path after the token as received (not URL-decoded),
	// with or without the '/' that follows the token: "/a/b/" or "a/b/".
	Path string
	// Headers are the header lines in the order received, repeats included.
	Headers [][2]string
	Query   [][2]string
	// Form holds the fields of a POST body of type
	// application/x-www-form-urlencoded or multipart/form-data (PHP fills
	// $_POST for POST only; files are not fields).
	Form [][2]string
	// Body is the raw body (request_body is empty for a multipart/form-data
	// POST, as in PHP). WebhookInputs shares its memory: it must not change
	// once the request is built.
	Body     []byte
	ClientIP string
}

// WebhookInfo is the webhook record as the automation sees it (webhook_*).
type WebhookInfo struct {
	ID        string
	Name      string
	EventKATA string
	UpdatedAt time.Time
}

// Response is the HTTP answer an automation's return: produces.
type Response struct {
	Status  int
	Headers [][2]string
	// Body shares the memory of the return dictionary's body text
	// (WebhookResponse): it must not be written to.
	Body []byte
	// Warnings explain values of the return dictionary that could not be
	// used as they were (an invalid status_code, a dropped header); the
	// host should add them to the run log.
	Warnings []string
}

// JobOptions is the job: block of an event handler (spec issue: durable jobs).
type JobOptions struct {
	WaitMS      int64
	MaxAttempts int
	TimeoutMS   int64
	Concurrency int
	CallbackURL string
	// IdempotencyKey is the handler's own delivery key (job:
	// idempotency_key:, rendered for the request): a redelivery with the
	// same key within 24 hours gets the first job. Empty when the handler
	// names none (the well-known delivery-id headers are used then).
	IdempotencyKey string
}

// Handler is the event handler chosen for one request.
type Handler struct {
	Key        string    // "automation/webhook"
	Automation string    // automation name
	Inputs     *dict.Map // fixed inputs: (rendered), nil when none
	Job        *JobOptions
	Pos        kata.Pos
}
