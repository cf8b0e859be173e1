package sqlitesync_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/hookhost/hookhost/internal/sqlitesync"
)

// synchronous returns the connection's synchronous setting (1 NORMAL, 2 FULL).
func synchronous(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) int {
	t.Helper()
	var v int
	require.NoError(t, q.QueryRowContext(context.Background(), `PRAGMA synchronous`).Scan(&v))
	return v
}

// TestRelaxed checks that fn runs with synchronous=NORMAL and that the
// connection is FULL again afterwards, whether fn succeeded or failed.
func TestRelaxed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
	}{{"ok", nil}, {"fn fails", errors.New("boom")}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "db")+"?_journal_mode=WAL&_synchronous=FULL")
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			db.SetMaxOpenConns(1)
			require.Equal(t, 2, synchronous(t, db))
			var inside int
			err = sqlitesync.Relaxed(context.Background(), db, func(conn *sql.Conn) error {
				inside = synchronous(t, conn)
				return tt.err
			})
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, 1, inside)
			require.Equal(t, 2, synchronous(t, db))
		})
	}
}
