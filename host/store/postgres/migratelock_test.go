package postgres

import (
	"context"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/migratelock"
	"github.com/hookhost/hookhost/internal/migratelock/migratelocktest"
)

// TestMigrate_LockTimeout checks that a store migration blocked by a
// writer's long transaction gives up with an error naming it rather than
// waiting forever, and migrates once the transaction ends.
func TestMigrate_LockTimeout(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{}).DB()
	fsys, err := fs.Sub(migrations, "migrations")
	require.NoError(t, err)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys)
	require.NoError(t, err)
	migratelocktest.Exercise(t, migratelocktest.Case{
		DB: db, Versions: p,
		// 00006's CREATE INDEX on runs waits for writers.
		Before: 5, Lock: `LOCK TABLE runs IN ROW EXCLUSIVE MODE`,
		Want:  []string{"migration 00006_run_record_partial_indexes.sql gave up after 2 attempts"},
		Holds: "RowExclusiveLock on runs",
		Migrate: func(ctx context.Context, policy migratelock.Policy) error {
			return migrate(ctx, db, "locktimeout", policy)
		},
	})
}
