package admin

import (
	"container/list"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/dispatch"
)

// The failed-authentication throttle's defaults: 10 failures, then one
// more every 6 seconds (10 a minute), per client; 10,000 clients
// remembered (about 2 MB).
const (
	authBurst   = 10
	authEvery   = 6 * time.Second
	authClients = 10000
)

// authThrottle limits failed admin authentications per client (see
// clientKey). A client may fail burst times, then once more every every;
// while it must wait, every request it makes to the admin API is answered
// 429 without its token being checked, so that a right guess is answered
// as a wrong one is and guessing goes no faster than the throttle allows.
// A success changes nothing, for its client or any other.
//
// At most max clients are remembered. A client is dropped only once it
// has its whole allowance back (burst×every after a burst of failures, at
// no loss: it is then as if never seen), the one whose last failure is the
// oldest first. While the table holds max clients none of which may be
// dropped (someone is spraying addresses, say a /48's worth of /64s), the
// clients it does not hold share one allowance, overflow, of the same
// burst and rate: their failures are counted there and they wait on it.
// That is the trade-off: during such a spray, a client not yet in the
// table, the admin too, is answered 429 for the others' failures (the
// sprayer can keep the shared allowance spent for as long as it sprays:
// review rev5), and
// the clients the table holds keep their own counts; a spray gets no more
// guesses than max+1 clients would.
type authThrottle struct {
	every time.Duration
	burst int
	max   int

	mu      sync.Mutex
	clients map[string]*list.Element // of *authClient, in lru
	lru     list.List                // front: the latest failure
	// overflow is the allowance of the clients the full table cannot hold.
	overflow *rate.Limiter
}

// authClient is what the throttle remembers of one client.
type authClient struct {
	key string
	lim *rate.Limiter
}

// newAuthThrottle returns a throttle with burst failures, then one every
// every, for at most max clients.
func newAuthThrottle(burst int, every time.Duration, max int) *authThrottle {
	return &authThrottle{every: every, burst: burst, max: max, clients: map[string]*list.Element{},
		overflow: rate.NewLimiter(rate.Every(every), burst)}
}

// wait returns how long client must wait before its next attempt (0: it
// may try now).
func (a *authThrottle) wait(client string, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	lim := a.limiterLocked(client, now)
	if lim == nil {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - tokens) * float64(a.every)))
}

// fail counts one failed authentication from client.
func (a *authThrottle) fail(client string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.clients[client]; ok {
		a.lru.MoveToFront(e)
		e.Value.(*authClient).lim.AllowN(now, 1)
		return
	}
	if a.fullLocked(now) {
		a.overflow.AllowN(now, 1)
		return
	}
	if a.lru.Len() >= a.max {
		oldest := a.lru.Back()
		a.lru.Remove(oldest)
		delete(a.clients, oldest.Value.(*authClient).key)
	}
	c := &authClient{key: client, lim: rate.NewLimiter(rate.Every(a.every), a.burst)}
	c.lim.AllowN(now, 1)
	a.clients[client] = a.lru.PushFront(c)
}

// limiterLocked returns the allowance client's failures count against:
// its own, the shared overflow while the table is full and does not hold
// it, or nil when it has none yet (it has its whole allowance).
func (a *authThrottle) limiterLocked(client string, now time.Time) *rate.Limiter {
	if e, ok := a.clients[client]; ok {
		return e.Value.(*authClient).lim
	}
	if a.fullLocked(now) {
		return a.overflow
	}
	return nil
}

// fullLocked reports whether the table holds max clients and may drop
// none: the one whose last failure is the oldest has not its whole
// allowance back yet.
func (a *authThrottle) fullLocked(now time.Time) bool {
	if a.lru.Len() < a.max {
		return false
	}
	return a.lru.Back().Value.(*authClient).lim.TokensAt(now) < float64(a.burst)
}

// size is how many clients the throttle remembers.
func (a *authThrottle) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lru.Len()
}

// clientKey is the throttle's key for a client address: the address, or
// its /64 for IPv6 (one host commonly holds a whole /64).
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		return netip.PrefixFrom(addr.WithZone(""), 64).Masked().String()
	}
	return addr.String()
}

// client is the throttle's key for c's client: its address as the
// webhook path derives it (X-Forwarded-For from TrustedProxies only).
func (a *Admin) client(c *fiber.Ctx) string {
	return clientKey(dispatch.ClientIP(c, a.cfg.TrustedProxies))
}

// throttled answers a client that must wait: 429 with Retry-After, nil
// when it may try.
func (a *Admin) throttled(c *fiber.Ctx, client string, now time.Time) error {
	wait := a.auth.wait(client, now)
	if wait <= 0 {
		return nil
	}
	c.Set(fiber.HeaderRetryAfter, retryAfter(wait))
	return api.NewProblem(http.StatusTooManyRequests, "too many failed admin authentications from this address; wait and retry")
}

// failed counts a failed authentication of c's client, whatever its
// method. Only a CORS preflight is not counted: an OPTIONS request without
// an Authorization header (a browser never sends one on a preflight),
// which tried no token. An OPTIONS carrying a token is a guess as any
// other, and the right token is answered differently (405 with Allow).
func (a *Admin) failed(c *fiber.Ctx, client string, now time.Time) {
	if c.Method() == fiber.MethodOptions && len(c.Request().Header.Peek(fiber.HeaderAuthorization)) == 0 {
		return
	}
	a.auth.fail(client, now)
}

// Throttled returns the admin API's answer to a request of a client that
// failed to authenticate too often and must wait, 429 with Retry-After
// set on c, or nil when the client may try (see requireAdmin). The server
// asks it before an admin request's body is read (Expect: 100-continue)
// and in place of refusing a body its memory cannot hold, so that a
// throttled client is answered the same whatever its token.
func (a *Admin) Throttled(c *fiber.Ctx) error {
	return a.throttled(c, a.client(c), time.Now())
}

// retryAfter formats a wait as whole seconds for Retry-After (at least 1).
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}
