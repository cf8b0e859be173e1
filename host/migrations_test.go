package host

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMigrations_InStep checks that every schema migration exists for both
// databases, under the same version and name: a change made for one
// dialect only would leave the other behind.
func TestMigrations_InStep(t *testing.T) {
	t.Parallel()
	for _, pair := range []struct{ sqlite, postgres string }{
		{"store/sqlite/migrations", "store/postgres/migrations"},
		{"jobs/migrations/sqlite", "jobs/migrations/postgres"},
	} {
		t.Run(pair.sqlite, func(t *testing.T) {
			t.Parallel()
			lite, pg := sqlFiles(t, pair.sqlite), sqlFiles(t, pair.postgres)
			require.NotEmpty(t, lite)
			require.Equal(t, lite, pg, "%s and %s must hold the same migrations", pair.sqlite, pair.postgres)
		})
	}
}

func sqlFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	require.NoError(t, err)
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	slices.Sort(files)
	_, err = os.Stat(dir)
	require.NoError(t, err)
	return files
}
