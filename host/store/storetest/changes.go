package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// exerciseChanges checks ApplyChanges, the one write path of automations,
// webhooks, secrets and packages: all changes or none, an audit entry per
// change, revision preconditions, owners, and the Create/Update/Delete
// methods writing through it.
func exerciseChanges(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("AppliesEveryKindWithAnAuditEntryEach", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		a := &store.Automation{Name: "a", ExtensionID: "cerb.trigger.webhook.respond", Script: "start:\n", Owner: "manifest:hooks.yaml"}
		w := &store.Webhook{Name: "hook", TokenHash: tokenHash("t1"), Enabled: true, Owner: "manifest:hooks.yaml", TokenSecret: "HOOK_TOKEN"}
		p := &store.PackageImport{Name: "pkg", Revision: 2, Result: []byte(`{}`)}
		cs := &store.ChangeSet{Actor: "token:abcd1234", Changes: []store.Change{
			{Action: store.ActionImport, Package: p},
			{Action: store.ActionCreate, Automation: a, Detail: "from hooks.yaml"},
			{Action: store.ActionCreate, Webhook: w, Actor: "manifest:hooks.yaml"},
			{Action: store.ActionPut, Secret: &store.Secret{Name: "HOOK_TOKEN", Sealed: []byte("sealed"), Owner: "manifest:secrets.yaml"}},
		}}
		require.NoError(t, s.ApplyChanges(bundle.ctx, cs))
		require.NotZero(t, a.ID)
		require.Equal(t, int64(1), a.Revision)
		require.NotEmpty(t, w.ID)
		require.Equal(t, int64(1), w.Revision)
		require.NotEmpty(t, p.ID)

		gotA, err := s.GetAutomation(bundle.ctx, "a")
		require.NoError(t, err)
		require.Equal(t, a, gotA)
		gotW, err := s.GetWebhook(bundle.ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, w, gotW)
		v, found, err := s.KVGet(bundle.ctx, store.SecretsNamespace, "HOOK_TOKEN", time.Now())
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, []byte("sealed"), v)
		owners, err := s.SecretOwners(bundle.ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"HOOK_TOKEN": "manifest:secrets.yaml"}, owners)

		entries, err := s.ListAudit(bundle.ctx, store.AuditFilter{})
		require.NoError(t, err)
		require.Len(t, entries, 4)
		// Newest first: the reverse of the change order.
		type row struct{ actor, kind, name, id, action, detail string }
		var got []row
		for _, e := range entries {
			require.False(t, e.At.IsZero())
			got = append(got, row{e.Actor, e.Kind, e.Name, e.RecordID, e.Action, e.Detail})
		}
		require.Equal(t, []row{
			{"token:abcd1234", store.KindSecret, "HOOK_TOKEN", "", store.ActionCreate, ""},
			{"manifest:hooks.yaml", store.KindWebhook, "hook", w.ID, store.ActionCreate, ""},
			{"token:abcd1234", store.KindAutomation, "a", strconv.FormatInt(a.ID, 10), store.ActionCreate, "from hooks.yaml"},
			{"token:abcd1234", store.KindPackage, "pkg", p.ID, store.ActionImport, ""},
		}, got)
		require.Equal(t, int64(2), entries[3].NewRevision)
		require.Equal(t, int64(1), entries[1].NewRevision)
	})

	t.Run("FailureWritesNothing", func(t *testing.T) {
		t.Parallel()

		tests := []struct {
			name    string
			changes func(existing *store.Webhook) []store.Change
			wantIs  error
			want    string
		}{
			{"NameTaken", func(*store.Webhook) []store.Change {
				return []store.Change{
					{Action: store.ActionCreate, Automation: &store.Automation{Name: "fresh"}},
					{Action: store.ActionCreate, Automation: &store.Automation{Name: "taken"}},
				}
			}, store.ErrConflict, `create automation "taken": store: already exists`},
			{"UpdateMissing", func(*store.Webhook) []store.Change {
				return []store.Change{
					{Action: store.ActionCreate, Automation: &store.Automation{Name: "fresh"}},
					{Action: store.ActionUpdate, Automation: &store.Automation{Name: "missing"}},
				}
			}, store.ErrNotFound, `update automation "missing": store: not found`},
			{"StaleAutomation", func(*store.Webhook) []store.Change {
				return []store.Change{
					{Action: store.ActionCreate, Automation: &store.Automation{Name: "fresh"}},
					{Action: store.ActionUpdate, Automation: &store.Automation{Name: "taken"}, IfRevision: 7},
				}
			}, store.ErrRevision, `update automation "taken": store: the record changed since it was read: it is at revision 1, not 7`},
			{"StaleWebhookDelete", func(w *store.Webhook) []store.Change {
				return []store.Change{
					{Action: store.ActionCreate, Automation: &store.Automation{Name: "fresh"}},
					{Action: store.ActionDelete, Webhook: &store.Webhook{ID: w.ID}, IfRevision: 2},
				}
			}, store.ErrRevision, `delete webhook "` /* id */},
			{"SecretDeleteMissing", func(*store.Webhook) []store.Change {
				return []store.Change{
					{Action: store.ActionCreate, Automation: &store.Automation{Name: "fresh"}},
					{Action: store.ActionDelete, Secret: &store.Secret{Name: "nope"}},
				}
			}, store.ErrNotFound, `delete secret "nope": store: not found`},
			{"TwoRecordsInOneChange", func(*store.Webhook) []store.Change {
				return []store.Change{{Action: store.ActionCreate, Automation: &store.Automation{Name: "fresh"},
					Secret: &store.Secret{Name: "x"}}}
			}, store.ErrInvalid, "a change needs exactly one record"},
			{"UnknownAction", func(*store.Webhook) []store.Change {
				return []store.Change{{Action: store.ActionRotate, Automation: &store.Automation{Name: "fresh"}}}
			}, store.ErrInvalid, `no action "rotate" on a automation`},
			{"BadActor", func(*store.Webhook) []store.Change {
				return []store.Change{{Action: store.ActionCreate, Automation: &store.Automation{Name: "fresh"}, Actor: "a\x00b"}}
			}, store.ErrInvalid, "actor"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				s, bundle := setup(t)
				require.NoError(t, s.CreateAutomation(bundle.ctx, &store.Automation{Name: "taken"}))
				w := &store.Webhook{Name: "hook", TokenHash: tokenHash("t1")}
				require.NoError(t, s.CreateWebhook(bundle.ctx, w))
				before, err := s.ListAudit(bundle.ctx, store.AuditFilter{})
				require.NoError(t, err)

				changes := tt.changes(w)
				first := *changes[0].Automation
				err = s.ApplyChanges(bundle.ctx, &store.ChangeSet{Actor: "token:x", Changes: changes})
				require.ErrorIs(t, err, tt.wantIs)
				require.ErrorContains(t, err, tt.want)
				require.Equal(t, first, *changes[0].Automation, "the caller's records are untouched")

				autos, err := s.ListAutomations(bundle.ctx)
				require.NoError(t, err)
				require.Equal(t, []string{"taken"}, automationNames(autos))
				hooks, err := s.ListWebhooks(bundle.ctx)
				require.NoError(t, err)
				require.Len(t, hooks, 1)
				after, err := s.ListAudit(bundle.ctx, store.AuditFilter{})
				require.NoError(t, err)
				require.Equal(t, before, after, "no audit entry either")
			})
		}
	})

	t.Run("RevisionsAndOwnersThroughUpdates", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		a := &store.Automation{Name: "a", Script: "v1"}
		w := &store.Webhook{Name: "hook", TokenHash: tokenHash("t1")}
		require.NoError(t, s.ApplyChanges(bundle.ctx, &store.ChangeSet{Actor: "token:x", Changes: []store.Change{
			{Action: store.ActionCreate, Automation: a},
			{Action: store.ActionCreate, Webhook: w},
		}}))

		a2 := &store.Automation{Name: "a", Script: "v2", Owner: "manifest:a.yaml"}
		w.TokenHash, w.Owner, w.TokenSecret = tokenHash("t2"), "manifest:a.yaml", "TOK"
		require.NoError(t, s.ApplyChanges(bundle.ctx, &store.ChangeSet{Actor: "manifest:a.yaml", Changes: []store.Change{
			{Action: store.ActionUpdate, Automation: a2, IfRevision: 1},
			{Action: store.ActionRotate, Webhook: w, IfRevision: 1},
		}}))
		require.Equal(t, int64(2), a2.Revision)
		require.Equal(t, a.ID, a2.ID)
		require.Equal(t, int64(2), w.Revision)
		got, err := s.GetWebhook(bundle.ctx, w.ID)
		require.NoError(t, err)
		require.Equal(t, w, got)
		gotA, err := s.GetAutomation(bundle.ctx, "a")
		require.NoError(t, err)
		require.Equal(t, "manifest:a.yaml", gotA.Owner)

		// UpdateWebhook counts too.
		w.Enabled = true
		require.NoError(t, s.UpdateWebhook(bundle.ctx, w))
		require.Equal(t, int64(3), w.Revision)

		require.NoError(t, s.ApplyChanges(bundle.ctx, &store.ChangeSet{Actor: "token:x", Changes: []store.Change{
			{Action: store.ActionDelete, Automation: &store.Automation{Name: "a"}, IfRevision: 2},
			{Action: store.ActionDelete, Webhook: &store.Webhook{ID: w.ID}, IfRevision: 3},
		}}))

		entries, err := s.ListAudit(bundle.ctx, store.AuditFilter{})
		require.NoError(t, err)
		type row struct {
			actor, kind, action string
			old, new            int64
		}
		var rows []row
		for _, e := range entries {
			rows = append(rows, row{e.Actor, e.Kind, e.Action, e.OldRevision, e.NewRevision})
		}
		require.Equal(t, []row{
			{"token:x", store.KindWebhook, store.ActionDelete, 3, 0},
			{"token:x", store.KindAutomation, store.ActionDelete, 2, 0},
			{store.ActorSystem, store.KindWebhook, store.ActionUpdate, 2, 3},
			{"manifest:a.yaml", store.KindWebhook, store.ActionRotate, 1, 2},
			{"manifest:a.yaml", store.KindAutomation, store.ActionUpdate, 1, 2},
			{"token:x", store.KindWebhook, store.ActionCreate, 0, 1},
			{"token:x", store.KindAutomation, store.ActionCreate, 0, 1},
		}, rows)
		require.Equal(t, "hook", entries[0].Name, "a deleted webhook's entry names it")
	})

	t.Run("SecretsPutAndDelete", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		put := func(owner string) {
			t.Helper()
			require.NoError(t, s.ApplyChanges(bundle.ctx, &store.ChangeSet{Actor: "token:x", Changes: []store.Change{
				{Action: store.ActionPut, Secret: &store.Secret{Name: "k", Sealed: []byte("v-" + owner), Owner: owner}},
			}}))
		}
		put("")
		put("manifest:s.yaml")
		owners, err := s.SecretOwners(bundle.ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"k": "manifest:s.yaml"}, owners)
		put("")
		owners, err = s.SecretOwners(bundle.ctx)
		require.NoError(t, err)
		require.Empty(t, owners)
		// A key of another namespace is not a secret.
		require.NoError(t, s.KVSet(bundle.ctx, "automation:x", "k", []byte("v"), nil))

		require.NoError(t, s.ApplyChanges(bundle.ctx, &store.ChangeSet{Actor: "token:x", Changes: []store.Change{
			{Action: store.ActionDelete, Secret: &store.Secret{Name: "k"}},
		}}))
		_, found, err := s.KVGet(bundle.ctx, store.SecretsNamespace, "k", time.Now())
		require.NoError(t, err)
		require.False(t, found)
		_, found, err = s.KVGet(bundle.ctx, "automation:x", "k", time.Now())
		require.NoError(t, err)
		require.True(t, found)

		entries, err := s.ListAudit(bundle.ctx, store.AuditFilter{Kind: store.KindSecret})
		require.NoError(t, err)
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
			require.Empty(t, e.Detail)
		}
		require.Equal(t, []string{store.ActionDelete, store.ActionUpdate, store.ActionUpdate, store.ActionCreate}, actions)
	})

	t.Run("PackageRevisions", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		apply := func(action string, rev, ifRev int64) error {
			return s.ApplyChanges(bundle.ctx, &store.ChangeSet{Actor: "token:x", Changes: []store.Change{
				{Action: action, Package: &store.PackageImport{Name: "pkg", Revision: rev}, IfRevision: ifRev},
			}})
		}
		_, err := s.LatestImport(bundle.ctx, "pkg")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, apply(store.ActionUpgrade, 2, 1), store.ErrRevision, "never imported")
		require.NoError(t, apply(store.ActionImport, 1, 0))
		err = apply(store.ActionImport, 1, 0)
		require.ErrorIs(t, err, store.ErrRevision)
		require.ErrorContains(t, err, `import package "pkg": store: the record changed since it was read: it was imported before, at revision 1`)
		require.ErrorIs(t, apply(store.ActionUpgrade, 3, 2), store.ErrRevision, "the latest is 1, not 2")
		require.NoError(t, apply(store.ActionUpgrade, 2, 1))
		latest, err := s.LatestImport(bundle.ctx, "pkg")
		require.NoError(t, err)
		require.Equal(t, int64(2), latest.Revision)

		entries, err := s.ListAudit(bundle.ctx, store.AuditFilter{Name: "pkg"})
		require.NoError(t, err)
		require.Len(t, entries, 2)
		require.Equal(t, store.ActionUpgrade, entries[0].Action)
		require.Equal(t, [2]int64{1, 2}, [2]int64{entries[0].OldRevision, entries[0].NewRevision})
		require.Equal(t, latest.ID, entries[0].RecordID)
	})

	t.Run("SingleRecordMethodsAreAudited", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		require.NoError(t, s.CreateAutomation(bundle.ctx, &store.Automation{Name: "a"}))
		require.NoError(t, s.UpdateAutomation(bundle.ctx, &store.Automation{Name: "a"}))
		require.NoError(t, s.DeleteAutomation(bundle.ctx, "a"))
		w := &store.Webhook{Name: "w", TokenHash: tokenHash("t")}
		require.NoError(t, s.CreateWebhook(bundle.ctx, w))
		require.NoError(t, s.DeleteWebhook(bundle.ctx, w.ID))
		entries, err := s.ListAudit(bundle.ctx, store.AuditFilter{})
		require.NoError(t, err)
		require.Len(t, entries, 5)
		for _, e := range entries {
			require.Equal(t, store.ActorSystem, e.Actor)
		}
	})
}

// exerciseAudit checks ListAudit's filters and paging.
func exerciseAudit(ctx context.Context, t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	setup := newSetup(ctx, open)

	t.Run("FiltersAndPages", func(t *testing.T) {
		t.Parallel()
		s, bundle := setup(t)

		for i := range 5 {
			name := "a" + strconv.Itoa(i%2) // a0, a1, a0, a1, a0
			action := store.ActionUpdate
			if i < 2 {
				action = store.ActionCreate
			}
			require.NoError(t, s.ApplyChanges(bundle.ctx, &store.ChangeSet{Actor: "token:x", Changes: []store.Change{
				{Action: action, Automation: &store.Automation{Name: name}},
			}}))
		}
		w := &store.Webhook{Name: "hook", TokenHash: tokenHash("t")}
		require.NoError(t, s.ApplyChanges(bundle.ctx, &store.ChangeSet{Actor: "token:x", Changes: []store.Change{
			{Action: store.ActionCreate, Webhook: w},
		}}))

		all, err := s.ListAudit(bundle.ctx, store.AuditFilter{})
		require.NoError(t, err)
		require.Len(t, all, 6)
		for i := 1; i < len(all); i++ {
			require.Greater(t, all[i-1].ID, all[i].ID, "newest first")
		}

		tests := []struct {
			name string
			f    store.AuditFilter
			want int
		}{
			{"Kind", store.AuditFilter{Kind: store.KindAutomation}, 5},
			{"Name", store.AuditFilter{Name: "a0"}, 3},
			{"WebhookByID", store.AuditFilter{Name: w.ID}, 1},
			{"WebhookByName", store.AuditFilter{Name: "hook"}, 1},
			{"KindAndName", store.AuditFilter{Kind: store.KindWebhook, Name: "a0"}, 0},
			{"Limit", store.AuditFilter{Limit: 2}, 2},
			{"Before", store.AuditFilter{BeforeID: all[1].ID}, 4},
			{"SinceFuture", store.AuditFilter{Since: time.Now().Add(time.Hour)}, 0},
			{"SincePast", store.AuditFilter{Since: time.Now().Add(-time.Hour)}, 6},
			{"InvalidName", store.AuditFilter{Name: "a\x00"}, 0},
		}
		for _, tt := range tests {
			got, err := s.ListAudit(bundle.ctx, tt.f)
			require.NoError(t, err, tt.name)
			require.Len(t, got, tt.want, tt.name)
			require.NotNil(t, got, tt.name)
		}

		// Pages join up to the whole log.
		var paged []*store.AuditEntry
		f := store.AuditFilter{Limit: 4}
		for {
			page, err := s.ListAudit(bundle.ctx, f)
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			f.BeforeID = page[len(page)-1].ID
		}
		require.Equal(t, all, paged)
	})
}
