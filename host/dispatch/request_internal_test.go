package dispatch

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"
)

// TestRequestCopy sends raw requests to the webhook routes and checks what
// request() copies: header lines in the order received (no Content-Length
// that was not sent), the raw path after the token, the decoded query, and
// the form fields of a POST only, in order.
func TestRequestCopy(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{}
	// As host.Server configures it: a multipart body is kept as sent.
	app := fiber.New(fiber.Config{DisableStartupMessage: true, DisablePreParseMultipartForm: true})
	h := func(c *fiber.Ctx) error {
		r := d.request(c)
		return c.JSON(map[string]any{"method": r.Method, "path": r.Path, "headers": r.Headers,
			"query": r.Query, "form": r.Form, "body": string(r.Body)})
	}
	app.All("/webhooks", h)
	app.All("/webhooks/:token", h)
	app.All("/webhooks/:token/*", h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	// send writes head (lines ending in "\n") with CRLF line ends, then body.
	send := func(head string, body ...string) map[string]any {
		t.Helper()
		conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, strings.ReplaceAll(head, "\n", "\r\n")+strings.Join(body, ""))
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return out
	}
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	got := send("POST /webhooks/tok HTTP/1.1\nHost: h\nX-Hub-Signature-256: sha256=abc\nContent-Type: application/json\nContent-Length: 2\nConnection: close\n\n", "{}")
	require.Equal(t, `[["Host","h"],["X-Hub-Signature-256","sha256=abc"],["Content-Type","application/json"],["Content-Length","2"],["Connection","close"]]`, j(got["headers"]))
	require.Equal(t, "", got["path"])

	got = send("GET /webhooks/tok/ HTTP/1.1\nHost: h\nConnection: close\n\n")
	require.Equal(t, "/", got["path"])

	got = send("POST /webhooks/tok//x/ HTTP/1.1\nHost: h\nX-Dup: a\nX-Dup: b\nConnection: close\n\n")
	require.Equal(t, `[["Host","h"],["X-Dup","a"],["X-Dup","b"],["Connection","close"]]`, j(got["headers"]))
	require.Equal(t, "//x/", got["path"])

	got = send("GET /webhooks/tok/a/b// HTTP/1.1\nHost: h\nConnection: close\n\n")
	require.Equal(t, "/a/b//", got["path"])

	got = send("GET /webhooks/tok/a%2Fb?a[]=1&a[]=2&v=%26%3D%2B&b HTTP/1.1\nHost: h\nContent-Type: application/x-www-form-urlencoded\nContent-Length: 3\nConnection: close\n\n", "a=1")
	require.Equal(t, "/a%2Fb", got["path"])
	require.Equal(t, `[["a[]","1"],["a[]","2"],["v","\u0026=+"],["b",""]]`, j(got["query"]))
	require.Nil(t, got["form"], "a GET body is not read as a form")

	got = send("POST /webhooks/tok HTTP/1.1\nHost: h\nContent-Type: APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8\nContent-Length: 16\nConnection: close\n\n", "z=1&a=2&m%5B%5D=")
	require.Equal(t, `[["z","1"],["a","2"],["m[]",""]]`, j(got["form"]))

	mp := "--XyZ\r\nContent-Disposition: form-data; name=\"zeta\"\r\n\r\nv1\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nfile\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"alpha[]\"\r\n\r\nv2\r\n--XyZ--\r\n"
	for range 5 { // the order is the body's, every time
		got = send("POST /webhooks/tok HTTP/1.1\nHost: h\nContent-Type: multipart/form-data; boundary=XyZ\nContent-Length: "+
			strconv.Itoa(len(mp))+"\nConnection: close\n\n", mp)
		require.Equal(t, `[["zeta","v1"],["alpha[]","v2"]]`, j(got["form"]))
	}

	got = send("GET /webhooks?token=tok&x=1 HTTP/1.1\nHost: h\nConnection: close\n\n")
	require.Equal(t, `[["x","1"]]`, j(got["query"]))
}
