package jobs

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/pgtest"
)

// TestPgInsertRuns_GivenUpNotWritten checks that a batch of hand-offs
// whose caller gave up while its INSERT waited for a lock is not written
// once the lock is released (review rev2 MEDIUM: the statement, committed
// by its own Sync, was committed by PostgreSQL once the lock went, though
// its callers had been told it failed; a caller retrying without an
// idempotency key queued its job twice).
//
// The connections lose their cancel requests (pgtest.DropCancels): pgconn
// sends one when it gives up on a statement, and PostgreSQL, on this
// machine, cancels the waiting INSERT before it can commit, with or
// without the fix; the bug needs a cancel that does not arrive (a network
// that dropped it, a pooler that does not pass it on, a deadline that ends
// the cancel's own connection). And the batch's statement is prepared on
// its connection first: its Parse takes the same lock, and a caller giving
// up while the Parse waited would have sent nothing that could commit.
func TestPgInsertRuns_GivenUpNotWritten(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t, "hh_jobs_givenup_")
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	pgtest.DropCancels(&cfg.Config)
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(2) // the locker's, and the batch's (the one that prepared the statement)
	db.SetMaxIdleConns(2)
	settings := DefaultSettings()
	settings.Workers = 0
	q, err := New(ctx, Config{DB: db, Dialect: DialectPostgres, DatabaseURL: dsn, Runner: nopRunner{},
		Settings: settings, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	locker, err := db.Conn(ctx)
	require.NoError(t, err)
	defer locker.Close()
	batch := func() []*insertItem {
		var items []*insertItem
		for _, r := range insertRequests() {
			items = append(items, newInsertItem(NewJobID(), r))
		}
		return items
	}
	require.NoError(t, q.pgInsertRuns(ctx, batch())) // prepares the statement
	riverJobs := func() (n int) {
		require.NoError(t, locker.QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&n))
		return n
	}
	before := riverJobs()

	_, err = locker.ExecContext(ctx, `BEGIN`)
	require.NoError(t, err)
	// INSERTs wait for it; pgInserted's read, once the batch failed, does not.
	_, err = locker.ExecContext(ctx, `LOCK TABLE hookhost_jobs IN SHARE MODE`)
	require.NoError(t, err)
	given := batch()
	ictx, giveUp := context.WithCancel(ctx)
	defer giveUp()
	done := make(chan error, 1)
	go func() { done <- q.pgInsertRuns(ictx, given) }()
	require.True(t, pgtest.WaitForLockWait(ctx, t, locker, "hookhost_jobs", done), "the batch ended before it waited for the lock")
	giveUp()
	require.ErrorIs(t, <-done, context.Canceled)
	_, err = locker.ExecContext(ctx, `COMMIT`)
	require.NoError(t, err)

	assert.Zero(t, pgtest.CountAfterLock(ctx, t, locker, `SELECT count(*) FROM hookhost_jobs WHERE id = '`+given[0].id+`'`,
		"hookhost_jobs"), "pgInsertRuns failed, yet its batch was written")
	assert.Equal(t, before, riverJobs(), "River jobs of the given-up batch were written")
}
