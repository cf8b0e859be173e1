// Package pgprep runs a statement on pgx's protocol connection (pgconn)
// under a database/sql connection of pgx's stdlib driver, as a named
// prepared statement with parameters it encodes itself: in binary, by the
// connection's type map, into one buffer sized once, a []byte given for a
// bytea parameter sent as it is.
//
// Through database/sql, or pgx's Conn, each argument is converted again
// (database/sql's NamedValues) and encoded into a buffer of the
// connection's (pgx's ExtendedQueryBuilder), which pgx shrinks back to a
// few hundred bytes after each statement, so that every large statement
// grows it again; and since pgx empties its slice of parameter values
// without clearing it, a next statement with fewer parameters leaves the
// last large one's bytes reachable, a copy for each connection of the
// pool. Here the parameters live in buffers of the call's, and pgconn
// copies them into its write buffer, which it shrinks back once the
// message is written.
//
// A statement is committed in a transaction of its own, or by its own
// Sync with the server bounding its run by its context's deadline
// (Commit): sent alone, a statement whose caller gave up may still be
// committed by the server after its caller was told it failed.
package pgprep

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// ExecFunc runs a prepared statement with parameters encoded as formats
// says, and reads its result whole.
type ExecFunc func(ctx context.Context, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result

// Execer is a database/sql driver connection of pgx's that runs a
// prepared statement itself, committed as commit says, rather than by Run
// on its *pgx.Conn: tests' connections that fail statements, or lose the
// answer of their commit.
type Execer interface {
	ExecPrepared(ctx context.Context, commit Commit, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result
}

// Conn returns pgx's connection under dc, a database/sql driver connection
// of pgx's (*stdlib.Conn, or a connection that wraps one the same way).
func Conn(dc any) (*pgx.Conn, error) {
	sc, ok := dc.(interface{ Conn() *pgx.Conn })
	if !ok {
		return nil, fmt.Errorf("connection is a %T, not pgx's", dc)
	}
	return sc.Conn(), nil
}

// OnDriverConn runs fn on the driver connection under a connection of
// db's pool.
func OnDriverConn(ctx context.Context, db *sql.DB, fn func(dc any) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(fn)
}

// OnConn runs fn on pgx's connection under a connection of db's pool,
// with how to run a prepared statement on it: committed as commit says
// (Run), through the driver connection when it runs those itself
// (Execer).
func OnConn(ctx context.Context, db *sql.DB, commit Commit, fn func(c *pgx.Conn, exec ExecFunc) error) error {
	return OnDriverConn(ctx, db, func(dc any) error {
		c, err := Conn(dc)
		if err != nil {
			return err
		}
		if e, ok := dc.(Execer); ok {
			return fn(c, func(ctx context.Context, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result {
				return e.ExecPrepared(ctx, commit, sd, params, formats, resultFormats)
			})
		}
		return fn(c, func(ctx context.Context, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result {
			return Run(ctx, c, commit, sd, params, formats, resultFormats)
		})
	})
}

// QueryRow runs query, prepared on c (once: pgx keeps it by its text),
// with args, by exec (OnConn's, committed as it says), and scans
// its one row into dest. Args are encoded in binary by c's type map into
// one buffer sized by sizeHint; a []byte given for a bytea parameter, and
// an Encoded one, is sent as it is, not copied. The statement is always a
// named server-side one, whatever the connection string's
// default_query_exec_mode.
//
// When the server no longer has the statement (a DEALLOCATE or DISCARD on
// the session, a proxy that reset it), pgx still does, and every later
// statement on the connection would fail the same way: the server refuses
// it before it runs, which fails its transaction, and it is forgotten,
// prepared again and run once more, in a new transaction.
func QueryRow(ctx context.Context, c *pgx.Conn, exec ExecFunc, query string, sizeHint int, args []any, dest ...any) error {
	sd, res, err := run(ctx, c, exec, query, sizeHint, args)
	if err != nil {
		return err
	}
	if len(res.Rows) != 1 {
		return fmt.Errorf("statement answered %d rows, not 1", len(res.Rows))
	}
	row := res.Rows[0]
	if len(row) != len(dest) || len(sd.Fields) != len(dest) {
		return errors.New("statement answered another number of columns")
	}
	m := c.TypeMap()
	for i, d := range dest {
		if err := m.Scan(sd.Fields[i].DataTypeOID, pgtype.BinaryFormatCode, row[i], d); err != nil {
			return fmt.Errorf("scan column %d: %w", i, err)
		}
	}
	return nil
}

// Exec is QueryRow for a statement that answers no rows: it returns the
// statement's command tag (the rows it wrote).
func Exec(ctx context.Context, c *pgx.Conn, exec ExecFunc, query string, sizeHint int, args []any) (pgconn.CommandTag, error) {
	_, res, err := run(ctx, c, exec, query, sizeHint, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return res.CommandTag, nil
}

// run runs query as QueryRow says, preparing it again once if the
// server forgot it (exec's transaction, which the refusal failed, is over).
func run(ctx context.Context, c *pgx.Conn, exec ExecFunc, query string, sizeHint int, args []any) (*pgconn.StatementDescription, *pgconn.Result, error) {
	sd, res, err := runOnce(ctx, c, exec, query, sizeHint, args)
	if !statementForgotten(err) {
		return sd, res, err
	}
	if derr := c.Deallocate(ctx, query); derr != nil { // pgx forgets it, and prepares it again
		return nil, nil, err
	}
	return runOnce(ctx, c, exec, query, sizeHint, args)
}

// statementForgotten reports whether err is the server's refusal of a
// prepared statement it does not have (a DEALLOCATE or DISCARD on the
// session, a proxy that reset it): the statement did not run.
func statementForgotten(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == statementUnknown
}

// statementUnknown is PostgreSQL's invalid_sql_statement_name: a prepared
// statement the session does not have.
const statementUnknown = "26000"

// runOnce is run's one attempt.
func runOnce(ctx context.Context, c *pgx.Conn, exec ExecFunc, query string, sizeHint int, args []any) (*pgconn.StatementDescription, *pgconn.Result, error) {
	sd, err := c.Prepare(ctx, query, query)
	if err != nil {
		return nil, nil, err
	}
	params, err := encode(c.TypeMap(), sd, sizeHint, args)
	if err != nil {
		return nil, nil, err
	}
	binary := []int16{pgtype.BinaryFormatCode} // one code stands for every parameter, and every column
	res := exec(ctx, sd, params, binary, binary)
	if res.Err != nil {
		return nil, nil, res.Err
	}
	return sd, res, nil
}

// encode encodes args as sd's parameters in binary, into one buffer of
// sizeHint bytes (grown if need be); a non-nil []byte for a bytea
// parameter, or an Encoded, is the parameter itself.
func encode(m *pgtype.Map, sd *pgconn.StatementDescription, sizeHint int, args []any) ([][]byte, error) {
	if len(sd.ParamOIDs) != len(args) {
		return nil, fmt.Errorf("statement takes %d parameters, given %d", len(sd.ParamOIDs), len(args))
	}
	params := make([][]byte, len(args))
	buf := make([]byte, 0, sizeHint)
	for i, a := range args {
		oid := sd.ParamOIDs[i]
		if e, ok := a.(Encoded); ok {
			params[i] = e
			continue
		}
		if b, ok := a.([]byte); ok && oid == pgtype.ByteaOID && b != nil {
			params[i] = b
			continue
		}
		at := len(buf)
		next, err := m.Encode(oid, pgtype.BinaryFormatCode, a, buf)
		if err != nil {
			return nil, fmt.Errorf("encode parameter $%d: %w", i+1, err)
		}
		if next == nil { // NULL
			continue
		}
		buf = next
		params[i] = buf[at:len(buf):len(buf)]
	}
	return params, nil
}
