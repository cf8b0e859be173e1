package host

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
)

// TestServer_ExpectContinue speaks HTTP over a raw loopback connection, so
// that it sees each answer as it comes and sends a body only when the
// server asked for it: an upload announced larger than the body limit with
// `Expect: 100-continue` is refused with 413 before any 100 Continue (the
// body is never sent, so an answer proves the server did not wait for
// it), and everything else goes on as before.
func TestServer_ExpectContinue(t *testing.T) {
	t.Parallel()
	const limit = 1024
	b := setup(t, func(c *Config) { c.BodyLimit = limit })
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	addr := serveRaw(t, b.srv.App())

	// The admin API has a listener of its own here: its app refuses too.
	ab := setup(t, func(c *Config) { c.BodyLimit = limit; c.AdminListen = "127.0.0.1:0" })
	adminAddr := serveRaw(t, ab.srv.AdminApp())

	over, within := strconv.Itoa(2*limit), strconv.Itoa(limit/2)
	tests := []struct {
		name  string
		admin bool   // send to the admin listener
		path  string // the request's path
		head  string // the header lines after Host, each ending in CRLF
		// body is sent after the 100 Continue when wantContinue, else right
		// after the head ("" for a refusal: the client waits for the
		// answer, as curl does).
		body         string
		wantContinue bool
		wantStatus   int
		wantBody     string // in the final answer's body
		wantClose    bool   // the server closes the connection after it
	}{
		{name: "OverLimitWithExpect", path: "/webhooks/" + tok,
			head:       "Content-Length: " + over + "\r\nExpect: 100-continue\r\n",
			wantStatus: http.StatusRequestEntityTooLarge, wantBody: "the server's body limit (1024 bytes)", wantClose: true},
		{name: "OverLimitWithExpectCaseInsensitive", path: "/webhooks/" + tok,
			head:       "Content-Length: " + over + "\r\nexpect: 100-Continue\r\n",
			wantStatus: http.StatusRequestEntityTooLarge, wantBody: "the server's body limit (1024 bytes)", wantClose: true},
		{name: "OverLimitWithExpectOnAdminListener", admin: true, path: "/api/v1/webhooks?name=x",
			head:       "Authorization: Bearer " + testAdminToken + "\r\nContent-Length: " + over + "\r\nExpect: 100-continue\r\n",
			wantStatus: http.StatusRequestEntityTooLarge, wantBody: "the server's body limit (1024 bytes)", wantClose: true},
		{name: "WithinLimitWithExpect", path: "/webhooks/" + tok,
			head: "Content-Length: " + within + "\r\nExpect: 100-continue\r\n", body: strings.Repeat("x", limit/2),
			wantContinue: true, wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "AtLimitWithExpect", path: "/webhooks/" + tok,
			head: "Content-Length: " + strconv.Itoa(limit) + "\r\nExpect: 100-continue\r\n", body: strings.Repeat("x", limit),
			wantContinue: true, wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "ChunkedWithExpect", path: "/webhooks/" + tok,
			// The length is not announced: the server asks for the body
			// and counts it as it reads, as before.
			head: "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n", body: "3\r\nabc\r\n0\r\n\r\n",
			wantContinue: true, wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "OverLimitWithoutExpect", path: "/webhooks/" + tok,
			// The announced length is enough for today's 413; a body still
			// in flight when the server closes could reset the connection
			// before the answer is read, so none is sent.
			head:       "Content-Length: " + over + "\r\n",
			wantStatus: http.StatusRequestEntityTooLarge, wantBody: "the server's body limit (1024 bytes)", wantClose: true},
		{name: "OtherExpectationIsIgnored", path: "/webhooks/" + tok,
			// RFC 9110 §10.1.1 lets a server answer 417 here, or ignore it:
			// fasthttp ignores it, and so the request is served.
			head: "Content-Length: 5\r\nExpect: something-else\r\n", body: "hello",
			wantStatus: http.StatusOK, wantBody: "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := addr
			if tt.admin {
				a = adminAddr
			}
			conn, err := net.Dial("tcp", a)
			require.NoError(t, err)
			defer conn.Close()
			// An upper bound so that a server waiting for a body that never
			// comes fails the test instead of hanging it; not a timing
			// assertion.
			require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
			br := bufio.NewReader(conn)
			req := &http.Request{Method: "POST"}

			head := "POST " + tt.path + " HTTP/1.1\r\nHost: hooks.test\r\nContent-Type: text/plain\r\n" + tt.head + "\r\n"
			if !tt.wantContinue {
				head += tt.body
			}
			_, err = io.WriteString(conn, head)
			require.NoError(t, err)

			resp, err := http.ReadResponse(br, req)
			require.NoError(t, err)
			if tt.wantContinue {
				require.Equal(t, http.StatusContinue, resp.StatusCode, "the server asks for the body first")
				_, err = io.WriteString(conn, tt.body)
				require.NoError(t, err)
				resp, err = http.ReadResponse(br, req)
				require.NoError(t, err)
			}
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tt.wantStatus, resp.StatusCode, "the first answer after the head: %s", body)
			require.Contains(t, string(body), tt.wantBody)
			require.NotContains(t, string(body), tok, "an answer never repeats the token")
			if resp.StatusCode >= 400 {
				require.Equal(t, api.ProblemType, resp.Header.Get(fiber.HeaderContentType))
				var p api.Problem
				require.NoError(t, json.Unmarshal(body, &p), "%s", body)
				require.Equal(t, resp.StatusCode, p.Status)
			}
			if !tt.wantClose {
				require.False(t, resp.Close, "the connection stays open")
				return
			}
			require.True(t, resp.Close, "the answer says Connection: close")
			n, err := br.Read(make([]byte, 1))
			require.Zero(t, n, "nothing follows the answer")
			require.True(t, errors.Is(err, io.EOF), "the server closed the connection: %v", err)
		})
	}
}

// serveRaw serves app on a 127.0.0.1 listener until the test ends and
// returns its address.
func serveRaw(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return ln.Addr().String()
}

// TestServer_BodyLimitRefusalsAreLogged checks that a body refused for
// the server's body limit, from its Expect head or as it is read, has an
// access line and is counted as a body_size refusal, like a webhook's own
// body limit refusal.
func TestServer_BodyLimitRefusalsAreLogged(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	b := setup(t, captureLogs(&logs), func(c *Config) { c.BodyLimit = 1024 })
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	addr := serveRaw(t, b.srv.App())

	for _, id := range []string{"with-expect", "without-expect"} {
		head := "POST /webhooks/" + tok + " HTTP/1.1\r\nHost: hooks.test\r\nX-Request-Id: " + id + "\r\nContent-Length: 2048\r\n"
		if id == "with-expect" {
			head += "Expect: 100-continue\r\n"
		}
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second))) // an upper bound, not a timing assertion
		_, err = io.WriteString(conn, head+"\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "POST"})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, id)
		require.Equal(t, id, resp.Header.Get("X-Request-Id"), "the answer echoes the request id")
	}

	lines := strings.Split(logs.String(), "\n")
	for _, id := range []string{"with-expect", "without-expect"} {
		var line string
		for _, l := range lines {
			if strings.Contains(l, "request_id="+id) {
				line = l
			}
		}
		require.Contains(t, line, "msg=request", "%s has an access line", id)
		require.Contains(t, line, "status=413")
		require.Contains(t, line, "path=/webhooks/[redacted]")
		require.Contains(t, line, "cause=body_size")
	}
	require.NotContains(t, logs.String(), tok, "the token is never logged")

	m := b.do(t, "GET", "/metrics", "", "")
	require.Contains(t, string(m.Body), `hookhost_webhook_rejected_total{cause="body_size"} 2`)
	require.Contains(t, string(m.Body), `hookhost_webhook_requests_total{code="4xx",webhook=""} 2`)
}
