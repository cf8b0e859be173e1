package host

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/internal/pgtest"
	"github.com/hookhost/hookhost/plugins"
)

// logBuffer collects every log line a server writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// captureLogs makes a test server log everything, debug included, to lb.
func captureLogs(lb *logBuffer) func(*Config) {
	return func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// liveServer serves b's app on a real 127.0.0.1 listener and returns its
// base URL.
func liveServer(t *testing.T, b *testBundle) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = b.srv.App().Listener(ln) }()
	t.Cleanup(func() {
		_ = b.srv.live.Close() // event streams end first, as Serve does
		_ = b.srv.App().Shutdown()
	})
	return "http://" + ln.Addr().String()
}

// httpAnswer is one answer of a live server.
type httpAnswer struct {
	what   string
	status int
	header http.Header
	body   string
}

// liveClient sends real HTTP requests and keeps every answer so that the
// test can scan them all.
type liveClient struct {
	base, adminToken string
	mu               sync.Mutex
	answers          []httpAnswer
}

func (lc *liveClient) send(t *testing.T, method, path, contentType, body string, headers ...string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(method, lc.base+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	checkContract(t, method, path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	a := httpAnswer{what: method + " " + path, status: resp.StatusCode, header: resp.Header, body: string(b)}
	lc.mu.Lock()
	lc.answers = append(lc.answers, a)
	lc.mu.Unlock()
	return a
}

func (lc *liveClient) admin(t *testing.T, method, path, contentType, body string) httpAnswer {
	t.Helper()
	return lc.send(t, method, "/api/v1"+path, contentType, body, "Authorization", "Bearer "+lc.adminToken)
}

// forms lists the ways a value may be spelled in logs and JSON answers.
func forms(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	j, _ := json.Marshal(v)
	out = append(out, string(j[1:len(j)-1]))
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	s := strings.TrimSpace(b.String())
	return append(out, s[1:len(s)-1])
}

// requireNoLeak fails when text holds any spelling of any of values.
func requireNoLeak(t *testing.T, what, text string, values ...string) {
	t.Helper()
	for _, v := range values {
		for _, f := range forms(v) {
			if strings.Contains(text, f) {
				t.Errorf("%s leaks %q (as %q):\n%s", what, v, f, text)
			}
		}
	}
}

func githubSignature(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestSecrets_NeverLeak drives real requests through a real server whose
// webhooks and automations use secrets in every way they can: verify
// blocks, event KATA inputs, scripts that log, return and fail with them,
// jobs, and a caller who sends one. Then it scans every log line, every
// stored record and every API answer for the secrets, the admin token and
// the webhook tokens (alertmanager's AssertNotifyLeaksNoSecret, end to end).
func TestSecrets_NeverLeak(t *testing.T) {
	t.Parallel()
	const (
		apiKey     = "sk-live-Alpha-7f3e9c21d4"
		signing    = "whsec-Bravo-5a8b0c2e61"
		special    = `Ch<&>"arlie"/9d1b 5e77`
		adminToken = "adm-Delta-0b4c7e19f2a6"
	)
	all := []string{apiKey, signing, special, adminToken}
	lb := &logBuffer{}
	b := setup(t, captureLogs(lb), func(c *Config) { c.AdminToken = adminToken })
	lc := &liveClient{base: liveServer(t, b), adminToken: adminToken}

	// Secrets are set raw and as JSON.
	r := lc.admin(t, "PUT", "/secrets/API_KEY", "text/plain", apiKey)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	r = lc.admin(t, "PUT", "/secrets/SIGNING", "application/json", `{"value":"`+signing+`"}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	sj, _ := json.Marshal(map[string]string{"value": special})
	r = lc.admin(t, "PUT", "/secrets/SPECIAL", "application/json; charset=utf-8", string(sj))
	require.Equal(t, http.StatusCreated, r.status, r.body)

	mustCreate := func(name, script string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"name": name, "extension_id": "cerb.trigger.webhook.respond", "script": script})
		r := lc.admin(t, "POST", "/automations", "application/json", string(body))
		require.Equal(t, http.StatusCreated, r.status, r.body)
	}
	// The script gets API_KEY through the event KATA's inputs and reads
	// SIGNING and SPECIAL itself; it logs them, keeps them in its output
	// and returns SIGNING in its body (the user's choice).
	mustCreate("leaky", `inputs:
  text/api_key:
    required@bool: yes
start:
  log: key={{inputs.api_key}} signing={{secrets.SIGNING}}
  set:
    special: {{secrets.SPECIAL}}
  return:
    status_code@int: 200
    headers:
      Content-Type: text/plain
      X-Echo: {{secrets.API_KEY}}
    body: signing={{secrets.SIGNING}} key={{inputs.api_key}}
`)
	mustCreate("failing", "start:\n  log: about to fail with {{secrets.API_KEY}}\n  error: failed with key {{secrets.API_KEY}} and {{secrets.SPECIAL}}\n")

	mustWebhook := func(name, event string, debug bool) (id, token string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"name": name, "event_kata": event, "debug": debug})
		r := lc.admin(t, "POST", "/webhooks", "application/json", string(body))
		require.Equal(t, http.StatusCreated, r.status, r.body)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.body), &m))
		lc.mu.Lock()
		lc.answers = lc.answers[:len(lc.answers)-1] // the one answer that shows the token
		lc.mu.Unlock()
		return m["id"].(string), m["token"].(string)
	}
	syncID, syncTok := mustWebhook("sync", `verify/gh:
  type: github
  secret: {{secrets.SIGNING}}
automation/main:
  uri: cerb:automation:leaky
  inputs:
    api_key: {{secrets.API_KEY}}
`, false)
	failID, failTok := mustWebhook("fail", eventFor("failing"), true)
	jobID, jobTok := mustWebhook("job", `automation/main:
  uri: cerb:automation:leaky
  inputs:
    api_key: {{secrets.API_KEY}}
  job:
    wait_ms: 10000
`, false)
	jobFailID, jobFailTok := mustWebhook("jobfail", "automation/main:\n  uri: cerb:automation:failing\n  job:\n    wait_ms: 10000\n    max_attempts: 1\n", true)
	tokens := []string{syncTok, failTok, jobTok, jobFailTok}

	// The caller sends a secret in its body and signs it.
	callerBody := `{"password":` + string(must(json.Marshal(special))) + `,"note":"hello"}`
	r = lc.send(t, "POST", "/webhooks/"+syncTok+"/path?api_key="+url.QueryEscape(apiKey), "application/json", callerBody,
		"X-Hub-Signature-256", githubSignature(signing, callerBody), "Authorization", "Bearer "+apiKey)
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Equal(t, "signing="+signing+" key="+apiKey, r.body, "the automation's own answer is the user's choice")
	require.Equal(t, apiKey, r.header.Get("X-Echo"))
	userChoice := len(lc.answers) - 1

	// A bad signature: refused, and the problem names no token.
	r = lc.send(t, "POST", "/webhooks/"+syncTok, "application/json", callerBody, "X-Hub-Signature-256", githubSignature("wrong", callerBody))
	require.Equal(t, http.StatusUnauthorized, r.status, r.body)
	require.Contains(t, r.body, `"instance":"/webhooks/[redacted]"`)

	// Debug on: the error message is shown, redacted.
	r = lc.send(t, "GET", "/webhooks/"+failTok, "", "")
	require.Equal(t, http.StatusInternalServerError, r.status, r.body)
	require.Contains(t, r.body, "failed with key [redacted] and [redacted]")

	// Jobs: one that answers in time, one that fails.
	r = lc.send(t, "POST", "/webhooks/"+jobTok, "text/plain", "job body "+apiKey)
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Equal(t, "signing="+signing+" key="+apiKey, r.body, "a job's answer is the automation's, as a sync run's")
	jobChoice := len(lc.answers) - 1
	r = lc.send(t, "POST", "/webhooks/"+jobFailTok, "", "")
	require.Equal(t, http.StatusInternalServerError, r.status, r.body)
	require.Contains(t, r.body, "failed with key [redacted]")

	// An extension logs a secret through the host callback.
	cb := runner.New(b.srv.ext, b.srv.catalog, b.srv.log).Callbacks("run-1", "leaky")
	require.NoError(t, cb.Log(context.Background(), plugins.LogEntry{Level: 6, Message: "extension saw " + apiKey + " and " + special}))

	// Everything an admin can read.
	b.srv.dispatch.FlushRuns()
	var runs struct {
		Runs []api.Run `json:"runs"`
	}
	for _, wid := range []string{syncID, failID} {
		r = lc.admin(t, "GET", "/runs?webhook="+wid, "", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		require.NoError(t, json.Unmarshal([]byte(r.body), &runs))
		require.NotEmpty(t, runs.Runs, wid)
		for _, run := range runs.Runs {
			r = lc.admin(t, "GET", "/runs/"+run.ID, "", "")
			require.Equal(t, http.StatusOK, r.status, r.body)
			require.Contains(t, r.body, "[redacted]")

			// Redacted when written, not only when shown.
			stored, err := b.srv.Store().GetRun(context.Background(), run.ID)
			require.NoError(t, err)
			requireNoLeak(t, "stored run "+run.ID, string(stored.Inputs)+string(stored.Output)+string(stored.Log)+stored.Error, all...)
			requireNoLeak(t, "stored run "+run.ID, string(stored.Inputs), tokens...)
		}
	}
	r = lc.admin(t, "GET", "/runs?cause=-&webhook="+syncID, "", "")
	require.NoError(t, json.Unmarshal([]byte(r.body), &runs))
	r = lc.admin(t, "GET", "/runs/"+runs.Runs[0].ID, "", "")
	var run api.Run
	require.NoError(t, json.Unmarshal([]byte(r.body), &run))
	require.Contains(t, string(run.Inputs), `"X-Hub-Signature-256":"[redacted]"`)
	require.Contains(t, string(run.Inputs), `"Authorization":"[redacted]"`)
	require.Contains(t, string(run.Inputs), `"api_key":"[redacted]"`)
	require.Contains(t, string(run.Inputs), `{\"password\":\"[redacted]\",\"note\":\"hello\"}`)
	require.Contains(t, string(run.Output), `"body":"signing=[redacted] key=[redacted]"`)
	require.Contains(t, string(run.Log), `key=[redacted] signing=[redacted]`)

	for _, wid := range []string{jobID, jobFailID} {
		var list struct {
			Jobs []api.Job `json:"jobs"`
		}
		r = lc.admin(t, "GET", "/jobs?webhook="+wid, "", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		require.NoError(t, json.Unmarshal([]byte(r.body), &list))
		require.Len(t, list.Jobs, 1, wid)
		r = lc.admin(t, "GET", "/jobs/"+list.Jobs[0].ID, "", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		require.Contains(t, r.body, "[redacted]")
		require.NotContains(t, r.body, `"secrets"`, "secrets are not stored with a job")
		r = lc.admin(t, "GET", "/jobs/"+list.Jobs[0].ID+"/logs", "", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		require.Contains(t, r.body, "[redacted]")

		// Redacted when written: the queue's own record.
		j, err := b.srv.jobs.Get(context.Background(), list.Jobs[0].ID)
		require.NoError(t, err)
		var stored strings.Builder
		for _, e := range j.Log {
			stored.WriteString(e.Message + "\n")
		}
		requireNoLeak(t, "stored job "+j.ID, string(j.Inputs)+string(j.Output)+j.Error+stored.String(), all...)
	}
	for _, path := range []string{"/secrets", "/webhooks", "/webhooks/" + syncID, "/automations", "/jobs", "/runs", "/openapi.json"} {
		r = lc.admin(t, "GET", path, "", "")
		require.Equal(t, http.StatusOK, r.status, "%s: %s", path, r.body)
	}

	// The scan.
	for i, a := range lc.answers {
		if i == userChoice || i == jobChoice {
			continue
		}
		requireNoLeak(t, "answer to "+a.what, a.body, all...)
		requireNoLeak(t, "answer to "+a.what, a.body, tokens...)
		for k, vs := range a.header {
			requireNoLeak(t, "header "+k+" of the answer to "+a.what, strings.Join(vs, "\n"), all...)
		}
	}
	logs := lb.String()
	require.Contains(t, logs, "extension saw [redacted] and [redacted]", "the log is captured")
	requireNoLeak(t, "the server log", logs, all...)
	requireNoLeak(t, "the server log", logs, tokens...)
	require.Contains(t, lc.admin(t, "GET", "/secrets", "", "").body, `{"secrets":[{"name":"API_KEY"},{"name":"SIGNING"},{"name":"SPECIAL"}]}`)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSecrets_API(t *testing.T) {
	t.Parallel()
	b := setup(t)
	long := strings.Repeat("x", secrets.MaxValueBytes+1)

	tests := []struct {
		name, method, path, ctype, body string
		wantStatus                      int
		wantField                       string // of a 400 problem
	}{
		{"PutRawCreates", "PUT", "/secrets/raw_one", "text/plain", "value-one", 201, ""},
		{"PutRawReplaces", "PUT", "/secrets/raw_one", "", "value-one-b", 204, ""},
		{"PutJSONCreates", "PUT", "/secrets/JSON_2", "application/json", `{"value":"json value"}`, 201, ""},
		{"PutJSONReplaces", "PUT", "/secrets/JSON_2", "application/json", `{"value":"json value 2"}`, 204, ""},
		{"PutBadName", "PUT", "/secrets/bad-name", "text/plain", "v", 400, "name"},
		{"PutLongName", "PUT", "/secrets/" + strings.Repeat("a", 65), "text/plain", "v", 400, "name"},
		{"PutEmptyValue", "PUT", "/secrets/empty", "text/plain", "", 400, "value"},
		{"PutTooLong", "PUT", "/secrets/long", "application/octet-stream", long, 400, "value"},
		{"PutJSONWithoutValue", "PUT", "/secrets/x", "application/json", `{}`, 400, "value"},
		{"PutJSONEmptyValue", "PUT", "/secrets/x", "application/json", `{"value":""}`, 400, "value"},
		{"PutJSONUnknownField", "PUT", "/secrets/x", "application/json", `{"value":"v","extra":1}`, 400, "extra"},
		{"PutJSONNotString", "PUT", "/secrets/x", "application/json", `{"value":12345678}`, 400, "value"},
		{"PutJSONTrailing", "PUT", "/secrets/x", "application/json", `{"value":"v"} {}`, 400, "body"},
		{"PutJSONInvalidDoesNotEcho", "PUT", "/secrets/x", "application/json", `{"value":"do-not-echo-me`, 400, "body"},
		{"DeleteBadName", "DELETE", "/secrets/bad.name", "", "", 400, "name"},
		{"DeleteMissing", "DELETE", "/secrets/missing", "", "", 404, ""},
		{"DeleteExisting", "DELETE", "/secrets/raw_one", "", "", 204, ""},
		{"DeleteAgain", "DELETE", "/secrets/raw_one", "", "", 404, ""},
		{"GetOneIsNotAllowed", "GET", "/secrets/JSON_2", "", "", 405, ""}, // values are write-only
	}
	for _, tt := range tests { // in order: later cases see earlier changes
		r := b.admin(t, tt.method, tt.path, tt.ctype, tt.body)
		require.Equal(t, tt.wantStatus, r.Status, "%s: %s", tt.name, r.Body)
		require.NotContains(t, string(r.Body), "value-one", tt.name)
		require.NotContains(t, string(r.Body), "json value", tt.name)
		require.NotContains(t, string(r.Body), "do-not-echo-me", tt.name)
		switch {
		case tt.wantStatus == http.StatusCreated:
			require.Equal(t, "/api/v1"+tt.path, r.Header.Get("Location"), tt.name)
			require.JSONEq(t, `{"name":"`+strings.TrimPrefix(tt.path, "/secrets/")+`"}`, string(r.Body), tt.name)
		case tt.wantStatus >= 400:
			require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), tt.name)
			var p api.Problem
			require.NoError(t, json.Unmarshal(r.Body, &p), tt.name)
			if tt.wantField != "" {
				require.Len(t, p.Errors, 1, tt.name)
				require.Equal(t, tt.wantField, p.Errors[0].Field, tt.name)
			}
		}
	}

	r := b.admin(t, "GET", "/secrets", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	require.JSONEq(t, `{"secrets":[{"name":"JSON_2"}]}`, string(r.Body))
	v, found, err := b.srv.secrets.Get(context.Background(), "JSON_2")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "json value 2", string(v))

	for _, method := range []string{"GET", "PUT", "DELETE"} {
		r := b.do(t, method, "/api/v1/secrets/JSON_2", "text/plain", "v", "Authorization", "Bearer wrong")
		require.Equal(t, http.StatusUnauthorized, r.Status, method)
	}
	v, _, err = b.srv.secrets.Get(context.Background(), "JSON_2")
	require.NoError(t, err)
	require.Equal(t, "json value 2", string(v), "an unauthenticated PUT changes nothing")
}

// TestSecrets_OlderRecordsAreRedactedWhenShown checks that a run recorded
// before a value became a secret does not show it afterwards, and that
// redaction keeps the JSON valid whatever the value looks like.
func TestSecrets_OlderRecordsAreRedactedWhenShown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	run := &store.Run{ID: "01a23800-0000-7000-8000-000000000001", Status: 200, Exit: "return", CreatedAt: time.Now(),
		Error:  "old error with legacy-Foxtrot-31",
		Inputs: []byte(`{"body":"legacy-Foxtrot-31","flag":true,"n":12345}`),
		Output: []byte(`{"body":"x legacy-Foxtrot-31 y"}`),
		Log:    []byte(`[{"level":6,"node":"start","message":"legacy-Foxtrot-31"}]`)}
	require.NoError(t, b.srv.Store().InsertRuns(ctx, []*store.Run{run}))
	require.Contains(t, string(b.admin(t, "GET", "/runs/"+run.ID, "", "").Body), "legacy-Foxtrot-31")

	for _, v := range []string{"legacy-Foxtrot-31", "true", "12345"} {
		name := "S_" + strings.ToUpper(hex.EncodeToString([]byte(v)))
		require.Equal(t, http.StatusCreated, b.admin(t, "PUT", "/secrets/"+name, "text/plain", v).Status)
	}
	r := b.admin(t, "GET", "/runs/"+run.ID, "", "")
	require.Equal(t, http.StatusOK, r.Status)
	require.NotContains(t, string(r.Body), "legacy-Foxtrot-31")
	require.True(t, json.Valid(r.Body), "%s", r.Body)
	var got api.Run
	require.NoError(t, json.Unmarshal(r.Body, &got))
	require.Equal(t, "old error with [redacted]", got.Error)
	require.JSONEq(t, `{"body":"[redacted]","flag":true,"n":12345}`, string(got.Inputs), "only strings are redacted")
	require.JSONEq(t, `{"body":"x [redacted] y"}`, string(got.Output))
	require.JSONEq(t, `[{"level":6,"node":"start","message":"[redacted]"}]`, string(got.Log))
	r = b.admin(t, "GET", "/runs", "", "")
	require.NotContains(t, string(r.Body), "legacy-Foxtrot-31")
}

// TestSecrets_ChangesApplyAtOnce checks that webhooks see a secret's new
// value, its removal and its return without being saved again.
func TestSecrets_ChangesApplyAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok {{inputs.k}}\n", "")
	b.createAutomation(t, "inputs", "inputs:\n  text/k:\nstart:\n  return:\n    body: k={{inputs.k}}\n", "")
	put := func(name, value string) {
		t.Helper()
		r := b.admin(t, "PUT", "/secrets/"+name, "text/plain", value)
		require.Contains(t, []int{201, 204}, r.Status, "%s", r.Body)
	}

	// A verify block needs its secret when the webhook is saved.
	r := b.admin(t, "POST", "/webhooks?name=gh", "text/plain", "verify/gh:\n  type: github\n  secret: {{secrets.GH}}\n"+eventFor("ok"))
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	put("GH", "first-gh-secret")
	_, gh := b.createWebhook(t, "gh", "verify/gh:\n  type: github\n  secret: {{secrets.GH}}\n"+eventFor("ok"))

	// A template may refer to a secret that is not set yet.
	_, tpl := b.createWebhook(t, "tpl", "automation/main:\n  uri: cerb:automation:inputs\n  inputs:\n    k: {{secrets.LATER}}\n")
	_, rule := b.createWebhook(t, "rule", "automation/main:\n  uri: cerb:automation:ok\n  enabled@bool: {{request_params.key == secrets.QUERY_KEY}}\n  disabled@bool: yes\n")

	signed := func(tok, secret string) int {
		return b.do(t, "POST", "/webhooks/"+tok, "text/plain", "payload", "X-Hub-Signature-256", githubSignature(secret, "payload")).Status
	}
	require.Equal(t, http.StatusOK, signed(gh, "first-gh-secret"))
	require.Equal(t, http.StatusUnauthorized, signed(gh, "second-gh-secret"))

	put("GH", "second-gh-secret")
	require.Equal(t, http.StatusOK, signed(gh, "second-gh-secret"), "the new value applies at once")
	require.Equal(t, http.StatusUnauthorized, signed(gh, "first-gh-secret"))

	r = b.admin(t, "DELETE", "/secrets/GH", "", "")
	require.Equal(t, http.StatusConflict, r.Status, "a secret a verify block uses is not deleted by accident: %s", r.Body)
	require.Contains(t, string(r.Body), "?force=true")
	require.Equal(t, http.StatusOK, signed(gh, "second-gh-secret"), "the refused delete changed nothing")
	require.Equal(t, http.StatusNoContent, b.admin(t, "DELETE", "/secrets/GH?force=true", "", "").Status)
	r = b.do(t, "POST", "/webhooks/"+gh, "text/plain", "payload", "X-Hub-Signature-256", githubSignature("second-gh-secret", "payload"))
	require.Equal(t, http.StatusInternalServerError, r.Status, "a missing secret is the operator's problem: %s", r.Body)
	require.Contains(t, string(r.Body), "verification could not run")
	put("GH", "third-gh-secret")
	require.Equal(t, http.StatusOK, signed(gh, "third-gh-secret"), "the webhook works again once its secret is back")

	r = b.do(t, "GET", "/webhooks/"+tpl, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "k=", string(r.Body), "a secret that is not set renders empty")
	put("LATER", "later-value")
	r = b.do(t, "GET", "/webhooks/"+tpl, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "k=later-value", string(r.Body))

	require.Equal(t, http.StatusNotFound, b.do(t, "GET", "/webhooks/"+rule+"?key=guess", "", "").Status)
	put("QUERY_KEY", "query-key-1")
	require.Equal(t, http.StatusNotFound, b.do(t, "GET", "/webhooks/"+rule+"?key=guess", "", "").Status)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+rule+"?key=query-key-1", "", "").Status, "a rule can compare with a secret")
}

// TestSecrets_OnlyReferencedAreInjected checks that the event KATA and
// the automation each see only the secrets they name.
func TestSecrets_OnlyReferencedAreInjected(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, v := range map[string]string{"USED": "used-value", "EVENT_ONLY": "event-value", "UNUSED": "unused-value"} {
		require.Equal(t, http.StatusCreated, b.admin(t, "PUT", "/secrets/"+name, "text/plain", v).Status)
	}
	b.createAutomation(t, "dump", "start:\n  return:\n    headers:\n      X-Used: {{secrets.USED}}\n    body: {{secrets|json_encode}}\n", "")
	_, tok := b.createWebhook(t, "dump", "automation/main:\n  uri: cerb:automation:dump\n  enabled@bool: {{secrets.EVENT_ONLY == 'event-value'}}\n")
	r := b.do(t, "GET", "/webhooks/"+tok, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "used-value", r.Header.Get("X-Used"))
	require.JSONEq(t, `{"USED":"used-value"}`, string(r.Body))

	b.createAutomation(t, "none", "start:\n  return:\n    body: {{secrets|json_encode}}\n", "")
	_, tok = b.createWebhook(t, "none", "automation/main:\n  uri: cerb:automation:none\n  enabled@bool: {{secrets.EVENT_ONLY == 'event-value'}}\n")
	r = b.do(t, "GET", "/webhooks/"+tok, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NotContains(t, string(r.Body), "value", "an automation that names no secret gets none")
}

// TestSecrets_HostCallback checks the Secret callback extensions use.
func TestSecrets_HostCallback(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Equal(t, http.StatusCreated, b.admin(t, "PUT", "/secrets/CB", "text/plain", "callback-value").Status)
	cb := runner.New(b.srv.ext, b.srv.catalog, b.srv.log).Callbacks("r", "a")
	v, found, err := cb.Secret(context.Background(), "CB")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "callback-value", v)
	_, found, err = cb.Secret(context.Background(), "MISSING")
	require.NoError(t, err)
	require.False(t, found)
	_, _, err = cb.Secret(context.Background(), "bad name")
	require.ErrorIs(t, err, secrets.ErrInvalidName)
}

// TestSecrets_KeyAndRestart checks the key file, that a restarted server
// reads its secrets (and redacts them from the first log line on), and that
// a server with another key starts but cannot use them.
func TestSecrets_KeyAndRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	withDir := func(c *Config) { c.DataDir = dir }
	b := setup(t, withDir)
	require.Equal(t, http.StatusCreated, b.admin(t, "PUT", "/secrets/KEEP", "text/plain", "kept-across-restarts").Status)
	require.NoError(t, b.srv.Close())

	fi, err := os.Stat(filepath.Join(dir, secrets.KeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	lb := &logBuffer{}
	b = setup(t, withDir, captureLogs(lb))
	b.srv.log.Info("restarted", "value", "kept-across-restarts")
	require.Contains(t, lb.String(), "value=[redacted]", "the redactor knows stored values at start-up")
	v, found, err := b.srv.catalog.SecretValue(context.Background(), "KEEP")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "kept-across-restarts", v)
	require.NoError(t, b.srv.Close())

	// Another key: the names are still listed; the values cannot be read.
	require.NoError(t, os.WriteFile(filepath.Join(dir, secrets.KeyFile), []byte(strings.Repeat("ab", 32)), 0o600))
	lb = &logBuffer{}
	b = setup(t, withDir, captureLogs(lb))
	require.Contains(t, lb.String(), "cannot be read with this key")
	require.JSONEq(t, `{"secrets":[{"name":"KEEP"}]}`, string(b.admin(t, "GET", "/secrets", "", "").Body))
	_, _, err = b.srv.catalog.SecretValue(context.Background(), "KEEP")
	require.ErrorIs(t, err, secrets.ErrDecrypt)
	require.NoError(t, b.srv.Close())

	// A group-readable key file stops the server with the reason.
	require.NoError(t, os.Chmod(filepath.Join(dir, secrets.KeyFile), 0o644))
	cfg := testConfig(t)
	cfg.DataDir = dir
	_, err = New(context.Background(), cfg)
	require.ErrorContains(t, err, "chmod 600")
}

// TestSecrets_TwoServers checks that a change made through one server
// reaches another on the same PostgreSQL database (they share the key).
func TestSecrets_TwoServers(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t, "hh_host_")
	dirA, dirB := t.TempDir(), t.TempDir()
	a := setup(t, func(c *Config) { c.DataDir, c.Database = dirA, dsn })
	key, err := os.ReadFile(filepath.Join(dirA, secrets.KeyFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dirB, secrets.KeyFile), key, 0o600))
	b := setup(t, func(c *Config) { c.DataDir, c.Database = dirB, dsn })

	require.Equal(t, http.StatusCreated, a.admin(t, "PUT", "/secrets/SHARED", "text/plain", "shared-one").Status)
	a.createAutomation(t, "ok", "start:\n  return:\n    body: {{secrets.SHARED}}\n", "")
	_, tok := a.createWebhook(t, "gh", "verify/gh:\n  type: github\n  secret: {{secrets.SHARED}}\n"+eventFor("ok"))
	signed := func(srv *testBundle, secret string) response {
		return srv.do(t, "POST", "/webhooks/"+tok, "text/plain", "p", "X-Hub-Signature-256", githubSignature(secret, "p"))
	}
	r := signed(b, "shared-one")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "shared-one", string(r.Body))
	require.JSONEq(t, `{"secrets":[{"name":"SHARED"}]}`, string(b.admin(t, "GET", "/secrets", "", "").Body))

	require.Equal(t, http.StatusNoContent, a.admin(t, "PUT", "/secrets/SHARED", "text/plain", "shared-two").Status)
	require.Eventually(t, func() bool {
		r := signed(b, "shared-two")
		return r.Status == http.StatusOK && string(r.Body) == "shared-two"
	}, 5*time.Second, 20*time.Millisecond, "server B uses the value set through A")
	require.Equal(t, http.StatusUnauthorized, signed(b, "shared-one").Status)
}

// TestSecrets_OneNewlineRule checks that a raw value loses one trailing
// newline (as curl --data-binary @file sends it) and JSON is kept exactly.
func TestSecrets_OneNewlineRule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct{ name, contentType, body, want string }{
		{"raw", "application/octet-stream", "s3cret-from-file\n", "s3cret-from-file"},
		{"rawcrlf", "text/plain", "s3cret-from-file\r\n", "s3cret-from-file"},
		{"rawtwo", "", "two-newlines\n\n", "two-newlines\n"},
		{"json", "application/json", `{"value":"kept\n"}`, "kept\n"},
	} {
		r := b.admin(t, "PUT", "/secrets/"+tt.name, tt.contentType, tt.body)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		v, found, err := b.srv.secrets.Get(context.Background(), tt.name)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, tt.want, string(v), tt.name)
	}
}
