package extensions_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/extensions"
	"github.com/hookhost/hookhost/plugins"
)

// installBinary puts a copy of the test binary into dir as name, the way a
// careful operator does: written under a temporary name, then renamed into
// place. extra is appended to change the binary's SHA-256 (not what it
// does). Started without arguments, the copy serves testExt with its name as
// id (see TestMain).
func installBinary(t *testing.T, dir, name, extra string) {
	t.Helper()
	src, err := os.Open(os.Args[0])
	require.NoError(t, err)
	defer src.Close()
	tmp, err := os.CreateTemp(dir, ".install-*")
	require.NoError(t, err)
	_, err = io.Copy(tmp, src)
	require.NoError(t, err)
	_, err = tmp.WriteString(extra)
	require.NoError(t, err)
	require.NoError(t, tmp.Chmod(0o755))
	require.NoError(t, tmp.Close())
	require.NoError(t, os.Rename(tmp.Name(), filepath.Join(dir, name)))
}

// installScript puts a script into dir as name, by rename too (a running
// binary cannot be opened for writing).
func installScript(t *testing.T, dir, name, body string) {
	t.Helper()
	tmp := writeScript(t, dir, ".install-"+name, body)
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
}

func reload(t *testing.T, m *extensions.Manager) (extensions.ReloadResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return m.Reload(ctx)
}

func changes(started, restarted, stopped, failed []string) extensions.ReloadResult {
	or := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return extensions.ReloadResult{Started: or(started), Restarted: or(restarted), Stopped: or(stopped), Failed: or(failed)}
}

func TestManager_Reload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	installBinary(t, dir, "alpha", "")
	m, b := setup(t, extensions.Config{PluginsDir: dir})
	require.NoError(t, b.startErr)
	requireEcho(t, m, "alpha")
	oldHandle, err := m.ForTrigger("alpha.run")
	require.NoError(t, err)

	// A crash restart counts in Restarts.
	_, err = run(t, m, "alpha.run", `{"action":"exit"}`, 10*time.Second)
	require.ErrorIs(t, err, extensions.ErrCrashed)
	requireEcho(t, m, "alpha")
	require.EqualValues(t, 1, m.Restarts())
	pidA := pidOf(t, m, "alpha")

	// Nothing changed: nothing happens.
	res, err := reload(t, m)
	require.NoError(t, err)
	require.Equal(t, changes(nil, nil, nil, nil), res)
	require.Equal(t, pidA, pidOf(t, m, "alpha"))

	// A new binary starts.
	installBinary(t, dir, "beta", "")
	res, err = reload(t, m)
	require.NoError(t, err)
	require.Equal(t, changes([]string{"beta"}, nil, nil, nil), res)
	requireEcho(t, m, "beta")
	pidB := pidOf(t, m, "beta")
	require.Equal(t, []string{"alpha.echo", "beta.echo"}, m.Commands())

	// A changed binary restarts; the run the old process holds finishes
	// there, and new runs go to the new process.
	h := newGateHost()
	held := make(chan error, 1)
	heldPid := make(chan string, 1)
	go func() {
		out, err := oldHandle.Run(context.Background(), plugins.Invocation{Trigger: "alpha.run", Inputs: []byte(`{"action":"gate"}`)}, h)
		heldPid <- string(out.Return)
		held <- err
	}()
	<-h.logged
	installBinary(t, dir, "alpha", "version 2")
	res, err = reload(t, m)
	require.NoError(t, err)
	require.Equal(t, changes(nil, []string{"alpha"}, nil, nil), res)
	pidA2 := pidOf(t, m, "alpha")
	require.NotEqual(t, pidA, pidA2)
	require.True(t, alive(pidA), "the old process drains")
	close(h.release)
	require.NoError(t, <-held)
	require.JSONEq(t, fmt.Sprintf(`{"pid":%d}`, pidA), <-heldPid)
	requireGone(t, pidA)
	// A handle from before the reload reaches the new process.
	out, err := oldHandle.Run(context.Background(), plugins.Invocation{Trigger: "alpha.run", Inputs: []byte(`{"action":"pid"}`)}, nil)
	require.NoError(t, err)
	require.JSONEq(t, fmt.Sprintf(`{"pid":%d}`, pidA2), string(out.Return))
	require.Zero(t, info(t, m, "alpha").Restarts)
	require.EqualValues(t, 1, m.Restarts(), "Restarts never goes down")

	// A removed binary stops.
	require.NoError(t, os.Remove(filepath.Join(dir, "beta")))
	res, err = reload(t, m)
	require.NoError(t, err)
	require.Equal(t, changes(nil, nil, []string{"beta"}, nil), res)
	_, err = m.ForTrigger("beta.run")
	require.ErrorIs(t, err, extensions.ErrNotFound)
	requireGone(t, pidB)
	require.Equal(t, []string{"alpha.echo"}, m.Commands())
	require.Len(t, m.List(), 1)

	// A replacement that does not start leaves the old process serving.
	installScript(t, dir, "alpha", "exit 3\n")
	res, err = reload(t, m)
	var se *extensions.StartError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "alpha", se.Extension)
	require.Equal(t, changes(nil, nil, nil, []string{"alpha"}), res)
	require.Equal(t, pidA2, pidOf(t, m, "alpha"))
	in := info(t, m, "alpha")
	require.Equal(t, extensions.StateRunning, in.State)
	require.Contains(t, in.Error, "reload: ")

	// Once it is fixed, the next reload replaces the old process.
	installBinary(t, dir, "alpha", "version 3")
	res, err = reload(t, m)
	require.NoError(t, err)
	require.Equal(t, changes(nil, []string{"alpha"}, nil, nil), res)
	require.NotEqual(t, pidA2, pidOf(t, m, "alpha"))
	require.Empty(t, info(t, m, "alpha").Error)
	requireGone(t, pidA2)
}

func TestManager_ReloadAfterClose(t *testing.T) {
	t.Parallel()
	m, err := extensions.New(extensions.Config{PluginsDir: t.TempDir()})
	require.NoError(t, err)
	_, err = m.Reload(context.Background())
	require.ErrorContains(t, err, "before Start")
	require.NoError(t, m.Close())
	_, err = m.Reload(context.Background())
	require.ErrorIs(t, err, extensions.ErrClosed)
}

// With Watch, changes in the plugins directory reload by themselves,
// binaries replaced by an atomic rename included.
func TestManager_WatchReloads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, b := setup(t, extensions.Config{PluginsDir: dir, Watch: true, WatchDelay: 50 * time.Millisecond})
	require.NoError(t, b.startErr)
	found := func() bool {
		_, err := m.ForTrigger("gamma.run")
		return err == nil
	}

	installBinary(t, dir, "gamma", "")
	eventually(t, found, "gamma was not started")
	requireEcho(t, m, "gamma")
	pid := pidOf(t, m, "gamma")

	installBinary(t, dir, "gamma", "version 2")
	eventually(t, func() bool {
		p := info(t, m, "gamma").Pids
		return len(p) == 1 && p[0] != 0 && p[0] != pid
	}, "gamma was not restarted")
	requireEcho(t, m, "gamma")
	requireGone(t, pid)

	require.NoError(t, os.Remove(filepath.Join(dir, "gamma")))
	eventually(t, func() bool { return !found() }, "gamma was not stopped")
	require.Empty(t, m.List())
}
