package host

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMigrations_InStep checks that every schema version exists for both
// databases: a change made for one dialect only would leave the other
// behind. (Names may differ: a version can do more on one database, such as
// PostgreSQL's text-to-bytea changes.)
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
		version, _, _ := strings.Cut(filepath.Base(f), "_")
		files[i] = version
	}
	slices.Sort(files)
	_, err = os.Stat(dir)
	require.NoError(t, err)
	return files
}
