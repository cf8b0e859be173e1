package stmtcache_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"

	"github.com/hookhost/hookhost/host/store/internal/stmtcache"
)

// counting wraps a connector and counts the statements its connections
// prepare and close.
type counting struct {
	driver.Connector
	prepared, closed atomic.Int64
}

func (c *counting) Connect(ctx context.Context) (driver.Conn, error) {
	inner, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: inner, c: c}, nil
}

type countingConn struct {
	driver.Conn
	c *counting
}

func (cc *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := cc.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cc.c.prepared.Add(1)
	return &countingStmt{Stmt: st, c: cc.c}, nil
}

func (cc *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return cc.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

type countingStmt struct {
	driver.Stmt
	c *counting
}

func (s *countingStmt) Close() error {
	s.c.closed.Add(1)
	return s.Stmt.Close()
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// open returns a database of one connection on a new SQLite file, through a
// cache of size statements.
func open(t *testing.T, size, conns int) (*sql.DB, *counting) {
	t.Helper()
	base, err := sqlite.NewConnector(filepath.Join(t.TempDir(), "t.db") + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	c := &counting{Connector: base}
	db := sql.OpenDB(stmtcache.New(c, size))
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`)
	require.NoError(t, err)
	return db, c
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		size int
		// run uses db; prepared and closed are the statements it must have
		// prepared and closed (the CREATE TABLE of open not counted).
		run              func(t *testing.T, db *sql.DB)
		prepared, closed int64
	}{
		{
			name: "a query text is prepared once",
			size: 8,
			run: func(t *testing.T, db *sql.DB) {
				for i := range 50 {
					_, err := db.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, fmt.Sprint(i))
					require.NoError(t, err)
				}
				for i := range 50 {
					var v string
					require.NoError(t, db.QueryRowContext(ctx, `SELECT v FROM t WHERE id = ?`, i+1).Scan(&v))
					require.Equal(t, fmt.Sprint(i), v)
				}
			},
			prepared: 2,
		},
		{
			name: "transactions use the cache",
			size: 8,
			run: func(t *testing.T, db *sql.DB) {
				for i := range 10 {
					tx, err := db.BeginTx(ctx, nil)
					require.NoError(t, err)
					_, err = tx.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, fmt.Sprint(i))
					require.NoError(t, err)
					if i%2 == 0 {
						require.NoError(t, tx.Commit())
					} else {
						require.NoError(t, tx.Rollback())
					}
				}
				var n int
				require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n))
				require.Equal(t, 5, n)
			},
			prepared: 2,
		},
		{
			name: "the same text while its rows are open runs on a statement of its own",
			size: 8,
			run: func(t *testing.T, db *sql.DB) {
				tx, err := db.BeginTx(ctx, nil)
				require.NoError(t, err)
				defer func() { _ = tx.Rollback() }()
				for _, v := range []string{"a", "b", "c"} {
					_, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, v)
					require.NoError(t, err)
				}
				const q = `SELECT v FROM t WHERE v >= ? ORDER BY v`
				outer, err := tx.QueryContext(ctx, q, "a")
				require.NoError(t, err)
				var got []string
				for outer.Next() {
					var v string
					require.NoError(t, outer.Scan(&v))
					inner, err := tx.QueryContext(ctx, q, v)
					require.NoError(t, err)
					n := 0
					for inner.Next() {
						n++
					}
					require.NoError(t, inner.Err())
					require.NoError(t, inner.Close())
					got = append(got, fmt.Sprintf("%s:%d", v, n))
				}
				require.NoError(t, outer.Err())
				require.NoError(t, outer.Close())
				require.Equal(t, []string{"a:3", "b:2", "c:1"}, got)
				// Once closed, the cached statement serves the text again.
				rows, err := tx.QueryContext(ctx, q, "c")
				require.NoError(t, err)
				require.NoError(t, rows.Close())
			},
			// the INSERT, the cached SELECT, three single-use SELECTs
			prepared: 5,
			closed:   3,
		},
		{
			name: "the least recently used statement is evicted past the size",
			size: 2,
			run: func(t *testing.T, db *sql.DB) {
				for _, q := range []string{`SELECT 1`, `SELECT 2`, `SELECT 1`, `SELECT 3`, `SELECT 2`, `SELECT 1`} {
					var n int
					require.NoError(t, db.QueryRowContext(ctx, q).Scan(&n))
				}
			},
			// open's CREATE TABLE is cached first: 1, 2 evicts CREATE,
			// (1 cached), 3 evicts 2, 2 evicts 1, 1 evicts 3
			prepared: 5,
			closed:   4,
		},
		{
			name: "a statement that failed is prepared again",
			size: 8,
			run: func(t *testing.T, db *sql.DB) {
				const q = `INSERT INTO t (v) VALUES (?)`
				_, err := db.ExecContext(ctx, q, "x")
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, q, "x")
				require.ErrorContains(t, err, "UNIQUE")
				_, err = db.ExecContext(ctx, q, "y")
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, q, "z")
				require.NoError(t, err)
			},
			prepared: 2,
			closed:   1,
		},
		{
			name: "explicitly prepared statements are not cached",
			size: 8,
			run: func(t *testing.T, db *sql.DB) {
				st, err := db.PrepareContext(ctx, `SELECT 1`)
				require.NoError(t, err)
				var n int
				require.NoError(t, st.QueryRowContext(ctx).Scan(&n))
				require.NoError(t, st.Close())
				require.NoError(t, db.QueryRowContext(ctx, `SELECT 1`).Scan(&n))
			},
			prepared: 2,
			closed:   1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, c := open(t, tt.size, 1)
			p0, c0 := c.prepared.Load(), c.closed.Load()
			tt.run(t, db)
			require.Equal(t, tt.prepared, c.prepared.Load()-p0, "statements prepared")
			require.Equal(t, tt.closed, c.closed.Load()-c0, "statements closed")
		})
	}
}

// TestCache_CloseClosesStatements checks that closing the database closes
// every statement it prepared.
func TestCache_CloseClosesStatements(t *testing.T) {
	db, c := open(t, 4, 1)
	ctx := context.Background()
	for i := range 6 {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n))
	}
	require.NoError(t, db.Close())
	require.Equal(t, c.prepared.Load(), c.closed.Load())
}

// TestCache_Concurrent runs queries from many goroutines on a pool of
// connections (run it with -race): every answer is right.
func TestCache_Concurrent(t *testing.T) {
	db, _ := open(t, 4, 3)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				v := fmt.Sprintf("%d-%d", g, i)
				if _, err := db.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, v); err != nil {
					errs <- err
					return
				}
				var got string
				if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT v FROM t WHERE v = ? AND %d >= 0`, i%6), v).Scan(&got); err != nil || got != v {
					errs <- fmt.Errorf("read %q: got %q, %v", v, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n))
	require.Equal(t, 8*40, n)
}
