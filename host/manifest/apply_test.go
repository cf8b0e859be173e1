package manifest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/postgres"
	"github.com/hookhost/hookhost/host/store/sqlite"
	"github.com/hookhost/hookhost/internal/pgtest"
	"github.com/hookhost/hookhost/templates"
)

// testBundle is what a test gets besides its Applier.
type testBundle struct {
	ctx context.Context
	cat *catalog.Catalog
	st  store.Store
}

// setup opens a catalog on a fresh SQLite store.
func setup(t testing.TB) (*Applier, *testBundle) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookhost.db"))
	require.NoError(t, err)
	return setupStore(t, st)
}

// postgresEnv names the variable holding a PostgreSQL DSN for the tests
// that run on PostgreSQL too.
const postgresEnv = "HOOKHOST_TEST_POSTGRES"

// stores returns fresh stores to run a test on: SQLite, and PostgreSQL (a
// schema of its own) when HOOKHOST_TEST_POSTGRES is set.
func stores(t *testing.T) map[string]func(t *testing.T) store.Store {
	out := map[string]func(t *testing.T) store.Store{"SQLite": func(t *testing.T) store.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookhost.db"))
		require.NoError(t, err)
		return st
	}}
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Logf("set %s to a PostgreSQL DSN to run on PostgreSQL too", postgresEnv)
		return out
	}
	out["Postgres"] = func(t *testing.T) store.Store {
		st, err := postgres.Open(context.Background(), pgtest.SchemaOf(t, dsn, "hh_manifest_"))
		require.NoError(t, err)
		return st
	}
	return out
}

// setupStore opens a catalog on st, closed when t ends.
func setupStore(t testing.TB, st store.Store) (*Applier, *testBundle) {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() { _ = st.Close() })
	box, err := secrets.NewBox(make([]byte, secrets.KeySize))
	require.NoError(t, err)
	red := redact.New()
	cat := catalog.New(catalog.Config{Store: st, Templates: templates.New(), Secrets: secrets.NewStore(kv{st}, box, red),
		Box: box, Redactor: red, Extensions: noExtensions{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PublicURL: "http://hooks.test"})
	return NewApplier(cat), &testBundle{ctx: ctx, cat: cat, st: st}
}

// hook is the webhook a token opens, or nil.
func (b *testBundle) hook(t testing.TB, token string) *catalog.Hook {
	t.Helper()
	h, err := b.cat.Webhook(b.ctx, token, time.Now())
	require.NoError(t, err)
	return h
}

// noExtensions is a catalog without extension commands.
type noExtensions struct{}

func (noExtensions) Commands() []string { return nil }
func (noExtensions) Names() []string    { return nil }

// kv adapts the store to secrets.KV.
type kv struct{ st store.Store }

func (k kv) Get(ctx context.Context, ns, key string, now time.Time) ([]byte, bool, error) {
	return k.st.KVGet(ctx, ns, key, now)
}
func (k kv) Set(ctx context.Context, ns, key string, v []byte, exp *time.Time) error {
	return k.st.KVSet(ctx, ns, key, v, exp)
}
func (k kv) Delete(ctx context.Context, ns, key string) (bool, error) {
	return k.st.KVDelete(ctx, ns, key)
}
func (k kv) List(ctx context.Context, ns string) ([]string, error) { return k.st.KVList(ctx, ns) }

// secretValues is a SecretValue of fixed values by environment variable
// or file name.
func secretValues(m map[string]string) func(s *Secret) (string, error) {
	return func(s *Secret) (string, error) {
		v, ok := m[s.FromEnv+s.FromFile]
		if !ok {
			return "", errors.New("not set")
		}
		return v, nil
	}
}

// actions is the plan's records as "kind name action".
func actions(p *api.ManifestPlan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Kind+" "+c.Name+" "+c.Action)
	}
	return out
}

const shop = `automations:
  - name: shop.orders
    script: |
      start:
        return:
          body: orders v1
webhooks:
  - name: Orders
    event_kata: |
      automation/orders:
        uri: cerb:automation:shop.orders
  - name: Pinned
    event_kata_file: pinned.kata
    token_secret: PINNED_TOKEN
secrets:
  - name: PINNED_TOKEN
    from_env: PINNED
`

const pinnedToken = "0123456789abcdef0123456789abcdef01234567"

func shopFiles() map[string]string {
	return map[string]string{"shop.yaml": shop, "pinned.kata": "automation/orders:\n  uri: cerb:automation:shop.orders\n"}
}

func TestApply_CreateThenUnchangedThenUpdate(t *testing.T) {
	t.Parallel()
	a, b := setup(t)
	opts := Options{By: "token:test", SecretValue: secretValues(map[string]string{"PINNED": pinnedToken})}

	// A dry run changes nothing and shows no token.
	dry := opts
	dry.DryRun = true
	plan, err := a.Apply(b.ctx, Files(shopFiles()), dry)
	require.NoError(t, err)
	require.False(t, plan.Applied)
	require.Empty(t, plan.Webhooks)
	require.Equal(t, []string{"secret PINNED_TOKEN create", "automation shop.orders create", "webhook Orders create", "webhook Pinned create"}, actions(plan))
	autos, err := b.st.ListAutomations(b.ctx)
	require.NoError(t, err)
	require.Empty(t, autos)

	plan, err = a.Apply(b.ctx, Files(shopFiles()), opts)
	require.NoError(t, err)
	require.True(t, plan.Applied)
	require.Len(t, plan.Webhooks, 1, "the generated token is shown once; the pinned one never")
	require.Equal(t, "Orders", plan.Webhooks[0].Name)
	require.Equal(t, "http://hooks.test/webhooks/"+plan.Webhooks[0].Token, plan.Webhooks[0].URL)

	// The records are the manifest's, and the pinned token works.
	got, err := b.st.GetAutomation(b.ctx, "shop.orders")
	require.NoError(t, err)
	require.Equal(t, "manifest:shop.yaml", got.Owner)
	hook := b.hook(t, pinnedToken)
	require.Equal(t, "Pinned", hook.Webhook.Name)
	require.Equal(t, "PINNED_TOKEN", hook.Webhook.TokenSecret)
	require.NotNil(t, b.hook(t, plan.Webhooks[0].Token))

	// Again: nothing changes, nothing is written.
	before, err := b.st.ListAudit(b.ctx, store.AuditFilter{})
	require.NoError(t, err)
	plan, err = a.Apply(b.ctx, Files(shopFiles()), opts)
	require.NoError(t, err)
	require.False(t, plan.Applied)
	require.Equal(t, []string{"secret PINNED_TOKEN unchanged", "automation shop.orders unchanged", "webhook Orders unchanged", "webhook Pinned unchanged"}, actions(plan))
	after, err := b.st.ListAudit(b.ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Equal(t, before, after)

	// A new script and a new token value: updates with a diff.
	files := shopFiles()
	files["shop.yaml"] = strings.Replace(shop, "orders v1", "orders v2", 1)
	newToken := strings.Repeat("b", 40)
	opts.SecretValue = secretValues(map[string]string{"PINNED": newToken})
	plan, err = a.Apply(b.ctx, Files(files), opts)
	require.NoError(t, err)
	require.True(t, plan.Applied)
	require.Equal(t, []string{"secret PINNED_TOKEN update", "automation shop.orders update", "webhook Orders unchanged", "webhook Pinned update"}, actions(plan))
	require.Equal(t, []string{"value"}, plan.Changes[0].Fields)
	require.Empty(t, plan.Changes[0].Diff, "a secret's value is never shown")
	require.Equal(t, "--- shop.orders script (now)\n+++ shop.orders script (manifest)\n@@ -1,3 +1,3 @@\n start:\n   return:\n-    body: orders v1\n+    body: orders v2\n", plan.Changes[1].Diff)
	require.Equal(t, []string{"token"}, plan.Changes[3].Fields)
	require.Nil(t, b.hook(t, pinnedToken), "the old pinned token no longer works")
	require.NotNil(t, b.hook(t, newToken))

	// The audit log names the file, and the one who applied.
	entries, err := b.st.ListAudit(b.ctx, store.AuditFilter{Kind: store.KindWebhook, Name: "Pinned"})
	require.NoError(t, err)
	require.Equal(t, "rotate", entries[0].Action)
	require.Equal(t, "manifest:shop.yaml", entries[0].Actor)
	require.Equal(t, "manifest apply by token:test", entries[0].Detail)
	all, err := b.st.ListAudit(b.ctx, store.AuditFilter{Limit: store.MaxAuditLimit})
	require.NoError(t, err)
	for _, e := range all {
		for _, v := range []string{pinnedToken, newToken, plan.Changes[0].Name + "="} {
			require.NotContains(t, e.Detail+e.Name+e.Actor, v)
		}
	}
}

func TestApply_ProblemsHavePositionsAndChangeNothing(t *testing.T) {
	t.Parallel()
	a, b := setup(t)
	files := map[string]string{
		"a.yaml": `automations:
  - name: broken
    script: |
      start:
        return:
          body: {{ unclosed
  - name: from.file
    script_file: broken.kata
webhooks:
  - name: Hook
    event_kata: |
      automation/x:
        uri: cerb:automation:missing
  - name: Pinned
    event_kata: "automation/x:\n  uri: cerb:automation:from.file\n"
    token_secret: NOPE
secrets:
  - name: SHORT
    from_env: SHORT
  - name: UNSET
    from_env: UNSET
`,
		"broken.kata": "start:\n  bogus.command:\n",
	}
	_, err := a.Apply(b.ctx, Files(files), Options{SecretValue: secretValues(map[string]string{"SHORT": "x"})})
	var ps Problems
	require.ErrorAs(t, err, &ps)
	got := ps.Error()
	for _, want := range []string{
		`a.yaml:18:5: secret "SHORT": a secret value is 4 bytes to 64 KiB`,
		`a.yaml:20:5: secret "UNSET": not set`,
		`a.yaml:6:`,        // the unclosed template, in the YAML file
		`broken.kata:2:3:`, // the unknown command, in its file
		`a.yaml:12:7: webhook "Hook" event_kata: automation "missing" does not exist`,
		`a.yaml:16:19: webhook "Pinned": token_secret "NOPE" is not set`,
	} {
		require.Contains(t, got, want)
	}
	autos, err := b.st.ListAutomations(b.ctx)
	require.NoError(t, err)
	require.Empty(t, autos, "nothing was applied")
}

func TestApply_OwnershipPruneAndAdoption(t *testing.T) {
	t.Parallel()
	a, b := setup(t)
	opts := Options{SecretValue: secretValues(map[string]string{"PINNED": pinnedToken})}

	// A record made through the admin API with the name a manifest
	// declares is adopted: it keeps its ID and token.
	require.NoError(t, b.cat.CreateAutomation(b.ctx, &store.Automation{Name: "shop.orders", ExtensionID: "cerb.trigger.webhook.respond", Script: "start:\n"}))
	w := &store.Webhook{Name: "Orders", EventKATA: "automation/orders:\n  uri: cerb:automation:shop.orders\n", Enabled: true}
	tok, err := b.cat.CreateWebhook(b.ctx, w)
	require.NoError(t, err)

	plan, err := a.Apply(b.ctx, Files(shopFiles()), opts)
	require.NoError(t, err)
	require.Equal(t, []string{"secret PINNED_TOKEN create", "automation shop.orders update", "webhook Orders update", "webhook Pinned create"}, actions(plan))
	require.Equal(t, []string{"script", "owner"}, plan.Changes[1].Fields)
	require.Equal(t, []string{"owner"}, plan.Changes[2].Fields)
	require.Equal(t, w.ID, plan.Changes[2].ID)
	require.Empty(t, plan.Webhooks, "the adopted webhook keeps its token")
	require.Equal(t, "manifest:shop.yaml", b.hook(t, tok).Webhook.Owner)

	// The admin API may not change what a manifest owns, unless forced.
	err = b.cat.DeleteWebhook(b.ctx, w.ID)
	var prob *api.Problem
	require.ErrorAs(t, err, &prob)
	require.Equal(t, http.StatusConflict, prob.Status)
	require.Contains(t, prob.Detail, `webhook "`+w.ID+`" is managed by the manifest file shop.yaml`)
	_, err = b.cat.PutAutomation(b.ctx, &store.Automation{Name: "shop.orders", ExtensionID: "cerb.trigger.webhook.respond", Script: "start:\n"})
	require.ErrorAs(t, err, &prob)
	require.Equal(t, http.StatusConflict, prob.Status)
	_, err = b.cat.PutSecret(b.ctx, "PINNED_TOKEN", []byte("abcdefgh"))
	require.ErrorAs(t, err, &prob)
	require.Equal(t, http.StatusConflict, prob.Status)
	forced := catalog.WithActor(b.ctx, catalog.Actor{ID: "token:x", Force: true})
	_, err = b.cat.PutAutomation(forced, &store.Automation{Name: "shop.orders", ExtensionID: "cerb.trigger.webhook.respond", Script: "start:\n  return:\n    body: forced\n"})
	require.NoError(t, err)
	got, err := b.st.GetAutomation(b.ctx, "shop.orders")
	require.NoError(t, err)
	require.Equal(t, "manifest:shop.yaml", got.Owner, "a forced change keeps the owner")
	// ...and the next apply puts the manifest's version back.
	plan, err = a.Apply(b.ctx, Files(shopFiles()), opts)
	require.NoError(t, err)
	require.Equal(t, "automation shop.orders update", actions(plan)[1])

	// A file gone: its records are kept (with a warning) unless pruned.
	files := map[string]string{"other.yaml": "automations:\n  - name: other\n    script: \"start:\\n\"\n"}
	plan, err = a.Apply(b.ctx, Files(files), opts)
	require.NoError(t, err)
	require.Equal(t, []string{"secret PINNED_TOKEN keep", "automation other create", "automation shop.orders keep", "webhook Orders keep", "webhook Pinned keep"}, actions(plan))
	require.Len(t, plan.Warnings, 4)
	plan, err = a.Apply(b.ctx, Files(files), Options{Prune: true})
	require.NoError(t, err)
	require.Equal(t, []string{"secret PINNED_TOKEN delete", "automation other unchanged", "automation shop.orders delete", "webhook Orders delete", "webhook Pinned delete"}, actions(plan))
	_, err = b.st.GetAutomation(b.ctx, "shop.orders")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestApply_RefusesBreakingOthers(t *testing.T) {
	t.Parallel()
	a, b := setup(t)
	apply := func(script string, prune bool) error {
		_, err := a.Apply(b.ctx, Files(map[string]string{"a.yaml": "automations:\n  - name: deploy\n    script: |\n" + indent(script, "      ")}), Options{Prune: prune})
		return err
	}
	require.NoError(t, apply("inputs:\n  text/env:\nstart:\n  return:\n    body: ok\n", false))
	// A webhook made through the admin API passes env to it.
	_, err := b.cat.CreateWebhook(b.ctx, &store.Webhook{Name: "API hook", EventKATA: "automation/x:\n  uri: cerb:automation:deploy\n  inputs:\n    env: prod\n"})
	require.NoError(t, err)

	err = apply("start:\n  return:\n    body: ok\n", false)
	require.ErrorContains(t, err, "a.yaml:2:5: automation \"deploy\": the change would break a webhook this apply does not declare (the admin API's or another directory's)")
	require.ErrorContains(t, err, "input `env` is not declared")
	_, err = a.Apply(b.ctx, Files(map[string]string{"b.yaml": "secrets:\n"}), Options{Prune: true})
	require.ErrorContains(t, err, `a.yaml: automation "deploy": the change would break a webhook this apply does not declare (the admin API's or another directory's): webhook "API hook"`)
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

// TestExport_RoundTrip exports a state made by manifests and by the admin
// API, applies the export elsewhere and here: here nothing changes but the
// owner of what the admin API made; there, exporting again gives the same
// files.
func TestExport_RoundTrip(t *testing.T) {
	t.Parallel()
	a, b := setup(t)
	opts := Options{SecretValue: secretValues(map[string]string{"PINNED": pinnedToken})}
	_, err := a.Apply(b.ctx, Files(shopFiles()), opts)
	require.NoError(t, err)
	require.NoError(t, b.cat.CreateAutomation(b.ctx, &store.Automation{Name: "api.made", ExtensionID: "cerb.trigger.webhook.respond",
		Description: "yes: \"quoted\" # not a comment\nsecond line", Script: "start:\n  return:\n    body: {{ 'x' }}\n", PolicyKATA: "commands:\n  function:\n    allow: yes\n"}))
	exp := true
	for _, name := range []string{"null", "123", "true", " spaced ", "Ünïcode: ✓"} {
		w := &store.Webhook{Name: name, EventKATA: "automation/x:\n  uri: cerb:automation:api.made\n", Enabled: name != "123", Debug: exp}
		_, err := b.cat.CreateWebhook(b.ctx, w)
		require.NoError(t, err, name)
	}
	_, err = b.cat.PutSecret(b.ctx, "API_SECRET", []byte("hunter2hunter2"))
	require.NoError(t, err)

	files, err := Export(b.ctx, b.cat)
	require.NoError(t, err)
	require.Contains(t, files, "shop.yaml")
	require.Contains(t, files, ExportAutomations)
	for name, content := range files {
		require.NotContains(t, content, pinnedToken, name)
		require.NotContains(t, content, "hunter2", name)
	}

	// Here: only the owners of what the admin API made change.
	plan, err := a.Apply(b.ctx, Files(files), Options{})
	require.NoError(t, err)
	for _, c := range plan.Changes {
		if c.Action != api.ManifestUnchanged {
			require.Equal(t, store.ActionUpdate, c.Action, "%+v", c)
			require.Equal(t, []string{"owner"}, c.Fields, "%+v", c)
		}
	}
	again, err := a.Apply(b.ctx, Files(files), Options{})
	require.NoError(t, err)
	for _, c := range again.Changes {
		require.Equal(t, api.ManifestUnchanged, c.Action, "%+v", c)
	}
	exported, err := Export(b.ctx, b.cat)
	require.NoError(t, err)
	require.Equal(t, files, exported)

	// Elsewhere: the secrets the export names must be set there first.
	other, ob := setup(t)
	_, err = other.Apply(ob.ctx, Files(files), Options{})
	require.ErrorContains(t, err, `secret "API_SECRET" is not set`)
	for _, s := range []string{"API_SECRET", "PINNED_TOKEN"} {
		v := "hunter2hunter2"
		if s == "PINNED_TOKEN" {
			v = pinnedToken
		}
		_, err := ob.cat.PutSecret(ob.ctx, s, []byte(v))
		require.NoError(t, err)
	}
	_, err = other.Apply(ob.ctx, Files(files), Options{})
	require.NoError(t, err)
	there, err := Export(ob.ctx, ob.cat)
	require.NoError(t, err)
	require.Equal(t, files, there)
	// The pinned webhook has the same URL there.
	require.NotNil(t, ob.hook(t, pinnedToken))
}

func TestLocalSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.txt"), []byte("from a file\n"), 0o600))
	read := LocalSecrets(dir)
	v, err := read(&Secret{Name: "A", FromFile: "s.txt"})
	require.NoError(t, err)
	require.Equal(t, "from a file", v)
	_, err = read(&Secret{Name: "A", FromEnv: "HOOKHOST_TEST_SURELY_UNSET_VARIABLE"})
	require.ErrorContains(t, err, "HOOKHOST_TEST_SURELY_UNSET_VARIABLE (from_env:) is not set")
}

// TestApply_PinnedTokenTaken: a declaration pinning a token another
// webhook holds. Renaming a manifest's webhook keeps its ID and token
// under prune; without prune, or when another webhook holds the token,
// the plan says so at token_secret:, and the dry run agrees with the
// apply.
func TestApply_PinnedTokenTaken(t *testing.T) {
	t.Parallel()
	renamed := strings.Replace(shop, "- name: Pinned", "- name: Pinned v2", 1)
	for _, tc := range []struct {
		name    string
		prune   bool
		files   map[string]string
		admin   bool   // a webhook made through the admin API holds the token
		problem string // "": renamed
	}{
		{name: "renamed under prune", prune: true, files: map[string]string{"shop.yaml": renamed}},
		{name: "renamed without prune", files: map[string]string{"shop.yaml": renamed},
			problem: `shop.yaml:14:19: webhook "Pinned v2": token_secret "PINNED_TOKEN" holds the token of webhook "Pinned" (ID), which no manifest declares any more (shop.yaml did) and is kept: apply with prune to rename it, or rename it back`},
		{name: "pinned twice", prune: true, files: map[string]string{"shop.yaml": strings.Replace(shop, "secrets:", "  - name: Again\n    event_kata_file: pinned.kata\n    token_secret: PINNED_TOKEN\nsecrets:", 1)},
			problem: `shop.yaml:17:19: webhook "Again": token_secret "PINNED_TOKEN" holds the token webhook "Pinned" (shop.yaml:12:5) pins`},
		{name: "held by the admin API", prune: true, admin: true, files: map[string]string{"shop.yaml": renamed},
			problem: `webhook "Pinned v2": token_secret "PINNED_TOKEN" holds the token of webhook "Admin" (ID), made through the admin API`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := setup(t)
			opts := Options{By: "token:test", Prune: tc.prune, SecretValue: secretValues(map[string]string{"PINNED": pinnedToken})}
			_, err := a.Apply(b.ctx, Files(shopFiles()), opts)
			require.NoError(t, err)
			id := b.hook(t, pinnedToken).Webhook.ID
			if tc.admin {
				// The manifest's webhook gone, one made with its token.
				_, err := a.Apply(b.ctx, Files(map[string]string{"shop.yaml": strings.Replace(shop, "  - name: Pinned\n    event_kata_file: pinned.kata\n    token_secret: PINNED_TOKEN\n", "", 1)}), Options{Prune: true, SecretValue: opts.SecretValue})
				require.NoError(t, err)
				w := &store.Webhook{Name: "Admin", EventKATA: "automation/orders:\n  uri: cerb:automation:shop.orders\n", Enabled: true, TokenHash: catalog.TokenHash(pinnedToken)}
				require.NoError(t, b.st.CreateWebhook(b.ctx, w))
				id = w.ID
			}
			files := tc.files
			files["pinned.kata"] = shopFiles()["pinned.kata"]
			dry := opts
			dry.DryRun = true
			plan, dryErr := a.Apply(b.ctx, Files(files), dry)
			_, err = a.Apply(b.ctx, Files(files), opts)
			if tc.problem != "" {
				want := strings.ReplaceAll(tc.problem, "(ID)", "("+id+")")
				require.ErrorContains(t, dryErr, want)
				require.ErrorContains(t, err, want)
				require.Equal(t, id, b.hook(t, pinnedToken).Webhook.ID, "nothing changed")
				return
			}
			require.NoError(t, dryErr)
			require.Contains(t, actions(plan), "webhook Pinned v2 update")
			require.NotContains(t, actions(plan), "webhook Pinned delete")
			require.NoError(t, err)
			h := b.hook(t, pinnedToken).Webhook
			require.Equal(t, "Pinned v2", h.Name)
			require.Equal(t, id, h.ID, "a rename keeps the webhook's ID")
		})
	}
}

// TestApply_ConcurrentApplies: two applies planned against one state (two
// CI runs, two servers starting on one database) cannot both be written:
// the second is refused (a revision conflict) and, planned again, finds
// the first's webhook instead of creating a second with another token.
func TestApply_ConcurrentApplies(t *testing.T) {
	t.Parallel()
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := setupStore(t, open(t))
			opts := Options{By: "token:test", SecretValue: secretValues(map[string]string{"PINNED": pinnedToken})}
			for _, first := range []bool{true, false} { // with no revision yet, and with one
				files := shopFiles()
				extra := "Extra"
				if !first {
					extra = "Extra 2"
				}
				files["shop.yaml"] = strings.Replace(shop, "webhooks:\n", "webhooks:\n  - name: "+extra+"\n    event_kata: |\n      automation/orders:\n        uri: cerb:automation:shop.orders\n", 1)
				set, err := Parse(Files(files))
				require.NoError(t, err)
				p1, err := newPlanner(b.ctx, b.cat, set, opts)
				require.NoError(t, err)
				p1.plan()
				p2, err := newPlanner(b.ctx, b.cat, set, opts)
				require.NoError(t, err)
				p2.plan()
				require.Empty(t, p1.probs)
				require.NoError(t, b.cat.Apply(b.ctx, &store.ChangeSet{Changes: p1.changes}))
				err = b.cat.Apply(b.ctx, &store.ChangeSet{Changes: p2.changes})
				var prob *api.Problem
				require.ErrorAs(t, err, &prob)
				require.Equal(t, http.StatusConflict, prob.Status)

				// Planned again, the second apply has nothing to do.
				plan, err := a.ApplySet(b.ctx, set, opts)
				require.NoError(t, err)
				require.False(t, plan.Applied)
				hooks, err := b.st.ListWebhooks(b.ctx)
				require.NoError(t, err)
				n := 0
				for _, h := range hooks {
					if h.Name == extra {
						n++
					}
				}
				require.Equal(t, 1, n, "one webhook %s", extra)
			}
		})
	}
}
