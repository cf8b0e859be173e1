package jobs

import (
	"context"
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
// end, had it come after all, would change nothing.

// repairGrace is how long River's row must have been finalized (or the
// record exist, for a row that is gone) before RepairRecords ends a
// record: Cancel of a queued job writes the record's stop just after
// River's row is cancelled. (A record is inserted in the transaction, or
// the statement, that inserts its River row, so a row is never missing
// because it is still being queued.)
const repairGrace = time.Minute

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

// repairPageSQL reads a page of the records of a state after a key, with
// what River says of each: "gone" (no River row), "discarded" or
// "cancelled" when River's row was finalized so before the horizon (the
// first parameter), else "". Its inner query reads hookhost_jobs_state in
// order.
const repairPageSQL = `SELECT j.id, j.created_at, j.attempt, j.webhook_id, j.callback_url, j.river_id,
	CASE WHEN r.id IS NULL THEN 'gone'
		WHEN r.state IN ('discarded', 'cancelled') AND r.finalized_at < ? THEN CAST(r.state AS TEXT)
		ELSE '' END
	FROM (SELECT id, created_at, attempt, webhook_id, callback_url, river_id FROM hookhost_jobs
		WHERE state = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?) j
	LEFT JOIN river_job r ON r.id = j.river_id`

// RepairRecords runs one repair pass at now: it ends the records that have
// not ended of jobs River ended without them (see the comment above),
// those whose River row was discarded or cancelled, or is gone, more than
// a minute before now. It reads up to 16 pages of Config.PruneBatch
// records of each state that has not ended, from where the last pass
// stopped, and reports how many records it ended. The queue runs it after
// each PruneRecords.
func (q *Queue) RepairRecords(ctx context.Context, now time.Time) (int64, error) {
	q.repair.mu.Lock()
	defer q.repair.mu.Unlock()
	if q.repair.after == nil {
		q.repair.after = map[State]recordKey{}
	}
	var ended int64
	for _, st := range []State{StateQueued, StateRunning, StateRetrying} {
		for range repairPages {
			n, more, err := q.repairPage(ctx, st, now)
			ended += n
			if err != nil {
				return ended, fmt.Errorf("jobs: repair %s job records: %w", st.stored(), err)
			}
			if !more {
				break
			}
		}
	}
	return ended, nil
}

// repairPage reads the next page of records of state st and ends those
// River ended. more reports that the page was full: the next one may hold
// more records. Called with q.repair.mu held.
func (q *Queue) repairPage(ctx context.Context, st State, now time.Time) (ended int64, more bool, err error) {
	horizon := now.Add(-repairGrace)
	var finalized any = horizon.UTC()
	if q.d.name != DialectPostgres {
		finalized = sqliteTime(&horizon) // as River's SQLite driver writes finalized_at
	}
	from, ok := q.repair.after[st]
	if !ok {
		from = recordKey{created: math.MinInt64}
	}
	type found struct {
		o       *outcome
		created int64
		river   string
	}
	var ends []found
	rows, err := q.db.QueryContext(ctx, q.d.q(repairPageSQL), finalized, st.stored(), from.created, from.id, q.cfg.PruneBatch)
	if err != nil {
		return 0, false, err
	}
	n, last := 0, from
	for rows.Next() {
		var (
			k     recordKey
			river string
			o     = &outcome{slot: true}
		)
		if err := rows.Scan(&k.id, &k.created, &o.attempt, &o.webhook, &o.callback, &o.riverID, &river); err != nil {
			rows.Close()
			return 0, false, err
		}
		n++
		if last.less(k) {
			last = k
		}
		if river != "" {
			o.jobID = k.id
			ends = append(ends, found{o: o, created: k.created, river: river})
		}
	}
	rows.Close() // before writing: SQLite's one connection
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	for _, f := range ends {
		switch f.river {
		case "gone":
			if f.created >= micros(horizon) {
				continue
			}
			f.o.state, f.o.errMsg = StateFailed, repairGoneMsg
		case "discarded":
			f.o.state, f.o.errMsg = StateFailed, repairDiscardedMsg
		case "cancelled":
			f.o.state, f.o.errMsg = StateStopped, "cancelled"
		default:
			continue
		}
		changed, again, err := q.finish(ctx, f.o)
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
