package extensions_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/extensions"
	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/plugintest"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testBundle struct {
	logs     *syncBuffer
	startErr error
}

// setup starts a Manager with cfg (the helper environment added) and closes
// it when the test ends.
func setup(t *testing.T, cfg extensions.Config) (*extensions.Manager, *testBundle) {
	t.Helper()
	b := &testBundle{logs: &syncBuffer{}}
	cfg.Env = append(cfg.Env, helperEnv...)
	cfg.Logger = slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.SocketDir == "" {
		cfg.SocketDir = shortTempDir(t)
	}
	m, err := extensions.New(cfg)
	require.NoError(t, err)
	b.startErr = m.Start(context.Background())
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m, b
}

// shortTempDir is a temporary directory short enough to hold unix sockets
// (t.TempDir's names, built from the test's name, may be too long).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hx")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func builtins(modes ...string) map[string][]string {
	out := map[string][]string{}
	for _, m := range modes {
		out[m] = helperArgv(m)
	}
	return out
}

func run(t *testing.T, m *extensions.Manager, trigger, inputs string, timeout time.Duration) (plugins.Outcome, error) {
	t.Helper()
	e, err := m.ForTrigger(trigger)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return e.Run(ctx, plugins.Invocation{RunID: "r", Automation: "a", Revision: "1", Trigger: trigger, Inputs: []byte(inputs)}, nil)
}

func requireEcho(t *testing.T, m *extensions.Manager, id string) {
	t.Helper()
	out, err := run(t, m, id+".run", `{"action":"echo","n":7}`, 10*time.Second)
	require.NoError(t, err)
	require.JSONEq(t, `{"action":"echo","n":7}`, string(out.Return))
}

func pidOf(t *testing.T, m *extensions.Manager, id string) int {
	t.Helper()
	out, err := run(t, m, id+".run", `{"action":"pid"}`, 10*time.Second)
	require.NoError(t, err)
	var v struct{ Pid int }
	require.NoError(t, json.Unmarshal(out.Return, &v))
	return v.Pid
}

func info(t *testing.T, m *extensions.Manager, name string) extensions.Info {
	t.Helper()
	for _, in := range m.List() {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("extension %q not listed", name)
	return extensions.Info{}
}

func TestManager_RoutesAndLists(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("test", "other")})
	require.NoError(t, b.startErr)

	requireEcho(t, m, "test")
	requireEcho(t, m, "other")
	// Both spellings of a trigger route to the same extension.
	out, err := run(t, m, "cerb.trigger.test.run", `{"n":1}`, 10*time.Second)
	require.NoError(t, err)
	require.JSONEq(t, `{"n":1}`, string(out.Return))

	_, err = m.ForTrigger("nobody.run")
	require.ErrorIs(t, err, extensions.ErrNotFound)
	_, err = m.ForCommand("nobody.cmd")
	require.ErrorIs(t, err, extensions.ErrNotFound)

	res, err := m.RunCommand(context.Background(), plugins.CommandCall{Name: "other.echo", Inputs: []byte(`{"x":1}`)}, nil)
	require.NoError(t, err)
	require.JSONEq(t, `{"x":1}`, string(res))
	require.Equal(t, []string{"other.echo", "test.echo"}, m.Commands())

	_, err = m.RunCommand(context.Background(), plugins.CommandCall{Name: "other.echo", Inputs: []byte(`nope`)}, nil)
	var pe *plugins.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, plugins.CodeInputs, pe.Code)

	in := info(t, m, "test")
	require.Equal(t, extensions.StateRunning, in.State)
	require.True(t, in.Builtin)
	require.Equal(t, "test", in.ID)
	require.Equal(t, "0.0.1", in.Version)
	require.Equal(t, []string{"cerb.trigger.test.run"}, in.Triggers)
	require.Equal(t, []string{"test.echo"}, in.Commands)
	require.Equal(t, []int{pidOf(t, m, "test")}, in.Pids)
	require.Zero(t, in.Restarts)
	require.Zero(t, in.InFlight)
	require.Len(t, m.List(), 2)
}

func TestManager_PanicInHandlerKeepsProcess(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("test")})
	require.NoError(t, b.startErr)
	pid := pidOf(t, m, "test")

	_, err := run(t, m, "test.run", `{"action":"panic"}`, 10*time.Second)
	var pe *plugins.Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, plugins.CodeInternal, pe.Code)
	require.Contains(t, pe.Message, "handler panic")
	require.NotErrorIs(t, err, extensions.ErrCrashed)

	require.Equal(t, pid, pidOf(t, m, "test"), "the process must survive a handler panic")
	require.Zero(t, info(t, m, "test").Restarts)
}

func TestManager_CrashFailsHeldRunsThenRestarts(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"goroutine-panic", "exit"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			m, b := setup(t, extensions.Config{Builtins: builtins("test", "other")})
			require.NoError(t, b.startErr)
			oldPid := pidOf(t, m, "test")
			e, err := m.ForTrigger("test.run")
			require.NoError(t, err)

			// Three runs held by the process, each announced through the Host.
			const held = 3
			h := &signalHost{logged: make(chan struct{}, held)}
			errs := make(chan error, held)
			for range held {
				go func() {
					// An upper bound for a loaded machine, not a timing assertion.
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					_, err := e.Run(ctx, plugins.Invocation{Trigger: "test.run", Inputs: []byte(`{"action":"hold"}`)}, h)
					errs <- err
				}()
			}
			for range held {
				<-h.logged
			}

			_, err = run(t, m, "test.run", fmt.Sprintf(`{"action":%q}`, action), time.Minute)
			require.ErrorIs(t, err, extensions.ErrCrashed)
			var re *extensions.RunError
			require.ErrorAs(t, err, &re)
			require.Equal(t, "test", re.Extension)
			for range held {
				require.ErrorIs(t, <-errs, extensions.ErrCrashed)
			}

			requireEcho(t, m, "other") // other extensions keep serving
			requireEcho(t, m, "test")  // waits for the restart
			require.NotEqual(t, oldPid, pidOf(t, m, "test"))
			in := info(t, m, "test")
			require.Equal(t, 1, in.Restarts)
			require.Equal(t, extensions.StateRunning, in.State)
			require.Zero(t, info(t, m, "other").Restarts)
			require.Contains(t, b.logs.String(), `"extension":"test"`)
		})
	}
}

// signalHost reports each Log call on logged.
type signalHost struct {
	plugins.NoHost
	logged chan struct{}
}

func (h *signalHost) Log(context.Context, plugins.LogEntry) error {
	h.logged <- struct{}{}
	return nil
}

func TestManager_Deadlines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		action       string
		wantRestarts int
	}{
		{"hang", 1}, // ignores ctx: killed and restarted after the grace
		{"slow", 0}, // honours ctx: the process is fine
	} {
		t.Run(tc.action, func(t *testing.T) {
			t.Parallel()
			m, b := setup(t, extensions.Config{Builtins: builtins("test", "other"), HangGrace: 200 * time.Millisecond})
			require.NoError(t, b.startErr)
			oldPid := pidOf(t, m, "test")

			_, err := run(t, m, "test.run", fmt.Sprintf(`{"action":%q}`, tc.action), 300*time.Millisecond)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.NotErrorIs(t, err, extensions.ErrCrashed)
			requireEcho(t, m, "other")

			if tc.wantRestarts > 0 {
				require.Eventually(t, func() bool { return info(t, m, "test").Restarts == tc.wantRestarts },
					20*time.Second, 20*time.Millisecond, "a hung process must be restarted")
				requireEcho(t, m, "test")
				require.NotEqual(t, oldPid, pidOf(t, m, "test"))
				require.Contains(t, b.logs.String(), "hung")
				return
			}
			// Wait past the hang probe, then check nothing was restarted.
			time.Sleep(600 * time.Millisecond)
			requireEcho(t, m, "test")
			require.Equal(t, oldPid, pidOf(t, m, "test"))
			require.Zero(t, info(t, m, "test").Restarts)
		})
	}
}

func TestManager_WrongHandshakeCookieFails(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("badcookie", "test"), StartTimeout: 5 * time.Second})
	var se *extensions.StartError
	require.ErrorAs(t, b.startErr, &se)
	require.Equal(t, "badcookie", se.Extension)

	in := info(t, m, "badcookie")
	require.Equal(t, extensions.StateFailed, in.State)
	require.NotEmpty(t, in.Error)
	require.Contains(t, b.logs.String(), "This binary is a plugin") // its stderr reached the log
	requireEcho(t, m, "test")
}

func TestManager_Checksums(t *testing.T) {
	t.Parallel()
	sum := func(t *testing.T, path string) string {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	wrong := hex.EncodeToString(make([]byte, 32))
	for _, tc := range []struct {
		name      string
		file      func(good string) string // .sha256 file content, "" for none
		config    func(good string) string // Config.Checksums entry, "" for none
		wantError error                    // nil: it serves
	}{
		{"Unpinned", nil, nil, nil},
		{"FileMatches", func(g string) string { return g + "  other\n" }, nil, nil},
		{"FileMismatch", func(string) string { return wrong + "\n" }, nil, extensions.ErrChecksum},
		{"ConfigMatches", func(string) string { return wrong }, func(g string) string { return g }, nil},
		{"ConfigMismatch", nil, func(string) string { return wrong }, extensions.ErrChecksum},
		{"FileMalformed", func(string) string { return "xyz" }, nil, errors.New("not a hex SHA-256")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := helperScript(t, dir, "other", "other")
			good := sum(t, path)
			cfg := extensions.Config{Builtins: builtins("test"), PluginsDir: dir}
			if tc.file != nil {
				require.NoError(t, os.WriteFile(path+".sha256", []byte(tc.file(good)), 0o644))
			}
			if tc.config != nil {
				cfg.Checksums = map[string]string{"other": tc.config(good)}
			}
			m, b := setup(t, cfg)
			requireEcho(t, m, "test") // the built-in serves in every case
			if tc.wantError == nil {
				require.NoError(t, b.startErr)
				requireEcho(t, m, "other")
				require.False(t, info(t, m, "other").Builtin)
				return
			}
			var se *extensions.StartError
			require.ErrorAs(t, b.startErr, &se)
			require.Equal(t, "other", se.Extension)
			if errors.Is(tc.wantError, extensions.ErrChecksum) {
				require.ErrorIs(t, b.startErr, extensions.ErrChecksum)
				require.Equal(t, extensions.StateRefused, info(t, m, "other").State)
			} else {
				require.Contains(t, b.startErr.Error(), tc.wantError.Error())
			}
			_, err := m.ForTrigger("other.run")
			require.ErrorIs(t, err, extensions.ErrNotFound)
		})
	}
}

func TestManager_ConcurrentRunsShareOneProcess(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("test")})
	require.NoError(t, b.startErr)
	e, err := m.ForTrigger("test.run")
	require.NoError(t, err)

	const n = 64
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := e.Run(ctx, plugins.Invocation{RunID: fmt.Sprint(i), Trigger: "test.run", Inputs: fmt.Appendf(nil, `{"n":%d}`, i)}, nil)
			got[i], errs[i] = string(out.Return), err
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, fmt.Sprintf(`{"n":%d}`, i), got[i])
	}
	require.Len(t, info(t, m, "test").Pids, 1)
}

func TestManager_PoolSpreadsRuns(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("test", "other"), PoolSizes: map[string]int{"test": 3}})
	require.NoError(t, b.startErr)
	in := info(t, m, "test")
	require.Len(t, in.Pids, 3)
	require.Len(t, info(t, m, "other").Pids, 1)

	seen := map[int]bool{}
	for range 6 {
		seen[pidOf(t, m, "test")] = true
	}
	require.Len(t, seen, 3, "idle processes are used in turn")
	for _, pid := range in.Pids {
		require.True(t, seen[pid])
	}
}

func TestManager_HostCallbacks(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("test")})
	require.NoError(t, b.startErr)
	h := plugintest.NewHost()
	h.Secrets["api_key"] = "k-123"
	h.Functions["example.math.add"] = func(_ context.Context, in []byte) (plugins.Outcome, error) {
		var v struct{ A, B int }
		if err := json.Unmarshal(in, &v); err != nil {
			return plugins.Outcome{}, err
		}
		return plugins.Outcome{Exit: plugins.ExitReturn, Return: fmt.Appendf(nil, `{"sum":%d}`, v.A+v.B)}, nil
	}
	e, err := m.ForTrigger("test.run")
	require.NoError(t, err)

	out, err := e.Run(context.Background(), plugins.Invocation{Trigger: "test.run", Inputs: []byte(`{"action":"callbacks"}`)}, h)
	require.NoError(t, err)
	require.JSONEq(t, `{"counter":41,"sum":{"sum":5},"secret":"k-123"}`, string(out.Return))
	v, ok := h.Value("counter")
	require.True(t, ok)
	require.Equal(t, `41`, string(v))
}

func TestManager_WebhookBuiltinConformance(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("webhook")})
	require.NoError(t, b.startErr)
	e, err := m.ForTrigger("webhook.respond")
	require.NoError(t, err)
	plugintest.Exercise(t, e, plugintest.Case{
		Name:       "Return",
		Invocation: plugins.Invocation{Automation: "t", Revision: "1", Trigger: "cerb.trigger.webhook.respond", Script: "start:\n  return:\n    status_code@int: 200\n    body: Hi {{ who }}\n"},
		Inputs:     `{"who":"Kina"}`,
		Want:       `{"status_code":200,"body":"Hi Kina"}`,
	})
}

func TestManager_Close(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("test")})
	require.NoError(t, b.startErr)
	pid := pidOf(t, m, "test")
	e, err := m.ForTrigger("test.run")
	require.NoError(t, err)

	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "Close is idempotent")
	_, err = m.ForTrigger("test.run")
	require.ErrorIs(t, err, extensions.ErrClosed)
	_, err = e.Run(context.Background(), plugins.Invocation{Trigger: "test.run", Inputs: []byte(`{}`)}, nil)
	require.ErrorIs(t, err, extensions.ErrClosed)
	require.Error(t, syscall.Kill(pid, 0), "the process must be gone")
	require.Equal(t, extensions.StateClosed, info(t, m, "test").State)
}

func TestManager_StartCleansSocketDir(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	stale := filepath.Join(dir, "plugin-stale")
	require.NoError(t, os.MkdirAll(stale, 0o700))
	m, b := setup(t, extensions.Config{Builtins: builtins("test"), SocketDir: dir})
	require.NoError(t, b.startErr)
	requireEcho(t, m, "test")
	_, err := os.Stat(stale)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestNew_RejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  extensions.Config
		want string
	}{
		{"EmptyCommand", extensions.Config{Builtins: map[string][]string{"x": nil}}, `built-in "x": empty command line`},
		{"BadChecksum", extensions.Config{Checksums: map[string]string{"x": "abc"}}, `Checksums["x"]: checksum "abc" is not a hex SHA-256`},
		{"NegativePool", extensions.Config{PoolSizes: map[string]int{"x": -1}}, `PoolSizes["x"] is -1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := extensions.New(tc.cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestManager_LongSocketDirFallsBack checks that a data directory too deep
// for unix socket paths still starts extensions (in a private temporary
// socket directory) instead of refusing to start.
func TestManager_LongSocketDirFallsBack(t *testing.T) {
	t.Parallel()
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 80), "sockets")
	m, b := setup(t, extensions.Config{SocketDir: long, Builtins: builtins("test", "echo")})
	require.NoError(t, b.startErr)
	_, err := m.ForTrigger("test.run")
	require.NoError(t, err, "the extension serves")
	require.Contains(t, b.logs.String(), "using a private temporary directory")
}
