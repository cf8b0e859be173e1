package host

import (
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"

	"github.com/hookhost/hookhost/automations"
)

// limiters holds the state of each webhook's limits: block (its token
// bucket and its runs in progress), by webhook id. It outlives cache
// invalidations so that counts stay right across admin changes.
type limiters struct {
	mu   sync.Mutex
	byID map[string]*webhookLimiter
}

type webhookLimiter struct {
	spec     automations.EventLimits
	bucket   *rate.Limiter // nil without a rate
	inFlight atomic.Int64
}

func newLimiters() *limiters { return &limiters{byID: map[string]*webhookLimiter{}} }

// get returns the limiter of webhook id for spec, replacing one built for
// different limits.
func (l *limiters) get(id string, spec automations.EventLimits) *webhookLimiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if wl, ok := l.byID[id]; ok && wl.spec == spec {
		return wl
	}
	wl := &webhookLimiter{spec: spec}
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

// admit applies a webhook's limits to the request in c. It returns a
// release function to call when the run ends, or ok false after answering
// 413 or 429 (with Retry-After).
func (s *Server) admit(c *fiber.Ctx, h *hook, now time.Time) (release func(), ok bool, err error) {
	spec, limited := s.effectiveLimits(h.event.Limits)
	if !limited {
		return func() {}, true, nil
	}
	if spec.BodyBytes > 0 && int64(len(c.Request().Body())) > spec.BodyBytes {
		return nil, false, writeProblem(c, problem(fiber.StatusRequestEntityTooLarge,
			"the request body is larger than this webhook accepts ("+strconv.FormatInt(spec.BodyBytes, 10)+" bytes)"))
	}
	wl := s.limits.get(h.w.ID, spec)
	if wl.bucket != nil {
		r := wl.bucket.ReserveN(now, 1)
		if d := r.DelayFrom(now); !r.OK() || d > 0 {
			r.CancelAt(now)
			return nil, false, tooMany(c, d, "this webhook's request rate limit is exceeded")
		}
	}
	if spec.Concurrency > 0 {
		if wl.inFlight.Add(1) > int64(spec.Concurrency) {
			wl.inFlight.Add(-1)
			return nil, false, tooMany(c, time.Second, "this webhook already has "+strconv.Itoa(spec.Concurrency)+" runs in progress")
		}
		return func() { wl.inFlight.Add(-1) }, true, nil
	}
	return func() {}, true, nil
}

// tooMany answers 429 with a Retry-After of at least one second.
func tooMany(c *fiber.Ctx, wait time.Duration, detail string) error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return writeProblem(c, problem(fiber.StatusTooManyRequests, detail))
}

// effectiveLimits merges a webhook's own limits over the server-wide
// defaults, field by field. ok is false when no limit applies.
func (s *Server) effectiveLimits(own *automations.EventLimits) (limits automations.EventLimits, ok bool) {
	def := s.cfg.DefaultLimits
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
