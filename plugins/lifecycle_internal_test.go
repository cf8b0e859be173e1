package plugins

import (
	"context"
	"strings"
	"testing"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"
)

// gateExt blocks every run and command until release closes, after
// reporting it on started.
type gateExt struct {
	started chan string
	release chan struct{}
}

func (gateExt) Describe(context.Context) (Description, error) {
	return Description{ID: "gate", Triggers: []string{"test.gate"}, Commands: []string{"test.gate"}}, nil
}

func (x gateExt) wait(ctx context.Context, what string) error {
	x.started <- what
	select {
	case <-x.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (x gateExt) Run(ctx context.Context, inv Invocation, _ Host) (Outcome, error) {
	if err := x.wait(ctx, "run "+inv.RunID); err != nil {
		return Outcome{}, err
	}
	return Outcome{Exit: ExitReturn, Return: inv.Inputs}, nil
}

func (x gateExt) RunCommand(ctx context.Context, call CommandCall, _ Host) ([]byte, error) {
	if err := x.wait(ctx, "command "+call.RunID); err != nil {
		return nil, err
	}
	return call.Inputs, nil
}

// connect serves ext with life over an in-process gRPC connection.
func connect(t *testing.T, ext Extension, life *lifecycle) *Client {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{PluginName: &GRPCPlugin{Impl: ext, life: life}})
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(PluginName)
	require.NoError(t, err)
	return raw.(*Client)
}

// A draining process answers new calls CodeUnavailable, streamed runs,
// unary runs and commands alike, lets those it holds finish, and reports
// idle once they are answered.
func TestLifecycle_DrainRefusesNewCallsAndFinishesHeldOnes(t *testing.T) {
	t.Parallel()
	ext := gateExt{started: make(chan string, 8), release: make(chan struct{})}
	life := newLifecycle()
	c := connect(t, ext, life)
	ctx := context.Background()

	// Held: a streamed run, a unary run (too large for the stream) and a
	// command.
	large := []byte(`{"pad":"` + strings.Repeat("x", maxStreamedRun) + `"}`)
	errs := make(chan error, 3)
	go func() {
		out, err := c.Run(ctx, Invocation{RunID: "streamed", Trigger: "test.gate", Inputs: []byte(`{"a":1}`)}, nil)
		if err == nil && string(out.Return) != `{"a":1}` {
			err = &Error{Code: CodeInternal, Message: "wrong return " + string(out.Return)}
		}
		errs <- err
	}()
	go func() {
		_, err := c.Run(ctx, Invocation{RunID: "unary", Trigger: "test.gate", Inputs: large}, nil)
		errs <- err
	}()
	go func() {
		_, err := c.RunCommand(ctx, CommandCall{RunID: "cmd", Name: "test.gate", Inputs: []byte(`{}`)}, nil)
		errs <- err
	}()
	seen := map[string]bool{}
	for range 3 {
		seen[<-ext.started] = true
	}
	require.Equal(t, map[string]bool{"run streamed": true, "run unary": true, "command cmd": true}, seen)

	idle := life.drain()
	select {
	case <-idle:
		t.Fatal("idle while calls are held")
	default:
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"StreamedRun", func() error {
			_, err := c.Run(ctx, Invocation{Trigger: "test.gate", Inputs: []byte(`{}`)}, nil)
			return err
		}},
		{"UnaryRun", func() error {
			_, err := c.Run(ctx, Invocation{Trigger: "test.gate", Inputs: large}, nil)
			return err
		}},
		{"Command", func() error {
			_, err := c.RunCommand(ctx, CommandCall{Name: "test.gate", Inputs: []byte(`{}`)}, nil)
			return err
		}},
	} {
		var pe *Error
		require.ErrorAs(t, tc.call(), &pe, tc.name)
		require.Equal(t, CodeUnavailable, pe.Code, tc.name)
	}

	close(ext.release)
	for range 3 {
		require.NoError(t, <-errs)
	}
	<-idle // every held call was answered
}
