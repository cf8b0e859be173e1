package host

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
)

// fuzzEchoScript answers with what it saw, a status and a header chosen by
// the caller (?status=, ?h=), marked X-Fuzz-Echo so that the fuzzer can
// tell the automation's own 5xx from the host's.
const fuzzEchoScript = `inputs:
  text/who:
  text/n:
    type: number
  text/environment:
start:
  set:
    out:
      m@key: request_method
      p@key: request_path
      h@key: request_headers
      q@key: request_params
      b@key: request_body
      ip@key: request_client_ip
      in@key: inputs
  return:
    status_code: {{request_params.status}}
    headers:
      X-Fuzz-Echo: yes
      X-Fuzz-H: {{request_params.h}}
    body@text: {{out|json_encode|json_pretty}}
`

// fuzzHooks are the webhooks FuzzWebhook calls: their names and event KATA.
// The automations are the guide's (imported from its package) and
// fuzzEchoScript.
func fuzzHooks() []struct{ name, event string } {
	return []struct{ name, event string }{
		{"guide", eventFor("example.webhook.respond")},
		{"verify", "verify/github:\n  type: github\n  secret: It's a Secret to Everybody\n" + eventFor("echo")},
		{"basic", "verify/ip:\n  type: ip_allow\n  cidrs@list:\n    127.0.0.0/8\n    10.0.0.0/8\nverify/basic:\n  type: basic\n  username: u\n  password: p\n" + eventFor("echo")},
		{"limits", "limits:\n  rate: 1000\n  burst: 1000\n  concurrency: 4\n  body_bytes: 256\n" + eventFor("echo")},
		{"rules", "automation/skip:\n  uri: cerb:automation:echo\n  disabled@bool: {{request_headers.x_skip}}\n  inputs:\n    who: {{request_params.name}}\n    n@int: 3\n" +
			"automation/other:\n  uri: cerb:automation:example.webhook.respond\n  enabled@bool: {{request_params.other}}\n"},
		{"job", "automation/job:\n  uri: cerb:automation:echo\n  inputs:\n    environment: staging\n  job:\n    wait_ms@int: 0\n    max_attempts@int: 1\n"},
	}
}

// FuzzWebhook sends arbitrary requests (method, path after the token,
// header lines, query, body) over a real loopback connection to the
// webhooks of one server: a valid token in the path or in ?token=, a wrong
// token, or the fuzzed path as the token. No request may crash the server
// or go unanswered, a request after it on the same connection must find
// the server in step (no framing desync), and the host answers 5xx only where DESIGN.md's
// decision table allows it — here never, because no automation fails,
// times out or crashes (an automation's own 5xx carries X-Fuzz-Echo).
// Every other 4xx and 5xx is application/problem+json. Seeds live in
// testdata/fuzz/FuzzWebhook.
func FuzzWebhook(f *testing.F) {
	f.Add(uint8(0), "POST", "", "X-CustomHeader: true", "key=value", []byte(""))
	f.Add(uint8(4), "POST", "", "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\nContent-Type: text/plain", "", []byte("Hello, World!"))
	f.Add(uint8(8), "GET", "a/b/", "Authorization: Basic dTpw\nX-Forwarded-For: 10.1.2.3, 127.0.0.1", "name=Joe+Customer&age=37", []byte(""))
	f.Add(uint8(13), "PUT", "x", "Content-Type: application/x-www-form-urlencoded", "a[]=1&a[k]=2&status=503&h=v", []byte("a=form&c=3"))
	f.Add(uint8(16), "PATCH", "..%2F..%2Fapi/v1", "X-Skip: yes", "other=1", []byte("{}"))
	f.Add(uint8(20), "DELETE", "", "Idempotency-Key: k1\nContent-Type: multipart/form-data; boundary=x", "", []byte("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n"))
	f.Add(uint8(2), "BREW", "", "", "", []byte(""))

	b := setup(f, func(c *Config) {
		c.RequestTimeout = 2 * time.Second
		c.BodyLimit = 64 << 10
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	r := b.admin(f, "POST", "/packages/import", "application/json", readFile(f, filepath.Join("..", "testdata", "packages", "webhook-example.json")))
	require.Equal(f, http.StatusCreated, r.Status, "%s", r.Body)
	b.createAutomation(f, "echo", fuzzEchoScript, "")
	hooks := fuzzHooks()
	tokens := make([]string, len(hooks))
	for i, h := range hooks {
		var id string
		id, tokens[i] = b.createWebhook(f, h.name, h.event)
		if h.name == "rules" {
			r = b.admin(f, "PATCH", "/webhooks/"+id, "application/json", `{"debug":true}`)
			require.Equal(f, http.StatusOK, r.Status, "%s", r.Body)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(f, err)
	go func() { _ = b.srv.App().Listener(ln) }()
	f.Cleanup(func() { _ = b.srv.App().Shutdown() })
	addr := ln.Addr().String()

	f.Fuzz(func(t *testing.T, mode uint8, method, path, headers, query string, body []byte) {
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			t.Skip("not a request line")
		}
		hook := int(mode/4) % len(tokens)
		var target string
		switch mode % 4 {
		case 0:
			target = "/webhooks/" + tokens[hook] + "/" + escapeTarget(path) + "?" + escapeTarget(query)
		case 1:
			target = "/webhooks?token=" + tokens[hook] + "&" + escapeTarget(query)
		case 2:
			target = "/webhooks/" + strings.Repeat("0", 40) + "/" + escapeTarget(path) + "?" + escapeTarget(query)
		default:
			target = "/webhooks/" + escapeTarget(path) + "?" + escapeTarget(query)
		}
		chunked := mode&0x80 != 0

		var req bytes.Buffer
		req.WriteString(method + " " + target + " HTTP/1.1\r\nHost: hooks.test\r\n")
		for _, line := range strings.Split(strings.ReplaceAll(headers, "\r", ""), "\n") {
			name, _, _ := strings.Cut(line, ":")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "", "host", "content-length", "transfer-encoding", "connection":
				continue // framing is ours, so that requests never run together
			}
			req.WriteString(line + "\r\n")
		}
		if chunked {
			req.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			if len(body) > 0 {
				req.WriteString(strconv.FormatInt(int64(len(body)), 16) + "\r\n")
				req.Write(body)
				req.WriteString("\r\n")
			}
			req.WriteString("0\r\n\r\n")
		} else {
			req.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
			req.Write(body)
		}

		resp, rb, err := fuzzExchange(addr, req.Bytes(), method, 8*time.Second)
		if err != nil && strings.HasPrefix(err.Error(), "desync") {
			t.Fatalf("%s %q: %d: %v", method, target, resp.StatusCode, err)
		}
		if err != nil {
			// The server may drop a connection it cannot parse, but never
			// hang on it.
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "no answer within 8s: %v", err)
			return
		}
		if !slices.Contains(fiber.DefaultMethods, method) {
			// Fiber answers methods it does not route with a plain 400
			// before any handler runs (fasthttp may refuse the request
			// earlier, say with a 431).
			require.True(t, resp.StatusCode >= 400 && resp.StatusCode < 500, "Fiber refuses unknown methods: %d %s", resp.StatusCode, rb)
			t.Skip("Fiber refuses the method")
		}
		status := resp.StatusCode
		t.Logf("%s %q: %d %.200s", method, target, status, rb)
		echo := resp.Header.Get("X-Fuzz-Echo") != ""
		if status >= 500 && !echo {
			t.Fatalf("%s %q answered %d outside DESIGN.md's decision table: %s", method, target, status, rb)
		}
		if status >= 400 && !echo {
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), "%d: %s", status, rb)
			if method != "HEAD" {
				var p api.Problem
				require.NoError(t, json.Unmarshal(rb, &p), "%d: %s", status, rb)
				require.Equal(t, status, p.Status, "%s", rb)
				require.NotEmpty(t, p.Title, "%s", rb)
			}
		}
	})
}

// escapeTarget keeps a fuzzed path or query on the request line: it escapes
// what would end it (space, CR, LF) and '#', and keeps every other byte,
// NUL and invalid UTF-8 included.
func escapeTarget(s string) string {
	return strings.NewReplacer(" ", "%20", "\r", "%0D", "\n", "%0A", "#", "%23", "\t", "%09").Replace(s)
}

// fuzzExchange sends raw on a new loopback connection to addr and reads
// the final (non-1xx) answer. When the server keeps the connection open, it
// then sends GET /healthz on it: an answer other than 200 means the server
// framed the first request differently from the client (a desync), which
// it reports as an error. Connections end with a reset, so that hundreds
// a second leave no TIME_WAIT behind.
func fuzzExchange(addr string, raw []byte, method string, timeout time.Duration) (*http.Response, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(conn)
	resp, body, err := readFinal(conn, br, raw, method)
	if err != nil || resp.Close {
		return resp, body, err
	}
	next, nb, err := readFinal(conn, br, []byte("GET /healthz HTTP/1.1\r\nHost: hooks.test\r\n\r\n"), "GET")
	if err != nil {
		return resp, body, nil // the server may close an idle connection
	}
	if next.StatusCode != http.StatusOK || br.Buffered() > 0 {
		return resp, body, fmt.Errorf("desync: the next request on the connection got %d %q (%d bytes more)", next.StatusCode, nb, br.Buffered())
	}
	return resp, body, nil
}

func readFinal(w io.Writer, br *bufio.Reader, raw []byte, method string) (*http.Response, []byte, error) {
	if _, err := w.Write(raw); err != nil {
		return nil, nil, err
	}
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return nil, nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return resp, nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode < 100 {
			return resp, body, nil
		}
	}
}

// FuzzPackageImport posts arbitrary bodies to POST /api/v1/packages/import,
// the full admin import: strict decoding, prompts and placeholders, then
// the save-time validation of every automation (compile with the loaded
// extensions' commands) and event KATA (verify blocks, secrets, automation
// look-ups), and the store's transaction. The answer is 201 (imported),
// 200 (a package imported before: upgraded, or unchanged at the same
// revision), a 400 listing every problem (each with a message, and a
// field), or a 409 when records exist already; never a 5xx. Seeds: testdata/packages plus
// testdata/fuzz/FuzzPackageImport.
func FuzzPackageImport(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "packages", "*.json"))
	require.NoError(f, err)
	for _, file := range files {
		f.Add(readFile(f, file))
	}
	b := setup(f)
	f.Fuzz(func(t *testing.T, raw string) {
		r := b.admin(t, "POST", "/packages/import", "application/json", raw)
		switch r.Status {
		case http.StatusCreated, http.StatusOK:
			var res api.ImportResult
			require.NoError(t, json.Unmarshal(r.Body, &res), "%s", r.Body)
			want := []string{api.ImportFirst}
			if r.Status == http.StatusOK {
				// A package already imported: upgraded to a higher
				// revision, or left as it is at the same one.
				want = []string{api.ImportUpgrade, api.ImportUnchanged}
			}
			require.Contains(t, want, res.Action, "%s", r.Body)
			for _, w := range res.Webhooks {
				require.Regexp(t, `^[0-9a-f]{40}$`, w.Token)
			}
			return
		case http.StatusBadRequest, http.StatusConflict:
		default:
			t.Fatalf("import answered %d: %s", r.Status, r.Body)
		}
		require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
		var p api.Problem
		require.NoError(t, json.Unmarshal(r.Body, &p), "%s", r.Body)
		require.Equal(t, r.Status, p.Status)
		if r.Status == http.StatusBadRequest {
			require.NotEmpty(t, p.Errors, "%s", r.Body)
			for _, e := range p.Errors {
				require.NotEmpty(t, e.Message, "%s", r.Body)
				require.NotEmpty(t, e.Field, "%s", r.Body)
			}
		}
	})
}
