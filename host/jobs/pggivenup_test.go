package jobs

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/pgtest"
)

// TestPgInsertRuns_GivenUpNotWritten checks that a batch of hand-offs
// whose deadline passed while its INSERT waited for a lock is not written
// once the lock is released (review rev2 MEDIUM: the statement, committed
// by its own Sync, was committed by PostgreSQL once the lock went, though
// its callers had been told it failed; a caller retrying without an
// idempotency key queued its job twice). The server cancels the statement
// itself before the deadline (pgprep.ExecBySync's statement_timeout).
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
	q, locker := givenUpQueue(t)
	require.NoError(t, q.pgInsertRuns(ctx, givenUpBatch())) // prepares the statement
	riverJobs := func() (n int) {
		require.NoError(t, locker.QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&n))
		return n
	}
	before := riverJobs()

	_, err := locker.ExecContext(ctx, `BEGIN`)
	require.NoError(t, err)
	// INSERTs wait for it.
	_, err = locker.ExecContext(ctx, `LOCK TABLE hookhost_jobs IN SHARE MODE`)
	require.NoError(t, err)
	given := givenUpBatch()
	// The group commit's batches end only by their deadline; the server's
	// timeout is five sixths of it.
	ictx, cancel := context.WithTimeout(ctx, 6*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- q.pgInsertRuns(ictx, given) }()
	require.True(t, pgtest.WaitForLockWait(ctx, t, locker, "hookhost_jobs", done), "the batch ended before it waited for the lock")
	err = <-done
	require.Error(t, err)
	_, cerr := locker.ExecContext(ctx, `COMMIT`)
	require.NoError(t, cerr)

	assert.Zero(t, pgtest.CountAfterLock(ctx, t, locker, `SELECT count(*) FROM hookhost_jobs WHERE id = '`+given[0].id+`'`,
		"hookhost_jobs"), "pgInsertRuns failed, yet its batch was written")
	assert.Equal(t, before, riverJobs(), "River jobs of the given-up batch were written")
	var refused *pgconn.PgError
	require.ErrorAs(t, err, &refused, "the server did not end the statement")
	assert.Equal(t, "57014", refused.Code, "query_canceled, by its statement_timeout")
}

// TestPgInsertRuns_CommitUnansweredWaited checks that a batch whose
// caller gave up while its COMMIT was running, and which commits after
// that, is answered as queued (review rev1 MEDIUM: pgInserted read the
// records at once, before the COMMIT ended, found none, and the callers
// were told the batch failed; a caller retrying without an idempotency key
// queued its job twice).
//
// A deferred trigger holds the COMMIT on an advisory lock the test holds,
// as a slow WAL flush or a synchronous standby would; its cancel request
// is lost (pgtest.DropCancels), as it would not stop a commit waiting for
// those. Once the caller gave up, pgInserted must wait for the
// transaction (its probe waits for the transaction's lock); the test then
// lets the COMMIT finish.
func TestPgInsertRuns_CommitUnansweredWaited(t *testing.T) {
	ctx := context.Background()
	q, locker := givenUpQueue(t)
	_, err := locker.ExecContext(ctx, `CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$;
		CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON hookhost_jobs DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW EXECUTE FUNCTION hold_commit()`)
	require.NoError(t, err)
	_, err = locker.ExecContext(ctx, `SELECT pg_advisory_lock(4242)`)
	require.NoError(t, err)

	given := givenUpBatch()
	ictx, giveUp := context.WithCancel(ctx)
	defer giveUp()
	done := make(chan error, 1)
	go func() { done <- q.pgInsertRuns(ictx, given) }()
	require.True(t, pgtest.WaitForLocks(ctx, t, locker, done,
		`SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory'`), "the batch ended before its COMMIT waited")
	giveUp()
	// pgInserted's probe waits for the batch's transaction; without it the
	// batch ends here, failed, its COMMIT still waiting.
	waited := pgtest.WaitForLocks(ctx, t, locker, done,
		`SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'`)
	_, err = locker.ExecContext(ctx, `SELECT pg_advisory_unlock(4242)`)
	require.NoError(t, err)
	err = <-done
	require.True(t, waited, "pgInserted did not wait for the unanswered COMMIT: %v", err)
	require.NoError(t, err, "the batch committed; its callers must hear so")
	var n int
	require.NoError(t, locker.QueryRowContext(ctx, `SELECT count(*) FROM hookhost_jobs WHERE id = ANY($1)`,
		[]string{given[0].id, given[len(given)-1].id}).Scan(&n))
	assert.Equal(t, 2, n, "the batch's records")
}

// givenUpQueue opens a queue without workers on a fresh schema whose
// connections lose their cancel requests (pgtest.DropCancels), and a
// connection of its pool for the test's locks.
func givenUpQueue(t *testing.T) (*Queue, *sql.Conn) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t, "hh_jobs_givenup_")
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	pgtest.DropCancels(&cfg.Config)
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = db.Close() })
	// The locker's, and the batch's: the one that prepared the statement
	// (TestPgInsertRuns_GivenUpNotWritten); pgInserted's once the batch's
	// connection, closed, left the pool.
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	settings := DefaultSettings()
	settings.Workers = 0
	q, err := New(ctx, Config{DB: db, Dialect: DialectPostgres, DatabaseURL: dsn, Runner: nopRunner{},
		Settings: settings, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	locker, err := db.Conn(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = locker.Close() })
	return q, locker
}

// givenUpBatch is a batch of hand-offs with fresh ids.
func givenUpBatch() []*insertItem {
	var items []*insertItem
	for _, r := range insertRequests() {
		items = append(items, newInsertItem(NewJobID(), r))
	}
	return items
}
