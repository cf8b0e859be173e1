package console_test

// The console's browser test: a real hookhost server on 127.0.0.1 (webhook
// and admin listeners apart, as with --admin-listen) and Debian's chromium,
// driven through the DevTools protocol with chromedp. It does what a person
// does: signs in, pastes the guide's package, pastes event KATA, copies the
// URL, watches a call arrive live and in the inspector, finds why a badly
// signed request was refused, replays, breaks the event KATA, dry-runs, and
// cancels and retries a job. It waits for DOM states, never for time.
//
// Screenshots of every page (1280×800, and two at phone width) go to
// $HOOKHOST_SCREENSHOTS when it is set, else to a temp dir (logged).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host"
	"github.com/hookhost/hookhost/host/api/apitest"
	"github.com/hookhost/hookhost/host/console"
)

const adminToken = "console-test-admin-token-0123456789abcdef"

// stepBound bounds one step's wait for a DOM state: a failure cut-off for a
// loaded machine (the race detector, other tests), not a timing assertion.
const stepBound = 60 * time.Second

// chromium finds Debian's chromium, or skips the test naming what is
// missing.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it): the console's browser tests need it")
	return ""
}

// server is a running hookhost with its two listeners.
type server struct {
	public, admin string // http://127.0.0.1:PORT
	contract      *apitest.Contract
}

func startServer(t *testing.T) *server {
	t.Helper()
	k, err := apitest.Load()
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := host.DefaultConfig()
	cfg.DataDir, cfg.AdminToken, cfg.InProcess = t.TempDir(), adminToken, true
	// The job test's automation calls a server of the test on 127.0.0.1.
	cfg.AllowPrivateRequests = true
	// An upstream subscription fails its 8 attempts in well under a second.
	cfg.Jobs.RetryBackoff = 5 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Listen, cfg.AdminListen = ln.Addr().String(), adminLn.Addr().String()
	cfg.PublicURL = "http://" + cfg.Listen
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := host.New(ctx, cfg)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, adminLn) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &server{public: "http://" + cfg.Listen, admin: "http://" + cfg.AdminListen, contract: k}
}

// call sends a request and checks the answer against openapi.json.
func (s *server) call(t *testing.T, method, url, contentType, body string, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
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
	path := req.URL.Path
	if err := s.contract.Check(method, path, resp.StatusCode, resp.Header.Get("Content-Type"), b); err != nil {
		t.Errorf("openapi.json: %v", err)
	}
	return resp.StatusCode, resp.Header, b
}

// api calls the admin API and decodes a JSON answer into out (when not nil).
func (s *server) api(t *testing.T, method, path string, in, out any, want int) {
	t.Helper()
	var body string
	if in != nil {
		b, err := json.Marshal(in)
		require.NoError(t, err)
		body = string(b)
	}
	status, _, b := s.call(t, method, s.admin+"/api/v1"+path, "application/json", body, "Authorization", "Bearer "+adminToken)
	require.Equal(t, want, status, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out))
	}
}

// waitRecord waits until GET /requests?<query> lists a record (records
// are written just after the answer) and returns the newest one's id.
func (s *server) waitRecord(t *testing.T, query string) string {
	t.Helper()
	deadline := time.Now().Add(stepBound)
	for {
		var l struct{ Runs []struct{ ID string } }
		s.api(t, http.MethodGet, "/requests?"+query, nil, &l, http.StatusOK)
		if len(l.Runs) > 0 {
			return l.Runs[0].ID
		}
		require.True(t, time.Now().Before(deadline), "no request record for %s", query)
		time.Sleep(20 * time.Millisecond)
	}
}

// page is the browser tab, with what it logged.
type page struct {
	ctx   context.Context
	shots string
	mu    sync.Mutex
	logs  []string
}

func openBrowser(t *testing.T, exe string) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	// The whole browser session is bounded; each step has its own bound.
	base, cancelBase := context.WithTimeout(context.Background(), 3*time.Minute)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc(); cancelBase() })
	p := &page{ctx: ctx, shots: os.Getenv("HOOKHOST_SCREENSHOTS")}
	if p.shots == "" {
		p.shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(p.shots, 0o755))
	t.Logf("screenshots in %s", p.shots)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.logs = append(p.logs, m.String())
			p.mu.Unlock()
		}
	}()
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	return p
}

// do runs actions with a bound, failing the test with what it waited for.
func (p *page) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepBound)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, p.state())
	}
}

// state describes the page after a failed step: its route, its text and
// the browser's log; a screenshot is saved as FAILED.png.
func (p *page) state() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(filepath.Join(p.shots, "FAILED.png"), b, 0o644)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("location.hash + '\\n' + (document.querySelector('main')?.innerText || '').slice(0, 3000)"))
	return "page: " + text + "\nbrowser log:\n" + p.log()
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](t *testing.T, p *page, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepBound)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "evaluate %s", expr)
	return v
}

// until waits until a JavaScript expression is truthy.
func (p *page) until(t *testing.T, what, expr string) {
	t.Helper()
	p.do(t, what, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepBound))(ctx, tg)
		return chromedp.Void{}, err
	})
}

// go opens a console route (the part after #).
func (p *page) goTo(t *testing.T, route string) {
	t.Helper()
	js, _ := json.Marshal(route)
	eval[bool](t, p, fmt.Sprintf("(location.hash = %s, true)", js))
}

// fill sets a field's value as typing would (an input event follows).
func (p *page) fill(t *testing.T, sel, value string) {
	t.Helper()
	s, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	p.do(t, "wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	eval[bool](t, p, fmt.Sprintf(`(() => { const el = document.querySelector(%s); el.focus(); el.value = %s;
		el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, s, v))
}

func (p *page) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepBound)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err, "text of %s", sel)
	return v
}

// shot saves a screenshot of the viewport as NAME.png.
func (p *page) shot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepBound)
	defer cancel()
	// Screenshots show the page at rest: no caret, no running transition.
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(p.shots, name+".png"), b, 0o644))
}

// shotAt scrolls the element to the top of the viewport, then saves a
// screenshot.
func (p *page) shotAt(t *testing.T, name, sel string) {
	t.Helper()
	js, _ := json.Marshal(sel)
	eval[bool](t, p, fmt.Sprintf("(document.querySelector(%s).scrollIntoView({block: 'start'}), window.scrollBy(0, -60), true)", js))
	p.shot(t, name)
}

func (p *page) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logs, "\n")
}

// blocker is an HTTP server whose answers wait until it is released: a job
// that calls it stays Running.
type blocker struct {
	url     string
	release chan struct{}
	once    sync.Once
}

func newBlocker(t *testing.T) *blocker {
	t.Helper()
	b := &blocker{release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-b.release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "released")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { b.open(); _ = srv.Close() })
	b.url = "http://" + ln.Addr().String() + "/slow"
	return b
}

func (b *blocker) open() { b.once.Do(func() { close(b.release) }) }

// TestConsole_Browser is one person's session, step after step in one
// browser tab; it does not run in parallel with other tests (a browser is
// the heaviest thing a test here starts).
func TestConsole_Browser(t *testing.T) {
	exe := chromium(t)
	started := time.Now()
	s := startServer(t)
	slow := newBlocker(t)

	t.Run("ServedOnTheAdminListenerOnlyWithItsHeaders", func(t *testing.T) {
		status, h, body := s.call(t, http.MethodGet, s.admin+"/console/", "", "")
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, string(body), "hookhost console")
		require.Equal(t, console.ContentSecurityPolicy, h.Get("Content-Security-Policy"))
		require.Equal(t, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
			h.Get("Content-Security-Policy"))
		require.Equal(t, "DENY", h.Get("X-Frame-Options"))
		status, _, _ = s.call(t, http.MethodGet, s.public+"/console/", "", "")
		require.Equal(t, http.StatusNotFound, status, "the console never faces the webhook port")
	})

	p := openBrowser(t, exe)
	var urlsMu sync.Mutex
	var urls []string
	requests := chromedp.Events(p.ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			urlsMu.Lock()
			urls = append(urls, ev.Request.URL)
			urlsMu.Unlock()
		}
	}()
	var hookURL, hookID string

	t.Run("SignIn", func(t *testing.T) {
		p.do(t, "open the console", chromedp.Navigate(s.admin+"/console/"), chromedp.WaitVisible(chromedp.CSS("#token")))
		p.shot(t, "01-signin")
		p.do(t, "sign in",
			chromedp.SendKeys(chromedp.CSS("#token"), adminToken),
			chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".view[data-page=webhooks] .empty")))
		require.Equal(t, adminToken, eval[string](t, p, "sessionStorage.getItem('hookhost.adminToken')"))
		require.NotContains(t, eval[string](t, p, "location.href"), adminToken)
		require.Equal(t, "", eval[string](t, p, "document.cookie"))
	})

	t.Run("ImportTheGuidePackageByPasting", func(t *testing.T) {
		pkg, err := os.ReadFile("../../testdata/packages/webhook-example.json")
		require.NoError(t, err)
		p.goTo(t, "#/packages")
		p.fill(t, "#import-form textarea", string(pkg))
		p.until(t, "the pasted package is read", `document.querySelector('#import-form .ed-status').textContent.includes('1 record')`)
		p.do(t, "import", chromedp.Click(chromedp.CSS("#import-package")), chromedp.WaitVisible(chromedp.CSS("#import-result")))
		require.Contains(t, p.text(t, "#import-records"), "example.webhook.respond")
		p.shot(t, "02-packages-imported")
	})

	t.Run("AnswerAPackagesPrompts", func(t *testing.T) {
		pkg, err := os.ReadFile("../../testdata/packages/prompts-placeholders.json")
		require.NoError(t, err)
		p.goTo(t, "#/packages?prompts")
		p.fill(t, "#import-form textarea", string(pkg))
		p.do(t, "the prompts' form", chromedp.WaitVisible(chromedp.CSS(`#package-prompts select[data-key="env"]`)))
		require.Equal(t, "acme", eval[string](t, p, `document.querySelector('#package-prompts [data-key="prefix"]').value`))
		require.Equal(t, "staging", eval[string](t, p, `document.querySelector('#package-prompts [data-key="env"]').value`))
		p.fill(t, `#package-prompts [data-key="greeting"]`, "Hello from the console")
		eval[bool](t, p, `(() => { for (const o of document.querySelector('#package-prompts [data-key="methods"]').options) o.selected = o.value !== 'PUT'; return true; })()`)
		p.shotAt(t, "02b-package-prompts", "#package-prompts")
		p.do(t, "import", chromedp.Click(chromedp.CSS("#import-package")), chromedp.WaitVisible(chromedp.CSS("#import-result")))
		require.Contains(t, p.text(t, "#import-records"), "acme.hello.staging")
		require.Contains(t, p.text(t, "#import-records"), "Acme hello (staging)")
	})

	t.Run("CreateTheGuideWebhookFromPastedKATAAndCopyItsURL", func(t *testing.T) {
		p.goTo(t, "#/webhooks/new")
		p.do(t, "the form", chromedp.WaitVisible(chromedp.CSS("#create-webhook")), chromedp.SendKeys(chromedp.CSS("#wh-name"), "Webhook Example"))
		p.fill(t, "#create-webhook textarea", "automation/webhook:\n  uri: cerb:automation:example.webhook.respond\n")
		p.until(t, "the event KATA is checked as typed", `document.querySelector('#create-webhook .editor').classList.contains('valid')`)
		p.shot(t, "03-webhook-new")
		p.do(t, "create", chromedp.Click(chromedp.CSS("#create-webhook button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#webhook-url")))
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		var err error
		hookURL, err = chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#webhook-url")))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(hookURL, s.public+"/webhooks/"), hookURL)
		_, err = chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "clipboard-write"}, Setting: browser.PermissionSettingGranted, Origin: s.admin})
		require.NoError(t, err)
		p.do(t, "copy the URL", chromedp.Click(chromedp.CSS("#url-panel .field button[data-copy]")))
		p.until(t, "the URL is copied", `document.querySelector('#url-panel .field button[data-copy]').dataset.copied === 'true'`)
		require.Contains(t, p.text(t, "#url-panel"), "curl -i -X POST")
		p.shot(t, "04-webhook-created")
		href := eval[string](t, p, "document.querySelector('#open-webhook').getAttribute('href')")
		hookID = strings.TrimPrefix(href, "#/webhooks/")
	})

	var firstRecord string
	t.Run("ACallAppearsLiveAndInTheInspector", func(t *testing.T) {
		p.goTo(t, "#/tail")
		p.until(t, "the live tail connects", `document.querySelector('.view[data-page=tail]')?.dataset.live === 'true'`)
		status, _, body := s.call(t, http.MethodPost, hookURL+"?key=value", "application/json", `{"hello":"console"}`, "X-CustomHeader", "true")
		require.Equal(t, http.StatusOK, status, "%s", body)
		p.do(t, "the request shows up live", chromedp.WaitVisible(chromedp.CSS("#tail-rows tr.ev-request")))
		p.shot(t, "05-live-tail")

		p.goTo(t, "#/requests")
		p.do(t, "the inspector lists it", chromedp.WaitVisible(chromedp.CSS("#request-list tbody tr")))
		p.shot(t, "06-requests")
		firstRecord = eval[string](t, p, "document.querySelector('#request-list tbody tr').dataset.id")
		p.do(t, "open it", chromedp.Click(chromedp.CSS("#request-list tbody tr a.strong")), chromedp.WaitVisible(chromedp.CSS("#request-body")))
		require.Contains(t, p.text(t, "#request-body"), `"hello": "console"`)
		require.Contains(t, p.text(t, ".view"), "X-Customheader")
		p.shot(t, "07-request")
	})

	t.Run("ABinaryBodyIsShownInHex", func(t *testing.T) {
		status, _, _ := s.call(t, http.MethodPost, hookURL, "application/octet-stream", "\x00\x01\x02\xffbinary")
		require.Equal(t, http.StatusOK, status)
		s.waitRecord(t, "q=binary")
		p.goTo(t, "#/requests?q=binary")
		p.do(t, "the binary request", chromedp.WaitVisible(chromedp.CSS("#request-list tbody tr a.strong")),
			chromedp.Click(chromedp.CSS("#request-list tbody tr a.strong")), chromedp.WaitVisible(chromedp.CSS("#request-body pre.hex")))
		require.Contains(t, p.text(t, "#request-body pre.hex"), "00000000  00 01 02")
	})

	t.Run("ReplayARequest", func(t *testing.T) {
		p.goTo(t, "#/requests/"+firstRecord)
		p.do(t, "replay", chromedp.WaitVisible(chromedp.CSS("#replay")), chromedp.Click(chromedp.CSS("#replay")),
			chromedp.WaitVisible(chromedp.CSS("#replay-record")))
		require.Contains(t, p.text(t, "#replay-result"), "200")
		p.do(t, "open the replay's record", chromedp.Click(chromedp.CSS("#replay-record")))
		p.until(t, "the record is marked as a replay", `document.querySelector('.view h1')?.textContent.includes('replay') &&
			document.querySelector('.view').textContent.includes(`+fmt.Sprintf("%q", firstRecord)+`)`)
	})

	var ghID, refused string
	t.Run("ABadSignatureShowsItsCause", func(t *testing.T) {
		s.api(t, http.MethodPut, "/secrets/gh_secret", map[string]string{"value": "s3cret-value"}, nil, http.StatusCreated)
		var w struct{ ID, URL string }
		s.api(t, http.MethodPost, "/webhooks", map[string]any{"name": "GitHub push", "event_kata": "verify/github:\n  type: github\n  secret: {{secrets.gh_secret}}\n" +
			"automation/webhook:\n  uri: cerb:automation:example.webhook.respond\n"}, &w, http.StatusCreated)
		ghID = w.ID
		status, _, _ := s.call(t, http.MethodPost, w.URL, "application/json", `{"ref":"refs/heads/main"}`, "X-Hub-Signature-256", "sha256=00ff")
		require.Equal(t, http.StatusUnauthorized, status)
		s.waitRecord(t, "cause=verify")
		p.goTo(t, "#/requests?cause=verify")
		p.do(t, "the refused request is listed", chromedp.WaitVisible(chromedp.CSS("#request-list tbody tr.refused")))
		refused = eval[string](t, p, "document.querySelector('#request-list tbody tr.refused').dataset.id")
		p.do(t, "open it", chromedp.Click(chromedp.CSS("#request-list tbody tr.refused a.strong")), chromedp.WaitVisible(chromedp.CSS("#cause")))
		cause := p.text(t, "#cause")
		require.Contains(t, cause, "Cause: verify")
		require.Contains(t, cause, "verify/github")
		require.Contains(t, p.text(t, ".view"), "[redacted]", "the signature header is redacted")
		p.shot(t, "08-request-refused")
	})

	t.Run("BreakTheEventKATAAndSeeTheErrorAtItsLine", func(t *testing.T) {
		p.goTo(t, "#/webhooks/"+ghID)
		p.do(t, "the webhook page", chromedp.WaitVisible(chromedp.CSS("#verify-summary")))
		require.Contains(t, p.text(t, "#verify-summary"), "verify/github")
		p.fill(t, "#kata-form textarea", "verify/github:\n  type: githib\n  secret: {{secrets.gh_secret}}\nautomation/webhook:\n  uri: cerb:automation:example.webhook.respond\n")
		p.do(t, "the problem is shown at line 2", chromedp.WaitVisible(chromedp.CSS(`#kata-form .diags li[data-line="2"]`)))
		require.Contains(t, p.text(t, "#kata-form .diags"), `unknown verify type "githib"`)
		require.Equal(t, "2", eval[string](t, p, "document.querySelector('#kata-form .gutter .ln.bad').textContent"))
		p.shot(t, "09-webhook-kata-error")
		p.do(t, "saving is refused too", chromedp.Click(chromedp.CSS("#save-kata")), chromedp.WaitVisible(chromedp.CSS("#kata-form .banner.error")))
	})

	t.Run("DryRunARequest", func(t *testing.T) {
		if !s.contract.Has("/api/v1/webhooks/{id}/dry-run", http.MethodPost) {
			t.Skip("this tree has no dry-run API yet (POST /api/v1/webhooks/{id}/dry-run)")
		}
		p.goTo(t, "#/test?webhook="+hookID)
		p.do(t, "compose", chromedp.WaitVisible(chromedp.CSS("#compose")), chromedp.Click(chromedp.CSS("#dry-run")),
			chromedp.WaitVisible(chromedp.CSS("#dry-run-result #dr-response")))
		require.Contains(t, p.text(t, "#dr-response"), "200")
		require.Contains(t, p.text(t, "#dry-run-result"), "example.webhook.respond")
		p.shotAt(t, "10-dry-run", "#compose-h")
		p.goTo(t, "#/test?webhook="+ghID+"&record="+refused)
		p.do(t, "dry-run the refused record", chromedp.WaitVisible(chromedp.CSS("#dr-use-record")), chromedp.Click(chromedp.CSS("#dry-run")),
			chromedp.WaitVisible(chromedp.CSS("#dr-verify > li")))
		// The record keeps the signature redacted: the block cannot pass.
		require.NotEqual(t, "ok", eval[string](t, p, "document.querySelector('#dr-verify > li').className"))
		require.Contains(t, p.text(t, "#dr-verify"), "verify/github")
		p.do(t, "the verify lab", chromedp.WaitVisible(chromedp.CSS("#verify-lab .lab-block")))
		require.Contains(t, p.text(t, "#verify-lab"), "X-Hub-Signature-256")
		p.shotAt(t, "11-dry-run-record", "#compose-h")
		p.shotAt(t, "12-verify-lab", "#lab-h")
	})

	t.Run("ExplainARefusal", func(t *testing.T) {
		if !s.contract.Has("/api/v1/requests/{id}/explain", http.MethodGet) {
			t.Skip("this tree has no explain API yet (GET /api/v1/requests/{id}/explain)")
		}
		p.goTo(t, "#/requests/"+refused)
		p.do(t, "explain", chromedp.WaitVisible(chromedp.CSS("#explain")), chromedp.Click(chromedp.CSS("#explain")),
			chromedp.WaitVisible(chromedp.CSS("#explain-result #explain-blocks")))
		require.Contains(t, p.text(t, "#explain-result"), "verify/github")
		p.shotAt(t, "08b-explain", "#explain-result")
	})

	t.Run("CancelAndRetryAJob", func(t *testing.T) {
		script := "start:\n  http.request:\n    output: res\n    inputs:\n      url: " + slow.url + "\n  return:\n    body: {{res.body}}\n"
		policy := "commands:\n  http.request:\n    allow@bool: yes\n"
		s.api(t, http.MethodPut, "/automations/example.slow", map[string]string{"name": "example.slow", "extension_id": "cerb.trigger.webhook.respond",
			"script": script, "policy_kata": policy}, nil, http.StatusCreated)
		var w struct{ ID, URL string }
		s.api(t, http.MethodPost, "/webhooks", map[string]any{"name": "Slow job", "event_kata": "automation/slow:\n  uri: cerb:automation:example.slow\n  job:\n    max_attempts@int: 1\n"},
			&w, http.StatusCreated)
		status, _, body := s.call(t, http.MethodPost, w.URL, "", "")
		require.Equal(t, http.StatusAccepted, status, "%s", body)
		var ids struct{ JobIds []string }
		require.NoError(t, json.Unmarshal(body, &ids))
		job := ids.JobIds[0]

		p.goTo(t, "#/jobs/"+job)
		p.until(t, "the job runs", `document.querySelector('#job-state-badge')?.textContent === 'Running'`)
		p.do(t, "cancel", chromedp.Click(chromedp.CSS("#job-cancel")))
		p.until(t, "the job is stopped", `document.querySelector('#job-state-badge')?.textContent === 'Stopped'`)
		p.shot(t, "13-job-stopped")
		p.do(t, "retry", chromedp.Click(chromedp.CSS("#job-retry")))
		p.until(t, "the retry opens", fmt.Sprintf(`location.hash.startsWith('#/jobs/') && !location.hash.endsWith(%q) && !!document.querySelector('#job-state-badge')`, job))
		slow.open()
		p.until(t, "the retry completes", `document.querySelector('#job-state-badge')?.textContent === 'Completed'`)
		require.Contains(t, p.text(t, ".view"), "Retry of")
		p.goTo(t, "#/jobs")
		p.do(t, "the job list", chromedp.WaitVisible(chromedp.CSS("#job-list")))
		p.shot(t, "14-jobs")
	})

	t.Run("RetryAFailedUpstreamSubscription", func(t *testing.T) {
		// An upstream on 127.0.0.1 that answers its first registrations
		// without a Location (every attempt fails), then with one.
		var posts atomic.Int32
		var located atomic.Bool
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				posts.Add(1)
				if located.Load() {
					w.Header().Set("Location", "/hooks/1")
				}
			}
			w.WriteHeader(http.StatusCreated)
		}))
		t.Cleanup(up.Close)
		var w struct{ ID string }
		s.api(t, http.MethodPost, "/webhooks", map[string]any{"name": "Subscribed", "event_kata": "automation/webhook:\n  uri: cerb:automation:example.webhook.respond\n" +
			"subscribe/up:\n  url: " + up.URL + "/hooks\n  body:\n    url: {{webhook_url}}\n"}, &w, http.StatusCreated)
		state := func() string {
			var v struct{ Subscriptions []struct{ State string } }
			s.api(t, http.MethodGet, "/webhooks/"+w.ID, nil, &v, http.StatusOK)
			if len(v.Subscriptions) != 1 {
				return ""
			}
			return v.Subscriptions[0].State
		}
		require.Eventually(t, func() bool { return state() == "failed" }, time.Minute, 20*time.Millisecond, "the subscription did not fail")
		sent := posts.Load()

		p.goTo(t, "#/webhooks/"+w.ID)
		p.until(t, "the failed subscription", `document.querySelector('#subscriptions li[data-block="up"]')?.dataset.state === 'failed'`)
		require.Contains(t, p.text(t, "#subscriptions"), "without a Location header")
		p.shot(t, "14b-subscription-failed")
		located.Store(true)
		p.do(t, "retry", chromedp.Click(chromedp.CSS(`#subscriptions button[data-retry="up"]`)))
		require.Eventually(t, func() bool { return state() == "active" }, time.Minute, 20*time.Millisecond, "the retry did not subscribe")
		require.Greater(t, posts.Load(), sent, "the retry sent the registration again")
		p.goTo(t, "#/webhooks")
		p.do(t, "webhooks", chromedp.WaitVisible(chromedp.CSS("#webhook-list")))
		p.goTo(t, "#/webhooks/"+w.ID)
		p.until(t, "the active subscription", `document.querySelector('#subscriptions li[data-block="up"]')?.dataset.state === 'active'`)
	})

	t.Run("EveryOtherPage", func(t *testing.T) {
		p.goTo(t, "#/webhooks")
		p.do(t, "webhooks", chromedp.WaitVisible(chromedp.CSS("#webhook-list")))
		require.Contains(t, p.text(t, "#webhook-list"), "Webhook Example")
		p.shot(t, "15-webhooks")
		p.goTo(t, "#/webhooks/"+ghID)
		p.do(t, "a webhook", chromedp.WaitVisible(chromedp.CSS("#verify-summary")))
		p.shot(t, "16-webhook")
		p.goTo(t, "#/automations")
		p.do(t, "automations", chromedp.WaitVisible(chromedp.CSS("#automation-list")))
		p.shot(t, "17-automations")
		p.goTo(t, "#/automations/example.webhook.respond")
		p.do(t, "an automation", chromedp.WaitVisible(chromedp.CSS("#automation-form")))
		p.shot(t, "18-automation")
		p.goTo(t, "#/secrets")
		p.do(t, "secrets", chromedp.WaitVisible(chromedp.CSS(`#secret-list tr[data-name="gh_secret"]`)))
		row := p.text(t, `#secret-list tr[data-name="gh_secret"]`)
		require.Contains(t, row, "GitHub push")
		require.Contains(t, row, "verify")
		p.shot(t, "19-secrets")
		p.goTo(t, "#/system")
		p.do(t, "system", chromedp.WaitVisible(chromedp.CSS("#extension-list")), chromedp.WaitVisible(chromedp.CSS("#metric-charts svg")))
		p.until(t, "the probes answered", `document.querySelector('#card-ready')?.textContent.includes('ready')`)
		p.shot(t, "20-system")
	})

	t.Run("PhoneWidth", func(t *testing.T) {
		p.do(t, "a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
		p.goTo(t, "#/webhooks")
		p.do(t, "webhooks", chromedp.WaitVisible(chromedp.CSS("#webhook-list")))
		p.shot(t, "21-phone-webhooks")
		p.goTo(t, "#/requests/"+refused)
		p.do(t, "a request", chromedp.WaitVisible(chromedp.CSS("#cause")))
		p.shot(t, "22-phone-request")
		require.LessOrEqual(t, eval[float64](t, p, "document.documentElement.scrollWidth"), float64(390), "nothing is wider than the phone")
		p.do(t, "desktop again", chromedp.EmulateViewport(1280, 800))
	})

	t.Run("NoScriptErrorsNoCSPViolations", func(t *testing.T) {
		for _, line := range strings.Split(p.log(), "\n") {
			l := strings.ToLower(line)
			if strings.Contains(l, "content security policy") || strings.Contains(l, "refused to") || strings.HasPrefix(l, "exception") {
				t.Errorf("browser: %s", line)
			}
		}
		require.NotContains(t, p.log(), adminToken)
		urlsMu.Lock()
		defer urlsMu.Unlock()
		require.NotEmpty(t, urls)
		for _, u := range urls {
			require.NotContains(t, u, adminToken, "the admin token is never in a URL")
			if !strings.HasPrefix(u, s.admin+"/") && !strings.HasPrefix(u, "data:") {
				t.Errorf("the page asked another origin: %s", u)
			}
		}
	})
	t.Logf("browser test took %s", time.Since(started).Round(time.Millisecond))
}
