package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// Upstream subscriptions (host/upstream) are sent by River jobs of their
// own kind on the callbacks' queue, so that a subscription request (or
// its DELETE) survives a restart and is retried with backoff. The queue
// only carries the row's ID; Config.Upstream does the work.

// kindUpstream is the River kind of an upstream subscription's request.
const kindUpstream = "hookhost.upstream"

// UpstreamMaxAttempts bounds the attempts of one upstream subscription
// request (subscribe or unsubscribe).
const UpstreamMaxAttempts = 8

// UpstreamFunc does one attempt of the upstream subscription request of
// row id; attempt counts from 1 and last says it is the last one. An error
// retries it (unless last).
type UpstreamFunc func(ctx context.Context, id string, attempt int, last bool) error

// upstreamArgs are an upstream request's River args.
type upstreamArgs struct {
	ID string `json:"id"`
}

// Kind is River's job kind.
func (upstreamArgs) Kind() string { return kindUpstream }

// upstreamWorker runs upstream subscription requests.
type upstreamWorker struct {
	river.WorkerDefaults[upstreamArgs]
	q *Queue
}

// Timeout bounds one attempt: at most RescueAfter, since these jobs have
// no heartbeat and River's rescuer would run a longer one again while it
// still runs.
func (w *upstreamWorker) Timeout(*river.Job[upstreamArgs]) time.Duration {
	return min(30*time.Second, w.q.cfg.RescueAfter)
}

// NextRetry backs off from the job retry backoff.
func (w *upstreamWorker) NextRetry(job *river.Job[upstreamArgs]) time.Time {
	return time.Now().Add(backoff(w.q.cfg.RetryBackoff, job.Attempt))
}

// Work does one attempt through Config.Upstream.
func (w *upstreamWorker) Work(ctx context.Context, job *river.Job[upstreamArgs]) error {
	if w.q.cfg.Upstream == nil {
		return river.JobCancel(errors.New("upstream subscriptions are not running"))
	}
	// Upstream requests go to hosts this package does not see: they share
	// one destination, capped once an attempt failed, without a breaker
	// (destinations.go).
	adm := w.q.dests.acquire(upstreamDestination, w.Timeout(job))
	if adm.verdict == sendLater {
		return river.JobSnooze(busySnooze(time.Now(), adm.retry))
	}
	got, why := answerNone, ""
	defer func() { w.q.dests.release(adm.ticket, got, why) }()
	last := job.Attempt >= job.MaxAttempts
	err := w.q.cfg.Upstream(ctx, job.Args.ID, job.Attempt, last)
	switch {
	case err == nil:
		got = answerGot
	case !stoppedHere(ctx):
		// A deadline counts as no answer: the job's own (RescueAfter, 20
		// s by default) may pass before the client's timeout does.
		got, why = answerMissing, err.Error()
	}
	if err != nil {
		if last {
			return river.JobCancel(err)
		}
		return err
	}
	return nil
}

// EnqueueUpstream queues the upstream subscription request of row id
// (Config.Upstream sends it).
func (q *Queue) EnqueueUpstream(ctx context.Context, id string) error {
	if _, err := q.client.Insert(ctx, upstreamArgs{ID: id},
		&river.InsertOpts{Queue: queueCallbacks, MaxAttempts: UpstreamMaxAttempts}); err != nil {
		return fmt.Errorf("jobs: queue the upstream request: %w", err)
	}
	return nil
}
