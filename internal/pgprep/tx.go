package pgprep

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Commit is how a statement run by OnConn's ExecFunc (Run) is committed.
//
// A statement sent alone is committed by its own Sync, so PostgreSQL
// commits it even when its caller gave up first: a context that ends
// while it waits for a lock makes pgconn send a cancel request and close
// the connection, but a cancel that does not arrive (a network that
// dropped it, a pooler) or arrives once the lock went leaves the server,
// which does not notice a closed connection while it waits, to finish
// what it was sent; its caller reports a failure for what was written.
// InTx keeps that from happening; BySync only when the context ends by
// its deadline, for one round trip less.
type Commit int

const (
	// InTx runs the statement in a transaction of its own (execTx), in
	// two round trips: a statement whose caller gave up, however its
	// context ended, is never committed after.
	InTx Commit = iota
	// BySync commits the statement by its own Sync (execBySync), in one
	// round trip, the server bounding its run by its context's deadline:
	// a statement whose deadline passed is not committed after, but one
	// whose context was cancelled early may be.
	BySync
)

// Run runs a prepared statement on c, committed as commit says, and
// reads its result whole. c must not be in a transaction: one that is is
// closed (every later statement on it would fail the same way, and a
// statement_timeout set for the statement would outlive it), and the
// statement fails.
func Run(ctx context.Context, c *pgx.Conn, commit Commit, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result {
	if s := c.PgConn().TxStatus(); s != 'I' {
		_ = c.PgConn().Close(ctx)
		return &pgconn.Result{Err: fmt.Errorf("connection already in a transaction (status %q)", s)}
	}
	if commit == BySync {
		return execBySync(ctx, c, sd, params, formats, resultFormats)
	}
	return execTx(ctx, c.PgConn(), sd, params, formats, resultFormats)
}

// execTx runs a prepared statement in a transaction of its own on pc, and
// reads its result whole: BEGIN and the statement sent together, up to
// one Sync (one round trip, pgconn's pipeline), then, once the statement
// answered, COMMIT (a second); ROLLBACK if it failed. The Sync ends no
// transaction (BEGIN opened one), and the COMMIT is sent only after the
// statement answered: a connection closed before it rolls the statement
// back (Commit says why that matters).
//
// A COMMIT whose answer is lost (the connection dropped after the server
// committed) is reported as a failure though the transaction committed.
func execTx(ctx context.Context, pc *pgconn.PgConn, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result {
	res := execAfter(ctx, pc, func(p *pgconn.Pipeline) { p.SendQueryParams("BEGIN", nil, nil, nil, nil) },
		sd, params, formats, resultFormats)
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

// execBySync runs a prepared statement on c, committed by its own Sync,
// in one round trip, and reads its result whole. When ctx has a deadline,
// the statement's transaction gets a statement_timeout of the time left
// less a margin (serverMargin; set_config(..., true), sent before it in the
// same pipeline, ends with its transaction): a statement still waiting
// (for a lock) when the timeout passes is cancelled by the server itself,
// before its caller's deadline, and nothing is committed, whether or not
// pgconn's cancel request arrives.
//
// Not covered: a context cancelled before its deadline (the server may
// still commit what it was sent), and the commit itself, which no
// statement_timeout bounds (a WAL flush, a synchronous standby): an error
// that is not the server's (*pgconn.PgError) leaves the outcome unknown.
//
// setTimeoutSQL is prepared on c once (parsed and planned for every batch
// it cost PostgreSQL about 30 µs more than the statement alone, prepared
// about 8).
func execBySync(ctx context.Context, c *pgx.Conn, sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result {
	pc := c.PgConn()
	deadline, ok := ctx.Deadline()
	if !ok {
		return pc.ExecStatement(ctx, sd, params, formats, resultFormats).Read()
	}
	tsd, err := c.Prepare(ctx, setTimeoutSQL, setTimeoutSQL) // pgx keeps it by its text
	if err != nil {
		return &pgconn.Result{Err: err}
	}
	// The time left once prepared (a round trip on a connection's first
	// batch): the server's timer starts when the pipeline arrives.
	left := time.Until(deadline)
	ms := (left - serverMargin(left)).Milliseconds()
	if ms < 1 {
		ms = 1 // 0 would turn the timeout off
	}
	timeout := [][]byte{strconv.AppendInt(nil, ms, 10)}
	res := execAfter(ctx, pc, func(p *pgconn.Pipeline) { p.SendQueryStatement(tsd, timeout, nil, nil) },
		sd, params, formats, resultFormats)
	if statementForgotten(res.Err) {
		// The session forgot its prepared statements (a DISCARD, a proxy
		// that reset it): this one is prepared again on the next call, the
		// caller's by run.
		_ = c.Deallocate(ctx, setTimeoutSQL)
	}
	return res
}

// serverMargin is how long before its caller's deadline execBySync has the
// server give up on a statement, the time left being left: a sixth of
// it, and at least half of it up to 2 s, so that the server's answer
// comes back before the caller stops reading.
func serverMargin(left time.Duration) time.Duration {
	return max(left/6, min(left/2, 2*time.Second))
}

// setTimeoutSQL sets statement_timeout, for the transaction, to $1
// milliseconds, or keeps the session's if it is shorter (an operator's,
// from the connection string or the role).
const setTimeoutSQL = `SELECT set_config('statement_timeout', (CASE WHEN s > 0 AND s < $1::bigint THEN s ELSE $1::bigint END)::text, true)
	FROM (SELECT (extract(epoch FROM current_setting('statement_timeout')::interval) * 1000)::bigint AS s) AS t`

// execAfter sends what sendFirst sends (one query) and the statement up
// to one Sync, and returns the statement's result, or the first error.
func execAfter(ctx context.Context, pc *pgconn.PgConn, sendFirst func(p *pgconn.Pipeline), sd *pgconn.StatementDescription, params [][]byte, formats, resultFormats []int16) *pgconn.Result {
	p := pc.StartPipeline(ctx)
	sendFirst(p)
	p.SendQueryStatement(sd, params, formats, resultFormats)
	if err := p.Sync(); err != nil {
		return &pgconn.Result{Err: err}
	}
	// The answers come in order: first's, the statement's and the Sync's.
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
				if res != nil && errors.As(res.Err, &pe) {
					// The server's error ended the session (a terminated
					// backend, a shutdown): it says more than pgconn's
					// "conn closed" that follows.
					return res
				}
				return &pgconn.Result{Err: err}
			}
			if res == nil || res.Err == nil {
				// An error after the statement's answer is the Sync's: a
				// commit that failed (a deferred trigger, a serialization
				// failure, a full NOTIFY queue), nothing committed.
				res = &pgconn.Result{Err: err}
			}
		case *pgconn.ResultReader:
			results++
			if results == 1 { // first's
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
// that fails, by closing pc (the server rolls the transaction back). The
// ROLLBACK is sent though ctx ended (the caller gave up between the
// statement's answer and the COMMIT), bounded by rollbackTimeout, so that
// the connection is kept.
func rollback(ctx context.Context, pc *pgconn.PgConn) {
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if _, err := pc.Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
		_ = pc.Close(ctx)
	}
}

// rollbackTimeout bounds a ROLLBACK sent after its caller gave up.
const rollbackTimeout = 5 * time.Second
