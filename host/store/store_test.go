package store_test

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// codedError has the method of modernc.org/sqlite's errors.
type codedError int

func (e codedError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e codedError) Code() int     { return int(e) }

func TestIsStorageFull(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"Nil", nil, false},
		{"Sentinel", fmt.Errorf("create automation %q: %w", "a", store.ErrStorageFull), true},
		{"ENOSPC", &fs.PathError{Op: "write", Path: "/data/hookhost.db-wal", Err: syscall.ENOSPC}, true},
		{"SQLiteFull", fmt.Errorf("insert runs: %w", codedError(13)), true},
		{"SQLiteConstraint", codedError(19), false},
		{"SQLiteIOErrWrite", codedError(778), false},
		{"PostgresDiskFull", fmt.Errorf("commit: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"}), true},
		{"PostgresOutOfMemory", &pgconn.PgError{Code: "53200"}, false},
		{"PostgresUnique", &pgconn.PgError{Code: "23505"}, false},
		{"Other", errors.New("connection reset by peer"), false},
		{"NotFound", store.ErrNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, store.IsStorageFull(tt.err))
		})
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"Empty", "", true},
		{"ASCII", "wgm.respond", true},
		{"Unicode", "ünïcödé ✓", true},
		{"NUL", "a\x00b", false},
		{"TrailingNUL", "a\x00", false},
		{"LateNUL", "0189f7e2-8a3b-7c4d-9e5f-0123456789ab\x00", false},
		{"RunID", "0189f7e2-8a3b-7c4d-9e5f-0123456789ab", true},
		{"InvalidUTF8", "caf\xe9", false},
		{"TruncatedRune", "€\xe2\x82", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, store.ValidName(tt.in))
		})
	}
}

func TestWritesFailingError(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	err := error(&store.WritesFailingError{Since: since, Err: fmt.Errorf("insert runs: %w", store.ErrStorageFull)})
	require.EqualError(t, err, "store writes failing since 2026-12-01T09:00:00Z: insert runs: store: storage is full")
	require.ErrorIs(t, err, store.ErrStorageFull)
}

func TestRunRetentionDefaults(t *testing.T) {
	t.Parallel()
	require.Equal(t, store.RunRetention{MaxAge: store.DefaultRunMaxAge, MaxBytes: store.DefaultRunMaxBytes, Batch: store.DefaultPruneBatch},
		store.RunRetention{}.WithDefaults())
	off := store.RunRetention{MaxAge: -1, MaxBytes: -1, Batch: 7}
	require.Equal(t, off, off.WithDefaults())
}
