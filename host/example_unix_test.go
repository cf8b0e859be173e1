//go:build unix

package host

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readOnlyDirWithoutURLFile is a data directory whose example was
// installed against another database, its URL file removed, then made
// 0555 (the test skips for a user who can still write it: root). prepare
// puts something at the URL file's path first.
func readOnlyDirWithoutURLFile(t *testing.T, prepare func(file string)) (dir, file string) {
	t.Helper()
	dir, _, file, _ = installedExample(t)
	require.NoError(t, os.Remove(file))
	if prepare != nil {
		prepare(file)
	}
	require.NoError(t, os.Chmod(dir, 0o555))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	skipIfWritable(t, dir)
	return dir, file
}

// TestInstallExample_FirstStartReadOnlyDir (review revex2): a first start
// on a new database in a data directory the server cannot write starts,
// whatever is at the URL file's path: a FIFO there is not opened in a way
// that blocks (it hung start-up), a symbolic link is not written through
// (the token went into its target, 0644), and with no file at all the
// webhook's URL is reported lost, with the way to get one, instead of
// aborting start-up after the webhook was created. Run as non-root.
func TestInstallExample_FirstStartReadOnlyDir(t *testing.T) {
	t.Run("FIFO", func(t *testing.T) {
		dir, _ := readOnlyDirWithoutURLFile(t, func(file string) { require.NoError(t, syscall.Mkfifo(file, 0o600)) })
		done := make(chan error, 1)
		go func() {
			srv, _, err := exampleStart(t, dir, filepath.Join(t.TempDir(), "b.db"), "127.0.0.1:8080")
			if err == nil {
				_ = srv.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(time.Minute): // a guard against the hang, not a measurement
			t.Fatal("start-up hung on the FIFO at the URL file")
		}
	})
	t.Run("Symlink", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "victim")
		require.NoError(t, os.WriteFile(target, []byte("precious\n"), 0o644))
		dir, _ := readOnlyDirWithoutURLFile(t, func(file string) { require.NoError(t, os.Symlink(target, file)) })
		srv, logs, err := exampleStart(t, dir, filepath.Join(t.TempDir(), "b.db"), "127.0.0.1:8080")
		require.NoError(t, err)
		require.NoError(t, srv.Close())
		got, err := os.ReadFile(target)
		require.NoError(t, err)
		require.Equal(t, "precious\n", string(got), "the link's target was written")
		require.Contains(t, logs.String(), "rotate its token to get a URL")
	})
	t.Run("NoFile", func(t *testing.T) {
		dir, _ := readOnlyDirWithoutURLFile(t, nil)
		srv, logs, err := exampleStart(t, dir, filepath.Join(t.TempDir(), "b.db"), "127.0.0.1:8080")
		require.NoError(t, err, "start-up aborted after the webhook was created")
		require.NoError(t, srv.Close())
		require.Contains(t, logs.String(), "rotate its token to get a URL")
		require.Contains(t, logs.String(), "hookhost webhook rotate ")
	})
}
