package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/storetest"
)

// openTest opens a new store on a fresh file and closes it when t ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "data", "hookhost.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Exercise(context.Background(), t, func(t *testing.T) store.Store { return openTest(t) })
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("ConfiguresTheConnection", func(t *testing.T) {
		t.Parallel()
		s := openTest(t)
		ctx := context.Background()

		tests := []struct {
			pragma string
			want   string
		}{
			{"journal_mode", "wal"},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds())},
		}
		for _, tt := range tests {
			var got string
			require.NoError(t, s.DB().QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got), tt.pragma)
			require.Equal(t, tt.want, got, tt.pragma)
		}
		require.Equal(t, 1, s.DB().Stats().MaxOpenConnections)
		require.Equal(t, "sqlite", s.Dialect())
	})

	t.Run("ReopenKeepsDataAndMigratesOnce", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "nested", "dir", "hookhost.db")

		s, err := Open(ctx, path)
		require.NoError(t, err)
		require.NoError(t, s.CreateAutomation(ctx, &store.Automation{Name: "kept"}))
		require.NoError(t, s.Close())
		_, err = os.Stat(path)
		require.NoError(t, err)

		s, err = Open(ctx, path)
		require.NoError(t, err)
		defer s.Close()
		a, err := s.GetAutomation(ctx, "kept")
		require.NoError(t, err)
		require.Equal(t, int64(1), a.Revision)
		var n int
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n))
		require.Equal(t, 1, n)
	})

	t.Run("RefusesBadPaths", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"", "x.db?mode=ro"} {
			_, err := Open(context.Background(), path)
			require.Error(t, err, "path %q", path)
		}
	})

	t.Run("TokenLookupUsesTheIndexes", func(t *testing.T) {
		t.Parallel()
		s := openTest(t)

		rows, err := s.DB().Query(`EXPLAIN QUERY PLAN
			SELECT id FROM webhooks WHERE token_hash = $1
			UNION ALL
			SELECT id FROM webhooks WHERE prev_token_hash = $1 AND prev_token_expires_at > $2`, []byte{1}, 0)
		require.NoError(t, err)
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		for _, step := range plan {
			require.NotContains(t, step, "SCAN webhooks", "plan %q", plan)
		}
	})
}

func BenchmarkInsertRuns(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	inputs := []byte(`{"request_method":"POST","request_path":"/","request_body":"{\"a\":1}"}`)
	for b.Loop() {
		runs := make([]*store.Run, 64)
		for i := range runs {
			runs[i] = &store.Run{WebhookID: "w", Automation: "a", Revision: 1, Status: 200, Exit: "return",
				DurationUS: 120, Inputs: inputs, Output: []byte(`{}`), Log: []byte(`[]`)}
		}
		if err := s.InsertRuns(ctx, runs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "runs/s")
}

func BenchmarkGetWebhookByTokenHash(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	const n = 1000
	hashes := make([][]byte, n)
	for i := range hashes {
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(i))
		h := sha256.Sum256(buf[:])
		hashes[i] = h[:]
		require.NoError(b, s.CreateWebhook(ctx, &store.Webhook{Name: fmt.Sprint(i), TokenHash: hashes[i], Enabled: true}))
	}
	now := time.Now()
	i := 0
	for b.Loop() {
		if _, err := s.GetWebhookByTokenHash(ctx, hashes[i%n], now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func TestOpen_RefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	st, err := Open(ctx, path)
	require.NoError(t, err)
	_, err = st.DB().ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	_, err = Open(ctx, path)
	require.ErrorContains(t, err, "newer than this hookhost binary knows")
}
