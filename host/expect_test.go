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
// it), as is one within it but over the own body limit of the webhook it is
// for (with that webhook's answer and request record), and everything else
// goes on as before.
func TestServer_ExpectContinue(t *testing.T) {
	t.Parallel()
	const limit = 1024
	b := setup(t, func(c *Config) { c.BodyLimit = limit })
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	// A webhook whose own body limit is under the server's.
	smallID, small := b.createWebhook(t, "small", "limits:\n  body_bytes: 100\n"+eventFor("ok"))
	addr := serveRaw(t, b.srv.App())

	// The admin API has a listener of its own here: its app refuses too.
	ab := setup(t, func(c *Config) { c.BodyLimit = limit; c.AdminListen = "127.0.0.1:0" })
	adminAddr := serveRaw(t, ab.srv.AdminApp())

	over, within := strconv.Itoa(2*limit), strconv.Itoa(limit/2)
	const webhookOver = "the request body is larger than this webhook accepts (100 bytes)"
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
		// wantRecord is set when the answer is a refusal recorded for the
		// webhook "small" (its request records), with the cause body_size.
		wantRecord bool
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
		{name: "OverWebhookLimitWithExpect", path: "/webhooks/" + small,
			// Within the server's limit, over the webhook's own: its 413,
			// still before the body.
			head:       "Content-Length: " + within + "\r\nExpect: 100-continue\r\n",
			wantStatus: http.StatusRequestEntityTooLarge, wantBody: webhookOver, wantClose: true, wantRecord: true},
		{name: "OverWebhookLimitWithExpectSubpath", path: "/webhooks/" + small + "/github/push",
			head:       "Content-Length: " + within + "\r\nExpect: 100-continue\r\n",
			wantStatus: http.StatusRequestEntityTooLarge, wantBody: webhookOver, wantClose: true, wantRecord: true},
		{name: "OverWebhookLimitWithExpectQueryToken", path: "/webhooks?token=" + small,
			head:       "Content-Length: " + within + "\r\nExpect: 100-continue\r\n",
			wantStatus: http.StatusRequestEntityTooLarge, wantBody: webhookOver, wantClose: true, wantRecord: true},
		{name: "OverWebhookLimitWithoutExpect", path: "/webhooks/" + small,
			// The body is read, then refused with the same answer.
			head: "Content-Length: " + within + "\r\n", body: strings.Repeat("x", limit/2),
			wantStatus: http.StatusRequestEntityTooLarge, wantBody: webhookOver, wantRecord: true},
		{name: "WithinWebhookLimitWithExpect", path: "/webhooks/" + small,
			head: "Content-Length: 100\r\nExpect: 100-continue\r\n", body: strings.Repeat("x", 100),
			wantContinue: true, wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "ChunkedOverWebhookLimitWithExpect", path: "/webhooks/" + small,
			// Nothing announced: the body is asked for, read, and refused.
			head: "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n", body: "c8\r\n" + strings.Repeat("x", 200) + "\r\n0\r\n\r\n",
			wantContinue: true, wantStatus: http.StatusRequestEntityTooLarge, wantBody: webhookOver, wantRecord: true},
		{name: "UnknownTokenWithExpect", path: "/webhooks/no-such-token",
			head: "Content-Length: 5\r\nExpect: 100-continue\r\n", body: "hello",
			wantContinue: true, wantStatus: http.StatusNotFound, wantBody: "no webhook at this URL"},
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

			head := "POST " + tt.path + " HTTP/1.1\r\nHost: hooks.test\r\nContent-Type: text/plain\r\nX-Request-Id: " + tt.name + "\r\n" + tt.head + "\r\n"
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
			require.NotContains(t, string(body), small, "an answer never repeats the token")
			if resp.StatusCode >= 400 {
				require.Equal(t, api.ProblemType, resp.Header.Get(fiber.HeaderContentType))
				var p api.Problem
				require.NoError(t, json.Unmarshal(body, &p), "%s", body)
				require.Equal(t, resp.StatusCode, p.Status)
			}
			if tt.wantRecord {
				var rec *api.Run
				for _, r := range b.listRequests(t, "webhook="+smallID) {
					if r.RequestID == tt.name {
						rec = &r
					}
				}
				require.NotNil(t, rec, "the refusal is one of the webhook's requests")
				require.Equal(t, "body_size", rec.Cause)
				require.Equal(t, http.StatusRequestEntityTooLarge, rec.Status)
				require.Equal(t, webhookOver, rec.Error)
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
// body limit refusal; and that one refused for a webhook's own limit from
// its Expect head names the webhook in both, as it does once read.
func TestServer_BodyLimitRefusalsAreLogged(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	b := setup(t, captureLogs(&logs), func(c *Config) { c.BodyLimit = 1024 })
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	smallID, small := b.createWebhook(t, "small", "limits:\n  body_bytes: 100\n"+eventFor("ok"))
	addr := serveRaw(t, b.srv.App())

	tests := []struct {
		id          string // the request's X-Request-Id
		token       string
		length      int
		expect      bool
		wantWebhook string // on the access line
	}{
		{id: "with-expect", token: tok, length: 2048, expect: true},
		{id: "without-expect", token: tok, length: 2048},
		{id: "webhook-with-expect", token: small, length: 512, expect: true, wantWebhook: smallID},
		{id: "webhook-without-expect", token: small, length: 512, wantWebhook: smallID},
	}
	for _, tt := range tests {
		head := "POST /webhooks/" + tt.token + " HTTP/1.1\r\nHost: hooks.test\r\nX-Request-Id: " + tt.id + "\r\nContent-Length: " + strconv.Itoa(tt.length) + "\r\n"
		if tt.expect {
			head += "Expect: 100-continue\r\n"
		}
		head += "\r\n"
		if !tt.expect && tt.length <= 1024 {
			// Within the server's limit the body is read before the
			// webhook's limit refuses it.
			head += strings.Repeat("x", tt.length)
		}
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second))) // an upper bound, not a timing assertion
		_, err = io.WriteString(conn, head)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "POST"})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, tt.id)
		require.Equal(t, tt.id, resp.Header.Get("X-Request-Id"), "the answer echoes the request id")
	}

	lines := strings.Split(logs.String(), "\n")
	for _, tt := range tests {
		var line string
		for _, l := range lines {
			if strings.Contains(l, "request_id="+tt.id) {
				line = l
			}
		}
		require.Contains(t, line, "msg=request", "%s has an access line", tt.id)
		require.Contains(t, line, "status=413")
		require.Contains(t, line, "path=/webhooks/[redacted]")
		require.Contains(t, line, "cause=body_size")
		if tt.wantWebhook != "" {
			require.Contains(t, line, "webhook="+tt.wantWebhook, tt.id)
			require.Contains(t, line, "run_id=", "%s names its request record", tt.id)
		} else {
			require.NotContains(t, line, "webhook=", tt.id)
		}
	}
	require.NotContains(t, logs.String(), tok, "the token is never logged")
	require.NotContains(t, logs.String(), small, "the token is never logged")

	m := b.do(t, "GET", "/metrics", "", "")
	require.Contains(t, string(m.Body), `hookhost_webhook_rejected_total{cause="body_size"} 4`)
	require.Contains(t, string(m.Body), `hookhost_webhook_requests_total{code="4xx",webhook=""} 2`)
	require.Contains(t, string(m.Body), `hookhost_webhook_requests_total{code="4xx",webhook="`+smallID+`"} 2`)
}
