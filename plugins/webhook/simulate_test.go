package webhook

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/plugintest"
)

// TestWebhook_Simulate runs the callbacks script as a dry run, in the
// calling goroutine and over the gRPC protocol: the host is never called
// back, the outcome says the run was simulated and lists the commands that
// did not run; without Simulate the same script reaches the host.
func TestWebhook_Simulate(t *testing.T) {
	t.Parallel()
	want := []plugins.SideEffect{
		{Command: "storage.set", Node: "start:storage.set:"},
		{Command: "storage.get", Node: "start:storage.get:"},
		{Command: "function", Node: "start:function:"},
		{Command: "example.slugify", Node: "start:example.slugify/s:"},
	}
	for _, tc := range []struct {
		name     string
		ext      func(t *testing.T) plugins.Extension
		simulate bool
	}{
		{"InProcess", func(*testing.T) plugins.Extension { return plugins.InProcess(New()) }, true},
		{"OverGRPC", func(t *testing.T) plugins.Extension { return plugintest.Connect(t, New()) }, true},
		{"RealRunOverGRPC", func(t *testing.T) plugins.Extension { return plugintest.Connect(t, New()) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := callbackHost()
			var calls atomic.Int32
			h.Commands["example.slugify"] = func(context.Context, []byte) ([]byte, error) {
				calls.Add(1)
				return []byte(`{"slug":"hello-kina"}`), nil
			}
			i := inv("t.simulate", callbacksScript, callbacksPolicy, "example.slugify")
			i.Inputs = []byte(`{"who":"Kina"}`)
			i.Simulate = tc.simulate
			out, err := tc.ext(t).Run(context.Background(), i, h)
			require.NoError(t, err)
			require.Equal(t, plugins.ExitReturn, out.Exit)
			require.Equal(t, tc.simulate, out.Simulated)
			if !tc.simulate {
				require.Empty(t, out.SideEffects)
				require.Equal(t, int32(1), calls.Load())
				_, stored := h.Value("counter")
				require.True(t, stored)
				return
			}
			require.Equal(t, want, out.SideEffects)
			require.Zero(t, calls.Load(), "no extension command ran")
			_, stored := h.Value("counter")
			require.False(t, stored, "nothing was stored")
			require.JSONEq(t, `{"counter":null,"sum":null,"slug":null}`, string(out.Return))
		})
	}
}
