package jobs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/hookhost/hookhost/internal/pgprep"
)

// On PostgreSQL the queue's River client runs on database/sql
// (riverdatabasesql), whose executor passes array parameters as text that
// pgx parses again and goes through database/sql's conversions. Two of
// its queries run for every job: the producer's fetch (JobGetAvailable)
// and the completer's state changes (JobSetStateIfRunningMany, a dozen
// arrays). pgDriver runs those two with River's pgx executor
// (riverpgxv5), on a pgx connection of the same pool, in binary
// parameters: the same statement text, only a cheaper client. The
// completer's commits on its own; the fetch shares its transaction with
// the start of the run jobs it took (pgFetchStartSQL, see started.go)
// and sends both in one round trip (fetchTx).

// pgDriver is riverdatabasesql's driver whose executors run the fetch and
// the completer's queries natively (pgExec).
type pgDriver struct {
	riverdriver.Driver[*sql.Tx]
	db     *sql.DB
	native riverdriver.Driver[pgx.Tx]
	// started and health go to its executors: the fetch records the
	// start of the run jobs it takes (started.go).
	started *startedJobs
	health  *writeHealth
	// marks are where the fetches start (pgfetch.go).
	marks *fetchMarks
	// fetched gets the inputs the fetch takes out of run jobs' args
	// (fetched.go).
	fetched *fetchedInputs
}

// GetExecutor implements riverdriver.Driver.
func (d pgDriver) GetExecutor() riverdriver.Executor {
	return &pgExec{Executor: d.Driver.GetExecutor(), drv: d.Driver, db: d.db, native: d.native, started: d.started, health: d.health,
		marks: d.marks, fetched: d.fetched}
}

// pgExec is riverdatabasesql's executor (not of a transaction) with the
// fetch and the completer's queries run by River's pgx executor.
type pgExec struct {
	riverdriver.Executor
	drv     riverdriver.Driver[*sql.Tx] // River's, whose executor e embeds
	db      *sql.DB
	native  riverdriver.Driver[pgx.Tx]
	started *startedJobs // nil: the fetch records no start
	health  *writeHealth
	marks   *fetchMarks // nil: every fetch is River's own
	fetched *fetchedInputs
}

// JobGetAvailable implements riverdriver.Executor: River's fetch and, in
// the same statement, the start and the real inputs (inputs.go) of the
// run jobs it took (pgFetchStartSQL, fetchTx): one round trip.
func (e *pgExec) JobGetAvailable(ctx context.Context, params *riverdriver.JobGetAvailableParams) (*riverdriver.JobGetAvailableResult, error) {
	growStack(params.MaxToLock) // River fetches on a goroutine of its own
	var res *riverdriver.JobGetAvailableResult
	if e.started == nil || params.Schema != "" || params.Now != nil {
		err := e.onConn(ctx, func(ex riverdriver.Executor) error {
			var err error
			res, err = ex.JobGetAvailable(ctx, params)
			return err
		})
		markUnreadable(res)
		e.fetched.strip(res)
		return res, err
	}
	var (
		ids      []int64
		attempts []int
		live     map[int64]bool
		inputs   map[int64][]byte
	)
	now := e.marks.clock()
	mark, bounded := e.marks.bound(params, now)
	err := onPgx(ctx, e.db, func(c *pgx.Conn, send sendBatch) error {
		tx := &fetchTx{autocommitTx: autocommitTx{c: c}, send: send, at: micros(nowUTC())}
		if bounded {
			tx.from = &mark
		}
		var err error
		res, err = e.native.UnwrapExecutor(tx).JobGetAvailable(ctx, params)
		ids, attempts, live, err = tx.started(err)
		bounded, inputs = tx.bounded, tx.inputs()
		return err
	})
	if err := e.started.fetched(e.health, err, ids, attempts, live); err != nil {
		return nil, err
	}
	e.marks.fetched(params, !bounded, now, res)
	markUnreadable(res)
	e.fetched.put(res, inputs)
	e.fetched.strip(res)
	return res, nil
}

// fetchTx is the connection River's fetch runs its one query on: it runs
// that query inside pgFetchStartSQL, one statement (one round trip,
// committed on its own) that also records the start of the run jobs it
// took. River reads its columns of the rows; started reads the rest.
type fetchTx struct {
	autocommitTx
	send sendBatch
	at   int64 // the start time
	// from, when not nil, is the mark the fetch starts at (pgfetch.go);
	// bounded is whether it did.
	from    *fetchMark
	bounded bool
	br      pgx.BatchResults
	rows    *fetchRows
}

// Query implements pgx.Tx for River's fetch query.
func (t *fetchTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.br != nil {
		return nil, errors.New("jobs: River's fetch ran a second query")
	}
	at := len(args) + 1 // the start time's parameter, then the mark's
	args = append(args, t.at)
	if t.from != nil {
		if sql, t.bounded = pgFetchBoundSQL(sql, at+1); t.bounded {
			args = append(args, t.from.priority, t.from.scheduledAt)
		}
	}
	var b pgx.Batch
	b.Queue(pgFetchStartSQL(sql, at), args...)
	t.br = t.send(ctx, &b)
	rows, err := t.br.Query()
	if err != nil {
		return nil, err
	}
	t.rows = &fetchRows{Rows: rows, live: map[int64]bool{}}
	return t.rows, nil
}

// fetchRows are the rows of pgFetchStartSQL as River reads them: its
// fetch's columns, then the job's River id and attempt, whether the fetch
// recorded its start, whether it marked the record running, and a run
// job's real inputs, which Scan keeps.
type fetchRows struct {
	pgx.Rows
	ids      []int64
	attempts []int
	live     map[int64]bool
	inputs   map[int64][]byte
}

// Scan implements pgx.Rows.
func (r *fetchRows) Scan(dest ...any) error {
	var (
		id                      int64
		attempt                 int
		started, live, hasInput bool
		inputs                  []byte
	)
	if err := r.Rows.Scan(append(dest, &id, &attempt, &started, &live, &inputs, &hasInput)...); err != nil {
		return err
	}
	if started {
		r.ids, r.attempts = append(r.ids, id), append(r.attempts, attempt)
		r.live[id] = live
	}
	if hasInput {
		if inputs == nil {
			inputs = []byte{}
		}
		if r.inputs == nil {
			r.inputs = map[int64][]byte{}
		}
		r.inputs[id] = inputs
	}
	return nil
}

// started ends the statement of River's fetch (whose error is err) and
// returns the River ids and attempts of the jobs whose start it recorded,
// and which of them it marked running. A job among them whose row River
// cannot decode never reaches its worker: River's error handler ends it
// (unreadable.go).
func (t *fetchTx) started(err error) (ids []int64, attempts []int, live map[int64]bool, _ error) {
	if t.br == nil {
		if err == nil {
			err = errors.New("jobs: River's fetch ran no query")
		}
		return nil, nil, nil, err
	}
	if cerr := t.br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return t.rows.ids, t.rows.attempts, t.rows.live, nil
}

// inputs returns the real inputs of the run jobs the fetch took, by River
// id (after started).
func (t *fetchTx) inputs() map[int64][]byte {
	if t.rows == nil {
		return nil
	}
	return t.rows.inputs
}

// sendBatch sends a pgx batch on a connection (pgxSender).
type sendBatch func(ctx context.Context, b *pgx.Batch) pgx.BatchResults

// pgxSender returns pgx's connection under a database/sql driver
// connection of pgx's, and how to send a batch on it: through the driver
// connection when it sends batches itself (batchSender), else on pgx's
// connection.
func pgxSender(dc any) (*pgx.Conn, sendBatch, error) {
	c, err := pgprep.Conn(dc)
	if err != nil {
		return nil, nil, err
	}
	if bs, ok := dc.(batchSender); ok {
		return c, bs.SendBatch, nil
	}
	return c, c.SendBatch, nil
}

// onPgx runs fn on pgx's connection under a connection of db's pool,
// with how to send a batch on it (pgxSender).
func onPgx(ctx context.Context, db *sql.DB, fn func(c *pgx.Conn, send sendBatch) error) error {
	return pgprep.OnDriverConn(ctx, db, func(dc any) error {
		c, send, err := pgxSender(dc)
		if err != nil {
			return err
		}
		return fn(c, send)
	})
}

// pgxTx runs fn in a pgx transaction on a connection of db's pool and
// commits it. fn's batches (send) run in the transaction. The transaction
// has the lock_timeout of lock, set by the query that begins it
// (lockStmts.begin): no round trip more than BEGIN's.
func pgxTx(ctx context.Context, db *sql.DB, lock lockStmts, fn func(tx pgx.Tx, send sendBatch) error) error {
	return onPgx(ctx, db, func(c *pgx.Conn, send sendBatch) error {
		tx, err := c.BeginTx(ctx, pgx.TxOptions{BeginQuery: lock.begin})
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(tx, send); err != nil {
			if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil {
				// Do not give the pool back a connection in an unknown state.
				return fmt.Errorf("%w (rollback: %v) %w", err, rerr, driver.ErrBadConn)
			}
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}

// JobDeleteBefore implements riverdriver.Executor: River's cleaner, with
// the real inputs of the jobs it deletes (deleteBefore).
func (e *pgExec) JobDeleteBefore(ctx context.Context, params *riverdriver.JobDeleteBeforeParams) (int, error) {
	return deleteBefore(ctx, e.db, newSQLDialect(DialectPostgres), params, func(tx *sql.Tx) (int, error) {
		return e.drv.UnwrapExecutor(tx).JobDeleteBefore(ctx, params)
	})
}

// JobSetStateIfRunningMany implements riverdriver.Executor: River's
// statement, whose rows do not carry the jobs' args (completeTx).
func (e *pgExec) JobSetStateIfRunningMany(ctx context.Context, params *riverdriver.JobSetStateIfRunningManyParams) ([]*rivertype.JobRow, error) {
	var rows []*rivertype.JobRow
	err := onPgx(ctx, e.db, func(c *pgx.Conn, _ sendBatch) error {
		var err error
		rows, err = e.native.UnwrapExecutor(completeTx{autocommitTx{c: c}}).JobSetStateIfRunningMany(ctx, params)
		return err
	})
	return rows, err
}

// completeTx is the connection River's completer runs its statement on.
// The statement returns the rows of the jobs it changed, each with its
// args, which go only to River's event subscribers (the queue subscribes
// none): a run job's args held its inputs, the request's body twice in
// base64 (as those of jobs queued before schema version 10 still do:
// inputs.go), which PostgreSQL read back (decompressed) and sent for every
// job it completed. completeTx has the statement return {} as every
// row's args (pgCompleteSQL); a statement it does not recognise runs as
// it is.
type completeTx struct{ autocommitTx }

// Query implements pgx.Tx.
func (t completeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.c.Query(ctx, pgCompleteSQL(sql), args...)
}

// River's JobSetStateIfRunningMany statement (riverpgxv5) selects the args
// twice: in the UPDATE's RETURNING and in the rows it did not change; the
// rows it returns take the UPDATE's through a CTE.
const (
	pgCompleteName       = "-- name: JobSetStateIfRunningMany "
	pgCompleteReturning  = "RETURNING river_job.id, river_job.args,"
	pgCompleteUnchanged  = "SELECT river_job.id, river_job.args,"
	pgCompleteNoArgs     = "'{}'::jsonb AS args,"
	pgCompleteNoArgsFrom = "river_job.args,"
)

// pgCompleteSQL returns River's completer statement sql selecting {}
// instead of each job's args, or sql as it is if it is not that statement
// or not in the form this version knows.
func pgCompleteSQL(sql string) string {
	if !strings.HasPrefix(sql, pgCompleteName) || strings.Count(sql, pgCompleteReturning) != 1 ||
		strings.Count(sql, pgCompleteUnchanged) != 1 || strings.Count(sql, pgCompleteNoArgsFrom) != 2 {
		return sql
	}
	return strings.ReplaceAll(sql, pgCompleteNoArgsFrom, pgCompleteNoArgs)
}

// onConn runs fn with River's pgx executor on a pgx connection of the
// pool, whose statements commit each on its own (autocommitTx).
func (e *pgExec) onConn(ctx context.Context, fn func(ex riverdriver.Executor) error) error {
	return onPgx(ctx, e.db, func(c *pgx.Conn, _ sendBatch) error {
		return fn(e.native.UnwrapExecutor(autocommitTx{c: c}))
	})
}

// autocommitTx is a pgx connection posing as a transaction for River's
// pgx executor: its statements run outside a transaction, each committed
// on its own, as riverdatabasesql's executor runs them on the pool. Only
// the two single-statement queries of pgExec use it; Begin starts a real
// transaction, should River's executor ask for one (a savepoint in a
// transaction).
type autocommitTx struct{ c *pgx.Conn }

var _ pgx.Tx = autocommitTx{}

func (t autocommitTx) Begin(ctx context.Context) (pgx.Tx, error) { return t.c.Begin(ctx) }
func (t autocommitTx) Commit(context.Context) error              { return nil }
func (t autocommitTx) Rollback(context.Context) error            { return nil }
func (t autocommitTx) LargeObjects() pgx.LargeObjects            { return pgx.LargeObjects{} }
func (t autocommitTx) Conn() *pgx.Conn                           { return t.c }

func (t autocommitTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.c.CopyFrom(ctx, table, cols, src)
}

func (t autocommitTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.c.SendBatch(ctx, b)
}

func (t autocommitTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.c.Prepare(ctx, name, sql)
}

func (t autocommitTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.c.Exec(ctx, sql, args...)
}

func (t autocommitTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.c.Query(ctx, sql, args...)
}

func (t autocommitTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.c.QueryRow(ctx, sql, args...)
}
