package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSQLiteOneServer: a second server on the same SQLite file is refused
// with a message saying why, and the file is free again once the first one
// closes.
func TestSQLiteOneServer(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	first, err := New(ctx, cfg)
	require.NoError(t, err)

	_, err = New(ctx, cfg)
	require.ErrorContains(t, err, "another hookhost server is using")
	require.ErrorContains(t, err, "--data-dir")

	require.NoError(t, first.Close())
	again, err := New(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, again.Close())
}

// TestSQLiteLock_RefusedBeforeLocking: a database path SQLite would not read
// as a file's path (a file: URI, parameters after '?') is refused, by serve
// and by migrate, before anything is written: no lock file, no directory
// (review revmig: a file: URI was locked in a ./file:/… tree, and
// x.db?mode=ro left a lock file before the store refused it). An in-memory
// database takes no lock and leaves no file.
func TestSQLiteLock_RefusedBeforeLocking(t *testing.T) {
	tests := []struct {
		name, db string
		want     string // "": accepted
	}{
		{"FileURI", "file:h.db", "a file: URI is not taken"},
		{"FileURIAbsolute", "file:" + filepath.Join(t.TempDir(), "h.db"), "a file: URI is not taken"},
		{"FileURIUpper", "FILE:h.db", "a file: URI is not taken"},
		{"SQLiteSchemeFileURI", "sqlite://file:h.db", "a file: URI is not taken"},
		{"Parameters", "x.db?mode=ro", "must not contain '?'"},
		{"Memory", ":memory:", ""},
		// Not paths: files named after them, a password included (review
		// revmig2).
		{"KeyValueDSN", "host=127.0.0.1 user=u password=s3cret dbname=hh", "neither a SQLite file's path nor a postgres:// URL"},
		{"OtherScheme", "mysql://u:s3cret@db/hh", "neither a SQLite file's path nor a postgres:// URL"},
		{"UpperPostgresScheme", "POSTGRES://u:s3cret@127.0.0.1:1/hh", "postgres"},
	}
	for _, tt := range tests {
		for _, serve := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/serve=%v", tt.name, serve), func(t *testing.T) {
				cwd := t.TempDir()
				t.Chdir(cwd)
				cfg := testConfig(t)
				cfg.Database = tt.db
				var err error
				if serve {
					var s *Server
					if s, err = New(context.Background(), cfg); err == nil {
						require.NoError(t, s.Close())
					}
				} else {
					_, err = Migrate(context.Background(), Config{DataDir: cfg.DataDir, Database: tt.db})
				}
				if tt.want == "" {
					require.NoError(t, err)
				} else {
					require.ErrorContains(t, err, tt.want)
				}
				entries, err := os.ReadDir(cwd)
				require.NoError(t, err)
				require.Empty(t, entries, "files left in the working directory")
			})
		}
	}
}

// TestDatabaseName: migrate names the database it migrated, a PostgreSQL
// URL without its password.
func TestDatabaseName(t *testing.T) {
	tests := []struct{ name, database, dataDir, want string }{
		{"DataDir", "", "d", filepath.Join("d", "hookhost.db")},
		{"File", "x/h.db", "d", "x/h.db"},
		{"PostgresPassword", "postgres://u:s3cret@db:5432/hh?sslmode=require", "d", "postgres://u@db:5432/hh"},
		{"PostgresNoPassword", "postgresql://u@db/hh", "d", "postgres://u@db:5432/hh"},
		{"PostgresUpperScheme", "POSTGRES://u:s3cret@db:5433/hh", "d", "postgres://…"}, // a PostgreSQL URL, which the driver refuses: never a file
		{"PostgresUnparsable", "postgres://u:s3cret@db:port/hh", "d", "postgres://…"},
		// A password the URL parser does not see as one (review revmig2).
		{"PasswordParameter", "postgres://u@db:5432/hh?sslmode=disable&password=s3cret", "d", "postgres://u@db:5432/hh"},
		{"SSLPasswordParameter", "postgresql://u@db/hh?sslpassword=s3cret", "d", "postgres://u@db:5432/hh"},
		{"UnescapedQuestionMark", "postgres://u:12?s3cret@db:5432/hh", "d", "postgres://u@db:5432/hh"},
		{"UnescapedHash", "postgres://u:12#s3cret@db:5432/hh", "d", "postgres://u@db:5432/hh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DatabaseName(Config{Database: tt.database, DataDir: tt.dataDir})
			require.Equal(t, tt.want, got)
			require.NotContains(t, got, "s3cret")
		})
	}
}
