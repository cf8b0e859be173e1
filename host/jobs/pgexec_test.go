package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
)

// TestQueue_PostgresNativeFetch checks that on PostgreSQL River's fetch
// and completer run on pgx's own connection, not through database/sql,
// and still work the jobs to their end.
func TestQueue_PostgresNativeFetch(t *testing.T) {
	q, b := setup(t, testDBs()[1], nil, nil)
	var commits []commitRecord
	b.faults.mu.Lock()
	b.faults.commits = &commits
	b.faults.mu.Unlock()

	const n = 3
	for range n {
		res, err := q.Enqueue(b.ctx, request())
		require.NoError(t, err)
		j := waitFinal(t, q, res.JobID)
		require.Equal(t, jobs.StateCompleted, j.State)
		assert.Equal(t, "completed", riverState(t, b.db, b.dialect, j.RiverID))
	}
	b.faults.mu.Lock()
	defer b.faults.mu.Unlock()
	for _, c := range commits {
		for _, s := range c.stmts {
			assert.NotContains(t, s, "-- name: JobGetAvailable", "the fetch went through database/sql")
			assert.NotContains(t, s, "-- name: JobSetStateIfRunningMany", "the completer went through database/sql")
		}
	}
}

// TestQueue_PostgresInsertAnswerLost checks that a hand-off whose insert
// committed but whose answer was lost (the connection dropped after the
// commit) is answered as queued, and its job runs once; and that an insert
// that really failed is still an error, with nothing queued.
func TestQueue_PostgresInsertAnswerLost(t *testing.T) {
	tests := []struct {
		name        string
		afterCommit bool
	}{
		{"AnswerLost", true},
		{"Failed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, b := setup(t, testDBs()[1], nil, nil)
			rule := b.faults.add(&faultRule{match: "INSERT INTO hookhost_jobs", err: errConnReset, times: 1, afterCommit: tt.afterCommit})
			id := jobs.NewJobID()
			res, err := q.EnqueueID(b.ctx, id, request())
			require.Equal(t, 1, b.faults.hitsOf(rule), "the fault was hit")
			if !tt.afterCommit {
				require.Error(t, err)
				_, gerr := q.Get(b.ctx, id)
				require.ErrorIs(t, gerr, jobs.ErrNotFound)
				return
			}
			require.NoError(t, err)
			require.Equal(t, id, res.JobID)
			j := waitFinal(t, q, id)
			assert.Equal(t, jobs.StateCompleted, j.State)
			assert.Equal(t, 1, b.runner.ran(id), "the job ran once")
		})
	}
}

// TestQueue_PostgresInsertAnswerLostBatch: the lost answer of a batch of
// concurrent hand-offs: every caller hears its job queued, and every job
// runs once.
func TestQueue_PostgresInsertAnswerLostBatch(t *testing.T) {
	q, b := setup(t, testDBs()[1], nil, nil)
	rule := b.faults.add(&faultRule{match: "INSERT INTO hookhost_jobs", err: errConnReset, times: 1, afterCommit: true})
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range ids {
		ids[i] = jobs.NewJobID()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = q.EnqueueID(b.ctx, ids[i], request())
		}()
	}
	wg.Wait()
	require.Equal(t, 1, b.faults.hitsOf(rule), "the fault was hit")
	for i, id := range ids {
		require.NoError(t, errs[i], "hand-off %d", i)
		assert.Equal(t, jobs.StateCompleted, waitFinal(t, q, id).State)
		assert.Equal(t, 1, b.runner.ran(id), "job %d ran once", i)
	}
}

// TestQueue_EnqueueIDInUse checks that a hand-off given a job id already
// in use fails on both databases, and leaves the first job as it was.
func TestQueue_EnqueueIDInUse(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, b := setupStopped(t, kind, nil, nil)
		id := jobs.NewJobID()
		_, err := q.EnqueueID(b.ctx, id, request())
		require.NoError(t, err)
		again := request()
		again.Handler = "automation/other"
		_, err = q.EnqueueID(b.ctx, id, again)
		require.Error(t, err)
		j, err := q.Get(b.ctx, id)
		require.NoError(t, err)
		assert.Equal(t, request().Handler, j.Handler)
	})
}

// TestQueue_PostgresInsertNothingSent checks that a batch of hand-offs that
// failed before anything was sent, its connection still open (a deadline
// passed before the statement went out), does not have its session ended:
// back in the pool, that session may already run another batch (review
// rev4: only a closed connection's session is ended).
func TestQueue_PostgresInsertNothingSent(t *testing.T) {
	q, b := setup(t, testDBs()[1], nil, nil)
	unsent := b.faults.add(&faultRule{match: "INSERT INTO hookhost_jobs", err: context.DeadlineExceeded, times: 1})
	ended := b.faults.add(&faultRule{match: "pg_terminate_backend", err: errors.New("a session ended"), times: -1})
	_, err := q.EnqueueID(b.ctx, jobs.NewJobID(), request())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 1, b.faults.hitsOf(unsent), "the fault was hit")
	assert.Zero(t, b.faults.hitsOf(ended), "the batch's session was ended though its connection was open")
}
