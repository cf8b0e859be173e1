package admin

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// authFailures throttles failed admin authentications per client address:
// a burst of 10, then one every 6 seconds.
type authFailures struct {
	mu    sync.Mutex
	byIP  map[string]*rate.Limiter
	every time.Duration
	burst int
}

func newAuthFailures() *authFailures {
	return &authFailures{byIP: map[string]*rate.Limiter{}, every: 6 * time.Second, burst: 10}
}

// blocked returns how long ip must wait before trying again (0: it may).
func (a *authFailures) blocked(ip string, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.byIP[ip]
	if !ok || l.TokensAt(now) >= 1 {
		return 0
	}
	return a.every
}

// fail counts one failed authentication from ip.
func (a *authFailures) fail(ip string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.byIP[ip]
	if !ok {
		if len(a.byIP) >= 10000 {
			clear(a.byIP) // bounded memory; attackers only gain a fresh budget
		}
		l = rate.NewLimiter(rate.Every(a.every), a.burst)
		a.byIP[ip] = l
	}
	l.AllowN(now, 1)
}

// retryAfter formats a wait as whole seconds for Retry-After (at least 1).
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}
