package jobs

import (
	"context"
	"database/sql"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
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

// TestMigrate_RiverArgsIndexesPostgres checks migrations 7 and 8 on
// PostgreSQL: up replaces River's indexes on args, metadata (GIN) and kind
// with empty placeholders of the same names and drops hookhost_jobs_river,
// down builds them again, and up works again after down, on a table with
// jobs.
func TestMigrate_RiverArgsIndexesPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := openPostgres(t, "hh_jobs_migrate_")

	indexes := func() map[string]string {
		rows, err := db.QueryContext(ctx, `SELECT indexname, indexdef FROM pg_indexes
			WHERE schemaname = current_schema()
			AND indexname IN ('river_job_args_index', 'river_job_metadata_index', 'river_job_kind', 'hookhost_jobs_river')`)
		require.NoError(t, err)
		defer rows.Close()
		m := map[string]string{}
		for rows.Next() {
			var name, def string
			require.NoError(t, rows.Scan(&name, &def))
			m[name] = def
		}
		require.NoError(t, rows.Err())
		return m
	}
	settings := DefaultSettings()
	settings.Workers = 0
	q, err := New(ctx, Config{DB: db, Dialect: DialectPostgres, DatabaseURL: dsn, Runner: nopRunner{}, Settings: settings,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	res, err := q.Enqueue(ctx, &Request{WebhookID: "w", Handler: "automation/a", Automation: "a", Inputs: []byte(`{"k":"v"}`)})
	require.NoError(t, err)
	require.NoError(t, q.Close())

	placeholders := map[string]string{"river_job_args_index": "USING btree (id) WHERE false",
		"river_job_metadata_index": "USING btree (id) WHERE false", "river_job_kind": "USING btree (id) WHERE false"}
	tests := []struct {
		name string
		step func(p *goose.Provider) error
		want map[string]string // in each index's definition
	}{
		{"up", func(*goose.Provider) error { return nil }, placeholders},
		{"down", func(p *goose.Provider) error { _, err := p.DownTo(ctx, 6); return err }, map[string]string{
			"river_job_args_index": "USING gin (args)", "river_job_metadata_index": "USING gin (metadata)",
			"river_job_kind": "USING btree (kind)", "hookhost_jobs_river": "USING btree (river_id)"}},
		{"up again", func(p *goose.Provider) error { _, err := p.Up(ctx); return err }, placeholders},
	}
	fsys, err := fs.Sub(migrations, "migrations/"+DialectPostgres)
	require.NoError(t, err)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithTableName(versionTable))
	require.NoError(t, err)
	for _, tt := range tests {
		require.NoError(t, tt.step(p), tt.name)
		got := indexes()
		require.Len(t, got, len(tt.want), tt.name)
		for name, want := range tt.want {
			require.Contains(t, got[name], want, "%s: %s", tt.name, name)
		}
	}
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE args->>'job_id' = $1`, res.JobID).Scan(&n))
	require.Equal(t, 1, n)
}

// TestMigrate_LZ4CompressionPostgres: from version 9, a job's large values
// (River's args, the record's inputs) are compressed with lz4 on a
// PostgreSQL that has it, and down goes back to the default.
func TestMigrate_LZ4CompressionPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := openPostgres(t, "hh_jobs_lz4_")
	settings := DefaultSettings()
	settings.Workers = 0
	q, err := New(ctx, Config{DB: db, Dialect: DialectPostgres, DatabaseURL: dsn, Runner: nopRunner{}, Settings: settings,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	big := []byte(`{"request_body":"` + strings.Repeat(`{\"a\":\"xyz\"},`, 4000) + `"}`)
	res, err := q.Enqueue(ctx, &Request{WebhookID: "w", Handler: "automation/a", Automation: "a", Inputs: big, RedactedInputs: big})
	require.NoError(t, err)
	require.NoError(t, q.Close())

	var lz4 bool
	require.NoError(t, db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_settings
		WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals))`).Scan(&lz4))
	if !lz4 {
		t.Skip("this PostgreSQL has no lz4: the migration keeps pglz")
	}
	methods := func() [2]string {
		var m [2]string
		// The real inputs are no longer in River's args (version 10
		// keeps them apart, compressed with lz4 too).
		require.NoError(t, db.QueryRowContext(ctx, `SELECT pg_column_compression(h.inputs), pg_column_compression(i.inputs)
			FROM hookhost_jobs h JOIN hookhost_job_inputs i ON i.river_id = h.river_id WHERE h.id = $1`, res.JobID).Scan(&m[0], &m[1]))
		return m
	}
	require.Equal(t, [2]string{"lz4", "lz4"}, methods())

	_, err = jobsVersions(t, db).DownTo(ctx, 8)
	require.NoError(t, err)
	var attcompression string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT attcompression::text FROM pg_attribute
		WHERE attrelid = 'hookhost_jobs'::regclass AND attname = 'inputs'`).Scan(&attcompression))
	require.Equal(t, "", attcompression, "down restores the default method")
}
