package jobs

import (
	"context"
	"database/sql"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store/sqlite"
	"github.com/hookhost/hookhost/internal/pgtest"
)

// nopRunner never runs: the queue under test works no jobs.
type nopRunner struct{}

func (nopRunner) RunJob(context.Context, *Attempt) (*Outcome, error) { return nil, nil }

func TestMigrate_UpgradesVersion1Records(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		open func(t *testing.T) (db *sql.DB, dialect, dsn string, driver riverdriver.Driver[*sql.Tx], gd goose.Dialect)
	}{
		{"SQLite", func(t *testing.T) (*sql.DB, string, string, riverdriver.Driver[*sql.Tx], goose.Dialect) {
			db, err := sql.Open("sqlite", sqlite.DSN(filepath.Join(t.TempDir(), "jobs.db")))
			require.NoError(t, err)
			db.SetMaxOpenConns(1)
			return db, DialectSQLite, "", riversqlite.New(db), goose.DialectSQLite3
		}},
		{"PostgreSQL", func(t *testing.T) (*sql.DB, string, string, riverdriver.Driver[*sql.Tx], goose.Dialect) {
			dsn := pgtest.DSN(t, "hh_jobs_migrate_")
			cfg, err := pgx.ParseConfig(dsn)
			require.NoError(t, err)
			db := stdlib.OpenDB(*cfg)
			return db, DialectPostgres, dsn, riverdatabasesql.New(db), goose.DialectPostgres
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, dialect, dsn, driver, gd := tt.open(t)
			t.Cleanup(func() { _ = db.Close() })

			// River's tables and the package's at version 1, with a
			// finished job.
			m, err := rivermigrate.New(driver, nil)
			require.NoError(t, err)
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
			require.NoError(t, err)
			fsys, err := fs.Sub(migrations, "migrations/"+dialect)
			require.NoError(t, err)
			p, err := goose.NewProvider(gd, db, fsys, goose.WithTableName(versionTable))
			require.NoError(t, err)
			_, err = p.UpTo(ctx, 1)
			require.NoError(t, err)
			d := newSQLDialect(dialect)
			_, err = db.ExecContext(ctx, d.q(`INSERT INTO hookhost_jobs (id, river_id, webhook_id, handler, automation, state,
				max_attempts, inputs, status, headers, body, output, log, error, created_at, finished_at)
				VALUES ('j1', 1, 'w', 'automation/a', 'a', 'completed', 3, '{"i":"ünï"}', 200, '[["X","y"]]', ?, '{"o":1}', '', 'e', 1, 2)`),
				[]byte("body"))
			require.NoError(t, err)

			settings := DefaultSettings()
			settings.Workers = 0
			q, err := New(ctx, Config{DB: db, Dialect: dialect, DatabaseURL: dsn, Runner: nopRunner{}, Settings: settings,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			require.NoError(t, err)
			defer q.Close()
			j, err := q.getRecord(ctx, db, "j1")
			require.NoError(t, err)
			require.Equal(t, `{"i":"ünï"}`, string(j.Inputs))
			require.Equal(t, [][2]string{{"X", "y"}}, j.Headers)
			require.Equal(t, []byte("body"), j.Body)
			require.Equal(t, `{"o":1}`, string(j.Output))
			require.Equal(t, "e", j.Error)
			var size int64
			require.NoError(t, db.QueryRowContext(ctx, `SELECT size FROM hookhost_jobs`).Scan(&size))
			require.Equal(t, int64(len(`{"i":"ünï"}`)+len(`[["X","y"]]`)+len("body")+len(`{"o":1}`)+len("e")+recordOverhead), size)
		})
	}
}
