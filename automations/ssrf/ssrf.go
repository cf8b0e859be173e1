// Package ssrf guards the outgoing requests of automations (http.request)
// against server-side request forgery: connections to loopback, private,
// link-local, shared (CGNAT), unspecified, multicast, reserved and cloud
// metadata addresses are refused unless allowed.
//
// The check runs when a connection is dialled, on the address DNS resolved
// to, so a public name that resolves to 127.0.0.1 is refused, and so is
// every redirect to a refused address (each redirect dials anew). Proxies
// from the environment are not used, since a proxy would dial on our
// behalf.
//
//	client := ssrf.NewClient(ssrf.Options{})
//	resp, err := client.Do(req)
//	var blocked *ssrf.BlockedError
//	if errors.As(err, &blocked) { ... }
package ssrf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxResponseBytes = 16 << 20
	DefaultTimeout          = 30 * time.Second
	// MaxRedirects is how many redirects NewClient follows.
	MaxRedirects = 10
)

// Options configure the guard.
type Options struct {
	// AllowPrivate allows loopback, private (RFC 1918, fc00::/7),
	// link-local and shared (100.64.0.0/10) addresses. Unspecified,
	// multicast, reserved and cloud metadata addresses stay refused unless
	// Allow lists them. Optional. Default: false.
	AllowPrivate bool
	// Allow lists prefixes that are always allowed, whatever their kind.
	// Optional.
	Allow []netip.Prefix
	// MaxResponseBytes caps the (decompressed) response body that NewClient
	// reads; reading past it fails with a *TooLargeError. Optional.
	// Default: DefaultMaxResponseBytes (16 MiB). Negative means no cap.
	MaxResponseBytes int64
	// Timeout bounds a whole request of NewClient, redirects and body
	// included. Optional. Default: DefaultTimeout (30s).
	Timeout time.Duration
}

// BlockedError is a connection refused by the guard.
type BlockedError struct {
	// Host is the name that was dialled, when it is not Addr itself
	// ("localhost"), else "".
	Host string
	// Addr is the refused address.
	Addr netip.Addr
	// Kind says what kind of address it is: "loopback", "private",
	// "link-local", "shared (CGNAT)", "unspecified", "multicast",
	// "reserved" or "cloud metadata".
	Kind string
}

func (e *BlockedError) Error() string {
	to := e.Addr.String()
	if e.Host != "" {
		to = e.Host + " (" + to + ")"
	}
	hint := "allow them with the policy setting http_allow_networks"
	if privateKinds[e.Kind] {
		hint = "allow them with --allow-private-requests or the policy setting http_allow_networks"
	}
	return fmt.Sprintf("http.request to %s refused: %s addresses are blocked (%s)", to, e.Kind, hint)
}

// TooLargeError is a response body over Options.MaxResponseBytes.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("http.request: response body exceeds the limit of %s", formatBytes(e.Limit))
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// rangeKind is one blocked range.
type rangeKind struct {
	prefix netip.Prefix
	kind   string
}

// blocked lists the refused ranges, most specific first: the first match
// names the kind.
var blocked = []rangeKind{
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata"}, // AWS, GCP, Azure, OpenStack, …
	{netip.MustParsePrefix("169.254.170.2/32"), "cloud metadata"},   // AWS ECS task metadata
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata"}, // Alibaba Cloud
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},  // AWS IMDS over IPv6
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and 255.255.255.255
	{netip.MustParsePrefix("::/96"), "reserved"},       // IPv4-compatible IPv6
}

// privateKinds are the kinds Options.AllowPrivate allows.
var privateKinds = map[string]bool{"loopback": true, "private": true, "link-local": true, "shared (CGNAT)": true}

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4
// address in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Check returns a *BlockedError when the guard refuses connections to addr,
// else nil. IPv4-mapped and NAT64 IPv6 addresses are checked as the IPv4
// address they reach.
func (o Options) Check(addr netip.Addr) error {
	addr = addr.WithZone("")
	for _, p := range o.Allow {
		if p.Contains(addr) || p.Contains(addr.Unmap()) {
			return nil
		}
	}
	target := addr.Unmap()
	if nat64.Contains(target) {
		b := target.As16()
		target = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		for _, p := range o.Allow {
			if p.Contains(target) {
				return nil
			}
		}
	}
	for _, r := range blocked {
		if r.prefix.Contains(target) {
			if o.AllowPrivate && privateKinds[r.kind] {
				return nil
			}
			return &BlockedError{Addr: addr.Unmap(), Kind: r.kind}
		}
	}
	return nil
}

// guard dials through the check.
type guard struct {
	opts   Options
	dialer *net.Dialer
}

// allowKey is the context key of WithAllow.
type allowKey struct{}

// WithAllow returns a context whose requests through a guarded transport may
// also reach the addresses in prefixes (an automation policy's
// http_allow_networks). A connection dialled this way may reach addresses
// others may not, so the request should not leave it for reuse: set
// Request.Close.
func WithAllow(ctx context.Context, prefixes []netip.Prefix) context.Context {
	if len(prefixes) == 0 {
		return ctx
	}
	return context.WithValue(ctx, allowKey{}, prefixes)
}

// opts returns the guard's options with the context's extra prefixes.
func (g *guard) optsFor(ctx context.Context) Options {
	extra, _ := ctx.Value(allowKey{}).([]netip.Prefix)
	if len(extra) == 0 {
		return g.opts
	}
	o := g.opts
	o.Allow = append(append([]netip.Prefix(nil), g.opts.Allow...), extra...)
	return o
}

// control runs after DNS resolution, before connect(2), for every address
// the dialer tries.
func (g *guard) control(ctx context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("http.request: cannot check the address %q", address)
	}
	return g.optsFor(ctx).Check(ap.Addr())
}

// dialContext dials addr ("host:port") and names the host in a refusal.
func (g *guard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr)
	if a, err := netip.ParseAddr(host); err == nil {
		// A literal address: refuse without a socket.
		if err := g.optsFor(ctx).Check(a); err != nil {
			return nil, err
		}
	}
	conn, err := g.dialer.DialContext(ctx, network, addr)
	if err != nil {
		var be *BlockedError
		if errors.As(err, &be) {
			if host != "" && host != be.Addr.String() {
				be.Host = host
			}
			return nil, be
		}
		return nil, err
	}
	return conn, nil
}

// NewTransport returns an http.Transport whose connections are checked by
// the guard. It does not use proxies and does not cap response bodies (wrap
// it as NewClient does, or use NewClient).
func NewTransport(opts Options) *http.Transport {
	g := &guard{opts: opts}
	g.dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, ControlContext: g.control}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            g.dialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// NewClient returns an http.Client on NewTransport that follows at most
// MaxRedirects redirects (each checked when it dials), caps response bodies
// at opts.MaxResponseBytes and bounds each request by opts.Timeout.
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
	rt    *http.Transport
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
