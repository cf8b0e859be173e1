package extensions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/hookhost/hookhost/host/extensions"
	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/webhook"
)

// TestMain runs the test binary as a helper process when it was copied
// into a plugins directory and started without arguments (the tests of
// Reload): the binary's name is the mode.
func TestMain(m *testing.M) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") == "1" && !slices.Contains(os.Args, "--") {
		helperMain(filepath.Base(os.Args[0]), nil)
	}
	os.Exit(m.Run())
}

// TestHelperProcess is not a test: it is the extension process the tests
// start (go-plugin's re-exec pattern). The mode is the argument after "--".
func TestHelperProcess(t *testing.T) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") != "1" {
		return
	}
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "helper: no mode")
		os.Exit(2)
	}
	helperMain(args[1], args[2:])
}

// helperMain serves the helper mode and exits. Modes other than those below
// serve testExt with the mode as its id.
func helperMain(mode string, args []string) {
	// As cmd/hookhost's main does for every command, `ext serve` included:
	// SIGTERM is caught (into a context nobody watches in an extension).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM)
	switch mode {
	case "webhook":
		plugins.Serve(webhook.New())
	case "spawner":
		// Starts a child that outlives it unless its process group is
		// killed.
		child := exec.Command("sleep", "100000")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "helper: start child:", err)
			os.Exit(2)
		}
		plugins.Serve(testExt{id: "spawner", child: child.Process.Pid})
	case "badcookie":
		h := plugins.Handshake()
		h.MagicCookieValue = "not-the-hookhost-cookie"
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: h,
			Plugins:         plugin.PluginSet{plugins.PluginName: &plugins.GRPCPlugin{Impl: testExt{id: "badcookie"}}},
			GRPCServer:      plugins.NewGRPCServer,
		})
	case "server":
		serverMain(args)
	case "", "extensions.test":
		fmt.Fprintf(os.Stderr, "helper: no mode (%q)\n", os.Args)
		os.Exit(2)
	default:
		plugins.Serve(testExt{id: mode})
	}
	os.Exit(0)
}

// serverMain is a hookhost server in a process of its own (mode "server",
// args: socket dir, then options "nopdeathsig", "passenv=NAME"): it starts
// the built-ins "test" and "spawner", prints a serverReport line on stdout,
// and runs until its stdin closes; then it closes the manager and exits 0.
func serverMain(args []string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "helper server:", err)
		os.Exit(2)
	}
	if len(args) < 1 {
		fail(errors.New("no socket dir"))
	}
	cfg := extensions.Config{
		Builtins:  builtins("test", "spawner"),
		Env:       helperEnv,
		SocketDir: args[0],
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	for _, opt := range args[1:] {
		switch name, value, _ := strings.Cut(opt, "="); name {
		case "nopdeathsig":
			cfg = extensions.WithoutParentDeathSignal(cfg)
		case "passenv":
			cfg.PassEnv = append(cfg.PassEnv, value)
		default:
			fail(fmt.Errorf("unknown option %q", opt))
		}
	}
	m, err := extensions.New(cfg)
	if err != nil {
		fail(err)
	}
	if err := m.Start(context.Background()); err != nil {
		fail(err)
	}
	var rep serverReport
	call := func(ext, action string, v any) {
		e, err := m.ForTrigger(ext + ".run")
		if err != nil {
			fail(err)
		}
		out, err := e.Run(context.Background(), plugins.Invocation{Trigger: ext + ".run", Inputs: fmt.Appendf(nil, `{"action":%q}`, action)}, nil)
		if err != nil {
			fail(err)
		}
		if err := json.Unmarshal(out.Return, v); err != nil {
			fail(err)
		}
	}
	var pid struct{ Pid int }
	call("test", "pid", &pid)
	rep.Pids = append(rep.Pids, pid.Pid)
	call("spawner", "pid", &pid)
	rep.Pids = append(rep.Pids, pid.Pid)
	call("spawner", "child", &pid)
	rep.Child = pid.Pid
	call("test", "env", &rep.Env)
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fail(err)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := m.Close(); err != nil {
		fail(err)
	}
}

// serverReport is what serverMain prints.
type serverReport struct {
	Pids  []int    // of the extension processes ("test", "spawner")
	Child int      // the child process "spawner" started
	Env   []string // the environment of "test"
}

// helperArgv is the command line of a helper process in mode.
func helperArgv(mode string) []string {
	return []string{os.Args[0], "-test.run=^TestHelperProcess$", "--", mode}
}

// helperEnv is the environment a helper process needs.
var helperEnv = []string{"GO_WANT_HELPER_PROCESS=1"}

// helperScript writes an executable script that starts a helper process in
// mode, as a third-party binary in dir named name.
func helperScript(t *testing.T, dir, name, mode string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	script := fmt.Sprintf("#!/bin/sh\nexec %q -test.run='^TestHelperProcess$' -- %s\n", os.Args[0], mode)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// testExt is the extension of the helper processes. Its run and command
// behaviour is chosen by the "action" input.
type testExt struct {
	id    string
	child int // pid of a child process it started, if any
}

var _ plugins.Extension = testExt{}

func (x testExt) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{
		ID:       x.id,
		Version:  "0.0.1",
		Triggers: []string{"cerb.trigger." + x.id + ".run"},
		Commands: []string{x.id + ".echo"},
	}, nil
}

type action struct {
	Action string `json:"action"`
	N      int    `json:"n"`
}

func (x testExt) Run(ctx context.Context, inv plugins.Invocation, h plugins.Host) (plugins.Outcome, error) {
	if inv.Trigger != "cerb.trigger."+x.id+".run" && inv.Trigger != x.id+".run" {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeNotFound, Message: "no trigger " + inv.Trigger}
	}
	var a action
	if err := json.Unmarshal(inv.Inputs, &a); err != nil {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeInputs, Message: err.Error()}
	}
	if err := ctx.Err(); err != nil {
		return plugins.Outcome{}, err
	}
	ret := func(v any) (plugins.Outcome, error) {
		b, err := json.Marshal(v)
		return plugins.Outcome{Exit: plugins.ExitReturn, Return: b}, err
	}
	switch a.Action {
	case "", "echo":
		return plugins.Outcome{Exit: plugins.ExitReturn, Return: inv.Inputs}, nil
	case "pid":
		return ret(map[string]int{"pid": os.Getpid()})
	case "child":
		return ret(map[string]int{"pid": x.child})
	case "env":
		return ret(os.Environ())
	case "gate":
		// Runs until the host answers its Log call (a gateHost holds it).
		if err := h.Log(ctx, plugins.LogEntry{Level: 7, Message: "gate"}); err != nil {
			return plugins.Outcome{}, err
		}
		return ret(map[string]int{"pid": os.Getpid()})
	case "unavailable-in":
		// Refuses the run, as a process shutting down does, in process N.
		if os.Getpid() == a.N {
			return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeUnavailable, Message: "shutting down"}
		}
		return ret(map[string]int{"pid": os.Getpid()})
	case "panic":
		panic("handler panic")
	case "hold":
		// Tell the host this run is in flight, then wait for ctx.
		if err := h.Log(ctx, plugins.LogEntry{Level: 7, Message: "holding"}); err != nil {
			return plugins.Outcome{}, err
		}
		<-ctx.Done()
		return plugins.Outcome{}, ctx.Err()
	case "goroutine-panic":
		go panic("goroutine panic")
		<-ctx.Done()
		return plugins.Outcome{}, ctx.Err()
	case "exit":
		os.Exit(3)
	case "hang":
		select {} // ignores ctx
	case "slow":
		<-ctx.Done() // honours ctx
		return plugins.Outcome{}, ctx.Err()
	case "callbacks":
		if err := h.StorageSet(ctx, "counter", []byte(`41`), time.Time{}); err != nil {
			return plugins.Outcome{}, err
		}
		v, found, err := h.StorageGet(ctx, "counter")
		if err != nil || !found {
			return plugins.Outcome{}, errors.Join(err, errors.New("counter not found"))
		}
		fn, err := h.RunFunction(ctx, "example.math.add", []byte(`{"a":2,"b":3}`))
		if err != nil {
			return plugins.Outcome{}, err
		}
		secret, _, err := h.Secret(ctx, "api_key")
		if err != nil {
			return plugins.Outcome{}, err
		}
		return ret(map[string]any{"counter": json.RawMessage(v), "sum": json.RawMessage(fn.Return), "secret": secret})
	}
	return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeInputs, Message: "unknown action " + a.Action}
}

func (x testExt) RunCommand(ctx context.Context, call plugins.CommandCall, _ plugins.Host) ([]byte, error) {
	if call.Name != x.id+".echo" {
		return nil, &plugins.Error{Code: plugins.CodeNotFound, Message: "no command " + call.Name}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !json.Valid(call.Inputs) {
		return nil, &plugins.Error{Code: plugins.CodeInputs, Message: "inputs are not JSON"}
	}
	return call.Inputs, nil
}

// gateHost holds every Log call until release is closed, and reports each
// one on logged.
type gateHost struct {
	plugins.NoHost
	logged  chan struct{}
	release chan struct{}
}

func newGateHost() *gateHost {
	return &gateHost{logged: make(chan struct{}, 16), release: make(chan struct{})}
}

func (h *gateHost) Log(ctx context.Context, _ plugins.LogEntry) error {
	h.logged <- struct{}{}
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
