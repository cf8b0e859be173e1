package ssrf

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
)

// The order of response header fields: net/http keeps them in a map, but
// Cerb's http.request output lists them as the server sent them. A guarded
// transport wraps each plain connection in a recordingConn, which reads
// the names off the header block of the response to the request it
// serves (HTTP/1.x over plain TCP; over TLS the names stay unordered).

// orderKey is the context key of a request's orderRecorder.
type orderKey struct{}

// orderRecorder receives the header names of one response.
type orderRecorder struct {
	mu  sync.Mutex
	hdr []string
}

func (r *orderRecorder) set(names []string) {
	r.mu.Lock()
	r.hdr = names
	r.mu.Unlock()
}

func (r *orderRecorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hdr
}

// withOrder returns req with a recorder in its context, attached to the
// connection the transport picks for it.
func withOrder(req *http.Request) *http.Request {
	rec := &orderRecorder{}
	ctx := context.WithValue(req.Context(), orderKey{}, rec)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if c, ok := info.Conn.(*recordingConn); ok {
				c.attach(rec)
			}
		},
	})
	return req.WithContext(ctx)
}

// maxRecordedHeader bounds the bytes a recordingConn keeps while it looks
// for the end of a header block.
const maxRecordedHeader = 1 << 20

// recordingConn records the header names of the next response read after
// attach.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	rec *orderRecorder // nil when not recording
	buf []byte
}

func (c *recordingConn) attach(rec *orderRecorder) {
	c.mu.Lock()
	c.rec, c.buf = rec, c.buf[:0]
	c.mu.Unlock()
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.capture(p[:n])
	}
	return n, err
}

func (c *recordingConn) capture(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec == nil {
		return
	}
	c.buf = append(c.buf, b...)
	for {
		end := bytes.Index(c.buf, []byte("\r\n\r\n"))
		if end < 0 {
			if len(c.buf) > maxRecordedHeader {
				c.rec, c.buf = nil, nil
			}
			return
		}
		block := c.buf[:end]
		rest := c.buf[end+4:]
		lines := bytes.Split(block, []byte("\r\n"))
		// An interim 1xx answer: the real one follows.
		if f := bytes.Fields(lines[0]); len(f) >= 2 && len(f[1]) == 3 && f[1][0] == '1' {
			c.buf = append(c.buf[:0], rest...)
			continue
		}
		var names []string
		for _, l := range lines[1:] {
			if len(l) == 0 || l[0] == ' ' || l[0] == '\t' {
				continue
			}
			if i := bytes.IndexByte(l, ':'); i > 0 {
				names = append(names, http.CanonicalHeaderKey(string(bytes.TrimSpace(l[:i]))))
			}
		}
		c.rec.set(names)
		c.rec, c.buf = nil, nil
		return
	}
}
