package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/migratelock"
	"github.com/hookhost/hookhost/internal/pgtest"
)

// TestMigrate_LockTimeout checks that a store migration blocked by a
// writer's long transaction gives up with an error naming it rather than
// waiting forever, and migrates once the transaction ends.
func TestMigrate_LockTimeout(t *testing.T) {
	t.Parallel()
	// A bound for a migrator that would wait forever: the test fails on
	// it, with the context's error instead of the lock timeout's.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := openTest(t, Options{}).DB()
	fsys, err := fs.Sub(migrations, "migrations")
	require.NoError(t, err)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys)
	require.NoError(t, err)
	// 00006 is pending again: its CREATE INDEX on runs waits for writers.
	_, err = p.DownTo(ctx, 5)
	require.NoError(t, err)
	version := func() int64 {
		v, err := p.GetDBVersion(ctx)
		require.NoError(t, err)
		return v
	}

	pid, release := pgtest.HoldLock(ctx, t, db, `LOCK TABLE runs IN ROW EXCLUSIVE MODE`)
	policy := migratelock.Policy{LockTimeout: 50 * time.Millisecond, Attempts: 2, Backoff: 10 * time.Millisecond}
	err = migrate(ctx, db, "locktimeout", policy)
	var lt *migratelock.LockTimeoutError
	require.ErrorAs(t, err, &lt, "%v", err)
	require.Contains(t, err.Error(), "migration 00006_run_record_partial_indexes.sql gave up after 2 attempts")
	require.Contains(t, err.Error(), fmt.Sprintf("pid %d holds RowExclusiveLock on runs, idle in transaction", pid))
	require.Equal(t, int64(5), version(), "the migration left nothing half done")

	release()
	require.NoError(t, migrate(ctx, db, "locktimeout", policy))
	require.Equal(t, int64(6), version())
}
