package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// Destinations: one receiver must not hold every callback worker.
//
// Completion callbacks, subscription deliveries and upstream subscription
// requests share the callbacks' River queue and its workers
// (Settings.CallbackWorkers). A receiver that takes connections and never
// answers (or drops them unanswered) would hold a worker for the whole
// request timeout at each attempt, and a few of its deliveries would hold
// them all: every other receiver's deliveries and every job's callback
// would wait behind it. So each process keeps, per destination (a URL's
// scheme, host and port: destinationOf), two guards of its own (servers
// sharing a database each keep theirs):
//
//   - A cap on the sends in flight to a suspect destination
//     (perDestination: a quarter of the workers, at least one). A
//     destination is suspect once a send to it got no answer (a timeout,
//     a refused or dropped connection, a DNS or TLS failure) and until one
//     gets an answer; a healthy one is not capped, and may use every
//     worker: a burst to one fast or slow receiver that answers goes as
//     fast as the workers allow. So a receiver that hangs from the start
//     may hold every worker for one timeout wave (Config.CallbackTimeout,
//     10 s by default)
//     before its cap applies. An attempt whose destination is at its cap
//     is snoozed (river.JobSnooze, which costs no attempt) until a slot
//     is expected to free, that is, until the oldest of its sends in
//     flight times out (busySnooze), instead of waiting in a worker: each
//     attempt queued to a hung receiver is written about once per timeout,
//     not in a loop of short snoozes.
//   - A circuit breaker. After breakerThreshold sends in a row got no
//     answer (a timeout, a refused or dropped connection, a DNS or TLS
//     failure), the destination is open for a cooling period
//     (breakerCooldown, doubling with each probe that fails, up to
//     breakerMaxCooldown): its attempts fail at once without a request,
//     each as one of the job's attempts, retried on the job's own backoff,
//     so a delivery still ends after its 8 attempts and a receiver that
//     stays down cannot pile its deliveries up. Once the period ends, one
//     attempt is sent as a probe (the others still fail at once); any
//     answer, whatever its status, closes the breaker, and another
//     failure opens it again for longer. Snoozing the attempts instead
//     would spend no attempts, but a receiver that never comes back would
//     keep its deliveries queued without end, one resolved per probe.
//
// Any answer (2xx or not) resets the count of failures: a receiver that
// answers 500 is retried as before. A refusal of the outbound guard, and a
// send cut short by the worker's own context (shutdown), count neither
// way. Upstream subscription requests go to hosts this package does not
// see (Config.Upstream sends them): they share one destination,
// upstreamDestination, with the cap (an attempt that failed, not cut short
// by shutdown, makes it suspect) and no breaker.

const (
	// breakerThreshold is how many sends in a row to a destination must
	// get no answer before its breaker opens.
	breakerThreshold = 5
	// breakerCooldown is how long a breaker stays open the first time;
	// each probe that fails doubles it, up to breakerMaxCooldown.
	breakerCooldown    = 10 * time.Second
	breakerMaxCooldown = time.Minute
	// busySnoozeMin is the least snooze of an attempt whose destination
	// is at its cap (busySnooze), and busySnoozeOverdue its snooze when
	// the send expected to end first is overdue (it should not be: its
	// client's timeout bounds it), so that it does not spin.
	busySnoozeMin     = 50 * time.Millisecond
	busySnoozeOverdue = time.Second
	// maxDestinations bounds the destinations remembered; past it those
	// with nothing in flight are forgotten (destinations.room).
	maxDestinations = 10_000
	// upstreamDestination is the one destination of upstream
	// subscription requests.
	upstreamDestination = "upstream"
)

// perDestination is the cap on the sends in flight to one destination
// with workers callback workers: a quarter of them, at least one.
func perDestination(workers int) int { return max(1, workers/4) }

// destinationOf is the destination of a URL: its scheme, host and port
// (the scheme's default when it names none), lowercase; "" when it has no
// host (such a send is refused before any connection, and not gated).
func destinationOf(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + port
}

// verdict is what a destination's guards say about one send.
type verdict int

const (
	// sendNow: send it, then release the ticket.
	sendNow verdict = iota + 1
	// sendLater: the destination is suspect and at its cap; snooze the
	// attempt until retry.
	sendLater
	// sendNot: the destination's breaker is open; fail the attempt
	// without a request.
	sendNot
)

// answer is what a send got, as the breaker counts it.
type answer int

const (
	// answerNone counts neither way: a refusal of the outbound guard, a
	// send cut short by shutdown, or an upstream request.
	answerNone answer = iota
	// answerGot: the receiver answered, whatever the status.
	answerGot
	// answerMissing: no answer (a timeout, a connection refused or
	// dropped, a DNS or TLS failure).
	answerMissing
)

// admission is the guards' decision on one send.
type admission struct {
	verdict verdict
	// ticket is to be released once a sendNow send ended.
	ticket ticket
	// failures, last and until describe an open breaker (sendNot): the
	// sends in a row that got no answer, why the last of them failed, and
	// when the next probe may go.
	failures int
	last     string
	until    time.Time
	key      string
	// retry is when a slot of a destination at its cap is expected to
	// free (sendLater): its oldest send in flight's start plus its timeout.
	retry time.Time
}

// reason says, for a log, why an attempt was not sent (sendNot).
func (a admission) reason() string {
	return fmt.Sprintf("not sent: %d requests in a row to %s got no answer (the last: %s); the next is sent from %s",
		a.failures, a.key, a.last, a.until.UTC().Format(time.RFC3339))
}

// ticket is a send in flight, to release once it ended.
type ticket struct {
	key   string // "" when the send was not gated
	probe bool   // the breaker's probe
	// start is when the send started, due when it must have ended: its
	// start plus its timeout.
	start, due time.Time
}

// destination is what a process remembers of one destination.
type destination struct {
	inFlight int
	// sends are the sends in flight (their tickets' start and due), in no
	// order.
	sends []ticket
	// failures counts the sends in a row that got no answer, and last says
	// why the latest of them failed; missed is when the latest send that
	// got none ended.
	failures int
	last     string
	missed   time.Time
	// trips counts the times in a row the breaker opened (1 at the first,
	// one more for each probe that failed); until is when the open breaker
	// lets a probe go.
	trips int
	until time.Time
	// probing: the breaker's probe is in flight.
	probing bool
}

// open reports whether the breaker is open (or half-open: a probe may go
// or is going).
func (d *destination) open() bool { return d.trips > 0 }

// suspect reports whether the destination is capped: a send to it got no
// answer and none got one since, or a send still in flight started
// before the latest that got none ended (an answer from another path of
// the same host does not lift the cap while sends that may hang as that
// one did still hold workers).
func (d *destination) suspect() bool {
	if d.failures > 0 {
		return true
	}
	if d.missed.IsZero() {
		return false
	}
	for _, t := range d.sends {
		if !t.start.After(d.missed) {
			return true
		}
	}
	return false
}

// take records a send in flight.
func (d *destination) take(t ticket) ticket {
	d.inFlight++
	d.sends = append(d.sends, t)
	return t
}

// free forgets the send in flight t.
func (d *destination) free(t ticket) {
	d.inFlight--
	for i, s := range d.sends {
		if s.start.Equal(t.start) && s.due.Equal(t.due) {
			d.sends[i] = d.sends[len(d.sends)-1]
			d.sends = d.sends[:len(d.sends)-1]
			break
		}
	}
}

// nextFree is when a slot is expected to free: the earliest end due of
// the sends in flight.
func (d *destination) nextFree() time.Time {
	var first time.Time
	for _, t := range d.sends {
		if first.IsZero() || t.due.Before(first) {
			first = t.due
		}
	}
	return first
}

// destinations are the guards of one process's sends, per destination.
// The zero value is not usable: see newDestinations.
type destinations struct {
	cap int
	now func() time.Time
	log *slog.Logger

	mu sync.Mutex
	m  map[string]*destination
}

func newDestinations(capacity int, log *slog.Logger) *destinations {
	return &destinations{cap: capacity, now: time.Now, log: log, m: map[string]*destination{}}
}

// acquire decides on a send to destination key ("" is never gated) that
// may last timeout. A sendNow admission's ticket must be released once the
// send ended.
func (ds *destinations) acquire(key string, timeout time.Duration) admission {
	if key == "" {
		return admission{verdict: sendNow}
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d := ds.m[key]
	if d == nil {
		ds.room()
		d = &destination{}
		ds.m[key] = d
	}
	if d.open() {
		if d.probing || ds.now().Before(d.until) {
			return admission{verdict: sendNot, key: key, failures: d.failures, last: d.last, until: d.until}
		}
		// The cooling period is over: this send is the probe.
		d.probing = true
		now := ds.now()
		return admission{verdict: sendNow, ticket: d.take(ticket{key: key, probe: true, start: now, due: now.Add(timeout)})}
	}
	if d.suspect() && d.inFlight >= ds.cap {
		return admission{verdict: sendLater, key: key, retry: d.nextFree()}
	}
	now := ds.now()
	return admission{verdict: sendNow, ticket: d.take(ticket{key: key, start: now, due: now.Add(timeout)})}
}

// release ends the send of t, which got a; why says why it failed
// (answerMissing).
func (ds *destinations) release(t ticket, a answer, why string) {
	if t.key == "" {
		return
	}
	closed, opened := false, time.Time{}
	ds.mu.Lock()
	d := ds.m[t.key]
	if d == nil {
		ds.mu.Unlock()
		return // forgotten by room: cannot happen while in flight
	}
	d.free(t)
	if t.probe {
		d.probing = false
	}
	switch a {
	case answerGot:
		closed = d.open()
		d.failures, d.last, d.trips = 0, "", 0
	case answerMissing:
		d.failures, d.last, d.missed = d.failures+1, why, ds.now()
		switch {
		case t.probe && d.open():
			d.trips++
			d.until = ds.now().Add(cooldown(d.trips))
		case !d.open() && d.failures >= breakerThreshold && t.key != upstreamDestination:
			d.trips = 1
			d.until = ds.now().Add(cooldown(d.trips))
			opened = d.until
		}
	}
	if d.inFlight == 0 && d.failures == 0 {
		delete(ds.m, t.key) // nothing to remember (missed matters only while sends are in flight)
	}
	ds.mu.Unlock()
	switch {
	case closed:
		ds.log.Info("a receiver answers again; requests to it are sent again", "destination", t.key)
	case !opened.IsZero():
		ds.log.Warn("a receiver does not answer; requests to it fail at once until it answers a probe",
			"destination", t.key, "failures", breakerThreshold, "error", why, "probe_at", opened.UTC())
	}
}

// cooldown is how long a breaker that opened trips times in a row stays
// open.
func cooldown(trips int) time.Duration {
	return min(breakerCooldown<<min(trips-1, 10), breakerMaxCooldown)
}

// room makes room for one more destination when maxDestinations are
// remembered: it forgets those with nothing in flight whose breaker is
// closed or may probe, then, if that left more than nine tenths of
// maxDestinations, others with nothing in flight (at most CallbackWorkers
// have sends in flight). Called with mu held.
func (ds *destinations) room() {
	if len(ds.m) < maxDestinations {
		return
	}
	now := ds.now()
	for k, d := range ds.m {
		if d.inFlight == 0 && !now.Before(d.until) {
			delete(ds.m, k)
		}
	}
	for k, d := range ds.m {
		if len(ds.m) <= maxDestinations*9/10 {
			return
		}
		if d.inFlight == 0 {
			delete(ds.m, k)
		}
	}
}

// busySnooze is the snooze, at now, of an attempt whose destination is at
// its cap until retry (admission.retry), at least busySnoozeMin
// (busySnoozeOverdue once retry passed), plus up to a quarter more, so
// that the attempts snoozed do not all come back at once.
func busySnooze(now, retry time.Time) time.Duration {
	d := retry.Sub(now)
	if d < 0 {
		d = busySnoozeOverdue
	}
	d = max(d, busySnoozeMin)
	return d + rand.N(d/4+1)
}

// sendGuarded sends one signed POST (post) through the guards of its
// destination. It returns how the send ended (a failure without a request
// when the destination's breaker is open), or, when the destination is
// suspect and at its cap, the snooze for the worker to return.
func (q *Queue) sendGuarded(ctx context.Context, c *http.Client, target, msgID, secret string, body []byte) (sent, error) {
	adm := q.dests.acquire(destinationOf(target), q.cfg.CallbackTimeout)
	switch adm.verdict {
	case sendLater:
		return sent{}, river.JobSnooze(busySnooze(time.Now(), adm.retry))
	case sendNot:
		msg := adm.reason()
		return sent{outcome: sendFailed, detail: msg, err: errors.New(msg)}, nil
	}
	var r sent // a panic in post counts neither way
	defer func() { q.dests.release(adm.ticket, answerOf(ctx, r), r.detail) }()
	r = post(ctx, c, target, msgID, secret, body)
	return r, nil
}

// answerOf is what the breaker counts of a send that ended as r, with the
// worker's context ctx.
func answerOf(ctx context.Context, r sent) answer {
	switch {
	case r.code != 0:
		return answerGot
	case r.outcome == sendFailed && ctx.Err() == nil:
		// The client's timeout (Config.CallbackTimeout) ends a hung send well
		// before the job's own limit: a job context that ended (a
		// shutdown, or a limit spent on a stalled database before the
		// send) says nothing of the receiver.
		return answerMissing
	}
	return answerNone
}

// stoppedHere reports whether ctx, an upstream request's job's, was
// cancelled by this process (its shutdown): a request it cut short tells
// nothing of its upstream. The job's own deadline passing does: the
// upstream did not answer within it (the job's limit, RescueAfter, may
// pass before the client's timeout).
func stoppedHere(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded)
}
