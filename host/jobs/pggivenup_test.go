package jobs

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
// itself before the deadline (pgprep.BySync's statement_timeout).
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
	// timeout comes 2 s before it here (pgprep's serverMargin).
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

// TestPgInsertRuns_UnansweredEnded checks that a batch whose caller gave
// up (its context cancelled) while the server still ran it, and whose
// connection lost its cancel request, is ended by pgInserted, not
// committed once what held it goes: held inside its statement, by a lock
// on River's table, or at its commit, by a deferred trigger waiting for
// an advisory lock (work before the commit's record, rolled back when the
// session ends; a commit held after its record, by a WAL flush or a
// synchronous standby, finishes and is found, which this test does not
// stage). Review rev1 MEDIUM: pgInserted read the records at once, while
// the commit still ran, and found none; review rev2 MEDIUM: a batch still
// waiting for a lock, nothing written yet, was missed by a probe of its
// records.
func TestPgInsertRuns_UnansweredEnded(t *testing.T) {
	tests := []struct {
		name string
		// setup runs first, hold in the locker's transaction; waiting
		// counts pg_locks' rows that show the batch waiting.
		setup, hold, waiting string
	}{
		{"LockWait", ``, `LOCK TABLE river_job IN SHARE MODE`,
			`SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
				WHERE NOT l.granted AND c.relname = 'river_job' AND c.relnamespace = current_schema()::regnamespace`},
		{"CommitHeld", `CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS
				$$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$;
				CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON hookhost_jobs DEFERRABLE INITIALLY DEFERRED
				FOR EACH ROW EXECUTE FUNCTION hold_commit()`,
			`SELECT pg_advisory_xact_lock(4242)`,
			`SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory' AND objid = 4242
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			q, locker := givenUpQueue(t)
			require.NoError(t, q.pgInsertRuns(ctx, givenUpBatch())) // prepares the statement
			var before int
			require.NoError(t, locker.QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&before))

			if tt.setup != "" {
				_, err := locker.ExecContext(ctx, tt.setup)
				require.NoError(t, err)
			}
			_, err := locker.ExecContext(ctx, `BEGIN`)
			require.NoError(t, err)
			_, err = locker.ExecContext(ctx, tt.hold)
			require.NoError(t, err)
			given := givenUpBatch()
			ictx, giveUp := context.WithCancel(ctx)
			defer giveUp()
			done := make(chan error, 1)
			go func() { done <- q.pgInsertRuns(ictx, given) }()
			require.True(t, pgtest.WaitForLocks(ctx, t, locker, done, tt.waiting), "the batch ended before it waited")
			giveUp()
			require.Error(t, <-done)
			_, err = locker.ExecContext(ctx, `COMMIT`) // lets a batch still running go on
			require.NoError(t, err)

			// Counted once a batch still running ended: its request for River's
			// table, queued before the count's (LockWait), or held
			// (CommitHeld), comes first. (A lock on hookhost_jobs, which a
			// batch waiting for River's table has not asked for yet, could
			// be granted to the count first.)
			assert.Equal(t, before, pgtest.CountAfterLock(ctx, t, locker, `SELECT count(*) FROM river_job`, "river_job"),
				"River jobs of the given-up batch were written")
			var n int
			require.NoError(t, locker.QueryRowContext(ctx, `SELECT count(*) FROM hookhost_jobs WHERE id = $1`, given[0].id).Scan(&n))
			assert.Zero(t, n, "pgInsertRuns failed, yet its batch was written")
		})
	}
}

// givenUpQueue opens a queue without workers on a fresh schema whose
// connections lose their cancel requests (pgtest.DropCancels), and a
// connection of its pool for the test's locks.
func givenUpQueue(t *testing.T) (*Queue, *sql.Conn) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t, "hh_jobs_givenup_")
	// The locker's, and the batch's: the one that prepared the statement
	// (TestPgInsertRuns_GivenUpNotWritten); pgInserted's once the batch's
	// connection, closed, left the pool.
	db := pgtest.OpenDropCancels(t, dsn, "", 2)
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
