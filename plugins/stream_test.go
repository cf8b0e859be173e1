package plugins_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/plugintest"
)

// streamExt is a test extension whose run does what its inputs' "action"
// says; it echoes the inputs otherwise.
type streamExt struct {
	canceled chan string // run ids whose ctx ended while blocked
}

var _ plugins.Extension = streamExt{}

func (streamExt) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{ID: "stream", Triggers: []string{"test.stream"}}, nil
}

func (x streamExt) Run(ctx context.Context, inv plugins.Invocation, _ plugins.Host) (plugins.Outcome, error) {
	var in struct{ Action string }
	_ = json.Unmarshal(inv.Inputs, &in)
	switch in.Action {
	case "panic":
		panic("boom " + inv.RunID)
	case "block":
		<-ctx.Done()
		x.canceled <- inv.RunID
		return plugins.Outcome{}, ctx.Err()
	case "bad-log":
		return plugins.Outcome{Exit: plugins.ExitReturn, Log: []plugins.LogEntry{{Level: 7, Message: "\xff"}}}, nil
	}
	return plugins.Outcome{Exit: plugins.ExitReturn, Return: inv.Inputs}, nil
}

func (streamExt) RunCommand(context.Context, plugins.CommandCall, plugins.Host) ([]byte, error) {
	return nil, &plugins.Error{Code: plugins.CodeNotFound, Message: "no commands"}
}

func streamRun(ext plugins.Extension, ctx context.Context, runID, inputs string) (plugins.Outcome, error) {
	return ext.Run(ctx, plugins.Invocation{RunID: runID, Trigger: "test.stream", Inputs: []byte(inputs)}, nil)
}

func TestClient_RunStream_ManyConcurrentRuns(t *testing.T) {
	t.Parallel()
	c := plugintest.Connect(t, streamExt{})
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Go(func() {
			in := fmt.Sprintf(`{"n":%d}`, i)
			out, err := streamRun(c, context.Background(), fmt.Sprint(i), in)
			switch {
			case err != nil:
				errs <- err
			case string(out.Return) != in:
				errs <- fmt.Errorf("run %d got %s", i, out.Return)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClient_RunStream_PanicFailsOnlyThatRun(t *testing.T) {
	t.Parallel()
	c := plugintest.Connect(t, streamExt{})
	_, err := streamRun(c, context.Background(), "p1", `{"action":"panic"}`)
	require.Equal(t, codes.Internal, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "extension panicked: boom p1")

	out, err := streamRun(c, context.Background(), "after", `{"ok":true}`)
	require.NoError(t, err)
	require.Equal(t, `{"ok":true}`, string(out.Return))
}

func TestClient_RunStream_DeadlineCancelsTheRun(t *testing.T) {
	t.Parallel()
	ext := streamExt{canceled: make(chan string, 16)}
	c := plugintest.Connect(t, ext)
	// A deadline that passes before the run reaches the extension ends it
	// on the host's side alone; on a loaded machine that can happen to a
	// short one, so the deadline grows until a run reaches the extension,
	// which must then see its context end.
	seen := func(id string) bool {
		timer := time.NewTimer(10 * time.Second)
		defer timer.Stop()
		for {
			select {
			case got := <-ext.canceled:
				if got == id {
					return true
				}
			case <-timer.C:
				return false
			}
		}
	}
	reached := false
	for i, d := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second, 20 * time.Second} {
		id := fmt.Sprintf("slow-%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := streamRun(c, ctx, id, `{"action":"block"}`)
		cancel()
		require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
		if reached = seen(id); reached {
			break
		}
	}
	require.True(t, reached, "no run reached the extension and saw its context end")

	out, err := streamRun(c, context.Background(), "after", `{"ok":true}`)
	require.NoError(t, err)
	require.Equal(t, `{"ok":true}`, string(out.Return))
}

func TestClient_RunStream_UnencodableRunsFailAlone(t *testing.T) {
	t.Parallel()
	c := plugintest.Connect(t, streamExt{})

	// A result gRPC cannot encode fails as it would from a unary call.
	_, err := streamRun(c, context.Background(), "bad-log", `{"action":"bad-log"}`)
	var pe *plugins.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, plugins.CodeInternal, pe.Code)

	// A request gRPC cannot encode goes as a unary call and fails there.
	_, err = c.Run(context.Background(), plugins.Invocation{RunID: "bad", Trigger: "test.stream", Script: "\xff", Inputs: []byte(`{}`)}, nil)
	require.Equal(t, codes.Internal, status.Code(err), "%v", err)

	// A run larger than a stream message takes the unary path too.
	big := `{"s":"` + strings.Repeat("x", 2<<20) + `"}`
	out, err := streamRun(c, context.Background(), "big", big)
	require.NoError(t, err)
	require.Equal(t, big, string(out.Return))

	out, err = streamRun(c, context.Background(), "after", `{"ok":true}`)
	require.NoError(t, err)
	require.Equal(t, `{"ok":true}`, string(out.Return))
}

func TestClient_ValuesDoNotCrossTheProcessBoundary(t *testing.T) {
	t.Parallel()
	c := plugintest.Connect(t, streamExt{})
	_, err := c.Run(context.Background(), plugins.Invocation{Trigger: "test.stream", Values: map[string]any{}}, nil)
	var pe *plugins.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, plugins.CodeInputs, pe.Code)
}

// formatExt reads inputs in the formats it lists and answers in the
// format of the invocation.
type formatExt struct{ formats []string }

func (x formatExt) Describe(context.Context) (plugins.Description, error) {
	return plugins.Description{ID: "format", Triggers: []string{"test.format"}, Formats: x.formats}, nil
}

func (formatExt) Run(_ context.Context, inv plugins.Invocation, _ plugins.Host) (plugins.Outcome, error) {
	return plugins.Outcome{Exit: plugins.ExitReturn, Return: inv.Inputs, ReturnFormat: inv.InputsFormat}, nil
}

func (formatExt) RunCommand(context.Context, plugins.CommandCall, plugins.Host) ([]byte, error) {
	return nil, &plugins.Error{Code: plugins.CodeNotFound, Message: "no commands"}
}

func TestClient_InputsFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		lists    []string // the extension's Description.Formats
		describe bool     // the host asked Describe first
		format   string
		ok       bool
	}{
		{"JSONAlways", nil, false, "", true},
		{"Listed", []string{"dict/1"}, true, "dict/1", true},
		{"NotListed", []string{"other/1"}, true, "dict/1", false},
		{"NotDescribedYet", []string{"dict/1"}, false, "dict/1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := plugintest.Connect(t, formatExt{formats: tc.lists})
			if tc.describe {
				d, err := c.Describe(context.Background())
				require.NoError(t, err)
				require.Equal(t, tc.lists, d.Formats)
			}
			out, err := c.Run(context.Background(), plugins.Invocation{Trigger: "test.format", Inputs: []byte("in"), InputsFormat: tc.format}, nil)
			if !tc.ok {
				var pe *plugins.Error
				require.ErrorAs(t, err, &pe)
				require.Equal(t, plugins.CodeUnsupported, pe.Code)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "in", string(out.Return))
			require.Equal(t, tc.format, out.ReturnFormat)
		})
	}
}

// TestClient_InputsReleased: a Client reports a run's inputs released only
// when the run went over the run socket and was answered; gRPC may keep a
// message after sending it, so a caller must not reuse the inputs then.
func TestClient_InputsReleased(t *testing.T) {
	tests := []struct {
		name      string
		socketDir bool // the extension opens a run socket
		inputs    string
		fails     bool
		want      bool // some run released its inputs
	}{
		{"run socket", true, `{"n":1}`, false, true},
		{"run socket, run failed", true, `{"action":"panic"}`, true, false},
		{"gRPC stream", false, `{"n":1}`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := ""
			if tt.socketDir {
				dir = t.TempDir()
			}
			t.Setenv("PLUGIN_UNIX_SOCKET_DIR", dir)
			c := plugintest.Connect(t, streamExt{})
			// An answer that comes before the host's send loop saw its
			// write return does not release the inputs: with want, some
			// run of many does, never one without.
			some := false
			for range 50 {
				released := false
				_, err := c.Run(context.Background(), plugins.Invocation{Trigger: "test.stream", Inputs: []byte(tt.inputs), InputsReleased: &released}, nil)
				require.Equal(t, tt.fails, err != nil, "%v", err)
				some = some || released
				if some && tt.want {
					break
				}
			}
			require.Equal(t, tt.want, some)
		})
	}
}

// TestClient_InputsReleasedReset: a run sets InputsReleased to its own
// outcome, so a failed run of an Invocation whose earlier run released
// its inputs (the manager runs it again on another process while one
// stops) says false (review rev4: it stayed true, and the runner reused a
// buffer the failed run's message might still be encoding).
func TestClient_InputsReleasedReset(t *testing.T) {
	t.Setenv("PLUGIN_UNIX_SOCKET_DIR", t.TempDir())
	c := plugintest.Connect(t, streamExt{})
	released := false
	for range 200 {
		_, err := c.Run(context.Background(), plugins.Invocation{Trigger: "test.stream", Inputs: []byte(`{"n":1}`), InputsReleased: &released}, nil)
		require.NoError(t, err)
		if released {
			break
		}
	}
	require.True(t, released, "a run on the run socket released its inputs")
	_, err := c.Run(context.Background(), plugins.Invocation{Trigger: "test.stream", Inputs: []byte(`{"action":"panic"}`), InputsReleased: &released}, nil)
	require.Error(t, err)
	require.False(t, released, "a failed run left InputsReleased true")
}
