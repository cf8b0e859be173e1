package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/internal/sqlitesync"
)

const runCols = `id, webhook_id, automation, revision, status, exit, error, duration_us, inputs, output, log, created_at, request_id, cause, job_id, replay_of`

// Run listing limits (see store.RunFilter).
const (
	defaultRunLimit = 50
	maxRunLimit     = 500
)

func scanRun(r rowScanner) (*store.Run, error) {
	var x store.Run
	err := r.Scan(&x.ID, &x.WebhookID, &x.Automation, &x.Revision, &x.Status, &x.Exit, &x.Error,
		&x.DurationUS, blobCol{&x.Inputs}, blobCol{&x.Output}, blobCol{&x.Log}, timeCol{&x.CreatedAt},
		&x.RequestID, &x.Cause, &x.JobID, &x.ReplayOf)
	if err != nil {
		return nil, err
	}
	return &x, nil
}

// InsertRuns inserts runs in one transaction, filling in each ID (a UUIDv7
// when empty) and CreatedAt (kept when set, else now). Either every run is
// written or none is; a taken ID is ErrConflict, an ID or webhook ID that
// store.ValidName refuses ErrInvalid, and so is a status outside the
// database's integer column. The records are filled in only when the
// transaction commits. A COMMIT whose answer is lost (the connection
// dropped after the server committed) is an error though the records are
// written: a caller that set the IDs finds them taken when it retries.
func (s *Store) InsertRuns(ctx context.Context, runs []*store.Run) error {
	if len(runs) == 0 {
		return nil
	}
	for _, r := range runs {
		switch {
		case !store.ValidName(r.ID):
			return fmt.Errorf("insert runs: %w", invalid("run id", r.ID))
		case !store.ValidName(r.WebhookID):
			return fmt.Errorf("insert runs: run %q: %w", r.ID, invalid("webhook id", r.WebhookID))
		case r.Status < math.MinInt32 || r.Status > math.MaxInt32:
			// PostgreSQL's status is an integer, which pgRunArgs encodes
			// in 4 bytes (review rev1: a larger one was cut to its low
			// bits, where the multi-row INSERT was refused).
			return fmt.Errorf("%w: insert runs: run %q: status %d is out of range", store.ErrInvalid, r.ID, r.Status)
		}
	}
	ids := make([]string, len(runs))
	times := make([]time.Time, len(runs))
	t := now()
	for i, r := range runs {
		ids[i], times[i] = r.ID, t
		if ids[i] == "" {
			var err error
			if ids[i], err = newID(); err != nil {
				return fmt.Errorf("insert runs: %w", err)
			}
		}
		if !r.CreatedAt.IsZero() {
			times[i] = norm(r.CreatedAt)
		}
	}
	err := s.wrote(s.writeRuns(ctx, runs, ids, times))
	if errors.Is(err, errRunsSkipped) {
		// Rolled back; name the run (only a failure pays for this).
		id, ferr := s.takenRunID(ctx, ids)
		if ferr != nil {
			return fmt.Errorf("insert runs: %w (%w)", store.ErrConflict, ferr)
		}
		return fmt.Errorf("insert runs: run %q: %w", id, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert runs: %w", err)
	}
	for i, r := range runs {
		r.ID, r.CreatedAt = ids[i], times[i]
	}
	return nil
}

// writeRuns writes runs, with their IDs and creation times, whole or not
// at all: on PostgreSQL with one statement (pgInsertRuns) unless the
// records are too large for one (Dialect.RunsStatementBytes), else with
// INSERTs of up to Dialect.RunsPerInsert records in a transaction
// (inRunsTx).
func (s *Store) writeRuns(ctx context.Context, runs []*store.Run, ids []string, times []time.Time) error {
	if s.d.RunsStatementBytes > 0 {
		if sizes, total := runSizes(runs, ids); total <= s.d.RunsStatementBytes {
			n, err := s.pgInsertRuns(ctx, pgRunArgs(runs, ids, times, sizes, total))
			return s.runsWritten(n, err, len(runs))
		}
	}
	created := make([]any, len(runs))
	for i, t := range times {
		created[i] = s.d.Time(t) // normalised already
	}
	per := max(s.d.RunsPerInsert, 1)
	return s.inRunsTx(ctx, func(exec runExec) error {
		for start := 0; start < len(runs); {
			end := start + runChunk(len(runs)-start, per)
			chunk := runRows{runs: runs[start:end], ids: ids[start:end], created: created[start:end]}
			if err := s.insertRunChunk(ctx, exec, chunk); err != nil {
				return err
			}
			start = end
		}
		return nil
	})
}

// inRunsTx is inTx for a batch of run records. On SQLite the batch
// commits with synchronous=NORMAL instead of the connection's FULL
// (sqlitesync.RelaxedTx): the commit writes the batch to the write-ahead
// log but does not wait for it to reach the disk (an fsync: about a sixth
// of a record's CPU in BenchmarkRecorder/Record). Run records are
// best-effort already (they wait up to 100 ms in memory, and are dropped
// when the queue is full); what NORMAL risks is the last batches before a
// power loss or a crash of the machine (not of the process: the log is
// written), never the database's consistency, nor the durability of the
// other writes, which stay FULL.
//
// On SQLite the transaction and fn's INSERTs run on the driver's
// connection itself (rawRunExec), without database/sql's transaction and
// with a context that cannot end (RelaxedTx says why: the goroutines that
// watched the contexts of the transaction and its five statements cost
// a 64-record batch more CPU than its statements' instructions did).
func (s *Store) inRunsTx(ctx context.Context, fn func(exec runExec) error) error {
	if s.d.Name != "sqlite" {
		return s.inTx(ctx, func(tx *sql.Tx) error { return fn(s.txRunExec(tx)) })
	}
	return sqlitesync.RelaxedTx(ctx, s.db, func(ctx context.Context, ex driver.ExecerContext) error {
		return fn(s.rawRunExec(ctx, ex))
	})
}

// runRows are the rows of one INSERT of runs: the records, their IDs and
// creation times (as the dialect encodes them), and the optional columns
// the INSERT names.
type runRows struct {
	runs    []*store.Run
	ids     []string
	created []any
	cols    runColSet
}

// runExec runs query, runInsertSQL's INSERT of rows, and returns how many
// rows it wrote.
type runExec func(ctx context.Context, query string, rows runRows) (int64, error)

// txRunExec runs the INSERTs in tx.
func (s *Store) txRunExec(tx *sql.Tx) runExec {
	var args []any
	return func(ctx context.Context, query string, rows runRows) (int64, error) {
		args = s.appendRunArgs(args[:0], rows)
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
}

// runColSet is a set of the columns a record often leaves empty (the
// col… bits, named in runOptionalCols): an INSERT names only those its
// rows fill, and the others take their defaults (empty or NULL), so that
// the database binds and copies fewer values. A row that leaves one of
// them empty in a statement that names it binds the same default.
type runColSet uint8

// The optional columns of runs, in the order of runOptionalCols.
const (
	colError runColSet = 1 << iota
	colOutput
	colLog
	colRequestID
	colCause
	colJobID
	colReplayOf
)

// runOptionalCols are the columns of runs that a record often leaves
// empty (an error, a log, a refusal cause, a job, a replay), bit i of a
// runColSet naming the i-th.
var runOptionalCols = [...]string{"error", "output", "log", "request_id", "cause", "job_id", "replay_of"}

// runFixedCols are the columns every INSERT of runs names.
const runFixedCols = `id, webhook_id, automation, revision, status, exit, duration_us, inputs, created_at, size`

// runColsOf is the set of optional columns r fills. An empty string is
// the column's default, a nil blob NULL (an empty one is not).
func runColsOf(r *store.Run) runColSet {
	var c runColSet
	if r.Error != "" {
		c |= colError
	}
	if r.Output != nil {
		c |= colOutput
	}
	if r.Log != nil {
		c |= colLog
	}
	if r.RequestID != "" {
		c |= colRequestID
	}
	if r.Cause != "" {
		c |= colCause
	}
	if r.JobID != "" {
		c |= colJobID
	}
	if r.ReplayOf != "" {
		c |= colReplayOf
	}
	return c
}

// runValues calls v with the values of r for an INSERT naming
// runFixedCols and the optional columns of cols, in that order (the order
// of the INSERT's parameters).
func runValues(v runValueSink, r *store.Run, id string, created any, cols runColSet) {
	v.text(id, false)
	v.text(r.WebhookID, false)
	v.text(r.Automation, true)
	v.int(r.Revision)
	v.int(int64(r.Status))
	v.text(r.Exit, true)
	v.int(r.DurationUS)
	v.blob(r.Inputs)
	v.value(created)
	v.int(store.RunSize(r) + int64(len(id)-len(r.ID)))
	if cols&colError != 0 {
		v.text(r.Error, true)
	}
	if cols&colOutput != 0 {
		v.blob(r.Output)
	}
	if cols&colLog != 0 {
		v.blob(r.Log)
	}
	if cols&colRequestID != 0 {
		v.text(r.RequestID, false)
	}
	if cols&colCause != 0 {
		v.text(r.Cause, false)
	}
	if cols&colJobID != 0 {
		v.text(r.JobID, false)
	}
	if cols&colReplayOf != 0 {
		v.text(r.ReplayOf, false)
	}
}

// runValueSink takes the values of a record (runValues).
type runValueSink interface {
	// text takes a string; free marks the record's free text
	// (automation, exit, error), which the dialect binds as Dialect.Bytes
	// says.
	text(s string, free bool)
	// blob takes bytes (nil: NULL).
	blob(b []byte)
	int(n int64)
	// value takes a value as the dialect encodes it (the creation time).
	value(v any)
}

// runArgs collects the values of records as database/sql arguments.
type runArgs struct {
	s    *Store
	args []any
}

func (a *runArgs) text(v string, free bool) {
	if free {
		a.args = append(a.args, a.s.bytes(v))
	} else {
		a.args = append(a.args, v)
	}
}

func (a *runArgs) blob(b []byte) { a.args = append(a.args, b) }
func (a *runArgs) int(n int64)   { a.args = append(a.args, n) }
func (a *runArgs) value(v any)   { a.args = append(a.args, v) }

// appendRunArgs appends the arguments of rows to args.
func (s *Store) appendRunArgs(args []any, rows runRows) []any {
	a := runArgs{s: s, args: args}
	for i, r := range rows.runs {
		runValues(&a, r, rows.ids[i], rows.created[i], rows.cols)
	}
	return a.args
}

// runInsertSQL is an INSERT of n runs naming runFixedCols and the optional
// columns of cols. On SQLite it skips taken IDs; on PostgreSQL a taken ID
// fails it.
//
// On PostgreSQL it is a plain INSERT, not ON CONFLICT (id) DO NOTHING:
// that makes every row a speculative insertion (the primary key checked
// before the row is written, and a record in the write-ahead log to
// confirm it, a fifth of a run record's: four records a run instead of
// five), to skip IDs that are never taken but by a caller's own IDs. A
// taken ID fails the statement and the batch's transaction instead, which
// InsertRuns rolls back whole and reports as ErrConflict either way
// (PostgreSQL logs the unique violation as an error: rare, a retry after a
// commit whose answer was lost).
//
// On SQLite it is INSERT OR IGNORE rather than ON CONFLICT (id) DO
// NOTHING. With the latter a NOT NULL check could still abort the
// statement halfway, so SQLite keeps a statement journal for each
// multi-row INSERT inside the batch's transaction: before a statement
// changes a page that an earlier statement of the transaction changed
// (the last pages of the table and of its indexes), it copies the page
// there, to a temporary file past 64 KiB. OR IGNORE skips a row on any
// constraint, so nothing aborts a statement halfway and SQLite journals
// nothing: BenchmarkRecorder/Record makes 17% fewer pwrite calls. It
// skips the same rows: every NOT NULL column gets a value (a Go string or
// number, never NULL), and the primary key is the only unique constraint
// of runs. A statement that fails all the same (I/O, a full disk) fails the
// batch's transaction, which inTx rolls back whole, as before.
func (s *Store) runInsertSQL(n int, cols runColSet) string {
	key := runSQLKey{n: n, cols: cols}
	if q, ok := s.runSQL.Load(key); ok {
		return q.(string)
	}
	q := s.buildRunInsertSQL(n, cols)
	if s.runSQLCount.Add(1) <= maxRunSQL {
		s.runSQL.Store(key, q)
	}
	return q
}

// maxRunSQL bounds the texts runInsertSQL keeps: past it (records filling
// many different sets of columns) a text is built for each chunk again.
const maxRunSQL = 64

// runSQLKey names the text of an INSERT of runs: its number of rows and
// the optional columns it names. runChunk keeps the sizes to a few (per
// and the powers of two below it), and the columns to the sets records
// fill, so that the texts stay few, as the statements the connection
// keeps prepared for them do.
type runSQLKey struct {
	n    int
	cols runColSet
}

// buildRunInsertSQL builds the text runInsertSQL returns.
func (s *Store) buildRunInsertSQL(n int, cols runColSet) string {
	var b strings.Builder
	if s.d.Name == "sqlite" {
		b.WriteString(`INSERT OR IGNORE INTO runs (` + runFixedCols)
	} else {
		b.WriteString(`INSERT INTO runs (` + runFixedCols)
	}
	per := strings.Count(runFixedCols, ",") + 1
	for i, c := range runOptionalCols {
		if cols&(1<<i) != 0 {
			b.WriteString(", " + c)
			per++
		}
	}
	b.WriteString(`) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range per {
			if c > 0 {
				b.WriteString(", ")
			}
			if s.d.NumberedParams {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(i*per + c + 1))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// errRunsSkipped reports that an INSERT skipped, or failed on, a run whose
// ID was taken: a conflict, which says nothing about the database's
// health (noteWrite).
var errRunsSkipped = fmt.Errorf("run id taken: %w", store.ErrConflict)

// runChunk is how many of left runs the next INSERT writes: per while as
// many are left, then the largest power of two that fits. A statement's
// text depends on its number of rows, and the connection keeps each text
// it ran prepared (SQLite's statement cache, pgx's): a batch ends in at
// most log2(per) statements of the same few sizes, not in one of any size.
func runChunk(left, per int) int {
	if left >= per {
		return per
	}
	n := 1
	for n*2 <= left {
		n *= 2
	}
	return n
}

// insertRunChunk writes runs with one INSERT, a row each, naming the
// optional columns any of them fills (the others take their defaults). A multi-row INSERT keeps the table's and
// its indexes' cursors open from one row to the next: on SQLite each row
// then lands on the last page of the table and of the indexes whose keys
// grow (created_at, a UUIDv7 id) without a search from the root, and the
// statement is stepped, bound and reset once per chunk instead of once per
// row. A taken ID is errRunsSkipped: on SQLite the row is skipped, on
// PostgreSQL the statement fails (runInsertSQL).
func (s *Store) insertRunChunk(ctx context.Context, exec runExec, rows runRows) error {
	rows.cols = 0
	for _, r := range rows.runs {
		rows.cols |= runColsOf(r)
	}
	n, err := exec(ctx, s.runInsertSQL(len(rows.runs), rows.cols), rows)
	return s.runsWritten(n, err, len(rows.runs))
}

// runsWritten is the outcome of an INSERT of want records that wrote n
// and failed with err: errRunsSkipped when it skipped, or failed on, a
// taken ID.
func (s *Store) runsWritten(n int64, err error, want int) error {
	if err != nil {
		if err = s.classify(err); errors.Is(err, store.ErrConflict) {
			return errRunsSkipped // the primary key is the only unique constraint of runs
		}
		return err
	}
	if n != int64(want) {
		return errRunsSkipped
	}
	return nil
}

// takenRunID returns the first of ids that is repeated or already stored.
func (s *Store) takenRunID(ctx context.Context, ids []string) (string, error) {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return id, nil
		}
		seen[id] = true
	}
	for _, id := range ids {
		var one int
		err := s.db.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = $1`, id).Scan(&one)
		switch {
		case err == nil:
			return id, nil
		case !errors.Is(err, sql.ErrNoRows):
			return "", err
		}
	}
	return "", errors.New("no run id is taken")
}

// GetRun returns the run with the given ID, or ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id string) (*store.Run, error) {
	if !store.ValidName(id) {
		return nil, fmt.Errorf("get run %q: %w", id, store.ErrNotFound)
	}
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get run %q: %w", id, s.classify(err))
	}
	return r, nil
}

// ListRuns returns runs newest first (by CreatedAt, then ID). f.Limit
// defaults to 50 and is capped at 500. With f.BeforeID it returns the runs
// that sort after that run (older ones); an unknown BeforeID gives an empty
// page, and so does a WebhookID or BeforeID that store.ValidName refuses.
// A search (f.Search) reads every record it needs: ListRunsPage bounds it.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]*store.Run, error) {
	return s.listRuns(ctx, f, "")
}

// ListRunsPage is ListRuns with where the next page starts. A search reads
// at most f.SearchBudget records that match the other filters (newest
// first, from f.BeforeID): when they hold fewer matches than a page, the
// page ends there and Searched and NextBefore say where to go on.
func (s *Store) ListRunsPage(ctx context.Context, f store.RunFilter) (store.RunPage, error) {
	limit := runLimit(f.Limit)
	if f.Search == "" || !store.ValidName(f.WebhookID) || !store.ValidName(f.BeforeID) {
		runs, err := s.listRuns(ctx, f, "")
		if err != nil {
			return store.RunPage{}, err
		}
		p := store.RunPage{Runs: runs}
		if len(runs) == limit {
			p.NextBefore = runs[len(runs)-1].ID
		}
		return p, nil
	}
	budget := f.SearchBudget
	switch {
	case budget <= 0:
		budget = store.DefaultSearchBudget
	case budget > store.MaxSearchBudget:
		budget = store.MaxSearchBudget
	}
	// A text in many records fills the page from the newest few: a small
	// budget first, then the whole one.
	var (
		runs   []*store.Run
		oldest string
	)
	for _, b := range []int{min(searchFirstBudget, budget), budget} {
		var err error
		if oldest, err = s.budgetEnd(ctx, f, b); err != nil {
			return store.RunPage{}, fmt.Errorf("list runs: %w", err)
		}
		if runs, err = s.listRuns(ctx, f, oldest); err != nil {
			return store.RunPage{}, err
		}
		if len(runs) == limit || oldest == "" {
			budget = b
			break
		}
	}
	p := store.RunPage{Runs: runs}
	switch {
	case len(runs) == limit:
		p.NextBefore = runs[len(runs)-1].ID
	case oldest != "":
		p.NextBefore, p.Searched = oldest, budget
	}
	return p, nil
}

// CountRuns counts the runs f selects, ignoring its BeforeID and Search,
// reading at most upTo+1 index entries: a count above upTo is upTo+1.
func (s *Store) CountRuns(ctx context.Context, f store.RunFilter, upTo int) (int, error) {
	if !store.ValidName(f.WebhookID) {
		return 0, nil
	}
	f.BeforeID, f.Search = "", ""
	where, args := s.runWhere(f)
	q := `SELECT 1 FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, max(upTo, 0)+1)
	q = `SELECT COUNT(*) FROM (` + q + ` LIMIT $` + strconv.Itoa(len(args)) + `) AS c`
	var n int
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count runs: %w", err)
	}
	return n, nil
}

// searchFirstBudget is the budget of a search's first try (ListRunsPage).
const searchFirstBudget = 1000

// budgetEnd returns the ID of the oldest of the budget newest records that
// match f but its search (read from an index), or "" when they are all
// the records that match.
func (s *Store) budgetEnd(ctx context.Context, f store.RunFilter, budget int) (string, error) {
	f.Search = ""
	where, args := s.runWhere(f)
	q := `SELECT id FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, budget-1)
	// Two rows: the second says that there are older records than the
	// budget reaches.
	q += ` ORDER BY created_at DESC, id DESC LIMIT 2 OFFSET $` + strconv.Itoa(len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if len(ids) < 2 {
		return "", nil
	}
	return ids[0], nil
}

func runLimit(limit int) int {
	switch {
	case limit <= 0:
		return defaultRunLimit
	case limit > maxRunLimit:
		return maxRunLimit
	}
	return limit
}

// The conditions of the partial indexes runs_status_class_created_at and
// runs_cause_created_at (migration 00006), which a query repeats as they
// are for the planner to use the index: neither SQLite nor PostgreSQL
// proves them from a parameter's value.
const (
	runsStatusClassCond = `status / 100 <> 2`
	runsCauseCond       = `cause <> ''`
)

// runWhere is the WHERE conditions of f and their arguments ($1 on).
func (s *Store) runWhere(f store.RunFilter) ([]string, []any) {
	var (
		where []string
		args  []any
	)
	if f.WebhookID != "" {
		args = append(args, f.WebhookID)
		where = append(where, `webhook_id = $`+strconv.Itoa(len(args)))
	}
	if f.BeforeID != "" {
		args = append(args, f.BeforeID)
		where = append(where, `(created_at, id) < (SELECT created_at, id FROM runs WHERE id = $`+strconv.Itoa(len(args))+`)`)
	}
	if f.StatusClass >= 1 && f.StatusClass <= 5 {
		// The expression of the index runs_status_class_created_at, and
		// for a class it holds, its condition, literally (migration 00006):
		// 2xx, the common class, reads runs_created_at_size.
		args = append(args, f.StatusClass)
		where = append(where, `status / 100 = $`+strconv.Itoa(len(args)))
		if f.StatusClass != 2 {
			where = append(where, runsStatusClassCond)
		}
	}
	switch f.Cause {
	case "":
	case "-":
		where = append(where, `cause = ''`)
	default:
		// With the condition of the index runs_cause_created_at, literally.
		args = append(args, f.Cause)
		where = append(where, `cause = $`+strconv.Itoa(len(args)), runsCauseCond)
	}
	if !f.Since.IsZero() {
		args = append(args, s.d.Time(f.Since.UTC()))
		where = append(where, `created_at >= $`+strconv.Itoa(len(args)))
	}
	if !f.Until.IsZero() {
		args = append(args, s.d.Time(f.Until.UTC()))
		where = append(where, `created_at < $`+strconv.Itoa(len(args)))
	}
	if f.Search != "" {
		args = append(args, []byte(f.Search))
		where = append(where, s.d.Contains("inputs", `$`+strconv.Itoa(len(args))))
	}
	return where, args
}

// listRuns is ListRuns, reading no record older than the run with ID
// oldest when it is set.
func (s *Store) listRuns(ctx context.Context, f store.RunFilter, oldest string) ([]*store.Run, error) {
	if !store.ValidName(f.WebhookID) || !store.ValidName(f.BeforeID) {
		return []*store.Run{}, nil
	}
	limit := runLimit(f.Limit)
	where, args := s.runWhere(f)
	if oldest != "" {
		args = append(args, oldest)
		where = append(where, `(created_at, id) >= (SELECT created_at, id FROM runs WHERE id = $`+strconv.Itoa(len(args))+`)`)
	}
	q := `SELECT ` + runCols + ` FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit)
	q += ` ORDER BY created_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args))

	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	out := make([]*store.Run, 0, min(limit, 64))
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}
