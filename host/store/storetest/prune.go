package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exercisePrune checks PruneRuns: the run history's retention by age and
// by total size, in batches.
func exercisePrune(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

	// insert writes n runs of webhook w, one an hour from base, with
	// inputs of size bytes, and returns them oldest first.
	insert := func(t *testing.T, s store.Store, bundle *testBundle, n, size int) []*store.Run {
		t.Helper()
		runs := make([]*store.Run, n)
		for i := range runs {
			runs[i] = &store.Run{WebhookID: "w", Status: 200, Inputs: []byte(strings.Repeat("x", size)),
				CreatedAt: base.Add(time.Duration(i) * time.Hour)}
		}
		require.NoError(t, s.InsertRuns(bundle.ctx, runs))
		return runs
	}
	// left lists the IDs of the runs left, oldest first.
	left := func(t *testing.T, s store.Store, bundle *testBundle) []string {
		t.Helper()
		page, err := s.ListRuns(bundle.ctx, store.RunFilter{Limit: 500})
		require.NoError(t, err)
		ids := runIDs(page)
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
		return ids
	}

	t.Run("ByAge", func(t *testing.T) {
		t.Parallel()

		tests := []struct {
			name   string
			maxAge time.Duration
			batch  int
			want   int // runs deleted, the oldest
		}{
			{"OneBatch", 5*time.Hour + 30*time.Minute, 100, 5},
			{"SeveralBatches", 5*time.Hour + 30*time.Minute, 2, 5},
			{"BatchOfExactlyTheOld", 5*time.Hour + 30*time.Minute, 5, 5},
			{"AtTheCutIsKept", 6 * time.Hour, 3, 4},
			{"NothingOld", 24 * time.Hour, 3, 0},
			{"Everything", time.Minute, 4, 10},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				s, bundle := setup(t)
				runs := insert(t, s, bundle, 10, 10)

				// now is an hour after the newest run (base+9h).
				res, err := s.PruneRuns(bundle.ctx, store.RunRetention{MaxAge: tt.maxAge, MaxBytes: -1, Batch: tt.batch}, base.Add(10*time.Hour))
				require.NoError(t, err)
				require.Equal(t, store.PruneResult{ByAge: int64(tt.want)}, res)
				require.Equal(t, runIDs(runs[tt.want:]), left(t, s, bundle))
			})
		}
	})

	t.Run("BySize", func(t *testing.T) {
		t.Parallel()

		tests := []struct {
			name  string
			keep  int // the newest runs whose sizes make MaxBytes
			extra int64
			batch int
		}{
			{"OneBatch", 4, 0, 100},
			{"SeveralBatches", 4, 0, 3},
			{"JustUnderTheNextOne", 4, -1, 2},
			{"ExactlyAll", 10, 0, 3},
			{"NoneFits", 0, 0, 4},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				s, bundle := setup(t)
				runs := insert(t, s, bundle, 10, 1000)

				var maxBytes int64
				for _, r := range runs[len(runs)-tt.keep:] {
					maxBytes += store.RunSize(r)
				}
				maxBytes += tt.extra
				keep := tt.keep
				if tt.extra < 0 {
					keep-- // one byte short: the oldest of them goes too
				}
				var want int64
				for _, r := range runs[len(runs)-keep:] {
					want += store.RunSize(r)
				}
				limit := maxBytes
				if limit == 0 {
					limit = 1 // 0 would be the default
				}

				res, err := s.PruneRuns(bundle.ctx, store.RunRetention{MaxAge: -1, MaxBytes: limit, Batch: tt.batch}, base)
				require.NoError(t, err)
				require.Equal(t, store.PruneResult{BySize: int64(len(runs) - keep), Bytes: want}, res)
				require.Equal(t, runIDs(runs[len(runs)-keep:]), left(t, s, bundle))

				// A second pass finds nothing to do.
				res, err = s.PruneRuns(bundle.ctx, store.RunRetention{MaxAge: -1, MaxBytes: limit, Batch: tt.batch}, base)
				require.NoError(t, err)
				require.Equal(t, store.PruneResult{Bytes: want}, res)
			})
		}
	})

	t.Run("DefaultsKeepRecentSmallHistory", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)
		runs := insert(t, s, bundle, 10, 100)

		res, err := s.PruneRuns(bundle.ctx, store.RunRetention{}, base.Add(24*time.Hour))
		require.NoError(t, err)
		var total int64
		for _, r := range runs {
			total += store.RunSize(r)
		}
		require.Equal(t, store.PruneResult{Bytes: total}, res)
		require.Len(t, left(t, s, bundle), 10)

		// Eight days later the default age bound takes them all.
		res, err = s.PruneRuns(bundle.ctx, store.RunRetention{}, base.Add(8*24*time.Hour))
		require.NoError(t, err)
		require.Equal(t, store.PruneResult{ByAge: 10}, res)
		require.Empty(t, left(t, s, bundle))
	})

	t.Run("AgeThenSize", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)
		runs := insert(t, s, bundle, 10, 500)

		// Age takes the 3 oldest; size keeps the 2 newest of the rest.
		maxBytes := store.RunSize(runs[8]) + store.RunSize(runs[9])
		res, err := s.PruneRuns(bundle.ctx, store.RunRetention{MaxAge: 7*time.Hour + time.Minute, MaxBytes: maxBytes, Batch: 2}, base.Add(10*time.Hour))
		require.NoError(t, err)
		require.Equal(t, store.PruneResult{ByAge: 3, BySize: 5, Bytes: maxBytes}, res)
		require.Equal(t, runIDs(runs[8:]), left(t, s, bundle))
		require.NoError(t, s.Healthy())
	})

	t.Run("SizeCountsEveryField", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		r := &store.Run{WebhookID: "webhook", Automation: "auto", Exit: "error", Error: "boom",
			Inputs: []byte("in"), Output: []byte("out"), Log: []byte("log"), CreatedAt: base}
		require.NoError(t, s.InsertRuns(bundle.ctx, []*store.Run{r}))
		want := int64(len(r.ID)+len("webhook")+len("auto")+len("error")+len("boom")+len("in")+len("out")+len("log")) + store.RunOverhead
		require.Equal(t, want, store.RunSize(r))
		res, err := s.PruneRuns(bundle.ctx, store.RunRetention{MaxAge: -1, MaxBytes: want}, base)
		require.NoError(t, err)
		require.Equal(t, store.PruneResult{Bytes: want}, res)
		res, err = s.PruneRuns(bundle.ctx, store.RunRetention{MaxAge: -1, MaxBytes: want - 1}, base)
		require.NoError(t, err)
		require.Equal(t, store.PruneResult{BySize: 1}, res)
	})
}
