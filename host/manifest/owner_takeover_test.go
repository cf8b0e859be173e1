package manifest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// A record a watched directory declares, taken over and then pruned by an
// apply of another directory, comes back at the watcher's periodic
// re-apply (review revowner: it stayed deleted until the directory's files
// changed).
func TestWatch_ReappliesWhatAnotherSourcePruned(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hooks.yaml"), []byte(watchManifest("v1")), 0o600))
	a, b := setup(t)
	w, err := Watch(context.Background(), WatchConfig{Dir: dir, Applier: a, Debounce: 10 * time.Millisecond,
		Rescan: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	require.Contains(t, b.script(t), "body: v1")

	other := Options{By: "token:ci", Source: "/ci/other", Prune: true}
	plan, err := a.Apply(b.ctx, Files(map[string]string{"common.yaml": watchManifest("v1")}), other)
	require.NoError(t, err)
	require.NotEmpty(t, plan.Warnings, "the takeover says so")
	_, err = a.Apply(b.ctx, Files(map[string]string{"common.yaml": teamManifest("x")}), other)
	require.NoError(t, err)
	_, err = b.st.GetAutomation(b.ctx, "watched")
	require.True(t, errors.Is(err, store.ErrNotFound), "the other directory's prune deleted it")

	waitFor(t, "the watched directory's record back", func() bool {
		_, err := b.st.GetAutomation(b.ctx, "watched")
		return err == nil
	})
}

// Taking over a record another directory's manifests own is a warning of
// the plan, naming that directory's file; records of owners from before
// sources are adopted without one (review revowner).
func TestApply_TakeoverWarns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, first string // the source of the first apply
		warns       bool
	}{
		{"AnotherSource", "/srv/manifests", true},
		{"SameSource", "/ci/other", false},
		{"NoSource", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := setup(t)
			_, err := a.Apply(b.ctx, Files(map[string]string{"hooks.yaml": watchManifest("v1")}), Options{Source: tt.first, Prune: true})
			require.NoError(t, err)
			plan, err := a.Apply(b.ctx, Files(map[string]string{"common.yaml": watchManifest("v1")}), Options{Source: "/ci/other", Prune: true, DryRun: true})
			require.NoError(t, err)
			if !tt.warns {
				require.Empty(t, plan.Warnings)
				return
			}
			require.Len(t, plan.Warnings, 1)
			require.Contains(t, plan.Warnings[0], `automation "watched": owned by manifest:/srv/manifests/hooks.yaml; this apply takes it over`)
		})
	}
}
