// Package pgtest gives tests and benchmarks a fresh PostgreSQL schema on
// the server named by HOOKHOST_TEST_POSTGRES, so that they can run side by
// side on one database and leave nothing behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Env is the environment variable holding the test server's DSN.
const Env = "HOOKHOST_TEST_POSTGRES"

// Schema creates a schema named prefix plus a random suffix on the
// PostgreSQL server of dsn. It returns a DSN whose connections use that
// schema (search_path) and a function that drops it.
func Schema(ctx context.Context, dsn, prefix string) (schemaDSN string, drop func(), err error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "", nil, fmt.Errorf("postgres: the DSN is not a postgres:// URL")
	}
	plain := *u
	q := plain.Query()
	q.Del("pool_max_conns") // hookhost's pool setting, not a server parameter
	plain.RawQuery = q.Encode()
	db, err := sql.Open("pgx", plain.String())
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = db.Close()
		return "", nil, fmt.Errorf("postgres: create schema: %w", err)
	}
	drop = func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(dctx, "DROP SCHEMA "+schema+" CASCADE")
		_ = db.Close()
	}
	q = u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// DSN returns a DSN for a fresh schema on the server named by Env, dropped
// when tb ends; it skips tb, naming Env, when Env is unset.
func DSN(tb testing.TB, prefix string) string {
	tb.Helper()
	base := os.Getenv(Env)
	if base == "" {
		tb.Skip("set " + Env + " to a PostgreSQL DSN to run this test")
	}
	return SchemaOf(tb, base, prefix)
}

// SchemaOf is DSN for a given server DSN.
func SchemaOf(tb testing.TB, dsn, prefix string) string {
	tb.Helper()
	s, drop, err := Schema(context.Background(), dsn, prefix)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(drop)
	return s
}

// WaitForLockWait waits until a session waits for a lock on table (of c's
// schema), and reports true; or, when the waiting statement's caller
// reports first on done (the report put back for the caller to read),
// false (WaitForLocks).
func WaitForLockWait(ctx context.Context, tb testing.TB, c *sql.Conn, table string, done chan error) bool {
	tb.Helper()
	return WaitForLocks(ctx, tb, c, done, `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE NOT l.granted AND c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`, table)
}

// WaitForLocks waits until query, a count of pg_locks' rows run on c with
// args, counts some, and reports true; or, when the waiting statement's
// caller reports first on done (the report put back for the caller to
// read), false. It polls, reading the state, not timing it; a statement
// that never waits (blocked on something else) fails tb after
// lockWaitBound rather than hanging the test binary.
func WaitForLocks(ctx context.Context, tb testing.TB, c *sql.Conn, done chan error, query string, args ...any) bool {
	tb.Helper()
	bound := time.After(lockWaitBound)
	for {
		var n int
		if err := c.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			tb.Fatalf("read the locks: %v", err)
		}
		if n > 0 {
			return true
		}
		select {
		case err := <-done:
			done <- err
			return false
		case <-bound:
			tb.Fatalf("no lock wait within %s: %s", lockWaitBound, query)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// lockWaitBound is how long WaitForLocks waits for the wait at most: a
// guard against a hang, not a measurement.
const lockWaitBound = 2 * time.Minute

// CountAfterLock returns query's count, read on c once every transaction
// that holds or waits for a lock on table has ended (committed or not).
func CountAfterLock(ctx context.Context, tb testing.TB, c *sql.Conn, query, table string) int {
	tb.Helper()
	var n int
	tx, err := c.BeginTx(ctx, nil)
	if err == nil {
		if _, err = tx.ExecContext(ctx, `LOCK TABLE `+table+` IN ACCESS EXCLUSIVE MODE`); err == nil {
			err = tx.QueryRowContext(ctx, query).Scan(&n)
		}
		if cerr := tx.Commit(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		tb.Fatalf("count after the lock on %s: %v", table, err)
	}
	return n
}

// OpenDropCancels opens a pool of at most conns connections to dsn (and
// search_path schema, unless empty) that lose their cancel requests
// (DropCancels), closed when tb ends.
func OpenDropCancels(tb testing.TB, dsn, schema string, conns int) *sql.DB {
	tb.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	if schema != "" {
		cfg.RuntimeParams["search_path"] = schema
	}
	DropCancels(&cfg.Config)
	db := stdlib.OpenDB(*cfg)
	tb.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db
}

// DropCancels makes the connections cfg dials lose their cancel requests:
// a connection that opens with one is closed instead, as by a network
// that dropped it or a pooler that does not pass it on. pgconn sends one
// when a context ends a statement it waits for (and closes the statement's
// connection); without it, PostgreSQL, which does not notice a closed
// connection while a statement waits for a lock, runs what it was sent to
// its end once the lock goes.
//
// A cancel request is recognized only in clear text: DropCancels turns TLS
// off for cfg and its fallbacks (a server that requires TLS then refuses
// the connection, failing the test rather than letting a cancel through).
func DropCancels(cfg *pgconn.Config) {
	cfg.TLSConfig = nil
	for _, f := range cfg.Fallbacks {
		f.TLSConfig = nil
	}
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &cancelDropper{Conn: c}, nil
	}
}

// cancelRequestCode is the code of the protocol's CancelRequest message.
const cancelRequestCode = 80877102

// cancelDropper is a connection that closes, sending nothing, when its
// first message is a CancelRequest.
type cancelDropper struct {
	net.Conn
	started bool // its first message was written
}

func (c *cancelDropper) Write(b []byte) (int, error) {
	if !c.started {
		c.started = true
		if len(b) >= 12 && binary.BigEndian.Uint32(b) == uint32(len(b)) && binary.BigEndian.Uint32(b[4:]) == cancelRequestCode {
			_ = c.Conn.Close()
			return len(b), nil
		}
	}
	return c.Conn.Write(b)
}
