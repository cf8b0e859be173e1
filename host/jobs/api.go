package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Errors of the job API that callers branch on.
var (
	// ErrFinished means the job has ended already (cancel).
	ErrFinished = errors.New("jobs: job has already ended")
	// ErrNotFinished means the job has not ended yet (retry).
	ErrNotFinished = errors.New("jobs: job has not ended yet")
	// ErrInputsGone means River no longer keeps the job's real inputs
	// (Config.Retention passed), so it cannot be retried.
	ErrInputsGone = errors.New("jobs: the job's inputs are no longer kept")
	// ErrArgsUnreadable means the job's stored arguments cannot be read
	// (retry): the job failed for it, and a retry would read the same.
	ErrArgsUnreadable = errors.New("jobs: the job's stored arguments could not be read")
)

// Get returns a job. While the job has not ended, its state merges the
// record with River's row (see merge).
func (q *Queue) Get(ctx context.Context, id string) (*Job, error) {
	j, err := q.getRecord(ctx, q.db, id)
	if err != nil {
		return nil, err
	}
	if j.State.Final() {
		return j, nil
	}
	row, err := q.client.JobGet(ctx, j.RiverID)
	switch {
	case errors.Is(err, river.ErrNotFound):
		return j, nil
	case err != nil:
		return nil, fmt.Errorf("jobs: get river job: %w", err)
	}
	// Read the record again, after River's row (see merge).
	if j, err = q.getRecord(ctx, q.db, id); err != nil {
		return nil, err
	}
	j.State = merge(j.State, row.State)
	return j, nil
}

// List returns a page of jobs, newest first, and the cursor of the next
// page ("" when this is the last). A State filter applies to the stored
// state.
func (q *Queue) List(ctx context.Context, f Filter) ([]*Job, string, error) {
	list, next, err := q.listPage(ctx, f)
	if err != nil {
		return nil, "", err
	}
	var ids []int64
	for _, j := range list {
		if !j.State.Final() {
			ids = append(ids, j.RiverID)
		}
	}
	if len(ids) > 0 {
		res, err := q.client.JobList(ctx, river.NewJobListParams().IDs(ids...).First(len(ids)))
		if err != nil {
			return nil, "", fmt.Errorf("jobs: list river jobs: %w", err)
		}
		rows := make(map[int64]*rivertype.JobRow, len(res.Jobs))
		for _, r := range res.Jobs {
			rows[r.ID] = r
		}
		for _, j := range list {
			if r := rows[j.RiverID]; r != nil && !j.State.Final() {
				j.State = merge(j.State, r.State)
			}
		}
	}
	return list, next, nil
}

// Cancel stops a job: a queued one never runs, a running one has its
// context cancelled (here, or in the process running it through River's
// notifications). It waits up to wait for a running job to stop, then
// returns the job as it is.
func (q *Queue) Cancel(ctx context.Context, id string, wait time.Duration) (*Job, error) {
	j, err := q.getRecord(ctx, q.db, id)
	if err != nil {
		return nil, err
	}
	if j.State.Final() {
		return j, ErrFinished
	}
	ch, stop := q.waiters.add(id)
	defer stop()
	row, err := q.client.JobCancel(ctx, j.RiverID)
	if err != nil && !errors.Is(err, river.ErrNotFound) {
		return nil, fmt.Errorf("jobs: cancel: %w", err)
	}
	q.running.cancel(id)
	if row == nil || row.State != rivertype.JobStateRunning {
		// River will not run it (again): end the record here.
		o := &outcome{jobID: id, riverID: j.RiverID, state: StateStopped, errMsg: "cancelled",
			callback: j.CallbackURL, webhook: j.WebhookID, slot: true}
		changed, again, err := q.finish(ctx, o)
		if err != nil {
			return nil, err
		}
		switch {
		case changed:
			q.waiters.publish(&Finished{JobID: id, State: StateStopped, Error: "cancelled"})
		case again:
			q.ended(ctx, o, false, true) // it may have committed in its failed batch
		}
	} else {
		t := time.NewTimer(wait)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	return q.Get(ctx, id)
}

// Retry queues a new job with the inputs and options of an ended one,
// linked to it by RetryOf.
func (q *Queue) Retry(ctx context.Context, id string) (Result, error) {
	j, err := q.Get(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if !j.State.Final() {
		return Result{}, ErrNotFinished
	}
	// The args as stored, with the real inputs (storedArgs).
	a, err := q.storedArgs(ctx, j.RiverID)
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, ErrInputsGone) {
		return Result{}, ErrInputsGone
	}
	if err != nil {
		return Result{}, err
	}
	opts := Options{Timeout: time.Duration(a.TimeoutMS) * time.Millisecond, Concurrency: a.Concurrency, CallbackURL: a.CallbackURL}
	if a.Explicit {
		opts.MaxAttempts = j.MaxAttempts
	}
	return q.Enqueue(ctx, &Request{WebhookID: a.WebhookID, Handler: a.Handler, Automation: a.Automation,
		Inputs: json.RawMessage(a.Inputs), RedactedInputs: j.Inputs, CredentialHeaders: a.CredentialHeaders, Options: opts, RetryOf: id})
}
