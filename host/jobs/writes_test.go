package jobs

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestWrites_NoEphemeralTables checks that SQLite runs the two writes of
// every job (and the end of one without an outcome) without building a
// temporary b-tree on each execution, as it does for a NOT IN of more than
// two values.
func TestWrites_NoEphemeralTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLiteDB(t)
	q := newSQLiteQueue(t, db)

	for _, tt := range []struct {
		name, query string
		args        []any
	}{
		{"markRunning", q.d.q(markRunningSQL), []any{1, 2, "j"}},
		{"finish", q.d.q(q.d.finishSQL()), []any{"completed", 1, 0, 200, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, 3, 256, "j"}},
		{"finishState", q.d.q(q.d.finishStateSQL()), []any{"stopped", []byte{}, 3, 0, "j"}},
	} {
		rows, err := db.QueryContext(ctx, "EXPLAIN "+tt.query, tt.args...)
		require.NoError(t, err, tt.name)
		var opcodes []string
		for rows.Next() {
			var (
				addr, p1, p2, p3 int
				opcode           string
				p4, p5, comment  any
			)
			require.NoError(t, rows.Scan(&addr, &opcode, &p1, &p2, &p3, &p4, &p5, &comment))
			opcodes = append(opcodes, opcode)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		require.NotEmpty(t, opcodes, tt.name)
		require.NotContains(t, opcodes, "OpenEphemeral", tt.name)
	}
}

// TestLockTimeout_OfTheTransactionOnly (PostgreSQL): every way the group
// commits write on PostgreSQL (the writer's statement batches and its
// transactions, the inserters' transactions) waits Config.LockTimeout at most for
// a lock, and the session they ran on, back in the store's pool, keeps its
// own lock_timeout (none) for every other use.
func TestLockTimeout_OfTheTransactionOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, db, _ := openPostgresQueue(t, "hh_jobs_locktimeout_")
	db.SetMaxOpenConns(1) // one session for all of them
	// check fails (division by zero) unless lock_timeout is Config.LockTimeout.
	const check = `SELECT 1 / CAST(CAST(extract(epoch FROM CAST(current_setting('lock_timeout') AS interval)) * 1000 AS bigint) = $1 AS int)`
	ms := q.cfg.LockTimeout.Milliseconds()
	for _, tt := range []struct {
		name  string
		write func() error
	}{
		{"WriterStatements", func() error {
			return q.pgxWrites(nil)(ctx, []*writeOp{{stmts: []writeStmt{{query: check, args: []any{ms}, what: "check"}}}})
		}},
		{"WriterTransaction", func() error {
			return sqlBatch(db, lockTimed(q.lock, commitWrites))(ctx, []*writeOp{{fn: func(ctx context.Context, tx *sql.Tx) error {
				var one int
				return tx.QueryRowContext(ctx, check, ms).Scan(&one)
			}}})
		}},
		{"InserterTransaction", func() error {
			return pgxTx(ctx, db, q.lock, func(tx pgx.Tx, _ sendBatch) error {
				var one int
				return tx.QueryRow(ctx, check, ms).Scan(&one)
			})
		}},
	} {
		require.NoError(t, tt.write(), tt.name)
		var session string
		require.NoError(t, db.QueryRowContext(ctx, `SELECT current_setting('lock_timeout')`).Scan(&session))
		require.Equal(t, "0", session, "%s: the session's lock_timeout after it", tt.name)
	}
}
