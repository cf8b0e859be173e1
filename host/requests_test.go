package host

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/store"
)

// listRequests reads GET /api/v1/requests with query.
func (b *testBundle) listRequests(t *testing.T, query string) []api.Run {
	t.Helper()
	b.srv.dispatch.FlushRuns()
	r := b.admin(t, "GET", "/requests?"+query, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var out api.RunList
	require.NoError(t, json.Unmarshal(r.Body, &out))
	return out.Runs
}

// TestRequests_EveryRequestToAKnownWebhookIsRecorded checks that refused
// requests (with their cause) and job hand-offs (with the job id) are kept
// like runs, with the request id, and that the list filters work.
func TestRequests_EveryRequestToAKnownWebhookIsRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "echo", "start:\n  return:\n    body: {{request_headers.authorization}}\n", "")
	b.createAutomation(t, "example.deploy", "inputs:\n  text/environment:\nstart:\n  return:\n    body: x\n", "")
	id, tok := b.createWebhook(t, "w", "verify/key:\n  type: header\n  header: X-Key\n  token: the-right-key\nlimits:\n  rate: 1\n  burst: 2\n"+eventFor("echo"))
	jobWH, jobTok := b.createWebhook(t, "j", jobEvent("example.deploy", "    max_attempts@int: 1\n"))

	r := b.do(t, "POST", "/webhooks/"+tok, "application/x-www-form-urlencoded", "password=hunter22&note=hi",
		"X-Key", "the-right-key", "Authorization", "Bearer caller-secret-token", "X-Request-Id", "req-ok")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "Bearer caller-secret-token", string(r.Body), "the caller's answer is unchanged")
	r = b.do(t, "POST", "/webhooks/"+tok, "", "", "X-Key", "wrong", "X-Request-Id", "req-bad")
	require.Equal(t, http.StatusUnauthorized, r.Status)
	for range 3 {
		b.do(t, "POST", "/webhooks/"+tok, "", "", "X-Key", "the-right-key")
	}
	jobID := b.fire(t, jobTok, "X-Request-Id", "req-job")

	all := b.listRequests(t, "webhook="+id)
	require.Len(t, all, 5)
	byReq := map[string]api.Run{}
	for _, run := range all {
		byReq[run.RequestID] = run
	}
	require.Equal(t, "verify", byReq["req-bad"].Cause)
	require.Equal(t, http.StatusUnauthorized, byReq["req-bad"].Status)
	require.Contains(t, byReq["req-bad"].Error, "token does not match")
	require.Empty(t, byReq["req-ok"].Cause)

	limited := b.listRequests(t, "webhook="+id+"&cause=rate_limit")
	require.NotEmpty(t, limited)
	require.Equal(t, http.StatusTooManyRequests, limited[0].Status)
	require.Len(t, b.listRequests(t, "webhook="+id+"&status=2xx"), len(all)-1-len(limited))
	require.Len(t, b.listRequests(t, "webhook="+id+"&q=note"), 1, "search in the stored request")

	jobs := b.listRequests(t, "webhook="+jobWH)
	require.Len(t, jobs, 1)
	require.Equal(t, jobID, jobs[0].JobID)
	require.Equal(t, http.StatusAccepted, jobs[0].Status)
	require.Equal(t, "req-job", jobs[0].RequestID)

	// The record keeps no credential: not the body's password field, not
	// the caller's Authorization echoed into the output.
	r = b.admin(t, "GET", "/requests/"+byReq["req-ok"].ID, "", "")
	require.Equal(t, http.StatusOK, r.Status)
	for _, leak := range []string{"hunter22", "caller-secret-token", "the-right-key"} {
		require.NotContains(t, string(r.Body), leak)
	}
	require.True(t, strings.Contains(string(r.Body), `password=%5Bredacted%5D\u0026note=hi`) || strings.Contains(string(r.Body), `password=%5Bredacted%5D&note=hi`), "%s", r.Body)

	r = b.admin(t, "GET", "/requests?status=9xx", "", "")
	require.Equal(t, http.StatusBadRequest, r.Status)
}

// TestRequests_Replay replays a recorded request through the webhook's
// current configuration: the automation's change shows, the verify block
// (the caller's check) is skipped, and the new record is marked.
func TestRequests_Replay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "echo", "start:\n  return:\n    body: v1 {{request_params.n}} {{request_body}}\n", "")
	id, tok := b.createWebhook(t, "w", "verify/key:\n  type: header\n  header: X-Key\n  token: the-right-key\n"+eventFor("echo"))
	r := b.do(t, "POST", "/webhooks/"+tok+"?n=7", "text/plain", "hello", "X-Key", "the-right-key")
	require.Equal(t, "v1 7 hello", string(r.Body))
	original := b.listRequests(t, "webhook="+id)[0]

	body, _ := json.Marshal(map[string]string{"extension_id": "cerb.trigger.webhook.respond",
		"script": "start:\n  return:\n    body: v2 {{request_params.n}} {{request_body}}\n"})
	require.Equal(t, http.StatusOK, b.admin(t, "PUT", "/automations/echo", "application/json", string(body)).Status)

	r = b.admin(t, "POST", "/requests/"+original.ID+"/replay", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var rep api.Replay
	require.NoError(t, json.Unmarshal(r.Body, &rep))
	require.NotNil(t, rep.Response, "%s", r.Body)
	require.Equal(t, "v2 7 hello", rep.Response.Body, "the current configuration, the recorded request")

	recs := b.listRequests(t, "webhook="+id)
	require.Len(t, recs, 2)
	require.Equal(t, rep.RecordID, recs[0].ID)
	require.Equal(t, original.ID, recs[0].ReplayOf)

	r = b.admin(t, "POST", "/requests/0190b1a4-0000-7000-8000-000000000000/replay", "", "")
	require.Equal(t, http.StatusNotFound, r.Status)
}

// TestWebhooks_PagedListWithStats pages the webhook list, searches names,
// and reads each webhook's recent requests (the console's worklist).
func TestWebhooks_PagedListWithStats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "ok", "start:\n  return:\n    status_code: {{request_params.s|default(200)}}\n", "")
	ids := map[string]string{}
	toks := map[string]string{}
	for _, name := range []string{"orders", "billing", "orders-eu"} {
		ids[name], toks[name] = b.createWebhook(t, name, eventFor("ok"))
	}
	for _, s := range []string{"200", "500", "201"} {
		b.do(t, "GET", "/webhooks/"+toks["orders"]+"?s="+s, "", "")
	}
	b.srv.dispatch.FlushRuns()

	r := b.admin(t, "GET", "/webhooks?limit=2", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var page api.WebhookList
	require.NoError(t, json.Unmarshal(r.Body, &page))
	require.Len(t, page.Webhooks, 2)
	require.Equal(t, page.Webhooks[1].ID, page.NextCursor)
	r = b.admin(t, "GET", "/webhooks?limit=2&cursor="+page.NextCursor, "", "")
	page = api.WebhookList{}
	require.NoError(t, json.Unmarshal(r.Body, &page))
	require.Len(t, page.Webhooks, 1)
	require.Empty(t, page.NextCursor)

	r = b.admin(t, "GET", "/webhooks?q=ORDERS&stats=24h", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	page = api.WebhookList{}
	require.NoError(t, json.Unmarshal(r.Body, &page))
	require.Len(t, page.Webhooks, 2)
	st := page.Webhooks[0].Stats
	require.NotNil(t, st)
	require.Equal(t, ids["orders"], page.Webhooks[0].ID)
	require.Equal(t, 3, st.Total)
	require.Equal(t, 1, st.ErrorTotal)
	require.Equal(t, 201, st.LastStatus)
	require.Len(t, st.Requests, 24)
	require.Equal(t, 3, st.Requests[23], "the last bucket holds the requests just made")
	require.Zero(t, page.Webhooks[1].Stats.Total)

	// The console names a page of records' webhooks in one call; an
	// unknown id is left out.
	r = b.admin(t, "GET", "/webhooks?ids="+ids["orders-eu"]+",0190b1a4-0000-7000-8000-0000000000bb,"+ids["billing"], "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	page = api.WebhookList{}
	require.NoError(t, json.Unmarshal(r.Body, &page))
	require.Len(t, page.Webhooks, 2)
	require.Equal(t, []string{"billing", "orders-eu"}, []string{page.Webhooks[0].Name, page.Webhooks[1].Name}, "in creation order")

	require.Equal(t, http.StatusBadRequest, b.admin(t, "GET", "/webhooks?stats=forever", "", "").Status)
}

// TestRequests_HistoryBlock checks that an event KATA's history: block
// decides which requests are kept: record: errors keeps the failed run and
// the refused request but not the successful run, none keeps nothing, and
// sampling never drops a failure.
func TestRequests_HistoryBlock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		history string
		// want is the statuses kept, in the order sent: ok, failed, refused.
		want []int
	}{
		{"NoBlockKeepsAll", "", []int{200, 500, 401}},
		{"RecordAll", "history:\n  record: all\n", []int{200, 500, 401}},
		{"RecordErrors", "history:\n  record: errors\n", []int{500, 401}},
		{"RecordNone", "history:\n  record: none\n", nil},
		// 1 in a million: the one successful run is kept with probability 1e-6.
		{"SampleKeepsFailures", "history:\n  sample@int: 1000000\n", []int{500, 401}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.createAutomation(t, "maybe", "start:\n  decision:\n    outcome/fail:\n      if@bool: {{request_params.fail is not empty}}\n"+
				"      then:\n        error: failed on purpose\n  return:\n    body: ok\n", "")
			id, tok := b.createWebhook(t, "w", tt.history+"verify/key:\n  type: header\n  header: X-Key\n  token: the-right-key\n"+eventFor("maybe"))

			r := b.do(t, "POST", "/webhooks/"+tok, "", "", "X-Key", "the-right-key")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			r = b.do(t, "POST", "/webhooks/"+tok+"?fail=1", "", "", "X-Key", "the-right-key")
			require.Equal(t, http.StatusInternalServerError, r.Status, "%s", r.Body)
			r = b.do(t, "POST", "/webhooks/"+tok, "", "", "X-Key", "wrong")
			require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)

			runs := b.listRequests(t, "webhook="+id)
			got := make([]int, 0, len(runs))
			for i := len(runs) - 1; i >= 0; i-- { // newest first
				got = append(got, runs[i].Status)
			}
			if tt.want == nil {
				require.Empty(t, got)
			} else {
				require.Equal(t, tt.want, got)
			}
			require.Equal(t, int64(3-len(tt.want)), b.srv.dispatch.RunRecorderStats().Skipped)
			m := b.do(t, "GET", "/metrics", "", "")
			require.Contains(t, string(m.Body), fmt.Sprintf("hookhost_run_records_skipped_total %d\n", 3-len(tt.want)))
		})
	}
}

// TestRequests_ReadYourRuns checks that a run answered a moment ago is in
// the run history's reads at once, though the recorder writes its records
// in batches (up to 100 ms later): the list, one run, and a replay of it.
func TestRequests_ReadYourRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "echo", "start:\n  return:\n    body: hi\n", "")
	id, tok := b.createWebhook(t, "w", eventFor("echo"))
	for i := range 3 {
		r := b.do(t, "POST", "/webhooks/"+tok, "", "", "X-Request-Id", fmt.Sprintf("req-%d", i))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	}
	// No FlushRuns here: the admin API's reads do it.
	r := b.admin(t, "GET", "/requests?webhook="+id, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var list api.RunList
	require.NoError(t, json.Unmarshal(r.Body, &list))
	require.Len(t, list.Runs, 3)

	r = b.do(t, "POST", "/webhooks/"+tok, "", "", "X-Request-Id", "req-last")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = b.admin(t, "GET", "/requests?webhook="+id+"&limit=1", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &list))
	require.Len(t, list.Runs, 1)
	require.Equal(t, "req-last", list.Runs[0].RequestID)

	r = b.do(t, "POST", "/webhooks/"+tok, "", "", "X-Request-Id", "req-get")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	b.srv.dispatch.FlushRuns()
	b.srv.dispatch.ReadYourRuns(t.Context())
	r = b.admin(t, "GET", "/requests?webhook="+id+"&limit=1", "", "")
	require.NoError(t, json.Unmarshal(r.Body, &list))
	runID := list.Runs[0].ID
	r = b.admin(t, "GET", "/runs/"+runID, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}

// TestRequests_RecordsHideCredentialFieldsOfEveryFormBody: a field named
// like a credential is redacted from a synchronous run's record and from
// a durable job's shown inputs for every kind of form body the server
// reads fields from: urlencoded, JSON and multipart/form-data (whose
// body request_body leaves out, but the records kept raw).
func TestRequests_RecordsHideCredentialFieldsOfEveryFormBody(t *testing.T) {
	t.Parallel()
	const value = "hunter22hunter"
	multipart := "--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nbob\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + value + "\r\n--XyZ--\r\n"
	tests := []struct{ name, contentType, body string }{
		{"Urlencoded", "application/x-www-form-urlencoded", "user=bob&password=" + value},
		{"JSON", "application/json", `{"user":"bob","password":"` + value + `"}`},
		{"Multipart", "multipart/form-data; boundary=XyZ", multipart},
	}
	b := setupJobs(t, jobBackends(t)[0])
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	syncID, syncTok := b.createWebhook(t, "sync", eventFor("ok"))
	_, jobTok := b.createWebhook(t, "job", "automation/ok:\n  uri: cerb:automation:ok\n  job:\n    max_attempts@int: 1\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, "POST", "/webhooks/"+syncTok, tt.contentType, tt.body)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			b.srv.dispatch.FlushRuns()
			runs, err := b.srv.store.ListRuns(context.Background(), store.RunFilter{WebhookID: syncID, Limit: 1})
			require.NoError(t, err)
			require.NotContains(t, string(runs[0].Inputs), value, "the run record's inputs")
			require.Contains(t, string(runs[0].Inputs), "bob", "the other fields are kept")

			r = b.do(t, "POST", "/webhooks/"+jobTok, tt.contentType, tt.body)
			require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
			var out struct{ JobIds []string }
			require.NoError(t, json.Unmarshal(r.Body, &out))
			record, _ := storedJobInputs(t, b, out.JobIds[0])
			require.NotContains(t, string(record), value, "the job record's inputs")
		})
	}
}

// TestRequests_EchoedCredentialFieldsAreRedacted: the value of a field
// named like a credential (here ?password=) is redacted wherever the
// automation echoed it, in a synchronous run's record (its output) and in
// a durable job's record (its output and response body), as the caller's
// Authorization is, while the caller's answer keeps it (review attack).
func TestRequests_EchoedCredentialFieldsAreRedacted(t *testing.T) {
	t.Parallel()
	const value = "hunter22hunter"
	b := setupJobs(t, jobBackends(t)[0])
	b.createAutomation(t, "echo", "start:\n  return:\n    body: pw={{request_params.password}}\n", "")
	syncID, syncTok := b.createWebhook(t, "sync", eventFor("echo"))
	jobWH, jobTok := b.createWebhook(t, "job", "automation/echo:\n  uri: cerb:automation:echo\n  job:\n    max_attempts@int: 1\n")

	r := b.do(t, http.MethodPost, "/webhooks/"+syncTok+"?password="+value, "application/json", `{}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "pw="+value, string(r.Body), "the caller's answer is unchanged")
	b.srv.dispatch.FlushRuns()
	runs, err := b.srv.store.ListRuns(context.Background(), store.RunFilter{WebhookID: syncID, Limit: 1})
	require.NoError(t, err)
	require.NotContains(t, string(runs[0].Inputs), value, "the run record's inputs")
	require.NotContains(t, string(runs[0].Output), value, "the run record's output")
	require.Contains(t, string(runs[0].Output), "pw="+redact.Marker)

	r = b.do(t, http.MethodPost, "/webhooks/"+jobTok+"?password="+value, "application/json", `{}`)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	list, _, err := b.srv.jobs.List(context.Background(), jobs.Filter{WebhookID: jobWH})
	require.NoError(t, err)
	require.Len(t, list, 1)
	b.waitState(t, list[0].ID, jobs.StateCompleted)
	j, err := b.srv.jobs.Get(context.Background(), list[0].ID)
	require.NoError(t, err)
	require.NotContains(t, string(j.Body), value, "the job record's response body")
	require.NotContains(t, string(j.Output), value, "the job record's output")
	require.Contains(t, string(j.Body), "pw="+redact.Marker)
}
