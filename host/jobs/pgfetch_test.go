package jobs

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/pgtest"
)

// queryTx records the text of the first query run on it, and fails it.
type queryTx struct {
	autocommitTx
	sql string
}

func (t *queryTx) Query(_ context.Context, sql string, _ ...any) (pgx.Rows, error) {
	t.sql = sql
	return nil, errors.New("recorded")
}

// TestPgFetchBoundSQL_RiverQuery checks that the fetch of the River
// version in go.mod is the query pgFetchBoundSQL was written against:
// after an upgrade that changes it, every fetch would be a full one.
func TestPgFetchBoundSQL_RiverQuery(t *testing.T) {
	t.Parallel()
	tx := &queryTx{}
	_, err := riverpgxv5.New(nil).UnwrapExecutor(tx).JobGetAvailable(context.Background(),
		&riverdriver.JobGetAvailableParams{ClientID: "c", MaxAttemptedBy: 100, MaxToLock: 1, Queue: queueRuns})
	require.Error(t, err)
	got, ok := pgFetchBoundSQL(tx.sql, 8)
	require.True(t, ok, "River's fetch changed:\n%s", tx.sql)
	require.Contains(t, got, riverFetchWhere+"\n        AND (priority, scheduled_at) >= ($8::smallint, $9::timestamptz)")
}

// TestPgFetch_StartsAtMark checks on PostgreSQL that a fetch within
// fetchFullEvery of the queue's last full fetch starts at the mark the
// fetches left: a job behind it (here one whose time is an hour ago, as a
// retry's whose time came) is left for a later fetch, taken by the next
// full fetch.
func TestPgFetch_StartsAtMark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := openPostgres(t, "hh_jobs_fetch_")
	settings := DefaultSettings()
	settings.Workers = 0 // the test fetches
	q, err := New(ctx, Config{DB: db, Dialect: DialectPostgres, DatabaseURL: dsn, Runner: nopRunner{}, Settings: settings,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })

	enqueue := func() int64 {
		res, err := q.Enqueue(ctx, &Request{WebhookID: "w", Handler: "automation/a", Automation: "a", Inputs: []byte(`{}`)})
		require.NoError(t, err)
		var id int64
		require.NoError(t, db.QueryRowContext(ctx, `SELECT river_id FROM hookhost_jobs WHERE id = $1`, res.JobID).Scan(&id))
		return id
	}
	d := q.client.Driver().(pgDriver)
	// The marks' clock stands still (a fetch within fetchFullEvery of
	// the last full one however slow the machine) until moved.
	at := time.Now()
	d.marks.mu.Lock()
	d.marks.now = func() time.Time { return at }
	d.marks.mu.Unlock()
	fetch := func(limit int) []int64 {
		res, err := d.GetExecutor().JobGetAvailable(ctx, &riverdriver.JobGetAvailableParams{ClientID: "test",
			MaxAttemptedBy: 100, MaxToLock: limit, Queue: queueRuns})
		require.NoError(t, err)
		var ids []int64
		for _, j := range res.Jobs {
			ids = append(ids, j.ID)
		}
		return ids
	}

	a := enqueue()
	require.Equal(t, []int64{a}, fetch(10), "the first fetch is a full one")
	behind := enqueue()
	_, err = db.ExecContext(ctx, `UPDATE river_job SET scheduled_at = now() - interval '1 hour' WHERE id = $1`, behind)
	require.NoError(t, err)
	ahead := enqueue()
	require.Equal(t, []int64{ahead}, fetch(1), "a fetch after a full one starts at the mark")
	require.Empty(t, fetch(1), "nor does the next")

	d.marks.mu.Lock()
	at = at.Add(fetchFullEvery)
	d.marks.mu.Unlock()
	require.Equal(t, []int64{behind}, fetch(1), "a fetch fetchFullEvery after the last full one starts from the start")
}

// openPostgres opens a database of the test's own on the test PostgreSQL
// (pgtest.DSN, which skips the test without one), closed when it ends.
func openPostgres(t *testing.T, prefix string) (*sql.DB, string) {
	t.Helper()
	dsn := pgtest.DSN(t, prefix)
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = db.Close() })
	return db, dsn
}
