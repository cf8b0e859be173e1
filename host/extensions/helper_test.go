package extensions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/hookhost/hookhost/host/extensions"
	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/webhook"
)

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
	switch mode := args[1]; mode {
	case "test":
		plugins.Serve(testExt{id: "test"})
	case "other":
		plugins.Serve(testExt{id: "other"})
	case "webhook":
		plugins.Serve(webhook.New())
	case "badcookie":
		h := plugins.Handshake()
		h.MagicCookieValue = "not-the-hookhost-cookie"
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: h,
			Plugins:         plugin.PluginSet{plugins.PluginName: &plugins.GRPCPlugin{Impl: testExt{id: "badcookie"}}},
			GRPCServer:      plugins.NewGRPCServer,
		})
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "helper: unknown mode %q\n", mode)
		os.Exit(2)
	}
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
type testExt struct{ id string }

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

var _ = extensions.ErrCrashed
