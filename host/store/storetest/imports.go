package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exerciseImports checks ApplyImport, which writes a package's records
// all or nothing, and ListImports.
func exerciseImports(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

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
}
