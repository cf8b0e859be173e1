package host

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
)

// testPackage builds a package JSON: name, revision, and records as
// uid → record (automations have "script", webhooks "automations_kata").
func testPackage(t testing.TB, name string, revision int, records ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"package": map[string]any{"name": name, "revision": revision}, "records": records})
	require.NoError(t, err)
	return string(b)
}

func pkgAutomation(uid, name, script string) map[string]any {
	return map[string]any{"uid": uid, "_context": "automation", "name": name, "extension_id": "cerb.trigger.webhook.respond", "script": script}
}

func pkgWebhook(uid, name, event string) map[string]any {
	return map[string]any{"uid": uid, "_context": "webhook_listener", "name": name, "automations_kata": event}
}

// answering is a script that answers body.
func answering(body string) string {
	return "start:\n  return:\n    body: " + body + "\n"
}

// importResult posts a package and decodes the answer, which must have
// status want.
func (b *testBundle) importPackage(t testing.TB, query, pkg string, want int) api.ImportResult {
	t.Helper()
	r := b.admin(t, "POST", "/packages/import"+query, "application/json", pkg)
	require.Equal(t, want, r.Status, "%s", r.Body)
	var res api.ImportResult
	require.NoError(t, json.Unmarshal(r.Body, &res))
	return res
}

func TestPackages_Upgrade(t *testing.T) {
	t.Parallel()
	b := setup(t)

	rev1 := testPackage(t, "Shop", 1,
		pkgAutomation("a_orders", "shop.orders", answering("orders v1")),
		pkgAutomation("a_old", "shop.old", answering("old")),
		pkgWebhook("w_orders", "Orders", eventFor("shop.orders")))
	first := b.importPackage(t, "", rev1, http.StatusCreated)
	require.Equal(t, api.ImportFirst, first.Action)
	require.Len(t, first.Webhooks, 1)
	hook := first.Webhooks[0]
	token := hook.Token
	r := b.do(t, "POST", "/webhooks/"+token, "", "")
	require.Equal(t, "orders v1", string(r.Body))

	t.Run("SameRevisionIsANoOp", func(t *testing.T) {
		res := b.importPackage(t, "", rev1, http.StatusOK)
		require.Equal(t, api.ImportUnchanged, res.Action)
		require.Equal(t, first.RecordsCreated, res.RecordsCreated, "the records it created then")
		require.Empty(t, res.Webhooks, "no token is shown again")
		require.Empty(t, res.Warnings)
		// The same revision with other content says so, and still changes nothing.
		changed := testPackage(t, "Shop", 1, pkgAutomation("a_orders", "shop.orders", answering("sneaky")))
		res = b.importPackage(t, "", changed, http.StatusOK)
		require.Equal(t, api.ImportUnchanged, res.Action)
		require.Len(t, res.Warnings, 1)
		require.Contains(t, res.Warnings[0], "raise package.revision to upgrade")
		require.Equal(t, "orders v1", string(b.do(t, "POST", "/webhooks/"+token, "", "").Body))
	})

	rev2 := testPackage(t, "Shop", 2,
		pkgAutomation("a_orders", "shop.orders", answering("orders v2")),
		pkgAutomation("a_new", "shop.new", answering("new")),
		pkgWebhook("w_orders", "Orders v2", "# id {{{uid.w_orders}}}\n"+eventFor("shop.orders")),
		pkgWebhook("w_new", "New", eventFor("shop.new")))
	t.Run("HigherRevisionUpgradesInPlace", func(t *testing.T) {
		res := b.importPackage(t, "", rev2, http.StatusOK)
		require.Equal(t, api.ImportUpgrade, res.Action)
		require.Equal(t, 1, res.PreviousRevision)
		require.Equal(t, map[string]map[string]api.Created{
			"automation":       {"a_orders": {ID: "shop.orders", Label: "shop.orders"}},
			"webhook_listener": {"w_orders": {ID: hook.ID, Label: "Orders v2"}},
		}, res.RecordsUpdated)
		require.Contains(t, res.RecordsCreated["automation"], "a_new")
		require.Contains(t, res.RecordsCreated["webhook_listener"], "w_new")
		require.Len(t, res.Webhooks, 1, "only the new webhook's token is shown")
		require.Equal(t, "New", res.Webhooks[0].Name)
		require.Equal(t, map[string]map[string]api.Created{"automation": {"a_old": {ID: "shop.old", Label: "shop.old"}}}, res.RecordsKept)
		require.Len(t, res.Warnings, 1)
		require.Contains(t, res.Warnings[0], `no longer has automation "shop.old": kept`)

		// The webhook kept its ID and token, and runs the new script.
		r := b.do(t, "POST", "/webhooks/"+token, "", "")
		require.Equal(t, "orders v2", string(r.Body))
		w := b.admin(t, "GET", "/webhooks/"+hook.ID, "", "").json(t)
		require.Equal(t, "Orders v2", w["name"])
		require.Equal(t, "# id "+hook.ID+"\n"+eventFor("shop.orders"), w["event_kata"], "uid.* of a kept webhook is its ID")
		require.Equal(t, http.StatusOK, b.admin(t, "GET", "/automations/shop.old", "", "").Status, "kept")
		a := b.admin(t, "GET", "/automations/shop.orders", "", "").json(t)
		require.EqualValues(t, 2, a["revision"])
	})

	t.Run("LowerRevisionIsRefused", func(t *testing.T) {
		r := b.admin(t, "POST", "/packages/import", "application/json", rev1)
		require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
		require.Contains(t, r.problem(t).Detail, `package "Shop" is at revision 2 here; this is revision 1`)
	})

	t.Run("UpgradeThatBreaksAWebhookIsRefused", func(t *testing.T) {
		// shop.new declaring a required input the package's own webhook
		// does not give is refused on that webhook's record.
		declared := testPackage(t, "Shop", 3,
			pkgAutomation("a_orders", "shop.orders", answering("orders v2")),
			pkgAutomation("a_new", "shop.new", "inputs:\n  text/env:\n    required@bool: yes\n"+answering("new {{inputs.env}}")),
			pkgWebhook("w_orders", "Orders v2", eventFor("shop.orders")),
			pkgWebhook("w_new", "New", eventFor("shop.new")))
		r := b.admin(t, "POST", "/packages/import", "application/json", declared)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		require.Contains(t, r.problem(t).Errors[0].Message, "which automation \"shop.new\" requires")

		// A webhook made outside the package runs shop.new: a revision
		// that deletes it, or gives it another trigger, would fail its
		// every request.
		outside := "automation/x:\n  uri: cerb:automation:shop.new\n"
		id, _ := b.createWebhook(t, "Outside", outside)
		breaking := testPackage(t, "Shop", 3,
			pkgAutomation("a_orders", "shop.orders", answering("orders v2")),
			pkgAutomation("a_new", "shop.new", answering("new")),
			pkgWebhook("w_orders", "Orders v2", eventFor("shop.orders")))
		r = b.admin(t, "POST", "/packages/import?prune=true", "application/json", breaking)
		require.Equal(t, http.StatusOK, r.Status, "pruning only the webhook w_new breaks nothing: %s", r.Body)
		require.Contains(t, string(r.Body), `"records_deleted":{"webhook_listener"`)

		prune := testPackage(t, "Shop", 4,
			pkgAutomation("a_orders", "shop.orders", answering("orders v2")),
			pkgWebhook("w_orders", "Orders v2", eventFor("shop.orders")))
		r = b.admin(t, "POST", "/packages/import?prune=true", "application/json", prune)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		p := r.problem(t)
		require.Contains(t, p.Detail, "would break webhooks; nothing was changed")
		require.Len(t, p.Errors, 1)
		require.Contains(t, p.Errors[0].Message, `webhook "Outside" (`+id+`) runs automation "shop.new", which would be deleted`)
		require.Equal(t, http.StatusOK, b.admin(t, "GET", "/automations/shop.new", "", "").Status)

		trigger := testPackage(t, "Shop", 4,
			pkgAutomation("a_orders", "shop.orders", answering("orders v2")),
			map[string]any{"uid": "a_new", "_context": "automation", "name": "shop.new", "extension_id": "cerb.trigger.automation.function", "script": "start:\n"},
			pkgWebhook("w_orders", "Orders v2", eventFor("shop.orders")))
		r = b.admin(t, "POST", "/packages/import", "application/json", trigger)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	})

	t.Run("AuditNamesRevisions", func(t *testing.T) {
		r := b.admin(t, "GET", "/audit?kind=package&name=Shop", "", "")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var list api.AuditList
		require.NoError(t, json.Unmarshal(r.Body, &list))
		require.GreaterOrEqual(t, len(list.Entries), 3)
		last := list.Entries[0]
		require.Equal(t, "upgrade", last.Action)
		require.Equal(t, int64(2), last.OldRevision)
		require.Equal(t, int64(3), last.NewRevision)
		require.Equal(t, catalog.TokenActor(testAdminToken), last.Actor)
		require.Equal(t, "import", list.Entries[len(list.Entries)-1].Action)
	})
}

// TestPackages_ExportRoundTrip exports an imported (and upgraded) package,
// imports the export into another server, and exports it there: the two
// exports are the same, and importing the export where it came from
// changes nothing.
func TestPackages_ExportRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pkg := readFile(t, "../packages/library/echo-json.json")
	b.importPackage(t, "", `{"package":`+pkg+`,"prompts":{"prefix":"acme"}}`, http.StatusCreated)
	name := "Echo JSON"
	// Scripts with text an import would read as markup survive too.
	r := b.admin(t, "PUT", "/automations/acme.echo.json", "application/json",
		`{"extension_id":"cerb.trigger.webhook.respond","description":"keeps {{{ this }}} and {{% that %}}","script":"start:\n  return:\n    body: {{ 'x' }}\n"}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	r = b.admin(t, "GET", "/packages/"+url.PathEscape(name)+"/export", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	exported := string(r.Body)
	require.Contains(t, exported, `"name": "Echo JSON"`)
	require.NotContains(t, exported, "configure", "prompts were answered at import")

	other := setup(t)
	res := other.importPackage(t, "", exported, http.StatusCreated)
	require.Len(t, res.Webhooks, 1)
	r = other.admin(t, "GET", "/packages/"+url.PathEscape(name)+"/export", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, exported, string(r.Body))
	a := other.admin(t, "GET", "/automations/acme.echo.json", "", "").json(t)
	require.Equal(t, "keeps {{{ this }}} and {{% that %}}", a["description"])

	res = b.importPackage(t, "", exported, http.StatusOK)
	require.Equal(t, api.ImportUnchanged, res.Action)
	require.Empty(t, res.Warnings, "the export is what is stored")

	r = b.admin(t, "GET", "/packages/nope/export", "", "")
	require.Equal(t, http.StatusNotFound, r.Status)
	require.True(t, strings.Contains(r.problem(t).Detail, `no package "nope" was imported; the imported ones are `), r.problem(t).Detail)
	require.True(t, strings.Contains(r.problem(t).Detail, `"Echo JSON"`), "it names the packages one can export")

	r = setup(t).admin(t, "GET", "/packages/nope/export", "", "")
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Equal(t, `no package "nope" was imported: no package was imported yet`, r.problem(t).Detail)
}
