package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exerciseRuns checks the run log: batch inserts, concurrent writers,
// look-ups and newest-first paging.
func exerciseRuns(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("GetMissingIsNotFound", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		_, err := s.GetRun(bundle.ctx, "0190b1a4-0000-7000-8000-000000000000")
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.GetRun(bundle.ctx, "not-a-uuid")
		require.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("InsertConcurrently", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		const (
			goroutines = 8
			batches    = 10
			batchSize  = 16
		)
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*batches)
		for g := range goroutines {
			wg.Go(func() {
				for b := range batches {
					runs := make([]*store.Run, batchSize)
					for i := range runs {
						runs[i] = &store.Run{WebhookID: fmt.Sprintf("wh-%d", g), Status: 200,
							Inputs: []byte(fmt.Sprintf(`{"b":%d,"i":%d}`, b, i))}
					}
					errs <- s.InsertRuns(bundle.ctx, runs)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}

		total := 0
		seen := map[string]bool{}
		for g := range goroutines {
			runs, err := s.ListRuns(bundle.ctx, store.RunFilter{WebhookID: fmt.Sprintf("wh-%d", g), Limit: 500})
			require.NoError(t, err)
			require.Len(t, runs, batches*batchSize)
			for _, r := range runs {
				require.False(t, seen[r.ID], "duplicate run ID %s", r.ID)
				seen[r.ID] = true
			}
			total += len(runs)
		}
		require.Equal(t, goroutines*batches*batchSize, total)
	})

	t.Run("InsertDuplicateRollsBackBatch", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		first := &store.Run{WebhookID: "w", Status: 200}
		require.NoError(t, s.InsertRuns(bundle.ctx, []*store.Run{first}))

		batch := []*store.Run{{WebhookID: "w", Status: 201}, {ID: first.ID, WebhookID: "w", Status: 202}}
		err := s.InsertRuns(bundle.ctx, batch)
		require.ErrorIs(t, err, store.ErrConflict)
		require.ErrorContains(t, err, first.ID)
		require.Empty(t, batch[0].ID, "a failed batch must not fill the records")
		require.NoError(t, s.Healthy(), "a taken ID is the caller's conflict, not a failing database")

		runs, err := s.ListRuns(bundle.ctx, store.RunFilter{})
		require.NoError(t, err)
		require.Len(t, runs, 1)
		require.Equal(t, 200, runs[0].Status)

		// The same ID twice in one batch.
		twice := []*store.Run{{ID: "0190b1a4-0000-7000-8000-0000000000bb", WebhookID: "w"}, {ID: "0190b1a4-0000-7000-8000-0000000000bb", WebhookID: "w"}}
		err = s.InsertRuns(bundle.ctx, twice)
		require.ErrorIs(t, err, store.ErrConflict)
		require.ErrorContains(t, err, twice[0].ID)
		_, err = s.GetRun(bundle.ctx, twice[0].ID)
		require.ErrorIs(t, err, store.ErrNotFound)

		require.NoError(t, s.InsertRuns(bundle.ctx, nil))
	})

	t.Run("InsertFillsFieldsAndRoundTrips", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		r := &store.Run{
			WebhookID: "0190b1a4-0000-7000-8000-000000000001", Automation: "wgm.respond", Revision: 4,
			Status: 500, Exit: "error", Error: "boom", DurationUS: 1234,
			Inputs: []byte(`{"request_body":"x"}`), Output: []byte(`{}`), Log: []byte(`[]`),
			RequestID: "req-1", Cause: "error", JobID: "job-1", ReplayOf: "run-0",
		}
		empty := &store.Run{WebhookID: "w", Status: 404, Inputs: []byte{}} // Output and Log nil
		require.NoError(t, s.InsertRuns(bundle.ctx, []*store.Run{r, empty}))
		require.NotEmpty(t, r.ID)
		require.NotEqual(t, r.ID, empty.ID)
		require.False(t, r.CreatedAt.IsZero())
		require.Less(t, r.ID, empty.ID, "IDs are UUIDv7 and sort by creation")

		got, err := s.GetRun(bundle.ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, r, got)

		got, err = s.GetRun(bundle.ctx, empty.ID)
		require.NoError(t, err)
		require.Equal(t, empty, got)
		require.NotNil(t, got.Inputs, "an empty value stays apart from nil")
		require.Nil(t, got.Output)
	})

	t.Run("InsertLargeMixedBatchRoundTrips", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		// More runs than one INSERT writes, and not a multiple of it; each
		// fills a different set of the optional columns, so that the rows
		// of one statement differ.
		const n = 203
		runs := make([]*store.Run, n)
		for i := range runs {
			r := &store.Run{WebhookID: fmt.Sprintf("w-%d", i%3), Status: 200 + i%4*100, Inputs: []byte(fmt.Sprintf(`{"i":%d}`, i))}
			if i%2 == 0 {
				r.Output = []byte(fmt.Sprintf(`{"o":%d}`, i))
			}
			if i%3 == 0 {
				r.Error, r.Log = fmt.Sprintf("error %d", i), []byte(`[]`)
			}
			if i%5 == 0 {
				r.RequestID, r.Cause = fmt.Sprintf("req-%d", i), "timeout"
			}
			if i%7 == 0 {
				r.JobID, r.ReplayOf = fmt.Sprintf("job-%d", i), "run-0"
			}
			if i%11 == 0 {
				r.Output = []byte{} // empty, not nil
			}
			runs[i] = r
		}
		require.NoError(t, s.InsertRuns(bundle.ctx, runs))
		for _, r := range runs {
			got, err := s.GetRun(bundle.ctx, r.ID)
			require.NoError(t, err)
			require.Equal(t, r, got)
		}
		all, err := s.ListRuns(bundle.ctx, store.RunFilter{Limit: 500})
		require.NoError(t, err)
		require.Len(t, all, n)

		// A taken ID in the last statement rolls back the whole batch.
		again := make([]*store.Run, n)
		for i := range again {
			again[i] = &store.Run{WebhookID: "w", Status: 200}
		}
		again[n-1].ID = runs[0].ID
		err = s.InsertRuns(bundle.ctx, again)
		require.ErrorIs(t, err, store.ErrConflict)
		require.ErrorContains(t, err, runs[0].ID)
		all, err = s.ListRuns(bundle.ctx, store.RunFilter{Limit: 500})
		require.NoError(t, err)
		require.Len(t, all, n)
	})

	t.Run("ListIsNewestFirstWithPaging", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		var runs []*store.Run
		for i := range 120 {
			wh := "a"
			if i%3 == 0 {
				wh = "b"
			}
			// Pairs share a timestamp so the ID breaks the tie.
			runs = append(runs, &store.Run{WebhookID: wh, Status: i, CreatedAt: base.Add(time.Duration(i/2) * time.Second)})
		}
		require.NoError(t, s.InsertRuns(bundle.ctx, runs))
		newestFirst := slices.Clone(runs)
		slices.Reverse(newestFirst)

		// Default limit.
		page, err := s.ListRuns(bundle.ctx, store.RunFilter{})
		require.NoError(t, err)
		require.Equal(t, runIDs(newestFirst[:50]), runIDs(page))

		// Page through everything, 7 at a time.
		var all []*store.Run
		before := ""
		for {
			page, err := s.ListRuns(bundle.ctx, store.RunFilter{Limit: 7, BeforeID: before})
			require.NoError(t, err)
			require.LessOrEqual(t, len(page), 7)
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			before = page[len(page)-1].ID
		}
		require.Equal(t, runIDs(newestFirst), runIDs(all))

		// Filter by webhook, with paging.
		var wantB []*store.Run
		for _, r := range newestFirst {
			if r.WebhookID == "b" {
				wantB = append(wantB, r)
			}
		}
		page, err = s.ListRuns(bundle.ctx, store.RunFilter{WebhookID: "b", Limit: 10})
		require.NoError(t, err)
		require.Equal(t, runIDs(wantB[:10]), runIDs(page))
		page, err = s.ListRuns(bundle.ctx, store.RunFilter{WebhookID: "b", Limit: 10, BeforeID: page[9].ID})
		require.NoError(t, err)
		require.Equal(t, runIDs(wantB[10:20]), runIDs(page))

		// An unknown BeforeID is an empty page.
		page, err = s.ListRuns(bundle.ctx, store.RunFilter{BeforeID: "nope"})
		require.NoError(t, err)
		require.Empty(t, page)
	})

	t.Run("ListFilters", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		rs := []*store.Run{
			{WebhookID: "w", Status: 200, Inputs: []byte(`{"headers":{"x_order":"A-17"}}`), CreatedAt: base},
			{WebhookID: "w", Status: 401, Cause: "verify", Inputs: []byte(`{"body":"nul\u0000 and more"}`), CreatedAt: base.Add(time.Minute)},
			{WebhookID: "w", Status: 429, Cause: "rate_limit", Inputs: []byte(`{}`), CreatedAt: base.Add(2 * time.Minute)},
			{WebhookID: "w", Status: 500, Inputs: []byte("{\"body\":\"caf\xc3\xa9 A-17\"}"), CreatedAt: base.Add(3 * time.Minute)},
		}
		require.NoError(t, s.InsertRuns(bundle.ctx, rs))
		list := func(f store.RunFilter) []string {
			t.Helper()
			got, err := s.ListRuns(bundle.ctx, f)
			require.NoError(t, err)
			return runIDs(got)
		}
		require.Equal(t, []string{rs[2].ID, rs[1].ID}, list(store.RunFilter{StatusClass: 4}))
		require.Equal(t, []string{rs[1].ID}, list(store.RunFilter{Cause: "verify"}))
		require.Equal(t, []string{rs[3].ID, rs[0].ID}, list(store.RunFilter{Cause: "-"}), "not refused")
		require.Equal(t, []string{rs[2].ID, rs[1].ID}, list(store.RunFilter{Since: base.Add(time.Minute), Until: base.Add(3 * time.Minute)}))
		require.Equal(t, []string{rs[3].ID, rs[0].ID}, list(store.RunFilter{Search: "A-17"}))
		require.Equal(t, []string{rs[3].ID}, list(store.RunFilter{Search: "café"}), "bytes, not only ASCII")
		require.Empty(t, list(store.RunFilter{Search: "nowhere"}))
		require.Equal(t, []string{rs[3].ID}, list(store.RunFilter{StatusClass: 5, Search: "A-17"}), "filters combine")

		count := func(f store.RunFilter, upTo int) int {
			t.Helper()
			n, err := s.CountRuns(bundle.ctx, f, upTo)
			require.NoError(t, err)
			return n
		}
		require.Equal(t, 4, count(store.RunFilter{}, 10))
		require.Equal(t, 3, count(store.RunFilter{}, 2), "past upTo: upTo+1")
		require.Equal(t, 2, count(store.RunFilter{StatusClass: 4}, 10))
		require.Equal(t, 1, count(store.RunFilter{Cause: "verify", Search: "ignored", BeforeID: rs[0].ID}, 10), "BeforeID and Search are not counted")
	})

	t.Run("SearchPageStopsAtItsBudget", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		// 30 records, newest last; the text is in records 3 and 12 only.
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		rs := make([]*store.Run, 30)
		for i := range rs {
			in := fmt.Sprintf(`{"n":%d}`, i)
			if i == 3 || i == 12 {
				in = fmt.Sprintf(`{"n":%d,"body":"needle"}`, i)
			}
			rs[i] = &store.Run{WebhookID: "w", Status: 200, Inputs: []byte(in), CreatedAt: base.Add(time.Duration(i) * time.Second)}
		}
		require.NoError(t, s.InsertRuns(bundle.ctx, rs))

		tests := []struct {
			name       string
			f          store.RunFilter
			want       []string
			searched   int
			nextBefore string
		}{
			{"TheBudgetReachesNoMatch", store.RunFilter{Search: "needle", SearchBudget: 10},
				[]string{}, 10, rs[20].ID},
			{"GoingOnFromWhereItStopped", store.RunFilter{Search: "needle", SearchBudget: 10, BeforeID: rs[20].ID},
				[]string{rs[12].ID}, 10, rs[10].ID},
			{"TheLastStretchReachesTheOldest", store.RunFilter{Search: "needle", SearchBudget: 10, BeforeID: rs[10].ID},
				[]string{rs[3].ID}, 0, ""},
			{"AFullPageEndsBeforeTheBudget", store.RunFilter{Search: "needle", Limit: 1},
				[]string{rs[12].ID}, 0, rs[12].ID},
			{"WithoutASearchNoBudget", store.RunFilter{Limit: 5, SearchBudget: 1},
				[]string{rs[29].ID, rs[28].ID, rs[27].ID, rs[26].ID, rs[25].ID}, 0, rs[25].ID},
			{"ABudgetThatCoversEverything", store.RunFilter{Search: "needle", SearchBudget: 30},
				[]string{rs[12].ID, rs[3].ID}, 0, ""},
		}
		for _, tt := range tests {
			p, err := s.ListRunsPage(bundle.ctx, tt.f)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.want, runIDs(p.Runs), tt.name)
			require.Equal(t, tt.searched, p.Searched, tt.name)
			require.Equal(t, tt.nextBefore, p.NextBefore, tt.name)
		}
	})

	t.Run("ListLimitIsCapped", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		runs := make([]*store.Run, 510)
		for i := range runs {
			runs[i] = &store.Run{WebhookID: "w", Status: 200}
		}
		require.NoError(t, s.InsertRuns(bundle.ctx, runs))

		tests := []struct {
			limit, want int
		}{
			{0, 50}, {-1, 50}, {1, 1}, {500, 500}, {501, 500}, {100000, 500},
		}
		for _, tt := range tests {
			page, err := s.ListRuns(bundle.ctx, store.RunFilter{Limit: tt.limit})
			require.NoError(t, err)
			require.Len(t, page, tt.want, "limit %d", tt.limit)
		}
	})
}

// runIDs lists the IDs of rs, in order.
func runIDs(rs []*store.Run) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
