// Package postgres is the PostgreSQL implementation of store.Store, for
// several hookhost instances sharing one database.
//
// It goes through database/sql with the pgx driver (pgx/v5/stdlib), so that
// Store.DB is a *sql.DB like the SQLite store's and the job queue
// (riverdatabasesql) can share it and its transactions. Migrations run under
// a PostgreSQL advisory lock, so instances starting together migrate once.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/internal/sqlstore"
	"github.com/hookhost/hookhost/internal/migratelock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultMaxConns is the pool size when neither Options.MaxConns nor the
// DSN's pool_max_conns parameter sets one.
const DefaultMaxConns = 10

// Options configure Open.
type Options struct {
	// MaxConns is the most connections the pool opens (and keeps idle).
	// Optional. Default: the DSN's pool_max_conns parameter, else
	// DefaultMaxConns.
	MaxConns int
	// Schema, when set, is created if missing and becomes the connections'
	// search_path, so that hookhost's tables (and River's) live in it.
	// Optional. Default: the DSN's search_path, else the server's.
	Schema string
}

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	*sqlstore.Store
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or a key=value
// string, as pgx accepts) with default Options and migrates it. The DSN may
// carry pool_max_conns=N to size the pool.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenOptions(ctx, dsn, Options{})
}

// OpenOptions is Open with options.
func OpenOptions(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	maxConns := DefaultMaxConns
	if v, ok := cfg.RuntimeParams["pool_max_conns"]; ok {
		// Ours, not a server setting.
		delete(cfg.RuntimeParams, "pool_max_conns")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("postgres: pool_max_conns %q: must be a positive integer", v)
		}
		maxConns = n
	}
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: MaxConns %d: must not be negative", opts.MaxConns)
	}
	if opts.MaxConns > 0 {
		maxConns = opts.MaxConns
	}
	if opts.Schema != "" {
		if err := createSchema(ctx, *cfg, opts.Schema); err != nil {
			return nil, err
		}
		cfg.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}

	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, db, cfg.RuntimeParams["search_path"], migratelock.Default()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return &Store{Store: sqlstore.New(db, dialect())}, nil
}

// createSchema creates schema if it does not exist, on a connection of its
// own (the pool's connections start in it).
func createSchema(ctx context.Context, cfg pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, &cfg)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: create schema %q: %w", schema, err)
	}
	return nil
}

// migrate applies the embedded migrations. The advisory lock's ID is
// derived from the search path, so instances sharing a schema take turns
// while separate schemas (parallel test runs) do not wait on each other.
// The migrations wait for table locks as policy allows (a long transaction
// on a table fails start-up, naming it, rather than stalling it and every
// session queued behind the migration's lock request).
func migrate(ctx context.Context, db *sql.DB, searchPath string, policy migratelock.Policy) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	h := fnv.New64a()
	h.Write([]byte("hookhost/migrate/" + searchPath))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64()>>1)),
		lock.WithLockTimeout(1, 300), // retry every second for five minutes
	)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(policy.SessionLocker(locker)))
	if err != nil {
		return err
	}
	// Not p.Close: it would close db.
	return policy.Run(ctx, db, func(ctx context.Context) error { return sqlstore.Migrate(ctx, p) })
}

// maxRunsStatementBytes is the most bytes of records a batch of them
// writes with one statement (sqlstore.Dialect.RunsStatementBytes): the
// recorder's batches end past 2 MiB, their last record's included, and
// its queue holds 32 MiB at most.
const maxRunsStatementBytes = 32 << 20

func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:         "postgres",
		Contains:     func(col, param string) string { return "position(" + param + "::bytea in " + col + ") > 0" },
		TextContains: func(col, param string) string { return "position(" + param + "::text in " + col + ") > 0" },
		Bucket: func(col, since, width string) string {
			return "floor(extract(epoch from (" + col + " - " + since + "::timestamptz)) / " + width + ")::bigint"
		},
		Time: func(t time.Time) any { return t },
		IsUnique: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.Code == "23505" // unique_violation
		},
		RunsPerInsert: 64, // 1088 parameters, far below the 65535 limit
		// A batch of records is one statement of 18 array parameters,
		// each array a value of every record's column, and one bytea of
		// every record's inputs, output and log, unless its records hold
		// more than this: PostgreSQL takes a message, and a value, of less
		// than 1 GiB, and holds copies of the blob while the statement
		// runs.
		RunsStatementBytes: maxRunsStatementBytes,
		NumberedParams:     true,
		// bytea: text refuses NUL bytes and invalid UTF-8. A non-nil slice,
		// since pgx sends a nil one as NULL.
		Bytes: func(s string) any { return append([]byte{}, s...) },
	}
}
