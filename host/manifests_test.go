package host

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
)

// applyManifests posts a manifest apply and returns the answer.
func (b *testBundle) applyManifests(t testing.TB, in api.ManifestApply) response {
	t.Helper()
	body, err := json.Marshal(in)
	require.NoError(t, err)
	return b.admin(t, "POST", "/manifests/apply", "application/json", string(body))
}

const manifestHooks = `automations:
  - name: m.echo
    script: |
      start:
        return:
          body: hello {{request_params.name}}
webhooks:
  - name: Echo
    event_kata_file: echo.kata
  - name: Signed
    event_kata: |
      verify/sig:
        type: github
        secret: {{secrets.SIGNING}}
      automation/echo:
        uri: cerb:automation:m.echo
    token_secret: SIGNED_TOKEN
secrets:
  - name: SIGNING
    from_env: SIGNING
  - name: SIGNED_TOKEN
    from_file: token.txt
`

func manifestFiles() map[string]string {
	return map[string]string{"hooks.yaml": manifestHooks, "echo.kata": "automation/echo:\n  uri: cerb:automation:m.echo\n"}
}

const signedToken = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"

func TestManifests_ApplyOverTheAdminAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secrets := map[string]string{"SIGNING": "signing-secret-value", "SIGNED_TOKEN": signedToken}

	r := b.applyManifests(t, api.ManifestApply{Files: manifestFiles(), Secrets: secrets, DryRun: true})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var plan api.ManifestPlan
	require.NoError(t, json.Unmarshal(r.Body, &plan))
	require.False(t, plan.Applied)
	require.Len(t, plan.Changes, 5)

	r = b.applyManifests(t, api.ManifestApply{Files: manifestFiles(), Secrets: secrets, Source: "./manifests"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &plan))
	require.True(t, plan.Applied)
	require.Len(t, plan.Webhooks, 1)
	echo := plan.Webhooks[0]
	require.Equal(t, "Echo", echo.Name)
	r = b.do(t, "GET", "/webhooks/"+echo.Token+"?name=Ann", "", "")
	require.Equal(t, "hello Ann", string(r.Body))
	// The pinned webhook answers on the secret's token (its verify block
	// refuses an unsigned call: the webhook is there).
	r = b.do(t, "POST", "/webhooks/"+signedToken, "", "")
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)

	// What a manifest owns, the admin API leaves alone unless forced.
	var list api.WebhookList
	require.NoError(t, json.Unmarshal(b.admin(t, "GET", "/webhooks", "", "").Body, &list))
	require.Len(t, list.Webhooks, 2)
	require.Equal(t, "manifest:hooks.yaml", list.Webhooks[0].Owner)
	id := echo.ID
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/automations/m.echo", `{"extension_id":"cerb.trigger.webhook.respond","script":"start:\n"}`},
		{"DELETE", "/automations/m.echo", ""},
		{"PATCH", "/webhooks/" + id, `{"enabled":false}`},
		{"DELETE", "/webhooks/" + id, ""},
		{"POST", "/webhooks/" + id + "/rotate", ""},
		{"PUT", "/secrets/SIGNING", `{"value":"another-value"}`},
		{"DELETE", "/secrets/SIGNING", ""},
	} {
		r := b.admin(t, c.method, c.path, "application/json", c.body)
		require.Equal(t, http.StatusConflict, r.Status, "%s %s: %s", c.method, c.path, r.Body)
		require.Contains(t, r.problem(t).Detail, "is managed by the manifest file hooks.yaml", "%s %s", c.method, c.path)
	}
	r = b.admin(t, "PATCH", "/webhooks/"+id+"?force=true", "application/json", `{"enabled":false}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "manifest:hooks.yaml", r.json(t)["owner"])
	r = b.admin(t, "GET", "/audit?limit=1", "", "")
	require.Contains(t, string(r.Body), `"action":"update","old_revision":1,"new_revision":2,"detail":"with ?force=true"`)

	// The next apply puts the manifest's state back, with a diff.
	r = b.applyManifests(t, api.ManifestApply{Files: manifestFiles(), Secrets: secrets})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &plan))
	var echoChange api.ManifestChange
	for _, c := range plan.Changes {
		if c.Name == "Echo" {
			echoChange = c
		}
	}
	require.Equal(t, api.ManifestChange{Kind: "webhook", Name: "Echo", ID: id, Action: "update", File: "hooks.yaml",
		Fields: []string{"enabled"}, Diff: "-enabled: false\n+enabled: true\n"}, echoChange)

	// The export applies back unchanged.
	r = b.admin(t, "GET", "/manifests/export", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var exp api.ManifestExport
	require.NoError(t, json.Unmarshal(r.Body, &exp))
	r = b.applyManifests(t, api.ManifestApply{Files: exp.Files})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &plan))
	require.False(t, plan.Applied)
	for _, c := range plan.Changes {
		require.Equal(t, "unchanged", c.Action, "%+v", c)
	}

	// The audit log: who, what, when; never a secret's value or a token.
	r = b.admin(t, "GET", "/audit", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	for _, leak := range []string{"signing-secret-value", signedToken, echo.Token, testAdminToken} {
		require.NotContains(t, string(r.Body), leak)
	}
	var audit api.AuditList
	require.NoError(t, json.Unmarshal(r.Body, &audit))
	actors := map[string]bool{}
	for _, e := range audit.Entries {
		actors[e.Actor] = true
	}
	require.Equal(t, map[string]bool{"manifest:hooks.yaml": true, catalog.TokenActor(testAdminToken): true}, actors)
	require.Contains(t, string(r.Body), `"detail":"manifest apply by `+catalog.TokenActor(testAdminToken)+` from ./manifests"`)
}

func TestManifests_Problems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.applyManifests(t, api.ManifestApply{Files: manifestFiles()})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	p := r.problem(t)
	require.Equal(t, "the manifests were not applied; nothing was changed", p.Detail)
	require.Len(t, p.Errors, 2, "one problem per secret, nothing more: %s", r.Body)
	require.Contains(t, p.Errors, api.ProblemItem{Field: "hooks.yaml", Line: 19, Column: 5,
		Message: `secret "SIGNING": its value was not sent (hookhost apply reads from_env: and from_file: where it runs, and sends the values)`})

	files := manifestFiles()
	files["echo.kata"] = "automation/echo:\n  uri: cerb:automation:m.echo\n  bogus: 1\n"
	files["hooks.yaml"] = strings.Replace(manifestHooks, "hello {{", "hello {% if %}{{", 1)
	r = b.applyManifests(t, api.ManifestApply{Files: files, Secrets: map[string]string{"SIGNING": "signing-secret-value", "SIGNED_TOKEN": signedToken}})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	var at []string
	for _, it := range r.problem(t).Errors {
		at = append(at, it.Field+":"+strconv.Itoa(it.Line))
	}
	require.Contains(t, at, "hooks.yaml:6", "the script's template, in the YAML file")
	require.Contains(t, at, "echo.kata:3", "the event KATA's key, in its file")

	r = b.admin(t, "POST", "/manifests/apply", "application/json", `{"files":{}}`)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	r = b.admin(t, "GET", "/audit?kind=nope", "", "")
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	r = b.admin(t, "GET", "/audit?since=yesterday", "", "")
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	r = b.admin(t, "GET", "/audit?limit=0", "", "")
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
}

func TestAudit_PagesAndFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 3 {
		b.createAutomation(t, "a"+strconv.Itoa(i), "start:\n", "")
	}
	r := b.admin(t, "PUT", "/secrets/s1", "text/plain", "secret-value-1")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)

	r = b.admin(t, "GET", "/audit?limit=2", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var page api.AuditList
	require.NoError(t, json.Unmarshal(r.Body, &page))
	require.Len(t, page.Entries, 2)
	require.Equal(t, "secret", page.Entries[0].Kind)
	require.Equal(t, "s1", page.Entries[0].Name)
	require.NotZero(t, page.NextBefore)
	r = b.admin(t, "GET", "/audit?limit=2&before="+strconv.FormatInt(page.NextBefore, 10), "", "")
	require.NoError(t, json.Unmarshal(r.Body, &page))
	require.Len(t, page.Entries, 2)
	require.Equal(t, "a0", page.Entries[1].Name)
	require.NotContains(t, string(r.Body), "secret-value-1")

	r = b.admin(t, "GET", "/audit?kind=automation&name=a1&since=1h", "", "")
	page = api.AuditList{}
	require.NoError(t, json.Unmarshal(r.Body, &page))
	require.Len(t, page.Entries, 1)
	require.Equal(t, "create", page.Entries[0].Action)
	require.Equal(t, int64(1), page.Entries[0].NewRevision)
	require.Zero(t, page.NextBefore)
}
