package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/hookhost/hookhost/host/store"
)

// runWorker works run jobs: one attempt of the automation per River
// attempt.
type runWorker struct {
	river.WorkerDefaults[runArgs]
	q *Queue
}

// Timeout is the job's own time limit (timeout_ms, capped at MaxTimeout)
// when River starts an attempt.
//
// River's rescuer asks too, for a job still "running" whose attempted_at is
// older than RescueAfter, and leaves it alone while its timeout has not
// passed since attempted_at. Live attempts never look like that (their
// process moves attempted_at every RescueAfter/4, see heartbeat); one that
// does belongs to a process that died. The rescuer then gets RescueAfter, so
// the job runs again RescueAfter after its process's last heartbeat rather
// than after its time limit (up to 3 hours).
func (w *runWorker) Timeout(job *river.Job[runArgs]) time.Duration {
	if job.AttemptedAt != nil && time.Since(*job.AttemptedAt) > w.q.cfg.RescueAfter/2 {
		return w.q.cfg.RescueAfter
	}
	return job.Args.timeout()
}

// NextRetry is exponential backoff with jitter from Config.RetryBackoff.
func (w *runWorker) NextRetry(job *river.Job[runArgs]) time.Time {
	return time.Now().Add(backoff(w.q.cfg.RetryBackoff, job.Attempt))
}

// Work runs one attempt. See the package documentation for the states.
func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	q, a := w.q, job.Args
	// The inputs the fetch read (inputs.go) or took out of the args River
	// decoded (fetched.go), taken first: a snoozed attempt's next fetch
	// reads them again.
	if in, ok, err := q.fetched.take(job.JobRow); ok {
		if err != nil {
			// As River's decoding of the whole args would have failed.
			msg := "the job's stored arguments could not be read: " + err.Error()
			if res := q.endUnreadable(context.WithoutCancel(ctx), job.JobRow, msg); res == nil {
				return err // the record could not be written: River's retry
			}
			return river.JobCancel(errors.New(msg))
		}
		a.Inputs = in
	} else if len(a.Inputs) == 0 {
		// The fetch's entry may be gone (a row fetched again while this
		// one waited past RescueAfter, a River that copies rows, a fetch
		// of River's own that read none): a run job's inputs are never
		// empty, so they are read as stored (hookhost_job_inputs, or the
		// args of a job queued before it) rather than run without.
		in, err := q.storedInputs(ctx, job.ID)
		if errors.Is(err, ErrInputsGone) {
			// Every attempt would find them gone: the job ends, not run.
			msg := "the job's inputs are no longer stored"
			if res := q.endUnreadable(context.WithoutCancel(ctx), job.JobRow, msg); res == nil {
				return err // the record could not be written: River's retry
			}
			return river.JobCancel(errors.New(msg))
		}
		if err != nil {
			return err // River's retry
		}
		a.Inputs = in
	}
	if a.Concurrency > 0 {
		ok, err := q.acquireSlot(ctx, a.slotKey(), a.Concurrency, job.ID)
		if err != nil {
			return err
		}
		if !ok {
			return river.JobSnooze(snoozeDelay(job.Metadata))
		}
	}
	base := &outcome{jobID: a.JobID, riverID: job.ID, attempt: job.Attempt, slot: a.Concurrency > 0,
		callback: a.CallbackURL, webhook: a.WebhookID}
	live, fetched := q.started.take(job.ID, job.Attempt)
	var err error
	if !fetched {
		live, err = q.markRunning(ctx, a.JobID, job.Attempt, nowUTC())
	}
	if err != nil || !live {
		if a.Concurrency > 0 {
			_ = q.writeAttempt(context.WithoutCancel(ctx), func(ctx context.Context, tx *sqlTx) error {
				return releaseSlot(ctx, tx, q.d, job.ID)
			})
		}
		return err // nil when !live: nothing left to do
	}
	q.observe(EventStarted, a.JobID, StateRunning, job.Attempt)

	runCtx, cancel := context.WithCancelCause(ctx)
	q.running.add(a.JobID, job.ID, cancel)
	// Until its outcome is written, the job stays in running: its heartbeat
	// keeps River's rescuer (and other processes) from taking it.
	defer q.running.remove(a.JobID)
	out, runErr := q.cfg.Runner.RunJob(runCtx, &Attempt{JobID: a.JobID, WebhookID: a.WebhookID, Automation: a.Automation,
		Inputs: json.RawMessage(a.Inputs), Attempt: job.Attempt, MaxAttempts: job.MaxAttempts, CredentialHeaders: a.CredentialHeaders})
	cause := context.Cause(runCtx)
	cancel(nil)

	o, ret := classify(ctx, cause, job, out, runErr)
	o.jobID, o.riverID, o.attempt, o.slot, o.callback, o.webhook = base.jobID, base.riverID, base.attempt, base.slot, base.callback, base.webhook
	// The end of an attempt is written relaxed, but a cancellation's
	// (the only Stopped) durably, as Cancel writes it for a queued job.
	o.relaxed = o.state != StateStopped
	changed, retried, err := q.finishRetrying(context.WithoutCancel(ctx), o)
	if err != nil {
		// The record is unchanged after every retry: River runs the job
		// again (see "Running twice" in the package documentation).
		q.log.Error("record job outcome; the job will run again", "job_id", a.JobID, "error", err)
		return riverError(fmt.Errorf("record job outcome: %w", err))
	}
	q.ended(ctx, o, changed, retried)
	return ret
}

// ended tells the waiters and Config.Observe of the end of an attempt
// that finishRetrying wrote (changed) or, when its first write failed
// (retried), may have written.
func (q *Queue) ended(ctx context.Context, o *outcome, changed, retried bool) {
	switch {
	case changed && o.state.Final():
		f := &Finished{JobID: o.jobID, State: o.state, Error: o.errMsg, TimedOut: o.timedOut}
		if o.out != nil {
			f.Status, f.Headers, f.Body = o.out.Status, o.out.Headers, o.out.Body
		}
		q.waiters.publish(f)
		q.observe(EventFinished, o.jobID, o.state, o.attempt)
	case !changed && retried:
		// A write that failed may have committed all the same (the
		// connection dropped after COMMIT): the record is final already.
		// Tell the waiters what it says.
		if j, err := q.getRecord(context.WithoutCancel(ctx), q.db, o.jobID); err == nil && j.State.Final() {
			q.waiters.publish(&Finished{JobID: j.ID, State: j.State, Status: j.Status, Headers: j.Headers, Body: j.Body, Error: j.Error})
			q.observe(EventFinished, o.jobID, j.State, o.attempt)
		}
	}
}

// finishRetrying is finish, written again with backoff when it fails, up
// to Config.OutcomeRetries times: the automation ran, and running it again
// because a write failed is what this avoids. finish is idempotent (it
// changes only a record that is not final yet), so a retry after a write
// that committed without its caller hearing so changes nothing. retried
// reports that a write failed before the last one (here, or the batch the
// group commit ran it in before running it alone): it may have committed.
func (q *Queue) finishRetrying(ctx context.Context, o *outcome) (changed, retried bool, err error) {
	for i := 0; ; i++ {
		var again bool
		changed, again, err = q.finish(ctx, o)
		retried = retried || again
		if err == nil || errors.Is(err, errClosed) || i >= q.cfg.OutcomeRetries {
			return changed, retried || i > 0, err
		}
		d := min(backoff(q.cfg.OutcomeRetryBackoff, i+1), maxOutcomeRetryDelay)
		q.log.Warn("record job outcome failed; retrying", "job_id", o.jobID, "retry", i+1, "in", d, "error", err)
		t := time.NewTimer(d)
		<-t.C
	}
}

// riverError is err as River records it: River keeps each attempt's error
// in a JSON column (jsonb on PostgreSQL, which refuses the escape \u0000
// and invalid UTF-8), so NUL bytes and invalid UTF-8 in the message, which
// an automation's error may hold, become U+FFFD. The job record keeps the
// message as it was. River's control errors (JobCancel) wrap the result.
func riverError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if store.ValidName(msg) {
		return err
	}
	return errors.New(strings.ReplaceAll(strings.ToValidUTF8(msg, "\uFFFD"), "\x00", "\uFFFD"))
}

// classify turns an attempt's end into the record's new state and the
// error River gets (nil: completed; JobCancel: no more attempts; other
// errors: River retries while attempts remain).
func classify(ctx context.Context, cause error, job *river.Job[runArgs], out *Outcome, runErr error) (*outcome, error) {
	lastAttempt := job.Attempt >= job.MaxAttempts
	switch {
	case errors.Is(cause, errCancelled) || errors.Is(cause, river.ErrJobCancelledRemotely):
		return &outcome{state: StateStopped, errMsg: "cancelled", out: out}, river.JobCancel(errCancelled)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		msg := fmt.Sprintf("the automation ran past its time limit (%s)", job.Args.timeout())
		return failed(job, lastAttempt, msg, out, true)
	case ctx.Err() != nil:
		// The process is shutting down: River retries the job, or after
		// its last attempt discards it.
		if lastAttempt {
			return &outcome{state: StateFailed, errMsg: "interrupted by shutdown during the job's last attempt"}, ctx.Err()
		}
		return &outcome{state: StateRetrying, errMsg: "interrupted by shutdown"}, ctx.Err()
	case runErr != nil:
		st := StateRetrying
		if lastAttempt {
			st = StateFailed
		}
		return &outcome{state: st, errMsg: runErr.Error(), out: out}, riverError(runErr)
	case out == nil:
		return &outcome{state: StateFailed, errMsg: "the runner returned no outcome"}, river.JobCancel(errors.New("no outcome"))
	case out.Failed:
		return failed(job, lastAttempt, out.Error, out, false)
	}
	return &outcome{state: StateCompleted, out: out}, nil
}

// failed handles an automation that ended in error or ran out of time: it
// is retried only when the handler set max_attempts.
func failed(job *river.Job[runArgs], lastAttempt bool, msg string, out *Outcome, timedOut bool) (*outcome, error) {
	if msg == "" {
		msg = "the automation failed"
	}
	err := riverError(errors.New(msg))
	if job.Args.Explicit && !lastAttempt {
		return &outcome{state: StateRetrying, errMsg: msg, out: out, timedOut: timedOut}, err
	}
	return &outcome{state: StateFailed, errMsg: msg, out: out, timedOut: timedOut}, river.JobCancel(err)
}
