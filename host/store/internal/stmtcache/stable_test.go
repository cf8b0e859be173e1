package stmtcache

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
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
			base, err := sqlite.NewConnector(filepath.Join(t.TempDir(), "t.db"))
			require.NoError(t, err)
			db := sql.OpenDB(New(base, 8))
			db.SetMaxOpenConns(1)
			t.Cleanup(func() { _ = db.Close() })
			c, err := db.Conn(ctx)
			require.NoError(t, err)
			defer c.Close()

			_, err = c.ExecContext(ctx, `CREATE TABLE t (x INTEGER PRIMARY KEY)`)
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
				pstmt := reflect.ValueOf(el.Value.(*entry).st).Elem().FieldByName("pstmt")
				require.True(t, pstmt.IsValid() && pstmt.Kind() == reflect.Uintptr && pstmt.Uint() != 0, "no statement handle")
				tc.reprepared(t, sqlite3.Xsqlite3_stmt_status(tls, uintptr(pstmt.Uint()), sqlite3.SQLITE_STMTSTATUS_REPREPARE, 0))
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
