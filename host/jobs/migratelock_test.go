package jobs

import (
	"context"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/migratelock"
	"github.com/hookhost/hookhost/internal/pgtest"
)

// TestMigrate_LockTimeoutPostgres checks that a migration blocked by
// another session's long transaction on its table gives up with an error
// naming that session, rather than waiting (and queueing every other
// session's job traffic behind its lock request), and migrates once the
// transaction ends.
func TestMigrate_LockTimeoutPostgres(t *testing.T) {
	t.Parallel()
	// A bound for a migrator that would wait forever: the test fails on
	// it, with the context's error instead of the lock timeout's.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, _ := openPostgres(t, "hh_jobs_locktimeout_")
	driver := riverdatabasesql.New(db)
	require.NoError(t, migrate(ctx, db, DialectPostgres, driver))

	// 00009 is pending again: its ALTER TABLE takes ACCESS EXCLUSIVE on
	// hookhost_jobs (what it does is idempotent).
	fsys, err := fs.Sub(migrations, "migrations/"+DialectPostgres)
	require.NoError(t, err)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithTableName(versionTable))
	require.NoError(t, err)
	_, err = p.DownTo(ctx, 8)
	require.NoError(t, err)
	version := func() int64 {
		v, err := p.GetDBVersion(ctx)
		require.NoError(t, err)
		return v
	}

	// Another session reads hookhost_jobs in a transaction it keeps open.
	pid, release := pgtest.HoldLock(ctx, t, db, `LOCK TABLE hookhost_jobs IN ACCESS SHARE MODE`)
	policy := migratelock.Policy{LockTimeout: 50 * time.Millisecond, Attempts: 3, Backoff: 10 * time.Millisecond}
	err = migrateUnder(ctx, db, DialectPostgres, driver, policy)
	var lt *migratelock.LockTimeoutError
	require.ErrorAs(t, err, &lt, "%v", err)
	require.Equal(t, 3, lt.Attempts)
	require.True(t, migratelock.IsLockTimeout(err), "%v", err)
	require.Contains(t, err.Error(), fmt.Sprintf("pid %d holds AccessShareLock on hookhost_jobs, idle in transaction", pid))
	require.Contains(t, err.Error(), "00009_lz4_compression.sql")
	require.Equal(t, int64(8), version(), "the migration left nothing half done")

	release()
	require.NoError(t, migrateUnder(ctx, db, DialectPostgres, driver, policy))
	require.Equal(t, int64(9), version())
}
