package manifest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// --manifests . with the working directory a link to the current release:
// the scans read through the path, as the watch does (review revdecl2: the
// watch followed the link to the new release while the scans read the
// process's working directory, the old one, so the new release was never
// applied, the watcher healthy and watching).
func TestWatch_DotDirLinkSwapped(t *testing.T) {
	root := t.TempDir()
	checkout(t, root, "1", "v1")
	t.Chdir(filepath.Join(root, "manifests")) // sets PWD to the link path
	b := watchDot(t)

	checkout(t, root, "2", "v2") // release directories: rev1 kept
	waitFor(t, "v2 applied", func() bool { return strings.Contains(b.script(t), "body: v2") })
}

// --manifests . and the directory removed and made again: the scans read
// the new one (review revdecl2: they failed on the removed working
// directory for good).
func TestWatch_DotDirMadeAgain(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "manifests")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hooks.yaml"), []byte(watchManifest("v1")), 0o600))
	t.Chdir(dir)
	b := watchDot(t)

	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.Mkdir(dir, 0o700))
	writeAtomic(t, filepath.Join(dir, "hooks.yaml"), watchManifest("v2"))
	waitFor(t, "v2 applied", func() bool { return strings.Contains(b.script(t), "body: v2") })
}

// A rescan never applies while events are still arriving (a checkout half
// done): what it sees goes through the debounce (review revdecl2: a webhook
// moved from a.yaml to b.yaml, a.yaml written first, was pruned by a rescan
// and made again by the next scan with a new ID and generated token, the
// senders' URL dead).
func TestWatch_RescanKeepsTheDebounce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hook := "webhooks:\n  - name: Orders\n    event_kata: |\n      automation/orders:\n        uri: cerb:automation:watched\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(watchManifest("v1")+hook), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.yaml"), nil, 0o600))
	a, b := setup(t)
	// The debounce long (a checkout still going on keeps it from ending),
	// the rescan short: a rescan falls inside the checkout.
	w, err := Watch(context.Background(), WatchConfig{Dir: dir, Applier: a, Debounce: time.Hour,
		Rescan: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	hooks, err := b.st.ListWebhooks(b.ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1)

	// The checkout's first file written; b.yaml not yet.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(watchManifest("v1")), 0o600))
	// Twenty rescans: none applies before the directory has been quiet for
	// Debounce.
	n := rescanned(w)
	waitFor(t, "twenty rescans", func() bool { return rescanned(w) >= n+20 })
	hooks, err = b.st.ListWebhooks(b.ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1, "the webhook was pruned mid-checkout (scans=%d)", w.Scans())
}

// A directory refused for its own problems is not applied again until its
// files change (review revdecl2: it was re-applied and its problems logged
// at every rescan, the failed counter climbing, nothing changed on disk).
func TestWatch_RefusedFilesNotAppliedAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("nope: 1\n"), 0o600))
	a, _ := setup(t)
	logs := &syncBuffer{}
	m := NewMetrics()
	w, err := Watch(context.Background(), WatchConfig{Dir: dir, Applier: a, Metrics: m, Debounce: 10 * time.Millisecond,
		Rescan: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	waitFor(t, "the first scan", func() bool { return w.Scans() >= 1 })
	n := rescanned(w)
	waitFor(t, "a few rescans", func() bool { return rescanned(w) >= n+4 })
	require.Equal(t, 1, w.Scans())
	require.Equal(t, 1, strings.Count(logs.String(), `unknown key`), "problems logged at every rescan")

	// A change is applied (and refused) again.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("nope: 2\n"), 0o600))
	waitFor(t, "the changed files scanned", func() bool { return w.Scans() >= 2 })
	require.Equal(t, 2, strings.Count(logs.String(), `unknown key`))
}

// rescanned returns the rescan ticks w handled.
func rescanned(w *Watcher) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rescans
}

// watchDot watches --manifests . (the working directory), with v1 applied.
func watchDot(t *testing.T) *testBundle {
	t.Helper()
	a, b := setup(t)
	w, err := Watch(context.Background(), WatchConfig{Dir: ".", Applier: a, Debounce: 10 * time.Millisecond,
		Rescan: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	require.Contains(t, b.script(t), "body: v1")
	return b
}
