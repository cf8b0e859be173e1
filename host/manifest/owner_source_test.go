package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/store"
)

// teamManifest is a manifest of one automation, team.<name>.
func teamManifest(name string) string {
	return "automations:\n  - name: team." + name + "\n    script: |\n      start:\n        return:\n          body: " + name + "\n"
}

// The owner names the source (directory) and the file; without a source
// it is the file alone, as before sources were recorded.
func TestManifestOwner_SourceAndFile(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ source, file, owner string }{
		{"", "hooks.yaml", "manifest:hooks.yaml"},
		{"/srv/manifests", "hooks.yaml", "manifest:/srv/manifests/hooks.yaml"},
		{"/", "a:b.yaml", "manifest://a:b.yaml"},
		{"C:/ops/m", "x.yml", "manifest:C:/ops/m/x.yml"},
		{"prod", "hooks.yaml", "manifest:prod/hooks.yaml"},
	} {
		o := catalog.ManifestOwner(c.source, c.file)
		require.Equal(t, c.owner, o)
		require.Equal(t, c.file, catalog.ManifestFile(o), o)
		require.Equal(t, c.source, catalog.ManifestSource(o), o)
	}
	require.Equal(t, "", catalog.ManifestFile("token:x"))
	require.Equal(t, "", catalog.ManifestSource("token:x"))
	require.Equal(t, "/srv/m/hooks.yaml", catalog.ManifestPath("manifest:/srv/m/hooks.yaml"))
}

// The watcher (always prune) and hookhost apply -f of another directory
// (with prune) on one server: neither deletes what the other applied.
func TestWatch_OtherSourcesAreNotPruned(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hooks.yaml")
	require.NoError(t, os.WriteFile(file, []byte(watchManifest("v1")), 0o600))
	w, b, _, _ := watchSetup(t, dir)
	require.NoError(t, w.Healthy())

	other := "/ci/checkout/team"
	a := NewApplier(b.cat)
	_, err := a.Apply(b.ctx, Files(map[string]string{"team.yaml": teamManifest("other")}), Options{By: "token:ci", Source: other, Prune: true})
	require.NoError(t, err)
	got, err := b.st.GetAutomation(b.ctx, "team.other")
	require.NoError(t, err)
	require.Equal(t, "manifest:/ci/checkout/team/team.yaml", got.Owner)
	watched, err := b.st.GetAutomation(b.ctx, "watched")
	require.NoError(t, err, "apply --prune of another directory leaves the watched directory's")
	require.Equal(t, catalog.ManifestOwner(filepath.ToSlash(w.dir), "hooks.yaml"), watched.Owner)

	writeAtomic(t, file, watchManifest("v2"))
	waitFor(t, "v2 applied", func() bool { return strings.Contains(b.script(t), "body: v2") })
	_, err = b.st.GetAutomation(b.ctx, "team.other")
	require.NoError(t, err, "an apply of another directory is not the watched directory's to delete")

	// Another apply of that directory, which no longer declares it, prunes
	// its own record only.
	_, err = a.Apply(b.ctx, Files(map[string]string{"team.yaml": teamManifest("renamed")}), Options{By: "token:ci", Source: other, Prune: true})
	require.NoError(t, err)
	_, err = b.st.GetAutomation(b.ctx, "team.other")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Contains(t, b.script(t), "body: v2")
}

// apply --prune of directory A deletes what A no longer declares, and
// none of directory B's records (automations, webhooks, secrets); a
// record of B that A declares is taken over.
func TestApply_PruneOnlyItsSource(t *testing.T) {
	t.Parallel()
	a, b := setup(t)
	opts := Options{By: "token:test", Source: "/repo/b", SecretValue: secretValues(map[string]string{"PINNED": pinnedToken})}
	_, err := a.Apply(b.ctx, Files(shopFiles()), opts)
	require.NoError(t, err)
	_, err = a.Apply(b.ctx, Files(map[string]string{"a.yaml": teamManifest("a")}), Options{Source: "/repo/a"})
	require.NoError(t, err)

	plan, err := a.Apply(b.ctx, Files(map[string]string{"a.yaml": teamManifest("a2")}), Options{Source: "/repo/a", Prune: true})
	require.NoError(t, err)
	require.Equal(t, []string{"automation team.a delete", "automation team.a2 create"}, actions(plan), "B's records are not A's to list")
	require.Equal(t, "a.yaml", plan.Changes[0].File)
	for _, name := range []string{"shop.orders"} {
		got, err := b.st.GetAutomation(b.ctx, name)
		require.NoError(t, err)
		require.Equal(t, "manifest:/repo/b/shop.yaml", got.Owner)
	}
	require.Equal(t, "manifest:/repo/b/shop.yaml", b.hook(t, pinnedToken).Webhook.Owner)
	owners, err := b.st.SecretOwners(b.ctx)
	require.NoError(t, err)
	require.Equal(t, "manifest:/repo/b/shop.yaml", owners["PINNED_TOKEN"])

	// Without prune, B's records are not A's to keep (no warning).
	plan, err = a.Apply(b.ctx, Files(map[string]string{"a.yaml": teamManifest("a2")}), Options{Source: "/repo/a"})
	require.NoError(t, err)
	require.Equal(t, []string{"automation team.a2 unchanged"}, actions(plan))
	require.Empty(t, plan.Warnings)

	// A declaring B's automation takes it over; B's next prune leaves it.
	moved := teamManifest("a2") + "  - name: shop.orders\n    script: |\n      start:\n        return:\n          body: orders v1\n"
	plan, err = a.Apply(b.ctx, Files(map[string]string{"a.yaml": moved}), Options{Source: "/repo/a", Prune: true})
	require.NoError(t, err)
	require.Equal(t, []string{"automation shop.orders update", "automation team.a2 unchanged"}, actions(plan))
	require.Equal(t, []string{"owner"}, plan.Changes[0].Fields)
	bOnly := shopFiles()
	bOnly["shop.yaml"] = strings.Replace(shop, "automations:\n  - name: shop.orders\n    script: |\n      start:\n        return:\n          body: orders v1\n", "", 1)
	plan, err = a.Apply(b.ctx, Files(bOnly), Options{Source: "/repo/b", Prune: true, SecretValue: opts.SecretValue})
	require.NoError(t, err)
	require.NotContains(t, actions(plan), "automation shop.orders delete")
	got, err := b.st.GetAutomation(b.ctx, "shop.orders")
	require.NoError(t, err)
	require.Equal(t, "manifest:/repo/a/a.yaml", got.Owner)
}

// Records applied before sources were recorded ("manifest:<file>"): a
// source declaring one adopts it; one it does not declare is never pruned
// by a source's apply (it may be another directory's), only by an apply
// without a source, as before.
func TestApply_OldOwnersAdoptedNotPruned(t *testing.T) {
	t.Parallel()
	a, b := setup(t)
	old := map[string]string{"team.yaml": teamManifest("kept") + "  - name: team.adopted\n    script: \"start:\\n\"\n"}
	_, err := a.Apply(b.ctx, Files(old), Options{})
	require.NoError(t, err)
	got, err := b.st.GetAutomation(b.ctx, "team.kept")
	require.NoError(t, err)
	require.Equal(t, "manifest:team.yaml", got.Owner, "an apply without a source writes the old form")

	files := map[string]string{"team.yaml": "automations:\n  - name: team.adopted\n    script: \"start:\\n\"\n"}
	plan, err := a.Apply(b.ctx, Files(files), Options{Source: "/srv/manifests", Prune: true})
	require.NoError(t, err)
	require.Equal(t, []string{"automation team.adopted update"}, actions(plan))
	require.Equal(t, []string{"owner"}, plan.Changes[0].Fields)
	require.Contains(t, plan.Changes[0].Diff, "manifest:/srv/manifests/team.yaml")
	got, err = b.st.GetAutomation(b.ctx, "team.adopted")
	require.NoError(t, err)
	require.Equal(t, "manifest:/srv/manifests/team.yaml", got.Owner)
	got, err = b.st.GetAutomation(b.ctx, "team.kept")
	require.NoError(t, err, "a record of no recorded source is not a source's to prune")
	require.Equal(t, "manifest:team.yaml", got.Owner)

	// An apply without a source prunes it, as before, and not the adopted one.
	plan, err = a.Apply(b.ctx, Files(map[string]string{"x.yaml": teamManifest("x")}), Options{Prune: true})
	require.NoError(t, err)
	require.Equal(t, []string{"automation team.kept delete", "automation team.x create"}, actions(plan))
	_, err = b.st.GetAutomation(b.ctx, "team.adopted")
	require.NoError(t, err)
}
