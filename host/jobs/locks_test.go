package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
)

// lockNotAvailable is PostgreSQL's lock_not_available: a lock waited for
// past lock_timeout.
const lockNotAvailable = "55P03"

// testLockTimeout is the group commits' lock_timeout in the tests that
// wait for it (Config.LockTimeout; 5 s by default): each waits for it
// twice, once in its batch and once alone.
const testLockTimeout = time.Second

// requireLockTimeout requires err to be PostgreSQL's lock_not_available.
func requireLockTimeout(t *testing.T, err error) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, lockNotAvailable, pgErr.Code, "%v", err)
}

// TestQueue_LockedIdempotencyKeyFailsOnlyItsRequest (PostgreSQL): the row
// of a request's idempotency key is locked by a transaction that does not
// end (another server's batch that holds the same key, that server cut
// off in the middle of it: PostgreSQL keeps it until TCP keepalive
// notices). The batch that request joins waits for the lock, but only for
// the group commit's lock_timeout: the request fails with
// lock_not_available, and the other requests of its batch, unrelated to
// the key, are queued. Had the wait run into the batch's 30 s deadline,
// every request of the batch would have failed with it.
func TestQueue_LockedIdempotencyKeyFailsOnlyItsRequest(t *testing.T) {
	t.Parallel()
	q, b := setup(t, testDBs()[1], nil, func(c *jobs.Config) {
		c.Workers, c.BatchDelay, c.LockTimeout = 0, 300*time.Millisecond, testLockTimeout
	})
	keyed := request()
	keyed.IdempotencyKey = "delivery-1"
	_, err := q.Enqueue(b.ctx, keyed)
	require.NoError(t, err)
	tx, err := b.db.BeginTx(b.ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.ExecContext(b.ctx, `SELECT * FROM hookhost_job_keys FOR UPDATE`)
	require.NoError(t, err)

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 21)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := request()
			if i == 0 {
				req.IdempotencyKey = "delivery-1" // the redelivery
			}
			_, errs[i] = q.Enqueue(b.ctx, req)
		}()
	}
	wg.Wait()
	for i, err := range errs[1:] {
		require.NoError(t, err, "request %d, unrelated to the locked key", i+1)
	}
	requireLockTimeout(t, errs[0])
	require.Less(t, time.Since(start), 20*time.Second, "two lock timeouts at most (the batch, then the request alone)")
}

// TestQueue_LockedRecordFailsOnlyItsWrite (PostgreSQL): the record of a
// job River discarded is locked by a transaction that does not end (the
// server that ran the job cut off in the middle of its end's transaction).
// The repair pass's write of its end waits for the lock only for the
// group commit's lock_timeout, and fails alone: the writes of the batch it
// joined (Cancels of other jobs) commit, and the pass goes on to the next
// record. Both ways of the writer: a batch of statements (one round
// trip), and a transaction (the locked job has a completion callback,
// which its end queues).
func TestQueue_LockedRecordFailsOnlyItsWrite(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		callback string
	}{
		{name: "Statements"},
		{name: "Transaction", callback: "http://127.0.0.1:9/callback"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, b := setup(t, testDBs()[1], nil, func(c *jobs.Config) {
				c.Workers, c.BatchDelay, c.LockTimeout = 0, 500*time.Millisecond, testLockTimeout
			})
			discarded := func(callback string) string {
				req := request()
				req.Options.CallbackURL = callback
				res, j := enqueueGet(t, q, b, req)
				b.execSQL(t, `UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE id = ?`, j.RiverID)
				return res.JobID
			}
			locked := discarded(tt.callback)
			next := discarded("")
			others := make([]string, 20)
			var queued sync.WaitGroup
			for i := range others {
				queued.Go(func() {
					r, err := q.Enqueue(b.ctx, request())
					assert.NoError(t, err)
					others[i] = r.JobID
				})
			}
			queued.Wait()
			tx, err := b.db.BeginTx(b.ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			_, err = tx.ExecContext(b.ctx, `SELECT * FROM hookhost_jobs WHERE id = $1 FOR UPDATE`, locked)
			require.NoError(t, err)

			start := time.Now()
			var (
				wg        sync.WaitGroup
				errs      = make([]error, len(others))
				repaired  int64
				repairErr error
			)
			wg.Add(1)
			go func() {
				defer wg.Done()
				repaired, repairErr = q.RepairRecords(b.ctx, later())
			}()
			for i, id := range others {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = q.Cancel(context.Background(), id, 0)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				require.NoError(t, err, "Cancel of job %d", i)
			}
			requireLockTimeout(t, repairErr)
			require.Equal(t, int64(1), repaired, "the record after the locked one")
			require.Less(t, time.Since(start), 25*time.Second)
			require.Equal(t, "queued", storedState(t, b, locked))
			require.Equal(t, "failed", storedState(t, b, next))
			for _, id := range others {
				require.Equal(t, "stopped", storedState(t, b, id))
			}
		})
	}
}
