// Package dispatch is the webhook request path: ANY /webhooks/:token[/*]
// (and /webhooks?token=) finds the webhook, checks it (enabled, expiry,
// limits, verify blocks), picks the handler from its event KATA, and either
// runs the automation and answers with what it returned, or queues a
// durable job and answers 202 {"JobIds":[...]}. It also serves the
// caller's job status resource (GET /webhook-jobs/:id) and records every
// run.
//
// Handlers return errors (*api.Problem for an answer other than the
// automation's); the app's one error handler writes them.
package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/metrics"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/host/store"
)

// Config is what the request path needs.
type Config struct {
	Catalog  *catalog.Catalog
	Runner   runner.Runner
	Jobs     *jobs.Queue
	Redactor *redact.Redactor
	Metrics  *metrics.Metrics
	Logger   *slog.Logger
	// RequestTimeout caps one synchronous run.
	RequestTimeout time.Duration
	// DefaultLimits are the server-wide per-webhook limits, merged field
	// by field under each webhook's own.
	DefaultLimits automations.EventLimits
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// RunLogLimit caps the bytes of run log kept per run record.
	RunLogLimit int
	// Recorder configures the run history: retention and the size kept of
	// each record.
	Recorder RecorderConfig
	// CloseWait bounds how long Close waits, once it cancelled the runs
	// still in flight, for their requests to answer before the run history
	// closes (a run that ignores its cancellation is not waited for
	// longer; its record is then dropped and counted). Default
	// DefaultCloseWait.
	CloseWait time.Duration
}

// DefaultCloseWait is Config.CloseWait's default.
const DefaultCloseWait = 5 * time.Second

// Dispatcher serves webhook requests.
type Dispatcher struct {
	cfg      Config
	cat      *catalog.Catalog
	log      *slog.Logger
	red      *redact.Redactor
	limits   *limiters
	recorder *recorder
	// deadlines caps synchronous runs at RequestTimeout.
	deadlines *deadlines
	// exchanges keeps the exchanges of answered requests (exchange).
	exchanges sync.Pool

	// runs is the parent of every synchronous run's context; Close
	// cancels it (cancelRuns).
	runs       context.Context
	cancelRuns context.CancelFunc
	// stopping is closed by Stop (or Close): a request waiting for its
	// job (job: wait_ms) answers 202 at once.
	stopping chan struct{}
	stopOnce sync.Once
	// inflight counts the requests being processed (process), and idle
	// gets a token when it falls to zero while closing is set.
	inflight atomic.Int64
	closing  atomic.Bool
	idle     chan struct{}
	closed   sync.Once
}

// New returns a Dispatcher; Close flushes its run records.
func New(cfg Config) *Dispatcher {
	if cfg.CloseWait <= 0 {
		cfg.CloseWait = DefaultCloseWait
	}
	runs, cancel := context.WithCancel(context.Background())
	return &Dispatcher{cfg: cfg, cat: cfg.Catalog, log: cfg.Logger, red: cfg.Redactor,
		limits: newLimiters(), deadlines: newDeadlines(runs, cfg.RequestTimeout), recorder: newRecorder(cfg.Catalog.Store(), cfg.Logger, cfg.Recorder),
		runs: runs, cancelRuns: cancel, stopping: make(chan struct{}), idle: make(chan struct{}, 1)}
}

// webhooksPath is the path of the webhook routes (routeToken reads it
// before they run).
const webhooksPath = "/webhooks"

// Mount adds the webhook routes and the job status resource to app.
func (d *Dispatcher) Mount(app fiber.Router) {
	app.All(webhooksPath, d.handle)
	app.All(webhooksPath+"/:token", d.handle)
	app.All(webhooksPath+"/:token/*", d.handle)
	app.Get("/webhook-jobs/:id", d.jobStatus)
}

// DroppedRuns counts run records not written because the queue was full.
func (d *Dispatcher) DroppedRuns() int64 { return d.recorder.dropped.Load() }

// SkippedRuns counts run records not made because the webhook's history:
// setting leaves them out.
func (d *Dispatcher) SkippedRuns() int64 { return d.recorder.skipped.Load() }

// RunRecorderStats returns the run recorder's counters and write state.
func (d *Dispatcher) RunRecorderStats() RecorderStats { return d.recorder.stats() }

// Healthy is nil while run records (and the store's writes) are written,
// else a *store.WritesFailingError.
func (d *Dispatcher) Healthy() error { return d.recorder.healthy() }

// PruneRuns runs one pruning pass of the run history now.
func (d *Dispatcher) PruneRuns(ctx context.Context) (store.PruneResult, error) {
	return d.recorder.prune(ctx)
}

// FlushRuns waits until every run recorded so far is written (tests).
func (d *Dispatcher) FlushRuns() { d.recorder.flush() }

// FlushRunsContext waits until every run recorded so far is written, or
// until ctx ends, and reports whether they were. Reads of the run history
// call it first (ReadYourRuns), so that a request's record is there as soon
// as its answer is: the recorder otherwise writes in batches, up to 100 ms
// later.
func (d *Dispatcher) FlushRunsContext(ctx context.Context) bool {
	return d.recorder.flushContext(ctx)
}

// runFlushWait bounds how long a read of the run history waits for the
// recorder: one that cannot write (a full disk, its retries) does not hold
// reads up longer.
const runFlushWait = time.Second

// ReadYourRuns lets a read of the run history that follows see every run
// answered before it: it waits (at most runFlushWait) for the recorder to
// write what it holds.
func (d *Dispatcher) ReadYourRuns(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, runFlushWait)
	defer cancel()
	d.recorder.flushContext(ctx)
}

// Run returns the run record id: when the store has none yet, after the
// recorder wrote what it holds (the run may have been answered a moment
// ago).
func (d *Dispatcher) Run(ctx context.Context, id string) (*store.Run, error) {
	run, err := d.cat.Store().GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		d.ReadYourRuns(ctx)
		run, err = d.cat.Store().GetRun(ctx, id)
	}
	return run, err
}

// Stop begins the shutdown: requests waiting for their jobs (job:
// wait_ms) answer 202 with the job ids at once (the jobs are durable: they
// run, or run after a restart). Synchronous runs go on (the HTTP drain
// waits for them). It is safe to call more than once.
func (d *Dispatcher) Stop() { d.stopOnce.Do(func() { close(d.stopping) }) }

// InFlight is the number of webhook requests being processed.
func (d *Dispatcher) InFlight() int64 { return d.inflight.Load() }

// enter counts a request in flight until leave.
func (d *Dispatcher) enter() { d.inflight.Add(1) }

func (d *Dispatcher) leave() {
	// Close sets closing before it reads inflight: either it reads zero,
	// or the request that brings it to zero sees closing and wakes it.
	if d.inflight.Add(-1) == 0 && d.closing.Load() {
		select {
		case d.idle <- struct{}{}:
		default:
		}
	}
}

// Close stops the dispatcher (Stop), cancels the synchronous runs still in
// flight (they answer 503, or whatever their run answers when it ends),
// waits for the requests being processed to record their runs (at most
// Config.CloseWait), and writes the pending run records. A request that
// records its run after Close (its run ignored the cancellation) has its
// record dropped and counted, never a crash.
func (d *Dispatcher) Close() error {
	d.closed.Do(func() {
		d.Stop()
		d.closing.Store(true)
		d.cancelRuns()
		if n := d.inflight.Load(); n > 0 {
			d.log.Info("waiting for webhook requests in flight to answer", "requests", n, "up_to", d.cfg.CloseWait)
			t := time.NewTimer(d.cfg.CloseWait)
			defer t.Stop()
		wait:
			for d.inflight.Load() > 0 {
				select {
				case <-d.idle:
				case <-t.C:
					d.log.Warn("webhook requests still in flight after the wait; their run records will be dropped",
						"requests", d.inflight.Load(), "waited", d.cfg.CloseWait)
					break wait
				}
			}
		}
	})
	return d.recorder.Close()
}
