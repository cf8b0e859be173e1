package host

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/runner"
)

const testAdminToken = "test-admin-token"

type testBundle struct {
	srv *Server
	// runs is the server's runner: the extensions, or a test's fake
	// (useRunner).
	runs *proxyRunner
}

// proxyRunner lets a test replace the server's runner after it started.
type proxyRunner struct {
	mu sync.RWMutex
	r  runner.Runner
}

func (p *proxyRunner) Run(ctx context.Context, inv *runner.Invocation) (*automations.Result, error) {
	p.mu.RLock()
	r := p.r
	p.mu.RUnlock()
	return r.Run(ctx, inv)
}

// useRunner makes the server run automations with r from now on.
func (b *testBundle) useRunner(r runner.Runner) {
	b.runs.mu.Lock()
	b.runs.r = r
	b.runs.mu.Unlock()
}

// setup starts a server on a fresh SQLite file with built-in extensions
// in-process.
func setup(t testing.TB, mutate ...func(*Config)) *testBundle {
	t.Helper()
	cfg := testConfig(t)
	cfg.PublicURL = "http://hooks.test"
	// Tests call httptest servers on 127.0.0.1.
	cfg.AllowPrivateRequests = true
	for _, m := range mutate {
		m(&cfg)
	}
	proxy := &proxyRunner{}
	if cfg.Runner == nil {
		cfg.Runner = proxy
	}
	srv, err := New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	proxy.r = runner.New(srv.ext, srv.catalog, srv.log)
	return &testBundle{srv: srv, runs: proxy}
}

// testConfig is the default configuration on a fresh data dir, with the
// test admin token, built-in extensions in-process and no logs.
func testConfig(t testing.TB) Config {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.AdminToken, cfg.InProcess = t.TempDir(), testAdminToken, true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

func (b *testBundle) do(t testing.TB, method, target, contentType string, body string, headers ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.srv.App().Test(req, 150_000) // an upper bound, not a timing assertion
	require.NoError(t, err)
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	checkContract(t, method, target, resp.StatusCode, resp.Header.Get("Content-Type"), rb)
	return response{resp.StatusCode, resp.Header, rb}
}

func (b *testBundle) admin(t testing.TB, method, path, contentType, body string) response {
	t.Helper()
	return b.do(t, method, "/api/v1"+path, contentType, body, "Authorization", "Bearer "+testAdminToken)
}

// createAutomation saves a webhook.respond automation and fails the test on error.
func (b *testBundle) createAutomation(t testing.TB, name, script, policy string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "extension_id": "cerb.trigger.webhook.respond", "script": script, "policy_kata": policy})
	r := b.admin(t, "POST", "/automations", "application/json", string(body))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
}

// createWebhook saves a webhook and returns its token.
func (b *testBundle) createWebhook(t testing.TB, name, event string) (id, token string) {
	t.Helper()
	r := b.admin(t, "POST", "/webhooks?name="+name, "text/plain", event)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	m := r.json(t)
	return m["id"].(string), m["token"].(string)
}

func eventFor(automation string) string {
	return "automation/main:\n  uri: cerb:automation:" + automation + "\n"
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestWebhook_GuideExample(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pkg := readFile(t, filepath.Join("..", "testdata", "packages", "webhook-example.json"))
	r := b.admin(t, "POST", "/packages/import", "application/json", pkg)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `"example.webhook.respond"`)

	_, tok := b.createWebhook(t, "Webhook+Example", eventFor("example.webhook.respond"))
	require.Regexp(t, `^[0-9a-f]{40}$`, tok)

	r = b.do(t, "POST", "/webhooks/"+tok+"?key=value", "", "", "X-CustomHeader", "true")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	m := r.json(t)
	httpPart := m["http"].(map[string]any)
	require.Equal(t, "POST", httpPart["method"])
	require.Equal(t, "", httpPart["path"])
	require.Equal(t, "true", httpPart["headers"].(map[string]any)["x_customheader"])
	require.Equal(t, map[string]any{"key": "value"}, httpPart["params"])
	require.Equal(t, "0.0.0.0", m["client"].(map[string]any)["ip"])
	// json_pretty: 4-space indent, keys in the order the script set them.
	require.True(t, strings.HasPrefix(string(r.Body), "{\n    \"http\": {\n        \"method\": \"POST\","), "%s", r.Body)

	r = b.do(t, "GET", "/webhooks/"+tok+"/a/b/?name=Joe+Customer&age=37", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	httpPart = r.json(t)["http"].(map[string]any)
	require.Equal(t, "GET", httpPart["method"])
	require.Equal(t, "a/b", httpPart["path"])
	require.Equal(t, map[string]any{"name": "Joe Customer", "age": "37"}, httpPart["params"])

	// ?token= works as well as the path.
	r = b.do(t, "GET", "/webhooks?token="+tok+"&x=1", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, map[string]any{"x": "1"}, r.json(t)["http"].(map[string]any)["params"])
}

func TestWebhook_DecisionTable(t *testing.T) {
	t.Parallel()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)

	b := setup(t, func(c *Config) { c.RequestTimeout = 300 * time.Millisecond; c.BodyLimit = 1024 })
	b.createAutomation(t, "ok", "start:\n  return:\n    status_code@int: 201\n    headers:\n      X-Test: yes\n    body: hello {{request_params.name}}\n", "")
	b.createAutomation(t, "fails", "start:\n  error: secret detail\n", "")
	b.createAutomation(t, "noreturn", "start:\n  set:\n    a: b\n", "")
	b.createAutomation(t, "plain", "start:\n  return:\n    body: just text\n", "")
	b.createAutomation(t, "slow", "start:\n  http.request:\n    output: r\n    inputs:\n      url: "+slow.URL+"\n  return:\n    body: done\n",
		"commands:\n  http.request:\n    allow: yes\n")
	b.createAutomation(t, "binary", "start:\n  return:\n    headers:\n      Content-Type: application/octet-stream\n    body@base64: AAEC/w==\n", "")

	_, okTok := b.createWebhook(t, "ok", eventFor("ok"))
	_, failTok := b.createWebhook(t, "fails", eventFor("fails"))
	dbgID, dbgTok := b.createWebhook(t, "debug", eventFor("fails"))
	r := b.admin(t, "PATCH", "/webhooks/"+dbgID, "application/json", `{"debug":true}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	_, noRetTok := b.createWebhook(t, "noreturn", eventFor("noreturn"))
	_, plainTok := b.createWebhook(t, "plain", eventFor("plain"))
	_, slowTok := b.createWebhook(t, "slow", eventFor("slow"))
	_, binTok := b.createWebhook(t, "binary", eventFor("binary"))
	disID, disTok := b.createWebhook(t, "disabled", eventFor("ok"))
	r = b.admin(t, "PATCH", "/webhooks/"+disID, "application/json", `{"enabled":false}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	// The admin API refuses an expiry in the past: the catalog is told
	// directly that this one has passed.
	expID, expTok := b.createWebhook(t, "expired", eventFor("ok"))
	exp, err := b.srv.catalog.GetWebhook(context.Background(), expID)
	require.NoError(t, err)
	passed := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	exp.ExpiresAt = &passed
	require.NoError(t, b.srv.catalog.UpdateWebhook(context.Background(), exp, false))
	_, offTok := b.createWebhook(t, "nohandler", "automation/main:\n  uri: cerb:automation:ok\n  disabled@bool: {{request_params.off}}\n")

	tests := []struct {
		name       string
		method     string
		target     string
		body       string
		wantStatus int
		wantType   string
		wantBody   string // substring
		notInBody  string
	}{
		{"Success", "POST", "/webhooks/" + okTok + "?name=Joe", "", 201, "text/plain; charset=utf-8", "hello Joe", ""},
		{"HeadHasNoBody", "HEAD", "/webhooks/" + okTok, "", 201, "", "", "hello"},
		{"UnknownToken", "GET", "/webhooks/" + strings.Repeat("0", 40), "", 404, "application/problem+json", "no webhook", ""},
		{"NoToken", "GET", "/webhooks", "", 404, "application/problem+json", "", ""},
		{"Disabled", "GET", "/webhooks/" + disTok, "", 400, "application/problem+json", "disabled", ""},
		{"Expired", "GET", "/webhooks/" + expTok, "", 400, "application/problem+json", "expired", ""},
		{"NoEnabledHandler", "GET", "/webhooks/" + offTok + "?off=yes", "", 404, "application/problem+json", "no enabled handler", ""},
		{"HandlerEnabled", "GET", "/webhooks/" + offTok + "?off=no&name=x", "", 201, "text/plain; charset=utf-8", "hello x", ""},
		{"ErrorIs500WithoutDetail", "GET", "/webhooks/" + failTok, "", 500, "application/problem+json", `"run_id"`, "secret detail"},
		{"DebugShowsMessage", "GET", "/webhooks/" + dbgTok, "", 500, "application/problem+json", "secret detail", ""},
		{"NoReturnIs200Empty", "GET", "/webhooks/" + noRetTok, "", 200, "", "", "{"},
		{"PlainTextInferred", "GET", "/webhooks/" + plainTok, "", 200, "text/plain; charset=utf-8", "just text", ""},
		{"TimeLimitIs504", "GET", "/webhooks/" + slowTok, "", 504, "application/problem+json", `"run_id"`, ""},
		{"Base64Body", "GET", "/webhooks/" + binTok, "", 200, "application/octet-stream", "\x00\x01\x02\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, tt.method, tt.target, "", tt.body)
			require.Equal(t, tt.wantStatus, r.Status, "%s", r.Body)
			if tt.wantType != "" {
				require.Equal(t, tt.wantType, r.Header.Get("Content-Type"))
			}
			require.Contains(t, string(r.Body), tt.wantBody)
			if tt.notInBody != "" {
				require.NotContains(t, string(r.Body), tt.notInBody)
			}
		})
	}
}

func TestWebhook_RequestNormalisation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "echo", `start:
  set:
    out:
      m@key: request_method
      p@key: request_path
      h@key: request_headers
      q@key: request_params
      b@key: request_body
  return:
    headers:
      Content-Type: application/json
    body: {{out|json_encode}}
`, "")
	_, tok := b.createWebhook(t, "echo", eventFor("echo"))
	r := b.do(t, "POST", "/webhooks/"+tok+"/x/y?a=1&Foo-Bar=2&a%5B%5D=z", "application/x-www-form-urlencoded", "a=form&c=3",
		"Cookie", "s=secret", "X-Custom-Header", "v")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	m := r.json(t)
	require.Equal(t, "POST", m["m"])
	require.Equal(t, "x/y", m["p"])
	h := m["h"].(map[string]any)
	require.Equal(t, "v", h["x_custom_header"])
	require.NotContains(t, h, "cookie")
	q := m["q"].(map[string]any)
	require.Equal(t, "form", q["a"], "form fields override query parameters")
	require.Equal(t, "2", q["foo_bar"])
	require.Equal(t, "3", q["c"])
	require.Equal(t, "a=form&c=3", m["b"])
}

// TestWebhook_BodyLimitOverHTTP checks the 413 over a real loopback
// connection (app.Test cannot send an over-limit body).
func TestWebhook_BodyLimitOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.BodyLimit = 1024 })
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = b.srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = b.srv.App().Shutdown() })
	url := "http://" + ln.Addr().String() + "/webhooks/" + tok

	resp, err := http.Post(url, "text/plain", strings.NewReader(strings.Repeat("x", 2048)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	resp, err = http.Post(url, "text/plain", strings.NewReader(strings.Repeat("x", 512)))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok", string(body))
}

func TestWebhook_Limits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, rateTok := b.createWebhook(t, "rate", "limits:\n  rate: 0.001\n  burst: 2\n"+eventFor("ok"))
	_, bodyTok := b.createWebhook(t, "body", "limits:\n  body_bytes: 10\n"+eventFor("ok"))

	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+rateTok, "", "").Status)
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+rateTok, "", "").Status)
	r := b.do(t, "GET", "/webhooks/"+rateTok, "", "")
	require.Equal(t, http.StatusTooManyRequests, r.Status, "the burst of 2 is spent")
	require.NotEmpty(t, r.Header.Get("Retry-After"))

	require.Equal(t, http.StatusOK, b.do(t, "POST", "/webhooks/"+bodyTok, "text/plain", "short").Status)
	require.Equal(t, http.StatusRequestEntityTooLarge, b.do(t, "POST", "/webhooks/"+bodyTok, "text/plain", "far too long for it").Status)

	r = b.admin(t, "POST", "/webhooks?name=x", "text/plain", "limits:\n  rate: soon\n"+eventFor("ok"))
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Contains(t, string(r.Body), `"line":2`)
}

func TestWebhook_DefaultLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.DefaultLimits = automations.EventLimits{Rate: 0.001, Burst: 1} })
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, plain := b.createWebhook(t, "plain", eventFor("ok"))
	_, own := b.createWebhook(t, "own", "limits:\n  rate: 0.001\n  burst: 3\n"+eventFor("ok"))

	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+plain, "", "").Status)
	require.Equal(t, http.StatusTooManyRequests, b.do(t, "GET", "/webhooks/"+plain, "", "").Status,
		"the server-wide burst of 1 applies to a webhook without limits:")
	for i := range 3 {
		require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+own, "", "").Status, "request %d within the webhook's own burst", i)
	}
	require.Equal(t, http.StatusTooManyRequests, b.do(t, "GET", "/webhooks/"+own, "", "").Status)
}

func TestWebhook_ConcurrencyLimit(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 8)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	t.Cleanup(slow.Close)
	b := setup(t)
	b.createAutomation(t, "slow", "start:\n  http.request:\n    output: r\n    inputs:\n      url: "+slow.URL+"\n  return:\n    body: done\n",
		"commands:\n  http.request:\n    allow: yes\n")
	_, tok := b.createWebhook(t, "slow", "limits:\n  concurrency: 2\n"+eventFor("slow"))

	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.do(t, "GET", "/webhooks/"+tok, "", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		}()
	}
	<-arrived
	<-arrived
	r := b.do(t, "GET", "/webhooks/"+tok, "", "")
	require.Equal(t, http.StatusTooManyRequests, r.Status, "%s", r.Body)
	require.Equal(t, "1", r.Header.Get("Retry-After"))
	close(release)
	wg.Wait()
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+tok, "", "").Status, "slots are released")

}

func TestWebhook_Verify(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "ok", "start:\n  return:\n    body: {{request_body}}\n", "")
	_, gh := b.createWebhook(t, "gh", "verify/github:\n  type: github\n  secret: It's a Secret to Everybody\n"+eventFor("ok"))
	_, ip := b.createWebhook(t, "ip", "verify/ip:\n  type: ip_allow\n  cidrs@list:\n    10.0.0.0/8\n"+eventFor("ok"))
	const good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

	r := b.do(t, "POST", "/webhooks/"+gh, "text/plain", "Hello, World!", "X-Hub-Signature-256", good)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "Hello, World!", string(r.Body))

	for _, tc := range []struct{ name, body, sig string }{
		{"Tampered", "Hello, World?", good},
		{"WrongSignature", "Hello, World!", "sha256=" + strings.Repeat("0", 64)},
		{"Missing", "Hello, World!", ""},
	} {
		r := b.do(t, "POST", "/webhooks/"+gh, "text/plain", tc.body, "X-Hub-Signature-256", tc.sig)
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s: %s", tc.name, r.Body)
		require.NotContains(t, string(r.Body), "757107ea", tc.name)
		require.NotContains(t, string(r.Body), "Secret to Everybody", tc.name)
	}
	r = b.do(t, "GET", "/webhooks/"+ip, "", "")
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)

	// Bad verify blocks and missing secrets are refused when saved.
	r = b.admin(t, "POST", "/webhooks?name=x", "text/plain", "verify/x:\n  type: nope\n"+eventFor("ok"))
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `"line":`)
	r = b.admin(t, "POST", "/webhooks?name=x", "text/plain", "verify/x:\n  type: github\n  secret: {{secrets.gh}}\n"+eventFor("ok"))
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `not set`)
}

func TestWebhook_SSRFGuard(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("inside")) }))
	t.Cleanup(target.Close)
	b := setup(t, func(c *Config) { c.AllowPrivateRequests = false })
	b.createAutomation(t, "fetch", "start:\n  http.request:\n    output: r\n    inputs:\n      url: "+target.URL+"\n    on_error:\n      return:\n        body: {{r.error}}\n  return:\n    body: {{r.body}}\n",
		"commands:\n  http.request:\n    allow: yes\n")
	_, tok := b.createWebhook(t, "fetch", eventFor("fetch"))
	r := b.do(t, "GET", "/webhooks/"+tok, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "refused: loopback addresses are blocked")
	require.NotContains(t, string(r.Body), "inside")

	// A policy may open a network to its own automation, and to no other.
	b.createAutomation(t, "fetch-allowed", "start:\n  http.request:\n    output: r\n    inputs:\n      url: "+target.URL+"\n  return:\n    body: {{r.body}}\n",
		"commands:\n  http.request:\n    allow: yes\nsettings:\n  http_allow_networks@list:\n    127.0.0.1/32\n")
	_, allowed := b.createWebhook(t, "fetch-allowed", eventFor("fetch-allowed"))
	r = b.do(t, "GET", "/webhooks/"+allowed, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "inside", string(r.Body))
	r = b.do(t, "GET", "/webhooks/"+tok, "", "")
	require.Contains(t, string(r.Body), "refused: loopback addresses are blocked", "the allowed automation's connection is not reused by another")

	r = b.admin(t, "POST", "/automations", "application/json",
		`{"name":"bad-net","extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n","policy_kata":"settings:\n  http_allow_networks: 10.0.0.0/33\n"}`)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `is not an address or CIDR prefix`)
	require.Contains(t, string(r.Body), `"line":2`)
}

// TestWebhook_MalformedRequestHidesToken sends requests fasthttp cannot
// parse: the 400 must not quote the request line, which holds the token.
func TestWebhook_MalformedRequestHidesToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = b.srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = b.srv.App().Shutdown() })

	for _, raw := range []string{
		"POST /webhooks/" + tok + " HTTP/1.1\r\nHost: x\r\n folded: line\r\nContent-Length: 1\r\n\r\nx",
		"GET /webhooks/" + tok + " HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
	} {
		resp, body, err := fuzzExchange(ln.Addr().String(), []byte(raw), "POST", 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
		require.NotContains(t, string(body), tok)
		require.NotContains(t, string(body), tok[:16], "not even a truncated token")
	}
}
