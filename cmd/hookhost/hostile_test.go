package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// soakEnv names the variable that turns TestHostile_Serve into a soak: the
// rounds repeat for that long (a Go duration, e.g. 2m). make soak sets it
// from SOAKTIME.
const soakEnv = "HOOKHOST_SOAK"

// Bounds of the hostile suite: every wait has one.
const (
	hostileAnswerWait = 10 * time.Second // a raw exchange's answer or close
	hostileClientWait = 30 * time.Second // an HTTP client call
	hostileRecordWait = 90 * time.Second // every accepted job final, every run recorded
	hostileMaxConns   = 64               // --max-connections of the server under attack
	hostileFloodConns = 160              // idle connections opened above it
	hostileSlowloris  = 24               // slow connections per round
)

// hostileFigures are the counts the suite reports.
type hostileFigures struct {
	inputs, faults, status500, panics, hangs, exits, lost atomic.Int64
	// limits counts 500 answers the contract names for an automation that
	// hit a limit (problem+json naming it), which are not failures.
	limits atomic.Int64
	// jobsAccepted and runsAccepted count the 202s and the synchronous
	// answers whose records are checked at the end.
	jobsAccepted, runsAccepted atomic.Int64
	// recovering counts answers other than 200 (502) to ordinary runs
	// sent after an extension was killed, before it was back.
	recovering atomic.Int64
	rounds     atomic.Int64

	mu       sync.Mutex
	failures []string
}

func (f *hostileFigures) fail(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failures) < 50 {
		f.failures = append(f.failures, fmt.Sprintf(format, args...))
	}
}

func (f *hostileFigures) table() string {
	var sb strings.Builder
	row := func(k string, v int64) { fmt.Fprintf(&sb, "| %-28s | %8d |\n", k, v) }
	sb.WriteString("| figure                       |    count |\n|------------------------------|----------|\n")
	row("rounds", f.rounds.Load())
	row("inputs tried", f.inputs.Load())
	row("faults injected", f.faults.Load())
	row("502s while restarting", f.recovering.Load())
	row("500s (unexpected)", f.status500.Load())
	row("500s naming a limit (ok)", f.limits.Load())
	row("panics", f.panics.Load())
	row("hangs (timed-out reads)", f.hangs.Load())
	row("exits", f.exits.Load())
	row("jobs accepted", f.jobsAccepted.Load())
	row("sync runs answered", f.runsAccepted.Load())
	row("records lost", f.lost.Load())
	return sb.String()
}

// hostileServer is the `hookhost serve` under attack.
type hostileServer struct {
	cmd         *exec.Cmd
	addr, adm   string
	logs        *syncBuffer
	exited      chan struct{}
	exitErr     error
	client      *http.Client
	token       string
	echo, job   string // webhook tokens
	echoID      string
	slow, slowJ string
	bomb, rule  string
	// blocker holds the slow automation's http.request until released.
	blocker *hostileBlocker
	jobIDs  sync.Map // job id → struct{}
}

// hostileBlocker is the loopback server the "slow" automation calls: it
// holds each request (marked by its ?m= parameter) until the test
// releases it, and reports it on arrived.
type hostileBlocker struct {
	ln      net.Listener
	arrived chan heldRequest
}

// heldRequest is a request the blocker holds; closing release lets it go.
type heldRequest struct {
	marker  string
	release chan struct{}
}

func newHostileBlocker(t *testing.T) *hostileBlocker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &hostileBlocker{ln: ln, arrived: make(chan heldRequest, 256)}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := heldRequest{marker: r.URL.Query().Get("m"), release: make(chan struct{})}
		b.arrived <- h
		select {
		case <-h.release:
		case <-r.Context().Done():
		case <-time.After(hostileClientWait):
		}
		_, _ = io.WriteString(w, "released")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return b
}

// wait returns the next held request marked marker, releasing any other
// (left from an earlier fault), or false after the bound.
func (b *hostileBlocker) wait(marker string) (heldRequest, bool) {
	deadline := time.After(hostileClientWait)
	for {
		select {
		case h := <-b.arrived:
			if h.marker == marker {
				return h, true
			}
			close(h.release)
		case <-deadline:
			return heldRequest{}, false
		}
	}
}

func (b *hostileBlocker) url() string { return "http://" + b.ln.Addr().String() + "/hold" }

func startHostileServer(t *testing.T, bin string, f *hostileFigures) *hostileServer {
	t.Helper()
	dir := t.TempDir()
	s := &hostileServer{addr: freeAddr(t), adm: freeAddr(t), logs: &syncBuffer{}, exited: make(chan struct{}),
		client: &http.Client{Timeout: hostileClientWait}, token: "hostile-admin-token"}
	s.cmd = exec.Command(bin, "serve", "--listen", s.addr, "--admin-listen", s.adm, "--data-dir", filepath.Join(dir, "data"),
		"--max-connections", fmt.Sprint(hostileMaxConns), "--log-format", "json", "--access-log=false")
	s.cmd.Dir = dir
	s.cmd.Env = append(os.Environ(), "HOOKHOST_ADMIN_TOKEN="+s.token, "HOOKHOST_JOB_RETRY_BACKOFF=50ms",
		"HOOKHOST_JOB_SHUTDOWN_GRACE=1s")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	require.NoError(t, s.cmd.Start())
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, _, err := s.get(s.addr, "/healthz"); err == nil && st == http.StatusOK {
			if st, _, err := s.get(s.adm, "/readyz"); err == nil && st == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "the server did not start: %s", s.logs.String())
		time.Sleep(50 * time.Millisecond)
	}

	s.blocker = newHostileBlocker(t)
	s.adminOK(t, "POST", "/automations", "application/json", mustJSON(map[string]string{"name": "echo",
		"extension_id": "cerb.trigger.webhook.respond", "script": "start:\n  return:\n    body: ok {{request_body|length}}\n"}))
	s.adminOK(t, "POST", "/automations", "application/json", mustJSON(map[string]string{"name": "slow",
		"extension_id": "cerb.trigger.webhook.respond",
		"script":       "start:\n  http.request:\n    output: held\n    inputs:\n      url: " + s.blocker.url() + "?m={{request_params.m}}\n  return:\n    body: {{held.body}}\n",
		"policy_kata":  "commands:\n  http.request:\n    allow@bool: yes\nsettings:\n  http_allow_networks@list:\n    127.0.0.1/32\n"}))
	s.adminOK(t, "POST", "/automations", "application/json", mustJSON(map[string]string{"name": "bomb",
		"extension_id": "cerb.trigger.webhook.respond",
		"script":       "start:\n  set:\n    x: {{ 'ab'|repeat(100000)|repeat(100000) }}\n  return:\n    body: done\n"}))
	s.echoID, s.echo = s.webhook(t, "echo", "automation/echo:\n  uri: cerb:automation:echo\n")
	_, s.job = s.webhook(t, "job", "automation/echo:\n  uri: cerb:automation:echo\n  job:\n    max_attempts@int: 3\n")
	_, s.slow = s.webhook(t, "slow", "automation/slow:\n  uri: cerb:automation:slow\n")
	_, s.slowJ = s.webhook(t, "slowjob", "automation/slow:\n  uri: cerb:automation:slow\n  job:\n    max_attempts@int: 5\n")
	_, s.bomb = s.webhook(t, "bomb", "automation/bomb:\n  uri: cerb:automation:bomb\n")
	_, s.rule = s.webhook(t, "rule", "automation/main:\n  uri: cerb:automation:echo\n  disabled@bool: {{ [1]|batch(50000000,'x')|length > 5 }}\n")
	return s
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *hostileServer) get(addr, path string) (int, []byte, error) {
	resp, err := s.client.Get("http://" + addr + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// adminDo calls the admin API; err is a transport error (or timeout).
func (s *hostileServer) adminDo(method, path, ctype, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, "http://"+s.adm+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (s *hostileServer) adminOK(t *testing.T, method, path, ctype, body string) []byte {
	t.Helper()
	st, b, err := s.adminDo(method, path, ctype, body)
	require.NoError(t, err)
	require.Less(t, st, 300, "%s %s: %s", method, path, b)
	return b
}

func (s *hostileServer) webhook(t *testing.T, name, event string) (id, token string) {
	t.Helper()
	var w struct{ ID, Token string }
	require.NoError(t, json.Unmarshal(s.adminOK(t, "POST", "/webhooks?name="+name, "text/plain", event), &w))
	if name == "rule" || name == "bomb" {
		s.adminOK(t, "PATCH", "/webhooks/"+w.ID, "application/json", `{"debug":true}`)
	}
	return w.ID, w.Token
}

// alive reports whether the server process still runs.
func (s *hostileServer) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// noteAnswer counts an answer: an unexpected 500, a 500 naming a limit
// (allowed when limitOK), or a job accepted.
func (s *hostileServer) noteAnswer(f *hostileFigures, what string, status int, body []byte, limitOK bool) {
	switch {
	case status == http.StatusInternalServerError && limitOK && bytes.Contains(body, []byte("limit")):
		f.limits.Add(1)
	case status == http.StatusInternalServerError:
		f.status500.Add(1)
		f.fail("%s: 500: %.300s", what, body)
	case status == http.StatusAccepted:
		var ids struct{ JobIds []string }
		if json.Unmarshal(body, &ids) == nil {
			for _, id := range ids.JobIds {
				s.jobIDs.Store(id, struct{}{})
				f.jobsAccepted.Add(1)
			}
		}
	}
}

// rawExchange writes raw to a new connection to addr, half-closes it, and
// reads the answer until the server closes the connection. It returns the
// status of the first response (0 when the server closed without one)
// and reports a hang: no close within hostileAnswerWait.
func rawExchange(addr string, raw []byte) (status int, body []byte, hung bool, err error) {
	c, err := net.DialTimeout("tcp", addr, hostileAnswerWait)
	if err != nil {
		return 0, nil, false, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(hostileAnswerWait))
	if _, err := c.Write(raw); err != nil {
		// The server may close while a large input is still being written.
		return 0, nil, false, nil
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	all, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return 0, all, true, nil
	}
	if len(all) == 0 {
		return 0, nil, false, nil
	}
	br := bufio.NewReader(bytes.NewReader(all))
	for {
		resp, perr := http.ReadResponse(br, nil)
		if perr != nil {
			return 0, all, false, nil
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 200 || br.Buffered() == 0 {
			// The final answer (a 100 Continue is followed by one).
			return resp.StatusCode, b, false, nil
		}
	}
}

// gzipBomb is a gzip stream of n zero bytes.
func gzipBomb(n int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(zero))
		_, _ = zw.Write(zero[:k])
		n -= k
	}
	_ = zw.Close()
	return buf.Bytes()
}

// rawInputs are the malformed and hostile requests of one round, sent as
// bytes to the webhook listener.
func (s *hostileServer) rawInputs(bomb []byte) []struct {
	name    string
	raw     []byte
	limitOK bool
} {
	hook := "/webhooks/" + s.echo
	job := "/webhooks/" + s.job
	post := func(path, headers, body string) []byte {
		return []byte("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers +
			"Content-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body)
	}
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	var form strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&form, "f%d=%d&", i, i)
	}
	var manyHeaders strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&manyHeaders, "X-H%d: v\r\n", i)
	}
	in := []struct {
		name    string
		raw     []byte
		limitOK bool
	}{
		{"Garbage", []byte("GARBAGE\r\n\r\n"), false},
		{"NoTarget", []byte("GET\r\n\r\n"), false},
		{"BadVersion", []byte("GET / HTTP/9.9\r\nHost: x\r\n\r\n"), false},
		{"NULInRequestLine", []byte("GET /webhooks/\x00 HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"NegativeLength", []byte("POST " + hook + " HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), false},
		{"HugeLength", []byte("POST " + hook + " HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nabc"), false},
		{"LengthOverLimit", []byte("POST " + hook + " HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\nabc"), false},
		{"LengthAndChunked", []byte("POST " + hook + " HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), false},
		{"BadChunkSize", []byte("POST " + hook + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"), false},
		{"HugeChunkSize", []byte("POST " + hook + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc\r\n"), false},
		{"HeaderWithoutColon", []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nFoo\r\n\r\n"), false},
		{"NULInHeader", post(hook, "X-Nul: a\x00b\r\n", "x"), false},
		{"SpaceInHeaderName", []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n"), false},
		{"FoldedHeader", []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n"), false},
		{"ManyHeaders", []byte("GET /healthz HTTP/1.1\r\nHost: x\r\n" + manyHeaders.String() + "\r\n"), false},
		{"HugeRequestLine", []byte("GET /" + strings.Repeat("a", 100000) + " HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"HugeHeader", []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 64<<10) + "\r\n\r\n"), false},
		{"BareLF", []byte("GET /healthz HTTP/1.1\nHost: x\n\n"), false},
		{"AbsoluteURI", []byte("GET http://169.254.169.254/latest HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"Connect", []byte("CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n"), false},
		{"HTTP2Preface", []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), false},
		{"TLSHello", []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + strings.Repeat("\x00", 64)), false},
		{"NoHost", []byte("GET /healthz HTTP/1.1\r\n\r\n"), false},
		{"TwoHosts", []byte("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), false},
		{"Traversal", []byte("GET /webhooks/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"ConsoleTraversal", []byte("GET /console/..%2f..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"EncodedNULQuery", post(hook+"?n=%00", "", "x"), false},
		{"EncodedNULQueryJob", post(job+"?n=%00", "", "x"), false},
		{"NULBody", post(hook, "Content-Type: application/json\r\n", "{\"a\":\"\x00\"}\x00\x00"), false},
		{"NULBodyJob", post(job, "Content-Type: text/plain\r\n", "a\x00b\x00c"), false},
		{"InvalidUTF8", post(hook+"?q=%ff%fe", "X-U: \xff\xfe\r\n", "\xff\xfe\xfd"), false},
		{"InvalidJSON", post(hook, "Content-Type: application/json\r\n", "{\"a\":"), false},
		{"DeepJSON", post(hook, "Content-Type: application/json\r\n", deep), false},
		{"DeepJSONJob", post(job, "Content-Type: application/json\r\n", deep), false},
		{"BigForm", post(hook, "Content-Type: application/x-www-form-urlencoded\r\n", form.String()), false},
		{"BadMultipart", post(hook, "Content-Type: multipart/form-data; boundary=\r\n", "--\r\n--x--"), false},
		{"GzipBomb", []byte("POST " + hook + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Encoding: gzip\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(bomb)) + "\r\n\r\n" + string(bomb)), false},
		{"GzipBombJob", []byte("POST " + job + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Encoding: gzip\r\nContent-Length: " + fmt.Sprint(len(bomb)) + "\r\n\r\n" + string(bomb)), false},
		{"BadGzip", post(hook, "Content-Encoding: gzip\r\n", "\x1f\x8bnot gzip at all"), false},
		{"BadDeflate", post(hook, "Content-Encoding: deflate\r\n", "\x78\x9cxxxx"), false},
		{"UnknownEncoding", post(hook, "Content-Encoding: br, zstd, x-evil\r\n", "abc"), false},
		{"Expect100", []byte("POST " + hook + " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 104857600\r\n\r\n"), false},
		{"Pipelined", bytes.Repeat([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 200), false},
		{"LongBearer", []byte("GET /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + strings.Repeat("t", 7000) + "\r\n\r\n"), false},
		{"AdminOnWebhookListener", []byte("GET /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.token + "\r\n\r\n"), false},
		{"MetricsOnWebhookListener", []byte("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"WeirdMethod", []byte("FOO%00 " + hook + " HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"EventRuleBomb", post("/webhooks/"+s.rule, "", ""), true},
		{"ScriptBomb", post("/webhooks/"+s.bomb, "", ""), true},
		{"IdempotencyKeyJunk", post(job, "Idempotency-Key: "+strings.Repeat("k\x01", 2000)+"\r\nsvix-id: \xff\r\n", "x"), false},
	}
	return in
}

// adminInputs are hostile admin API calls (with the token): bad KATA,
// bad packages, NUL bytes, bombs in placeholders.
func adminInputs() []struct{ method, path, ctype, body string } {
	pkg := func(records string) string {
		return `{"package":{"name":"p","revision":1,"requires":{},"library":{"name":"p"}},"records":[` + records + `]}`
	}
	doubling := `{{% set s = 'x' %}}{{% for i in 1..64 %}}{{% set s = s ~ s %}}{{% endfor %}}{{{ s|length }}}`
	nested := `{{% for a in 1..100000 %}}{{% for b in 1..100000 %}}x{{% endfor %}}{{% endfor %}}`
	deepKATA := ""
	for i := range 3000 {
		deepKATA += strings.Repeat(" ", i%64) + "k:\n"
	}
	return []struct{ method, path, ctype, body string }{
		{"POST", "/packages/import", "application/json", `{`},
		{"POST", "/packages/import", "application/json", `[]`},
		{"POST", "/packages/import", "application/json", strings.Repeat("[", 100000)},
		{"POST", "/packages/import", "application/json", pkg(`{"uid":"a","uid":"b","_context":"automation"}`)},
		{"POST", "/packages/import", "application/json", pkg(`{"uid":"a","_context":"automation","name":"x\u0000y","extension_id":"cerb.trigger.webhook.respond","script":"start:\n"}`)},
		{"POST", "/packages/import", "application/json", pkg(`{"uid":"a","_context":"automation","name":"bomb.pkg","extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n    body: ` + doubling + `\n"}`)},
		{"POST", "/packages/import", "application/json", pkg(`{"uid":"a","_context":"automation","name":"loop.pkg","extension_id":"cerb.trigger.webhook.respond","script":"start:\n  return:\n    body: ` + nested + `\n"}`)},
		{"POST", "/packages/import", "application/json", pkg(`{"uid":"a","_context":"nope","evil":true}`)},
		{"POST", "/packages/import", "application/json", `{"package":{"name":"` + strings.Repeat("n", 100000) + `"}}`},
		{"POST", "/packages/import", "application/x-www-form-urlencoded", "a=b"},
		{"POST", "/automations", "application/json", mustJSON(map[string]string{"name": "bad", "extension_id": "cerb.trigger.webhook.respond", "script": deepKATA})},
		{"POST", "/automations", "application/json", mustJSON(map[string]string{"name": "bad2", "extension_id": "cerb.trigger.webhook.respond", "script": "start:\n  return:\n    body: {{ unclosed\n"})},
		{"POST", "/automations", "application/json", mustJSON(map[string]string{"name": "nul\x00name", "extension_id": "cerb.trigger.webhook.respond", "script": "start:\n"})},
		{"POST", "/automations", "application/json", mustJSON(map[string]string{"name": "bad3", "extension_id": "cerb.trigger.webhook.respond", "script": "start:\n\x00\xff\xfe: x\n"})},
		{"POST", "/automations", "application/json", mustJSON(map[string]string{"name": "bad4", "extension_id": "cerb.trigger.webhook.respond", "script": "start:\n  return:\n    body: x\n", "policy_kata": "commands:\n  http.request:\n    allow@bool: {{ " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + " }}\n"})},
		{"POST", "/webhooks?name=bad", "text/plain", "automation/x:\n  uri: cerb:automation:nope\n"},
		{"POST", "/webhooks?name=bad%00", "text/plain", "automation/x:\n  uri: cerb:automation:echo\n"},
		{"POST", "/webhooks?name=bad", "text/plain", "automation/x:\n  uri: cerb:automation:echo\n  disabled@bool: {{ " + nested + " }}\n"},
		{"POST", "/webhooks?name=bad", "text/plain", strings.Repeat("automation/x:\n", 5000)},
		{"POST", "/webhooks/validate", "application/json", `{"event_kata":"\u0000"}`},
		{"PUT", "/secrets/a%00b", "text/plain", "value"},
		{"PUT", "/secrets/" + strings.Repeat("s", 5000), "text/plain", "value"},
		{"PUT", "/secrets/ok_name", "text/plain", strings.Repeat("v", 2<<20)},
		{"PATCH", "/webhooks/does-not-exist", "application/json", `{"debug":"yes"}`},
		{"GET", "/runs?before=%00&limit=-1", "", ""},
		{"GET", "/jobs?state=%ff&cursor=" + strings.Repeat("c", 4000), "", ""},
		{"POST", "/subscriptions", "application/json", `{"url":"http://127.0.0.1:1/","events":["x"]}`},
		{"POST", "/subscriptions", "application/json", `{"url":"file:///etc/passwd","events":["job.completed"]}`},
	}
}

// round runs every family of hostile inputs and faults once.
func (s *hostileServer) round(t *testing.T, f *hostileFigures, bomb []byte) {
	t.Helper()
	first := f.rounds.Load() == 0
	var seen []string
	for _, in := range s.rawInputs(bomb) {
		f.inputs.Add(1)
		st, body, hung, err := rawExchange(s.addr, in.raw)
		if first {
			seen = append(seen, fmt.Sprintf("%s=%d", in.name, st))
		}
		switch {
		case err != nil:
			f.fail("raw %s: %v", in.name, err)
		case hung:
			f.hangs.Add(1)
			f.fail("raw %s: no answer and no close within %s", in.name, hostileAnswerWait)
		default:
			s.noteAnswer(f, "raw "+in.name, st, body, in.limitOK)
		}
	}
	if first {
		t.Logf("raw inputs answered (0: closed without an answer): %s", strings.Join(seen, " "))
		seen = nil
	}
	for i, in := range adminInputs() {
		f.inputs.Add(1)
		st, body, err := s.adminDo(in.method, in.path, in.ctype, in.body)
		if first {
			seen = append(seen, fmt.Sprintf("%d=%d", i, st))
		}
		if err != nil && len(in.body) > 1<<20 && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
			// The server refused a body over its limit before reading it
			// all and closed the connection.
			continue
		}
		if err != nil {
			s.transportError(f, fmt.Sprintf("admin %s %.60s", in.method, in.path), err)
			continue
		}
		s.noteAnswer(f, "admin "+in.method+" "+in.path[:min(len(in.path), 60)], st, body, false)
	}
	if first {
		t.Logf("admin inputs answered (by index): %s", strings.Join(seen, " "))
	}
	s.echoes(f, 20)
	s.slowloris(t, f)
	s.flood(t, f)
	s.killExtensionMidRun(t, f, s.slow, false)
	s.killExtensionMidRun(t, f, s.slowJ, true)
	s.echoes(f, 20)
	f.rounds.Add(1)
}

// echoes sends n ordinary requests to the echo webhook and n to the job
// webhook; each answered one must end up recorded.
func (s *hostileServer) echoes(f *hostileFigures, n int) {
	for i := range n {
		for _, tok := range []string{s.echo, s.job} {
			f.inputs.Add(1)
			resp, err := s.client.Post("http://"+s.addr+"/webhooks/"+tok+"?i="+fmt.Sprint(i), "application/json", strings.NewReader(`{"i":1}`))
			if err != nil {
				s.transportError(f, "echo", err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tok == s.echo && resp.StatusCode == http.StatusOK {
				f.runsAccepted.Add(1)
			}
			if tok == s.echo && resp.StatusCode != http.StatusOK {
				f.fail("echo answered %d: %.200s", resp.StatusCode, b)
			}
			s.noteAnswer(f, "echo", resp.StatusCode, b, false)
		}
	}
}

// slowloris opens slow connections that send a header byte at a time
// while the server must keep answering others.
func (s *hostileServer) slowloris(t *testing.T, f *hostileFigures) {
	t.Helper()
	var conns []net.Conn
	for range hostileSlowloris {
		c, err := net.DialTimeout("tcp", s.addr, hostileAnswerWait)
		if err != nil {
			continue // the cap may refuse: that is the point
		}
		_, _ = io.WriteString(c, "POST /webhooks/"+s.echo+" HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		conns = append(conns, c)
	}
	f.inputs.Add(int64(len(conns)))
	for i := range 10 {
		for _, c := range conns {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte{'a' + byte(i)})
		}
		st, _, err := s.get(s.addr, "/healthz")
		if err != nil || st != http.StatusOK {
			f.hangs.Add(1)
			f.fail("healthz during slowloris: %d %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	// The flood made the server shed idle connections, the longest idle
	// first: the client's own keep-alive ones among them. A POST on one the
	// client has not yet seen closed fails without reaching the server
	// (Go retries only idempotent requests), which the next steps would
	// count as a hang; a real client reconnects, so this one does too.
	s.client.CloseIdleConnections()
}

// flood opens more idle connections than --max-connections: the server
// sheds the idle ones and keeps answering.
func (s *hostileServer) flood(t *testing.T, f *hostileFigures) {
	t.Helper()
	var conns []net.Conn
	for range hostileFloodConns {
		c, err := net.DialTimeout("tcp", s.addr, hostileAnswerWait)
		if err != nil {
			continue
		}
		conns = append(conns, c)
	}
	f.inputs.Add(int64(len(conns)))
	st, _, err := s.get(s.addr, "/healthz")
	if err != nil || st != http.StatusOK {
		f.hangs.Add(1)
		f.fail("healthz during a flood of %d connections: %d %v", len(conns), st, err)
	}
	st, _, err = s.get(s.adm, "/readyz")
	if err != nil || st != http.StatusOK {
		f.hangs.Add(1)
		f.fail("admin readyz during a flood: %d %v", st, err)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	// The next steps each open a connection of their own. At the cap, the
	// server makes room by closing the oldest connection that has not sent
	// a whole request yet, which a fresh one still is: wait until it has
	// seen the flood's connections close (one CI run's slow POST, sent at
	// once, got EOF without an answer).
	deadline := time.Now().Add(hostileClientWait)
	for {
		n, ok := s.openConnections()
		if ok && n < hostileMaxConns/2 {
			return
		}
		if time.Now().After(deadline) {
			f.hangs.Add(1)
			f.fail("the flood's %d connections still open after %s (%d, %t)", len(conns), hostileClientWait, n, ok)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openConnections is the server's hookhost_connections gauge (its admin
// metrics).
func (s *hostileServer) openConnections() (int, bool) {
	req, err := http.NewRequest("GET", "http://"+s.adm+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "hookhost_connections "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(n), err == nil
		}
	}
	return 0, false
}

// extensionPids lists the pids of the server's extension processes (its
// children, as the admin API reports them).
func (s *hostileServer) extensionPids() []int {
	st, b, err := s.adminDo("GET", "/extensions", "", "")
	if err != nil || st != http.StatusOK {
		return nil
	}
	var l struct {
		Extensions []struct{ Pids []int }
	}
	_ = json.Unmarshal(b, &l)
	var out []int
	for _, e := range l.Extensions {
		for _, p := range e.Pids {
			if p > 0 {
				out = append(out, p)
			}
		}
	}
	return out
}

// killExtensionMidRun starts a run of the slow automation (a job when
// job), waits until it is inside its http.request, SIGKILLs the extension
// processes the server started, then lets the held request go. A
// synchronous caller gets an answer (502 by contract); a job is retried,
// its next attempt let through, and ends final (checked with the other
// records). Then the echo webhook must answer 200 again.
func (s *hostileServer) killExtensionMidRun(t *testing.T, f *hostileFigures, token string, job bool) {
	t.Helper()
	type answer struct {
		status int
		body   []byte
		err    error
	}
	marker := fmt.Sprintf("r%d-%t", f.rounds.Load(), job)
	done := make(chan answer, 1)
	go func() {
		// On a connection of its own: a POST on a kept-alive connection
		// that the server closed meanwhile fails with EOF before it is
		// sent, and the client does not retry it (one CI run failed so).
		req, err := http.NewRequest("POST", "http://"+s.addr+"/webhooks/"+token+"?m="+marker, strings.NewReader("x"))
		if err != nil {
			done <- answer{err: err}
			return
		}
		req.Header.Set("Content-Type", "text/plain")
		req.Close = true
		resp, err := s.client.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- answer{status: resp.StatusCode, body: b}
	}()
	f.inputs.Add(1)
	if job {
		// The 202 comes first; the attempt runs after it.
		a := <-done
		if a.err != nil {
			s.transportError(f, "slow job", a.err)
			return
		}
		s.noteAnswer(f, "slow job", a.status, a.body, false)
	}
	held, ok := s.blocker.wait(marker)
	if !ok {
		f.hangs.Add(1)
		select {
		case a := <-done:
			// Answered without calling out: say how.
			f.fail("the slow automation never called out (%s); its request ended: status %d, body %q, error %v", marker, a.status, a.body, a.err)
		default:
			f.fail("the slow automation never called out (%s)", marker)
		}
		return
	}
	for _, pid := range s.extensionPids() {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			f.faults.Add(1)
		}
	}
	if !job {
		a := <-done
		close(held.release)
		if a.err != nil {
			s.transportError(f, "slow run after the extension was killed", a.err)
			return
		}
		s.noteAnswer(f, "slow run, extension killed", a.status, a.body, false)
	} else {
		close(held.release)
		// The job's next attempt calls out again: let it through.
		if next, ok := s.blocker.wait(marker); ok {
			close(next.release)
		} else {
			f.fail("the killed job was not retried (%s)", marker)
		}
	}
	// The extension comes back; until then a run may get the 502 of a
	// crashed extension.
	deadline := time.Now().Add(hostileClientWait)
	for time.Now().Before(deadline) {
		f.inputs.Add(1)
		resp, err := s.client.Post("http://"+s.addr+"/webhooks/"+s.echo, "text/plain", strings.NewReader("x"))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			s.noteAnswer(f, "echo after a killed extension", resp.StatusCode, b, false)
			if resp.StatusCode == http.StatusOK {
				f.runsAccepted.Add(1)
				return
			}
			f.recovering.Add(1)
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.fail("the echo webhook did not answer 200 again after the extension was killed")
}

// transportError counts a failed HTTP exchange: a timeout is a hang; any
// other error (the server closed or reset the connection) is a failure.
func (s *hostileServer) transportError(f *hostileFigures, what string, err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		f.hangs.Add(1)
	}
	f.fail("%s: %v", what, err)
}

// checkRecords waits until every accepted job is final and every answered
// echo request has its run record; the rest are lost.
func (s *hostileServer) checkRecords(t *testing.T, f *hostileFigures) {
	t.Helper()
	deadline := time.Now().Add(hostileRecordWait)
	s.jobIDs.Range(func(k, _ any) bool {
		id := k.(string)
		for {
			st, b, err := s.adminDo("GET", "/jobs/"+url.PathEscape(id), "", "")
			var j struct{ State string }
			if err == nil && st == http.StatusOK && json.Unmarshal(b, &j) == nil {
				switch j.State {
				case "Completed", "Failed", "Stopped":
					return true
				}
			}
			if time.Now().After(deadline) {
				f.lost.Add(1)
				f.fail("job %s not final: %d %.200s %v", id, st, b, err)
				return true
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	for {
		n, err := s.countRuns(s.echoID)
		if err == nil && int64(n) >= f.runsAccepted.Load() {
			return
		}
		if time.Now().After(deadline) {
			f.lost.Add(f.runsAccepted.Load() - int64(n))
			f.fail("run records of the echo webhook: %d for %d answers (%v)", n, f.runsAccepted.Load(), err)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countRuns counts the run records of a webhook through the admin API
// (cause "-": the runs, not refused requests).
func (s *hostileServer) countRuns(webhookID string) (int, error) {
	n, before := 0, ""
	for {
		q := "/runs?webhook=" + webhookID + "&limit=500"
		if before != "" {
			q += "&before=" + before
		}
		st, b, err := s.adminDo("GET", q, "", "")
		if err != nil || st != http.StatusOK {
			return n, fmt.Errorf("list runs: %d %v", st, err)
		}
		var l struct{ Runs []struct{ ID string } }
		if err := json.Unmarshal(b, &l); err != nil {
			return n, err
		}
		n += len(l.Runs)
		if len(l.Runs) < 500 {
			return n, nil
		}
		before = l.Runs[len(l.Runs)-1].ID
	}
}

// panicLines are what a panic or a fatal runtime error leaves in the
// server's output.
var panicLines = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[)|"panic"|runtime error`)

// TestHostile_Serve attacks a real `hookhost serve` on 127.0.0.1 with
// malformed request lines, headers and bodies, huge headers, slowloris,
// a connection flood above --max-connections, NUL bytes, gzip bombs, bad
// KATA and packages through the admin API, template bombs, and killed
// extension processes mid-run. It counts inputs, faults, unexpected
// 500s, panics (in the server's output), hangs, exits and lost records,
// logs the table, and fails on any 500, panic, hang, exit or loss. Its
// PortInUse subtest starts serve on a taken port first.
// One round runs in make test; HOOKHOST_SOAK=2m (make soak) repeats the
// rounds for that long.
func TestHostile_Serve(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and attacks the real binary; skipped with -short")
	}
	t.Parallel()
	var soak time.Duration
	if v := os.Getenv(soakEnv); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "%s must be a Go duration such as 2m", soakEnv)
		soak = d
	}
	bin := buildBinary(t)
	t.Run("PortInUse", func(t *testing.T) { hostilePortInUse(t, bin) })
	t.Run("HeaderBytesFlag", func(t *testing.T) { hostileHeaderFlag(t, bin) })
	f := &hostileFigures{}
	s := startHostileServer(t, bin, f)
	bomb := gzipBomb(64 << 20)

	end := time.Now().Add(soak)
	for {
		s.round(t, f, bomb)
		if !s.alive() || time.Now().After(end) {
			break
		}
	}
	if s.alive() {
		s.checkRecords(t, f)
	}
	if !s.alive() {
		f.exits.Add(1)
		f.fail("the server exited: %v", s.exitErr)
	}
	logs := s.logs.String()
	f.panics.Add(int64(len(panicLines.FindAllString(logs, -1))))
	t.Logf("hostile input against hookhost serve (%s):\n%s", map[bool]string{true: "soak " + soak.String(), false: "seed round"}[soak > 0], f.table())
	for _, m := range f.failures {
		t.Log(m)
	}
	if f.panics.Load() > 0 || f.exits.Load() > 0 {
		t.Logf("server output (tail):\n%s", logs[max(0, len(logs)-8000):])
	}
	require.Zero(t, f.status500.Load(), "unexpected 500s")
	require.Zero(t, f.panics.Load(), "panics in the server's output")
	require.Zero(t, f.hangs.Load(), "hangs")
	require.Zero(t, f.exits.Load(), "exits")
	require.Zero(t, f.lost.Load(), "records lost")
	require.Empty(t, f.failures, "every failure is listed above")
}

// hostilePortInUse: a serve whose port is taken exits with the bind error
// before it starts any extension process, so none is left behind.
func hostilePortInUse(t *testing.T, bin string) {
	t.Helper()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = taken.Close() })
	var out syncBuffer
	cmd := exec.Command(bin, "serve", "--listen", taken.Addr().String(), "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--log-format", "json", "--log-level", "info")
	cmd.Env = append(os.Environ(), "HOOKHOST_ADMIN_TOKEN=port-in-use-token")
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "serve must fail: %s", out.String())
		require.NotZero(t, ee.ExitCode())
	case <-time.After(hostileClientWait):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("serve did not exit with its port taken: %s", out.String())
	}
	require.Contains(t, out.String(), "address already in use")
	require.NotContains(t, out.String(), "extension started", "nothing starts before the ports are bound")
}

// hostileHeaderFlag: --max-header-bytes moves the cap on the request line
// and headers: a 24 KiB header is refused with 431 at the default (8 KiB)
// and served under --max-header-bytes 64KiB.
func hostileHeaderFlag(t *testing.T, bin string) {
	t.Helper()
	req := []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + strings.Repeat("b", 24<<10) + "\r\n\r\n")
	for _, tt := range []struct {
		name string
		args []string
		want int
	}{
		{"Default", nil, http.StatusRequestHeaderFieldsTooLarge},
		{"Raised", []string{"--max-header-bytes", "64KiB"}, http.StatusOK},
	} {
		addr := freeAddr(t)
		var out syncBuffer
		cmd := exec.Command(bin, append([]string{"serve", "--listen", addr, "--data-dir", filepath.Join(t.TempDir(), "data"),
			"--in-process", "--access-log=false"}, tt.args...)...)
		cmd.Env = append(os.Environ(), "HOOKHOST_ADMIN_TOKEN=header-flag-token")
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		ready := false
		for range 600 {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				ready = true
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.True(t, ready, "%s: the server did not start: %s", tt.name, out.String())
		st, _, hung, err := rawExchange(addr, req)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(hostileClientWait):
			_ = cmd.Process.Kill()
			<-exited
		}
		require.NoError(t, err)
		require.False(t, hung, tt.name)
		require.Equal(t, tt.want, st, "%s: %s", tt.name, out.String())
	}
}
