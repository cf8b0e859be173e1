package sqlitesync_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/hookhost/hookhost/internal/sqlitesync"
)

// synchronous returns the connection's synchronous setting (1 NORMAL, 2 FULL).
func synchronous(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) int {
	t.Helper()
	var v int
	require.NoError(t, q.QueryRowContext(context.Background(), `PRAGMA synchronous`).Scan(&v))
	return v
}

// openWAL opens a new database in WAL mode at synchronous=FULL, on one
// connection.
func openWAL(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "db")+"?_journal_mode=WAL&_synchronous=FULL")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(1)
	return db
}

// TestRelaxed checks that fn runs with synchronous=NORMAL and that the
// connection is FULL again afterwards, whether fn succeeded or failed.
func TestRelaxed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
	}{{"ok", nil}, {"fn fails", errors.New("boom")}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := openWAL(t)
			require.Equal(t, 2, synchronous(t, db))
			var inside int
			err := sqlitesync.Relaxed(context.Background(), db, func(conn *sql.Conn) error {
				inside = synchronous(t, conn)
				return tt.err
			})
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, 1, inside)
			require.Equal(t, 2, synchronous(t, db))
		})
	}
}

// TestRelaxedTx checks that fn runs in a transaction with
// synchronous=NORMAL, which commits when fn succeeds and rolls back when
// it fails or ctx has ended, and that the connection goes back FULL and
// out of any transaction: the next transaction on it begins.
func TestRelaxedTx(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, tt := range []struct {
		name string
		// cancel ends ctx inside fn; failRow makes fn's second INSERT
		// fail (a taken key) after its first wrote a row; err is fn's.
		cancel, failRow bool
		err             error
		// wantErr is the error, or wantMsg a part of its message.
		wantErr  error
		wantMsg  string
		wantRows int
	}{
		{name: "commits", wantRows: 2},
		{name: "fn fails", err: boom, wantErr: boom},
		{name: "a statement fails", failRow: true, wantMsg: "UNIQUE constraint failed"},
		{name: "ctx ends", cancel: true, wantErr: context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := openWAL(t)
			_, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY)`)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var inside int
			err = sqlitesync.RelaxedTx(ctx, db, func(ctx context.Context, ex driver.ExecerContext) error {
				require.NoError(t, ctx.Err())
				rows, err := ex.(driver.QueryerContext).QueryContext(ctx, `PRAGMA synchronous`, nil)
				require.NoError(t, err)
				v := make([]driver.Value, 1)
				require.NoError(t, rows.Next(v))
				inside = int(v[0].(int64))
				require.NoError(t, rows.Close())
				if _, err := ex.ExecContext(ctx, `INSERT INTO t (k) VALUES (1)`, nil); err != nil {
					return err
				}
				second := `INSERT INTO t (k) VALUES (2)`
				if tt.failRow {
					second = `INSERT INTO t (k) VALUES (1)`
				}
				if _, err := ex.ExecContext(ctx, second, nil); err != nil {
					return err
				}
				if tt.cancel {
					cancel()
				}
				return tt.err
			})
			if tt.wantMsg != "" {
				require.ErrorContains(t, err, tt.wantMsg)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.Equal(t, 1, inside)
			require.Equal(t, 2, synchronous(t, db))
			var n int
			require.NoError(t, db.QueryRow(`SELECT count(*) FROM t`).Scan(&n))
			require.Equal(t, tt.wantRows, n)
			// No transaction is left open on the connection.
			tx, err := db.Begin()
			require.NoError(t, err)
			require.NoError(t, tx.Rollback())
		})
	}
}

// TestRelaxedTxEnded checks that a context that has ended runs nothing.
func TestRelaxedTxEnded(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err = sqlitesync.RelaxedTx(ctx, db, func(context.Context, driver.ExecerContext) error {
		ran = true
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, ran)
}

// TestRelaxedTxCommittedThenUnclean: a transaction that committed but
// whose connection could not go back to synchronous=FULL reports success
// (its rows are written) and the connection is closed, not reused.
func TestRelaxedTxCommittedThenUnclean(t *testing.T) {
	t.Parallel()
	c := &fakeConn{failAfterCommit: `PRAGMA synchronous = FULL`}
	db := sql.OpenDB(fakeConnector{c})
	t.Cleanup(func() { _ = db.Close() })
	err := sqlitesync.RelaxedTx(context.Background(), db, func(ctx context.Context, ex driver.ExecerContext) error {
		_, err := ex.ExecContext(ctx, `INSERT INTO t VALUES (1)`, nil)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, []string{`PRAGMA synchronous = NORMAL`, `BEGIN IMMEDIATE`, `INSERT INTO t VALUES (1)`, `COMMIT`, `PRAGMA synchronous = FULL`}, c.execs)
	require.True(t, c.closed, "a connection not back at FULL must be closed")
}

// fakeConn is a driver connection that records what it executes and fails
// failAfterCommit once COMMIT has run.
type fakeConn struct {
	failAfterCommit string
	execs           []string
	committed       bool
	closed          bool
}

func (c *fakeConn) ExecContext(_ context.Context, q string, _ []driver.NamedValue) (driver.Result, error) {
	c.execs = append(c.execs, q)
	if q == `COMMIT` {
		c.committed = true
	}
	if c.committed && q == c.failAfterCommit {
		return nil, errors.New("disk I/O error")
	}
	return driver.RowsAffected(0), nil
}

func (c *fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("not supported") }
func (c *fakeConn) Close() error                        { c.closed = true; return nil }
func (c *fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("not supported") }

type fakeConnector struct{ c *fakeConn }

func (f fakeConnector) Connect(context.Context) (driver.Conn, error) { return f.c, nil }
func (f fakeConnector) Driver() driver.Driver                        { return nil }
