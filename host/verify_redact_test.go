package host

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/store"
)

// TestVerify_ReadHeaderEchoIsRedactedInRecords: a webhook whose verify
// block reads a credential from a custom header (one redact.CredentialHeader
// does not know by name), and an automation that echoes that header's value
// into its response (a header, the body as text and as JSON), its log and
// its error. The records hookhost keeps (the run record of a synchronous
// run, the job record of a job) show "[redacted]" where the value was,
// in the store and in the admin API's views; the caller's answer is the
// automation's, whole. A value shorter than redact.MinLen is not a
// secret worth turning every occurrence of it into noise, and a header no
// verify block reads is not a credential: both are kept as they are.
func TestVerify_ReadHeaderEchoIsRedactedInRecords(t *testing.T) {
	t.Parallel()
	const (
		// echo returns the header's value in a header, in its body as
		// text and as a JSON string, and logs it.
		echo = "start:\n" +
			"  log: got {{request_headers.x_custom_key}}\n" +
			"  return:\n" +
			"    status_code@int: 200\n" +
			"    headers:\n" +
			"      X-Echo: {{request_headers.x_custom_key}}\n" +
			"    body: key={{request_headers.x_custom_key}} json={{request_headers.x_custom_key|json_encode}}\n"
		// fail ends in error, quoting the header's value.
		fail = "start:\n  error: bad key {{request_headers.x_custom_key}}\n"
		// badStatus returns the value as its status code: the answer is a
		// 500, and the warning saying why quotes the value.
		badStatus = "start:\n  return:\n    status_code: {{request_headers.x_custom_key}}\n"
		// secret needs JSON escapes: json_encode spells it differently.
		secret = `caller-"Custom"\Key-77`
	)
	verifyBlock := func(token string) string {
		return "verify/key:\n  type: header\n  header: X-Custom-Key\n  token: " + token + "\n"
	}
	tests := []struct {
		name string
		// verify is the webhook's verify block ("" for none), value the
		// X-Custom-Key the caller sends.
		verify, value string
		// redacted reports whether the records hide value.
		redacted bool
	}{
		{name: "VerifyReadHeader", verify: verifyBlock(secret), value: secret, redacted: true},
		{name: "ShortValueKept", verify: verifyBlock("1"), value: "1"},
		{name: "HeaderNoVerifyBlockReads", value: secret},
	}
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			logs := &logBuffer{}
			b := setupJobs(t, be, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
			b.createAutomation(t, "echo", echo, "")
			b.createAutomation(t, "fail", fail, "")
			b.createAutomation(t, "badstatus", badStatus, "")
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					encoded, err := json.Marshal(tt.value)
					require.NoError(t, err)
					answer := "key=" + tt.value + " json=" + string(encoded)
					shown, shownJSON := tt.value, string(encoded)
					if tt.redacted {
						shown, shownJSON = redact.Marker, `"`+redact.Marker+`"`
					}
					// noLeak checks that a record, as stored or shown,
					// holds no spelling of the value when it is redacted.
					noLeak := func(what, text string) {
						t.Helper()
						if tt.redacted {
							requireNoLeak(t, what, text, tt.value)
						}
					}

					// A synchronous run: the run record.
					id, tok := b.createWebhook(t, "sync-"+strings.ToLower(tt.name), tt.verify+eventFor("echo"))
					r := b.do(t, http.MethodPost, "/webhooks/"+tok, "application/json", `{}`, "X-Custom-Key", tt.value)
					require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
					require.Equal(t, answer, string(r.Body), "the caller's answer is the automation's")
					require.Equal(t, tt.value, r.Header.Get("X-Echo"))
					run, out := b.onlyRun(t, id)
					require.Equal(t, "key="+shown+" json="+shownJSON, out.Body)
					require.Equal(t, shown, out.Headers["X-Echo"])
					var log []struct{ Message string }
					require.NoError(t, json.Unmarshal(run.Log, &log), "%s", run.Log)
					require.Len(t, log, 1)
					require.Equal(t, "got "+shown, log[0].Message)
					noLeak("the run's output", string(run.Output))
					noLeak("the run's log", string(run.Log))
					view := b.admin(t, http.MethodGet, "/requests/"+run.ID, "", "")
					require.Equal(t, http.StatusOK, view.Status, "%s", view.Body)
					noLeak("the run's view", string(view.Body))

					_, failTok := b.createWebhook(t, "sync-fail-"+strings.ToLower(tt.name), tt.verify+eventFor("fail"))
					r = b.do(t, http.MethodPost, "/webhooks/"+failTok, "application/json", `{}`, "X-Custom-Key", tt.value)
					require.Equal(t, http.StatusInternalServerError, r.Status, "%s", r.Body)
					b.srv.dispatch.FlushRuns()
					failed, err := b.srv.Store().GetRun(context.Background(), r.json(t)["run_id"].(string))
					require.NoError(t, err)
					require.Equal(t, "bad key "+shown, failed.Error)

					warnID, warnTok := b.createWebhook(t, "sync-warn-"+strings.ToLower(tt.name), tt.verify+eventFor("badstatus"))
					r = b.do(t, http.MethodPost, "/webhooks/"+warnTok, "application/json", `{}`, "X-Custom-Key", tt.value)
					require.Equal(t, http.StatusInternalServerError, r.Status, "%s", r.Body)
					warning := "invalid status_code " + strconv.Quote(shown) + "; answered 500"
					require.Equal(t, []string{warning}, answerWarnings(t, logs.String(), warnID), "the server log")
					warned := b.listRequests(t, "webhook="+warnID)
					require.Len(t, warned, 1)
					run, err = b.srv.Store().GetRun(context.Background(), warned[0].ID)
					require.NoError(t, err)
					require.NoError(t, json.Unmarshal(run.Log, &log), "%s", run.Log)
					require.Len(t, log, 1)
					require.Equal(t, warning, log[0].Message)

					// A job (whose caller waits for its answer): the job
					// record.
					jid, jtok := b.createWebhook(t, "job-"+strings.ToLower(tt.name),
						tt.verify+"automation/echo:\n  uri: cerb:automation:echo\n  job:\n    wait_ms@int: 10000\n")
					r = b.do(t, http.MethodPost, "/webhooks/"+jtok, "application/json", `{}`, "X-Custom-Key", tt.value)
					require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
					require.Equal(t, answer, string(r.Body), "the caller's answer is the automation's")
					require.Equal(t, tt.value, r.Header.Get("X-Echo"))
					j := b.endedJob(t, jid, jobs.StateCompleted)
					require.Equal(t, "key="+shown+" json="+shownJSON, string(j.Body))
					require.Equal(t, [][2]string{{"X-Echo", shown}}, j.Headers)
					require.Equal(t, "got "+shown+"\n", logText(j.Log))
					for what, stored := range map[string]string{"output": string(j.Output), "inputs": string(j.Inputs)} {
						noLeak("the job's "+what, stored)
					}
					view = b.admin(t, http.MethodGet, "/jobs/"+j.ID, "", "")
					require.Equal(t, http.StatusOK, view.Status, "%s", view.Body)
					noLeak("the job's view", string(view.Body))

					fid, ftok := b.createWebhook(t, "job-fail-"+strings.ToLower(tt.name),
						tt.verify+"automation/fail:\n  uri: cerb:automation:fail\n  job:\n    max_attempts@int: 1\n")
					r = b.do(t, http.MethodPost, "/webhooks/"+ftok, "application/json", `{}`, "X-Custom-Key", tt.value)
					require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
					j = b.endedJob(t, fid, jobs.StateFailed)
					require.Equal(t, "bad key "+shown, j.Error)
					// A retry runs the job's real inputs again, and its
					// record is redacted as the first one's.
					r = b.admin(t, http.MethodPost, "/jobs/"+j.ID+"/retry", "", "")
					require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
					var retry struct{ JobIds []string }
					require.NoError(t, json.Unmarshal(r.Body, &retry))
					b.waitState(t, retry.JobIds[0], jobs.StateFailed)
					j, err = b.srv.jobs.Get(context.Background(), retry.JobIds[0])
					require.NoError(t, err)
					require.Equal(t, "bad key "+shown, j.Error)

					wid, wtok := b.createWebhook(t, "job-warn-"+strings.ToLower(tt.name),
						tt.verify+"automation/badstatus:\n  uri: cerb:automation:badstatus\n  job:\n    max_attempts@int: 1\n")
					r = b.do(t, http.MethodPost, "/webhooks/"+wtok, "application/json", `{}`, "X-Custom-Key", tt.value)
					require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
					j = b.endedJob(t, wid, jobs.StateCompleted)
					require.Equal(t, http.StatusInternalServerError, j.Status)
					require.Equal(t, warning+"\n", logText(j.Log))
				})
			}
		})
	}
}

// answerWarnings returns the warnings the server logged (as JSON lines)
// about webhook id's answers.
func answerWarnings(t *testing.T, logs, webhookID string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var e struct{ Msg, Webhook, Warning string }
		require.NoError(t, json.Unmarshal([]byte(line), &e), "%s", line)
		if e.Msg == "webhook answer" && e.Webhook == webhookID {
			out = append(out, e.Warning)
		}
	}
	return out
}

// endedJob waits until the one job of a webhook is in state and returns
// its record as stored.
// runOutput is a run record's output: the automation's answer.
type runOutput struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// onlyRun returns the one run record of a webhook and its output.
func (b *testBundle) onlyRun(t *testing.T, webhookID string) (*store.Run, runOutput) {
	t.Helper()
	runs := b.listRequests(t, "webhook="+webhookID)
	require.Len(t, runs, 1)
	run, err := b.srv.Store().GetRun(context.Background(), runs[0].ID)
	require.NoError(t, err)
	var out runOutput
	require.NoError(t, json.Unmarshal(run.Output, &out), "%s", run.Output)
	return run, out
}

func (b *testBundle) endedJob(t *testing.T, webhookID string, state jobs.State) *jobs.Job {
	t.Helper()
	list, _, err := b.srv.jobs.List(context.Background(), jobs.Filter{WebhookID: webhookID})
	require.NoError(t, err)
	require.Len(t, list, 1)
	b.waitState(t, list[0].ID, state)
	j, err := b.srv.jobs.Get(context.Background(), list[0].ID)
	require.NoError(t, err)
	return j
}

// TestVerify_RepeatedHeaderEchoIsRedactedInRecords: a caller sends a
// credential header twice (the header a webhook's verify block reads, or
// Authorization), and the automation echoes one of the values alone (the
// last one, split from request_headers, where Cerb joins a repeated
// header's values with ", ") into its response's header and body, its log
// and its error. A synchronous run's record redacts each value the caller
// sent; a job's record, which knows them only from the joined value,
// redacts the echoed one too, in the store and in the admin API's view,
// while the caller's answer is the automation's, whole.
func TestVerify_RepeatedHeaderEchoIsRedactedInRecords(t *testing.T) {
	t.Parallel()
	// echo and fail take the request_headers key of the header to echo.
	last := func(key string) string { return `{{(request_headers.` + key + `|split(", "))|last}}` }
	echo := func(key string) string {
		return "start:\n" +
			"  log: got " + last(key) + "\n" +
			"  return:\n" +
			"    status_code@int: 200\n" +
			"    headers:\n" +
			"      X-Echo: " + last(key) + "\n" +
			"    body: last=" + last(key) + "\n"
	}
	fail := func(key string) string { return "start:\n  error: bad key " + last(key) + "\n" }
	const verifyToken = "verify-t0ken-value-1"
	tests := []struct {
		name string
		// verify is the webhook's verify block ("" for none), header the
		// header sent twice, key its request_headers key, values what
		// the caller sends.
		verify, header, key string
		values              [2]string
		// hidden are the spellings of the echoed value the records must
		// not hold (the value, a Bearer token alone).
		hidden []string
	}{
		{
			name:   "VerifyReadHeader",
			verify: "verify/key:\n  type: header\n  header: X-Custom-Key\n  token: " + verifyToken + "\n",
			header: "X-Custom-Key", key: "x_custom_key",
			values: [2]string{verifyToken, `second-"Custom"\Key-2`},
			hidden: []string{`second-"Custom"\Key-2`},
		},
		{
			name:   "Authorization",
			header: "Authorization", key: "authorization",
			values: [2]string{"Bearer first-b3arer-1", "Bearer second-b3arer-2"},
			hidden: []string{"second-b3arer-2"},
		},
	}
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := setupJobs(t, be)
			for _, tt := range tests {
				b.createAutomation(t, "echo-"+tt.key, echo(tt.key), "")
				b.createAutomation(t, "fail-"+tt.key, fail(tt.key), "")
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					echoed := tt.values[1]
					encoded, err := json.Marshal("last=" + echoed)
					require.NoError(t, err)
					send := func(token string) response {
						t.Helper()
						return doRepeated(t, b, "/webhooks/"+token, [][2]string{{tt.header, tt.values[0]}, {tt.header, tt.values[1]}})
					}
					noLeak := func(what, text string) {
						t.Helper()
						requireNoLeak(t, what, text, tt.hidden...)
					}
					name := strings.ToLower(tt.name)
					echoEvent := func(job string) string {
						return tt.verify + "automation/echo:\n  uri: cerb:automation:echo-" + tt.key + "\n" + job
					}
					failEvent := func(job string) string {
						return tt.verify + "automation/fail:\n  uri: cerb:automation:fail-" + tt.key + "\n" + job
					}

					// A synchronous run: the run record.
					id, tok := b.createWebhook(t, "rep-sync-"+name, echoEvent(""))
					r := send(tok)
					require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
					require.Equal(t, "last="+echoed, string(r.Body), "the caller's answer is the automation's")
					require.Equal(t, echoed, r.Header.Get("X-Echo"))
					run, out := b.onlyRun(t, id)
					require.Equal(t, "last="+redact.Marker, out.Body)
					require.Equal(t, redact.Marker, out.Headers["X-Echo"])
					noLeak("the run's output", string(run.Output))
					noLeak("the run's log", string(run.Log))

					// A job whose caller waits for its answer: the job's
					// record redacts what the run's does.
					jid, jtok := b.createWebhook(t, "rep-job-"+name, echoEvent("  job:\n    wait_ms@int: 10000\n"))
					r = send(jtok)
					require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
					require.Equal(t, "last="+echoed, string(r.Body), "the caller's answer is the automation's")
					require.Equal(t, echoed, r.Header.Get("X-Echo"))
					j := b.endedJob(t, jid, jobs.StateCompleted)
					require.Equal(t, "last="+redact.Marker, string(j.Body))
					require.Equal(t, [][2]string{{"X-Echo", redact.Marker}}, j.Headers)
					require.Equal(t, "got "+redact.Marker+"\n", logText(j.Log))
					for what, stored := range map[string]string{"output": string(j.Output), "inputs": string(j.Inputs), "body": string(j.Body)} {
						noLeak("the job's "+what, stored)
					}
					require.NotContains(t, string(j.Output), string(encoded[1:len(encoded)-1]))
					view := b.admin(t, http.MethodGet, "/jobs/"+j.ID, "", "")
					require.Equal(t, http.StatusOK, view.Status, "%s", view.Body)
					noLeak("the job's view", string(view.Body))

					// A job that ends in error quoting the value.
					fid, ftok := b.createWebhook(t, "rep-job-fail-"+name, failEvent("  job:\n    max_attempts@int: 1\n"))
					r = send(ftok)
					require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
					j = b.endedJob(t, fid, jobs.StateFailed)
					require.Equal(t, "bad key "+redact.Marker, j.Error)
				})
			}
		})
	}
}

// doRepeated posts an empty JSON object to target with the header lines
// headers, a name repeated as often as it is listed (b.do sets one value a
// name).
func doRepeated(t *testing.T, b *testBundle, target string, headers [][2]string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	resp, err := b.srv.App().Test(req, 150_000) // an upper bound, not a timing assertion
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	checkContract(t, http.MethodPost, target, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	return response{resp.StatusCode, resp.Header, body}
}
