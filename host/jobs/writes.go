package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// writeOp is a state change written by the writer's group commit.
type writeOp struct {
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

func (w *writeOp) finish(err error) { w.done <- err }

func commitWrites(ctx context.Context, tx *sql.Tx, ops []*writeOp) error {
	for _, op := range ops {
		if err := op.fn(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// write runs fn in the writer's next group commit and waits for the commit.
// fn may run twice (again alone when its batch failed): it must set its
// results afresh each time.
func (q *Queue) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	op := &writeOp{fn: fn, done: make(chan error, 1)}
	if err := q.writer.submit(ctx, op); err != nil {
		return err
	}
	return <-op.done
}

const markRunningSQL = `UPDATE hookhost_jobs SET state = 'running', attempt = ?, started_at = ?
	WHERE id = ? AND state NOT IN ` + finalColumns

// markRunning records the start of an attempt. It reports false when the
// record is final already (cancelled while queued, or finished before a
// crash kept River from hearing of it): the attempt must not run.
func (q *Queue) markRunning(ctx context.Context, id string, attempt int, at time.Time) (bool, error) {
	var live bool
	err := q.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q.d.q(markRunningSQL), attempt, micros(at), id)
		if err != nil {
			return fmt.Errorf("mark job running: %w", err)
		}
		n, err := res.RowsAffected()
		live = n > 0
		return err
	})
	return live, err
}

// outcome is how an attempt ended, as written to the record.
type outcome struct {
	jobID    string
	riverID  int64
	state    State
	attempt  int
	out      *Outcome
	errMsg   string
	callback string
	webhook  string
	// slot releases the job's concurrency slot.
	slot     bool
	timedOut bool
}

// sqlTx is the transaction type of write functions.
type sqlTx = sql.Tx

// finishSQL writes an attempt's outcome. The record's size is that of the
// new values (the argument) plus its inputs'.
func (d sqlDialect) finishSQL() string {
	return `UPDATE hookhost_jobs SET state = ?, attempt = ?, revision = ?, status = ?, headers = ?, body = ?,
	output = ?, log = ?, error = ?, finished_at = ?, size = ? + ` + d.octets("inputs") + `
	WHERE id = ? AND state NOT IN ` + finalColumns
}

// finishStateSQL ends a job that has no new outcome (cancelled while
// queued, interrupted), keeping what earlier attempts recorded; its size
// changes by the error's.
func (d sqlDialect) finishStateSQL() string {
	return `UPDATE hookhost_jobs SET state = ?, error = ?, finished_at = ?, size = size - ` + d.octets("error") + ` + ?
	WHERE id = ? AND state NOT IN ` + finalColumns
}

// finish writes an attempt's end, releases its slot and, for a final
// state, queues the callback (with a callback URL) and the deliveries to
// the subscriptions of the job's event, all in one transaction.
// It reports whether the record changed (false: it was final already).
func (q *Queue) finish(ctx context.Context, o *outcome) (bool, error) {
	var changed bool
	err := q.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		changed = false
		var (
			rev     int64
			status  int
			headers string
			body    []byte
			output  []byte
			logText string
		)
		if o.out != nil {
			rev, status, headers, body = o.out.Revision, o.out.Status, encodeHeaders(o.out.Headers), o.out.Body
			if o.out.RecordHeaders != nil || o.out.RecordBody != nil {
				headers, body = encodeHeaders(o.out.RecordHeaders), o.out.RecordBody
			}
			output, logText = o.out.Output, encodeLog(o.out.Log)
		}
		var finished any
		if o.state.Final() {
			finished = micros(nowUTC())
		}
		var res sql.Result
		var err error
		if o.out != nil {
			size := len(headers) + len(body) + len(output) + len(logText) + len(o.errMsg) + recordOverhead
			res, err = tx.ExecContext(ctx, q.d.q(q.d.finishSQL()), o.state.stored(), o.attempt, rev, status,
				bytesArg(headers), body, bytesArg(output), bytesArg(logText), bytesArg(o.errMsg), finished, size, o.jobID)
		} else {
			res, err = tx.ExecContext(ctx, q.d.q(q.d.finishStateSQL()), o.state.stored(), bytesArg(o.errMsg), finished,
				len(o.errMsg), o.jobID)
		}
		if err != nil {
			return fmt.Errorf("record job outcome: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		changed = n > 0
		if o.slot {
			if err := releaseSlot(ctx, tx, q.d, o.riverID); err != nil {
				return err
			}
		}
		if !changed || !o.state.Final() {
			return nil
		}
		// The job's end is announced in the transaction that records it.
		subs := q.subs.match(jobEvent(o.state), o.webhook)
		if o.callback == "" && len(subs) == 0 {
			return nil
		}
		j, body, err := q.jobNotice(ctx, tx, o.jobID)
		if err != nil {
			return err
		}
		if o.callback != "" {
			if err := q.queueCallback(ctx, tx, j, body); err != nil {
				return err
			}
		}
		if len(subs) > 0 {
			return q.queueDeliveries(ctx, tx, subs, jobEvent(j.State), body)
		}
		return nil
	})
	return changed, err
}

// touchRunning is the heartbeat of this process's running jobs: it moves
// River's attempted_at forward so that River's rescuer (RescueAfter) only
// takes jobs whose process died, whatever their time limit.
func (q *Queue) touchRunning(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return q.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		query := `UPDATE river_job SET attempted_at = ` + q.d.nowText + ` WHERE state = 'running' AND id IN (?` +
			strings.Repeat(", ?", len(ids)-1) + `)`
		if _, err := tx.ExecContext(ctx, q.d.q(query), args...); err != nil {
			return fmt.Errorf("job heartbeat: %w", err)
		}
		return nil
	})
}

// rescueSQL (PostgreSQL) makes the run jobs of dead processes available
// again: still "running" in River, without a heartbeat for RescueAfter,
// with attempts left. River's rescuer does the same, but only on the
// elected leader and every 30 s (then its scheduler, every 5 s, makes them
// available), so after a crash the other servers would wait up to
// RescueAfter+35s. Jobs without attempts left stay with River's rescuer,
// which discards them. Row locks make concurrent rescues by several
// servers harmless: the second one no longer matches state = 'running'.
const rescueSQL = `UPDATE river_job SET state = 'available', scheduled_at = now()
	WHERE state = 'running' AND queue = $1 AND attempt < max_attempts
	AND attempted_at < now() - $2 * interval '1 microsecond'`

// requeueOnStart (SQLite) makes the jobs left running by a previous
// process available at once: a SQLite database has one process, so a job
// still running when it starts was cut short by a crash or a kill. (River's
// rescuer would wait for RescueAfter first.) Jobs without attempts left
// stay with River's rescuer, which discards them.
func (q *Queue) requeueOnStart(ctx context.Context) error {
	if q.d.name != DialectSQLite || q.cfg.Workers <= 0 {
		return nil
	}
	res, err := q.db.ExecContext(ctx, `UPDATE river_job SET state = 'available'
		WHERE state = 'running' AND queue IN (?, ?) AND attempt < max_attempts`, queueRuns, queueCallbacks)
	if err != nil {
		return fmt.Errorf("queue again the jobs a stopped process left running: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.Info("jobs the previous process left running are queued again", "jobs", n)
	}
	return nil
}

// rescueDead runs rescueSQL (PostgreSQL only: on SQLite a single process
// owns the database, and River's rescuer runs when it starts again).
func (q *Queue) rescueDead(ctx context.Context) error {
	if q.d.name != DialectPostgres || q.cfg.Workers <= 0 {
		return nil
	}
	res, err := q.db.ExecContext(ctx, rescueSQL, queueRuns, q.cfg.RescueAfter.Microseconds())
	if err != nil {
		return fmt.Errorf("rescue jobs of stopped processes: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.Info("jobs of a stopped process are queued again", "jobs", n, "rescue_after", q.cfg.RescueAfter)
	}
	return nil
}

func (q *Queue) heartbeat(ctx context.Context) {
	defer close(q.heartbeatDone)
	t := time.NewTicker(q.cfg.RescueAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := q.touchRunning(ctx, q.running.riverIDs()); err != nil && ctx.Err() == nil {
				q.log.Warn("job heartbeat failed", "error", err)
			}
			if err := q.rescueDead(ctx); err != nil && ctx.Err() == nil {
				q.log.Warn("job rescue failed", "error", err)
			}
		}
	}
}
