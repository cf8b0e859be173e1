package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// River's completer sets the state of the jobs its workers finished every
// 50 ms, in one transaction (JobSetStateIfRunningMany). River's SQLite
// driver runs one UPDATE per job there, each evaluating the cancellation,
// retry and metadata cases of every state: about 350k instructions a job.
// A batch that only completes running jobs (no metadata to merge, no
// error, no new attempt or schedule) the queue writes itself as one
// UPDATE ... FROM (VALUES ...), which is what River's statement does for
// such jobs; anything else, or a batch with a job no longer running,
// goes to River's driver, and so does a batch with a unique job (whose
// row holds unique_states).

// sqliteCompleteSQL completes running jobs (VALUES rows of id and
// finalized_at follow) and returns them as River's JobSetStateIfRunning,
// without their args: the completer's rows go only to River's event
// subscribers (the queue subscribes none), and a run job's args held its
// inputs, the request's body twice in base64 (as those of jobs queued
// before schema version 10 still do: inputs.go). Returning them made SQLite
// render the stored JSONB as text and Go validate it again, per byte of
// the body, for every completed job (about 6% of the server's CPU with a
// 16 KiB body, bench/README.md).
const (
	sqliteCompleteSQL = `UPDATE river_job SET finalized_at = v.column2, state = 'completed' FROM (VALUES `
	sqliteCompleteEnd = `) AS v WHERE river_job.id = v.column1 AND river_job.state = 'running'
    AND river_job.unique_states IS NULL
RETURNING
    river_job.id,
    ` + sqliteJobColumns
)

// sqliteExec is River's SQLite executor (not of a transaction), with the
// completer's plain completions written by the queue, River's fetch and
// completions committed without waiting for the disk (relaxedTx), and the
// fetch recording the start of the run jobs it takes (started.go).
type sqliteExec struct {
	riverdriver.Executor
	db  *sql.DB
	drv riverdriver.Driver[*sql.Tx]
	// started gets the attempts whose start the fetch recorded (nil: the
	// fetch records none), and health the fetch's outcome when it does.
	started *startedJobs
	health  *writeHealth
	// fetched gets the inputs the fetch takes out of run jobs' args (nil:
	// it takes none; fetched.go).
	fetched *fetchedInputs
}

// GetExecutor implements riverdriver.Driver.
func (d wakeDriver) GetExecutor() riverdriver.Executor {
	return &sqliteExec{Executor: d.Driver.GetExecutor(), db: d.db, drv: d.Driver, started: d.started, health: d.health,
		fetched: d.fetched}
}

// JobGetAvailable implements riverdriver.Executor: River's fetch (its
// statement, run by the queue: sqlitefetch.go), with the real inputs
// (fetchInputs) and the start (started.go) of the run jobs it takes, in a
// transaction committed
// with synchronous=NORMAL (see relaxed.go). The fetch commits often with
// one or two jobs (a worker that frees up fetches again), and waiting for
// its fsync held the database's one connection from the inserts behind
// the 202s.
func (e *sqliteExec) JobGetAvailable(ctx context.Context, params *riverdriver.JobGetAvailableParams) (*riverdriver.JobGetAvailableResult, error) {
	growStack(params.MaxToLock) // River fetches on a goroutine of its own
	var (
		res      *riverdriver.JobGetAvailableResult
		ids      []int64
		attempts []int
		live     map[int64]bool
		inputs   map[int64][]byte
	)
	err := relaxedTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		if params.Schema != "" {
			res, err = e.drv.UnwrapExecutor(tx).JobGetAvailable(ctx, params)
			return err
		}
		if res, err = sqliteFetch(ctx, tx, params); err != nil {
			return err
		}
		if e.fetched != nil {
			if inputs, err = fetchInputs(ctx, tx, res); err != nil {
				return err
			}
		}
		if e.started == nil {
			return nil
		}
		ids, attempts, live, err = startFetched(ctx, tx, res)
		return err
	})
	if err := e.started.fetched(e.health, err, ids, attempts, live); err != nil {
		return nil, err
	}
	markUnreadable(res)
	e.fetched.put(res, inputs)
	e.fetched.strip(res)
	return res, nil
}

// JobDeleteBefore implements riverdriver.Executor: River's cleaner, with
// the real inputs of the jobs it deletes (deleteBefore).
func (e *sqliteExec) JobDeleteBefore(ctx context.Context, params *riverdriver.JobDeleteBeforeParams) (int, error) {
	return deleteBefore(ctx, e.db, newSQLDialect(DialectSQLite), params, func(tx *sql.Tx) (int, error) {
		return e.drv.UnwrapExecutor(tx).JobDeleteBefore(ctx, params)
	})
}

// JobSetStateIfRunningMany implements riverdriver.Executor: River's
// completer, committed with synchronous=NORMAL (see relaxed.go).
func (e *sqliteExec) JobSetStateIfRunningMany(ctx context.Context, params *riverdriver.JobSetStateIfRunningManyParams) ([]*rivertype.JobRow, error) {
	if plainCompletions(params) {
		rows, err := sqliteCompleteJobs(ctx, e.db, params)
		if err != nil {
			return nil, err
		}
		if rows != nil {
			return rows, nil
		}
		// A job was not running: River's way (it returns such jobs too).
	}
	var rows []*rivertype.JobRow
	err := relaxedTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		rows, err = e.drv.UnwrapExecutor(tx).JobSetStateIfRunningMany(ctx, params)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// plainCompletions reports whether every state change of params completes
// a job and changes nothing else.
func plainCompletions(p *riverdriver.JobSetStateIfRunningManyParams) bool {
	if p.Schema != "" || len(p.ID) == 0 {
		return false
	}
	n := len(p.ID)
	if len(p.State) != n || len(p.Attempt) != n || len(p.ErrData) != n || len(p.FinalizedAt) != n ||
		len(p.MetadataDoMerge) != n || len(p.ScheduledAt) != n {
		return false
	}
	for i := range p.ID {
		if p.State[i] != rivertype.JobStateCompleted || p.Attempt[i] != nil || p.ErrData[i] != nil ||
			p.FinalizedAt[i] == nil || p.MetadataDoMerge[i] || p.ScheduledAt[i] != nil {
			return false
		}
	}
	return true
}

// errNotAllRunning rolls back a plain completion in which a job was not
// running.
var errNotAllRunning = errors.New("a job to complete is not running")

// sqliteCompleteJobs completes the running jobs of p in one transaction
// (in statements of statementRows) committed with synchronous=NORMAL (see
// relaxed.go), and returns their rows in the order of p.ID; nil (and
// nothing changed) when one of them was not running, or is unique.
func sqliteCompleteJobs(ctx context.Context, db *sql.DB, p *riverdriver.JobSetStateIfRunningManyParams) ([]*rivertype.JobRow, error) {
	at := make(map[int64]int, len(p.ID))
	for i, id := range p.ID {
		at[id] = i
	}
	out := make([]*rivertype.JobRow, len(p.ID))
	err := relaxedTx(ctx, db, func(tx *sql.Tx) error {
		clear(out)
		n, from := 0, 0
		for _, size := range statementRows(len(p.ID)) {
			got, err := sqliteCompleteOnce(ctx, tx, p, from, from+size, at, out)
			if err != nil {
				return err
			}
			n += got
			from += size
		}
		if n != len(p.ID) {
			return errNotAllRunning
		}
		return nil
	})
	if errors.Is(err, errNotAllRunning) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sqliteCompleteOnce completes the jobs p.ID[from:to] in one statement,
// puts their rows in out (at their index in at) and returns how many it
// completed.
func sqliteCompleteOnce(ctx context.Context, tx *sql.Tx, p *riverdriver.JobSetStateIfRunningManyParams, from, to int,
	at map[int64]int, out []*rivertype.JobRow) (int, error) {
	var q strings.Builder
	q.WriteString(sqliteCompleteSQL)
	args := make([]any, 0, 2*(to-from))
	for i := from; i < to; i++ {
		if i > from {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?)")
		args = append(args, p.ID[i], sqliteTime(p.FinalizedAt[i]))
	}
	q.WriteString(sqliteCompleteEnd)
	rs, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return 0, fmt.Errorf("error setting job state: %w", err)
	}
	defer rs.Close()
	n := 0
	for rs.Next() {
		var r sqliteJobRow
		if err := r.scan(rs, false); err != nil {
			return 0, err
		}
		i, ok := at[r.id]
		if !ok || out[i] != nil {
			return 0, fmt.Errorf("completed job %d not asked for", r.id)
		}
		// A field that does not decode is left empty, as River does.
		out[i], _ = r.jobRow()
		n++
	}
	if err := rs.Err(); err != nil {
		return 0, err
	}
	return n, rs.Close()
}
