package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNew_FailedStartStopsExtensions: the extension processes start while
// the store opens; when the store (or anything after it) fails, New returns
// that error and no extension process outlives it.
func TestNew_FailedStartStopsExtensions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(t *testing.T, c *Config)
		wantErr string
	}{
		{"StoreDoesNotOpen", func(t *testing.T, c *Config) {
			db := filepath.Join(t.TempDir(), "a-directory")
			require.NoError(t, os.Mkdir(db, 0o700))
			c.Database = db
		}, "open sqlite"},
		{"SecretKeyUnreadable", func(t *testing.T, c *Config) {
			require.NoError(t, os.WriteFile(filepath.Join(c.DataDir, "secret.key"), []byte("not a key"), 0o600))
		}, "secret key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			outOfProcess(&cfg)
			// A marker in the extension's command line finds its process.
			marker := "-hookhost-test-marker=" + cfg.DataDir
			cfg.ExtensionCommand = []string{os.Args[0], marker, extServeArg}
			tt.mutate(t, &cfg)

			_, err := New(context.Background(), cfg)
			require.ErrorContains(t, err, tt.wantErr)
			require.Empty(t, processesWith(t, marker), "the extension process is stopped")
		})
	}
}

// processesWith lists the pids of live processes whose command line has
// the argument arg.
func processesWith(t *testing.T, arg string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc here")
	}
	var pids []string
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range strings.Split(string(raw), "\x00") {
			if a == arg {
				pids = append(pids, e.Name())
			}
		}
	}
	return pids
}
