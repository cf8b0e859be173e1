package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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
			var r result
			for range 2 { // the second finds nothing to apply
				r = cli("", args...)
				require.Equal(t, exitOK, r.code, "stderr: %s", r.err)
				require.Regexp(t, `^database .+ is at schema version [1-9][0-9]*\n$`, r.out)
			}
			if tt.file != nil {
				require.Contains(t, r.out, "database "+tt.file(dir)+" is at")
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

// TestMigrate_ConfigFile: migrate reads data-dir and database from serve's
// configuration file (--config or HOOKHOST_CONFIG), with serve's
// precedence: flag, variable, file, default; the file's other settings are
// serve's and left alone. It names the database it migrated (review revmig:
// it ignored the file and migrated a new ./data/hookhost.db).
func TestMigrate_ConfigFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string   // {dir} is the test's directory
		args []string // besides migrate
		env  []string // name, value, …
		want string   // the file migrated, under {dir}
	}{
		{"Database", "listen: 127.0.0.1:0\ndatabase: {dir}/file/h.db\n", []string{"--config", "{config}"}, nil, "file/h.db"},
		{"DataDir", "data-dir: {dir}/filedata\nrequest-timeout: 5s\n", []string{"--config", "{config}"}, nil, "filedata/hookhost.db"},
		{"ConfigFromEnv", "database: {dir}/file/h.db\n", nil, []string{"HOOKHOST_CONFIG", "{config}"}, "file/h.db"},
		{"FlagWins", "database: {dir}/file/h.db\n", []string{"--config", "{config}", "--database", "{dir}/flag.db"}, nil, "flag.db"},
		{"EnvWins", "database: {dir}/file/h.db\n", []string{"--config", "{config}"}, []string{"HOOKHOST_DATABASE", "{dir}/env.db"}, "env.db"},
		{"DataDirFlagWins", "data-dir: {dir}/filedata\n", []string{"--config", "{config}", "--data-dir", "{dir}/flagdata"}, nil, "flagdata/hookhost.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir) // where ./data would go
			config := filepath.Join(dir, "hookhost.yaml")
			fill := func(s string) string {
				return strings.NewReplacer("{dir}", dir, "{config}", config).Replace(s)
			}
			require.NoError(t, os.WriteFile(config, []byte(fill(tt.yaml)), 0o600))
			for i := 0; i < len(tt.env); i += 2 {
				t.Setenv(tt.env[i], fill(tt.env[i+1]))
			}
			args := []string{"migrate"}
			for _, a := range tt.args {
				args = append(args, fill(a))
			}
			r := cli("", args...)
			require.Equal(t, exitOK, r.code, "stderr: %s", r.err)
			want := filepath.Join(dir, tt.want)
			require.Regexp(t, `^database `+regexp.QuoteMeta(want)+` is at schema version [1-9][0-9]*\n$`, r.out)
			_, err := os.Stat(want)
			require.NoError(t, err, "the database migrated")
			_, err = os.Stat(filepath.Join(dir, "data"))
			require.ErrorIs(t, err, os.ErrNotExist, "migrate made ./data")
		})
	}
}

// TestMigrate_ConfigFileRefused: a configuration file serve would refuse
// to read is refused by migrate too, at its line:col, and nothing is
// migrated.
func TestMigrate_ConfigFileRefused(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"UnknownKey", "databse: x.db\n", `1:1: unknown key "databse"`},
		{"BadValue", "body-limit: lots\n", `1:13: body-limit: invalid argument "lots"`},
		{"FileURI", "database: file:x.db\n", `1:11: --database "file:x.db": a file: URI is not taken`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			config := filepath.Join(dir, "hookhost.yaml")
			require.NoError(t, os.WriteFile(config, []byte(tt.yaml), 0o600))
			r := cli("", "migrate", "--config", config)
			require.Equal(t, exitFailure, r.code, "stdout: %s", r.out)
			require.Contains(t, r.err, config+":"+tt.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1, "migrate wrote beside the file")
		})
	}
}
