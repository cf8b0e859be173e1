//go:build unix

package host

import (
	"context"
	"os"
	"path/filepath"
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
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	require.NoError(t, os.Symlink(target, link))
}
