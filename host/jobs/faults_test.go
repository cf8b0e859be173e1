package jobs_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookhost/hookhost/internal/pgprep"
)

// faults decides which statements of a faultDB fail. Rules are checked in
// order; the first that matches a statement (and has failures left) fails
// it.
type faults struct {
	mu    sync.Mutex
	rules []*faultRule
	// commits, when not nil, gets every commit of a SQLite connection (see
	// commitRecord).
	commits *[]commitRecord
}

// commitRecord is a commit of a SQLite connection: the synchronous mode it
// ran under (as last set by a PRAGMA, FULL by the DSN) and its statements
// (one, for a write outside a transaction).
type commitRecord struct {
	sync  string
	stmts []string
}

// record notes a commit, when f records them.
func (f *faults) record(c commitRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.commits != nil {
		*f.commits = append(*f.commits, c)
	}
}

// faultRule fails the statements whose text contains match, times times
// (negative: until cleared).
type faultRule struct {
	match string
	err   error
	times int
	// afterCommit makes the rule fail the COMMIT of a transaction that ran
	// a matching statement after the commit succeeded: the write is on disk
	// but its caller hears it failed (a connection dropped after COMMIT).
	afterCommit bool
	hits        int
}

// add adds a rule and returns it.
func (f *faults) add(r *faultRule) *faultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
	return r
}

// clear removes every rule.
func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// hitsOf reports how many times r failed a statement.
func (f *faults) hitsOf(r *faultRule) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return r.hits
}

// check returns the after-commit rules a statement matches, and the error
// it fails with now, if any.
func (f *faults) check(query string) (commit []*faultRule, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if !strings.Contains(query, r.match) || r.times == 0 {
			continue
		}
		if r.afterCommit {
			commit = append(commit, r)
			continue
		}
		if err == nil {
			r.times--
			r.hits++
			err = r.err
		}
	}
	return commit, err
}

// take reports whether an after-commit rule fails this commit.
func (f *faults) take(r *faultRule) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.times == 0 {
		return false
	}
	r.times--
	r.hits++
	return true
}

// faultDB opens a *sql.DB whose connections come from base and fail
// statements as f says.
func faultDB(base driver.Connector, f *faults) *sql.DB {
	return sql.OpenDB(&faultConnector{base: base, f: f})
}

// faultConnector is a driver.Connector of faultConns.
type faultConnector struct {
	base driver.Connector
	f    *faults
}

func (c *faultConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &faultConn{base: conn, f: c.f, sync: "FULL"}, nil
}

func (c *faultConnector) Driver() driver.Driver { return c.base.Driver() }

// driverConnector is a driver.Connector of a driver.Driver and a DSN.
type driverConnector struct {
	d   driver.Driver
	dsn string
}

func (c driverConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c driverConnector) Driver() driver.Driver                        { return c.d }

// faultConn passes everything to the driver's connection except what the
// faults fail.
type faultConn struct {
	base driver.Conn
	f    *faults
	// commit lists the after-commit rules the open transaction matched.
	commit []*faultRule
	// sync is the connection's synchronous mode, as last set by a PRAGMA.
	sync string
	// inTx is set while a transaction is open, and stmts are its
	// statements.
	inTx  bool
	stmts []string
}

var (
	_ driver.Conn               = (*faultConn)(nil)
	_ driver.ExecerContext      = (*faultConn)(nil)
	_ driver.QueryerContext     = (*faultConn)(nil)
	_ driver.ConnBeginTx        = (*faultConn)(nil)
	_ driver.ConnPrepareContext = (*faultConn)(nil)
	_ driver.NamedValueChecker  = (*faultConn)(nil)
	_ driver.SessionResetter    = (*faultConn)(nil)
	_ driver.Validator          = (*faultConn)(nil)
	_ driver.Pinger             = (*faultConn)(nil)
)

// Conn returns pgx's connection under a pgx stdlib connection (the queue
// writes PostgreSQL hand-offs natively through it).
func (c *faultConn) Conn() *pgx.Conn {
	if pc, ok := c.base.(interface{ Conn() *pgx.Conn }); ok {
		return pc.Conn()
	}
	return nil
}

// SendBatch sends a pgx batch on pgx's connection under a pgx stdlib
// connection (the queue's state writes on PostgreSQL), failing it before
// anything is sent when one of its statements matches a rule, or after it
// committed when an after-commit rule matches.
func (c *faultConn) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	var commit []*faultRule
	for _, q := range b.QueuedQueries {
		after, err := c.f.check(q.SQL)
		if err != nil {
			return failedBatch{err: err}
		}
		commit = append(commit, after...)
	}
	var fail error
	for _, r := range commit {
		if c.f.take(r) {
			fail = r.err
			break
		}
	}
	return &faultBatch{BatchResults: c.Conn().SendBatch(ctx, b), fail: fail}
}

// ExecPrepared runs a prepared statement committed as commit says
// (pgprep.Run) on pgx's connection under a pgx stdlib connection (the
// queue's batches of hand-offs on PostgreSQL), failing it before anything
// is sent when it matches a rule (nothing committed), or, when an
// after-commit rule matches, once it committed: the connection is closed,
// as one dropped before the commit's answer came back, and the caller
// hears the rule's error.
func (c *faultConn) ExecPrepared(ctx context.Context, commit pgprep.Commit, sd *pgconn.StatementDescription, params [][]byte,
	formats, resultFormats []int16) *pgconn.Result {
	rules, err := c.f.check(sd.SQL)
	if err != nil {
		return &pgconn.Result{Err: err}
	}
	pc := c.Conn().PgConn()
	res := pgprep.Run(ctx, c.Conn(), commit, sd, params, formats, resultFormats)
	for _, r := range rules {
		if res.Err == nil && c.f.take(r) {
			_ = pc.Close(ctx)
			res = &pgconn.Result{Err: r.err}
		}
	}
	return res
}

// failedBatch is a batch that failed before it was sent.
type failedBatch struct{ err error }

func (b failedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b failedBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b failedBatch) QueryRow() pgx.Row                { return failedRow(b) }
func (b failedBatch) Close() error                     { return b.err }
func (b failedBatch) Tx() pgx.Tx                       { return nil }

type failedRow struct{ err error }

func (r failedRow) Scan(...any) error { return r.err }

// faultBatch is a batch whose Close fails after it succeeded, when fail is
// set: it committed, but its caller hears it failed.
type faultBatch struct {
	pgx.BatchResults
	fail error
}

func (b *faultBatch) Close() error {
	if err := b.BatchResults.Close(); err != nil {
		return err
	}
	return b.fail
}

// Prepare prepares a statement (database/sql uses PrepareContext).
func (c *faultConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// Close closes the driver's connection.
func (c *faultConn) Close() error { return c.base.Close() }

// Begin starts a transaction (database/sql uses BeginTx).
func (c *faultConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *faultConn) note(query string) error {
	if m, ok := strings.CutPrefix(query, "PRAGMA synchronous = "); ok {
		c.sync = m
	}
	switch {
	case c.inTx:
		c.stmts = append(c.stmts, query)
	case strings.Contains(query, "UPDATE ") || strings.Contains(query, "INSERT ") || strings.Contains(query, "DELETE "):
		c.f.record(commitRecord{sync: c.sync, stmts: []string{query}})
	}
	commit, err := c.f.check(query)
	c.commit = append(c.commit, commit...)
	return err
}

func (c *faultConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.note(query); err != nil {
		return nil, err
	}
	if e, ok := c.base.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *faultConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.note(query); err != nil {
		return nil, err
	}
	if q, ok := c.base.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *faultConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.note(query); err != nil {
		return nil, err
	}
	if p, ok := c.base.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.base.Prepare(query)
}

func (c *faultConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.commit = nil
	var (
		tx  driver.Tx
		err error
	)
	if b, ok := c.base.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = c.base.Begin() //nolint:staticcheck // the fallback database/sql uses too
	}
	if err != nil {
		return nil, err
	}
	c.inTx, c.stmts = true, nil
	return &faultTx{Tx: tx, c: c}, nil
}

func (c *faultConn) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := c.base.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

func (c *faultConn) ResetSession(ctx context.Context) error {
	if r, ok := c.base.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *faultConn) IsValid() bool {
	if v, ok := c.base.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *faultConn) Ping(ctx context.Context) error {
	if p, ok := c.base.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// faultTx fails a commit after it succeeded when an after-commit rule says
// so.
type faultTx struct {
	driver.Tx
	c *faultConn
}

func (t *faultTx) Commit() error {
	commit := t.c.commit
	t.c.commit = nil
	// Decided (and counted) before the commit: once it lands, others may
	// see its effect at once.
	var fail error
	for _, r := range commit {
		if t.c.f.take(r) {
			fail = r.err
			break
		}
	}
	stmts := t.c.stmts
	t.c.inTx, t.c.stmts = false, nil
	if err := t.Tx.Commit(); err != nil {
		return err
	}
	t.c.f.record(commitRecord{sync: t.c.sync, stmts: stmts})
	return fail
}

func (t *faultTx) Rollback() error {
	t.c.commit = nil
	t.c.inTx, t.c.stmts = false, nil
	return t.Tx.Rollback()
}

// errConnReset is what a dropped connection looks like.
var errConnReset = errors.New("read tcp 127.0.0.1:41234->127.0.0.1:5432: read: connection reset by peer")

// diskFullError is a PostgreSQL disk_full error, as pgx reports it.
type diskFullError struct{}

func (diskFullError) Error() string {
	return `ERROR: could not extend file "base/16384/16385": No space left on device (SQLSTATE 53100)`
}
func (diskFullError) SQLState() string { return "53100" }
