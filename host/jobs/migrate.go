package jobs

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/hookhost/hookhost/internal/migratelock"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// versionTable is goose's version table for this package's migrations,
// apart from the store's goose_db_version.
const versionTable = "goose_db_version_jobs"

// migrate brings River's tables and the package's own to the current
// schema. On PostgreSQL it holds an advisory lock (derived from the current
// schema) so that instances starting together migrate one at a time, and
// the migrations wait for table locks as migratelock.Default allows.
func migrate(ctx context.Context, db *sql.DB, dialect string, driver riverdriver.Driver[*sql.Tx]) error {
	return migrateUnder(ctx, db, dialect, driver, migratelock.Default())
}

// migrateUnder is migrate with a lock policy (PostgreSQL only): a
// migration that waits past policy's lock timeout is tried again, and
// start-up fails with a *migratelock.LockTimeoutError naming the sessions
// that hold the schema's tables, rather than waiting forever while every
// other session's job traffic queues behind its lock request.
func migrateUnder(ctx context.Context, db *sql.DB, dialect string, driver riverdriver.Driver[*sql.Tx], policy migratelock.Policy) error {
	var opts []goose.ProviderOption
	gd := goose.DialectSQLite3
	if dialect == DialectPostgres {
		gd = goose.DialectPostgres
		var schema string
		if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("jobs: current schema: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte("hookhost/jobs/migrate/" + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(policy.SessionLocker(locker)))
		// River's migrations first, under the same kind of lock.
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		defer conn.Close()
		h.Write([]byte("/river"))
		key := int64(h.Sum64() >> 1)
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
			return fmt.Errorf("jobs: migrate lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key) //nolint:errcheck
	}
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("jobs: river migrator: %w", err)
	}
	if dialect == DialectPostgres {
		err = policy.Run(ctx, db, func(ctx context.Context) error { return migrateRiverTx(ctx, db, m, policy) })
	} else {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return fmt.Errorf("jobs: migrate river: %w", err)
	}
	fsys, err := fs.Sub(migrations, "migrations/"+dialect)
	if err != nil {
		return err
	}
	opts = append(opts, goose.WithTableName(versionTable))
	p, err := goose.NewProvider(gd, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("jobs: migrations: %w", err)
	}
	// Not p.Close: it would close db.
	up := func(ctx context.Context) error {
		_, err := p.Up(ctx)
		return err
	}
	if dialect == DialectPostgres {
		err = policy.Run(ctx, db, up)
	} else {
		err = up(ctx)
	}
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}

// migrateRiverTx applies River's pending migrations with their lock waits
// bounded by policy: each version in a transaction of its own, as River's
// Migrate does (a version may use what the one before it committed, such
// as a new enum value).
func migrateRiverTx(ctx context.Context, db *sql.DB, m *rivermigrate.Migrator[*sql.Tx], policy migratelock.Policy) error {
	for {
		applied, err := migrateRiverStep(ctx, db, m, policy)
		if err != nil || !applied {
			return err
		}
	}
}

// migrateRiverStep applies River's next pending migration, if any.
func migrateRiverStep(ctx context.Context, db *sql.DB, m *rivermigrate.Migrator[*sql.Tx], policy migratelock.Policy) (applied bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	if err := policy.SetLocal(ctx, tx); err != nil {
		return false, err
	}
	res, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
	if err != nil {
		return false, err
	}
	return len(res.Versions) > 0, tx.Commit()
}
