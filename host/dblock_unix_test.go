//go:build unix

package host

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSQLiteOneServer_ThroughLinks: SQLite opens the file a symbolic link
// leads to, so the one-server lock does too. A second server reaching the
// first one's database by another path is refused (review revops: through
// a link it started, and queued the first one's running jobs again).
func TestSQLiteOneServer_ThroughLinks(t *testing.T) {
	tests := []struct {
		name string
		// paths returns the first and the second server's --database,
		// after making the links they need in dir (the first one's
		// database does not exist yet).
		paths func(t *testing.T, dir string) (first, second string)
	}{
		{"LinkToFile", func(t *testing.T, dir string) (string, string) {
			symlink(t, filepath.Join(dir, "d1", "h.db"), filepath.Join(dir, "link.db"))
			return filepath.Join(dir, "d1", "h.db"), filepath.Join(dir, "link.db")
		}},
		{"RelativeLinkChain", func(t *testing.T, dir string) (string, string) {
			symlink(t, "d1/h.db", filepath.Join(dir, "a.db"))
			symlink(t, "a.db", filepath.Join(dir, "b.db"))
			return filepath.Join(dir, "d1", "h.db"), filepath.Join(dir, "b.db")
		}},
		{"LinkToDirectory", func(t *testing.T, dir string) (string, string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "d1"), 0o700))
			symlink(t, "d1", filepath.Join(dir, "d12"))
			return filepath.Join(dir, "d1", "h.db"), filepath.Join(dir, "d12", "h.db")
		}},
		{"FirstThroughLink", func(t *testing.T, dir string) (string, string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "d1"), 0o700))
			symlink(t, filepath.Join(dir, "d1", "h.db"), filepath.Join(dir, "link.db"))
			return filepath.Join(dir, "link.db"), filepath.Join(dir, "d1", "h.db")
		}},
		// `..` after a link to a directory is its target's parent, as
		// the kernel reads it (review revmig: the lock was at ./h.db).
		{"DotDotAfterDirLink", func(t *testing.T, dir string) (string, string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "real", "sub"), 0o700))
			symlink(t, "real/sub", filepath.Join(dir, "d12"))
			return filepath.Join(dir, "real", "h.db"), dir + "/d12/../h.db"
		}},
		{"DotDotNewDirAfterDirLink", func(t *testing.T, dir string) (string, string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "real", "sub"), 0o700))
			symlink(t, "real/sub", filepath.Join(dir, "d12"))
			return dir + "/d12/../new/h.db", filepath.Join(dir, "real", "new", "h.db")
		}},
		{"LinkTargetDotDotAfterDirLink", func(t *testing.T, dir string) (string, string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "real", "sub"), 0o700))
			symlink(t, "real/sub", filepath.Join(dir, "d12"))
			symlink(t, "d12/../h.db", filepath.Join(dir, "link.db"))
			return filepath.Join(dir, "real", "h.db"), filepath.Join(dir, "link.db")
		}},
		{"RelativeDotDotAfterDirLink", func(t *testing.T, dir string) (string, string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "real", "sub"), 0o700))
			symlink(t, "real/sub", filepath.Join(dir, "d12"))
			t.Chdir(dir)
			return filepath.Join(dir, "real", "h.db"), "d12/../h.db"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			a, b := tt.paths(t, t.TempDir())
			cfg := testConfig(t)
			cfg.Database = a
			first, err := New(ctx, cfg)
			require.NoError(t, err)
			defer func() { require.NoError(t, first.Close()) }()

			cfg = testConfig(t)
			cfg.Database = b
			second, err := New(ctx, cfg)
			if err == nil {
				_ = second.Close()
			}
			require.ErrorContains(t, err, "another hookhost server is using "+b)
			// The lock is beside the file SQLite says it opened.
			var file string
			require.NoError(t, first.Store().DB().QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file))
			_, err = os.Lstat(file + ".lock")
			require.NoError(t, err, "the lock beside the file the first server opened")
		})
	}
}

// TestSQLiteLock_NamesItsHolder: the lock file names the process holding
// it, its role and pid, and a refusal quotes them with the advice that
// fits: a server refused while a migrate runs is not told that another
// server runs (review revmig). A lock file that names no holder (written
// by an older version) is refused in neutral words.
func TestSQLiteLock_NamesItsHolder(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	tests := []struct {
		name, holder string // holder "": a lock file naming no one
		serve        bool   // the second is a server (New), else a migrate
		want         []string
	}{
		{"ServeWhileServe", holderServe, true,
			[]string{"another hookhost server is using ", "(pid " + pid + " holds ", "stop it, or give this one another --data-dir"}},
		{"ServeWhileMigrate", holderMigrate, true,
			[]string{"hookhost migrate is using ", "(pid " + pid + " holds ", "wait for it to end, or give this one another --data-dir"}},
		{"MigrateWhileServe", holderServe, false,
			[]string{"another hookhost server is using ", "(pid " + pid + " holds ", "stop it before migrating"}},
		{"MigrateWhileMigrate", holderMigrate, false,
			[]string{"hookhost migrate is using ", "(pid " + pid + " holds ", "wait for it to end"}},
		{"ServeWhileUnnamed", "", true,
			[]string{"another hookhost process is using ", "(it holds ", "stop it, or give this one another --data-dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			db := filepath.Join(cfg.DataDir, "hookhost.db")
			if tt.holder != "" {
				_, release, err := lockSQLite(db, tt.holder)
				require.NoError(t, err)
				defer func() { require.NoError(t, release()) }()
				b, err := os.ReadFile(db + ".lock")
				require.NoError(t, err)
				require.Equal(t, tt.holder+" "+pid+"\n", string(b))
			} else {
				f, err := os.OpenFile(db+".lock", os.O_RDWR|os.O_CREATE, 0o600)
				require.NoError(t, err)
				defer f.Close()
				require.NoError(t, lockFile(f))
			}
			var err error
			if tt.serve {
				var s *Server
				if s, err = New(context.Background(), cfg); err == nil {
					_ = s.Close()
				}
			} else {
				_, err = Migrate(context.Background(), Config{DataDir: cfg.DataDir})
			}
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			if tt.holder != holderServe {
				require.NotContains(t, err.Error(), "another hookhost server")
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	require.NoError(t, os.Symlink(target, link))
}

// Taking the lock never truncates what is in the lock file's place: another
// database named <db>.lock, or a link's target (review revmig2: both were
// cut to the holder's record).
func TestSQLiteLock_LeavesOtherFilesAlone(t *testing.T) {
	ctx := context.Background()
	t.Run("AnotherDatabase", func(t *testing.T) {
		dir := t.TempDir()
		other := filepath.Join(dir, "a.db.lock")
		_, err := Migrate(ctx, Config{Database: other})
		require.NoError(t, err)
		before, err := os.Stat(other)
		require.NoError(t, err)

		_, err = Migrate(ctx, Config{Database: filepath.Join(dir, "a.db")})
		require.ErrorContains(t, err, "is not a hookhost lock file")

		after, err := os.Stat(other)
		require.NoError(t, err)
		require.Equal(t, before.Size(), after.Size(), "database %s was truncated", other)
		_, err = Migrate(ctx, Config{Database: other})
		require.NoError(t, err)
	})
	t.Run("LinkTarget", func(t *testing.T) {
		dir := t.TempDir()
		precious := filepath.Join(dir, "precious")
		require.NoError(t, os.WriteFile(precious, []byte("precious data, not a lock\n"), 0o600))
		symlink(t, precious, filepath.Join(dir, "b.db.lock"))

		_, err := Migrate(ctx, Config{Database: filepath.Join(dir, "b.db")})
		require.Error(t, err)

		b, err := os.ReadFile(precious)
		require.NoError(t, err)
		require.Equal(t, "precious data, not a lock\n", string(b))
	})
	t.Run("OwnRecordTakenAgain", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "c.db")
		require.NoError(t, os.WriteFile(db+".lock", []byte("serve 12345\n"), 0o600))
		_, err := Migrate(ctx, Config{Database: db})
		require.NoError(t, err)
	})
}
