package jobs

import (
	"context"
	"database/sql"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/migratelock"
	"github.com/hookhost/hookhost/internal/migratelock/migratelocktest"
)

// TestMigrate_LockTimeoutPostgres checks that a migration blocked by
// another session's long transaction on its table gives up with an error
// naming that session, rather than waiting (and queueing every other
// session's job traffic behind its lock request), and migrates once the
// transaction ends.
func TestMigrate_LockTimeoutPostgres(t *testing.T) {
	t.Parallel()
	db, _ := openPostgres(t, "hh_jobs_locktimeout_")
	driver := riverdatabasesql.New(db)
	require.NoError(t, migrate(context.Background(), db, DialectPostgres, driver))
	migratelocktest.Exercise(t, migratelocktest.Case{
		DB: db, Versions: jobsVersions(t, db),
		// 00009's ALTER TABLE takes ACCESS EXCLUSIVE on hookhost_jobs;
		// another session reads it in a transaction it keeps open.
		Before: 8, Lock: `LOCK TABLE hookhost_jobs IN ACCESS SHARE MODE`,
		Want:  []string{"migration 00009_lz4_compression.sql gave up after 2 attempts"},
		Holds: "AccessShareLock on hookhost_jobs",
		Migrate: func(ctx context.Context, policy migratelock.Policy) error {
			return migrateUnder(ctx, db, DialectPostgres, driver, policy)
		},
	})
}

// jobsVersions is a goose provider of the package's PostgreSQL migrations
// on db, for tests that move its version.
func jobsVersions(t *testing.T, db *sql.DB) *goose.Provider {
	t.Helper()
	fsys, err := fs.Sub(migrations, "migrations/"+DialectPostgres)
	require.NoError(t, err)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithTableName(versionTable))
	require.NoError(t, err)
	return p
}
