package ssrf

import (
	"fmt"
	"io"
	"net/http"
)

// NewClient returns an http.Client on NewTransport that follows at most
// MaxRedirects redirects (each checked when it dials, against the
// allow-list of the request's context), caps response bodies at
// opts.MaxResponseBytes and bounds each request by opts.Timeout.
func NewClient(opts Options) *http.Client {
	limit := opts.MaxResponseBytes
	if limit == 0 {
		limit = DefaultMaxResponseBytes
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := NewTransport(opts)
	var rt http.RoundTripper = tr
	if limit > 0 {
		rt = &limitTransport{rt: tr, limit: limit}
	}
	return &http.Client{
		Transport: rt,
		Timeout:   timeout,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= MaxRedirects {
				return fmt.Errorf("http.request: stopped after %d redirects", MaxRedirects)
			}
			return nil
		},
	}
}

// limitTransport caps response bodies.
type limitTransport struct {
	rt    *Transport
	limit int64
}

var _ http.RoundTripper = (*limitTransport)(nil)

// RoundTrip refuses a response whose declared length is over the limit and
// caps the body of the others.
func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.limit {
		resp.Body.Close()
		return nil, &TooLargeError{Limit: t.limit}
	}
	resp.Body = &limitedBody{rc: resp.Body, n: t.limit, limit: t.limit}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (t *limitTransport) CloseIdleConnections() { t.rt.CloseIdleConnections() }

// limitedBody fails with a *TooLargeError once more than limit bytes were
// read.
type limitedBody struct {
	rc    io.ReadCloser
	n     int64 // bytes left before the limit
	limit int64
	err   error
}

var _ io.ReadCloser = (*limitedBody)(nil)

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte past the limit to tell "exactly at the limit" from "over".
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.rc.Read(p)
	if int64(n) <= l.n {
		l.n -= int64(n)
		l.err = err
		return n, err
	}
	n = int(l.n)
	l.n = 0
	l.err = &TooLargeError{Limit: l.limit}
	return n, l.err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// HeaderOrder returns the names of resp's header fields in the order the
// server sent them, when a guarded transport recorded it (HTTP/1.x); nil
// otherwise.
func HeaderOrder(resp *http.Response) []string {
	if resp == nil || resp.Request == nil {
		return nil
	}
	rec, _ := resp.Request.Context().Value(orderKey{}).(*orderRecorder)
	if rec == nil {
		return nil
	}
	return rec.names()
}
