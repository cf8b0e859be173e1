package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sync"
	"time"
)

// Records River ended without them.
//
// A job's record ends in the write of its worker (or of Cancel, or of the
// error handler of unreadable jobs), before River hears of the end. But
// River also ends jobs by itself, and then nothing ends their records:
//
//   - the process running a job's last attempt dies: River's rescuer
//     discards the job (requeueOnStart and rescueSQL leave jobs without
//     attempts left to it);
//   - the last attempt's outcome cannot be written through every retry,
//     or its start or its concurrency slot cannot be: the worker's error
//     makes River discard the job;
//   - a job cancelled while it ran loses its process before the worker
//     wrote the stop: River's rescuer cancels it;
//   - Cancel of a queued job cancels River's row, then fails to write the
//     record's stop.
//
// Such a record stayed queued, running or retrying for good: no finished_at
// (never pruned), no completion callback or job.failed delivery, no
// waiter told, and once River's cleaner deleted the row (after
// Settings.Retention) Get showed the job running. Each prune pass ends
// them (RepairRecords) through finish, as a worker would: Failed for a
// discarded job or a row that is gone, Stopped for a cancelled one, with
// the callback and deliveries queued in the same transaction. finish
// changes only a record that has not ended, so servers repairing the same
// record at once (PostgreSQL) end it once, and a worker's or Cancel's own
// end that comes after it changes nothing: the first end wins.
//
// So the repair must never end the record of an attempt that still runs,
// and River's end does not say that none does: its rescuer discards (or
// cancels) a job whose heartbeat was not written for RescueAfter, which a
// live worker's is not when the database fails over or a server is cut
// off from it for that long; that worker then runs on, and writes its
// outcome (again and again, while the write fails). Such a record is left
// alone while the job runs in this process (Queue.running), and until
// River's row has been ended for longer than any worker of the attempt
// can live: the job's time limit (River's context ends the automation
// then), the retries of its outcome's write (outcomeWindow) and
// repairGrace. Every worker of the attempt started before River ended its
// row (River sets attempted_at at the fetch, and the heartbeat moves it
// on), so the repair cannot win against one that honours its time limit;
// the end of an automation that ignores its context past it is lost. A row that is
// gone has no end time: the record is left alone for MaxTimeout, the
// retries and repairGrace after it was created or its last attempt
// started, whichever is later (every attempt records its start before it
// runs).

// repairGrace is the margin of the repair's wait (repairWait): Cancel of a
// queued job, for one, writes the record's stop just after River's row is
// cancelled. (A record is inserted in the transaction, or the statement,
// that inserts its River row, so a row is never missing because it is
// still being queued.)
const repairGrace = time.Minute

// outcomeWindow is about how long a worker whose automation ended may go
// on writing its outcome (finishRetrying): 1+OutcomeRetries writes, each
// waiting for up to two group commit deadlines (its batch's, then its own
// run alone when the batch failed for an item's reason), and the delays
// between them. With the defaults about 10 minutes.
func (q *Queue) outcomeWindow() time.Duration {
	retries := max(q.cfg.OutcomeRetries, 0)
	return time.Duration(retries+1)*2*groupCommitTimeout + time.Duration(retries)*maxOutcomeRetryDelay
}

// repairWait is how long after River ended a job's row (or, its row gone,
// after the record's creation or last start) the repair waits before it
// ends the record of a job of time limit timeout.
func (q *Queue) repairWait(timeout time.Duration) time.Duration {
	// River's rescuer gives a worker whose heartbeat is old RescueAfter
	// (runWorker.Timeout).
	return max(timeout, q.cfg.RescueAfter) + q.outcomeWindow() + repairGrace
}

// repairPages is how many pages of Config.PruneBatch records of each state
// that has not ended a repair pass reads (RepairRecords): a backlog of
// queued jobs is read a part per pass rather than all every minute.
const repairPages = 16

// Errors of the records RepairRecords ends.
const (
	repairDiscardedMsg = "the job was given up: its last attempt ended without its outcome recorded " +
		"(its process stopped, or the database failed)"
	repairGoneMsg = "the job was given up: it left the queue without its outcome recorded"
)

// recordKey is a record's place in the order of hookhost_jobs_state
// (state, created_at, id).
type recordKey struct {
	created int64
	id      string
}

func (k recordKey) less(o recordKey) bool {
	return k.created < o.created || (k.created == o.created && k.id < o.id)
}

// repairCursors are, per state, the record after which the next repair
// pass reads; a state missing starts from the first record.
type repairCursors struct {
	mu    sync.Mutex // held through a pass
	after map[State]recordKey
}

// repairPageSQL reads a page of the records of a state after a key (its
// parameters: the state, the key's created_at and id, the page's size),
// with what River says of each: "gone" (no River row), "discarded" or
// "cancelled", else "". For a discarded or cancelled row, also when River
// ended it (finalized_at, unix microseconds) and the job's time limit
// (timeout_ms of its args), by the dialect's expressions (%[1]s and
// %[2]s), NULL when they cannot be read. Its inner query reads
// hookhost_jobs_state in order.
const repairPageSQL = `SELECT j.id, j.created_at, j.started_at, j.attempt, j.webhook_id, j.callback_url, j.river_id,
	CASE WHEN r.id IS NULL THEN 'gone'
		WHEN r.state IN ('discarded', 'cancelled') THEN CAST(r.state AS TEXT)
		ELSE '' END,
	CASE WHEN r.state IN ('discarded', 'cancelled') THEN %[1]s END,
	CASE WHEN r.state IN ('discarded', 'cancelled') THEN %[2]s END
	FROM (SELECT id, created_at, started_at, attempt, webhook_id, callback_url, river_id FROM hookhost_jobs
		WHERE state = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?) j
	LEFT JOIN river_job r ON r.id = j.river_id`

// River's finalized_at in unix microseconds, and a job's timeout_ms (a
// number, else NULL), per dialect. On SQLite, finalized_at is River's text
// and the args are text, or JSONB for rows River's own statements wrote;
// an expression that fails on args that are not JSON would fail the page.
const (
	pgFinalizedMicros     = `CAST(extract(epoch FROM r.finalized_at) * 1000000 AS bigint)`
	pgTimeoutMS           = `CASE WHEN jsonb_typeof(r.args -> 'timeout_ms') = 'number' THEN CAST(LEAST(GREATEST(CAST(r.args ->> 'timeout_ms' AS numeric), 0), 1e15) AS bigint) END`
	sqliteFinalizedMicros = `CAST(round((julianday(r.finalized_at) - 2440587.5) * 86400000) AS INTEGER) * 1000`
	sqliteTimeoutMS       = `CASE WHEN CASE typeof(r.args) WHEN 'text' THEN json_valid(r.args) WHEN 'blob' THEN json_valid(r.args, 8) END
		THEN CASE WHEN json_type(r.args, '$.timeout_ms') IN ('integer', 'real')
			THEN CAST(min(max(json_extract(r.args, '$.timeout_ms'), 0), 1e15) AS INTEGER) END END`
)

// repairPageQuery is repairPageSQL for d.
func repairPageQuery(d sqlDialect) string {
	if d.name == DialectPostgres {
		return d.q(fmt.Sprintf(repairPageSQL, pgFinalizedMicros, pgTimeoutMS))
	}
	return fmt.Sprintf(repairPageSQL, sqliteFinalizedMicros, sqliteTimeoutMS)
}

// RepairRecords runs one repair pass at now: it ends the records that have
// not ended of jobs River ended without them (see the comment above),
// those whose River row was discarded or cancelled, or is gone, long
// enough before now that no worker of theirs still runs (repairWait), and
// that do not run in this process. It reads up to 16 pages of
// Config.PruneBatch records of each state that has not ended, from where
// the last pass stopped, and reports how many records it ended. A record
// whose end fails for its own reason (a lock held past Config.LockTimeout) is
// passed over and the pass goes on; the first such error is returned at
// the end. The queue runs it after each PruneRecords.
func (q *Queue) RepairRecords(ctx context.Context, now time.Time) (int64, error) {
	q.repair.mu.Lock()
	defer q.repair.mu.Unlock()
	if q.repair.after == nil {
		q.repair.after = map[State]recordKey{}
	}
	var (
		ended   int64
		skipped error
	)
	for _, st := range []State{StateQueued, StateRunning, StateRetrying} {
		for range repairPages {
			n, more, err := q.repairPage(ctx, st, now, &skipped)
			ended += n
			if err != nil {
				return ended, fmt.Errorf("jobs: repair %s job records: %w", st.stored(), err)
			}
			if !more {
				break
			}
		}
	}
	if skipped != nil {
		return ended, fmt.Errorf("jobs: repair job records: %w", skipped)
	}
	return ended, nil
}

// repairPage reads the next page of records of state st and ends those
// River ended (RepairRecords). more reports that the page was full: the
// next one may hold more records. The first error of a record's end that
// may be that record's (itemError) goes to *skipped, and the page goes
// on. Called with q.repair.mu held.
func (q *Queue) repairPage(ctx context.Context, st State, now time.Time, skipped *error) (ended int64, more bool, err error) {
	from, ok := q.repair.after[st]
	if !ok {
		from = recordKey{created: math.MinInt64}
	}
	type found struct {
		o     *outcome
		river string
		// since is when River ended the row (or, unknown, the record's
		// creation or last start); timeout is the job's time limit.
		since   int64
		timeout time.Duration
	}
	var ends []found
	rows, err := q.db.QueryContext(ctx, repairPageQuery(q.d), st.stored(), from.created, from.id, q.cfg.PruneBatch)
	if err != nil {
		return 0, false, err
	}
	n, last := 0, from
	for rows.Next() {
		var (
			k                             recordKey
			river                         string
			started, finalized, timeoutMS sql.NullInt64
			o                             = &outcome{slot: true}
		)
		if err := rows.Scan(&k.id, &k.created, &started, &o.attempt, &o.webhook, &o.callback, &o.riverID, &river,
			&finalized, &timeoutMS); err != nil {
			rows.Close()
			return 0, false, err
		}
		n++
		if last.less(k) {
			last = k
		}
		if river == "" {
			continue
		}
		o.jobID = k.id
		f := found{o: o, river: river, since: max(k.created, started.Int64), timeout: MaxTimeout}
		if finalized.Valid {
			f.since = finalized.Int64
			if timeoutMS.Valid {
				f.timeout = runArgs{TimeoutMS: timeoutMS.Int64}.timeout()
			}
		}
		ends = append(ends, f)
	}
	rows.Close() // before writing: SQLite's one connection
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	for _, f := range ends {
		if fromMicros(f.since).Add(q.repairWait(f.timeout)).After(now) || q.running.has(f.o.jobID) {
			continue // a worker of the job may still run
		}
		switch f.river {
		case "gone":
			f.o.state, f.o.errMsg = StateFailed, repairGoneMsg
		case "discarded":
			f.o.state, f.o.errMsg = StateFailed, repairDiscardedMsg
		case "cancelled":
			f.o.state, f.o.errMsg = StateStopped, "cancelled"
		default:
			continue
		}
		changed, again, err := q.finish(ctx, f.o)
		if err != nil && itemError(err) {
			q.log.Warn("repair pass: ending a job record failed", "job_id", f.o.jobID, "error", err)
			if *skipped == nil {
				*skipped = err
			}
			continue
		}
		if err != nil {
			return ended, false, err
		}
		q.ended(ctx, f.o, changed, again)
		if changed {
			ended++
			q.log.Warn("job ended by the repair pass: River ended it without its record", "job_id", f.o.jobID,
				"river_id", f.o.riverID, "river", f.river, "state", f.o.state)
		}
	}
	if n < q.cfg.PruneBatch {
		delete(q.repair.after, st) // the end: the next pass starts over
		return ended, false, nil
	}
	q.repair.after[st] = last
	return ended, true, nil
}
