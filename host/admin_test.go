package host

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
)

func TestAdmin_RequiresToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, hdr := range []string{"", "Bearer wrong", "Basic " + testAdminToken, testAdminToken} {
		r := b.do(t, "GET", "/api/v1/webhooks", "", "", "Authorization", hdr)
		require.Equal(t, http.StatusUnauthorized, r.Status, hdr)
		require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	}
	r := b.admin(t, "GET", "/webhooks", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	r = b.do(t, "GET", "/healthz", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	r = b.do(t, "GET", "/readyz", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	r = b.admin(t, "GET", "/nope", "", "")
	require.Equal(t, http.StatusNotFound, r.Status)
	r = b.admin(t, "GET", "/openapi.json", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	require.True(t, json.Valid(r.Body))
}

// TestAdmin_FailedAuthIsRateLimited checks the failed-authentication
// throttle per client (its address from a trusted proxy's
// X-Forwarded-For; IPv6 by /64): a client's first failures get 401, then
// every request of that client gets 429 with Retry-After, the right token's
// too (it is not checked, so a right guess is answered as a wrong one),
// while other clients are answered as before, and a success resets no one.
func TestAdmin_FailedAuthIsRateLimited(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) {
		// app.Test's connections come from 0.0.0.0.
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
	})
	const burst = 10 // admin.authBurst
	as := func(client, token string) response {
		return b.do(t, "GET", "/api/v1/webhooks", "", "", "Authorization", "Bearer "+token, "X-Forwarded-For", client)
	}
	tests := []struct {
		name, guesser string
		// others are clients not throttled by the guesser's failures.
		others []string
		// same is a client answered as the guesser once it is throttled.
		same string
	}{
		{name: "IPv4", guesser: "198.51.100.7", others: []string{"198.51.100.8", "2001:db8::7"}, same: "::ffff:198.51.100.7"},
		{name: "IPv6GroupedBy64", guesser: "2001:db8:1:2::1", others: []string{"2001:db8:1:3::1", "198.51.100.9"}, same: "2001:db8:1:2:ffff::9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var statuses []int
			for range burst {
				statuses = append(statuses, as(tt.guesser, "guess").Status)
			}
			require.Equal(t, slices.Repeat([]int{http.StatusUnauthorized}, burst), statuses)
			for _, token := range []string{"guess", testAdminToken} {
				r := as(tt.guesser, token)
				require.Equal(t, http.StatusTooManyRequests, r.Status, "%s", r.Body)
				require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
				retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
				require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
				require.Positive(t, retry)
			}
			require.Equal(t, http.StatusTooManyRequests, as(tt.same, testAdminToken).Status, "the same client")
			for _, other := range tt.others {
				require.Equal(t, http.StatusOK, as(other, testAdminToken).Status, "%s succeeds", other)
				require.Equal(t, http.StatusUnauthorized, as(other, "guess").Status, "%s fails on its own count", other)
			}
			require.Equal(t, http.StatusTooManyRequests, as(tt.guesser, "guess").Status, "others' successes reset nothing")
		})
	}
}

func TestAdmin_ValidationOnSave(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "good", "start:\n  return:\n    body: ok\n", "")
	b.createAutomation(t, "needs", "inputs:\n  text/env:\n    required@bool: yes\n  text/opt:\nstart:\n  return:\n    body: {{inputs.env}}\n", "")

	tests := []struct {
		name, method, path, ctype, body string
		wantStatus                      int
		wantFields                      []string // "field:line:col" or "field"
	}{
		{"ScriptUnknownCommand", "POST", "/automations", "application/json",
			`{"name":"bad","extension_id":"cerb.trigger.webhook.respond","script":"start:\n  nope:\n    a: b\n"}`, 400, []string{"script:2:3"}},
		{"ScriptAndPolicyAndNameAtOnce", "POST", "/automations", "application/json",
			`{"name":"bad name","extension_id":"cerb.trigger.webhook.respond","script":"start:\n\tset:\n","policy_kata":"commands:\n  http.request:\n    allow: yes\n    allow: no\n"}`, 400, []string{"name", "script:2:1", "policy_kata:4:5"}},
		{"UnknownTrigger", "POST", "/automations", "application/json",
			`{"name":"x","extension_id":"cerb.trigger.nope","script":"start:\n  return:\n"}`, 400, []string{"extension_id"}},
		{"UnknownJSONField", "POST", "/automations", "application/json", `{"name":"x","bogus":1}`, 400, nil},
		{"EventKATASyntax", "POST", "/webhooks?name=x", "text/plain", "automation/main\n  uri: cerb:automation:good\n", 400, []string{"event_kata:1:1"}},
		{"EventKATAMissingAutomation", "POST", "/webhooks?name=x", "text/plain", eventFor("missing"), 400, []string{"event_kata"}},
		{"EventKATAUndeclaredInput", "POST", "/webhooks?name=x", "text/plain",
			"automation/main:\n  uri: cerb:automation:good\n  inputs:\n    environment: staging\n", 400, []string{"event_kata:4:5"}},
		{"EventKATAMissingRequiredInput", "POST", "/webhooks?name=x", "text/plain",
			"automation/main:\n  uri: cerb:automation:needs\n  inputs:\n    opt: x\n", 400, []string{"event_kata:1:1"}},
		{"WebhookNameRequired", "POST", "/webhooks", "text/plain", eventFor("good"), 400, []string{"name"}},
		{"DuplicateAutomation", "POST", "/automations", "application/json",
			`{"name":"good","extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n"}`, 409, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.admin(t, tt.method, tt.path, tt.ctype, tt.body)
			require.Equal(t, tt.wantStatus, r.Status, "%s", r.Body)
			require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			var p api.Problem
			require.NoError(t, json.Unmarshal(r.Body, &p))
			got := map[string]bool{}
			for _, it := range p.Errors {
				got[it.Field] = true
				if it.Line > 0 {
					got[it.Field+":"+strconv.Itoa(it.Line)+":"+strconv.Itoa(it.Column)] = true
				}
			}
			for _, f := range tt.wantFields {
				require.True(t, got[f], "want a problem at %s, got %s", f, r.Body)
			}
		})
	}
	// Nothing invalid was saved.
	r := b.admin(t, "GET", "/automations", "", "")
	require.Equal(t, 2, strings.Count(string(r.Body), `"name"`), "%s", r.Body)
	r = b.admin(t, "GET", "/webhooks", "", "")
	require.JSONEq(t, `{"webhooks":[]}`, string(r.Body))

	// Declared inputs given, optional ones left out: saved, and it runs.
	_, tok := b.createWebhook(t, "ok", "automation/main:\n  uri: cerb:automation:needs\n  inputs:\n    env: prod\n")
	r = b.do(t, "GET", "/webhooks/"+tok, "", "")
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.Equal(t, "prod", string(r.Body))

	// The automation cannot then drop the input the webhook passes, nor
	// leave webhook.respond; a compatible change is saved.
	for _, body := range []string{
		`{"extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n    body: x\n"}`,
		`{"extension_id":"cerb.trigger.automation.function","script":"inputs:\n  text/env:\nstart:\n  return:\n"}`,
	} {
		r = b.admin(t, "PUT", "/automations/needs", "application/json", body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		require.Contains(t, string(r.Body), `webhook \"ok\"`)
	}
	r = b.admin(t, "PUT", "/automations/needs", "application/json",
		`{"extension_id":"cerb.trigger.webhook.respond","script":"inputs:\n  text/env:\n  text/extra:\nstart:\n  return:\n    body: v2 {{inputs.env}}\n"}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = b.do(t, "GET", "/webhooks/"+tok, "", "")
	require.Equal(t, "v2 prod", string(r.Body))
}

func TestAdmin_AutomationLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.admin(t, "PUT", "/automations/a.b-c_d", "application/json", `{"extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n    body: one\n"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.EqualValues(t, 1, r.json(t)["revision"])
	_, tok := b.createWebhook(t, "w", eventFor("a.b-c_d"))
	require.Equal(t, "one", string(b.do(t, "GET", "/webhooks/"+tok, "", "").Body))

	r = b.admin(t, "PUT", "/automations/a.b-c_d", "application/json", `{"extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n    body: two\n"}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.EqualValues(t, 2, r.json(t)["revision"])
	require.Equal(t, "two", string(b.do(t, "GET", "/webhooks/"+tok, "", "").Body), "a change takes effect at once")

	r = b.admin(t, "DELETE", "/automations/a.b-c_d", "", "")
	require.Equal(t, http.StatusConflict, r.Status, "in use by a webhook: %s", r.Body)
	r = b.admin(t, "DELETE", "/automations/a.b-c_d?force=true", "", "")
	require.Equal(t, http.StatusNoContent, r.Status)
	require.Equal(t, http.StatusNotFound, b.do(t, "GET", "/webhooks/"+tok, "", "").Status)
	r = b.admin(t, "GET", "/automations/a.b-c_d", "", "")
	require.Equal(t, http.StatusNotFound, r.Status)
}

func TestAdmin_TokenRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "a", "start:\n  return:\n    body: ok\n", "")
	id, old := b.createWebhook(t, "w", eventFor("a"))

	r := b.admin(t, "POST", "/webhooks/"+id+"/rotate?overlap=1h", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	m := r.json(t)
	fresh := m["token"].(string)
	require.NotEqual(t, old, fresh)
	require.NotEmpty(t, m["previous_token_valid_until"])
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+old, "", "").Status, "old token valid during the overlap")
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+fresh, "", "").Status)

	r = b.admin(t, "POST", "/webhooks/"+id+"/rotate?overlap=0", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	newest := r.json(t)["token"].(string)
	require.Equal(t, http.StatusNotFound, b.do(t, "GET", "/webhooks/"+fresh, "", "").Status, "overlap 0 ends the old token")
	require.Equal(t, http.StatusNotFound, b.do(t, "GET", "/webhooks/"+old, "", "").Status)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+newest, "", "").Status)

	r = b.admin(t, "POST", "/webhooks/"+id+"/rotate?overlap=soon", "", "")
	require.Equal(t, http.StatusBadRequest, r.Status)
	// The token is never shown again.
	r = b.admin(t, "GET", "/webhooks/"+id, "", "")
	require.NotContains(t, string(r.Body), newest)
	require.NotContains(t, string(r.Body), `"token"`)
}

func TestAdmin_RunsRecordedAndRedacted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "a", "start:\n  log: hello {{request_params.n}}\n  return:\n    body: ok\n", "")
	b.createAutomation(t, "f", "start:\n  error: broke\n", "")
	id, tok := b.createWebhook(t, "w", eventFor("a"))
	_, ftok := b.createWebhook(t, "f", eventFor("f"))
	r := b.do(t, "POST", "/webhooks/"+tok+"?n=1", "", "body", "Authorization", "Bearer sekrit", "X-Hub-Signature-256", "sha256=abc")
	require.Equal(t, http.StatusOK, r.Status)
	r = b.do(t, "POST", "/webhooks/"+ftok, "", "")
	require.Equal(t, http.StatusInternalServerError, r.Status)
	runID := r.json(t)["run_id"].(string)
	b.srv.dispatch.FlushRuns()

	r = b.admin(t, "GET", "/runs?webhook="+id, "", "")
	require.Equal(t, http.StatusOK, r.Status)
	var list struct{ Runs []api.Run }
	require.NoError(t, json.Unmarshal(r.Body, &list))
	require.Len(t, list.Runs, 1)
	require.Equal(t, "return", list.Runs[0].Exit)

	r = b.admin(t, "GET", "/runs/"+list.Runs[0].ID, "", "")
	require.Equal(t, http.StatusOK, r.Status)
	require.NotContains(t, string(r.Body), "sekrit")
	require.NotContains(t, string(r.Body), "sha256=abc")
	require.Contains(t, string(r.Body), "[redacted]")
	require.Contains(t, string(r.Body), "hello 1")

	r = b.admin(t, "GET", "/runs/"+runID, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "broke")
	require.EqualValues(t, 500, r.json(t)["status"])
}

func TestAdmin_PackageImport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pkg := readFile(t, "../testdata/packages/webhook-example.json")
	r := b.admin(t, "POST", "/packages/import", "application/json", pkg)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	// The same revision again changes nothing and says so (upgrades:
	// packages_upgrade_test.go).
	r = b.admin(t, "POST", "/packages/import", "application/json", pkg)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "unchanged", r.json(t)["action"])

	r = b.admin(t, "POST", "/packages/import", "application/json", `{"package":{"name":"x"},"records":[{"uid":"a","_context":"automation","name":"bad.one","extension_id":"cerb.trigger.webhook.respond","script":"start:\n  nope:\n"}]}`)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `"records[a].script"`)
	require.Contains(t, string(r.Body), `"line":2`)
	r = b.admin(t, "GET", "/automations/bad.one", "", "")
	require.Equal(t, http.StatusNotFound, r.Status)

	r = b.admin(t, "POST", "/packages/import", "application/json", `{not json`)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))

	r = b.admin(t, "POST", "/packages/import?name=nope", "", "")
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)

	// A webhook and its automation in one package: the webhook's fixed
	// inputs are checked against the automation as it will be created.
	two := func(inputs string) string {
		return `{"package":{"name":"two"},"records":[` +
			`{"uid":"auto","_context":"automation","name":"pkg.deploy","extension_id":"cerb.trigger.webhook.respond","script":"` + inputs + `start:\n  return:\n    body: ok\n"},` +
			`{"uid":"hook","_context":"webhook","name":"Deploy","automations_kata":"automation/a:\n  uri: cerb:automation:pkg.deploy\n  inputs:\n    env: prod\n"}]}`
	}
	r = b.admin(t, "POST", "/packages/import", "application/json", two(""))
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `"records[hook].event_kata"`)
	require.Contains(t, string(r.Body), "input `env` is not declared")
	r = b.admin(t, "GET", "/automations/pkg.deploy", "", "")
	require.Equal(t, http.StatusNotFound, r.Status, "nothing is created")
	r = b.admin(t, "POST", "/packages/import", "application/json", two(`inputs:\n  text/env:\n`))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "a", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "w", eventFor("a"))
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+tok, "", "").Status)
	require.Equal(t, http.StatusNotFound, b.do(t, "GET", "/webhooks/nope", "", "").Status)
	r := b.do(t, "GET", "/metrics", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	body := string(r.Body)
	id := b.admin(t, "GET", "/webhooks", "", "").json(t)["webhooks"].([]any)[0].(map[string]any)["id"].(string)
	for _, want := range []string{
		`hookhost_webhook_requests_total{code="2xx",webhook="` + id + `"} 1`,
		`hookhost_webhook_requests_total{code="4xx",webhook=""} 1`,
		`hookhost_webhook_request_duration_seconds_count{webhook="` + id + `"} 1`,
		`hookhost_webhook_rejected_total{cause="unknown_token"} 1`,
		`hookhost_runs_total{exit="return"} 1`,
		`hookhost_extension_restarts_total 0`,
		`hookhost_subscription_events_dropped_total 0`,
		`hookhost_run_records_skipped_total 0`,
		`hookhost_connections `,
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "nope", "no token or path is a label")
	// The console's summary adds up every webhook, the unknown token too.
	var sum api.MetricsSummary
	r = b.admin(t, "GET", "/metrics/summary", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, &sum))
	require.Equal(t, uint64(1), sum.Requests["2xx"])
	require.Equal(t, uint64(1), sum.Requests["4xx"])
	require.Len(t, sum.DurationCumulative, len(sum.DurationBounds)+1)
	require.Equal(t, uint64(2), sum.DurationCumulative[len(sum.DurationCumulative)-1])
	// promtool check metrics: the same linter, as a library.
	problems, err := testutil.GatherAndLint(b.srv.metrics.Registry())
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestAdmin_PreflightsAreNotFailedLogins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 20 {
		r := b.do(t, "OPTIONS", "/api/v1/webhooks", "", "", "Origin", "https://console.example", "Access-Control-Request-Method", "GET")
		require.Equal(t, http.StatusUnauthorized, r.Status)
	}
	r := b.do(t, "GET", "/api/v1/webhooks", "", "", "Authorization", "Bearer guess")
	require.Equal(t, http.StatusUnauthorized, r.Status, "preflights did not use up the failure budget")
}

// TestAdmin_OptionsGuessesAreThrottled checks that an OPTIONS request that
// carries a token is a guess like any other: a wrong one counts, and once
// its client is throttled the right token is answered as a wrong one, for
// OPTIONS as for GET (the right token alone answers 405 with Allow).
func TestAdmin_OptionsGuessesAreThrottled(t *testing.T) {
	t.Parallel()
	const burst = 10 // admin.authBurst
	tests := []struct {
		name, guess string // the method of the guesses
	}{
		{name: "OptionsGuesses", guess: "OPTIONS"},
		{name: "GetGuesses", guess: "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *Config) {
				// app.Test's connections come from 0.0.0.0.
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
			})
			as := func(client, method, token string) response {
				return b.do(t, method, "/api/v1/version", "", "", "Authorization", "Bearer "+token, "X-Forwarded-For", client)
			}
			require.Equal(t, http.StatusMethodNotAllowed, as("198.51.100.1", "OPTIONS", testAdminToken).Status, "not throttled: the right token")
			for range burst {
				require.Equal(t, http.StatusUnauthorized, as("198.51.100.7", tt.guess, "guess").Status)
			}
			for _, method := range []string{"OPTIONS", "GET"} {
				for _, token := range []string{"guess", testAdminToken} {
					r := as("198.51.100.7", method, token)
					require.Equal(t, http.StatusTooManyRequests, r.Status, "%s with %q: %s", method, token, r.Body)
					require.NotEmpty(t, r.Header.Get("Retry-After"))
					require.Empty(t, r.Header.Get("Allow"))
				}
			}
		})
	}
}

// TestMetrics_FollowTheAdminListener checks that with --admin-listen,
// /metrics and the admin API are served there and not on the webhook port.
func TestMetrics_FollowTheAdminListener(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.AdminListen = "127.0.0.1:0" })
	for _, path := range []string{"/metrics", "/api/v1/webhooks"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := b.srv.App().Test(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s on the webhook port", path)
		resp, err = b.srv.AdminApp().Test(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s on the admin port", path)
	}
}
