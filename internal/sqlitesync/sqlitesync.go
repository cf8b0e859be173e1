// Package sqlitesync runs work on a SQLite connection whose commits do
// not wait for the disk.
//
// hookhost's SQLite connections commit with synchronous=FULL: in WAL mode
// every commit fsyncs the write-ahead log before it returns. Some writes
// need not wait (run records, a job's steps after its 202); for those,
// Relaxed holds a connection with synchronous=NORMAL, where a commit
// appends its frames to the log without an fsync. The database stays
// consistent after a power loss (SQLite's guarantee for NORMAL in WAL
// mode), and what a power loss can take is a suffix of the log: the log is
// one file written in commit order, the fsync of any later FULL commit
// covers the NORMAL ones before it, and a checkpoint syncs the log before
// copying it back. Callers argue why losing their last commits is
// acceptable.
package sqlitesync

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
)

const (
	normalSQL   = `PRAGMA synchronous = NORMAL`
	fullSQL     = `PRAGMA synchronous = FULL`
	beginSQL    = `BEGIN IMMEDIATE`
	commitSQL   = `COMMIT`
	rollbackSQL = `ROLLBACK`
)

// Relaxed runs fn on a connection of db held for it, with
// synchronous=NORMAL. The setting belongs to the connection, so it is set
// back to FULL before the connection returns to the pool, even when ctx
// has ended; a connection that cannot be set back is closed (a new one
// opens with the DSN's FULL).
func Relaxed(ctx context.Context, db *sql.DB, fn func(conn *sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.Background(), fullSQL); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // closes it
		}
		_ = conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, normalSQL); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	return fn(conn)
}

// RelaxedTx runs fn in a transaction (BEGIN IMMEDIATE) committed with
// synchronous=NORMAL, on the driver connection of a connection of db held
// for it, as Relaxed does, but without database/sql's transaction: the
// pragmas, BEGIN and COMMIT run on ex, the driver connection, which must
// run any statement (driver.ExecerContext; hookhost's SQLite connections
// keep each text's prepared statement, so these are prepared once).
//
// fn runs its statements on ex with the context it is given, which has no
// Done channel: modernc.org/sqlite starts a goroutine for each statement
// run with a context that can end (to interrupt it), and database/sql one
// for each transaction; for a small transaction those goroutines, and the
// threads woken to run them, cost more than its statements. ctx is checked
// before the transaction begins and before it commits: once it has ended,
// the transaction is rolled back and ctx's error returned. A wait for
// another connection's lock ends at the busy timeout.
//
// The connection goes back to the pool with synchronous=FULL and no
// transaction open; one that cannot be put back so is closed.
func RelaxedTx(ctx context.Context, db *sql.DB, fn func(ctx context.Context, ex driver.ExecerContext) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = conn.Close() }()
	var txErr error
	closed := false
	err = conn.Raw(func(dc any) error {
		ex, ok := dc.(driver.ExecerContext)
		if !ok {
			txErr = errors.New("begin: the driver connection cannot execute statements")
			return nil
		}
		var clean bool
		clean, txErr = relaxedTx(ctx, ex, fn)
		if !clean {
			closed = true
			return driver.ErrBadConn // closes it
		}
		return nil
	})
	if txErr != nil || closed {
		// Closing a connection left unclean is not the transaction's
		// failure: one that committed (and then could not go back to
		// FULL) committed.
		return txErr
	}
	return err
}

// relaxedTx is RelaxedTx on ex. clean reports whether the connection was
// left with synchronous=FULL and no transaction open.
func relaxedTx(ctx context.Context, ex driver.ExecerContext, fn func(ctx context.Context, ex driver.ExecerContext) error) (clean bool, err error) {
	run := context.WithoutCancel(ctx)
	exec := func(q string) error {
		_, err := ex.ExecContext(run, q, nil)
		return err
	}
	// rollback ends the transaction; it reports whether none is open.
	rollback := func() bool {
		err := exec(rollbackSQL)
		// SQLite rolls some failures back itself (a full disk, an I/O error).
		return err == nil || strings.Contains(err.Error(), "no transaction is active")
	}
	if err := exec(normalSQL); err != nil {
		return exec(fullSQL) == nil, fmt.Errorf("begin: %w", err)
	}
	clean = true
	defer func() {
		if exec(fullSQL) != nil {
			clean = false
		}
	}()
	if err := exec(beginSQL); err != nil {
		return clean, fmt.Errorf("begin: %w", err)
	}
	if err := fn(run, ex); err != nil {
		return rollback(), err
	}
	if err := ctx.Err(); err != nil {
		return rollback(), err
	}
	if err := exec(commitSQL); err != nil {
		// A COMMIT that failed (a lock it waited out) leaves the
		// transaction open.
		return rollback(), fmt.Errorf("commit: %w", err)
	}
	return clean, nil
}
