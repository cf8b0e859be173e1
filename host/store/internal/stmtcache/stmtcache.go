// Package stmtcache keeps each database connection's prepared statements
// for reuse. database/sql runs a query given as text (db.QueryContext,
// tx.ExecContext) by having the driver prepare it, run it and throw it
// away; for SQLite, preparing is parsing and planning the statement, which
// for River's job queries and the store's own costs more than running
// them. A Connector wraps another driver.Connector: its connections run
// such a query on the statement they prepared for the same text before,
// kept in a bounded least-recently-used cache per connection.
//
// A statement is used by one query at a time: while the rows of a query are
// open, the same text runs on a statement of its own, closed afterwards. A
// statement that fails is closed and prepared again next time. Statements
// prepared explicitly (db.PrepareContext) are not cached: their owner
// closes them.
//
// On modernc.org/sqlite connections the Connector turns on SQLite's query
// planner stability guarantee: without it SQLite prepares a statement again
// whenever a bound value its plan depends on changes, as a LIMIT ? does.
package stmtcache

import (
	"container/list"
	"context"
	"database/sql/driver"
	"reflect"
	"sync"
)

// Connector opens connections of a base connector whose text queries reuse
// prepared statements.
type Connector struct {
	base driver.Connector
	size int
}

// New returns a Connector over base keeping up to size statements per
// connection (at least 1).
func New(base driver.Connector, size int) *Connector {
	return &Connector{base: base, size: max(size, 1)}
}

// Connect opens a connection of the base connector. One whose driver cannot
// prepare statements with a context, or whose statements cannot run with
// one, is returned as it is. A modernc.org/sqlite connection gets SQLite's
// query planner stability guarantee, so that its cached statements are not
// planned again for new bound values (see stable.go).
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	inner, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	prep, ok := inner.(driver.ConnPrepareContext)
	if !ok {
		return inner, nil
	}
	if _, ok := inner.(driver.ConnBeginTx); !ok {
		return inner, nil
	}
	stablePlans(inner)
	return &conn{inner: inner, prep: prep, size: c.size, byQuery: map[string]*list.Element{}}, nil
}

// Driver returns the base connector's driver.
func (c *Connector) Driver() driver.Driver { return c.base.Driver() }

// conn is a connection with a statement cache. database/sql uses a
// connection from one goroutine at a time; mu still guards the cache, so
// that a result's Close from another goroutine is safe.
type conn struct {
	inner driver.Conn
	prep  driver.ConnPrepareContext
	size  int

	mu      sync.Mutex
	lru     list.List // of *entry, most recently used first
	byQuery map[string]*list.Element
}

// entry is a statement of the cache (cached) or one prepared for a single
// use while the cached one was busy.
type entry struct {
	query string
	st    driver.Stmt
	// busy: a query or exec runs on it (or its rows are open).
	busy bool
	// cached: it is in the cache (not evicted, not a single-use one).
	cached bool
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

// Prepare prepares a statement the caller owns (not cached).
func (c *conn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }

// PrepareContext prepares a statement the caller owns (not cached).
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prep.PrepareContext(ctx, query)
}

// Begin starts a transaction.
//
// Deprecated: database/sql calls BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction; the queries in it use the cache too.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// Close closes the cached statements, then the connection.
func (c *conn) Close() error {
	c.mu.Lock()
	var stmts []driver.Stmt
	for el := c.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		e.cached = false
		if !e.busy {
			stmts = append(stmts, e.st)
		}
	}
	c.lru.Init()
	clear(c.byQuery)
	c.mu.Unlock()
	var first error
	for _, st := range stmts {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	if err := c.inner.Close(); err != nil {
		return err
	}
	return first
}

// Ping pings the connection when its driver can.
func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession resets the connection's session when its driver can.
func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid reports whether the connection may go back to the pool.
func (c *conn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// ExecContext runs query on its cached statement.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	ex, ok := e.st.(driver.StmtExecContext)
	if !ok {
		c.give(e, true)
		return nil, driver.ErrSkip
	}
	res, err := ex.ExecContext(ctx, args)
	c.give(e, err != nil)
	return res, err
}

// QueryContext runs query on its cached statement; the statement is busy
// until the rows are closed.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	e, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	q, ok := e.st.(driver.StmtQueryContext)
	if !ok {
		c.give(e, true)
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		c.give(e, true)
		return nil, err
	}
	return &cachedRows{Rows: rows, release: func(failed bool) { c.give(e, failed) }}, nil
}

// take returns query's statement, marked busy: the cached one when it is
// free, else a new one (cached when query had none).
func (c *conn) take(ctx context.Context, query string) (*entry, error) {
	c.mu.Lock()
	el, found := c.byQuery[query]
	if found {
		if e := el.Value.(*entry); !e.busy {
			e.busy = true
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e, nil
		}
	}
	c.mu.Unlock()
	st, err := c.prep.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	e := &entry{query: query, st: st, busy: true}
	if found {
		return e, nil // the cached one is busy: this one is for one use
	}
	c.mu.Lock()
	if _, raced := c.byQuery[query]; !raced {
		e.cached = true
		c.byQuery[query] = c.lru.PushFront(e)
		c.evict()
	}
	c.mu.Unlock()
	return e, nil
}

// evict drops the least recently used statements past the size; a busy one
// is closed when it is given back. Called with mu held.
func (c *conn) evict() {
	for c.lru.Len() > c.size {
		el := c.lru.Back()
		e := el.Value.(*entry)
		c.lru.Remove(el)
		delete(c.byQuery, e.query)
		e.cached = false
		if !e.busy {
			_ = e.st.Close()
		}
	}
}

// give marks e free again. A statement that failed, that is not (or no
// longer) in the cache, is closed; a failed cached one leaves the cache.
func (c *conn) give(e *entry, failed bool) {
	c.mu.Lock()
	e.busy = false
	if failed && e.cached {
		if el, ok := c.byQuery[e.query]; ok && el.Value == e {
			c.lru.Remove(el)
			delete(c.byQuery, e.query)
		}
		e.cached = false
	}
	keep := e.cached
	c.mu.Unlock()
	if !keep {
		_ = e.st.Close()
	}
}

// cachedRows gives its statement back when closed.
type cachedRows struct {
	driver.Rows
	once    sync.Once
	release func(failed bool)
}

// Close closes the rows and gives the statement back.
func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(func() { r.release(err != nil) })
	return err
}

// The column type methods forward to the driver's rows when they have them.

// ColumnTypeDatabaseTypeName implements driver.RowsColumnTypeDatabaseTypeName.
func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

// ColumnTypeLength implements driver.RowsColumnTypeLength.
func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

// ColumnTypeNullable implements driver.RowsColumnTypeNullable.
func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

// ColumnTypePrecisionScale implements driver.RowsColumnTypePrecisionScale.
func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

// ColumnTypeScanType implements driver.RowsColumnTypeScanType.
func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
