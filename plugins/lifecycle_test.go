package plugins_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/plugins"
)

// TestHelperProcess is not a test: it is an extension process served with
// plugins.Serve, which the tests below start themselves, as a host would.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") != "1" {
		return
	}
	// Like cmd/hookhost's main, which catches SIGTERM for every command.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM)
	plugins.Serve(callbacks{})
}

// helperCmd is an extension process as a host starts it: the handshake
// cookie set, plus env.
func helperCmd(env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), append([]string{"GO_WANT_HELPER_PROCESS=1", plugins.MagicCookieKey + "=" + plugins.MagicCookieValue}, env...)...)
	return cmd
}

// startHelper starts cmd and waits for its handshake line on stdout: the
// process serves, and watches its host.
func startHelper(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, "|grpc|")
}

// exitCode waits for cmd and returns its exit code (-1: killed by a
// signal).
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// On SIGTERM an extension exits 0 (after the calls it holds, none here),
// even in a binary that catches SIGTERM for its own purposes.
func TestServe_SIGTERMExits(t *testing.T) {
	t.Parallel()
	cmd := helperCmd()
	startHelper(t, cmd)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, exitCode(t, cmd))
}

// An extension whose host announced a lifeline exits when its stdin
// closes: the host is gone, though its parent process is not.
func TestServe_ExitsWhenLifelineCloses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		env      []string
		wantExit bool
	}{
		{"Announced", []string{plugins.EnvLifeline + "=stdin"}, true},
		{"NotAnnounced", nil, false}, // stdin may be anything: /dev/null, a terminal
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := helperCmd(tc.env...)
			stdin, err := cmd.StdinPipe()
			require.NoError(t, err)
			startHelper(t, cmd)
			require.NoError(t, stdin.Close())
			if !tc.wantExit {
				// It still serves: SIGTERM is what ends it.
				require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			}
			require.Equal(t, map[bool]int{true: 1, false: 0}[tc.wantExit], exitCode(t, cmd))
		})
	}
}

// An extension exits when its parent process dies (it is re-parented),
// whatever its stdin.
func TestServe_ExitsWhenParentDies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "handshake")
	// The shell is the extension's parent, as a host would be; it reports
	// the extension's pid, then waits.
	sh := exec.Command("/bin/sh", "-c", fmt.Sprintf("%q -test.run='^TestHelperProcess$' </dev/null >%q &\necho $!\nexec sleep 100000\n", os.Args[0], out))
	sh.Env = helperCmd().Env
	stdout, err := sh.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, sh.Start())
	t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	// Once it printed its handshake, it watches its parent.
	for i := 0; ; i++ {
		b, _ := os.ReadFile(out)
		if strings.Contains(string(b), "|grpc|") {
			break
		}
		require.Less(t, i, 600, "no handshake")
		time.Sleep(25 * time.Millisecond)
	}

	require.NoError(t, sh.Process.Kill())
	_ = sh.Wait()
	for i := 0; processAlive(pid); i++ {
		require.Less(t, i, 600, "the extension outlived its parent")
		time.Sleep(25 * time.Millisecond)
	}
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if _, perr := os.Stat("/proc/self/stat"); perr == nil {
			return false
		}
		return syscall.Kill(pid, 0) == nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
