package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river/riverdriver"
)

// A run job's real inputs (the request, its body twice) are written once,
// raw, in hookhost_job_inputs, keyed by the job's River id, in the
// statement or transaction that queues the job (pgInsertRunsSQL,
// insertInputs), and never updated. River's args of the job hold the rest
// (runArgs, without an inputs key). They were in River's args, in base64:
// River rewrites its row at the fetch and at the completion, which on
// SQLite rewrote the whole record, overflow pages included, and on both
// dialects the args were parsed, encoded and decoded again at every fetch
// (with a 16 KiB body, a job's CPU on SQLite was three times that of a job
// whose args held none).
//
// The fetch reads them with the jobs it takes: on PostgreSQL its one
// statement returns them (pgFetchStartSQL), on SQLite one more SELECT in
// its transaction (fetchInputs); fetchedInputs keeps them for the worker,
// and the worker reads the table itself when its entry is gone
// (storedInputs). Jobs queued before the table existed keep their inputs
// in River's args, which the fetch cuts out as before (fetchedInputs.strip).
//
// They live as long as River's row of the job, as they did in its args
// (Retry reads them; they hold credentials, and are not kept longer):
// River's cleaner deletes finished jobs through the queue's executors,
// which delete their inputs in the same transaction (deleteBefore), and
// the prune pass, which deletes the River rows of pruned records, deletes
// theirs (deleteInputsGone).

// insertInputsSQL inserts real inputs (insertInputsRow: River id,
// inputs).
const (
	insertInputsRow = `(?, ?)`
	insertInputsSQL = `INSERT INTO hookhost_job_inputs (river_id, inputs) VALUES ` + insertInputsRow
)

// insertInputs writes the real inputs of items, whose River ids are
// riverIDs, in tx (insertRows, as the records).
func (q *Queue) insertInputs(ctx context.Context, tx insertTx, items []*insertItem, riverIDs []int64) error {
	err := q.insertRows(ctx, tx, len(items), 2, insertInputsSQL, ", "+insertInputsRow, func(args []any, i int) []any {
		return append(args, riverIDs[i], items[i].inputs())
	})
	if err != nil {
		return fmt.Errorf("insert job inputs: %w", err)
	}
	return nil
}

// fetchInputs reads, in the fetch's transaction tx (SQLite), the real
// inputs of the run jobs of res, by River id. Jobs queued before
// hookhost_job_inputs existed have none there.
func fetchInputs(ctx context.Context, tx *sql.Tx, res *riverdriver.JobGetAvailableResult) (map[int64][]byte, error) {
	var ids []any
	for _, j := range res.Jobs {
		if j.Kind == kindRun && res.DecodeErrors[j.ID] == nil {
			ids = append(ids, j.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	inputs := make(map[int64][]byte, len(ids))
	for _, n := range statementRows(len(ids)) {
		err := func() error {
			rows, err := tx.QueryContext(ctx, `SELECT river_id, inputs FROM hookhost_job_inputs WHERE river_id IN (?`+
				strings.Repeat(", ?", n-1)+`)`, ids[:n]...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					id int64
					in []byte
				)
				if err := rows.Scan(&id, &in); err != nil {
					return err
				}
				if in == nil {
					in = []byte{}
				}
				inputs[id] = in
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("read job inputs: %w", err)
		}
		ids = ids[n:]
	}
	return inputs, nil
}

// storedInputs reads a run job's real inputs (storedArgs): Work's
// fallback when the fetch's copy of them is gone.
func (q *Queue) storedInputs(ctx context.Context, riverID int64) (argBytes, error) {
	a, err := q.storedArgs(ctx, riverID)
	if err != nil {
		return nil, err
	}
	return a.Inputs, nil
}

// storedArgs reads a run job's args as stored, with its real inputs (from
// hookhost_job_inputs, or the args' own for a job queued before that table
// existed), in one query with SQL of the queue's own: River's JobGet fails
// for a row whose JSON SQLite cannot parse, which is a job that failed
// because its args could not be read (unreadable.go). The error wraps
// sql.ErrNoRows when River's row is gone, ErrArgsUnreadable when its args
// do not decode, and ErrInputsGone when a job queued with its inputs kept
// apart (its args have no inputs key) has no row of them: it must not run,
// or be retried, with none.
func (q *Queue) storedArgs(ctx context.Context, riverID int64) (runArgs, error) {
	var (
		args, in []byte
		has      bool
	)
	err := q.db.QueryRowContext(ctx, q.d.q(`SELECT `+q.d.argsText+`, i.inputs, i.river_id IS NOT NULL
		FROM river_job LEFT JOIN hookhost_job_inputs i ON i.river_id = river_job.id WHERE river_job.id = ?`), riverID).
		Scan(&args, &in, &has)
	if err != nil {
		return runArgs{}, fmt.Errorf("jobs: read the job's args: %w", err)
	}
	var a runArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return runArgs{}, fmt.Errorf("%w: %w", ErrArgsUnreadable, err)
	}
	if has {
		if in == nil {
			in = []byte{}
		}
		a.Inputs = in
	} else if len(a.Inputs) == 0 {
		// No inputs key, or one whose value is null or "": queued with its
		// inputs kept apart (or edited by hand), and they are gone.
		return runArgs{}, fmt.Errorf("jobs: job %d: %w", riverID, ErrInputsGone)
	}
	return a, nil
}

// deleteInputsBeforeSQL deletes the real inputs of the jobs River's
// cleaner deletes (its JobDeleteBefore without queue filters, the same
// condition, order and limit): parameters are, for cancelled, completed
// and discarded jobs in turn, whether to delete them and the horizon of
// their finalized_at; then the most jobs to delete.
const deleteInputsBeforeSQL = `DELETE FROM hookhost_job_inputs WHERE river_id IN (
	SELECT id FROM river_job
	WHERE (state = 'cancelled' AND ? AND finalized_at < ?) OR
		(state = 'completed' AND ? AND finalized_at < ?) OR
		(state = 'discarded' AND ? AND finalized_at < ?)
	ORDER BY id
	LIMIT ?)`

// deleteBefore is River's cleaner's JobDeleteBefore (del, run by River's
// executor of a transaction) with, first and in the same transaction, the
// deletion of the real inputs of the jobs it deletes. On SQLite, whose
// transactions run one at a time, both statements find the same jobs; on
// PostgreSQL a job another process deleted in between may move River's
// limit past the inputs' (their row then stays), but never the other way.
// A deletion with a schema or queue filters (which the queue's client never
// asks for) is River's alone.
func deleteBefore(ctx context.Context, db *sql.DB, d sqlDialect, params *riverdriver.JobDeleteBeforeParams,
	del func(tx *sql.Tx) (int, error)) (int, error) {
	filtered := params.Schema != "" || len(params.QueuesExcluded) > 0 || params.QueuesIncluded != nil
	horizon := func(t time.Time) any { return t }
	if d.name != DialectPostgres {
		horizon = func(t time.Time) any { return sqliteTime(&t) } // as River's SQLite driver compares them
	}
	var n int
	err := sqlBatch(db, func(ctx context.Context, tx *sql.Tx, _ []struct{}) error {
		if !filtered {
			_, err := tx.ExecContext(ctx, d.q(deleteInputsBeforeSQL),
				params.CancelledDoDelete, horizon(params.CancelledFinalizedAtHorizon),
				params.CompletedDoDelete, horizon(params.CompletedFinalizedAtHorizon),
				params.DiscardedDoDelete, horizon(params.DiscardedFinalizedAtHorizon), params.Max)
			if err != nil {
				return fmt.Errorf("delete job inputs: %w", err)
			}
		}
		var err error
		n, err = del(tx)
		return err
	})(ctx, nil)
	return n, err
}

// sweepInputs deletes the real inputs whose River row is gone by any other
// way than the two that delete them with it: a prune pass that failed
// between its two statements, the cleaner's statements on PostgreSQL
// finding different jobs (deleteBefore), a server of an earlier version's
// cleaner or pruning (which knows nothing of this table). An inputs row and
// its River row are inserted in one transaction, so a row without its River
// row is never one being queued. Each prune pass reads the next
// sweepInputsSpan rows by River id from where the last one stopped
// (Queue.sweepFrom), starting over past the end: the whole table, which
// holds the inputs of every job River keeps, was a scan of hundreds of MB
// a minute on every server (review rev4).
func (q *Queue) sweepInputs(ctx context.Context) error {
	from := q.sweepFrom.Load()
	var to sql.NullInt64
	err := q.db.QueryRowContext(ctx, q.d.q(`SELECT MAX(river_id) FROM (SELECT river_id FROM hookhost_job_inputs
		WHERE river_id > ? ORDER BY river_id LIMIT ?) span`), from, sweepInputsSpan).Scan(&to)
	if err != nil {
		return fmt.Errorf("jobs: delete inputs whose River row is gone: %w", err)
	}
	if !to.Valid { // past the end: the next pass starts over
		q.sweepFrom.Store(0)
		return nil
	}
	_, err = q.db.ExecContext(ctx, q.d.q(`DELETE FROM hookhost_job_inputs WHERE river_id > ? AND river_id <= ?
		AND NOT EXISTS (SELECT 1 FROM river_job WHERE river_job.id = hookhost_job_inputs.river_id)`), from, to.Int64)
	if err != nil {
		return fmt.Errorf("jobs: delete inputs whose River row is gone: %w", err)
	}
	q.sweepFrom.Store(to.Int64)
	return nil
}

// sweepInputsSpan is how many inputs rows a prune pass reads for ones
// whose River row is gone (sweepInputs).
const sweepInputsSpan = 4096

// deleteInputsGone deletes the real inputs of the River jobs riverIDs
// whose River row is gone (the prune pass deleted it).
func (q *Queue) deleteInputsGone(ctx context.Context, riverIDs []any) error {
	if len(riverIDs) == 0 {
		return nil
	}
	_, err := q.db.ExecContext(ctx, q.d.q(`DELETE FROM hookhost_job_inputs WHERE river_id IN (?`+strings.Repeat(", ?", len(riverIDs)-1)+`)
		AND NOT EXISTS (SELECT 1 FROM river_job WHERE river_job.id = hookhost_job_inputs.river_id)`), riverIDs...)
	if err != nil {
		return fmt.Errorf("delete the inputs of pruned records: %w", err)
	}
	return nil
}
