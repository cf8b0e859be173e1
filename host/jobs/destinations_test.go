package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func quietLogger() *slog.Logger              { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sendTimeout is the timeout of the sends in the tests of destinations.
const sendTimeout = 10 * time.Second

func testDestinations(capacity int, c *fakeClock) *destinations {
	ds := newDestinations(capacity, quietLogger())
	ds.now = c.now
	return ds
}

// TestDestinations_CapAndBreaker walks the guards of destinations through
// sequences of sends, with a clock that moves only when a step says so:
// the cap per destination, applied only while the destination is suspect
// (a send got no answer, and none got one since), the breaker opening
// after breakerThreshold sends in a row without an answer, its probe, and
// what counts.
func TestDestinations_CapAndBreaker(t *testing.T) {
	t.Parallel()
	const a, b = "http://a.example:80", "https://b.example:443"
	// step is one event: a send acquired (want: its verdict; hold: keep
	// its ticket under that name), a held send released with an answer,
	// or the clock moved.
	type step struct {
		acquire string
		want    verdict
		hold    string
		release string
		answer  answer
		advance time.Duration
		// until, when set, is the open breaker's next probe, as an offset
		// from the start of the case (sendNot).
		until time.Duration
		// retry, when set, is when a slot of the destination at its cap
		// is expected to free, as an offset from the start (sendLater).
		retry time.Duration
	}
	// fail is a send to key that got no answer; ok one that got an answer.
	fail := func(key string) []step {
		return []step{{acquire: key, want: sendNow, hold: "f"}, {release: "f", answer: answerMissing}}
	}
	ok := func(key string) []step {
		return []step{{acquire: key, want: sendNow, hold: "o"}, {release: "o", answer: answerGot}}
	}
	failures := func(key string, n int) []step {
		var s []step
		for range n {
			s = append(s, fail(key)...)
		}
		return s
	}
	join := func(parts ...[]step) []step {
		var s []step
		for _, p := range parts {
			s = append(s, p...)
		}
		return s
	}
	tests := []struct {
		name     string
		capacity int
		steps    []step
		// remembered is how many destinations are remembered at the end.
		remembered int
	}{
		{name: "HealthyIsNotCapped", capacity: 1, steps: []step{
			{acquire: a, want: sendNow, hold: "1"},
			{acquire: a, want: sendNow, hold: "2"},
			{acquire: a, want: sendNow, hold: "3"},
			{release: "1", answer: answerGot}, {release: "2", answer: answerGot}, {release: "3", answer: answerGot},
		}},
		{name: "CappedOnceSuspect", capacity: 2, steps: []step{
			{acquire: a, want: sendNow, hold: "1"},
			{advance: time.Second},
			{acquire: a, want: sendNow, hold: "2"},
			{advance: time.Second},
			{acquire: a, want: sendNow, hold: "3"},
			{release: "2", answer: answerMissing},                             // suspect now, with 2 in flight
			{acquire: a, want: sendLater, retry: sendTimeout},                 // "1" is due first
			{acquire: b, want: sendNow, hold: "b"},                            // another destination is not held up
			{release: "1", answer: answerNone},                                // counts neither way: still suspect
			{acquire: a, want: sendNow, hold: "4"},                            // a slot freed
			{acquire: a, want: sendLater, retry: 2*time.Second + sendTimeout}, // "3" and "4"
			{release: "3", answer: answerMissing},
			{release: "4", answer: answerGot}, // an answer: healthy again
			{acquire: a, want: sendNow, hold: "5"},
			{acquire: a, want: sendNow, hold: "6"},
			{acquire: a, want: sendNow, hold: "7"},
			{release: "5", answer: answerGot}, {release: "6", answer: answerGot}, {release: "7", answer: answerGot},
			{release: "b", answer: answerGot},
		}},
		{name: "SuspectUntilAnAnswer", capacity: 1, steps: join(
			fail(a),
			[]step{
				{acquire: a, want: sendNow, hold: "1"},
				{acquire: a, want: sendLater, retry: sendTimeout},
				{advance: sendTimeout + time.Second},
				{acquire: a, want: sendLater, retry: sendTimeout}, // overdue: the soonest snooze
				{release: "1", answer: answerGot},
				{acquire: a, want: sendNow, hold: "2"},
				{acquire: a, want: sendNow, hold: "3"},
				{release: "2", answer: answerGot}, {release: "3", answer: answerGot},
			},
		)},
		{name: "UngatedURL", capacity: 1, steps: []step{
			{acquire: "", want: sendNow, hold: "1"},
			{acquire: "", want: sendNow, hold: "2"},
			{release: "1", answer: answerMissing}, {release: "2", answer: answerGot},
		}},
		{name: "OpensAfterThreshold", capacity: 1, remembered: 1, steps: join(
			failures(a, breakerThreshold-1),
			[]step{{acquire: a, want: sendNow, hold: "last"}},
			[]step{{release: "last", answer: answerMissing}},
			[]step{{acquire: a, want: sendNot, until: breakerCooldown}},
			[]step{{advance: breakerCooldown - time.Second}, {acquire: a, want: sendNot, until: breakerCooldown}},
			ok(b), // another destination is not touched
		)},
		{name: "UpstreamHasNoBreaker", capacity: 1, remembered: 1, steps: join(
			failures(upstreamDestination, breakerThreshold+1),
			[]step{
				{acquire: upstreamDestination, want: sendNow, hold: "1"},
				{acquire: upstreamDestination, want: sendLater, retry: sendTimeout}, // but the cap
				{release: "1", answer: answerMissing},
			},
		)},
		{name: "AnAnswerResetsTheCount", capacity: 1, steps: join(
			failures(a, breakerThreshold-1),
			ok(a), // a 500 is an answer too
			failures(a, breakerThreshold-1),
			ok(a),
		)},
		{name: "NoAnswerCountsNeitherWay", capacity: 1, remembered: 1, steps: join(
			failures(a, breakerThreshold-1),
			[]step{{acquire: a, want: sendNow, hold: "n"}, {release: "n", answer: answerNone}}, // guard refusal, shutdown
			[]step{{acquire: a, want: sendNow, hold: "n"}, {release: "n", answer: answerNone}},
			fail(a),
			[]step{{acquire: a, want: sendNot, until: breakerCooldown}},
		)},
		{name: "ProbeThatFailsReopensForLonger", capacity: 2, remembered: 1, steps: join(
			failures(a, breakerThreshold),
			[]step{
				{advance: breakerCooldown},
				{acquire: a, want: sendNow, hold: "probe"},
				{acquire: a, want: sendNot, until: breakerCooldown}, // one probe at a time
				{advance: time.Second},
				{release: "probe", answer: answerMissing},
				{acquire: a, want: sendNot, until: breakerCooldown + time.Second + 2*breakerCooldown},
				{advance: 2 * breakerCooldown},
				{acquire: a, want: sendNow, hold: "probe"},
				{release: "probe", answer: answerMissing},
				{acquire: a, want: sendNot, until: 3*breakerCooldown + time.Second + 4*breakerCooldown},
			},
		)},
		{name: "ProbeThatAnswersCloses", capacity: 2, steps: join(
			failures(a, breakerThreshold),
			[]step{
				{advance: breakerCooldown},
				{acquire: a, want: sendNow, hold: "probe"},
				{release: "probe", answer: answerGot},
				{acquire: a, want: sendNow, hold: "1"},
				{acquire: a, want: sendNow, hold: "2"},
				{acquire: a, want: sendNow, hold: "3"}, // healthy again: not capped
				{release: "1", answer: answerGot}, {release: "2", answer: answerGot}, {release: "3", answer: answerGot},
			},
		)},
		{name: "ProbeCutShortProbesAgain", capacity: 1, remembered: 1, steps: join(
			failures(a, breakerThreshold),
			[]step{
				{advance: breakerCooldown},
				{acquire: a, want: sendNow, hold: "probe"},
				{release: "probe", answer: answerNone}, // shutdown
				{acquire: a, want: sendNow, hold: "probe"},
				{release: "probe", answer: answerMissing},
			},
		)},
		{name: "LateFailuresDoNotExtend", capacity: 3, remembered: 1, steps: join(
			[]step{{acquire: a, want: sendNow, hold: "slow1"}, {acquire: a, want: sendNow, hold: "slow2"}},
			failures(a, breakerThreshold),
			[]step{
				{advance: time.Second},
				{release: "slow1", answer: answerMissing}, // sent before it opened
				{acquire: a, want: sendNot, until: breakerCooldown},
				{release: "slow2", answer: answerGot}, // a late answer closes it
				{acquire: a, want: sendNow, hold: "x"},
				{release: "x", answer: answerMissing},
			},
		)},
		{name: "CooldownIsCapped", capacity: 1, remembered: 1, steps: func() []step {
			s := failures(a, breakerThreshold)
			elapsed := time.Duration(0)
			for trips := 1; trips < 8; trips++ {
				d := cooldown(trips)
				elapsed += d
				s = append(s, step{advance: d}, step{acquire: a, want: sendNow, hold: "p"}, step{release: "p", answer: answerMissing})
			}
			return append(s, step{acquire: a, want: sendNot, until: elapsed + breakerMaxCooldown})
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			start := clock.now()
			ds := testDestinations(tt.capacity, clock)
			held := map[string]ticket{}
			for i, s := range tt.steps {
				switch {
				case s.advance != 0:
					clock.advance(s.advance)
				case s.release != "":
					tk, ok := held[s.release]
					require.True(t, ok, "step %d releases %q, which is not held", i, s.release)
					delete(held, s.release)
					ds.release(tk, s.answer, "no answer")
				default:
					adm := ds.acquire(s.acquire, sendTimeout)
					require.Equal(t, s.want, adm.verdict, "step %d: acquire %q", i, s.acquire)
					if s.retry != 0 {
						require.Equal(t, start.Add(s.retry), adm.retry, "step %d: the next slot", i)
					}
					if s.until != 0 {
						require.Equal(t, start.Add(s.until), adm.until, "step %d: the next probe", i)
						require.GreaterOrEqual(t, adm.failures, breakerThreshold)
					}
					if s.hold != "" {
						held[s.hold] = adm.ticket
					}
				}
			}
			require.Empty(t, held, "every send held was released")
			require.Len(t, ds.m, tt.remembered, "destinations with nothing in flight and no failures are forgotten")
		})
	}
}

func TestDestinations_Reason(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	ds := testDestinations(1, clock)
	for range breakerThreshold {
		adm := ds.acquire("http://127.0.0.1:9", sendTimeout)
		ds.release(adm.ticket, answerMissing, "i/o timeout")
	}
	adm := ds.acquire("http://127.0.0.1:9", sendTimeout)
	require.Equal(t, sendNot, adm.verdict)
	require.Equal(t, "not sent: 5 requests in a row to http://127.0.0.1:9 got no answer (the last: i/o timeout); "+
		"the next is sent from 2026-01-02T03:04:15Z", adm.reason())
}

// TestDestinations_Bounded checks that the destinations remembered stay
// under maxDestinations, forgetting those with nothing in flight first
// and never one with a send in flight.
func TestDestinations_Bounded(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	ds := testDestinations(1, clock)
	suspect := ds.acquire("http://busy:80", sendTimeout)
	ds.release(suspect.ticket, answerMissing, "i/o timeout")
	busy := ds.acquire("http://busy:80", sendTimeout)
	require.Equal(t, sendNow, busy.verdict)
	for i := range maxDestinations + 100 {
		key := fmt.Sprintf("http://h%d:80", i)
		for range breakerThreshold { // remembered: its breaker is open
			adm := ds.acquire(key, sendTimeout)
			require.Equal(t, sendNow, adm.verdict, "a new destination is never refused for room")
			ds.release(adm.ticket, answerMissing, "connection refused")
		}
		require.LessOrEqual(t, len(ds.m), maxDestinations)
	}
	require.Equal(t, 1, ds.m["http://busy:80"].inFlight, "a destination with a send in flight is kept")
	require.Equal(t, sendLater, ds.acquire("http://busy:80", sendTimeout).verdict, "still suspect, at its cap")
}

func TestDestinationOf(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"http://Example.COM/hooks?token=secret", "http://example.com:80"},
		{"https://user:pass@example.com/x", "https://example.com:443"},
		{"HTTPS://example.com:8443/x", "https://example.com:8443"},
		{"http://127.0.0.1:9000/a", "http://127.0.0.1:9000"},
		{"http://[::1]:9000/a", "http://[::1]:9000"},
		{"http://[::1]/a", "http://[::1]:80"},
		{"/relative", ""},
		{"http://%zz", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, destinationOf(tt.url), tt.url)
	}
}

func TestAnswerOf(t *testing.T) {
	t.Parallel()
	live := context.Background()
	done, cancel := context.WithCancel(live)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    sent
		want answer
	}{
		{"Delivered", live, sent{outcome: sendDelivered, code: 204}, answerGot},
		{"ServerError", live, sent{outcome: sendFailed, code: 500}, answerGot},
		{"Gone", live, sent{outcome: sendStopped, code: 410}, answerGot},
		{"NoAnswer", live, sent{outcome: sendFailed}, answerMissing},
		{"Refused", live, sent{outcome: sendRefused}, answerNone},
		{"CutShort", done, sent{outcome: sendFailed}, answerNone},
		{"Panicked", live, sent{}, answerNone},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, answerOf(tt.ctx, tt.r), tt.name)
	}
}

func TestBusySnooze(t *testing.T) {
	t.Parallel()
	now := newFakeClock().now()
	for _, tt := range []struct {
		name  string
		retry time.Time
		least time.Duration
	}{
		{"SlotFreesLater", now.Add(7 * time.Second), 7 * time.Second},
		{"SlotFreesSoon", now.Add(time.Millisecond), busySnoozeMin},
		{"Due", now, busySnoozeMin},
		{"Overdue", now.Add(-time.Second), busySnoozeOverdue},
	} {
		for range 20 {
			d := busySnooze(now, tt.retry)
			require.GreaterOrEqual(t, d, tt.least, tt.name)
			require.LessOrEqual(t, d, tt.least*5/4, tt.name)
		}
	}
}

func TestPerDestination(t *testing.T) {
	t.Parallel()
	for workers, want := range map[int]int{1: 1, 4: 1, 7: 1, 8: 2, 16: 4, 1000: 250} {
		require.Equal(t, want, perDestination(workers), "workers %d", workers)
	}
}

// TestDestinations_ReceiverWithoutAnswersFailsFast: a receiver whose
// connections close without an answer gets breakerThreshold requests;
// then its destination's breaker opens, and the other attempts of its
// deliveries and of a job's completion callback fail at once, each
// counted and logged, until they end failed after their 8 attempts. The
// guards' clock does not move, so no probe goes: the receiver saw
// exactly breakerThreshold connections. Without the breaker it saw one
// per attempt (32), each holding a worker until it failed.
func TestDestinations_ReceiverWithoutAnswersFailsFast(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	target := "http://" + ln.Addr().String()

	st := openSQLiteStore(t)
	settings := DefaultSettings()
	settings.Workers, settings.CallbackWorkers, settings.RetryBackoff, settings.FetchPollInterval = 1, 1, time.Millisecond, 20*time.Millisecond
	q, err := New(ctx, Config{DB: st.DB(), Dialect: st.Dialect(), Runner: nopRunner{}, Settings: settings,
		AllowPrivateRequests: true, PruneInterval: -1, Logger: quietLogger()})
	require.NoError(t, err)
	clock := newFakeClock()
	q.dests.now = clock.now
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() { _ = q.Close() })

	sub := &Subscription{URL: target + "/events?token=secret", Events: []string{EventWebhookRequestRejected}}
	require.NoError(t, q.Subscribe(ctx, sub))
	const events = 3
	for range events {
		require.NoError(t, q.Publish(Publication{Type: EventWebhookRequestRejected, WebhookID: "w"}))
	}
	res, err := q.Enqueue(ctx, &Request{WebhookID: "w", Handler: "automation/main", Automation: "a",
		Inputs: []byte(`{}`), Options: Options{CallbackURL: target + "/done"}})
	require.NoError(t, err)

	// The last failure is EOF or a reset, as the connection's close meets
	// the request.
	notSent := regexp.MustCompile(`^not sent: 5 requests in a row to ` + regexp.QuoteMeta(target) +
		` got no answer \(the last: [^()]+\); the next is sent from 2026-01-02T03:04:15Z$`)
	var log []*Delivery
	var notes []LogEntry
	for end := time.Now().Add(time.Minute); ; {
		require.True(t, time.Now().Before(end), "the deliveries and the callback did not end: %+v, %+v", log, notes)
		log, err = q.Deliveries(ctx, sub.ID, 0)
		require.NoError(t, err)
		failed := 0
		for _, d := range log {
			if d.State == DeliveryFailed {
				failed++
			}
		}
		j, err := q.Get(ctx, res.JobID)
		require.NoError(t, err)
		notes = notes[:0]
		for _, e := range j.Log {
			if e.Node == "callback" {
				notes = append(notes, e)
			}
		}
		if failed == events && len(notes) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, d := range log {
		require.Equal(t, callbackMaxAttempts, d.Attempts, "every attempt counted")
		require.Regexp(t, notSent, d.Error)
	}
	require.Len(t, notes, 1)
	require.Equal(t, levelCallbackFailed, notes[0].Level)
	msg, ok := strings.CutPrefix(notes[0].Message, "callback failed after 8 attempts: ")
	require.True(t, ok, notes[0].Message)
	require.Regexp(t, notSent, msg)
	require.NotContains(t, notes[0].Message+log[0].Error, "secret", "the URL's path and query stay out of the logs")
	require.Equal(t, int32(breakerThreshold), accepted.Load(), "the receiver saw the requests that opened the breaker, and no more")
}

// TestDestinations_LogsOpenAndClose checks the lines an operator sees: one
// warning when a destination's breaker opens (not at each failed probe),
// one line when it answers again.
func TestDestinations_LogsOpenAndClose(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	clock := newFakeClock()
	ds := newDestinations(1, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})))
	ds.now = clock.now
	send := func(a answer) {
		adm := ds.acquire("http://a:80", sendTimeout)
		require.Equal(t, sendNow, adm.verdict)
		ds.release(adm.ticket, a, "i/o timeout")
	}
	for range breakerThreshold {
		send(answerMissing)
	}
	clock.advance(breakerCooldown)
	send(answerMissing) // a failed probe: no new line
	clock.advance(2 * breakerCooldown)
	send(answerGot)
	require.Equal(t, `level=WARN msg="a receiver does not answer; requests to it fail at once until it answers a probe" `+
		`destination=http://a:80 failures=5 error="i/o timeout" probe_at=2026-01-02T03:04:15.000Z`+"\n"+
		`level=INFO msg="a receiver answers again; requests to it are sent again" destination=http://a:80`+"\n", buf.String())
}

// TestDestinations_AnswerDoesNotLiftTheCapWhileOthersHang: a host with a
// path that hangs and one that answers (one destination: scheme, host and
// port) stays capped after an answer while sends that started before the
// latest no-answer are still in flight; once they ended, it is not (review
// revcb2).
func TestDestinations_AnswerDoesNotLiftTheCapWhileOthersHang(t *testing.T) {
	c := newFakeClock()
	ds := testDestinations(1, c)
	const a = "http://a.example:80"
	var hung []ticket
	for range 4 { // the first wave, to a healthy destination
		adm := ds.acquire(a, sendTimeout)
		require.Equal(t, sendNow, adm.verdict)
		hung = append(hung, adm.ticket)
	}
	fast := ds.acquire(a, sendTimeout)
	require.Equal(t, sendNow, fast.verdict)
	ds.release(hung[0], answerMissing, "timeout") // suspect
	require.Equal(t, sendLater, ds.acquire(a, sendTimeout).verdict)
	ds.release(fast.ticket, answerGot, "") // the other path answered
	for range 16 {
		require.Equal(t, sendLater, ds.acquire(a, sendTimeout).verdict, "3 sends that may hang are still in flight")
	}
	for _, tk := range hung[1:] {
		ds.release(tk, answerGot, "")
	}
	require.Equal(t, sendNow, ds.acquire(a, sendTimeout).verdict, "nothing in flight from before the no-answer")
}

// TestUpstream_DeadlineIsNoAnswer: an upstream request that hangs until
// the attempt's own deadline (RescueAfter, which may pass before the
// client's timeout) makes the upstream destination suspect; a shutdown's
// cancellation does not (review revcb2).
func TestUpstream_DeadlineIsNoAnswer(t *testing.T) {
	for _, tt := range []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		suspect bool
	}{
		{"Deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, true},
		{"Shutdown", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := &Queue{dests: newDestinations(1, quietLogger())}
			q.cfg.RescueAfter = 20 * time.Second
			q.cfg.Upstream = func(ctx context.Context, id string, attempt int, last bool) error {
				<-ctx.Done() // the upstream never answers
				return ctx.Err()
			}
			ctx, cancel := tt.ctx()
			defer cancel()
			job := &river.Job[upstreamArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5}, Args: upstreamArgs{ID: "x"}}
			require.Error(t, (&upstreamWorker{q: q}).Work(ctx, job))
			d := q.dests.m[upstreamDestination]
			require.Equal(t, tt.suspect, d != nil && d.suspect())
		})
	}
}
