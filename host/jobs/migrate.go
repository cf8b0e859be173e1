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
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// versionTable is goose's version table for this package's migrations,
// apart from the store's goose_db_version.
const versionTable = "goose_db_version_jobs"

// migrate brings River's tables and the package's own to the current
// schema. On PostgreSQL it holds an advisory lock (derived from the current
// schema) so that instances starting together migrate one at a time.
func migrate(ctx context.Context, db *sql.DB, dialect string, driver riverdriver.Driver[*sql.Tx]) error {
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
		opts = append(opts, goose.WithSessionLocker(locker))
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
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
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
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}
