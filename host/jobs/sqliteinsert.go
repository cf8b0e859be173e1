package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// River's SQLite driver inserts a batch of jobs (JobInsertFastMany) as one
// JSON document: every job becomes a map marshalled into a JSON array,
// which the statement takes apart again with json_each and thirteen
// json_extract calls per row, and each job's metadata gets a random nonce
// (rewritten JSON) that only tells an inserted row from a duplicate of a
// unique job. hookhost's jobs are not unique, so for a batch whose jobs
// have no unique key and no chosen id the queue inserts them itself, as
// River's statement would store them, with one multi-row INSERT of bound
// values (sqliteInsertTx); anything else goes to River's driver. A batch
// of 64 hand-offs (BenchmarkInsertBatch) took about 592k instructions a job
// River's way, 214k this way.

// sqliteInsertJobsSQL inserts River jobs with their defaults as River's
// JobInsertFastMany writes them (datetime('now', 'subsec') for missing
// times, JSON columns as jsonb); sqliteInsertJobsRow is each row (10
// parameters, at most maxStatementRows rows). sqliteInsertRunsRow is a row
// whose args are kept as the text they are (sqlInsertTx.insertJobs): cast,
// since a []byte is bound as a BLOB, which SQLite's JSON functions take
// for JSONB.
const (
	sqliteInsertJobsSQL = `INSERT INTO river_job (args, created_at, kind, max_attempts, metadata, priority, queue,
	scheduled_at, state, tags) VALUES `
	sqliteInsertJobsRow = `(jsonb(?), coalesce(?, datetime('now', 'subsec')), ?, ?, jsonb(?), ?, ?,
	coalesce(?, datetime('now', 'subsec')), ?, jsonb(?))`
	sqliteInsertRunsRow = `(cast(? AS text), coalesce(?, datetime('now', 'subsec')), ?, ?, jsonb(?), ?, ?,
	coalesce(?, datetime('now', 'subsec')), ?, jsonb(?))`
	sqliteInsertJobsReturning = ` RETURNING id, created_at, scheduled_at`
)

// sqliteTimeFormat is how River's SQLite driver writes times (its
// timeString): other formats store fine but do not compare with
// datetime('now', 'subsec').
const sqliteTimeFormat = "2006-01-02 15:04:05.000"

// sqliteTime is t as River's SQLite driver binds it, or nil.
func sqliteTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Round(time.Millisecond).Format(sqliteTimeFormat)
}

// sqliteInsertTx is River's SQLite executor of a transaction, with its
// plain batches of job inserts written by the queue.
type sqliteInsertTx struct {
	riverdriver.ExecutorTx
	tx *sql.Tx
}

// JobInsertFastMany implements riverdriver.Executor.
func (e *sqliteInsertTx) JobInsertFastMany(ctx context.Context, params *riverdriver.JobInsertFastManyParams) ([]*riverdriver.JobInsertFastResult, error) {
	if !plainInserts(params) {
		return e.ExecutorTx.JobInsertFastMany(ctx, params)
	}
	return sqliteInsertJobs(ctx, e.tx, params.Jobs, sqliteInsertJobsRow)
}

// plainInserts reports whether a batch can skip River's statement: no
// schema, and no job with a unique key or an id of its own, nor without
// tags (River's client gives every job tags, if only []; River's statement
// refuses nil ones).
func plainInserts(params *riverdriver.JobInsertFastManyParams) bool {
	if params.Schema != "" || len(params.Jobs) == 0 {
		return false
	}
	for _, j := range params.Jobs {
		if j.ID != nil || len(j.UniqueKey) > 0 || j.UniqueStates != 0 || j.Tags == nil {
			return false
		}
	}
	return true
}

// maxStatementRows caps the rows of one multi-row statement, and
// statementRows splits n rows into statements of power-of-two sizes up to
// it: the connection's statement cache (host/store/sqlite) then holds at
// most seven forms of each statement, where one form per batch size
// would fill it with large statements and push out River's others.
const maxStatementRows = 64

func statementRows(n int) []int {
	var sizes []int
	for n > 0 {
		c := maxStatementRows
		for c > n {
			c /= 2
		}
		sizes = append(sizes, c)
		n -= c
	}
	return sizes
}

// sqliteInsertJobs inserts jobs, none unique nor with an id, with rows of
// the form row (sqliteInsertJobsRow or sqliteInsertRunsRow), and returns
// their rows in the order of jobs.
func sqliteInsertJobs(ctx context.Context, tx *sql.Tx, jobs []*riverdriver.JobInsertFastParams, row string) ([]*riverdriver.JobInsertFastResult, error) {
	res := make([]*riverdriver.JobInsertFastResult, 0, len(jobs))
	for _, n := range statementRows(len(jobs)) {
		part, err := sqliteInsertJobsOnce(ctx, tx, jobs[:n], row)
		if err != nil {
			return nil, err
		}
		res = append(res, part...)
		jobs = jobs[n:]
	}
	return res, nil
}

// sqliteInsertJobsOnce inserts jobs in one statement of rows row.
func sqliteInsertJobsOnce(ctx context.Context, tx *sql.Tx, jobs []*riverdriver.JobInsertFastParams, row string) ([]*riverdriver.JobInsertFastResult, error) {
	var q strings.Builder
	q.Grow(len(sqliteInsertJobsSQL) + len(jobs)*(len(row)+2) + len(sqliteInsertJobsReturning))
	q.WriteString(sqliteInsertJobsSQL)
	args := make([]any, 0, 10*len(jobs))
	rows := make([]*rivertype.JobRow, len(jobs))
	for i, j := range jobs {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(row)
		metadata := j.Metadata
		if len(metadata) == 0 {
			metadata = []byte("{}")
		}
		tags, err := json.Marshal(j.Tags)
		if err != nil {
			return nil, fmt.Errorf("error marshaling tags: %w", err)
		}
		args = append(args, j.EncodedArgs, sqliteTime(j.CreatedAt), j.Kind, j.MaxAttempts, metadata, j.Priority,
			j.Queue, sqliteTime(j.ScheduledAt), string(j.State), tags)
		rows[i] = &rivertype.JobRow{EncodedArgs: j.EncodedArgs, Errors: []rivertype.AttemptError{}, Kind: j.Kind,
			MaxAttempts: j.MaxAttempts, Metadata: metadata, Priority: j.Priority, Queue: j.Queue, State: j.State,
			Tags: j.Tags}
	}
	q.WriteString(sqliteInsertJobsReturning)
	rs, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	type inserted struct {
		id                   int64
		created, scheduledAt time.Time
	}
	got := make([]inserted, 0, len(jobs))
	for rs.Next() {
		var r inserted
		if err := rs.Scan(&r.id, &r.created, &r.scheduledAt); err != nil {
			return nil, err
		}
		got = append(got, r)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if len(got) != len(jobs) {
		return nil, fmt.Errorf("inserted %d jobs of %d", len(got), len(jobs))
	}
	// SQLite returns the rows in no promised order; the ids (AUTOINCREMENT,
	// none chosen) grow in the order of the values.
	slices.SortFunc(got, func(a, b inserted) int { return cmp.Compare(a.id, b.id) })
	res := make([]*riverdriver.JobInsertFastResult, len(jobs))
	for i, r := range got {
		row := rows[i]
		row.ID, row.CreatedAt, row.ScheduledAt = r.id, r.created.UTC(), r.scheduledAt.UTC()
		res[i] = &riverdriver.JobInsertFastResult{Job: row}
	}
	return res, nil
}

// UnwrapExecutor implements riverdriver.Driver: River's executor of tx,
// with the queue's batches of plain inserts.
func (d wakeDriver) UnwrapExecutor(tx *sql.Tx) riverdriver.ExecutorTx {
	return &sqliteInsertTx{ExecutorTx: d.Driver.UnwrapExecutor(tx), tx: tx}
}

// UnwrapTx implements riverdriver.Driver.
func (d wakeDriver) UnwrapTx(execTx riverdriver.ExecutorTx) *sql.Tx {
	if e, ok := execTx.(*sqliteInsertTx); ok {
		return e.tx
	}
	return d.Driver.UnwrapTx(execTx)
}
