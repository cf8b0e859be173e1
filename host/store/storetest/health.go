package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exerciseHealth checks Healthy and ProbeWrite: a failing write is
// reported with its time, a successful one (or probe) clears it, and a
// caller's mistake says nothing about the store.
func exerciseHealth(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("CallerMistakesAreNotFailures", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		require.NoError(t, s.Healthy())
		require.NoError(t, s.ProbeWrite(bundle.ctx))
		require.NoError(t, s.CreateAutomation(bundle.ctx, &store.Automation{Name: "a"}))
		require.ErrorIs(t, s.CreateAutomation(bundle.ctx, &store.Automation{Name: "a"}), store.ErrConflict)
		require.ErrorIs(t, s.DeleteAutomation(bundle.ctx, "nope"), store.ErrNotFound)
		require.ErrorIs(t, s.CreateWebhook(bundle.ctx, &store.Webhook{Name: "w"}), store.ErrInvalid)
		cancelled, cancel := context.WithCancel(bundle.ctx)
		cancel()
		require.Error(t, s.KVSet(cancelled, "ns", "k", nil, nil))
		require.NoError(t, s.Healthy())
	})

	t.Run("FailingWritesAreReportedUntilOneSucceeds", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		// Make the probe's table disappear: its writes fail.
		_, err := s.DB().ExecContext(bundle.ctx, `ALTER TABLE store_probe RENAME TO store_probe_gone`)
		require.NoError(t, err)
		require.Error(t, s.ProbeWrite(bundle.ctx))
		var first *store.WritesFailingError
		require.ErrorAs(t, s.Healthy(), &first)
		require.ErrorContains(t, first, "store writes failing since")
		require.ErrorContains(t, first, "probe write")
		require.NotErrorIs(t, first, store.ErrStorageFull)
		require.False(t, first.Since.IsZero())

		// Still failing: the time it started stays.
		require.Error(t, s.ProbeWrite(bundle.ctx))
		var again *store.WritesFailingError
		require.ErrorAs(t, s.Healthy(), &again)
		require.Equal(t, first.Since, again.Since)

		// Any successful write clears it.
		require.NoError(t, s.KVSet(bundle.ctx, "ns", "k", []byte("v"), nil))
		require.NoError(t, s.Healthy())

		// And so does a successful probe.
		require.Error(t, s.ProbeWrite(bundle.ctx))
		require.Error(t, s.Healthy())
		_, err = s.DB().ExecContext(bundle.ctx, `ALTER TABLE store_probe_gone RENAME TO store_probe`)
		require.NoError(t, err)
		require.NoError(t, s.ProbeWrite(bundle.ctx))
		require.NoError(t, s.Healthy())
	})
}
