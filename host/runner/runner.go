// Package runner runs automations for the server: it starts the
// extensions (built-in ones as child processes of the hookhost binary, or
// in-process for tests and measurement; third-party ones from the plugins
// directory), sends each run to the extension that provides the
// automation's trigger, answers the extension's callbacks (log, storage,
// secrets, function calls, commands of other extensions), and runs
// durable job attempts the same way.
package runner

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/extensions"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/webhook"
	"github.com/hookhost/hookhost/templates/dict"
)

// Invocation is one automation run the server asks for.
type Invocation struct {
	RunID      string
	Automation *store.Automation
	Inputs     *dict.Map
	// Simulate makes the run a dry run (plugins.Invocation.Simulate): no
	// command with a side effect runs, and Result.SideEffects lists them.
	// A run the extension did not simulate fails with ErrNotSimulated.
	Simulate bool
	// host answers the run's callbacks (Run sets it): it lives in the
	// Invocation, which the caller already holds, so that it is not an
	// allocation of every run.
	host callbacks
}

// Runner runs automations. The server's runner sends each run to the
// extension that provides the automation's trigger; tests substitute
// their own.
type Runner interface {
	Run(ctx context.Context, inv *Invocation) (*automations.Result, error)
}

// ErrExtensionCrashed marks a run lost because its extension process died.
var ErrExtensionCrashed = errors.New("extension crashed")

// ErrNotSimulated marks a dry run whose extension did not say it simulated
// the run (an extension built before dry runs existed): its result cannot
// be trusted to be free of side effects, and is not returned.
var ErrNotSimulated = errors.New("the extension running this automation cannot simulate it (dry run)")

// Config configures the extensions.
type Config struct {
	// DataDir holds the extensions' sockets (<DataDir>/sockets).
	DataDir string
	// PluginsDir holds third-party extension binaries (used when it exists).
	PluginsDir string
	// Processes is the number of processes started per extension.
	Processes int
	// AllowPrivateRequests lets http.request reach private addresses.
	AllowPrivateRequests bool
	// InProcess runs the built-in extension inside this process.
	InProcess bool
	// Command is the command line that starts a built-in extension; its
	// name is appended. Default: this executable + "ext serve".
	Command []string
	// PassEnv names variables of the server's environment that every
	// extension process gets besides the basic ones (PATH, HOME, TMPDIR,
	// LANG, LANGUAGE, LC_*, TZ), e.g. HTTPS_PROXY or SSL_CERT_FILE. Nothing
	// else of the server's environment reaches an extension.
	PassEnv []string
	// WatchPlugins reloads the extensions when a binary in PluginsDir
	// appears, changes or goes.
	WatchPlugins bool
	// StartTimeout bounds the start of one extension process (handshake
	// and description); one that misses it is killed and listed as
	// failed, and the server starts without it. Default 10s.
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// Extensions are the running extensions.
type Extensions struct {
	log    *slog.Logger
	mgr    *extensions.Manager
	inproc plugins.Extension // nil unless Config.InProcess
}

var _ catalog.Extensions = (*Extensions)(nil)

// Start starts the extensions. Close stops them.
func Start(ctx context.Context, cfg Config) (*Extensions, error) {
	sockets, err := filepath.Abs(filepath.Join(cfg.DataDir, "sockets"))
	if err != nil {
		return nil, err
	}
	mcfg := extensions.Config{SocketDir: sockets, Logger: cfg.Logger, PoolSize: cfg.Processes,
		PassEnv: cfg.PassEnv, StartTimeout: cfg.StartTimeout}
	if cfg.WatchPlugins && cfg.PluginsDir != "" {
		// Watched, it may start empty: binaries dropped in later start.
		if err := os.MkdirAll(cfg.PluginsDir, 0o755); err != nil {
			return nil, fmt.Errorf("plugins dir: %w", err)
		}
	}
	if st, err := os.Stat(cfg.PluginsDir); err == nil && st.IsDir() {
		mcfg.PluginsDir = cfg.PluginsDir
		mcfg.Watch = cfg.WatchPlugins
	}
	e := &Extensions{log: cfg.Logger}
	wopts := webhook.Options{AllowPrivateRequests: cfg.AllowPrivateRequests}
	if cfg.AllowPrivateRequests {
		mcfg.Env = append(mcfg.Env, webhook.EnvAllowPrivateRequests+"=true")
	}
	if cfg.InProcess {
		e.inproc = plugins.InProcess(webhook.NewWithOptions(wopts))
	} else {
		cmd := cfg.Command
		if len(cmd) == 0 {
			if cmd, err = extensions.BuiltinCommand("webhook"); err != nil {
				return nil, err
			}
		} else {
			cmd = append(append([]string(nil), cmd...), "webhook")
		}
		mcfg.Builtins = map[string][]string{"webhook": cmd}
	}
	mgr, err := extensions.New(mcfg)
	if err != nil {
		return nil, fmt.Errorf("extensions: %w", err)
	}
	if err := mgr.Start(ctx); err != nil {
		var se *extensions.StartError
		if ctx.Err() != nil || !errors.As(err, &se) {
			// Cancelled (SIGTERM during start-up) or a setup failure: stop
			// what started.
			_ = mgr.Close()
			return nil, fmt.Errorf("start extensions: %w", err)
		}
		// An extension that was refused (checksum) or failed to start (no
		// handshake in time, wrong handshake) is logged and listed; the
		// others serve.
		cfg.Logger.Error("some extensions did not start", "error", err)
	}
	e.mgr = mgr
	return e, nil
}

// Close stops the extension processes. It is idempotent.
func (e *Extensions) Close() error { return e.mgr.Close() }

// Reload makes the running extensions match the plugins directory: new
// binaries start, changed ones restart (after the runs they hold), removed
// ones stop. See extensions.Manager.Reload.
func (e *Extensions) Reload(ctx context.Context) (extensions.ReloadResult, error) {
	return e.mgr.Reload(ctx)
}

// Commands lists the extension commands scripts may call; a reload may
// change them.
func (e *Extensions) Commands() []string { return e.mgr.Commands() }

// Names lists the extension names and their commands (what a package may
// require).
func (e *Extensions) Names() []string {
	var names []string
	for _, in := range e.Info() {
		names = append(names, in.Name)
		names = append(names, in.Commands...)
	}
	return names
}

// Info describes the loaded extensions for the admin API.
func (e *Extensions) Info() []api.Extension {
	out := []api.Extension{}
	if e.inproc != nil {
		d, err := e.inproc.Describe(context.Background())
		if err == nil {
			out = append(out, api.Extension{Name: "webhook", Builtin: true, Path: "(in-process)", State: extensions.StateRunning,
				ID: d.ID, Version: d.Version, Triggers: d.Triggers, Commands: d.Commands, Pids: []int{}})
		}
	}
	for _, in := range e.mgr.List() {
		out = append(out, api.Extension(in))
	}
	return out
}

// Restarts counts extension process restarts (after a crash or a hang)
// since start, of every extension, also those a reload replaced or
// removed: it never decreases (a Prometheus counter).
func (e *Extensions) Restarts() int { return int(e.mgr.Restarts()) }

// extension returns the extension that runs trigger.
func (e *Extensions) extension(trigger string) (plugins.Extension, error) {
	if e.inproc != nil && (isKnownTrigger(trigger)) {
		return e.inproc, nil
	}
	return e.mgr.ForTrigger(trigger)
}

// isKnownTrigger reports whether trigger is one of hookhost's own.
func isKnownTrigger(trigger string) bool {
	_, ok := automations.Trigger(trigger)
	return ok
}

// Server runs automations through the plugins.Extension contract and
// answers the extensions' callbacks.
type Server struct {
	ext *Extensions
	cat *catalog.Catalog
	log *slog.Logger
	// wire holds *wireBuffer values that carried the wire form of
	// answered runs' inputs, for the next runs' (see invoke).
	wire sync.Pool
}

// maxKeptInputs is the largest inputs buffer kept for the next runs: a rare
// large request does not keep its buffer.
const maxKeptInputs = 64 << 10

var _ Runner = (*Server)(nil)

// New returns the server's Runner over started extensions.
func New(ext *Extensions, cat *catalog.Catalog, log *slog.Logger) *Server {
	return &Server{ext: ext, cat: cat, log: log}
}

// MaxFunctionDepth bounds how deeply function: calls nest (a function
// calling itself, directly or not): the call past it fails with an error
// naming the limit, and so the run ends in error unless it handles it.
const MaxFunctionDepth = 10

// invoke runs an automation with inputs as JSON, or (values, for the
// in-process extension only) as a dictionary, and returns the extension's
// outcome. h answers the run's callbacks; its depth is how many function:
// calls led to this run (0 for a webhook's run).
func (r *Server) invoke(ctx context.Context, h *callbacks, a *store.Automation, inputs []byte, values *dict.Map, simulate bool) (plugins.Outcome, error) {
	ext, err := r.ext.extension(a.ExtensionID)
	if err != nil {
		return plugins.Outcome{}, err
	}
	deadline, _ := ctx.Deadline()
	inv := plugins.Invocation{
		RunID: h.runID, Automation: a.Name, Revision: revisionToken(a), Trigger: a.ExtensionID,
		Script: a.Script, Policy: a.PolicyKATA, Inputs: inputs, Deadline: deadline, Simulate: simulate,
	}
	wire := false
	var buf *wireBuffer // the wire form's buffer, from r.wire
	if ext == r.ext.inproc {
		inv.Commands = r.ext.mgr.CommandNames() // as the manager gives them to its processes: shared, not copied
		if values != nil {
			inv.Inputs, inv.Values = nil, values
		}
	} else if inputs == nil {
		if wire = readsWire(ctx, ext); wire {
			buf = r.wireBuffer(dict.WireSize(values))
			buf.b = dict.AppendWire(buf.b, values, false)
			inv.Inputs, inv.InputsFormat = buf.b, dict.WireVersion
			inv.InputsReleased = &buf.released
		} else if inv.Inputs, err = encode(values); err != nil {
			return plugins.Outcome{}, err
		}
	}
	// Out of process, the manager fills in Commands.
	out, err := ext.Run(ctx, inv, h)
	if buf != nil && buf.released && cap(buf.b) <= maxKeptInputs {
		// Answered by an extension process over its run socket, once the
		// run's message was written (the Client says so): its outcome is
		// the server's own copy of the message it came in, so nothing
		// refers to the buffer any more. A run that failed may still be
		// in a message being written, and gRPC may keep a message after
		// sending it: their buffers are not reused.
		buf.b, buf.released = buf.b[:0], false
		r.wire.Put(buf)
	}
	if wire && err != nil && unsupported(err) {
		// The process does not read the wire form after all (a reload
		// replaced it since Describe): JSON, as to any extension.
		if inv.Inputs, err = encode(values); err != nil {
			return plugins.Outcome{}, err
		}
		inv.InputsFormat, inv.InputsReleased = "", nil
		out, err = ext.Run(ctx, inv, h)
	}
	if err != nil {
		if errors.Is(err, extensions.ErrCrashed) {
			return out, fmt.Errorf("%w: %v", ErrExtensionCrashed, err)
		}
		return out, err
	}
	return out, nil
}

// wireBuffer is the buffer of a run's inputs in the wire form, and whether
// the run's Client released it (plugins.Invocation.InputsReleased).
type wireBuffer struct {
	b        []byte
	released bool
}

// wireBuffer returns an empty buffer with room for n bytes, a kept one when
// it has.
func (r *Server) wireBuffer(n int) *wireBuffer {
	if b, _ := r.wire.Get().(*wireBuffer); b != nil {
		if cap(b.b) < n {
			b.b = make([]byte, 0, n)
		}
		return b
	}
	return &wireBuffer{b: make([]byte, 0, n)}
}

// unsupported reports whether err is an extension's CodeUnsupported (kept
// out of invoke: the error's variable, which errors.As takes the address
// of, would be an allocation of every run).
func unsupported(err error) bool {
	var pe *plugins.Error
	return errors.As(err, &pe) && pe.Code == plugins.CodeUnsupported
}

// revisionToken is the Invocation.Revision of a, by which extensions cache
// what they compiled: the store's revision and, since that starts at 1
// again when an automation is deleted and created anew under the same
// name, its ID and creation time (a deleted and re-created automation ran
// its old script until the extension restarted).
func revisionToken(a *store.Automation) string {
	b := make([]byte, 0, 48)
	b = strconv.AppendInt(b, a.Revision, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, a.ID, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, a.CreatedAt.UnixNano(), 10)
	return string(b)
}

// readsWire reports whether ext reads inputs in the wire form of package
// dict (dict.AppendWire), which is cheaper than JSON on both sides.
func readsWire(ctx context.Context, ext plugins.Extension) bool {
	d, err := ext.Describe(ctx)
	return err == nil && slices.Contains(d.Formats, dict.WireVersion)
}

// Run runs inv. In-process, the inputs dictionary goes to the extension as
// it is, and the return dictionary comes back the same way; out of process
// both travel in the wire form of package dict when the extension reads
// it, else as JSON. inv is for one run at a time: the run's callbacks live
// in it.
func (r *Server) Run(ctx context.Context, inv *Invocation) (*automations.Result, error) {
	inv.host = callbacks{r: r, runID: inv.RunID, automation: inv.Automation.Name}
	out, err := r.invoke(ctx, &inv.host, inv.Automation, nil, inv.Inputs, inv.Simulate)
	if err != nil {
		return nil, err
	}
	if inv.Simulate && !out.Simulated {
		r.log.Error("dry run not simulated by its extension; result discarded", "automation", inv.Automation.Name, "run_id", inv.RunID)
		return nil, ErrNotSimulated
	}
	return resultOf(out)
}

// resultOf converts an extension's outcome into the engine's result type.
func resultOf(out plugins.Outcome) (*automations.Result, error) {
	res := &automations.Result{Exit: automations.Exit(out.Exit), Limit: out.Limit, Steps: out.Steps}
	if out.Error != nil {
		res.Error, res.ErrorAt = out.Error.Message, out.Error.At
	}
	if m, ok := out.Value.(*dict.Map); ok && m != nil {
		res.Return = m
	} else if len(out.Return) > 0 {
		var v any
		var err error
		switch out.ReturnFormat {
		case "":
			v, err = dict.DecodeJSON(out.Return)
		case dict.WireVersion:
			// Only an extension process answers in the wire form: Return
			// is the decoded message's own copy, which nothing writes to.
			v, err = dict.DecodeWireShared(out.Return)
		default:
			err = fmt.Errorf("unknown format %q", out.ReturnFormat)
		}
		if err != nil {
			return nil, fmt.Errorf("decode return dictionary: %w", err)
		}
		m, ok := v.(*dict.Map)
		if !ok {
			return nil, fmt.Errorf("return value is %s, not a dictionary", dict.TypeName(v))
		}
		res.Return = binaryBody(m)
		if out.ReturnFormat == "" && res.Return == m && utf8.Valid(out.Return) {
			// The JSON as sent, for the run record (a body@base64 changed
			// it; invalid UTF-8 decodes to U+FFFD; the wire form is no JSON).
			res.ReturnJSON = out.Return
		}
	}
	if len(out.Log) > 0 {
		res.Log = make([]automations.LogEntry, len(out.Log))
		for i, e := range out.Log {
			res.Log[i] = automations.LogEntry{Level: e.Level, Node: e.Node, Message: e.Message}
		}
	}
	if len(out.SideEffects) > 0 {
		res.SideEffects = make([]automations.SideEffect, len(out.SideEffects))
		for i, e := range out.SideEffects {
			res.SideEffects[i] = automations.SideEffect(e)
		}
	}
	return res, nil
}

// binaryBody undoes the wire convention of extensions for binary bodies: a
// top-level "body@base64" holds a body that is not valid UTF-8.
func binaryBody(m *dict.Map) *dict.Map {
	enc, ok := m.Value("body@base64").(string)
	if !ok {
		return m
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return m
	}
	out := dict.New(m.Len())
	m.Range(func(k string, v any) bool {
		if k == "body@base64" {
			out.Set("body", string(raw))
		} else {
			out.Set(k, v)
		}
		return true
	})
	return out
}

// callbacks is what extensions call back into during a run.
type callbacks struct {
	r          *Server
	runID      string
	automation string
	depth      int // function: calls that led to this run
}

var _ plugins.Host = (*callbacks)(nil)

// kvNamespace is the store namespace of the storage.* commands.
const kvNamespace = "automations"

func (h *callbacks) Log(_ context.Context, e plugins.LogEntry) error {
	h.r.log.Debug("automation log", "run_id", h.runID, "automation", h.automation, "node", e.Node, "level", e.Level, "message", e.Message)
	return nil
}

func (h *callbacks) StorageGet(ctx context.Context, key string) ([]byte, bool, error) {
	return h.r.cat.Store().KVGet(ctx, kvNamespace, key, time.Now())
}

func (h *callbacks) StorageSet(ctx context.Context, key string, value []byte, expires time.Time) error {
	var exp *time.Time
	if !expires.IsZero() {
		exp = &expires
	}
	return h.r.cat.Store().KVSet(ctx, kvNamespace, key, value, exp)
}

func (h *callbacks) StorageDelete(ctx context.Context, key string) (bool, error) {
	return h.r.cat.Store().KVDelete(ctx, kvNamespace, key)
}

// RunFunction runs an automation.function automation with inputs under
// the `inputs` key of its dictionary.
func (h *callbacks) RunFunction(ctx context.Context, name string, inputs []byte) (plugins.Outcome, error) {
	if h.depth >= MaxFunctionDepth {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeLimit,
			Message: fmt.Sprintf("function %q: function calls nest deeper than %d (does a function call itself?)", name, MaxFunctionDepth)}
	}
	a, err := h.r.cat.Automation(ctx, name)
	if err != nil {
		return plugins.Outcome{}, err
	}
	if a == nil {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeNotFound, Message: fmt.Sprintf("automation %q not found", name)}
	}
	if !automations.IsFunctionTrigger(a.ExtensionID) {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeNotFound,
			Message: fmt.Sprintf("automation %q is a %s automation, not automation.function", name, a.ExtensionID)}
	}
	if len(inputs) == 0 {
		inputs = []byte("{}")
	}
	wrapped := make([]byte, 0, len(inputs)+12)
	wrapped = append(append(append(wrapped, `{"inputs":`...), inputs...), '}')
	if wrapped, err = h.r.cat.WithSecrets(ctx, a, wrapped); err != nil {
		return plugins.Outcome{}, err
	}
	return h.r.invoke(ctx, &callbacks{r: h.r, runID: h.runID, automation: a.Name, depth: h.depth + 1}, a, wrapped, nil, false)
}

func (h *callbacks) Secret(ctx context.Context, name string) (string, bool, error) {
	return h.r.cat.SecretValue(ctx, name)
}

func (h *callbacks) RunCommand(ctx context.Context, name string, inputs []byte) ([]byte, error) {
	return h.r.ext.mgr.RunCommand(ctx, plugins.CommandCall{RunID: h.runID, Name: name, Inputs: inputs}, h)
}

// Callbacks returns the host callbacks of a run, for tests of what
// extensions can reach.
func (r *Server) Callbacks(runID, automation string) plugins.Host {
	return &callbacks{r: r, runID: runID, automation: automation}
}
