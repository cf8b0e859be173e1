package stmtcache

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"modernc.org/libc"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestStablePlans runs a cached statement with a LIMIT ? that changes from
// one run to the next, as River's JobGetAvailable does, and counts how
// often SQLite prepared it again: never with the stability guarantee the
// Connector turns on, every time a value changes without it.
func TestStablePlans(t *testing.T) {
	t.Parallel()
	const query = `SELECT x FROM t WHERE x > ? ORDER BY x LIMIT ?`
	for _, tc := range []struct {
		name       string
		stable     bool
		reprepared func(t require.TestingT, n int32)
	}{
		{"guaranteed", true, func(t require.TestingT, n int32) { require.Zero(t, n) }},
		{"without the guarantee", false, func(t require.TestingT, n int32) { require.Positive(t, n) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := cachedConn(t)
			_, err := c.ExecContext(ctx, `CREATE TABLE t (x INTEGER PRIMARY KEY)`)
			require.NoError(t, err)
			_, err = c.ExecContext(ctx, `INSERT INTO t (x) VALUES (1), (2), (3), (4), (5), (6), (7), (8)`)
			require.NoError(t, err)
			require.NoError(t, c.Raw(func(dc any) error {
				tls, db, ok := sqliteHandle(dc.(*conn).inner)
				require.True(t, ok, "no handle in %T", dc.(*conn).inner)
				require.Equal(t, int32(1), dbConfig(tls, db, sqlite3.SQLITE_DBCONFIG_ENABLE_QPSG, -1), "the guarantee is off")
				if !tc.stable {
					require.Equal(t, int32(0), dbConfig(tls, db, sqlite3.SQLITE_DBCONFIG_ENABLE_QPSG, 0))
				}
				return nil
			}))

			for i := range 20 {
				limit := 1 + i%4
				rows, err := c.QueryContext(ctx, query, 0, limit)
				require.NoError(t, err)
				var got []int
				for rows.Next() {
					var x int
					require.NoError(t, rows.Scan(&x))
					got = append(got, x)
				}
				require.NoError(t, rows.Err())
				require.NoError(t, rows.Close())
				require.Len(t, got, limit)
			}

			require.NoError(t, c.Raw(func(dc any) error {
				cc := dc.(*conn)
				tls, _, ok := sqliteHandle(cc.inner)
				require.True(t, ok)
				el, ok := cc.byQuery[query]
				require.True(t, ok, "the statement is not cached")
				pstmt, ok := sqliteStmtHandle(el.Value.(*entry).st)
				require.True(t, ok, "no statement handle")
				tc.reprepared(t, sqlite3.Xsqlite3_stmt_status(tls, pstmt, sqlite3.SQLITE_STMTSTATUS_REPREPARE, 0))
				return nil
			}))
		})
	}
}

// TestStablePlans_OtherDrivers leaves connections of other drivers alone.
func TestStablePlans_OtherDrivers(t *testing.T) {
	t.Parallel()
	require.False(t, stablePlans(nil))
	require.False(t, stablePlans(&conn{}))
}

// TestSQLiteStmt runs a statement through SQLiteStmt's handles: twice on
// the one the connection keeps prepared, a failed run dropping it from
// the cache, and not at all for what is not a single statement of a
// modernc.org/sqlite connection of a Connector.
func TestSQLiteStmt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cachedConn(t)
	_, err := c.ExecContext(ctx, `CREATE TABLE t (x INTEGER PRIMARY KEY)`)
	require.NoError(t, err)

	const insert = `INSERT INTO t (x) VALUES (?)`
	var handles []uintptr
	run := func(dc any, query string, x int64) (bool, error) {
		return SQLiteStmt(ctx, dc, query, func(tls *libc.TLS, db, stmt uintptr) error {
			handles = append(handles, stmt)
			require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_bind_int64(tls, stmt, 1, x))
			rc := sqlite3.Xsqlite3_step(tls, stmt)
			sqlite3.Xsqlite3_reset(tls, stmt)
			if rc != sqlite3.SQLITE_DONE {
				return fmt.Errorf("step: %d", rc)
			}
			return nil
		})
	}
	require.NoError(t, c.Raw(func(dc any) error {
		for _, x := range []int64{1, 2} {
			ok, err := run(dc, insert, x)
			require.True(t, ok)
			require.NoError(t, err)
		}
		require.Equal(t, handles[0], handles[1], "not the cached statement")
		ok, err := run(dc, insert, 1) // a taken key
		require.True(t, ok)
		require.Error(t, err)
		_, cached := dc.(*conn).byQuery[insert]
		require.False(t, cached, "a failed statement stays cached")

		handles = nil
		ok, err = run(dc, `INSERT INTO t (x) VALUES (?); SELECT 1`, 3)
		require.False(t, ok, "several statements")
		require.NoError(t, err)
		ok, err = run(struct{}{}, insert, 3)
		require.False(t, ok, "not a connection of a Connector")
		require.NoError(t, err)
		require.Empty(t, handles)
		return nil
	}))
	var n int
	require.NoError(t, c.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n))
	require.Equal(t, 2, n)
}

// cachedConn is the one connection of a new database in a temp dir, opened
// through a statement cache of 8 over modernc.org/sqlite's Connector.
func cachedConn(t *testing.T) *sql.Conn {
	t.Helper()
	base, err := sqlite.NewConnector(filepath.Join(t.TempDir(), "t.db"))
	require.NoError(t, err)
	db := sql.OpenDB(New(base, 8))
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	c, err := db.Conn(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
