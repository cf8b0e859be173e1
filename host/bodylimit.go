package host

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"time"
	"unsafe"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/dispatch"
	"github.com/hookhost/hookhost/host/reqlog"
)

// refuseOversized makes app refuse a body over the server's body limit
// (--body-limit) through the request log, as a handler's refusal is:
//
//   - A request whose head announces a longer body (Content-Length) and
//     asks `Expect: 100-continue` gets 413 in place of 100 Continue (RFC
//     9110 §10.1.1 allows a final status there), and the connection is
//     closed: the client never sends the body. curl asks so for every
//     upload over 1 MiB; before, it got 100, started the upload, and then
//     the 413.
//   - A body found over the limit otherwise (no Expect, or a chunked one
//     counted as it is read) gets the same 413. Fiber's own answer to it
//     bypassed the middleware, so it was neither logged nor counted.
//
// Both are answered before any route of the app runs, so the webhook is
// not known: the access line and the metrics name none, and no request
// record is kept.
//
// It also puts the app under the body budget bodies (bodyBudget: the
// server's --body-memory on the webhook port, the admin listener's own
// budget there): a body within the limit that the budget cannot hold gets
// 503 with Retry-After, in place of 100 Continue (a chunked body once past
// 16 KiB) or before its buffer is allocated, through the request log with
// the cause body_memory. The budget holds or refuses a body whatever its
// admin token. A body over 16 KiB that no route would read is refused
// alike, before its buffer: 404 (cause unknown_token) on a webhook route
// whose token names no webhook, as handle answers it; 413 (cause
// body_size) on any other path but the admin API's. An admin request from
// a client that the admin API's failed-authentication throttle holds gets
// the throttle's 429 (cause admin_auth) before its body with Expect:
// 100-continue, and in place of the 503, whatever its token, as the admin
// API answers it; a refusal is not counted as a failed authentication (it
// checked no token).
//
// On the webhook port (webhooks not nil), an Expect head whose announced
// body is within the server's limit but over the own, smaller body_bytes
// limit of the webhook it is for is refused as early, by the dispatcher,
// with the webhook's 413 and its request record. A body found over that
// limit otherwise is refused in the dispatcher once read.
func (s *Server) refuseOversized(app *fiber.App, webhooks *dispatch.Dispatcher, bodies *bodyBudget) {
	srv := app.Server()
	limit := srv.MaxRequestBodySize // Fiber's, from BodyLimit
	cfg := s.reqlogConfig()
	refuse := func(fctx *fasthttp.RequestCtx) {
		c := app.AcquireCtx(fctx)
		defer app.ReleaseCtx(c)
		p := api.Errorf(http.StatusRequestEntityTooLarge, "the request body is larger than the server's body limit (%d bytes)", limit)
		if err := reqlog.Refuse(cfg, c, "body_size", "over the server's body limit", p); err != nil {
			// The error handler could not write the problem: the status
			// at least (fasthttp's ErrorHandler path sets none itself).
			fctx.SetStatusCode(http.StatusRequestEntityTooLarge)
			s.log.Error("answer a body over the server's body limit", "error", err)
		}
	}
	// The admin API is served here on the admin listener, and on the
	// webhook port without one.
	admin := webhooks == nil || s.cfg.AdminListen == ""
	// throttle answers an admin request with the admin API's 429 when
	// check says its client must wait (returning the status, else 0).
	throttle := func(c *fiber.Ctx, check func(*fiber.Ctx) error) int {
		if !admin || !adminRequest(&c.Context().Request.Header) {
			return 0
		}
		p := check(c)
		if p == nil {
			return 0
		}
		if err := reqlog.Refuse(cfg, c, "admin_auth", "too many failed admin authentications", p); err != nil {
			c.Context().SetStatusCode(http.StatusTooManyRequests)
			s.log.Error("answer a throttled admin request", "error", err)
		}
		return http.StatusTooManyRequests
	}
	// busy answers a request whose body the budget did not hold (why), and
	// returns the status it wrote: 503, or, for an admin request from a
	// client the admin API's failed-authentication throttle holds, the
	// throttle's 429; 404 or 413 for a body no route would read.
	busy := func(fctx *fasthttp.RequestCtx, why bodyRefusal) int {
		c := app.AcquireCtx(fctx)
		defer app.ReleaseCtx(c)
		if st := throttle(c, s.admin.Throttled); st != 0 {
			return st
		}
		status, cause, reason := http.StatusServiceUnavailable, "body_memory", "the server's body memory (--body-memory) is in use"
		var p *api.Problem
		switch why {
		case refusedNoWebhook:
			// As handle answers it (it would not read the body).
			status, cause, reason = http.StatusNotFound, "unknown_token", ""
			p = api.NewProblem(status, "no webhook at this URL")
		case refusedNoBody:
			status, cause, reason = http.StatusRequestEntityTooLarge, "body_size", "no route reads a body at this URL"
			p = api.Errorf(status, "this URL takes no request body over %d bytes", smallBody)
		case refusedClient:
			reason = "this client's share of the server's body memory (--body-memory) is in use"
			p = api.NewProblem(status, "the server is receiving too many request bodies from this client right now; retry later")
		default:
			p = api.NewProblem(status, "the server is receiving too many request bodies right now; retry later")
		}
		if status == http.StatusServiceUnavailable {
			c.Set(fiber.HeaderRetryAfter, busyRetryAfter)
		}
		if err := reqlog.Refuse(cfg, c, cause, reason, p); err != nil {
			fctx.SetStatusCode(status)
			s.log.Error("answer a body the body memory does not hold", "status", status, "error", err)
		}
		return status
	}
	// claim tells the budget, for a body over smallBody, whether a route
	// will read it and whose it is: see bodyClaim.
	claim := func(h *fasthttp.RequestHeader) bodyClaim {
		fctx := requestCtx(h)
		s.warnForwarded(h)
		return bodyClaim{route: s.bodyRoute(fctx, webhooks, admin), client: bodyClient(fctx.RemoteAddr(), h, s.cfg.TrustedProxies),
			conn: bodyConnOf(fctx.Conn())}
	}
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		return bodies.admit(h, limit, claim)
	}
	handler := srv.Handler
	srv.Handler = func(fctx *fasthttp.RequestCtx) {
		bodies.handling(&fctx.Request.Header)
		defer bodies.done(fctx)
		handler(fctx)
	}
	// When ExpectHandler refuses, fasthttp skips the app, sets the status
	// it returned and Connection: close, and writes the response as it
	// stands, so the problem+json written here is what the client gets.
	// (fasthttp's doc asks that the response not be modified because on
	// StatusContinue it is not reset before the app runs: what was written
	// would become part of the app's answer. Nothing is written then.)
	expect := func(fctx *fasthttp.RequestCtx) int {
		// ContentLength is -1 for a chunked body and -2 for none: those go
		// on, and the limit is applied as the body is read. A chunked body
		// the budget refused may still be up to smallBody bytes, as it may
		// without Expect: it is asked for, and one past that gets 503 then.
		n := fctx.Request.Header.ContentLength()
		// A throttled client is answered before its body is read,
		// whatever its token.
		if st := func() int {
			c := app.AcquireCtx(fctx)
			defer app.ReleaseCtx(c)
			return throttle(c, s.admin.Throttled)
		}(); st != 0 {
			return st
		}
		if why := bodies.refused(&fctx.Request.Header); n != -1 && why != notRefused {
			return busy(fctx, why)
		}
		if n > limit {
			refuse(fctx)
			return fasthttp.StatusRequestEntityTooLarge
		}
		if n <= 0 || webhooks == nil {
			return fasthttp.StatusContinue
		}
		c := app.AcquireCtx(fctx)
		defer app.ReleaseCtx(c)
		refused, err := webhooks.RefuseAnnouncedBody(cfg, c, int64(n))
		if !refused {
			return fasthttp.StatusContinue
		}
		if err != nil {
			// The problem was not written; fasthttp sets the status.
			s.log.Error("answer a body over a webhook's body limit", "error", err)
		}
		return fasthttp.StatusRequestEntityTooLarge
	}
	// A refusal here runs neither the handler nor the error handler: the
	// body's hold ends with it.
	srv.ExpectHandler = func(fctx *fasthttp.RequestCtx) int {
		status := expect(fctx)
		if status != fasthttp.StatusContinue {
			bodies.done(fctx)
		}
		return status
	}
	fiberErrors := srv.ErrorHandler
	srv.ErrorHandler = func(fctx *fasthttp.RequestCtx, err error) {
		defer bodies.done(fctx)
		if !errors.Is(err, fasthttp.ErrBodyTooLarge) {
			fiberErrors(fctx, err)
			return
		}
		if why := bodies.refused(&fctx.Request.Header); why != notRefused {
			busy(fctx, why)
			return
		}
		refuse(fctx)
	}
}

// headerOffset is where the request's header lies in a request context.
const headerOffset = unsafe.Offsetof(fasthttp.RequestCtx{}.Request) + unsafe.Offsetof(fasthttp.Request{}.Header)

// requestCtx returns the request context whose request's header h is.
// fasthttp's HeaderReceived hook gets the header alone, but always that of
// the connection's request context (&ctx.Request.Header, its one call in
// server.go), which knows the connection: the budget needs its client
// before the body is read. Only the hook, and tests that build their
// headers inside request contexts, may call it.
func requestCtx(h *fasthttp.RequestHeader) *fasthttp.RequestCtx {
	return (*fasthttp.RequestCtx)(unsafe.Add(unsafe.Pointer(h), -int(headerOffset)))
}

// bodyRoute tells what the route of fctx's request takes, from its head
// (the app has not routed it yet), for the body budget: the admin API's
// path (where the admin API is served: webhooks is nil on its own
// listener, admin says whether it is served here), a webhook route whose
// token names a webhook (the catalog's lookup, cached; a failed lookup
// counts as one: handle answers it), one whose token names none, or any
// other path.
func (s *Server) bodyRoute(fctx *fasthttp.RequestCtx, webhooks *dispatch.Dispatcher, admin bool) bodyRoute {
	h := &fctx.Request.Header
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	if u.Parse(h.Host(), h.RequestURI()) != nil {
		return routeNoBody // fasthttp answers 400
	}
	p := u.PathOriginal()
	if admin && adminPath(p) {
		if webhooks == nil {
			return routeBody
		}
		return routeAdmin
	}
	if webhooks == nil {
		return routeNoBody
	}
	// A view of u's bytes, while it lasts: the catalog copies the token it
	// keeps.
	token, route := dispatch.RouteToken(unsafe.String(unsafe.SliceData(p), len(p)), u.QueryArgs())
	switch {
	case !route:
		return routeNoBody
	case token == "":
		return routeNoWebhook
	}
	// As handle looks it up (its user context, which no request sets).
	if hook, err := s.catalog.Webhook(context.Background(), token, time.Now()); err == nil && hook == nil {
		return routeNoWebhook
	}
	return routeBody
}

// bodyClient is the client the body budget counts a request to: the
// peer's address, or, when the peer is a trusted proxy, the right-most
// X-Forwarded-For entry that is not one (dispatch.ClientIP's, which the
// request log and the admin throttle use, from the head alone); an IPv6
// address by its /64, which one host commonly holds whole. A peer that is
// no TCP address (tests') is the zero prefix.
func bodyClient(peer net.Addr, h *fasthttp.RequestHeader, trustedProxies []netip.Prefix) netip.Prefix {
	var addr netip.Addr
	if tcp, ok := peer.(*net.TCPAddr); ok {
		addr = tcp.AddrPort().Addr()
	}
	trusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trustedProxies {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if len(trustedProxies) > 0 && addr.IsValid() && trusted(addr) {
		// Every X-Forwarded-For line, in order, as one list, read from
		// its right.
		lines := h.PeekAll(fiber.HeaderXForwardedFor)
	walk:
		for i := len(lines) - 1; i >= 0; i-- {
			line := lines[i]
			for end := len(line); end >= 0; {
				start := 0
				for j := end - 1; j >= 0; j-- {
					if line[j] == ',' {
						start = j + 1
						break
					}
				}
				a, err := netip.ParseAddr(trimSpace(line[start:end]))
				if err != nil {
					break walk
				}
				addr = a
				if !trusted(a) {
					break walk
				}
				end = start - 1
			}
		}
	}
	addr = addr.Unmap()
	switch {
	case addr.Is4():
		return netip.PrefixFrom(addr, 32)
	case addr.Is6():
		return netip.PrefixFrom(addr.WithZone(""), 64).Masked()
	}
	return netip.Prefix{}
}

// trimSpace is strings.TrimSpace for an X-Forwarded-For entry, a view of
// b's bytes (the address parsed from it keeps none once unzoned).
func trimSpace(b []byte) string {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// adminPrefix is the admin API's path.
const adminPrefix = "/api/v1"

// adminRequest reports whether the app routes the request of h to the
// admin API (see adminPath).
func adminRequest(h *fasthttp.RequestHeader) bool {
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	if u.Parse(h.Host(), h.RequestURI()) != nil {
		return false
	}
	return adminPath(u.PathOriginal())
}

// adminPath reports whether the app routes a request for path to the
// admin API: Fiber routes on the request URI's path as sent (fasthttp's
// PathOriginal: neither unescaped nor normalised), in any case, and the
// admin API takes everything under /api/v1.
func adminPath(p []byte) bool {
	if len(p) < len(adminPrefix) || (len(p) > len(adminPrefix) && p[len(adminPrefix)] != '/') {
		return false
	}
	for i := range len(adminPrefix) {
		if p[i]|0x20 != adminPrefix[i]|0x20 {
			return false
		}
	}
	return true
}

// warnForwarded logs, once, that a request carries X-Forwarded-For while
// --trusted-proxies is empty: behind a reverse proxy every request then
// counts to the proxy, one client, whose share of the body memory all of
// them share. It looks only at bodies the budget would hold (over
// smallBody), not at every request; anyone may send the header, so it is
// a hint, not a finding.
func (s *Server) warnForwarded(h *fasthttp.RequestHeader) {
	if len(s.cfg.TrustedProxies) > 0 || s.forwardedWarned.Load() || h.Peek(fasthttp.HeaderXForwardedFor) == nil {
		return
	}
	if s.forwardedWarned.CompareAndSwap(false, true) {
		s.log.Warn("a request carries X-Forwarded-For but --trusted-proxies is empty: every request counts to its peer; behind a reverse proxy, all of them to the proxy, one client sharing one --body-memory-per-client (set --trusted-proxies to the proxy's addresses)")
	}
}
