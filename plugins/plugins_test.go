package plugins_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/plugintest"
)

// callbacks is a test extension whose run exercises every Host callback.
type callbacks struct{}

var _ plugins.Extension = callbacks{}

func (callbacks) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{ID: "callbacks", Version: "0.1.0", Triggers: []string{"test.callbacks"}, Commands: []string{"test.echo", "test.panic"}}, nil
}

func (callbacks) Run(ctx context.Context, inv plugins.Invocation, h plugins.Host) (plugins.Outcome, error) {
	if inv.Trigger != "test.callbacks" {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeNotFound, Message: "no trigger " + inv.Trigger}
	}
	if !json.Valid(inv.Inputs) {
		return plugins.Outcome{}, &plugins.Error{Code: plugins.CodeInputs, Message: "inputs are not JSON"}
	}
	if err := ctx.Err(); err != nil {
		return plugins.Outcome{}, err
	}
	if err := h.Log(ctx, plugins.LogEntry{Level: 7, Node: "start:log:", Message: "hello " + inv.RunID}); err != nil {
		return plugins.Outcome{}, err
	}
	if err := h.StorageSet(ctx, "k", []byte(`"v"`), time.Time{}); err != nil {
		return plugins.Outcome{}, err
	}
	v, found, err := h.StorageGet(ctx, "k")
	if err != nil || !found {
		return plugins.Outcome{}, errors.Join(err, errors.New("k not found"))
	}
	deleted, err := h.StorageDelete(ctx, "k")
	if err != nil {
		return plugins.Outcome{}, err
	}
	fn, err := h.RunFunction(ctx, "double", []byte(`{"n":21}`))
	if err != nil {
		return plugins.Outcome{}, err
	}
	secret, _, err := h.Secret(ctx, "token")
	if err != nil {
		return plugins.Outcome{}, err
	}
	cmd, err := h.RunCommand(ctx, "other.upper", []byte(`{"s":"abc"}`))
	if err != nil {
		return plugins.Outcome{}, err
	}
	_, missingErr := h.RunCommand(ctx, "other.missing", nil)
	ret, _ := json.Marshal(map[string]any{
		"stored": json.RawMessage(v), "deleted": deleted, "function": json.RawMessage(fn.Return),
		"secret": secret, "command": json.RawMessage(cmd), "missing": missingErr.Error(),
	})
	return plugins.Outcome{Exit: plugins.ExitReturn, Return: ret, Log: []plugins.LogEntry{{Level: 7, Message: "done"}}, Steps: 3}, nil
}

func (callbacks) RunCommand(ctx context.Context, call plugins.CommandCall, _ plugins.Host) ([]byte, error) {
	switch call.Name {
	case "test.echo":
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !json.Valid(call.Inputs) {
			return nil, &plugins.Error{Code: plugins.CodeInputs, Message: "inputs are not JSON"}
		}
		return call.Inputs, nil
	case "test.panic":
		if ctx.Err() != nil || !json.Valid(call.Inputs) {
			return nil, &plugins.Error{Code: plugins.CodeInputs, Message: "no"}
		}
		if string(call.Inputs) == `{"panic":true}` {
			panic("boom")
		}
		return []byte(`{}`), nil
	}
	return nil, &plugins.Error{Code: plugins.CodeNotFound, Message: "no command " + call.Name}
}

func testHost() *plugintest.Host {
	h := plugintest.NewHost()
	h.Secrets["token"] = "s3cret"
	h.Functions["double"] = func(_ context.Context, in []byte) (plugins.Outcome, error) {
		var v struct{ N int }
		if err := json.Unmarshal(in, &v); err != nil {
			return plugins.Outcome{}, err
		}
		r, _ := json.Marshal(map[string]int{"n": v.N * 2})
		return plugins.Outcome{Exit: plugins.ExitReturn, Return: r}, nil
	}
	h.Commands["other.upper"] = func(context.Context, []byte) ([]byte, error) { return []byte(`"ABC"`), nil }
	return h
}

func TestExtension_HostCallbacks(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		ext  func(t *testing.T) plugins.Extension
	}{
		{"InProcess", func(*testing.T) plugins.Extension { return plugins.InProcess(callbacks{}) }},
		{"GRPC", func(t *testing.T) plugins.Extension { return plugintest.Connect(t, callbacks{}) }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			h := testHost()
			out, err := mode.ext(t).Run(context.Background(), plugins.Invocation{RunID: "r1", Trigger: "test.callbacks", Inputs: []byte(`{}`)}, h)
			require.NoError(t, err)
			require.Equal(t, plugins.ExitReturn, out.Exit)
			require.JSONEq(t, `{"stored":"v","deleted":true,"function":{"n":42},"secret":"s3cret","command":"ABC","missing":"not_found: command other.missing not found"}`, string(out.Return))
			require.Equal(t, []plugins.LogEntry{{Level: 7, Message: "done"}}, out.Log)
			require.Equal(t, 3, out.Steps)
			require.Equal(t, []plugins.LogEntry{{Level: 7, Node: "start:log:", Message: "hello r1"}}, h.Logs())
			_, stillThere := h.Value("k")
			require.False(t, stillThere)
		})
	}
}

func TestExtension_Conformance(t *testing.T) {
	t.Parallel()
	plugintest.Exercise(t, callbacks{},
		plugintest.Case{Name: "Echo", Command: "test.echo", Inputs: `{"b":1,"a":2}`, Want: `{"b":1,"a":2}`},
		plugintest.Case{Name: "Callbacks", Invocation: plugins.Invocation{Trigger: "test.callbacks"}, Inputs: `{}`, Host: testHost(),
			Want: `{"command":"ABC","deleted":true,"function":{"n":42},"missing":"not_found: command other.missing not found","secret":"s3cret","stored":"v"}`},
	)
}

func TestInProcess_PanicBecomesInternalError(t *testing.T) {
	t.Parallel()
	_, err := plugins.InProcess(callbacks{}).RunCommand(context.Background(), plugins.CommandCall{Name: "test.panic", Inputs: []byte(`{"panic":true}`)}, nil)
	var pe *plugins.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, plugins.CodeInternal, pe.Code)
	require.Contains(t, pe.Message, "boom")
}

func TestAsError(t *testing.T) {
	t.Parallel()
	coded := &plugins.Error{Code: plugins.CodePolicy, Message: "denied", At: "start:http.request:"}
	for _, tc := range []struct {
		name string
		err  error
		want *plugins.Error
	}{
		{"Nil", nil, nil},
		{"Coded", coded, coded},
		{"Wrapped", errors.Join(errors.New("x"), coded), coded},
		{"Context", context.DeadlineExceeded, &plugins.Error{Code: plugins.CodeCanceled, Message: "context deadline exceeded"}},
		{"Other", errors.New("disk full"), &plugins.Error{Code: plugins.CodeHost, Message: "disk full"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, plugins.AsError(tc.err, plugins.CodeHost))
		})
	}
	require.Equal(t, "policy: denied (at start:http.request:)", coded.Error())
}

// seenInvocation records the Invocation its Run was given.
type seenInvocation struct{ got *plugins.Invocation }

func (s seenInvocation) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{ID: "seen", Version: "0.1.0", Triggers: []string{"test.seen"}}, nil
}

func (s seenInvocation) Run(_ context.Context, inv plugins.Invocation, _ plugins.Host) (plugins.Outcome, error) {
	*s.got = inv
	return plugins.Outcome{Exit: plugins.ExitReturn, Return: []byte(`{}`)}, nil
}

func (s seenInvocation) RunCommand(context.Context, plugins.CommandCall, plugins.Host) ([]byte, error) {
	return nil, nil
}

// TestInProcess_InputsReleasedNotPassed: an in-process extension does not
// get the caller's InputsReleased pointer (review rev4: its doc said it
// never reaches the extension), and the caller's flag is left as it was.
func TestInProcess_InputsReleasedNotPassed(t *testing.T) {
	var got plugins.Invocation
	released := true
	_, err := plugins.InProcess(seenInvocation{&got}).Run(context.Background(),
		plugins.Invocation{Trigger: "test.seen", Inputs: []byte(`{}`), InputsReleased: &released}, nil)
	require.NoError(t, err)
	require.Nil(t, got.InputsReleased)
	require.True(t, released)
}
