package extensions_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/extensions"
	"github.com/hookhost/hookhost/plugins"
)

// pollLimit bounds every wait for a state in these tests: that many checks,
// pollEvery apart.
const (
	pollLimit = 600
	pollEvery = 25 * time.Millisecond
)

// eventually checks cond up to pollLimit times and fails the test if it
// never holds.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	for range pollLimit {
		if cond() {
			return
		}
		time.Sleep(pollEvery)
	}
	t.Fatalf("after %d checks: "+format, append([]any{pollLimit}, args...)...)
}

// alive reports whether the process pid exists and is not a zombie (an
// orphan's zombie lingers where PID 1 does not reap).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if _, perr := os.Stat("/proc/self/stat"); perr == nil {
			return false // there is /proc, and no such process in it
		}
		return syscall.Kill(pid, 0) == nil
	}
	// "pid (comm) state ...", where comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func requireGone(t *testing.T, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		require.NotZero(t, pid)
		eventually(t, func() bool { return !alive(pid) }, "process %d is still alive", pid)
	}
}

// helperServer is a hookhost "server" process (helper mode "server") and
// what it reported.
type helperServer struct {
	cmd    *exec.Cmd
	stdin  interface{ Close() error }
	report serverReport
}

// startServer starts a server process with the environment env added to
// the test's, and reads its report.
func startServer(t *testing.T, env []string, opts ...string) *helperServer {
	t.Helper()
	args := append([]string{"-test.run=^TestHelperProcess$", "--", "server", shortTempDir(t)}, opts...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), helperEnv...), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &helperServer{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		for _, pid := range append(s.report.Pids, s.report.Child) {
			if pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	require.NoError(t, err, "the server process did not report")
	require.NoError(t, json.Unmarshal(line, &s.report))
	require.Len(t, s.report.Pids, 2)
	for _, pid := range append(s.report.Pids, s.report.Child) {
		require.True(t, alive(pid), "process %d", pid)
	}
	return s
}

// Extension processes must not outlive a host that dies without closing
// them (SIGKILL, out of memory): the kernel's parent-death signal kills
// them, and without it (not Linux) an extension built with plugins.Serve
// exits by itself when its lifeline (stdin) or its parent goes, killing its
// own process group on the way.
func TestManager_ExtensionsDieWithTheirHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []string
		// wantChild: the extension's own child dies too (only the
		// extension's watchdog kills its process group; the kernel's signal
		// kills the extension process alone).
		wantChild bool
	}{
		{"ParentDeathSignal", nil, false},
		{"ExtensionWatchdog", []string{"nopdeathsig"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, nil, tc.opts...)
			require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
			_ = s.cmd.Wait()
			requireGone(t, s.report.Pids...)
			if tc.wantChild {
				requireGone(t, s.report.Child)
			}
		})
	}
}

// A server that stops normally stops its extensions and their children.
func TestManager_CloseKillsProcessGroups(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	require.NoError(t, s.stdin.Close()) // the server closes its manager and exits
	require.NoError(t, s.cmd.Wait())
	requireGone(t, append(s.report.Pids, s.report.Child)...)
}

// An extension process gets an explicit, minimal environment: never the
// host's secrets.
func TestManager_ExtensionEnvironmentIsMinimal(t *testing.T) {
	t.Parallel()
	s := startServer(t, []string{
		"HOOKHOST_ADMIN_TOKEN=admin-token-must-not-leak",
		"HOOKHOST_SECRET_KEY=secret-key-must-not-leak",
		"HOOKHOST_DATABASE=postgres://u:p@db/x",
		"AWS_SECRET_ACCESS_KEY=aws-must-not-leak",
		"HTTPS_PROXY=http://proxy.example:3128",
		"LC_ALL=C.UTF-8",
		"TZ=Europe/Paris",
	}, "passenv=HTTPS_PROXY")
	env := map[string]string{}
	for _, kv := range s.report.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, name := range []string{"HOOKHOST_ADMIN_TOKEN", "HOOKHOST_SECRET_KEY", "HOOKHOST_DATABASE", "AWS_SECRET_ACCESS_KEY"} {
		require.NotContains(t, env, name)
	}
	for k := range env {
		if strings.HasPrefix(k, "HOOKHOST_") {
			require.Contains(t, []string{plugins.MagicCookieKey, plugins.EnvLifeline}, k, "only protocol variables start with HOOKHOST_")
		}
	}
	require.Equal(t, plugins.MagicCookieValue, env[plugins.MagicCookieKey])
	require.Equal(t, "stdin", env[plugins.EnvLifeline])
	require.Equal(t, "1", env["GO_WANT_HELPER_PROCESS"], "Config.Env is passed")
	require.Equal(t, "http://proxy.example:3128", env["HTTPS_PROXY"], "Config.PassEnv is passed")
	require.Equal(t, "C.UTF-8", env["LC_ALL"])
	require.Equal(t, "Europe/Paris", env["TZ"])
	require.Equal(t, os.Getenv("PATH"), env["PATH"])
	require.Contains(t, env, "PLUGIN_PROTOCOL_VERSIONS")
}

// writeScript writes an executable shell script into dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755))
	return path
}

// readPids reads the pids the scripts wrote into dir as files "<prefix>.<n>".
func readPids(t *testing.T, dir, prefix string) []int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, prefix+".*"))
	require.NoError(t, err)
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// A plugin that never completes its handshake (a wrapper script that forks
// instead of exec-ing, or a binary that is no extension) is killed with its
// process group once StartTimeout passes, reported as failed, and the
// others serve.
func TestManager_StartTimeoutKillsForkingPlugin(t *testing.T) {
	t.Parallel()
	dir, state := t.TempDir(), t.TempDir()
	// The child writes its pid, then the script waits for it: neither
	// prints a handshake.
	writeScript(t, dir, "forker", fmt.Sprintf("sleep 100000 &\necho $! > %q/child.$!\necho $$ > %q/script.$$\nwait\n", state, state))
	m, b := setup(t, extensions.Config{Builtins: builtins("test"), PluginsDir: dir, StartTimeout: 5 * time.Second})

	var se *extensions.StartError
	require.ErrorAs(t, b.startErr, &se)
	require.Equal(t, "forker", se.Extension)
	require.Equal(t, filepath.Join(dir, "forker"), se.Path)
	require.ErrorIs(t, b.startErr, extensions.ErrStartTimeout)
	in := info(t, m, "forker")
	require.Equal(t, extensions.StateFailed, in.State)
	require.Contains(t, in.Error, "did not start")
	require.Contains(t, b.logs.String(), filepath.Join(dir, "forker"))
	requireEcho(t, m, "test")

	pids := append(readPids(t, state, "child"), readPids(t, state, "script")...)
	require.Len(t, pids, 2)
	requireGone(t, pids...)
}

// Processes start concurrently, and cancelling Start's context (SIGTERM
// during start-up) aborts it at once, killing what started.
func TestManager_StartIsConcurrentAndCancellable(t *testing.T) {
	t.Parallel()
	dir, state := t.TempDir(), t.TempDir()
	for _, name := range []string{"hang1", "hang2"} {
		writeScript(t, dir, name, fmt.Sprintf("echo $$ > %q/%s.$$\nsleep 100000 &\nwait\n", state, name))
	}
	cfg := extensions.Config{PluginsDir: dir, PoolSizes: map[string]int{"hang2": 2}, StartTimeout: time.Hour,
		SocketDir: shortTempDir(t), Env: helperEnv}
	m, err := extensions.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	// Every process (hang1, and both of hang2's pool) is started before any
	// of them gave up.
	eventually(t, func() bool {
		return len(readPids(t, state, "hang1")) == 1 && len(readPids(t, state, "hang2")) == 2
	}, "not every process started")
	cancel()
	err = <-done
	require.ErrorIs(t, err, context.Canceled)
	requireGone(t, append(readPids(t, state, "hang1"), readPids(t, state, "hang2")...)...)
	for _, name := range []string{"hang1", "hang2"} {
		in := info(t, m, name)
		require.Equal(t, extensions.StateFailed, in.State)
		require.Contains(t, in.Error, "start aborted")
	}
}

// Close during Start aborts the start and leaves no process behind.
func TestManager_CloseDuringStart(t *testing.T) {
	t.Parallel()
	dir, state := t.TempDir(), t.TempDir()
	writeScript(t, dir, "hang", fmt.Sprintf("echo $$ > %q/hang.$$\nsleep 100000 &\nwait\n", state))
	m, err := extensions.New(extensions.Config{PluginsDir: dir, StartTimeout: time.Hour, SocketDir: shortTempDir(t)})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- m.Start(context.Background()) }()
	eventually(t, func() bool { return len(readPids(t, state, "hang")) == 1 }, "the process did not start")
	require.NoError(t, m.Close())
	require.Error(t, <-done)
	require.NoError(t, m.Close(), "Close is idempotent")
	requireGone(t, readPids(t, state, "hang")...)
}

// An extension honours SIGTERM even where the host binary catches it: it
// lets the run it holds finish, then exits, and the host replaces it.
func TestManager_SIGTERMFinishesRunsThenExits(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("test")})
	require.NoError(t, b.startErr)
	pid := pidOf(t, m, "test")
	e, err := m.ForTrigger("test.run")
	require.NoError(t, err)

	h := newGateHost()
	type result struct {
		out plugins.Outcome
		err error
	}
	res := make(chan result, 1)
	go func() {
		out, err := e.Run(context.Background(), plugins.Invocation{Trigger: "test.run", Inputs: []byte(`{"action":"gate"}`)}, h)
		res <- result{out, err}
	}()
	<-h.logged // the run is in flight
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	close(h.release)
	r := <-res
	require.NoError(t, r.err, "the run in flight finishes")
	require.JSONEq(t, fmt.Sprintf(`{"pid":%d}`, pid), string(r.out.Return))

	requireGone(t, pid)
	eventually(t, func() bool {
		p := info(t, m, "test").Pids
		return len(p) == 1 && p[0] != 0 && p[0] != pid
	}, "the process was not replaced")
	requireEcho(t, m, "test")
	require.EqualValues(t, 1, m.Restarts())
}

// A run the process refuses because it is shutting down
// (plugins.CodeUnavailable) runs again on the process that replaces it.
func TestManager_RunRefusedWhileStoppingRunsElsewhere(t *testing.T) {
	t.Parallel()
	m, b := setup(t, extensions.Config{Builtins: builtins("test")})
	require.NoError(t, b.startErr)
	pid := pidOf(t, m, "test")

	out, err := run(t, m, "test.run", fmt.Sprintf(`{"action":"unavailable-in","n":%d}`, pid), 30*time.Second)
	require.NoError(t, err)
	var v struct{ Pid int }
	require.NoError(t, json.Unmarshal(out.Return, &v))
	require.NotEqual(t, pid, v.Pid)
	require.Equal(t, []int{v.Pid}, info(t, m, "test").Pids)
}
