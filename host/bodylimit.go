package host

import (
	"errors"
	"net/http"

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
// token. An admin request from a client that the admin API's
// failed-authentication throttle holds gets the throttle's 429 (cause
// admin_auth) before its body with Expect: 100-continue, and in place of
// the 503, whatever its token, as the admin API answers it; a refusal is
// not counted as a failed authentication (it checked no token).
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
	// busy answers a request whose body the budget could not hold, and
	// returns the status it wrote: 503, or, for an admin request from a
	// client the admin API's failed-authentication throttle holds, the
	// throttle's 429.
	busy := func(fctx *fasthttp.RequestCtx) int {
		c := app.AcquireCtx(fctx)
		defer app.ReleaseCtx(c)
		if st := throttle(c, s.admin.Throttled); st != 0 {
			return st
		}
		c.Set(fiber.HeaderRetryAfter, busyRetryAfter)
		p := api.NewProblem(http.StatusServiceUnavailable, "the server is receiving too many request bodies right now; retry later")
		if err := reqlog.Refuse(cfg, c, "body_memory", "the server's body memory (--body-memory) is in use", p); err != nil {
			fctx.SetStatusCode(http.StatusServiceUnavailable)
			s.log.Error("answer a body the body memory cannot hold", "error", err)
		}
		return http.StatusServiceUnavailable
	}
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		return bodies.admit(h, limit)
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
		if n != -1 && bodies.refused(&fctx.Request.Header) {
			return busy(fctx)
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
		switch {
		case !errors.Is(err, fasthttp.ErrBodyTooLarge):
			fiberErrors(fctx, err)
		case bodies.refused(&fctx.Request.Header):
			busy(fctx)
		default:
			refuse(fctx)
		}
	}
}

// adminPrefix is the admin API's path.
const adminPrefix = "/api/v1"

// adminRequest reports whether the app routes the request of h to the
// admin API: Fiber routes on the request URI's path as sent (fasthttp's
// PathOriginal: neither unescaped nor normalised), in any case, and the
// admin API takes everything under /api/v1.
func adminRequest(h *fasthttp.RequestHeader) bool {
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	if u.Parse(h.Host(), h.RequestURI()) != nil {
		return false
	}
	p := u.PathOriginal()
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
