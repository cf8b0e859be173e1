package host

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// TestAdmin_ContentEncoding sends admin bodies with a Content-Encoding
// over real HTTP on loopback: a coded body is decoded as before, but
// never past the body limit (a gzip of 64 MiB of zeros is refused 413
// having cost the server a few MiB; before, Fiber decoded all of it and
// answered 400), an unknown coding is refused 415 with Accept-Encoding,
// and data that does not decode 400. Not parallel: it reads the process's
// allocation count.
func TestAdmin_ContentEncoding(t *testing.T) {
	b := setup(t) // the default body limit, 1 MiB
	b.createAutomation(t, "nothing", "start:\n  return:\n    body: ok\n", "")
	addr := serveRaw(t, b.srv.App())
	const plain = `{"event_kata": "automation/main:\n  uri: cerb:automation:nothing\n"}`
	gz := func(p []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(p)
		_ = w.Close()
		return buf.Bytes()
	}
	zl := func(p []byte) []byte {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		_, _ = w.Write(p)
		_ = w.Close()
		return buf.Bytes()
	}
	br := func(p []byte) []byte { return fasthttp.AppendBrotliBytes(nil, p) }
	bomb := gz(make([]byte, 64<<20))
	want := post(t, addr, "", []byte(plain))
	require.Equal(t, http.StatusOK, want.Status, "%s", want.Body)

	tests := []struct {
		name, coding string
		body         []byte
		status       int
		maxAlloc     uint64 // bytes the request may cost the process; 0: not checked
	}{
		{"plain", "", []byte(plain), http.StatusOK, 0},
		{"identity", "identity", []byte(plain), http.StatusOK, 0},
		{"gzip", "gzip", gz([]byte(plain)), http.StatusOK, 0},
		{"x-gzip", "x-gzip", gz([]byte(plain)), http.StatusOK, 0},
		{"deflate", "deflate", zl([]byte(plain)), http.StatusOK, 0},
		{"br", "br", br([]byte(plain)), http.StatusOK, 0},
		{"deflate then gzip", "deflate, gzip", gz(zl([]byte(plain))), http.StatusOK, 0},
		{"gzip bomb", "gzip", bomb, http.StatusRequestEntityTooLarge, 16 << 20},
		{"br bomb", "br", br(make([]byte, 64<<20)), http.StatusRequestEntityTooLarge, 16 << 20},
		{"bomb in a bomb", "gzip, gzip", gz(bomb), http.StatusRequestEntityTooLarge, 16 << 20},
		// Two header lines are one list, "gzip, gzip" (review2: the
		// first line alone was read, and a gzip stored as the body).
		{"gzip on two lines", "gzip\ngzip", gz(gz([]byte(plain))), http.StatusOK, 0},
		{"unknown", "x-evil", []byte(plain), http.StatusUnsupportedMediaType, 0},
		{"unknown after gzip", "gzip, zstd", gz([]byte(plain)), http.StatusUnsupportedMediaType, 0},
		{"bad gzip", "gzip", []byte("\x1f\x8bnot gzip at all"), http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := post(t, addr, tt.coding, tt.body)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d-byte body: %d, %d bytes allocated", len(tt.body), r.Status, alloc)
			if tt.maxAlloc > 0 {
				require.Less(t, alloc, tt.maxAlloc, "bytes allocated while the server answered")
			}
			require.Equal(t, tt.status, r.Status, "%s", r.Body)
			if tt.status == http.StatusOK {
				require.Equal(t, string(want.Body), string(r.Body))
				return
			}
			require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			if tt.status == http.StatusUnsupportedMediaType {
				require.Equal(t, "gzip, deflate, br", r.Header.Get("Accept-Encoding"))
			}
		})
	}
}

// post sends body to POST /api/v1/webhooks/validate with the admin token
// and Content-Encoding coding (none when empty; a line each for codings
// split by "\n") over a new connection.
func post(t *testing.T, addr, coding string, body []byte) response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(60*time.Second))) // an upper bound, not a timing assertion
	head := "POST /api/v1/webhooks/validate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " + testAdminToken +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	if coding != "" {
		for _, line := range strings.Split(coding, "\n") {
			head += "Content-Encoding: " + line + "\r\n"
		}
	}
	_, err = conn.Write(append([]byte(head+"\r\n"), body...))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp.StatusCode, resp.Header, rb}
}
