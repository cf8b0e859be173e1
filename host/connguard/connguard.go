// Package connguard keeps a server answering under connection floods. It
// caps the connections a listener hands out below the process's file
// descriptor limit; when the cap is reached, a new connection first takes
// the place of the connection that has been idle the longest, then of the
// slowest one that has not finished sending a request, and is refused only
// when every connection is busy. Accept errors that exhaustion causes
// (EMFILE, ENFILE, ENOBUFS, ENOMEM) never end serving: the listener frees a
// descriptor, backs off and accepts again.
//
// The state of each connection comes from the HTTP server's ConnState hook
// (fasthttp.Server.ConnState).
package connguard

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Reserve is the number of file descriptors DefaultMax leaves for
// everything but client connections: the database, extension processes and
// their sockets, log and data files.
const Reserve = 256

// MinMax is the smallest cap DefaultMax returns.
const MinMax = 64

// unlimited is DefaultMax's cap where the descriptor limit is unknown or
// over a million.
const unlimited = 1 << 16

// DefaultMax is the default connection cap: the file descriptor limit
// (RLIMIT_NOFILE; Go raises the soft limit to the hard one at start) less
// Reserve, and at least MinMax. Where there is no such limit (not Unix),
// or it cannot be read, the cap is 65,536.
func DefaultMax() int {
	limit, ok := fileLimit()
	if !ok || limit > 1<<20 {
		return unlimited
	}
	return max(MinMax, int(limit)-Reserve)
}

// Guard tracks the connections of one or more listeners against one cap.
// It is safe for concurrent use.
type Guard struct {
	max int
	log *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]*tracked
	shed  int64 // connections closed to make room
	refus int64 // connections refused: every one was busy
}

// tracked is a connection's state and when it entered it (for the states
// victimLocked orders by: idle and new; an active connection's since is
// not read, and not kept, which spares a clock read per request).
type tracked struct {
	state fasthttp.ConnState
	since time.Time
}

// New returns a Guard that allows at most max connections at once.
func New(max int, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.Default()
	}
	return &Guard{max: max, log: log, conns: map[net.Conn]*tracked{}}
}

// Max is the cap.
func (g *Guard) Max() int { return g.max }

// Stats reports the connections open now, closed to make room, and refused.
func (g *Guard) Stats() (open int, shed, refused int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns), g.shed, g.refus
}

// Idle reports the connections open now that wait, idle, for a request.
func (g *Guard) Idle() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, t := range g.conns {
		if t.state == fasthttp.StateIdle {
			n++
		}
	}
	return n
}

// ConnState is the fasthttp.Server.ConnState hook that keeps the Guard's
// view of each connection current.
func (g *Guard) ConnState(c net.Conn, s fasthttp.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch s {
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		delete(g.conns, c)
	default:
		if t, ok := g.conns[c]; ok {
			if t.state != s {
				t.state = s
				if s != fasthttp.StateActive {
					t.since = time.Now()
				}
			}
		}
	}
}

// admit registers c, making room when the cap is reached; it reports
// false when c must be refused.
func (g *Guard) admit(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.conns) >= g.max {
		victim := g.victimLocked()
		if victim == nil {
			g.refus++
			return false
		}
		delete(g.conns, victim)
		g.shed++
		_ = victim.Close()
	}
	g.conns[c] = &tracked{state: fasthttp.StateNew, since: time.Now()}
	return true
}

// victimLocked picks the connection to close for a new one: the longest
// idle keep-alive connection, else the oldest one that has not sent a whole
// request yet (a slow or silent client), else nil.
func (g *Guard) victimLocked() net.Conn {
	var idle, slow net.Conn
	var idleSince, slowSince time.Time
	for c, t := range g.conns {
		switch t.state {
		case fasthttp.StateIdle:
			if idle == nil || t.since.Before(idleSince) {
				idle, idleSince = c, t.since
			}
		case fasthttp.StateNew:
			if slow == nil || t.since.Before(slowSince) {
				slow, slowSince = c, t.since
			}
		}
	}
	if idle != nil {
		return idle
	}
	return slow
}

// freeOne closes the best victim to free a file descriptor; it reports
// whether it closed one.
func (g *Guard) freeOne() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	victim := g.victimLocked()
	if victim == nil {
		return false
	}
	delete(g.conns, victim)
	g.shed++
	_ = victim.Close()
	return true
}

// Listener wraps ln: its Accept applies the cap and survives exhaustion.
func (g *Guard) Listener(ln net.Listener) net.Listener {
	return &listener{Listener: ln, g: g}
}

type listener struct {
	net.Listener
	g *Guard
}

// Backoff bounds of Accept after an exhaustion error.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// Accept returns the next connection the cap admits. Exhaustion errors are
// logged (at most once a minute), answered by freeing a descriptor and
// backing off, and never returned.
func (l *listener) Accept() (net.Conn, error) {
	backoff := time.Duration(0)
	var lastLog time.Time
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !Exhausted(err) {
				return nil, err
			}
			if time.Since(lastLog) > time.Minute {
				l.g.log.Warn("accepting connections failed: out of resources; closing idle connections and backing off", "error", err)
				lastLog = time.Now()
			}
			l.g.freeOne()
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !l.g.admit(c) {
			_ = c.Close()
			continue
		}
		return c, nil
	}
}

// Exhausted reports whether an accept error means the process or system is
// out of descriptors or memory, which passes: EMFILE, ENFILE, ENOBUFS,
// ENOMEM, or a timeout.
func Exhausted(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
