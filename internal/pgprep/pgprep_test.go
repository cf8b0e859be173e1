package pgprep

import (
	"context"
	"database/sql"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/pgtest"
)

// openOneConn opens a pool of one connection (one session for every
// statement) on a fresh schema of the test server, with table t (a
// bigint, a bytea).
func openOneConn(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.DSN(t, "hh_pgprep_"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	_, err = db.Exec(`CREATE TABLE t (n bigint, b bytea)`)
	require.NoError(t, err)
	return db
}

const (
	insertSQL = `INSERT INTO t SELECT * FROM unnest($1::bigint[], $2::bytea[])`
	querySQL  = `SELECT count(*), $1::bytea IS NULL, $2::bytea FROM t WHERE n >= $3`
)

// TestExecAndQueryRow checks what a statement gets of its parameters
// (arrays, NULL for a nil []byte, a []byte sent as it is) and what Exec
// and QueryRow answer.
func TestExecAndQueryRow(t *testing.T) {
	ctx := context.Background()
	db := openOneConn(t)
	err := OnConn(ctx, db, InTx, func(c *pgx.Conn, exec ExecFunc) error {
		tag, err := Exec(ctx, c, exec, insertSQL, 0, []any{[]int64{1, 2, 3}, [][]byte{[]byte("x"), nil, {}}})
		require.NoError(t, err)
		assert.EqualValues(t, 3, tag.RowsAffected())

		var (
			n    int64
			null bool
			b    []byte
		)
		require.NoError(t, QueryRow(ctx, c, exec, querySQL, 16, []any{[]byte(nil), []byte("\x00\xff"), int64(2)}, &n, &null, &b))
		assert.EqualValues(t, 2, n)
		assert.True(t, null, "a nil []byte is NULL")
		assert.Equal(t, []byte("\x00\xff"), b)

		assert.ErrorContains(t, QueryRow(ctx, c, exec, querySQL, 0, []any{int64(1)}, &n), "takes 3 parameters, given 1")
		return nil
	})
	require.NoError(t, err)
	var nulls, empties int
	require.NoError(t, db.QueryRow(`SELECT count(*) FILTER (WHERE b IS NULL), count(*) FILTER (WHERE b = '') FROM t`).Scan(&nulls, &empties))
	assert.Equal(t, 1, nulls, "a nil element is NULL")
	assert.Equal(t, 1, empties, "an empty element is empty")
}

// TestStatementForgotten checks that a statement still runs after the
// session lost it (a DEALLOCATE ALL, as a proxy resetting sessions
// would), though pgx still has it: prepared again, it runs once; by its
// own Sync with a deadline, with the statement_timeout's statement, which
// the session lost too.
func TestStatementForgotten(t *testing.T) {
	tests := []struct {
		name   string
		commit Commit
	}{
		{"InTx", InTx},
		{"BySync", BySync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			db := openOneConn(t)
			insert := func() error {
				return OnConn(ctx, db, tt.commit, func(c *pgx.Conn, exec ExecFunc) error {
					_, err := Exec(ctx, c, exec, insertSQL, 0, []any{[]int64{1}, [][]byte{[]byte("x")}})
					return err
				})
			}
			require.NoError(t, insert())
			for i := range 2 {
				_, err := db.ExecContext(ctx, "DEALLOCATE ALL")
				require.NoError(t, err)
				require.NoError(t, insert(), "statement %d after DEALLOCATE ALL", i)
			}
			var n int
			require.NoError(t, db.QueryRow(`SELECT count(*) FROM t`).Scan(&n))
			assert.Equal(t, 3, n, "each statement ran once")
		})
	}
}

// TestExec_RoundTrips checks what a statement costs in round trips, by
// how it is committed: in its transaction of its own, two (BEGIN sent
// with it, then the COMMIT; pgx's transaction sent BEGIN on its own first:
// three); by its own Sync, one, its statement_timeout, when its context
// has a deadline, sent with it and gone with its transaction.
func TestExec_RoundTrips(t *testing.T) {
	tests := []struct {
		name     string
		commit   Commit
		deadline bool
		writes   int64
	}{
		{"InTx", InTx, true, 2},
		{"BySync", BySync, true, 1},
		{"BySyncNoDeadline", BySync, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cfg, err := pgx.ParseConfig(pgtest.DSN(t, "hh_pgprep_rt_"))
			require.NoError(t, err)
			var writes atomic.Int64
			dial := cfg.DialFunc
			cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dial(ctx, network, addr)
				return &countingConn{Conn: c, writes: &writes}, err
			}
			db := stdlib.OpenDB(*cfg)
			t.Cleanup(func() { _ = db.Close() })
			_, err = db.Exec(`CREATE TABLE t (n bigint, b bytea)`)
			require.NoError(t, err)
			sctx := statementContext(t, tt.deadline)
			err = OnConn(ctx, db, tt.commit, func(c *pgx.Conn, exec ExecFunc) error {
				args := []any{[]int64{1}, [][]byte{[]byte("x")}}
				_, err := Exec(sctx, c, exec, insertSQL, 0, args) // prepares it
				require.NoError(t, err)
				before := writes.Load()
				tag, err := Exec(sctx, c, exec, insertSQL, 0, args)
				require.NoError(t, err)
				assert.EqualValues(t, 1, tag.RowsAffected())
				assert.Equal(t, tt.writes, writes.Load()-before, "messages sent, each then waiting for its answer")
				assert.EqualValues(t, 'I', c.PgConn().TxStatus(), "the transaction ended")
				var timeout string
				require.NoError(t, c.QueryRow(ctx, `SHOW statement_timeout`).Scan(&timeout))
				assert.Equal(t, "0", timeout, "the session's statement_timeout")
				return nil
			})
			require.NoError(t, err)
			var n int
			require.NoError(t, db.QueryRow(`SELECT count(*) FROM t`).Scan(&n))
			assert.Equal(t, 2, n, "both committed")
		})
	}
}

// countingConn counts the writes on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestRun_CommitError checks that a commit that fails after the statement
// answered (a deferred trigger here; a serialization failure or a full
// NOTIFY queue in earnest) is reported, whichever way the statement is
// committed (review rev2 HIGH: by its own Sync, the Sync's error, after
// the statement's answer, was dropped, and the batch's callers were told
// it committed).
func TestRun_CommitError(t *testing.T) {
	tests := []struct {
		name     string
		commit   Commit
		deadline bool
	}{
		{"InTx", InTx, true},
		{"BySync", BySync, true},
		{"BySyncNoDeadline", BySync, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openOneConn(t)
			_, err := db.Exec(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
					$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
				CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
					FOR EACH ROW EXECUTE FUNCTION refuse()`)
			require.NoError(t, err)
			sctx := statementContext(t, tt.deadline)
			err = OnConn(ctx, db, tt.commit, func(c *pgx.Conn, exec ExecFunc) error {
				_, err := Exec(sctx, c, exec, insertSQL, 0, []any{[]int64{1}, [][]byte{[]byte("x")}})
				return err
			})
			require.ErrorContains(t, err, "refused at commit")
			var n int
			require.NoError(t, db.QueryRow(`SELECT count(*) FROM t`).Scan(&n))
			assert.Zero(t, n, "nothing committed")
		})
	}
}

// statementContext is a context for the statements of a test: with a
// deadline (a minute away, cancelled when t ends) when deadline is set,
// which a statement committed by its own Sync turns into its server-side
// timeout.
func statementContext(t *testing.T, deadline bool) context.Context {
	if !deadline {
		return context.Background()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestRun_InTransaction checks that a statement given a connection left in
// a transaction fails, and the connection is closed rather than pooled:
// every later statement on it would fail the same way, and a
// statement_timeout set for the statement would outlive it.
func TestRun_InTransaction(t *testing.T) {
	for name, commit := range map[string]Commit{"InTx": InTx, "BySync": BySync} {
		t.Run(name, func(t *testing.T) {
			ctx := statementContext(t, true)
			db := openOneConn(t)
			err := OnConn(ctx, db, commit, func(c *pgx.Conn, exec ExecFunc) error {
				_, err := c.Exec(ctx, "BEGIN")
				require.NoError(t, err)
				_, err = Exec(ctx, c, exec, insertSQL, 0, []any{[]int64{1}, [][]byte{[]byte("x")}})
				assert.True(t, c.PgConn().IsClosed(), "the connection was closed")
				return err
			})
			require.ErrorContains(t, err, "already in a transaction")
		})
	}
}
