package host

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hookhost/hookhost/automations"
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
}

// Runner runs automations. The server's runner sends each run to the
// extension that provides the automation's trigger.
type Runner interface {
	Run(ctx context.Context, inv *Invocation) (*automations.Result, error)
}

// errExtensionCrashed marks a run lost because its extension process died.
var errExtensionCrashed = errors.New("extension crashed")

// TriggerFunction is the trigger id of automations callable with function:.
const TriggerFunction = webhook.TriggerFunction

// extRunner runs automations through the plugins.Extension contract: out
// of process through the extension manager, or (Config.InProcess) with the
// built-in webhook extension called in-process through the same interface.
type extRunner struct {
	s      *Server
	mgr    *extensions.Manager
	inproc plugins.Extension // nil unless Config.InProcess
	cmds   []string          // the extension commands, fixed once the manager started
}

var _ Runner = (*extRunner)(nil)

func newRunner(ctx context.Context, s *Server) (*extRunner, func() error, error) {
	sockets, err := filepath.Abs(filepath.Join(s.cfg.DataDir, "sockets"))
	if err != nil {
		return nil, nil, err
	}
	mcfg := extensions.Config{SocketDir: sockets, Logger: s.log, PoolSize: s.cfg.ExtensionProcesses}
	if st, err := os.Stat(s.cfg.PluginsDir); err == nil && st.IsDir() {
		mcfg.PluginsDir = s.cfg.PluginsDir
	}
	r := &extRunner{s: s}
	wopts := webhook.Options{AllowPrivateRequests: s.cfg.AllowPrivateRequests}
	if s.cfg.AllowPrivateRequests {
		mcfg.Env = append(mcfg.Env, webhook.EnvAllowPrivateRequests+"=true")
	}
	if s.cfg.InProcess {
		r.inproc = plugins.InProcess(webhook.NewWithOptions(wopts))
	} else {
		cmd := s.cfg.ExtensionCommand
		if len(cmd) == 0 {
			if cmd, err = extensions.BuiltinCommand("webhook"); err != nil {
				return nil, nil, err
			}
		} else {
			cmd = append(append([]string(nil), cmd...), "webhook")
		}
		mcfg.Builtins = map[string][]string{"webhook": cmd}
	}
	mgr, err := extensions.New(mcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("extensions: %w", err)
	}
	if err := mgr.Start(ctx); err != nil {
		var se *extensions.StartError
		if !errors.As(err, &se) {
			_ = mgr.Close()
			return nil, nil, fmt.Errorf("start extensions: %w", err)
		}
		// A refused extension (bad checksum, wrong handshake) is logged; the
		// others serve.
		s.log.Error("some extensions were refused", "error", err)
	}
	r.mgr = mgr
	r.cmds = mgr.Commands()
	return r, mgr.Close, nil
}

// extension returns the extension that runs trigger.
func (r *extRunner) extension(trigger string) (plugins.Extension, error) {
	if r.inproc != nil {
		switch trigger {
		case automations.TriggerWebhookRespond, automations.TriggerWebhookRespondStem, TriggerFunction, "automation.function":
			return r.inproc, nil
		}
	}
	return r.mgr.ForTrigger(trigger)
}

// commands lists the extension commands scripts may call.
func (r *extRunner) commands() []string { return r.mgr.Commands() }

// outcome runs an automation with JSON inputs and returns the extension's
// outcome.
func (r *extRunner) outcome(ctx context.Context, runID string, a *store.Automation, inputs []byte) (plugins.Outcome, error) {
	return r.invoke(ctx, runID, a, inputs, nil)
}

// invoke runs an automation with inputs as JSON, or (values, for the
// in-process extension only) as a dictionary, and returns the extension's
// outcome.
func (r *extRunner) invoke(ctx context.Context, runID string, a *store.Automation, inputs []byte, values *dict.Map) (plugins.Outcome, error) {
	ext, err := r.extension(a.ExtensionID)
	if err != nil {
		return plugins.Outcome{}, err
	}
	deadline, _ := ctx.Deadline()
	inv := plugins.Invocation{
		RunID: runID, Automation: a.Name, Revision: strconv.FormatInt(a.Revision, 10), Trigger: a.ExtensionID,
		Script: a.Script, Policy: a.PolicyKATA, Inputs: inputs, Deadline: deadline,
	}
	if ext == r.inproc {
		inv.Commands = r.cmds
		if values != nil {
			inv.Inputs, inv.Values = nil, values
		}
	} else if inputs == nil {
		if inv.Inputs, err = jsonBytes(values); err != nil {
			return plugins.Outcome{}, err
		}
	}
	// Out of process, the manager fills in Commands.
	out, err := ext.Run(ctx, inv, &hostCallbacks{r: r, runID: runID, automation: a.Name})
	if err != nil {
		if errors.Is(err, extensions.ErrCrashed) {
			return out, fmt.Errorf("%w: %v", errExtensionCrashed, err)
		}
		return out, err
	}
	return out, nil
}

// Run runs inv. In-process, the inputs dictionary goes to the extension as
// it is, and the return dictionary comes back the same way; out of process
// both travel as JSON.
func (r *extRunner) Run(ctx context.Context, inv *Invocation) (*automations.Result, error) {
	out, err := r.invoke(ctx, inv.RunID, inv.Automation, nil, inv.Inputs)
	if err != nil {
		return nil, err
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
		v, err := dict.DecodeJSON(out.Return)
		if err != nil {
			return nil, fmt.Errorf("decode return dictionary: %w", err)
		}
		m, ok := v.(*dict.Map)
		if !ok {
			return nil, fmt.Errorf("return value is %s, not a dictionary", dict.TypeName(v))
		}
		res.Return = binaryBody(m)
	}
	if len(out.Log) > 0 {
		res.Log = make([]automations.LogEntry, len(out.Log))
		for i, e := range out.Log {
			res.Log[i] = automations.LogEntry{Level: e.Level, Node: e.Node, Message: e.Message}
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

// hostCallbacks is what extensions call back into during a run.
type hostCallbacks struct {
	r          *extRunner
	runID      string
	automation string
}

var _ plugins.Host = (*hostCallbacks)(nil)

// kvNamespace is the store namespace of the storage.* commands.
const kvNamespace = "automations"

func (h *hostCallbacks) Log(_ context.Context, e plugins.LogEntry) error {
	h.r.s.log.Debug("automation log", "run_id", h.runID, "automation", h.automation, "node", e.Node, "level", e.Level, "message", e.Message)
	return nil
}

func (h *hostCallbacks) StorageGet(ctx context.Context, key string) ([]byte, bool, error) {
	return h.r.s.store.KVGet(ctx, kvNamespace, key, time.Now())
}

func (h *hostCallbacks) StorageSet(ctx context.Context, key string, value []byte, expires time.Time) error {
	var exp *time.Time
	if !expires.IsZero() {
		exp = &expires
	}
	return h.r.s.store.KVSet(ctx, kvNamespace, key, value, exp)
}

func (h *hostCallbacks) StorageDelete(ctx context.Context, key string) (bool, error) {
	return h.r.s.store.KVDelete(ctx, kvNamespace, key)
}

// RunFunction runs an automation.function automation with inputs under
// the `inputs` key of its dictionary.
func (h *hostCallbacks) RunFunction(ctx context.Context, name string, inputs []byte) (plugins.Outcome, error) {
	a, err := h.r.s.cache.automation(ctx, name)
	if err != nil {
		return plugins.Outcome{}, err
	}
	if a == nil {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeNotFound, Message: fmt.Sprintf("automation %q not found", name)}
	}
	if a.ExtensionID != TriggerFunction && a.ExtensionID != "automation.function" {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeNotFound,
			Message: fmt.Sprintf("automation %q is a %s automation, not automation.function", name, a.ExtensionID)}
	}
	if len(inputs) == 0 {
		inputs = []byte("{}")
	}
	wrapped := make([]byte, 0, len(inputs)+12)
	wrapped = append(append(append(wrapped, `{"inputs":`...), inputs...), '}')
	if wrapped, err = h.r.s.withSecrets(ctx, a, wrapped); err != nil {
		return plugins.Outcome{}, err
	}
	return h.r.outcome(ctx, h.runID, a, wrapped)
}

func (h *hostCallbacks) Secret(ctx context.Context, name string) (string, bool, error) {
	return h.r.s.secretValue(ctx, name)
}

func (h *hostCallbacks) RunCommand(ctx context.Context, name string, inputs []byte) ([]byte, error) {
	return h.r.mgr.RunCommand(ctx, plugins.CommandCall{RunID: h.runID, Name: name, Inputs: inputs}, h)
}

// extensionsInfo describes the loaded extensions for the admin API.
func (r *extRunner) extensionsInfo() []extensions.Info {
	infos := r.mgr.List()
	if r.inproc != nil {
		d, err := r.inproc.Describe(context.Background())
		if err == nil {
			infos = append([]extensions.Info{{Name: "webhook", Builtin: true, Path: "(in-process)", State: extensions.StateRunning,
				ID: d.ID, Version: d.Version, Triggers: d.Triggers, Commands: d.Commands}}, infos...)
		}
	}
	return infos
}
