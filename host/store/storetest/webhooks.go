package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exerciseWebhooks checks the webhook records: create, get (by ID and by
// token hash, with token rotation), list, update and delete.
func exerciseWebhooks(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("ByTokenHashMatchesCurrentAndUnexpiredPrevious", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		w := &store.Webhook{Name: "hook", TokenHash: tokenHash("old"), Enabled: true}
		require.NoError(t, s.CreateWebhook(bundle.ctx, w))
		other := &store.Webhook{Name: "other", TokenHash: tokenHash("other")}
		require.NoError(t, s.CreateWebhook(bundle.ctx, other))

		// Rotate: "new" is current, "old" stays valid until overlapEnd.
		overlapEnd := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		w.PrevTokenHash, w.PrevTokenExpiresAt, w.TokenHash = w.TokenHash, &overlapEnd, tokenHash("new")
		require.NoError(t, s.UpdateWebhook(bundle.ctx, w))

		tests := []struct {
			name   string
			token  string
			now    time.Time
			wantID string // "" is ErrNotFound
		}{
			{"Current", "new", overlapEnd.Add(time.Hour), w.ID},
			{"PreviousDuringOverlap", "old", overlapEnd.Add(-time.Microsecond), w.ID},
			{"PreviousAtExpiry", "old", overlapEnd, ""},
			{"PreviousAfterExpiry", "old", overlapEnd.Add(time.Second), ""},
			{"OtherWebhook", "other", overlapEnd, other.ID},
			{"Unknown", "unknown", overlapEnd, ""},
		}
		for _, tt := range tests {
			got, err := s.GetWebhookByTokenHash(bundle.ctx, tokenHash(tt.token), tt.now)
			if tt.wantID == "" {
				require.ErrorIs(t, err, store.ErrNotFound, tt.name)
				require.NotContains(t, err.Error(), fmt.Sprintf("%x", tokenHash(tt.token)), "%s: no hash in errors", tt.name)
				continue
			}
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.wantID, got.ID, tt.name)
		}

		got, err := s.GetWebhookByTokenHash(bundle.ctx, tokenHash("new"), overlapEnd)
		require.NoError(t, err)
		require.Equal(t, w, got)

		// A previous hash without an expiry is never valid.
		w.PrevTokenExpiresAt = nil
		require.NoError(t, s.UpdateWebhook(bundle.ctx, w))
		_, err = s.GetWebhookByTokenHash(bundle.ctx, tokenHash("old"), time.Time{})
		require.ErrorIs(t, err, store.ErrNotFound)

		// A current token wins over another webhook's unexpired previous one.
		later := overlapEnd.Add(time.Hour)
		other.PrevTokenHash, other.PrevTokenExpiresAt = tokenHash("new"), &later
		require.NoError(t, s.UpdateWebhook(bundle.ctx, other))
		got, err = s.GetWebhookByTokenHash(bundle.ctx, tokenHash("new"), overlapEnd)
		require.NoError(t, err)
		require.Equal(t, w.ID, got.ID)
	})

	t.Run("CreateFillsIDAndTimestamps", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		w := &store.Webhook{Name: "hook", TokenHash: tokenHash("t"), EventKATA: "automation/x:\n  uri: cerb:automation:x\n",
			Enabled: true, Debug: true, ExpiresAt: &exp}
		require.NoError(t, s.CreateWebhook(bundle.ctx, w))
		require.Len(t, w.ID, 36)
		require.False(t, w.CreatedAt.IsZero())
		require.Equal(t, w.CreatedAt, w.UpdatedAt)

		got, err := s.GetWebhook(bundle.ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, w, got)
		require.Nil(t, got.PrevTokenHash)
		require.Nil(t, got.PrevTokenExpiresAt)

		// A caller's ID is kept.
		given := &store.Webhook{ID: "0190b1a4-0000-7000-8000-0000000000aa", Name: "given", TokenHash: tokenHash("g")}
		require.NoError(t, s.CreateWebhook(bundle.ctx, given))
		got, err = s.GetWebhook(bundle.ctx, given.ID)
		require.NoError(t, err)
		require.Equal(t, given, got)
		require.False(t, got.Enabled)
	})

	t.Run("CreateTakenTokenOrIDIsConflict", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		w := &store.Webhook{Name: "hook", TokenHash: tokenHash("t")}
		require.NoError(t, s.CreateWebhook(bundle.ctx, w))

		tests := []struct {
			name string
			w    *store.Webhook
		}{
			{"TokenHash", &store.Webhook{Name: "dup", TokenHash: tokenHash("t")}},
			{"ID", &store.Webhook{ID: w.ID, Name: "dup", TokenHash: tokenHash("u")}},
		}
		for _, tt := range tests {
			err := s.CreateWebhook(bundle.ctx, tt.w)
			require.ErrorIs(t, err, store.ErrConflict, tt.name)
			require.Zero(t, tt.w.CreatedAt, tt.name)
		}

		// Names are not unique.
		require.NoError(t, s.CreateWebhook(bundle.ctx, &store.Webhook{Name: "hook", TokenHash: tokenHash("v")}))
		// A token hash is required.
		require.Error(t, s.CreateWebhook(bundle.ctx, &store.Webhook{Name: "none"}))
	})

	t.Run("DeleteRemovesAndMissingIsNotFound", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		w := &store.Webhook{Name: "hook", TokenHash: tokenHash("t")}
		require.NoError(t, s.CreateWebhook(bundle.ctx, w))
		require.NoError(t, s.DeleteWebhook(bundle.ctx, w.ID))
		_, err := s.GetWebhook(bundle.ctx, w.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.GetWebhookByTokenHash(bundle.ctx, tokenHash("t"), time.Now())
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, s.DeleteWebhook(bundle.ctx, w.ID), store.ErrNotFound)
	})

	t.Run("GetMissingIsNotFound", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		for _, id := range []string{"0190b1a4-0000-7000-8000-000000000000", "not-a-uuid", ""} {
			_, err := s.GetWebhook(bundle.ctx, id)
			require.ErrorIs(t, err, store.ErrNotFound, "id %q", id)
		}
	})

	t.Run("ListIsByCreation", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		hooks, err := s.ListWebhooks(bundle.ctx)
		require.NoError(t, err)
		require.Empty(t, hooks)

		var want []*store.Webhook
		for i, name := range []string{"zeta", "alpha", "mid"} {
			w := &store.Webhook{Name: name, TokenHash: tokenHash(name), Enabled: i%2 == 0}
			require.NoError(t, s.CreateWebhook(bundle.ctx, w))
			want = append(want, w)
		}
		hooks, err = s.ListWebhooks(bundle.ctx)
		require.NoError(t, err)
		require.Equal(t, want, hooks)
	})

	t.Run("UpdateReplacesFields", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		w := &store.Webhook{Name: "hook", TokenHash: tokenHash("t"), Enabled: true}
		require.NoError(t, s.CreateWebhook(bundle.ctx, w))
		created := w.CreatedAt
		time.Sleep(2 * time.Millisecond)

		exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		upd := &store.Webhook{ID: w.ID, Name: "renamed", TokenHash: tokenHash("t2"), EventKATA: "x",
			Enabled: false, Debug: true, ExpiresAt: &exp}
		require.NoError(t, s.UpdateWebhook(bundle.ctx, upd))
		require.Equal(t, created, upd.CreatedAt)
		require.True(t, upd.UpdatedAt.After(created))

		got, err := s.GetWebhook(bundle.ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, upd, got)
	})

	t.Run("UpdateMissingIsNotFoundAndTakenTokenIsConflict", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		a := &store.Webhook{Name: "a", TokenHash: tokenHash("a")}
		b := &store.Webhook{Name: "b", TokenHash: tokenHash("b")}
		require.NoError(t, s.CreateWebhook(bundle.ctx, a))
		require.NoError(t, s.CreateWebhook(bundle.ctx, b))

		err := s.UpdateWebhook(bundle.ctx, &store.Webhook{ID: "0190b1a4-0000-7000-8000-000000000000", TokenHash: tokenHash("c")})
		require.ErrorIs(t, err, store.ErrNotFound)

		b.TokenHash = tokenHash("a")
		require.ErrorIs(t, s.UpdateWebhook(bundle.ctx, b), store.ErrConflict)
		got, err := s.GetWebhook(bundle.ctx, b.ID)
		require.NoError(t, err)
		require.Equal(t, tokenHash("b"), got.TokenHash)
	})

	t.Run("ListPagesAndSearches", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		var ids []string
		for i, name := range []string{"Orders in", "orders out", "Billing", "ORDERS audit"} {
			w := &store.Webhook{Name: name, TokenHash: tokenHash(fmt.Sprintf("page-%d", i)), Enabled: true,
				CreatedAt: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC)}
			require.NoError(t, s.CreateWebhook(bundle.ctx, w))
			ids = append(ids, w.ID)
		}
		page := func(p store.WebhookPage) []string {
			t.Helper()
			ws, err := s.ListWebhooksPage(bundle.ctx, p)
			require.NoError(t, err)
			out := []string{}
			for _, w := range ws {
				out = append(out, w.ID)
			}
			return out
		}
		require.Equal(t, ids[:2], page(store.WebhookPage{Limit: 2}))
		require.Equal(t, ids[2:], page(store.WebhookPage{Limit: 2, AfterID: ids[1]}))
		require.Equal(t, []string{ids[0], ids[1], ids[3]}, page(store.WebhookPage{Query: "orders"}), "case-insensitive")
		require.Equal(t, []string{ids[3]}, page(store.WebhookPage{Query: "ORDERS", AfterID: ids[1]}))
		require.Empty(t, page(store.WebhookPage{AfterID: "0190b1a4-0000-7000-8000-00000000ffff"}))
	})

	t.Run("StatsCountByBucket", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		at := func(h int) time.Time { return since.Add(time.Duration(h)*time.Hour + time.Minute) }
		require.NoError(t, s.InsertRuns(bundle.ctx, []*store.Run{
			{WebhookID: "w1", Status: 200, CreatedAt: since.Add(-time.Hour)}, // before the window
			{WebhookID: "w1", Status: 200, CreatedAt: at(0)},
			{WebhookID: "w1", Status: 500, CreatedAt: at(0)},
			{WebhookID: "w1", Status: 401, CreatedAt: at(2)},
			{WebhookID: "w2", Status: 202, CreatedAt: at(1)},
		}))
		st, err := s.WebhookStats(bundle.ctx, store.StatsQuery{IDs: []string{"w1", "w2", "w3"}, Since: since, Width: time.Hour, Buckets: 3})
		require.NoError(t, err)
		require.Equal(t, []int{2, 0, 1}, st["w1"].Requests)
		require.Equal(t, []int{1, 0, 1}, st["w1"].Errors)
		require.Equal(t, 401, st["w1"].LastStatus)
		require.True(t, st["w1"].LastAt.Equal(at(2)))
		require.Equal(t, []int{0, 1, 0}, st["w2"].Requests)
		require.Equal(t, []int{0, 0, 0}, st["w3"].Requests)
		require.Zero(t, st["w3"].LastStatus)
	})
}
