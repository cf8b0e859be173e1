// Package storetest is the conformance suite every store.Store
// implementation runs unchanged (after river's riverdrivertest.Exercise):
//
//	func TestStore(t *testing.T) {
//		t.Parallel()
//		storetest.Exercise(context.Background(), t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookhost.db"))
//			require.NoError(t, err)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// Exercise runs the conformance suite. open must return a new, empty,
// migrated store for each call and close it when t ends; every subtest
// calls it once and runs in parallel with the others.
func Exercise(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()

	type testBundle struct {
		ctx context.Context
	}

	setup := func(t *testing.T) (store.Store, *testBundle) {
		t.Helper()
		return open(t), &testBundle{ctx: ctx}
	}

	t.Run("Automation", func(t *testing.T) {
		t.Parallel()

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
	})

	t.Run("DB", func(t *testing.T) {
		t.Parallel()

		t.Run("IsUsableAndDialectIsKnown", func(t *testing.T) {
			t.Parallel()
			s, bundle := setup(t)

			require.NotNil(t, s.DB())
			require.NoError(t, s.DB().PingContext(bundle.ctx))
			require.Contains(t, []string{"sqlite", "postgres"}, s.Dialect())
			var n int
			require.NoError(t, s.DB().QueryRowContext(bundle.ctx, `SELECT count(*) FROM automations`).Scan(&n))
			require.Zero(t, n)
		})
	})

	t.Run("Import", func(t *testing.T) {
		t.Parallel()

		t.Run("ApplyWritesEverything", func(t *testing.T) {
			t.Parallel()
			s, bundle := setup(t)

			plan := &store.ImportPlan{
				Import: store.PackageImport{Name: "webhook-example", Revision: 3, Result: []byte(`{"automations":["a","b"]}`)},
				Automations: []*store.Automation{
					{Name: "a", Script: "start:\n"},
					{Name: "b", Script: "start:\n"},
				},
				Webhooks: []*store.Webhook{
					{Name: "hook", TokenHash: tokenHash("t1"), EventKATA: "automation/a:\n", Enabled: true},
				},
			}
			require.NoError(t, s.ApplyImport(bundle.ctx, plan))
			require.NotEmpty(t, plan.Import.ID)
			require.False(t, plan.Import.CreatedAt.IsZero())
			for _, a := range plan.Automations {
				require.NotZero(t, a.ID)
				require.Equal(t, int64(1), a.Revision)
				got, err := s.GetAutomation(bundle.ctx, a.Name)
				require.NoError(t, err)
				require.Equal(t, a, got)
			}
			w := plan.Webhooks[0]
			require.NotEmpty(t, w.ID)
			got, err := s.GetWebhook(bundle.ctx, w.ID)
			require.NoError(t, err)
			require.Equal(t, w, got)

			imports, err := s.ListImports(bundle.ctx)
			require.NoError(t, err)
			require.Equal(t, []*store.PackageImport{&plan.Import}, imports)
		})

		t.Run("ApplyFailureRollsBackEverything", func(t *testing.T) {
			t.Parallel()

			tests := []struct {
				name     string
				existing *store.Automation // created before the import
				plan     func() *store.ImportPlan
				wantErr  string
			}{
				{
					name:     "AutomationNameTaken",
					existing: &store.Automation{Name: "taken"},
					plan: func() *store.ImportPlan {
						return &store.ImportPlan{
							Import:      store.PackageImport{Name: "pkg"},
							Automations: []*store.Automation{{Name: "fresh"}, {Name: "taken"}},
							Webhooks:    []*store.Webhook{{Name: "hook", TokenHash: tokenHash("t1")}},
						}
					},
					wantErr: `automation "taken": store: already exists`,
				},
				{
					name: "DuplicateAutomationInPlan",
					plan: func() *store.ImportPlan {
						return &store.ImportPlan{
							Import:      store.PackageImport{Name: "pkg"},
							Automations: []*store.Automation{{Name: "x"}, {Name: "y"}, {Name: "x"}},
						}
					},
					wantErr: `automation "x": store: already exists`,
				},
				{
					name: "DuplicateWebhookTokenInPlan",
					plan: func() *store.ImportPlan {
						return &store.ImportPlan{
							Import:      store.PackageImport{Name: "pkg"},
							Automations: []*store.Automation{{Name: "x"}},
							Webhooks: []*store.Webhook{
								{Name: "first", TokenHash: tokenHash("same")},
								{Name: "second", TokenHash: tokenHash("same")},
							},
						}
					},
					wantErr: `webhook "second": store: already exists`,
				},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					s, bundle := setup(t)

					if tt.existing != nil {
						require.NoError(t, s.CreateAutomation(bundle.ctx, tt.existing))
					}
					plan := tt.plan()
					err := s.ApplyImport(bundle.ctx, plan)
					require.ErrorIs(t, err, store.ErrConflict)
					require.ErrorContains(t, err, tt.wantErr)

					// The plan's records are untouched...
					require.Equal(t, tt.plan(), plan)
					// ...and nothing was written.
					imports, err := s.ListImports(bundle.ctx)
					require.NoError(t, err)
					require.Empty(t, imports)
					autos, err := s.ListAutomations(bundle.ctx)
					require.NoError(t, err)
					var want []string
					if tt.existing != nil {
						want = []string{tt.existing.Name}
					}
					require.Equal(t, want, automationNames(autos))
					hooks, err := s.ListWebhooks(bundle.ctx)
					require.NoError(t, err)
					require.Empty(t, hooks)

					// The store is still usable: the same plan minus the
					// offending record goes through.
					if tt.existing != nil {
						require.NoError(t, s.DeleteAutomation(bundle.ctx, tt.existing.Name))
						require.NoError(t, s.ApplyImport(bundle.ctx, tt.plan()))
					}
				})
			}
		})

		t.Run("ListIsByCreation", func(t *testing.T) {
			t.Parallel()
			s, bundle := setup(t)

			for _, name := range []string{"second", "first", "third"} {
				require.NoError(t, s.ApplyImport(bundle.ctx, &store.ImportPlan{Import: store.PackageImport{Name: name}}))
			}
			imports, err := s.ListImports(bundle.ctx)
			require.NoError(t, err)
			var names []string
			for _, p := range imports {
				names = append(names, p.Name)
				require.Nil(t, p.Result)
			}
			require.Equal(t, []string{"second", "first", "third"}, names)
		})
	})

	t.Run("KV", func(t *testing.T) {
		t.Parallel()

		t.Run("DeleteReportsFound", func(t *testing.T) {
			t.Parallel()
			s, bundle := setup(t)

			require.NoError(t, s.KVSet(bundle.ctx, "ns", "k", []byte("v"), nil))
			found, err := s.KVDelete(bundle.ctx, "ns", "k")
			require.NoError(t, err)
			require.True(t, found)
			found, err = s.KVDelete(bundle.ctx, "ns", "k")
			require.NoError(t, err)
			require.False(t, found)

			// An expired value counts as absent.
			past := time.Now().Add(-time.Minute)
			require.NoError(t, s.KVSet(bundle.ctx, "ns", "old", []byte("v"), &past))
			found, err = s.KVDelete(bundle.ctx, "ns", "old")
			require.NoError(t, err)
			require.False(t, found)
		})

		t.Run("ExpiredValueIsNotFound", func(t *testing.T) {
			t.Parallel()
			s, bundle := setup(t)

			exp := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
			require.NoError(t, s.KVSet(bundle.ctx, "ns", "k", []byte("v"), &exp))

			tests := []struct {
				name  string
				now   time.Time
				found bool
			}{
				{"Before", exp.Add(-time.Microsecond), true},
				{"At", exp, false},
				{"After", exp.Add(time.Hour), false},
			}
			for _, tt := range tests {
				v, found, err := s.KVGet(bundle.ctx, "ns", "k", tt.now)
				require.NoError(t, err, tt.name)
				require.Equal(t, tt.found, found, tt.name)
				if tt.found {
					require.Equal(t, []byte("v"), v, tt.name)
				} else {
					require.Nil(t, v, tt.name)
				}
			}

			// Setting without an expiry revives it.
			require.NoError(t, s.KVSet(bundle.ctx, "ns", "k", []byte("v2"), nil))
			v, found, err := s.KVGet(bundle.ctx, "ns", "k", exp.Add(time.Hour))
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, []byte("v2"), v)
		})

		t.Run("ListIsSortedPerNamespaceWithoutExpired", func(t *testing.T) {
			t.Parallel()
			s, bundle := setup(t)

			keys, err := s.KVList(bundle.ctx, "a")
			require.NoError(t, err)
			require.Empty(t, keys, "an empty namespace lists nothing")

			past := time.Now().Add(-time.Minute)
			future := time.Now().Add(time.Hour)
			tests := []struct {
				ns, key string
				expires *time.Time
			}{
				{"a", "zeta", nil},
				{"a", "Alpha", nil},
				{"a", "beta_2", &future},
				{"a", "gone", &past},
				{"a", "alpha", nil},
				{"b", "other", nil},
				{"ab", "prefix", nil},
			}
			for _, tt := range tests {
				require.NoError(t, s.KVSet(bundle.ctx, tt.ns, tt.key, []byte("v"), tt.expires))
			}
			keys, err = s.KVList(bundle.ctx, "a")
			require.NoError(t, err)
			require.Equal(t, []string{"Alpha", "alpha", "beta_2", "zeta"}, keys)

			keys, err = s.KVList(bundle.ctx, "b")
			require.NoError(t, err)
			require.Equal(t, []string{"other"}, keys)

			found, err := s.KVDelete(bundle.ctx, "a", "zeta")
			require.NoError(t, err)
			require.True(t, found)
			keys, err = s.KVList(bundle.ctx, "a")
			require.NoError(t, err)
			require.Equal(t, []string{"Alpha", "alpha", "beta_2"}, keys)
		})

		t.Run("SetUpsertsPerNamespace", func(t *testing.T) {
			t.Parallel()
			s, bundle := setup(t)
			now := time.Now()

			_, found, err := s.KVGet(bundle.ctx, "a", "k", now)
			require.NoError(t, err)
			require.False(t, found)

			require.NoError(t, s.KVSet(bundle.ctx, "a", "k", []byte("one"), nil))
			require.NoError(t, s.KVSet(bundle.ctx, "b", "k", []byte("other"), nil))
			require.NoError(t, s.KVSet(bundle.ctx, "a", "k", []byte("two"), nil))

			v, found, err := s.KVGet(bundle.ctx, "a", "k", now)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, []byte("two"), v)
			v, found, err = s.KVGet(bundle.ctx, "b", "k", now)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, []byte("other"), v)

			// An empty value is found, and not nil.
			require.NoError(t, s.KVSet(bundle.ctx, "a", "empty", nil, nil))
			v, found, err = s.KVGet(bundle.ctx, "a", "empty", now)
			require.NoError(t, err)
			require.True(t, found)
			require.NotNil(t, v)
			require.Empty(t, v)

			// Binary values round trip.
			bin := []byte{0, 1, 2, 0xff, 0}
			require.NoError(t, s.KVSet(bundle.ctx, "a", "bin", bin, nil))
			v, _, err = s.KVGet(bundle.ctx, "a", "bin", now)
			require.NoError(t, err)
			require.Equal(t, bin, v)
		})
	})

	t.Run("Run", func(t *testing.T) {
		t.Parallel()

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
	})

	t.Run("Timestamps", func(t *testing.T) {
		t.Parallel()

		t.Run("RoundTripToTheMicrosecondInUTC", func(t *testing.T) {
			t.Parallel()
			s, bundle := setup(t)

			zone := time.FixedZone("UTC+5:30", 5*3600+1800)
			mono := time.Now() // carries a monotonic reading
			tests := []struct {
				name string
				in   time.Time
				want time.Time
			}{
				{"Nanoseconds", time.Date(2026, 11, 23, 10, 11, 12, 123456789, time.UTC), time.Date(2026, 11, 23, 10, 11, 12, 123456000, time.UTC)},
				{"OtherZone", time.Date(2026, 11, 23, 15, 41, 12, 999999999, zone), time.Date(2026, 11, 23, 10, 11, 12, 999999000, time.UTC)},
				{"BeforeEpoch", time.Date(1969, 12, 31, 23, 59, 59, 500001, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 500000, time.UTC)},
				{"Monotonic", mono, mono.UTC().Truncate(time.Microsecond)},
				{"FarFuture", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
			}
			for i, tt := range tests {
				r := &store.Run{WebhookID: "w", CreatedAt: tt.in}
				require.NoError(t, s.InsertRuns(bundle.ctx, []*store.Run{r}), tt.name)
				require.Equal(t, tt.want, r.CreatedAt, tt.name)
				got, err := s.GetRun(bundle.ctx, r.ID)
				require.NoError(t, err, tt.name)
				requireSameTime(t, tt.want, got.CreatedAt, tt.name)

				exp, prev := tt.in, tt.in
				w := &store.Webhook{Name: tt.name, TokenHash: tokenHash(fmt.Sprint(i)), ExpiresAt: &exp,
					PrevTokenHash: tokenHash(fmt.Sprint("prev", i)), PrevTokenExpiresAt: &prev, CreatedAt: tt.in}
				require.NoError(t, s.CreateWebhook(bundle.ctx, w), tt.name)
				require.Equal(t, tt.in, exp, "%s: the caller's time is not modified", tt.name)
				gw, err := s.GetWebhook(bundle.ctx, w.ID)
				require.NoError(t, err, tt.name)
				require.Equal(t, w, gw, tt.name)
				requireSameTime(t, tt.want, gw.CreatedAt, tt.name)
				requireSameTime(t, tt.want, *gw.ExpiresAt, tt.name)
				requireSameTime(t, tt.want, *gw.PrevTokenExpiresAt, tt.name)

				a := &store.Automation{Name: tt.name, CreatedAt: tt.in}
				require.NoError(t, s.CreateAutomation(bundle.ctx, a), tt.name)
				ga, err := s.GetAutomation(bundle.ctx, tt.name)
				require.NoError(t, err, tt.name)
				requireSameTime(t, tt.want, ga.CreatedAt, tt.name)
				requireSameTime(t, tt.want, ga.UpdatedAt, tt.name)
			}
		})
	})

	t.Run("Webhook", func(t *testing.T) {
		t.Parallel()

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
	})
}

// tokenHash is the SHA-256 of a token, as the host stores it.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func automationNames(as []*store.Automation) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

func runIDs(rs []*store.Run) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// requireSameTime checks that got is the instant want, in UTC.
func requireSameTime(t *testing.T, want, got time.Time, msg string) {
	t.Helper()
	require.Equal(t, time.UTC, got.Location(), msg)
	require.True(t, want.Equal(got), "%s: want %v, got %v", msg, want, got)
}
