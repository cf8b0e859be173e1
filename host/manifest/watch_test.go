package manifest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// waitBound bounds every wait for the watcher: generous, since the
// machine may be busy; a wait ends as soon as its condition holds.
const waitBound = 30 * time.Second

// waitFor polls cond until it holds, failing t after waitBound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a log sink safe for the watcher's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watchManifest is a manifest of one automation answering body.
func watchManifest(body string) string {
	return "automations:\n  - name: watched\n    script: |\n      start:\n        return:\n          body: " + body + "\n"
}

// watchSetup starts a watcher on dir, stopped when t ends.
func watchSetup(t *testing.T, dir string) (*Watcher, *testBundle, *syncBuffer, *Metrics) {
	t.Helper()
	a, b := setup(t)
	logs := &syncBuffer{}
	m := NewMetrics()
	w, err := Watch(context.Background(), WatchConfig{Dir: dir, Applier: a, Metrics: m, Debounce: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	return w, b, logs, m
}

// script is the stored script of the automation "watched" ("" when none).
func (b *testBundle) script(t *testing.T) string {
	t.Helper()
	a, err := b.st.GetAutomation(b.ctx, "watched")
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	require.NoError(t, err)
	return a.Script
}

// writeAtomic writes a file the way editors and config tools do: a
// temporary file renamed over the old one.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

func TestWatch_AtomicRenameBadEditThenGoodEdit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "hooks.yaml")
	require.NoError(t, os.WriteFile(file, []byte(watchManifest("v1")), 0o600))
	w, b, logs, m := watchSetup(t, dir)

	// Applied at start, before Watch returns.
	require.Contains(t, b.script(t), "body: v1")
	require.NoError(t, w.Healthy())
	require.True(t, w.Ready())

	writeAtomic(t, file, watchManifest("v2"))
	waitFor(t, "v2 applied", func() bool { return strings.Contains(b.script(t), "body: v2") })
	require.NoError(t, w.Healthy())

	// A bad edit: refused whole, v2 stays, every problem logged with its
	// position, unhealthy.
	before := w.Scans()
	writeAtomic(t, file, watchManifest("v3")+"webhooks:\n  - name: x\n    event_kata: \"automation/a:\\n  uri: cerb:automation:missing\\n\"\n    enabled: maybe\n")
	waitFor(t, "the bad edit scanned", func() bool { return w.Scans() > before && w.Healthy() != nil })
	require.Contains(t, b.script(t), "body: v2")
	require.ErrorContains(t, w.Healthy(), "hooks.yaml:10:14: enabled: must be true or false (got maybe)")
	require.Contains(t, logs.String(), `at=hooks.yaml:10:14`)
	require.Equal(t, 1.0, testutil.ToFloat64(m.Applies.WithLabelValues(ResultFailed)))

	// A good edit heals it.
	writeAtomic(t, file, watchManifest("v4"))
	waitFor(t, "v4 applied", func() bool { return strings.Contains(b.script(t), "body: v4") })
	waitFor(t, "healthy again", func() bool { return w.Healthy() == nil })
	require.GreaterOrEqual(t, testutil.ToFloat64(m.Applies.WithLabelValues(ResultApplied)), 3.0)

	// The file gone, another (empty) left: the directory no longer
	// declares the automation.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty.yaml"), nil, 0o600))
	require.NoError(t, os.Remove(file))
	waitFor(t, "pruned", func() bool { return b.script(t) == "" })
}

// TestWatch_EmptyDirectoryPrunesNothing: a directory without any manifest
// file (a checkout not there yet) is refused, not taken for a wish to
// delete everything; an empty manifest file is.
func TestWatch_EmptyDirectoryPrunesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "hooks.yaml")
	require.NoError(t, os.WriteFile(file, []byte(watchManifest("v1")), 0o600))
	w, b, logs, _ := watchSetup(t, dir)

	before := w.Scans()
	require.NoError(t, os.Remove(file))
	waitFor(t, "the empty directory scanned", func() bool { return w.Scans() > before })
	require.ErrorContains(t, w.Healthy(), "no manifest file (*.yaml, *.yml) in "+dir+": nothing is pruned")
	require.Contains(t, logs.String(), "nothing is pruned")
	require.Contains(t, b.script(t), "body: v1")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty.yaml"), nil, 0o600))
	waitFor(t, "pruned", func() bool { return b.script(t) == "" })
	waitFor(t, "healthy again", func() bool { return w.Healthy() == nil })
}

// TestWatch_DirectoryReplaced: the directory removed and made again (a
// volume remounted, a checkout cloned again), or a link naming it swapped
// to a new checkout (git-sync, release directories), is watched anew.
// While it is gone the watcher says so (Healthy, the Watching metric) and
// the last good state stays.
func TestWatch_DirectoryReplaced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		replace func(t *testing.T, root, dir string, w *Watcher, m *Metrics) // makes v2 appear
	}{
		{"removed and made again", func(t *testing.T, root, dir string, w *Watcher, m *Metrics) {
			before := w.Scans()
			require.NoError(t, os.RemoveAll(dir))
			waitFor(t, "the removal scanned", func() bool { return w.Scans() > before && w.Watching() != nil })
			require.ErrorContains(t, w.Healthy(), "is not watched")
			require.Equal(t, 0.0, testutil.ToFloat64(m.Watching))
			require.NoError(t, os.Mkdir(dir, 0o700))
			writeAtomic(t, filepath.Join(dir, "hooks.yaml"), watchManifest("v2"))
		}},
		{"link swapped", func(t *testing.T, root, dir string, w *Watcher, m *Metrics) {
			// The old checkout is kept, as git-sync does for a while.
			checkout(t, root, "2", "v2")
		}},
		{"link swapped, old checkout removed", func(t *testing.T, root, dir string, w *Watcher, m *Metrics) {
			checkout(t, root, "2", "v2")
			require.NoError(t, os.RemoveAll(filepath.Join(root, "rev1")))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := filepath.Join(root, "manifests")
			if strings.HasPrefix(tc.name, "link") {
				checkout(t, root, "1", "v1")
			} else {
				require.NoError(t, os.Mkdir(dir, 0o700))
				require.NoError(t, os.WriteFile(filepath.Join(dir, "hooks.yaml"), []byte(watchManifest("v1")), 0o600))
			}
			w, b, _, m := watchSetup(t, dir)
			require.Contains(t, b.script(t), "body: v1")
			require.Equal(t, 1.0, testutil.ToFloat64(m.Watching))

			tc.replace(t, root, dir, w, m)
			waitFor(t, "v2 applied", func() bool { return strings.Contains(b.script(t), "body: v2") })
			waitFor(t, "healthy again", func() bool { return w.Healthy() == nil })
			require.Equal(t, 1.0, testutil.ToFloat64(m.Watching))

			// And the new directory is watched.
			writeAtomic(t, filepath.Join(dir, "hooks.yaml"), watchManifest("v3"))
			waitFor(t, "v3 applied", func() bool { return strings.Contains(b.script(t), "body: v3") })
		})
	}
}

// checkout makes root/rev<n> with a manifest answering body and swaps the
// link root/manifests to it atomically, as git-sync does.
func checkout(t *testing.T, root, n, body string) {
	t.Helper()
	d := filepath.Join(root, "rev"+n)
	require.NoError(t, os.Mkdir(d, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(d, "hooks.yaml"), []byte(watchManifest(body)), 0o600))
	require.NoError(t, os.Symlink(d, filepath.Join(root, "tmp-link")))
	require.NoError(t, os.Rename(filepath.Join(root, "tmp-link"), filepath.Join(root, "manifests")))
}

// TestWatch_RescanSeesWhatInotifyCannot: a link swapped further up the
// path sends no event to the directory or its parent; the rescan finds
// the new directory and applies it.
func TestWatch_RescanSeesWhatInotifyCannot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	checkout(t, root, "1", "v1")
	dir := filepath.Join(root, "manifests", "sub")
	for _, rev := range []string{"rev1", "rev2"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, rev, "sub"), 0o700))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "rev1", "sub", "hooks.yaml"), []byte(watchManifest("v1")), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "rev2", "sub", "hooks.yaml"), []byte(watchManifest("v2")), 0o600))

	a, b := setup(t)
	w, err := Watch(context.Background(), WatchConfig{Dir: dir, Applier: a, Debounce: 10 * time.Millisecond, Rescan: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	require.Contains(t, b.script(t), "body: v1")

	require.NoError(t, os.Symlink(filepath.Join(root, "rev2"), filepath.Join(root, "tmp-link")))
	require.NoError(t, os.Rename(filepath.Join(root, "tmp-link"), filepath.Join(root, "manifests")))
	waitFor(t, "v2 applied", func() bool { return strings.Contains(b.script(t), "body: v2") })
}

// TestWatch_ConfigMapSwap changes the directory the way Kubernetes updates
// a mounted ConfigMap: the files are links through ..data, a link to a
// timestamped directory, which is swapped atomically for a new one.
func TestWatch_ConfigMapSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	version := func(n, content string) {
		t.Helper()
		d := filepath.Join(dir, "..2026_01_0"+n)
		require.NoError(t, os.Mkdir(d, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(d, "hooks.yaml"), []byte(content), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(d, "orders.kata"), []byte("start:\n  return:\n    body: kata "+n+"\n"), 0o600))
		require.NoError(t, os.Symlink(filepath.Base(d), filepath.Join(dir, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	}
	manifest := "automations:\n  - name: watched\n    script_file: orders.kata\n"
	version("1", manifest)
	for _, f := range []string{"hooks.yaml", "orders.kata"} {
		require.NoError(t, os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)))
	}
	w, b, _, _ := watchSetup(t, dir)
	require.Contains(t, b.script(t), "body: kata 1")

	version("2", manifest)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "..2026_01_01")))
	waitFor(t, "the swapped ConfigMap applied", func() bool { return strings.Contains(b.script(t), "body: kata 2") })
	require.NoError(t, w.Healthy())

	// A bad version, then a good one.
	version("3", "automations:\n  - name: watched\n    script_file: missing.kata\n")
	waitFor(t, "the bad version refused", func() bool { return w.Healthy() != nil })
	require.ErrorContains(t, w.Healthy(), "hooks.yaml:3:18: script_file: ")
	require.Contains(t, b.script(t), "body: kata 2")
	version("4", manifest)
	waitFor(t, "the good version applied", func() bool { return strings.Contains(b.script(t), "body: kata 4") })
	waitFor(t, "healthy again", func() bool { return w.Healthy() == nil })
}

func TestWatch_Errors(t *testing.T) {
	t.Parallel()
	a, _ := setup(t)
	_, err := Watch(context.Background(), WatchConfig{Dir: filepath.Join(t.TempDir(), "missing"), Applier: a})
	require.ErrorContains(t, err, "no such file or directory")
	file := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = Watch(context.Background(), WatchConfig{Dir: file, Applier: a})
	require.ErrorContains(t, err, "is not a directory")

	// A first apply with problems leaves the watcher running, unhealthy.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("nope: 1\n"), 0o600))
	w, err := Watch(context.Background(), WatchConfig{Dir: dir, Applier: a, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.ErrorContains(t, w.Healthy(), `a.yaml:1:1: unknown key "nope"`)
	require.False(t, w.Ready())
	w.Stop()
	w.Stop()
}
