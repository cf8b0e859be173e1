// Package pgtest gives tests and benchmarks a fresh PostgreSQL schema on
// the server named by HOOKHOST_TEST_POSTGRES, so that they can run side by
// side on one database and leave nothing behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
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
