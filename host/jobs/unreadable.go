package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// A run job whose stored args cannot be read (changed outside hookhost, or
// written in a form this version does not decode) never reaches
// runWorker.Work: River fails the attempt itself, when its driver cannot
// decode the fetched row (invalid JSON args on SQLite) or when decoding the
// args into runArgs fails. River's fetch may have marked the record running
// already (started.go), and nothing else would end it: River retries and
// finally discards the job, and the record would stay queued or running
// for good. River hands such failures to the client's ErrorHandler, which
// ends the record as a worker ends an attempt (markRunning unless the
// fetch did, then finishRetrying: one write with its callback and
// deliveries), Failed at once: every attempt reads the same bytes, so
// retrying cannot help.

// errorHandler is the River client's ErrorHandler: it ends the attempts of
// run jobs that River failed without running their worker.
type errorHandler struct{ q *Queue }

var _ river.ErrorHandler = errorHandler{}

// HandleError implements river.ErrorHandler.
func (h errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	msg, ok := unreadable(job, err)
	if !ok {
		return nil // an error of a worker that ran: River's retry, as usual
	}
	return h.q.endUnreadable(context.WithoutCancel(ctx), job, msg)
}

// HandlePanic implements river.ErrorHandler: River's default (retry).
func (errorHandler) HandlePanic(context.Context, *rivertype.JobRow, any, string) *river.ErrorHandlerResult {
	return nil
}

// unreadable reports whether River failed the attempt of job with err
// before running its worker because the job could not be read, and the
// record's error saying so: a run job whose args do not decode into
// runArgs as River's UnmarshalJob decodes them (json.Unmarshal: the same
// bytes fail the same way; River's driver leaves out args it could not
// decode), or whose row River's driver could not decode (unreadableRow).
func unreadable(job *rivertype.JobRow, err error) (string, bool) {
	if job.Kind != kindRun {
		return "", false
	}
	var a runArgs
	if json.Unmarshal(job.EncodedArgs, &a) != nil {
		return "the job's stored arguments could not be read: " + err.Error(), true
	}
	var row *unreadableRow
	if errors.As(err, &row) {
		return "the job's stored row could not be read: " + err.Error(), true
	}
	return "", false
}

// unreadableRow is an error River's driver reported for a row it fetched
// but could not decode (JobGetAvailableResult.DecodeErrors): River fails
// the attempt with it, wrapped, without working the job.
type unreadableRow struct{ err error }

func (e *unreadableRow) Error() string { return e.err.Error() }
func (e *unreadableRow) Unwrap() error { return e.err }

// markUnreadable marks the decode errors of a fetch's result as
// unreadableRow, for errorHandler to recognise.
func markUnreadable(res *riverdriver.JobGetAvailableResult) {
	if res == nil {
		return
	}
	for id, err := range res.DecodeErrors {
		res.DecodeErrors[id] = &unreadableRow{err: err}
	}
}

// unendedRecordSQL finds the record of a River job that has not ended, by
// its River id: SQLite has an index on river_id, PostgreSQL none since
// job schema 8 (nothing else reads by it there), so on PostgreSQL this
// reads the table; unendedRecordByIDSQL takes the primary key when the
// args still give the job id.
const (
	unendedRecordSQL = `SELECT id, webhook_id, callback_url FROM hookhost_jobs
	WHERE river_id = ? AND ` + notFinalSQL + ` ORDER BY created_at DESC LIMIT 1`
	unendedRecordByIDSQL = `SELECT id, webhook_id, callback_url FROM hookhost_jobs
	WHERE id = ? AND river_id = ? AND ` + notFinalSQL
)

// unendedRecord reads the record of the River job row that has not ended
// into o: by the job id when the args still hold it as a string (only the
// rest of them could not be read), else by the River id.
func (q *Queue) unendedRecord(ctx context.Context, row *rivertype.JobRow, o *outcome) error {
	var id struct {
		JobID string `json:"job_id"`
	}
	if json.Unmarshal(row.EncodedArgs, &id) == nil && id.JobID != "" {
		return q.db.QueryRowContext(ctx, q.d.q(unendedRecordByIDSQL), id.JobID, row.ID).Scan(&o.jobID, &o.webhook, &o.callback)
	}
	return q.db.QueryRowContext(ctx, q.d.q(unendedRecordSQL), row.ID).Scan(&o.jobID, &o.webhook, &o.callback)
}

// endUnreadable ends the attempt of the run job row, which River failed
// before its worker ran, with msg: the record is found by its River id
// (the args that hold its id are what could not be read). It returns
// River's answer: cancel the job when its record is final (now or
// already), else (the record could not be written) River's retry, whose
// attempt ends the same way.
func (q *Queue) endUnreadable(ctx context.Context, row *rivertype.JobRow, msg string) *river.ErrorHandlerResult {
	stop := &river.ErrorHandlerResult{SetCancelled: true}
	o := &outcome{riverID: row.ID, state: StateFailed, attempt: row.Attempt, errMsg: msg, relaxed: true}
	live, _ := q.started.take(row.ID, row.Attempt) // what the fetch recorded, if anything
	err := q.unendedRecord(ctx, row, o)
	if errors.Is(err, sql.ErrNoRows) {
		return stop // final already
	}
	if err != nil {
		q.log.Error("read the record of a job that could not be read", "river_id", row.ID, "error", err)
		return nil
	}
	if !live {
		// The fetch did not mark the record running: it left the job out,
		// or found no record by the job id of args it could not read.
		live, err = q.markRunning(ctx, o.jobID, row.Attempt, nowUTC())
	}
	if err != nil {
		q.log.Error("record the start of a job that could not be read", "job_id", o.jobID, "error", err)
		return nil
	}
	if !live {
		return stop
	}
	q.observe(EventStarted, o.jobID, StateRunning, row.Attempt)
	changed, retried, err := q.finishRetrying(ctx, o)
	if err != nil {
		q.log.Error("record job outcome; River retries the job", "job_id", o.jobID, "error", err)
		return nil
	}
	q.ended(ctx, o, changed, retried)
	q.log.Error("job failed: it could not be read", "job_id", o.jobID, "river_id", row.ID, "error", msg)
	return stop
}
