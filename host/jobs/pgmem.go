package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
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
// percentage multiplied. The
// statement now sends the batch's blob as it is (no copy); pgconn copies
// it into its write buffer, which it shrinks back once the message is
// written.

// execStatement runs a prepared statement with parameters encoded as
// formats says, and reads its result whole.
type execStatement func(ctx context.Context, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result

// statementExecer is a database/sql driver connection of pgx's that runs
// prepared statements itself rather than through its *pgx.Conn (the
// tests' connection that fails statements), as batchSender does batches.
type statementExecer interface {
	ExecStatement(ctx context.Context, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result
}

// onPgxStatement runs fn on pgx's connection under a connection of db's
// pool, with how to run a prepared statement on it: through the driver
// connection when it runs them itself (statementExecer), else on pgx's
// protocol connection.
func onPgxStatement(ctx context.Context, db *sql.DB, fn func(c *pgx.Conn, exec execStatement) error) error {
	return onDriverConn(ctx, db, func(dc any) error {
		c, _, err := pgxSender(dc)
		if err != nil {
			return err
		}
		if se, ok := dc.(statementExecer); ok {
			return fn(c, se.ExecStatement)
		}
		return fn(c, func(ctx context.Context, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result {
			return c.PgConn().ExecStatement(ctx, sd, params, formats, resultFormats).Read()
		})
	})
}

// queryPrepared runs query, prepared on c (once: pgx keeps it by its
// text), with args, and scans its one row into dest. Args are encoded in
// binary by c's type map into one buffer sized by sizeHint; a []byte given
// for a bytea parameter is sent as it is, not copied. The statement is
// always a named server-side one, whatever the connection string's
// default_query_exec_mode (hookhost's LISTEN and the migrations' session
// locks need a session of their own anyway, not a transaction pooler's).
//
// When the server no longer has the statement (a DEALLOCATE or DISCARD on
// the session, a proxy that reset it), pgx still does, and every later
// statement on the connection would fail the same way: it is forgotten
// and prepared again, and the statement, refused before it ran, runs once
// more.
func queryPrepared(ctx context.Context, c *pgx.Conn, exec execStatement, query string, sizeHint int, args []any, dest ...any) error {
	err := queryPreparedOnce(ctx, c, exec, query, sizeHint, args, dest...)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != pgStatementUnknown {
		return err
	}
	if derr := c.Deallocate(ctx, query); derr != nil {
		return err
	}
	return queryPreparedOnce(ctx, c, exec, query, sizeHint, args, dest...)
}

// pgStatementUnknown is PostgreSQL's invalid_sql_statement_name: a
// prepared statement the session does not have.
const pgStatementUnknown = "26000"

// queryPreparedOnce is queryPrepared's one attempt.
func queryPreparedOnce(ctx context.Context, c *pgx.Conn, exec execStatement, query string, sizeHint int, args []any, dest ...any) error {
	sd, err := c.Prepare(ctx, query, query)
	if err != nil {
		return err
	}
	if len(sd.ParamOIDs) != len(args) {
		return fmt.Errorf("statement takes %d parameters, given %d", len(sd.ParamOIDs), len(args))
	}
	m := c.TypeMap()
	params := make([][]byte, len(args))
	buf := make([]byte, 0, sizeHint)
	for i, a := range args {
		oid := sd.ParamOIDs[i]
		if b, ok := a.([]byte); ok && oid == pgtype.ByteaOID && b != nil {
			params[i] = b
			continue
		}
		at := len(buf)
		next, err := m.Encode(oid, pgtype.BinaryFormatCode, a, buf)
		if err != nil {
			return fmt.Errorf("encode parameter $%d: %w", i+1, err)
		}
		if next == nil { // NULL
			continue
		}
		buf = next
		params[i] = buf[at:len(buf):len(buf)]
	}
	binary := []int16{pgtype.BinaryFormatCode} // one code stands for every parameter, and every column
	res := exec(ctx, sd, params, binary, binary)
	if res.Err != nil {
		return res.Err
	}
	if len(res.Rows) != 1 {
		return fmt.Errorf("statement answered %d rows, not 1", len(res.Rows))
	}
	row := res.Rows[0]
	if len(row) != len(dest) || len(sd.Fields) != len(dest) {
		return errors.New("statement answered another number of columns")
	}
	for i, d := range dest {
		if err := m.Scan(sd.Fields[i].DataTypeOID, pgtype.BinaryFormatCode, row[i], d); err != nil {
			return fmt.Errorf("scan column %d: %w", i, err)
		}
	}
	return nil
}
