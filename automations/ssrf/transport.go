package ssrf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxPools bounds the connection pools a Transport keeps for WithAllow
// allow-lists; requests with further allow-lists get a connection of their
// own, closed after the response.
const maxPools = 64

// allowKey is the context key of WithAllow.
type allowKey struct{}

// WithAllow returns a context whose requests through a guarded transport may
// also reach the addresses in prefixes (an automation policy's
// http_allow_networks), redirects included. Such requests use connections
// dialled for the same prefixes only (see Transport), so nothing needs to
// keep them from being reused.
func WithAllow(ctx context.Context, prefixes []netip.Prefix) context.Context {
	if len(prefixes) == 0 {
		return ctx
	}
	return context.WithValue(ctx, allowKey{}, slices.Clone(prefixes))
}

// allowFrom returns the canonical form of the context's extra prefixes
// (masked, sorted, without duplicates) and its key, "" when there are none.
func allowFrom(ctx context.Context) ([]netip.Prefix, string) {
	extra, _ := ctx.Value(allowKey{}).([]netip.Prefix)
	if len(extra) == 0 {
		return nil, ""
	}
	canon := make([]netip.Prefix, 0, len(extra))
	for _, p := range extra {
		if p.IsValid() {
			canon = append(canon, p.Masked())
		}
	}
	slices.SortFunc(canon, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	canon = slices.Compact(canon)
	if len(canon) == 0 {
		return nil, ""
	}
	names := make([]string, len(canon))
	for i, p := range canon {
		names[i] = p.String()
	}
	return canon, strings.Join(names, ",")
}

// Transport is the guard's http.RoundTripper. It does not use proxies and
// does not cap response bodies (wrap it as NewClient does, or use
// NewClient). Create it with NewTransport.
//
// Connections are pooled per allow-list: a request whose context carries
// extra prefixes (WithAllow) is sent over connections dialled and checked
// for exactly those prefixes, and a request without any over connections
// dialled for the options alone. So a connection an automation's policy
// opened (directly, through a redirect, kept alive, or dialled for a
// request that then went elsewhere) is never reused by a request that may
// not dial its address.
type Transport struct {
	opts Options
	base *http.Transport

	mu    sync.Mutex
	pools map[string]*http.Transport // by allowFrom key
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a Transport whose connections are checked by the
// guard with opts.
func NewTransport(opts Options) *Transport {
	opts.Allow = slices.Clone(opts.Allow)
	return &Transport{opts: opts, base: newHTTPTransport(opts, true), pools: map[string]*http.Transport{}}
}

// RoundTrip sends req over a connection of the pool of its allow-list.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = withOrder(req)
	return t.transportFor(req.Context()).RoundTrip(req)
}

// transportFor returns the http.Transport of the context's allow-list.
func (t *Transport) transportFor(ctx context.Context) *http.Transport {
	extra, key := allowFrom(ctx)
	if key == "" {
		return t.base
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.pools[key]; ok {
		return tr
	}
	opts := t.opts
	opts.Allow = append(slices.Clone(t.opts.Allow), extra...)
	if len(t.pools) >= maxPools {
		return newHTTPTransport(opts, false)
	}
	tr := newHTTPTransport(opts, true)
	t.pools[key] = tr
	return tr
}

// CloseIdleConnections closes the idle connections of every pool.
func (t *Transport) CloseIdleConnections() {
	t.base.CloseIdleConnections()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.pools {
		tr.CloseIdleConnections()
	}
}

// newHTTPTransport returns an http.Transport that dials through a guard
// with opts; without pool, each connection serves one request.
func newHTTPTransport(opts Options, pool bool) *http.Transport {
	g := &guard{opts: opts}
	g.dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: opts.Resolver, ControlContext: g.control}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            g.dialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
	if !pool {
		// HTTP/2 would keep the connection for further streams.
		tr.DisableKeepAlives = true
		tr.ForceAttemptHTTP2 = false
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return tr
}

// guard dials through the check, with fixed options: the connections of
// one http.Transport all answer to the same allow-list.
type guard struct {
	opts   Options
	dialer *net.Dialer
}

// control runs after DNS resolution, before connect(2), for every address
// the dialer tries.
func (g *guard) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("http.request: cannot check the address %q", address)
	}
	return g.opts.Check(ap.Addr())
}

// dialContext dials addr ("host:port") and names the host in a refusal.
// A host that names an address (in any form CheckHost reads) is dialled
// as that address, without a lookup.
func (g *guard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	a, err := g.opts.CheckHost(host)
	if err != nil {
		return nil, err
	}
	if a.IsValid() {
		addr = net.JoinHostPort(a.String(), port)
	}
	conn, err := g.dialer.DialContext(ctx, network, addr)
	if err != nil {
		var be *BlockedError
		if errors.As(err, &be) {
			if host != be.Addr.String() {
				be.Host = host
			}
			return nil, be
		}
		return nil, err
	}
	return &recordingConn{Conn: conn}, nil
}
