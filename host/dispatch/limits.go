package dispatch

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/reqlog"
)

// limiters holds each webhook's rate bucket and concurrency count. They
// are per process: N servers let N times the rate through.
type limiters struct {
	mu   sync.RWMutex
	byID map[string]*webhookLimiter
}

// webhookLimiter enforces one webhook's limits.
type webhookLimiter struct {
	spec     automations.EventLimits
	bucket   *rate.Limiter // nil without a rate
	inFlight atomic.Int64
}

func newLimiters() *limiters { return &limiters{byID: map[string]*webhookLimiter{}} }

// get returns the limiter of webhook id for spec, new when spec changed.
func (l *limiters) get(id string, spec automations.EventLimits) *webhookLimiter {
	l.mu.RLock()
	wl, ok := l.byID[id]
	l.mu.RUnlock()
	if ok && wl.spec == spec {
		return wl
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if wl, ok := l.byID[id]; ok && wl.spec == spec {
		return wl
	}
	wl = &webhookLimiter{spec: spec}
	if spec.Rate > 0 {
		burst := spec.Burst
		if burst == 0 {
			burst = max(1, int(math.Ceil(spec.Rate)))
		}
		wl.bucket = rate.NewLimiter(rate.Limit(spec.Rate), burst)
	}
	l.byID[id] = wl
	return wl
}

// admit applies the webhook's limits (its own `limits:` merged over the
// server's defaults): 413 for a body over the limit, 429 with Retry-After
// past the rate or the concurrency. release must be called when the
// request is done.
func (d *Dispatcher) admit(c *fiber.Ctx, h *catalog.Hook, now time.Time) (release func(), err error) {
	spec, limited := EffectiveLimits(d.cfg.DefaultLimits, h.Event.Limits)
	if !limited {
		return func() {}, nil
	}
	if spec.BodyBytes > 0 && int64(len(c.Request().Body())) > spec.BodyBytes {
		return nil, d.bodyTooLarge(c, h, spec.BodyBytes, now, reqlog.From(c))
	}
	wl := d.limits.get(h.Webhook.ID, spec)
	if wl.bucket != nil {
		r := wl.bucket.ReserveN(now, 1)
		if wait := r.DelayFrom(now); !r.OK() || wait > 0 {
			r.CancelAt(now)
			return nil, d.refused(&exchange{h: h, req: d.request(c), start: now, entry: reqlog.From(c)}, "rate_limit", "",
				tooMany(c, wait, "this webhook's request rate limit is exceeded"))
		}
	}
	if spec.Concurrency > 0 {
		if wl.inFlight.Add(1) > int64(spec.Concurrency) {
			wl.inFlight.Add(-1)
			return nil, d.refused(&exchange{h: h, req: d.request(c), start: now, entry: reqlog.From(c)}, "concurrency", "",
				tooMany(c, time.Second, "this webhook already has "+strconv.Itoa(spec.Concurrency)+" runs in progress"))
		}
		return func() { wl.inFlight.Add(-1) }, nil
	}
	return func() {}, nil
}

// bodyTooLarge refuses a request for h whose body is over the webhook's
// body limit (limit bytes): 413, and a request record with the cause
// body_size that keeps neither the headers nor the body.
func (d *Dispatcher) bodyTooLarge(c *fiber.Ctx, h *catalog.Hook, limit int64, start time.Time, e *reqlog.Entry) error {
	x := &exchange{h: h, req: automations.HTTPRequest{Method: c.Method(), ClientIP: ClientIP(c, d.cfg.TrustedProxies)}, start: start, entry: e}
	return d.refused(x, "body_size", "",
		api.NewProblem(http.StatusRequestEntityTooLarge, "the request body is larger than this webhook accepts ("+strconv.FormatInt(limit, 10)+" bytes)"))
}

// RefuseAnnouncedBody refuses a webhook request whose head announces
// (Content-Length) a body of n bytes, over the body limit of the webhook it
// is for, before the body is read: the server calls it for a request that
// asks `Expect: 100-continue`, which is then answered 413 in place of 100
// Continue, and the client never sends the body (curl asks so for every
// upload over 1 MiB). The refusal is admit's (the same problem, the same
// request record), answered through cfg as the server's refusals before
// the app's routes are. c is the app's context of the request, not yet
// routed.
//
// It reports whether it refused. Otherwise it changed nothing, neither the
// response nor the request's values, and the request goes on to handle,
// which answers it as usual: an unknown token, a failed lookup, a webhook
// without a body limit or n within it.
func (d *Dispatcher) RefuseAnnouncedBody(cfg reqlog.Config, c *fiber.Ctx, n int64) (refused bool, err error) {
	token := routeToken(c)
	if token == "" {
		return false, nil
	}
	start := time.Now()
	// c.Context(), not c.UserContext(), which would set a value of the
	// request's on its way to the handler.
	h, err := d.cat.Webhook(c.Context(), token, start)
	if err != nil || h == nil {
		return false, nil
	}
	spec, limited := EffectiveLimits(d.cfg.DefaultLimits, h.Event.Limits)
	if !limited || spec.BodyBytes <= 0 || n <= spec.BodyBytes {
		return false, nil
	}
	return true, reqlog.Answer(cfg, c, func(e *reqlog.Entry) error {
		e.WebhookID = h.Webhook.ID
		return d.bodyTooLarge(c, h, spec.BodyBytes, start, e)
	})
}

// routeToken returns the token of a webhook request before Fiber routed
// it, as handle reads it after: the path segment after /webhooks/, or for
// /webhooks itself its token query parameter. The prefix is matched
// regardless of case, as Fiber's routing does. It is "" for any other path.
func routeToken(c *fiber.Ctx) string {
	token, _ := RouteToken(c.Path(), c.Context().QueryArgs())
	return token
}

// RouteToken is routeToken for a request that Fiber has not seen yet (the
// server's HeaderReceived hook), from its path as sent (fasthttp's
// PathOriginal, which Fiber routes on) and its query arguments. route
// reports whether the path is under the webhook routes' prefix (/webhooks,
// then nothing or a slash, in any case): no other path reaches handle. A
// route without a token (/webhooks, /webhooks//x) has none, and handle
// answers it 404 when it reaches it.
func RouteToken(path string, query *fasthttp.Args) (token string, route bool) {
	if len(path) < len(webhooksPath) || !strings.EqualFold(path[:len(webhooksPath)], webhooksPath) {
		return "", false
	}
	switch rest := path[len(webhooksPath):]; {
	case rest == "" || rest == "/":
		return string(query.Peek("token")), true
	case rest[0] == '/':
		token, _, _ := strings.Cut(rest[1:], "/")
		return token, true
	}
	return "", false // another route: /webhooksx
}

// tooMany sets Retry-After and returns a 429 problem.
func tooMany(c *fiber.Ctx, wait time.Duration, detail string) error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return api.NewProblem(http.StatusTooManyRequests, detail)
}

// EffectiveLimits merges a webhook's own limits over the server's
// defaults, field by field; ok is false when nothing is limited.
func EffectiveLimits(def automations.EventLimits, own *automations.EventLimits) (limits automations.EventLimits, ok bool) {
	if def == (automations.EventLimits{}) {
		if own == nil {
			return def, false
		}
		return *own, true
	}
	merged := def
	if own != nil {
		if own.Rate > 0 {
			merged.Rate, merged.Burst = own.Rate, own.Burst
		} else if own.Burst > 0 {
			merged.Burst = own.Burst
		}
		if own.Concurrency > 0 {
			merged.Concurrency = own.Concurrency
		}
		if own.BodyBytes > 0 {
			merged.BodyBytes = own.BodyBytes
		}
	}
	return merged, true
}
