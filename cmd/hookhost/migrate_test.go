package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host"
	"github.com/hookhost/hookhost/internal/pgtest"
)

// TestMigrate runs `hookhost migrate` through the CLI on each kind of
// database. It reads only --data-dir and --database: none of serve's
// settings is validated (review revops: every database was refused with
// "--request-timeout 0s: must be positive").
func TestMigrate(t *testing.T) {
	tests := []struct {
		name string
		// args are the flags for a fresh data directory dir.
		args func(t *testing.T, dir string) []string
		// file is the SQLite file migrate creates ("" on PostgreSQL).
		file func(dir string) string
	}{
		{"SQLiteInDataDir",
			func(_ *testing.T, dir string) []string { return []string{"--data-dir", dir} },
			func(dir string) string { return filepath.Join(dir, "hookhost.db") }},
		{"SQLiteFile",
			func(_ *testing.T, dir string) []string {
				return []string{"--data-dir", filepath.Join(dir, "unused"), "--database", filepath.Join(dir, "db", "h.db")}
			},
			func(dir string) string { return filepath.Join(dir, "db", "h.db") }},
		{"PostgreSQL",
			func(t *testing.T, dir string) []string {
				return []string{"--data-dir", filepath.Join(dir, "unused"), "--database", pgtest.DSN(t, "hh_migrate_")}
			},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"migrate"}, tt.args(t, dir)...)
			for range 2 { // the second finds nothing to apply
				r := cli("", args...)
				require.Equal(t, exitOK, r.code, "stderr: %s", r.err)
				require.Regexp(t, `^database is at schema version [1-9][0-9]*\n$`, r.out)
			}
			if tt.file != nil {
				_, err := os.Stat(tt.file(dir))
				require.NoError(t, err, "the SQLite database")
			}
			_, err := os.Stat(filepath.Join(dir, "unused"))
			require.ErrorIs(t, err, os.ErrNotExist, "migrate created a data directory it does not use")
		})
	}
}

// TestMigrate_RefusedWhileServerRuns: on SQLite, migrate takes the lock a
// server holds on its database, so it refuses while one runs on it
// (through a symbolic link too) and migrates once it stopped.
func TestMigrate_RefusedWhileServerRuns(t *testing.T) {
	cfg := host.DefaultConfig()
	cfg.DataDir, cfg.AdminToken, cfg.InProcess = t.TempDir(), cliTestToken, true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := host.New(context.Background(), cfg)
	require.NoError(t, err)
	link := filepath.Join(t.TempDir(), "link.db")
	require.NoError(t, os.Symlink(filepath.Join(cfg.DataDir, "hookhost.db"), link))

	for _, args := range [][]string{{"--data-dir", cfg.DataDir}, {"--database", link}} {
		r := cli("", append([]string{"migrate"}, args...)...)
		require.Equal(t, exitFailure, r.code, "stdout: %s", r.out)
		require.Contains(t, r.err, "another hookhost server is using")
		require.Contains(t, r.err, "stop it before migrating")
		require.Empty(t, r.out)
	}

	require.NoError(t, srv.Close())
	r := cli("", "migrate", "--data-dir", cfg.DataDir)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.err)
}
