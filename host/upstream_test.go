package host

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeUpstream is an API that webhooks subscribe to, on 127.0.0.1: it
// records every request; POST /<path> creates hooks/<n> (answering 201
// with its Location, or with its URL in the body for paths under /body),
// after failing as many times as fails[path] says; DELETE removes it.
type fakeUpstream struct {
	*httptest.Server
	mu    sync.Mutex
	got   []upstreamCall
	fails map[string]int
	n     int
}

type upstreamCall struct {
	method, path, auth string
	body               map[string]any
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{fails: map[string]int{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		u.mu.Lock()
		defer u.mu.Unlock()
		u.got = append(u.got, upstreamCall{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body})
		switch r.Method {
		case http.MethodPost:
			if u.fails[r.URL.Path] > 0 {
				u.fails[r.URL.Path]--
				http.Error(w, `{"message":"try later"}`, http.StatusServiceUnavailable)
				return
			}
			u.n++
			loc := fmt.Sprintf("%s/hooks/%d", r.URL.Path, u.n)
			if strings.HasPrefix(r.URL.Path, "/body") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				// The answer echoes the hook's config, the webhook's URL
				// with its token in it, as GitHub's does.
				cfg, _ := json.Marshal(body["config"])
				fmt.Fprintf(w, `{"id":%d,"url":%q,"config":%s}`, u.n, u.URL+loc, cfg)
				return
			}
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusCreated)
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

// calls returns the requests so far.
func (u *fakeUpstream) calls() []upstreamCall {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]upstreamCall(nil), u.got...)
}

// subscribeEvent is event KATA with a subscribe block to path.
func subscribeEvent(base, path, extra string) string {
	return "automation/main:\n  uri: cerb:automation:plain\n" +
		"subscribe/up:\n  url: " + base + path + "\n  headers:\n    Authorization: Bearer {{secrets.UP_TOKEN}}\n" +
		"  body:\n    name: web\n    active@bool: yes\n    events@csv: push, pull_request\n    config:\n      url: {{webhook_url}}\n" + extra
}

// upstreamSubs polls GET /webhooks/{id} until its subscriptions satisfy
// done (a bounded number of times) and returns them.
func (b *testBundle) upstreamSubs(t *testing.T, id string, done func([]map[string]any) bool) []map[string]any {
	t.Helper()
	var subs []map[string]any
	for range 1000 {
		r := b.admin(t, "GET", "/webhooks/"+id, "", "")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var v struct{ Subscriptions []map[string]any }
		require.NoError(t, json.Unmarshal(r.Body, &v))
		subs = v.Subscriptions
		if done(subs) {
			return subs
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.FailNow(t, "the upstream subscriptions did not reach the state wanted", "%v", subs)
	return nil
}

// oneActive reports one subscription, current and active.
func oneActive(subs []map[string]any) bool {
	return len(subs) == 1 && subs[0]["state"] == "active" && subs[0]["current"] == true
}

func TestUpstream_SubscribeRotateChangeDelete(t *testing.T) {
	t.Parallel()
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			testUpstreamLifecycle(t, setupJobs(t, be))
		})
	}
}

func testUpstreamLifecycle(t *testing.T, b *testBundle) {
	up := newFakeUpstream(t)
	b.createAutomation(t, "plain", "start:\n  return:\n    body: ok\n", "")
	r := b.admin(t, "PUT", "/secrets/UP_TOKEN", "text/plain", "up-token-value")
	require.Less(t, r.Status, 300, "%s", r.Body)

	// Create: one POST with the webhook's URL and the secret.
	r = b.admin(t, "POST", "/webhooks?name=sub", "text/plain", subscribeEvent(up.URL, "/repos/o/r/hooks", ""))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	created := r.json(t)
	id, firstURL := created["id"].(string), created["url"].(string)
	subs := b.upstreamSubs(t, id, oneActive)
	require.Equal(t, up.URL+"/repos/o/r/hooks/hooks/1", subs[0]["location"])
	require.EqualValues(t, 201, subs[0]["last_status"])
	calls := up.calls()
	require.Len(t, calls, 1)
	require.Equal(t, "POST", calls[0].method)
	require.Equal(t, "Bearer up-token-value", calls[0].auth)
	require.Equal(t, map[string]any{"name": "web", "active": true, "events": []any{"push", "pull_request"},
		"config": map[string]any{"url": firstURL}}, calls[0].body)

	// Rotate: the new URL is subscribed, then the old Location deleted.
	r = b.admin(t, "POST", "/webhooks/"+id+"/rotate?overlap=0s", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	secondURL := r.json(t)["url"].(string)
	require.NotEqual(t, firstURL, secondURL)
	subs = b.upstreamSubs(t, id, func(s []map[string]any) bool { return oneActive(s) && len(up.calls()) == 3 })
	calls = up.calls()
	require.Equal(t, "POST", calls[1].method)
	require.Equal(t, secondURL, calls[1].body["config"].(map[string]any)["url"])
	require.Equal(t, "DELETE", calls[2].method)
	require.Equal(t, "/repos/o/r/hooks/hooks/1", calls[2].path)
	require.Equal(t, "Bearer up-token-value", calls[2].auth, "DELETE carries the subscription's headers")
	require.Equal(t, up.URL+"/repos/o/r/hooks/hooks/2", subs[0]["location"])

	// A change of the block: subscribed again (same URL), the old deleted.
	patch, _ := json.Marshal(map[string]string{"event_kata": subscribeEvent(up.URL, "/repos/o/r2/hooks", "")})
	r = b.admin(t, "PATCH", "/webhooks/"+id, "application/json", string(patch))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	subs = b.upstreamSubs(t, id, func(s []map[string]any) bool { return oneActive(s) && len(up.calls()) == 5 })
	calls = up.calls()
	require.Equal(t, []string{"POST /repos/o/r2/hooks", "DELETE /repos/o/r/hooks/hooks/2"},
		[]string{calls[3].method + " " + calls[3].path, calls[4].method + " " + calls[4].path})
	require.Equal(t, secondURL, calls[3].body["config"].(map[string]any)["url"], "the URL the webhook has now")

	// A change that does not touch the block sends nothing.
	patch, _ = json.Marshal(map[string]string{"event_kata": "# a comment\n" + subscribeEvent(up.URL, "/repos/o/r2/hooks", "")})
	r = b.admin(t, "PATCH", "/webhooks/"+id, "application/json", string(patch))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	// The block removed: deleted upstream.
	patch, _ = json.Marshal(map[string]string{"event_kata": "automation/main:\n  uri: cerb:automation:plain\n"})
	r = b.admin(t, "PATCH", "/webhooks/"+id, "application/json", string(patch))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	b.upstreamSubs(t, id, func(s []map[string]any) bool { return len(s) == 0 })
	calls = up.calls()
	require.Len(t, calls, 6)
	require.Equal(t, "DELETE /repos/o/r2/hooks/hooks/3", calls[5].method+" "+calls[5].path)

	// The webhook deleted: its subscription deleted upstream.
	id2, _ := b.createWebhook(t, "sub2", subscribeEvent(up.URL, "/repos/o/r3/hooks", ""))
	b.upstreamSubs(t, id2, oneActive)
	r = b.admin(t, "DELETE", "/webhooks/"+id2, "", "")
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	for i := 0; i < 1000 && len(up.calls()) < 8; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	calls = up.calls()
	require.Len(t, calls, 8)
	require.Equal(t, "DELETE /repos/o/r3/hooks/hooks/4", calls[7].method+" "+calls[7].path)
}

func TestUpstream_RetryAndIDPath(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0], fastRetries)
	up := newFakeUpstream(t)
	b.createAutomation(t, "plain", "start:\n  return:\n    body: ok\n", "")
	r := b.admin(t, "PUT", "/secrets/UP_TOKEN", "text/plain", "up-token-value")
	require.Less(t, r.Status, 300, "%s", r.Body)

	// Two failures, then success: retried with backoff; the failures show.
	up.mu.Lock()
	up.fails["/flaky"] = 2
	up.mu.Unlock()
	id, _ := b.createWebhook(t, "flaky", subscribeEvent(up.URL, "/flaky", ""))
	subs := b.upstreamSubs(t, id, oneActive)
	require.EqualValues(t, 3, subs[0]["attempts"])
	require.Len(t, up.calls(), 3)

	// No Location: the created hook's URL is read at id_path:.
	id, _ = b.createWebhook(t, "body", subscribeEvent(up.URL, "/body/hooks", "  id_path: /url\n"))
	subs = b.upstreamSubs(t, id, oneActive)
	require.Equal(t, up.URL+"/body/hooks/hooks/2", subs[0]["location"])
	require.Contains(t, subs[0]["last_answer"], `"id":2`)
	require.Contains(t, subs[0]["last_answer"], `"url":"[redacted]"`, "the webhook's URL (its token) is not kept in the answer")
	require.NotContains(t, subs[0]["last_answer"], "/webhooks/")

	// Without id_path, an answer without Location fails (every attempt),
	// and saving the webhook was not refused.
	id, _ = b.createWebhook(t, "noloc", subscribeEvent(up.URL, "/body/other", ""))
	subs = b.upstreamSubs(t, id, func(s []map[string]any) bool { return len(s) == 1 && s[0]["state"] == "failed" })
	require.Contains(t, subs[0]["last_error"], "without a Location header")
}

// TestUpstream_RetryAFailedSubscription: POST
// /webhooks/{id}/subscriptions/{block}/retry sends a failed block's
// request again with fresh attempts; an active one is 409, an unknown
// block 404.
func TestUpstream_RetryAFailedSubscription(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0], fastRetries)
	up := newFakeUpstream(t)
	b.createAutomation(t, "plain", "start:\n  return:\n    body: ok\n", "")
	r := b.admin(t, "PUT", "/secrets/UP_TOKEN", "text/plain", "up-token-value")
	require.Less(t, r.Status, 300, "%s", r.Body)
	failed := func(s []map[string]any) bool { return len(s) == 1 && s[0]["state"] == "failed" }

	// An answer without Location fails every attempt.
	id, _ := b.createWebhook(t, "noloc", subscribeEvent(up.URL, "/body/other", ""))
	b.upstreamSubs(t, id, failed)
	sent := len(up.calls())
	r = b.admin(t, "POST", "/webhooks/"+id+"/subscriptions/up/retry", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	b.upstreamSubs(t, id, func(s []map[string]any) bool { return failed(s) && len(up.calls()) > sent })
	require.Equal(t, "POST", up.calls()[sent].method, "the request was sent again")

	r = b.admin(t, "POST", "/webhooks/"+id+"/subscriptions/nope/retry", "", "")
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)

	active, _ := b.createWebhook(t, "ok", subscribeEvent(up.URL, "/ok", ""))
	b.upstreamSubs(t, active, oneActive)
	r = b.admin(t, "POST", "/webhooks/"+active+"/subscriptions/up/retry", "", "")
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
}

func TestUpstream_RefusedWhenSaved(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	b.createAutomation(t, "plain", "start:\n  return:\n    body: ok\n", "")
	tests := []struct{ name, event, want string }{
		{"UnknownKey", "subscribe/up:\n  url: https://127.0.0.1/x\n  metod: PUT\n", "3:3: unknown key `metod:` of `subscribe/up:`"},
		{"NotHTTP", "subscribe/up:\n  url: ftp://127.0.0.1/x\n", "2:8: `url:` must be an http:// or https:// URL"},
		{"NoURL", "subscribe/up:\n  method: POST\n", "1:1: `subscribe/up:` needs `url:`"},
		{"OtherMarkup", "subscribe/up:\n  url: https://127.0.0.1/x\n  body:\n    x: {{request_body}}\n", "4:8: `x:` may only use {{webhook_url}} and {{secrets.NAME}}"},
		{"SecretNotSet", "subscribe/up:\n  url: https://127.0.0.1/x\n  headers:\n    Authorization: Bearer {{secrets.NOPE}}\n",
			`subscribe/up: uses the secret "NOPE", which is not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := b.admin(t, "POST", "/webhooks?name=x", "text/plain", "automation/main:\n  uri: cerb:automation:plain\n"+tt.event)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			var msgs []string
			for _, it := range r.problem(t).Errors {
				msgs = append(msgs, fmt.Sprintf("%d:%d: %s", it.Line-2, it.Column, it.Message))
			}
			require.Contains(t, strings.Join(msgs, "\n"), tt.want)
		})
	}
}

// TestUpstream_Manifests: a webhook a manifest declares is subscribed
// with its pinned URL when the apply creates it, and taken back when a
// pruning apply deletes it.
func TestUpstream_Manifests(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	up := newFakeUpstream(t)
	b.createAutomation(t, "plain", "start:\n  return:\n    body: ok\n", "")
	const token = "0123456789abcdef0123456789abcdef01234567"
	event := subscribeEvent(up.URL, "/m/hooks", "")
	manifest := "webhooks:\n  - name: Managed\n    token_secret: HOOK_TOKEN\n    event_kata: |\n" + indent(event, "      ") +
		"secrets:\n  - name: HOOK_TOKEN\n    from_env: HOOK_TOKEN\n  - name: UP_TOKEN\n    from_env: UP_TOKEN\n"
	apply := func(files map[string]string, prune bool) {
		t.Helper()
		body, err := json.Marshal(map[string]any{"files": files, "prune": prune,
			"secrets": map[string]string{"HOOK_TOKEN": token, "UP_TOKEN": "up-token-value"}})
		require.NoError(t, err)
		r := b.admin(t, "POST", "/manifests/apply", "application/json", string(body))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	}
	apply(map[string]string{"hooks.yaml": manifest}, false)
	for i := 0; i < 1000 && len(up.calls()) < 1; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	r := b.admin(t, "GET", "/webhooks", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var list struct{ Webhooks []struct{ ID, Name string } }
	require.NoError(t, json.Unmarshal(r.Body, &list))
	for _, w := range list.Webhooks {
		if w.Name == "Managed" {
			b.upstreamSubs(t, w.ID, oneActive)
		}
	}
	calls := up.calls()
	require.Len(t, calls, 1)
	require.True(t, strings.HasSuffix(calls[0].body["config"].(map[string]any)["url"].(string), "/webhooks/"+token),
		"%v", calls[0].body)
	apply(map[string]string{"other.yaml": "secrets:\n  - name: UP_TOKEN\n    from_env: UP_TOKEN\n"}, true)
	for i := 0; i < 1000 && len(up.calls()) < 2; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	calls = up.calls()
	require.Len(t, calls, 2)
	require.Equal(t, "DELETE /m/hooks/hooks/1", calls[1].method+" "+calls[1].path)
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

// TestUpstream_PackageImport: a webhook a package import creates is
// subscribed with the URL the import shows.
func TestUpstream_PackageImport(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	up := newFakeUpstream(t)
	b.createAutomation(t, "plain", "start:\n  return:\n    body: ok\n", "")
	r := b.admin(t, "PUT", "/secrets/UP_TOKEN", "text/plain", "up-token-value")
	require.Less(t, r.Status, 300, "%s", r.Body)
	pkg, err := json.Marshal(map[string]any{
		"package": map[string]any{"name": "Subscribed", "revision": 1},
		"records": []map[string]any{{"uid": "webhook_sub", "_context": "webhook_listener", "name": "Subscribed",
			"automations_kata": subscribeEvent(up.URL, "/pkg/hooks", "")}},
	})
	require.NoError(t, err)
	r = b.admin(t, "POST", "/packages/import", "application/json", string(pkg))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var res struct{ Webhooks []struct{ ID, URL string } }
	require.NoError(t, json.Unmarshal(r.Body, &res))
	require.Len(t, res.Webhooks, 1)
	b.upstreamSubs(t, res.Webhooks[0].ID, oneActive)
	calls := up.calls()
	require.Len(t, calls, 1)
	require.Equal(t, res.Webhooks[0].URL, calls[0].body["config"].(map[string]any)["url"])
}
