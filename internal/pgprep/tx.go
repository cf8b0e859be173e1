package pgprep

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ExecTx runs a prepared statement in a transaction of its own on pc, and
// reads its result whole: BEGIN and the statement sent together, up to
// one Sync (one round trip, pgconn's pipeline), then, once the statement
// answered, COMMIT (a second); ROLLBACK if it failed.
//
// A statement sent alone is committed by its own Sync, so PostgreSQL
// commits it even when its caller gave up first: a deadline passed while
// it waits for a lock makes pgconn send a cancel request and close the
// connection, but a cancel that does not arrive (a network that dropped
// it, a pooler), or arrives once the lock went, leaves the server, which
// does not notice a closed connection while it waits, to finish what it
// was sent; its caller reports a failure for what was written. Here the
// Sync ends no transaction (BEGIN opened one), and the COMMIT is sent only
// after the statement answered: a connection closed before it rolls the
// statement back.
//
// A COMMIT whose answer is lost (the connection dropped after the server
// committed) is reported as a failure though the transaction committed.
// pc must not be in a transaction.
func ExecTx(ctx context.Context, pc *pgconn.PgConn, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result {
	if s := pc.TxStatus(); s != 'I' {
		return &pgconn.Result{Err: fmt.Errorf("connection already in a transaction (status %q)", s)}
	}
	res := beginAndExec(ctx, pc, sd, params, formats, resultFormats)
	if res.Err != nil {
		rollback(ctx, pc)
		return res
	}
	if err := commit(ctx, pc); err != nil {
		rollback(ctx, pc)
		return &pgconn.Result{Err: fmt.Errorf("commit: %w", err)}
	}
	return res
}

// beginAndExec sends BEGIN and the statement up to one Sync, and returns
// the statement's result, or the first error.
func beginAndExec(ctx context.Context, pc *pgconn.PgConn, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result {
	p := pc.StartPipeline(ctx)
	p.SendQueryParams("BEGIN", nil, nil, nil, nil)
	p.SendQueryStatement(sd, params, formats, resultFormats)
	if err := p.Sync(); err != nil {
		return &pgconn.Result{Err: err}
	}
	// The answers come in order: BEGIN's, the statement's and the Sync's.
	// A refusal (a *PgError) skips what follows up to the Sync; any other
	// error closed the connection.
	var res *pgconn.Result
	for results := 0; ; {
		r, err := p.GetResults()
		var pe *pgconn.PgError
		switch r := r.(type) {
		case nil:
			if !errors.As(err, &pe) {
				if err == nil {
					err = errors.New("pipeline: no answer before the Sync's")
				}
				_ = p.Close()
				return &pgconn.Result{Err: err}
			}
			if res == nil {
				res = &pgconn.Result{Err: err}
			}
		case *pgconn.ResultReader:
			results++
			if results == 1 { // BEGIN's
				if _, err := r.Close(); err != nil && res == nil {
					res = &pgconn.Result{Err: err}
				}
				continue
			}
			if got := r.Read(); res == nil {
				res = got
			}
		case *pgconn.PipelineSync:
			if err := p.Close(); err != nil {
				return &pgconn.Result{Err: err}
			}
			if res == nil {
				res = &pgconn.Result{Err: errors.New("pipeline: the statement did not answer")}
			}
			return res
		default:
			_ = p.Close()
			return &pgconn.Result{Err: fmt.Errorf("pipeline: unexpected answer %T", r)}
		}
	}
}

// commit commits pc's transaction, and fails if it did not commit.
func commit(ctx context.Context, pc *pgconn.PgConn) error {
	res, err := pc.Exec(ctx, "COMMIT").ReadAll()
	if err != nil {
		return err
	}
	if len(res) != 1 || res[0].CommandTag.String() != "COMMIT" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// rollback ends pc's transaction, if it has one, by a ROLLBACK or, when
// that fails, by closing pc (the server rolls the transaction back).
func rollback(ctx context.Context, pc *pgconn.PgConn) {
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	if _, err := pc.Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
		_ = pc.Close(ctx)
	}
}
