package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// writeOp is a state change written by the writer's group commit: a
// function of the transaction, or (stmts) statements whose only use of
// their results is the rows they affected. A batch of statement ops alone
// is sent to PostgreSQL in one round trip (pgxWrites).
type writeOp struct {
	fn    func(ctx context.Context, tx *sql.Tx) error
	stmts []writeStmt
	// relaxed marks a write of a job's attempt (its start, its end) whose
	// loss to a power loss only makes the job run again: on SQLite a
	// batch of such writes alone commits without waiting for the disk
	// (see relaxed.go).
	relaxed bool
	// again is set when the op runs again alone after its batch failed
	// (groupCommit.flush): that batch may have committed all the same (its
	// commit's answer lost), so what the op finds may be its own doing.
	again bool
	done  chan error
}

var _ rerunItem = (*writeOp)(nil)

func (w *writeOp) rerun() { w.again = true }

// writeStmt is a statement of a writeOp, in the database's placeholders
// (sqlDialect.q).
type writeStmt struct {
	query string
	args  []any
	// rows, when not nil, is set to the rows the statement affected.
	rows *int64
	// what names the statement in errors.
	what string
}

func (w *writeOp) finish(err error) { w.done <- err }

func commitWrites(ctx context.Context, tx *sql.Tx, ops []*writeOp) error {
	for _, op := range ops {
		if op.fn != nil {
			if err := op.fn(ctx, tx); err != nil {
				return err
			}
			continue
		}
		for _, st := range op.stmts {
			res, err := tx.ExecContext(ctx, st.query, st.args...)
			if err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
			if st.rows != nil {
				if *st.rows, err = res.RowsAffected(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// sqliteWrites (SQLite) commits a batch of writes as sqlBatch does, but
// with synchronous=NORMAL (relaxedTx) when every write of the batch is
// relaxed.
func sqliteWrites(db *sql.DB) func(ctx context.Context, ops []*writeOp) error {
	full := sqlBatch(db, commitWrites)
	return func(ctx context.Context, ops []*writeOp) error {
		for _, op := range ops {
			if !op.relaxed {
				return full(ctx, ops)
			}
		}
		return relaxedTx(ctx, db, func(tx *sql.Tx) error { return commitWrites(ctx, tx, ops) })
	}
}

// lockTimed (PostgreSQL) is commit with lock.set run first in its
// transaction. That costs a round trip: database/sql's BEGIN takes
// nothing else, and its connections are the store's, for everyone, so
// the setting cannot be the sessions'. Only the writer's batches with a
// function op take this way, which run BEGIN, a round trip per statement
// and COMMIT; its statement batches (pgxWrites) and the inserters' (pgxTx,
// pgInsertRuns) take none more.
func lockTimed[T any](lock lockStmts, commit func(ctx context.Context, tx *sql.Tx, items []T) error) func(ctx context.Context, tx *sql.Tx, items []T) error {
	return func(ctx context.Context, tx *sql.Tx, items []T) error {
		if _, err := tx.ExecContext(ctx, lock.set); err != nil {
			return fmt.Errorf("set lock_timeout: %w", err)
		}
		return commit(ctx, tx, items)
	}
}

// write runs fn in the writer's next group commit and waits for the commit.
// fn may run twice (again alone when its batch failed): it must set its
// results afresh each time.
func (q *Queue) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return q.submitWrite(ctx, &writeOp{fn: fn})
}

// writeAttempt is write for a write of a job's attempt (writeOp.relaxed).
func (q *Queue) writeAttempt(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return q.submitWrite(ctx, &writeOp{fn: fn, relaxed: true})
}

// writeAttemptStmts runs statements of a job's attempt
// (writeOp.relaxed) in the writer's next group commit and waits for the
// commit. Their rows are set afresh each time they run.
func (q *Queue) writeAttemptStmts(ctx context.Context, stmts ...writeStmt) error {
	return q.submitWrite(ctx, &writeOp{stmts: stmts, relaxed: true})
}

func (q *Queue) submitWrite(ctx context.Context, op *writeOp) error {
	op.done = make(chan error, 1)
	if err := q.writer.submit(ctx, op); err != nil {
		return err
	}
	return <-op.done
}

// batchSender is a database/sql driver connection of pgx's that sends
// batches itself rather than through its *pgx.Conn (the tests' connection
// that fails statements).
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// pgxWrites (PostgreSQL) writes a batch of statement ops in one round
// trip: pgx sends them as one pipeline with a single Sync, which
// PostgreSQL runs as one implicit transaction, committed (or, at the first
// error, rolled back) as a whole, as BEGIN ... COMMIT would be in four or
// more round trips; the lock_timeout's statement (lockStmts.set) goes
// first in the same pipeline. A
// batch with a function op goes to fallback, a database/sql transaction
// (lockTimed).
func (q *Queue) pgxWrites(fallback func(ctx context.Context, ops []*writeOp) error) func(ctx context.Context, ops []*writeOp) error {
	return func(ctx context.Context, ops []*writeOp) error {
		for _, op := range ops {
			if op.fn != nil {
				return fallback(ctx, ops)
			}
		}
		return onPgx(ctx, q.db, func(_ *pgx.Conn, send sendBatch) error {
			var b pgx.Batch
			// The implicit transaction's lock_timeout, in the same round
			// trip (Config.LockTimeout).
			b.Queue(q.lock.set)
			for _, op := range ops {
				for _, st := range op.stmts {
					b.Queue(st.query, st.args...)
				}
			}
			br := send(ctx, &b)
			if _, err := br.Exec(); err != nil {
				if cerr := br.Close(); cerr != nil && !errors.Is(cerr, err) {
					return fmt.Errorf("set lock_timeout: %w (%v)", err, cerr)
				}
				return fmt.Errorf("set lock_timeout: %w", err)
			}
			for _, op := range ops {
				for _, st := range op.stmts {
					tag, err := br.Exec()
					if err != nil {
						if cerr := br.Close(); cerr != nil && !errors.Is(cerr, err) {
							return fmt.Errorf("%s: %w (%v)", st.what, err, cerr)
						}
						return fmt.Errorf("%s: %w", st.what, err)
					}
					if st.rows != nil {
						*st.rows = tag.RowsAffected()
					}
				}
			}
			if err := br.Close(); err != nil {
				return fmt.Errorf("commit: %w", err)
			}
			return nil
		})
	}
}

const markRunningSQL = `UPDATE hookhost_jobs SET state = 'running', attempt = ?, started_at = ?
	WHERE id = ? AND ` + notFinalSQL

// markRunning records the start of an attempt. It reports false when the
// record is final already (cancelled while queued, or finished before a
// crash kept River from hearing of it): the attempt must not run.
func (q *Queue) markRunning(ctx context.Context, id string, attempt int, at time.Time) (bool, error) {
	var n int64
	err := q.writeAttemptStmts(ctx, writeStmt{query: q.d.q(markRunningSQL), args: []any{attempt, micros(at), id}, rows: &n, what: "mark job running"})
	return n > 0, err
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
	// relaxed marks the end of an attempt written by its worker, whose
	// loss to a power loss only makes the job run again (relaxed on
	// SQLite, see relaxed.go); a cancellation's is written durably, the
	// worker's included: lost, the cancelled job would run again.
	relaxed bool
}

// sqlTx is the transaction type of write functions.
type sqlTx = sql.Tx

// finishSQL writes an attempt's outcome. The record's size is that of the
// new values (the argument) plus its inputs'.
func (d sqlDialect) finishSQL() string {
	return `UPDATE hookhost_jobs SET state = ?, attempt = ?, revision = ?, status = ?, headers = ?, body = ?,
	output = ?, log = ?, error = ?, finished_at = ?, size = ? + ` + d.octets("inputs") + `
	WHERE id = ? AND ` + notFinalSQL
}

// finishStateSQL ends a job that has no new outcome (cancelled while
// queued, interrupted), keeping what earlier attempts recorded; its size
// changes by the error's.
func (d sqlDialect) finishStateSQL() string {
	return `UPDATE hookhost_jobs SET state = ?, error = ?, finished_at = ?, size = size - ` + d.octets("error") + ` + ?
	WHERE id = ? AND ` + notFinalSQL
}

// finish writes an attempt's end, releases its slot and, for a final
// state, queues the callback (with a callback URL) and the deliveries to
// the subscriptions of the job's event, all in one transaction.
// It reports whether the record changed (false: it was final already),
// and whether the write ran again alone after its batch failed (again):
// that batch may have committed it, so a record found final may have been
// ended by this very write (see Queue.ended).
func (q *Queue) finish(ctx context.Context, o *outcome) (changed, again bool, err error) {
	var n int64
	if !o.state.Final() || (o.callback == "" && len(q.subs.match(jobEvent(o.state), o.webhook)) == 0) {
		// Nothing to announce: statements alone, which PostgreSQL gets in
		// one round trip with the rest of the batch.
		stmts := []writeStmt{q.finishStmt(o, &n)}
		if o.slot {
			stmts = append(stmts, writeStmt{query: q.d.q(dropSlotSQL), args: []any{o.riverID}, what: "release concurrency slot"})
		}
		op := &writeOp{stmts: stmts, relaxed: o.relaxed}
		err := q.submitWrite(ctx, op)
		return n > 0, op.again, err
	}
	op := &writeOp{relaxed: o.relaxed, fn: func(ctx context.Context, tx *sql.Tx) error {
		changed = false
		st := q.finishStmt(o, &n)
		res, err := tx.ExecContext(ctx, st.query, st.args...)
		if err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
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
	}}
	err = q.submitWrite(ctx, op)
	return changed, op.again, err
}

// finishStmt is the UPDATE that records an attempt's end; the rows it
// changed go to rows.
func (q *Queue) finishStmt(o *outcome, rows *int64) writeStmt {
	var finished any
	if o.state.Final() {
		finished = micros(nowUTC())
	}
	if o.out == nil {
		return writeStmt{query: q.d.q(q.d.finishStateSQL()), args: []any{o.state.stored(), bytesArg(o.errMsg), finished,
			len(o.errMsg), o.jobID}, rows: rows, what: "record job outcome"}
	}
	rev, status, headers, body := o.out.Revision, o.out.Status, encodeHeaders(o.out.Headers), o.out.Body
	if o.out.RecordHeaders != nil || o.out.RecordBody != nil {
		headers, body = encodeHeaders(o.out.RecordHeaders), o.out.RecordBody
	}
	output, logText := o.out.Output, encodeLog(o.out.Log)
	size := len(headers) + len(body) + len(output) + len(logText) + len(o.errMsg) + recordOverhead
	return writeStmt{query: q.d.q(q.d.finishSQL()), args: []any{o.state.stored(), o.attempt, rev, status,
		bytesArg(headers), body, bytesArg(output), bytesArg(logText), bytesArg(o.errMsg), finished, size, o.jobID},
		rows: rows, what: "record job outcome"}
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
// which discards them, and so do jobs whose cancellation was asked for
// while they ran (River's JobCancel of a running job notes it in the
// metadata, cancel_attempted_at): River's rescuer cancels those, and the
// repair pass (RepairRecords) ends their records. Row locks make
// concurrent rescues by several servers harmless: the second one no
// longer matches state = 'running'.
const rescueSQL = `UPDATE river_job SET state = 'available', scheduled_at = now()
	WHERE state = 'running' AND queue IN ($1, $3) AND attempt < max_attempts
	AND attempted_at < now() - $2 * interval '1 microsecond'
	AND metadata->'cancel_attempted_at' IS NULL`

// requeueOnStart (SQLite) makes the jobs left running by a previous
// process available at once: a SQLite database has one process, so a job
// still running when it starts was cut short by a crash or a kill. (River's
// rescuer would wait for RescueAfter first.) Jobs without attempts left
// stay with River's rescuer, which discards them, and so do jobs whose
// cancellation was asked for (see rescueSQL; the metadata test is River's
// own, which skips metadata that is text but not JSON).
func (q *Queue) requeueOnStart(ctx context.Context) error {
	if q.d.name != DialectSQLite || q.cfg.Workers <= 0 {
		return nil
	}
	res, err := q.db.ExecContext(ctx, `UPDATE river_job SET state = 'available'
		WHERE state = 'running' AND queue IN (?, ?, ?) AND attempt < max_attempts
		AND (CASE WHEN typeof(metadata) <> 'text' OR json_valid(metadata) THEN metadata -> 'cancel_attempted_at' END) IS NULL`,
		queueRuns, queueRunsArgs, queueCallbacks)
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
	res, err := q.db.ExecContext(ctx, rescueSQL, queueRuns, q.cfg.RescueAfter.Microseconds(), queueRunsArgs)
	if err != nil {
		return fmt.Errorf("rescue jobs of stopped processes: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		q.log.Info("jobs of a stopped process are queued again", "jobs", n, "rescue_after", q.cfg.RescueAfter)
	}
	return nil
}

func (q *Queue) heartbeat(ctx context.Context) {
	every(ctx, q.heartbeatDone, q.cfg.RescueAfter/4, func() {
		if err := q.touchRunning(ctx, q.running.riverIDs()); err != nil && ctx.Err() == nil {
			q.log.Warn("job heartbeat failed", "error", err)
		}
		if err := q.rescueDead(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("job rescue failed", "error", err)
		}
	})
}
