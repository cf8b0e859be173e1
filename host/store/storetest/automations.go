package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exerciseAutomations checks the automation records: create, get, list,
// update and delete by name, with revisions and conflicts.
func exerciseAutomations(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("CreateFillsIDRevisionAndTimestamps", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		before := time.Now().Add(-time.Second)
		a := &store.Automation{Name: "wgm.respond", ExtensionID: "cerb.trigger.webhook.respond",
			Description: "d", Script: "start:\n  return:\n", PolicyKATA: "commands:\n"}
		require.NoError(t, s.CreateAutomation(bundle.ctx, a))
		require.NotZero(t, a.ID)
		require.Equal(t, int64(1), a.Revision)
		require.True(t, a.CreatedAt.After(before), "CreatedAt %v", a.CreatedAt)
		require.Equal(t, a.CreatedAt, a.UpdatedAt)
		require.Equal(t, time.UTC, a.CreatedAt.Location())

		got, err := s.GetAutomation(bundle.ctx, "wgm.respond")
		require.NoError(t, err)
		require.Equal(t, a, got)

		b := &store.Automation{Name: "other"}
		require.NoError(t, s.CreateAutomation(bundle.ctx, b))
		require.NotEqual(t, a.ID, b.ID)
	})

	t.Run("CreateTakenNameIsConflict", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		require.NoError(t, s.CreateAutomation(bundle.ctx, &store.Automation{Name: "x", Script: "one"}))
		dup := &store.Automation{Name: "x", Script: "two"}
		err := s.CreateAutomation(bundle.ctx, dup)
		require.ErrorIs(t, err, store.ErrConflict)
		require.Contains(t, err.Error(), `"x"`)
		require.Zero(t, dup.ID, "a failed create must not fill the record")
		require.Zero(t, dup.Revision)

		got, err := s.GetAutomation(bundle.ctx, "x")
		require.NoError(t, err)
		require.Equal(t, "one", got.Script)
	})

	t.Run("DeleteRemovesAndMissingIsNotFound", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		require.NoError(t, s.CreateAutomation(bundle.ctx, &store.Automation{Name: "x"}))
		require.NoError(t, s.DeleteAutomation(bundle.ctx, "x"))
		_, err := s.GetAutomation(bundle.ctx, "x")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, s.DeleteAutomation(bundle.ctx, "x"), store.ErrNotFound)

		// The name is free again.
		require.NoError(t, s.CreateAutomation(bundle.ctx, &store.Automation{Name: "x"}))
	})

	t.Run("GetMissingIsNotFound", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		_, err := s.GetAutomation(bundle.ctx, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NotErrorIs(t, err, store.ErrConflict)
	})

	t.Run("ListIsByName", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		all, err := s.ListAutomations(bundle.ctx)
		require.NoError(t, err)
		require.Empty(t, all)

		// Bytewise order on both databases: upper case before lower case.
		for _, name := range []string{"b", "a", "C", "a.b", "B"} {
			require.NoError(t, s.CreateAutomation(bundle.ctx, &store.Automation{Name: name}))
		}
		all, err = s.ListAutomations(bundle.ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"B", "C", "a", "a.b", "b"}, automationNames(all))
	})

	t.Run("UpdateBumpsRevisionAndUpdatedAt", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		a := &store.Automation{Name: "x", Script: "v1"}
		require.NoError(t, s.CreateAutomation(bundle.ctx, a))
		created := a.CreatedAt
		time.Sleep(2 * time.Millisecond)

		upd := &store.Automation{Name: "x", ExtensionID: "e", Description: "d2", Script: "v2", PolicyKATA: "p2"}
		require.NoError(t, s.UpdateAutomation(bundle.ctx, upd))
		require.Equal(t, a.ID, upd.ID)
		require.Equal(t, int64(2), upd.Revision)
		require.Equal(t, created, upd.CreatedAt)
		require.True(t, upd.UpdatedAt.After(created), "UpdatedAt %v, CreatedAt %v", upd.UpdatedAt, created)

		got, err := s.GetAutomation(bundle.ctx, "x")
		require.NoError(t, err)
		require.Equal(t, upd, got)

		require.NoError(t, s.UpdateAutomation(bundle.ctx, upd))
		require.Equal(t, int64(3), upd.Revision)
	})

	t.Run("UpdateMissingIsNotFound", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		a := &store.Automation{Name: "nope"}
		require.ErrorIs(t, s.UpdateAutomation(bundle.ctx, a), store.ErrNotFound)
		require.Zero(t, a.Revision)
		all, err := s.ListAutomations(bundle.ctx)
		require.NoError(t, err)
		require.Empty(t, all)
	})
}

// automationNames lists the names of as, in order.
func automationNames(as []*store.Automation) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}
