package jobs

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"

	"github.com/hookhost/hookhost/internal/pgprep"
)

// A batch of 202s on PostgreSQL (pgInsertRuns) runs its statement on pgx's
// protocol connection (pgconn) with parameters it encodes itself, and not
// through a pgx batch. pgx encodes a statement's parameters into a buffer
// of the connection's (its ExtendedQueryBuilder), the blob of every job's
// args and inputs included, and keeps that buffer until the connection's
// next statement; and since it empties the slice of parameter values
// without clearing it, a next statement with fewer parameters leaves it
// reachable. Each connection of the pool that sent a batch kept a copy of
// that batch's bytes: under a load with 16 KiB bodies 4-18 MB of a 44-64
// MB live heap (heap profiles of two sessions), which the server's GC
// percentage multiplied. The statement now sends the batch's blob as it
// is (no copy: pgprep.QueryRow); pgconn copies it into its write buffer,
// which it shrinks back once the message is written.

// execStatement runs a prepared statement (pgprep.ExecFunc).
type execStatement = pgprep.ExecFunc

// onPgxStatement runs fn on pgx's connection under a connection of db's
// pool, with how to run a prepared statement on it (pgprep.OnConn): the
// tests' connection that fails statements runs them itself
// (pgprep.StatementExecer).
func onPgxStatement(ctx context.Context, db *sql.DB, fn func(c *pgx.Conn, exec execStatement) error) error {
	return pgprep.OnConn(ctx, db, fn)
}

// queryPrepared runs query, prepared on c, with args encoded once and a
// []byte for a bytea parameter sent as it is, and scans its one row into
// dest (pgprep.QueryRow).
func queryPrepared(ctx context.Context, c *pgx.Conn, exec execStatement, query string, sizeHint int, args []any, dest ...any) error {
	return pgprep.QueryRow(ctx, c, exec, query, sizeHint, args, dest...)
}
