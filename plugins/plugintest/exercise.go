package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/plugins"
)

// Case is one extension-specific round trip that Exercise checks, in
// process and over gRPC.
type Case struct {
	Name string
	// Command, when set, calls RunCommand(Command, Inputs); otherwise
	// Invocation is run with Inputs.
	Command    string
	Invocation plugins.Invocation
	// Inputs is a JSON object.
	Inputs string
	// Host answers the extension's callbacks; nil gives a fresh NewHost().
	Host plugins.Host
	// Want is the expected command output, or the expected Outcome.Return
	// ("" for none). Both are compared after json.Compact, so key order
	// matters.
	Want string
	// WantExit is the expected Outcome.Exit of a run (default ExitReturn).
	WantExit plugins.Exit
	// WantCode, when set, expects the call to fail with an *plugins.Error
	// (returned, or in Outcome.Error) of this code.
	WantCode plugins.Code
}

// Exercise runs the conformance suite against ext, each check both through
// plugins.InProcess and over an in-process gRPC connection (Connect), then
// the extension-specific cases. Every extension, built-in or third-party,
// passes it.
func Exercise(t *testing.T, ext plugins.Extension, cases ...Case) {
	t.Helper()
	modes := []struct {
		name string
		ext  func(t *testing.T) plugins.Extension
	}{
		{"InProcess", func(*testing.T) plugins.Extension { return plugins.InProcess(ext) }},
		{"GRPC", func(t *testing.T) plugins.Extension { return Connect(t, ext) }},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			e := mode.ext(t)
			d := exerciseDescribe(t, e)
			t.Run("UnknownCommandIsNotFound", func(t *testing.T) {
				_, err := e.RunCommand(ctx(t), plugins.CommandCall{Name: "plugintest.no.such.command", Inputs: []byte(`{}`)}, NewHost())
				requireCode(t, err, plugins.CodeNotFound)
			})
			t.Run("UnknownTriggerIsNotFound", func(t *testing.T) {
				_, err := e.Run(ctx(t), plugins.Invocation{
					RunID: "r1", Automation: "plugintest.none", Revision: "1",
					Trigger: "plugintest.no.such.trigger", Inputs: []byte(`{}`),
				}, NewHost())
				requireCode(t, err, plugins.CodeNotFound)
			})
			t.Run("CommandsRejectMalformedInputs", func(t *testing.T) {
				for _, name := range d.Commands {
					_, err := e.RunCommand(ctx(t), plugins.CommandCall{Name: name, Inputs: []byte(`{"unterminated`)}, NewHost())
					requireCode(t, err, plugins.CodeInputs)
				}
			})
			t.Run("TriggersRejectMalformedInputs", func(t *testing.T) {
				for _, trig := range d.Triggers {
					out, err := e.Run(ctx(t), plugins.Invocation{
						RunID: "r2", Automation: "plugintest.malformed", Revision: "1",
						Trigger: trig, Script: "start:\n", Inputs: []byte(`{"unterminated`),
					}, NewHost())
					requireFailed(t, out, err)
				}
			})
			t.Run("CanceledContextEndsCalls", func(t *testing.T) {
				c, cancel := context.WithCancel(context.Background())
				cancel()
				for _, name := range d.Commands {
					_, err := e.RunCommand(c, plugins.CommandCall{Name: name, Inputs: []byte(`{}`)}, NewHost())
					require.Error(t, err, "command %q", name)
				}
				for _, trig := range d.Triggers {
					out, err := e.Run(c, plugins.Invocation{RunID: "r3", Automation: "plugintest.canceled", Revision: "1", Trigger: trig, Script: "start:\n", Inputs: []byte(`{}`)}, NewHost())
					requireFailed(t, out, err)
				}
			})
			t.Run("ConcurrentCallsAreSafe", func(t *testing.T) {
				var wg sync.WaitGroup
				for i := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, _ = e.Describe(ctx(t))
						for _, name := range d.Commands {
							_, _ = e.RunCommand(ctx(t), plugins.CommandCall{Name: name, Inputs: []byte(`{}`)}, NewHost())
						}
						for _, trig := range d.Triggers {
							_, _ = e.Run(ctx(t), plugins.Invocation{RunID: fmt.Sprint("c", i), Automation: "plugintest.concurrent", Revision: "1", Trigger: trig, Script: "start:\n", Inputs: []byte(`{}`)}, NewHost())
						}
					}()
				}
				wg.Wait()
				_, err := e.Describe(ctx(t))
				require.NoError(t, err)
			})
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) { exerciseCase(t, e, c) })
			}
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func exerciseDescribe(t *testing.T, e plugins.Extension) plugins.Description {
	t.Helper()
	d, err := e.Describe(ctx(t))
	require.NoError(t, err, "Describe")
	require.NotEmpty(t, d.ID, "Describe: ID")
	require.Equal(t, plugins.ProtocolVersion, d.ProtocolVersion, "Describe: ProtocolVersion")
	require.NotEmpty(t, append(append([]string(nil), d.Triggers...), d.Commands...), "Describe: provides no trigger and no command")
	seen := map[string]bool{}
	for _, n := range append(append([]string(nil), d.Triggers...), d.Commands...) {
		require.NotEmpty(t, n, "Describe: empty trigger or command name")
		require.False(t, seen[n], "Describe: %q listed twice", n)
		seen[n] = true
	}
	again, err := e.Describe(ctx(t))
	require.NoError(t, err)
	require.Equal(t, d, again, "Describe is not stable")
	return d
}

func requireCode(t *testing.T, err error, code plugins.Code) {
	t.Helper()
	var pe *plugins.Error
	require.True(t, errors.As(err, &pe), "want *plugins.Error with code %q, got %v", code, err)
	require.Equal(t, code, pe.Code, "error: %v", err)
}

// requireFailed checks that a run did not succeed: an error, or an Outcome
// that ended in error.
func requireFailed(t *testing.T, out plugins.Outcome, err error) {
	t.Helper()
	if err != nil {
		return
	}
	require.Equal(t, plugins.ExitError, out.Exit, "run should have failed")
	require.NotNil(t, out.Error, "Outcome.Error of a failed run")
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	if len(b) == 0 {
		return ""
	}
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, b), "invalid JSON %q", b)
	return buf.String()
}

func exerciseCase(t *testing.T, e plugins.Extension, c Case) {
	host := c.Host
	if host == nil {
		host = NewHost()
	}
	var (
		got string
		err error
	)
	if c.Command != "" {
		var out []byte
		out, err = e.RunCommand(ctx(t), plugins.CommandCall{RunID: "case", Name: c.Command, Inputs: []byte(c.Inputs)}, host)
		if c.WantCode != "" {
			requireCode(t, err, c.WantCode)
			return
		}
		require.NoError(t, err)
		got = compact(t, out)
	} else {
		inv := c.Invocation
		inv.Inputs = []byte(c.Inputs)
		var out plugins.Outcome
		out, err = e.Run(ctx(t), inv, host)
		if c.WantCode != "" {
			if err == nil && out.Error != nil {
				err = out.Error
			}
			requireCode(t, err, c.WantCode)
			return
		}
		require.NoError(t, err)
		want := c.WantExit
		if want == "" {
			want = plugins.ExitReturn
		}
		require.Equal(t, want, out.Exit, "exit (error: %v)", out.Error)
		got = compact(t, out.Return)
	}
	want := ""
	if c.Want != "" {
		want = compact(t, []byte(c.Want))
	}
	require.Equal(t, want, got)
}
