package host

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// authFailures rate-limits failed admin API authentications per client
// address, so the admin token cannot be guessed at speed.
type authFailures struct {
	mu    sync.Mutex
	byIP  map[string]*rate.Limiter
	every time.Duration
	burst int
}

func newAuthFailures() *authFailures {
	return &authFailures{byIP: map[string]*rate.Limiter{}, every: 6 * time.Second, burst: 10}
}

// blocked reports how long ip must wait before trying again, or 0.
func (a *authFailures) blocked(ip string, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.byIP[ip]
	if !ok || l.TokensAt(now) >= 1 {
		return 0
	}
	return a.every
}

// fail records one failed attempt from ip.
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
