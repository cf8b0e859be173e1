// Package migratelocktest checks a PostgreSQL migrator against a
// conflicting lock held by another session (see migratelock).
package migratelocktest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/migratelock"
)

// Case is one migration to block.
type Case struct {
	// DB is the migrated database, in a schema of the test's own.
	DB *sql.DB
	// Versions is the goose provider of the migrations' version table.
	Versions *goose.Provider
	// Before is the version the schema is taken back to: the next
	// migration takes a lock that Lock conflicts with (what it does must
	// be idempotent).
	Before int64
	// Lock is the LOCK TABLE statement of the other session.
	Lock string
	// Want are texts the error must hold besides the holder (the
	// migration's file name).
	Want []string
	// Holds is what the error says the other session holds
	// ("AccessShareLock on hookhost_jobs").
	Holds string
	// Migrate runs the migrator under policy.
	Migrate func(ctx context.Context, policy migratelock.Policy) error
}

// Exercise takes c's schema back to c.Before, holds c.Lock in another
// session's open transaction, and checks that the migrator gives up with
// a *migratelock.LockTimeoutError naming that session and leaves the
// version as it was; then it ends the transaction and checks that the
// migrator brings the schema back to where it was. A migrator that waits
// for the lock fails the test at its one-minute context.
func Exercise(t *testing.T, c Case) {
	t.Helper()
	// A bound for a migrator that would wait forever: the test fails on
	// it, with the context's error instead of the lock timeout's.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	version := func() int64 {
		v, err := c.Versions.GetDBVersion(ctx)
		require.NoError(t, err)
		return v
	}
	after := version()
	_, err := c.Versions.DownTo(ctx, c.Before)
	require.NoError(t, err)

	pid, release := holdLock(ctx, t, c.DB, c.Lock)
	policy := migratelock.Policy{LockTimeout: 50 * time.Millisecond, Attempts: 2, Backoff: 10 * time.Millisecond}
	err = c.Migrate(ctx, policy)
	var lt *migratelock.LockTimeoutError
	require.ErrorAs(t, err, &lt, "%v", err)
	require.Equal(t, policy.Attempts, lt.Attempts)
	require.True(t, migratelock.IsLockTimeout(err), "%v", err)
	for _, want := range append(c.Want, fmt.Sprintf("pid %d holds %s, idle in transaction", pid, c.Holds)) {
		require.Contains(t, err.Error(), want)
	}
	require.Equal(t, c.Before, version(), "the migration left nothing half done")

	release()
	require.NoError(t, c.Migrate(ctx, policy))
	require.Equal(t, after, version())
}

// holdLock runs lock in a transaction of a connection of its own from db
// and keeps the transaction open, as a long transaction on the table
// would, until release is called (at the latest when t ends). It returns
// the session's pid.
func holdLock(ctx context.Context, t *testing.T, db *sql.DB, lock string) (pid int, release func()) {
	t.Helper()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	tx, err := conn.BeginTx(ctx, nil)
	if err == nil {
		_, err = tx.ExecContext(ctx, lock)
	}
	if err == nil {
		err = tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
	}
	if err != nil {
		_ = conn.Close()
		require.NoError(t, err)
	}
	release = func() {
		_ = tx.Rollback() // a second time, sql.ErrTxDone
		_ = conn.Close()
	}
	t.Cleanup(release)
	return pid, release
}
