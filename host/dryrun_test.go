package host

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
)

// dryRunScript is an automation with every kind of side effect: an
// http.request (with on_simulate:), a storage.set (without), a log line
// that reads its inputs, and an answer built from what it got.
func dryRunScript(target string) string {
	return `inputs:
  text/environment:
  text/api_key:
start:
  log: deploying to {{inputs.environment}} with {{inputs.api_key}}
  http.request/notify:
    output: resp
    inputs:
      url: ` + target + `
      method: POST
      headers:
        Authorization: Bearer {{secrets.notify_token}}
    on_simulate:
      simulate.success:
        status_code@int: 202
        body: queued
  storage.set:
    inputs:
      key: last_deploy
      value: {{inputs.environment}}
  return:
    status_code: 200
    headers:
      Content-Type: text/plain
    body: {{inputs.environment}} notify={{resp.status_code}} {{resp.body}} key={{inputs.api_key}}
`
}

const dryRunPolicy = "commands:\n  http.request:\n    allow@bool: yes\n  storage.set:\n    allow@bool: yes\n"

const dryRunEvent = `verify/github:
  type: github
  secret: {{secrets.github_hook}}
automation/main:
  uri: cerb:automation:example.deploy
  inputs:
    environment: staging
    api_key: {{secrets.deploy_key}}
`

// dryRunSecrets are the stored secrets of the dry run tests.
var dryRunSecrets = map[string]string{
	"github_hook":  "gh-Hook-Secret-71c2",
	"deploy_key":   "dk-live-Deploy-4f2a9c",
	"notify_token": "nt-Notify-Token-90ab",
}

// dryRunBundle is a server with the dry run automation, its secrets, a
// receiver that counts what reaches it, and the webhook.
type dryRunBundle struct {
	*testBundle
	hits      *atomic.Int32
	webhookID string
	token     string
}

func setupDryRun(t *testing.T, mutate ...func(*Config)) *dryRunBundle {
	t.Helper()
	b := setup(t, mutate...)
	hits := &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("sent"))
	}))
	t.Cleanup(srv.Close)
	for name, v := range dryRunSecrets {
		r := b.admin(t, "PUT", "/secrets/"+name, "text/plain", v)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	}
	b.createAutomation(t, "example.deploy", dryRunScript(srv.URL+"/notify"), dryRunPolicy)
	id, tok := b.createWebhook(t, "deploy", dryRunEvent)
	return &dryRunBundle{testBundle: b, hits: hits, webhookID: id, token: tok}
}

// dryRun posts a dry run of in and decodes the answer.
func (b *testBundle) dryRun(t *testing.T, webhookID string, in any) (response, api.DryRun) {
	t.Helper()
	body, err := json.Marshal(in)
	require.NoError(t, err)
	r := b.admin(t, "POST", "/webhooks/"+webhookID+"/dry-run", "application/json", string(body))
	var out api.DryRun
	if r.Status == http.StatusOK {
		require.NoError(t, json.Unmarshal(r.Body, &out), "%s", r.Body)
	}
	return r, out
}

// requireNothingWritten checks that no request record, no job and no
// stored key exist, and that nothing reached the receiver.
func (b *dryRunBundle) requireNothingWritten(t *testing.T, records int) {
	t.Helper()
	require.Len(t, b.listRequests(t, "webhook="+b.webhookID), records, "no request record")
	r := b.admin(t, "GET", "/jobs", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	var jobs api.JobList
	require.NoError(t, json.Unmarshal(r.Body, &jobs))
	require.Empty(t, jobs.Jobs, "no job")
	_, found, err := b.srv.catalog.Store().KVGet(context.Background(), "automations", "last_deploy", time.Now())
	require.NoError(t, err)
	require.False(t, found, "nothing stored")
	require.Zero(t, b.hits.Load(), "nothing sent")
}

// TestDryRun_ComposedRequest dry-runs a composed request in-process and
// with real extension processes: the verify verdict is reported (not
// enforced), the handler, its rendered inputs and the secrets it reads are
// shown (names only), the side-effect commands do not run (on_simulate:
// answers for the http.request), and nothing is written or sent.
func TestDryRun_ComposedRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate []func(*Config)
	}{
		{"InProcess", nil},
		{"OutOfProcess", []func(*Config){outOfProcess}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupDryRun(t, tc.mutate...)
			r, out := b.dryRun(t, b.webhookID, api.DryRunInput{Request: &api.ComposedRequest{
				Method: "POST", Path: "a/b", Query: [][2]string{{"ref", "v1"}},
				Headers: [][2]string{{"Content-Type", "application/json"}}, Body: `{"x":1}`}})
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

			require.Len(t, out.Verify, 1)
			require.Equal(t, "verify/github", out.Verify[0].Block)
			require.False(t, out.Verify[0].OK)
			require.Equal(t, "fail", out.Verify[0].Verdict)
			require.Equal(t, "missing X-Hub-Signature-256 header", out.Verify[0].Reason)
			require.Equal(t, "automation/main", out.Handler)
			require.Equal(t, "example.deploy", out.Automation)
			require.JSONEq(t, `{"environment":"staging","api_key":"[redacted]"}`, string(out.Inputs))
			require.Equal(t, []string{"deploy_key", "github_hook", "notify_token"}, out.Secrets)
			require.False(t, out.Job)
			require.Nil(t, out.Problem)
			require.NotNil(t, out.Response)
			require.Equal(t, http.StatusOK, out.Response.Status)
			require.Equal(t, "staging notify=202 queued key=[redacted]", out.Response.Body)
			require.Equal(t, [][2]string{{"Content-Type", "text/plain;charset=UTF-8"}}, out.Response.Headers)
			require.Equal(t, []api.SideEffect{
				{Command: "http.request", Node: "start:http.request/notify:", Simulated: true, OnSimulate: true},
				{Command: "storage.set", Node: "start:storage.set:", Simulated: true},
			}, out.SideEffects)
			require.NotEmpty(t, out.Log)
			require.Equal(t, "deploying to staging with [redacted]", out.Log[0].Message)
			require.Contains(t, strings.Join(out.Notes, "\n"), "verify blocks are reported, not enforced: a real request is refused by verify/github")

			b.requireNothingWritten(t, 0)
			values := make([]string, 0, len(dryRunSecrets))
			for _, v := range dryRunSecrets {
				values = append(values, v)
			}
			requireNoLeak(t, "the dry run", string(r.Body), values...)
		})
	}
}

// TestDryRun_RecordedRequest dry-runs a request recorded by a real call:
// its redacted credentials make the verify verdict unknown, its query and
// body are the recorded ones, and no new record is written.
func TestDryRun_RecordedRequest(t *testing.T) {
	t.Parallel()
	b := setupDryRun(t)
	body := `{"ref":"main"}`
	r := b.do(t, "POST", "/webhooks/"+b.token+"?ref=v9", "application/json", body,
		"X-Hub-Signature-256", githubSignature(dryRunSecrets["github_hook"], body))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.EqualValues(t, 1, b.hits.Load(), "the real request sent its notification")
	b.hits.Store(0)
	_, _ = b.srv.catalog.Store().KVDelete(context.Background(), "automations", "last_deploy")
	recs := b.listRequests(t, "webhook="+b.webhookID)
	require.Len(t, recs, 1)

	r, out := b.dryRun(t, b.webhookID, api.DryRunInput{RecordID: recs[0].ID})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "unknown", out.Verify[0].Verdict)
	require.Contains(t, out.Verify[0].Reason, "the record redacts its value")
	require.Equal(t, "staging notify=202 queued key=[redacted]", out.Response.Body)
	require.Contains(t, strings.Join(out.Notes, "\n"), "the request of record "+recs[0].ID)
	b.requireNothingWritten(t, 1)

	r, _ = b.dryRun(t, b.webhookID, api.DryRunInput{RecordID: "0190b1a4-0000-7000-8000-000000000000"})
	require.Equal(t, http.StatusNotFound, r.Status)
}

// TestDryRun_JobHandler dry-runs a job: handler: it runs at once,
// simulated, and no job is queued.
func TestDryRun_JobHandler(t *testing.T) {
	t.Parallel()
	b := setupDryRun(t)
	id, _ := b.createWebhook(t, "job", "automation/deploy:\n  uri: cerb:automation:example.deploy\n  inputs:\n    environment: production\n  job:\n    max_attempts@int: 2\n")
	b.webhookID = id
	r, out := b.dryRun(t, id, api.DryRunInput{Request: &api.ComposedRequest{}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.True(t, out.Job)
	require.Equal(t, "automation/deploy", out.Handler)
	require.Empty(t, out.Verify)
	require.Equal(t, "production notify=202 queued key=", out.Response.Body)
	require.Contains(t, strings.Join(out.Notes, "\n"), "a job: handler")
	b.requireNothingWritten(t, 0)
}

// TestDryRun_Problems covers the answers other than the automation's:
// what the webhook would answer instead (in the dry run's problem), and
// the dry run's own errors.
func TestDryRun_Problems(t *testing.T) {
	t.Parallel()
	b := setupDryRun(t)
	b.createAutomation(t, "fails", "start:\n  error: broke with {{secrets.deploy_key}}\n", "")
	b.createAutomation(t, "denied", "start:\n  http.request:\n    output: r\n    inputs:\n      url: http://127.0.0.1:9/\n  return:\n    body: no\n", "")
	skip, _ := b.createWebhook(t, "skip", "automation/main:\n  uri: cerb:automation:example.deploy\n  disabled@bool: yes\n")
	fails, _ := b.createWebhook(t, "fails", eventFor("fails"))
	denied, _ := b.createWebhook(t, "denied", eventFor("denied"))
	disabled, _ := b.createWebhook(t, "off", eventFor("fails"))
	require.Equal(t, http.StatusOK, b.admin(t, "PATCH", "/webhooks/"+disabled, "application/json", `{"enabled":false}`).Status)
	composed := api.DryRunInput{Request: &api.ComposedRequest{}}
	for _, tc := range []struct {
		name    string
		webhook string
		in      any
		status  int    // of the dry run
		problem int    // of the webhook, in the answer
		detail  string // of either
		note    string
		effects []api.SideEffect
	}{
		{name: "NoHandler", webhook: skip, in: composed, status: http.StatusOK, problem: http.StatusNotFound, detail: "no enabled handler for this request"},
		{name: "AutomationFails", webhook: fails, in: composed, status: http.StatusOK, problem: http.StatusInternalServerError, detail: "broke with [redacted]"},
		{name: "PolicyDenies", webhook: denied, in: composed, status: http.StatusOK, problem: http.StatusInternalServerError,
			detail:  "The automation policy does not allow this command (http.request).",
			effects: []api.SideEffect{{Command: "http.request", Node: "start:http.request:", Simulated: false}}},
		{name: "Disabled", webhook: disabled, in: composed, status: http.StatusOK, problem: http.StatusInternalServerError, note: "the webhook is disabled"},
		{name: "NeitherRecordNorRequest", webhook: fails, in: map[string]any{}, status: http.StatusBadRequest},
		{name: "Both", webhook: fails, in: map[string]any{"record_id": "x", "request": map[string]any{}}, status: http.StatusBadRequest},
		{name: "UnknownField", webhook: fails, in: map[string]any{"requset": map[string]any{}}, status: http.StatusBadRequest},
		{name: "BadMethod", webhook: fails, in: api.DryRunInput{Request: &api.ComposedRequest{Method: "GE T"}}, status: http.StatusBadRequest},
		{name: "BadClientIP", webhook: fails, in: api.DryRunInput{Request: &api.ComposedRequest{ClientIP: "nope"}}, status: http.StatusBadRequest},
		{name: "UnknownWebhook", webhook: "no-such-webhook", in: composed, status: http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, out := b.dryRun(t, tc.webhook, tc.in)
			require.Equal(t, tc.status, r.Status, "%s", r.Body)
			if tc.status != http.StatusOK {
				return
			}
			require.NotNil(t, out.Problem, "%s", r.Body)
			require.Nil(t, out.Response)
			require.Equal(t, tc.problem, out.Problem.Status)
			require.Contains(t, out.Problem.Detail, tc.detail)
			require.Contains(t, strings.Join(out.Notes, "\n"), tc.note)
			if tc.effects != nil {
				require.Equal(t, tc.effects, out.SideEffects)
			}
			requireNoLeak(t, "the dry run", string(r.Body), dryRunSecrets["deploy_key"])
		})
	}
	b.requireNothingWritten(t, 0)
}

// labWebhook is an event KATA with a block of every kind the lab signs or
// fills in.
const labWebhook = `verify/github:
  type: github
  secret: {{secrets.github_hook}}
verify/token:
  type: bearer
  token: {{secrets.lab_token}}
verify/sw:
  type: standard_webhooks
  secret: {{secrets.lab_whsec}}
verify/ip:
  type: ip_allow
  cidrs@list:
    127.0.0.1
automation/main:
  uri: cerb:automation:echo
`

// TestVerifyLab asks the lab for a sample of every block and sends the
// samples, as a sender would (the token in place of its placeholder), to
// the webhook over real 127.0.0.1 traffic: they pass. No answer holds a
// secret; a block whose secret is not set says which.
func TestVerifyLab(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lc := &liveClient{base: liveServer(t, b), adminToken: testAdminToken}
	secrets := map[string]string{"github_hook": "lab-GitHub-Secret-0c1d", "lab_token": "lab-Bearer-Token-6e7f",
		"lab_whsec": "whsec_" + base64.StdEncoding.EncodeToString([]byte("lab-Standard-Key-2a3b"))}
	for name, v := range secrets {
		require.Equal(t, http.StatusCreated, lc.admin(t, "PUT", "/secrets/"+name, "text/plain", v).status)
	}
	b.createAutomation(t, "echo", "start:\n  return:\n    body: got {{request_body}}\n", "")
	id, tok := b.createWebhook(t, "lab", labWebhook)

	r := lc.admin(t, "GET", "/webhooks/"+id+"/verify-lab", "", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	requireNoLeak(t, "the verify lab", r.body, secrets["github_hook"], secrets["lab_token"], secrets["lab_whsec"],
		strings.TrimPrefix(secrets["lab_whsec"], "whsec_"))
	var lab api.VerifyLab
	require.NoError(t, json.Unmarshal([]byte(r.body), &lab))
	require.Len(t, lab.Blocks, 4)
	var headers []string
	for _, blk := range lab.Blocks {
		require.Empty(t, blk.Error, blk.Block)
		require.NotNil(t, blk.Sample, blk.Block)
		require.Equal(t, `{"hello":"world"}`, blk.Sample.Body)
		require.Contains(t, blk.Sample.Curl, `"${WEBHOOK_URL}"`)
		require.NotContains(t, blk.Sample.Curl, tok)
		for _, h := range blk.Sample.Headers {
			if h[0] == "Content-Type" {
				continue
			}
			headers = append(headers, h[0], strings.ReplaceAll(h[1], "<the token in secret lab_token>", secrets["lab_token"]))
		}
	}
	require.Equal(t, []string{"127.0.0.1/32"}, lab.Blocks[3].Allowed)
	require.True(t, lab.Blocks[1].Sample.Placeholder)
	require.Contains(t, lab.Blocks[1].Sample.Curl, `-H 'Authorization: Bearer <the token in secret lab_token>'`)

	got := lc.send(t, "POST", "/webhooks/"+tok, "application/json", `{"hello":"world"}`, headers...)
	require.Equal(t, http.StatusOK, got.status, got.body)
	require.Equal(t, `got {"hello":"world"}`, got.body)

	// A body of one's own is signed too.
	r = lc.admin(t, "GET", "/webhooks/"+id+"/verify-lab?body="+url.QueryEscape(`{"ref":"main"}`), "", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.NoError(t, json.Unmarshal([]byte(r.body), &lab))
	require.Equal(t, `{"ref":"main"}`, lab.Blocks[0].Sample.Body)
	got = lc.send(t, "POST", "/webhooks/"+tok, "application/json", `{"ref":"main"}`, lab.Blocks[0].Sample.Headers[0][0], lab.Blocks[0].Sample.Headers[0][1],
		"Authorization", "Bearer "+secrets["lab_token"], lab.Blocks[2].Sample.Headers[0][0], lab.Blocks[2].Sample.Headers[0][1],
		lab.Blocks[2].Sample.Headers[1][0], lab.Blocks[2].Sample.Headers[1][1], lab.Blocks[2].Sample.Headers[2][0], lab.Blocks[2].Sample.Headers[2][1])
	require.Equal(t, http.StatusOK, got.status, got.body)

	require.Equal(t, http.StatusCreated, lc.admin(t, "PUT", "/secrets/never_set", "text/plain", "soon-deleted-value").status)
	id2, _ := b.createWebhook(t, "unset", "verify/gh:\n  type: github\n  secret: {{secrets.never_set}}\n"+eventFor("echo"))
	require.Equal(t, http.StatusNoContent, lc.admin(t, "DELETE", "/secrets/never_set?force=true", "", "").status)
	r = lc.admin(t, "GET", "/webhooks/"+id2+"/verify-lab", "", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.NoError(t, json.Unmarshal([]byte(r.body), &lab))
	require.Nil(t, lab.Blocks[0].Sample)
	require.Contains(t, lab.Blocks[0].Error, `secret "never_set" is not set`)

	require.Equal(t, http.StatusNotFound, lc.admin(t, "GET", "/webhooks/nope/verify-lab", "", "").status)
}

// TestExplain_VerifyRefusals explains recorded refusals: a Standard
// Webhooks request sent with svix-* headers and a stale timestamp (fully
// explained from the record), and a GitHub request with a wrong signature
// (its signature redacted in the record: unknown, with the secrets that
// would be tried).
func TestExplain_VerifyRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("explain-Standard-Key-8d9e"))
	require.Equal(t, http.StatusCreated, b.admin(t, "PUT", "/secrets/sw_key", "text/plain", whsec).Status)
	require.Equal(t, http.StatusCreated, b.admin(t, "PUT", "/secrets/gh_key", "text/plain", "explain-GitHub-Key-1f2e").Status)
	require.Equal(t, http.StatusCreated, b.admin(t, "PUT", "/secrets/gh_old", "text/plain", "explain-GitHub-Old-3c4d").Status)
	b.createAutomation(t, "echo", "start:\n  return:\n    body: ok\n", "")
	sw, swTok := b.createWebhook(t, "sw", "verify/sw:\n  type: standard_webhooks\n  secret: {{secrets.sw_key}}\n"+eventFor("echo"))
	gh, ghTok := b.createWebhook(t, "gh", "verify/gh:\n  type: github\n  secrets@list:\n    {{secrets.gh_key}}\n    {{secrets.gh_old}}\n"+eventFor("echo"))
	require.Equal(t, http.StatusNoContent, b.admin(t, "DELETE", "/secrets/gh_old?force=true", "", "").Status)

	stale := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	r := b.do(t, "POST", "/webhooks/"+swTok, "application/json", `{}`, "svix-id", "msg_1", "svix-timestamp", stale,
		"svix-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
	r = b.do(t, "POST", "/webhooks/"+ghTok, "application/json", `{}`, "X-Hub-Signature-256", githubSignature("wrong", `{}`))
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
	r = b.do(t, "POST", "/webhooks/"+ghTok, "application/json", `{}`)
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)

	explain := func(webhook string, i int) api.Explanation {
		t.Helper()
		recs := b.listRequests(t, "webhook="+webhook)
		r := b.admin(t, "GET", "/requests/"+recs[i].ID+"/explain", "", "")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		requireNoLeak(t, "the explanation", string(r.Body), whsec, "explain-GitHub-Key-1f2e")
		var ex api.Explanation
		require.NoError(t, json.Unmarshal(r.Body, &ex))
		return ex
	}
	steps := func(c api.VerifyCheck) string {
		var s strings.Builder
		for _, st := range c.Steps {
			s.WriteString(st.Check + ": " + st.Result + ": " + st.Detail + "\n")
		}
		return s.String()
	}

	ex := explain(sw, 0)
	require.Equal(t, "verify", ex.Cause)
	require.Equal(t, http.StatusUnauthorized, ex.Status)
	require.Equal(t, "verify/sw", ex.Block)
	require.Contains(t, ex.RecordedReason, "verify/sw: ")
	require.False(t, ex.EventChanged)
	require.Len(t, ex.Blocks, 1)
	require.Equal(t, "fail", ex.Blocks[0].Verdict)
	require.Equal(t, "timestamp outside the 300s window", ex.Blocks[0].Reason)
	require.Contains(t, steps(ex.Blocks[0]), "header webhook-id: ok: present as svix-id (tried webhook-id, then svix-id)")
	require.Contains(t, steps(ex.Blocks[0]), "before the request arrived; the window is ±300s")

	// Newest first: the request without a signature, then the wrong one.
	ex = explain(gh, 0)
	require.Equal(t, "fail", ex.Blocks[0].Verdict)
	require.Equal(t, "missing X-Hub-Signature-256 header", ex.Blocks[0].Reason)
	ex = explain(gh, 1)
	require.Equal(t, "verify/gh", ex.Block)
	require.Contains(t, ex.RecordedReason, "signature does not match")
	require.Equal(t, "unknown", ex.Blocks[0].Verdict)
	require.Contains(t, steps(ex.Blocks[0]), "secrets: info: 2 listed: secret gh_key (set), secret gh_old (not set); 1 tried now")
	require.Contains(t, steps(ex.Blocks[0]), "signature (HMAC-SHA256 of the body): unknown: cannot be checked: the record redacts X-Hub-Signature-256")

	// A request no verify block refused says so.
	plain, okTok := b.createWebhook(t, "plain", eventFor("echo"))
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+okTok, "", "").Status)
	r = b.admin(t, "GET", "/requests/"+b.listRequests(t, "webhook="+plain)[0].ID+"/explain", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "no verify block refused this request")

	require.Equal(t, http.StatusNotFound, b.admin(t, "GET", "/requests/0190b1a4-0000-7000-8000-000000000000/explain", "", "").Status)
}

// TestDryRun_CallerCredentialsRedacted checks that the credential a
// composed request carries is redacted wherever the automation echoes it.
func TestDryRun_CallerCredentialsRedacted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "echo", "start:\n  log: key {{request_headers.x_key}}\n  return:\n    body: key {{request_headers.x_key}}\n", "")
	id, _ := b.createWebhook(t, "k", "verify/key:\n  type: header\n  header: X-Key\n  token: the-Caller-Key-42\n"+eventFor("echo"))
	r, out := b.dryRun(t, id, api.DryRunInput{Request: &api.ComposedRequest{Headers: [][2]string{{"X-Key", "the-Caller-Key-42"}}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.True(t, out.Verify[0].OK)
	require.Equal(t, "key [redacted]", out.Response.Body)
	requireNoLeak(t, "the dry run", string(r.Body), "the-Caller-Key-42")
}
