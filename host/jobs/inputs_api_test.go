package jobs_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
)

// inputsSeen records the inputs of the attempts a test's runner runs, by
// job id.
type inputsSeen struct {
	mu sync.Mutex
	m  map[string]json.RawMessage
}

func (s *inputsSeen) run(_ context.Context, a *jobs.Attempt) (*jobs.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]json.RawMessage{}
	}
	s.m[a.JobID] = append(json.RawMessage{}, a.Inputs...)
	return &jobs.Outcome{Revision: 1, Status: 200}, nil
}

func (s *inputsSeen) of(id string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[id]
}

// rawInputs are inputs with bytes that River's args (JSON, jsonb on
// PostgreSQL) could not hold as they are.
var rawInputs = json.RawMessage("{\"request_body\":\"\x00\xff<&>\"}")

// keptInputs reads the real inputs kept apart for the River job riverID.
func (b *testBundle) keptInputs(t *testing.T, riverID int64) ([]byte, error) {
	t.Helper()
	var in []byte
	err := b.queryRow(t, `SELECT inputs FROM hookhost_job_inputs WHERE river_id = ?`, []any{riverID}, &in)
	return in, err
}

// enqueueStored queues a run job on q (stopped) and returns it with its
// record; asBefore rewrites it as the version before job schema version 10
// stored it: its inputs (rawInputs) in River's args, in base64, none kept
// apart, on the older queue.
func enqueueStored(t *testing.T, q *jobs.Queue, b *testBundle, asBefore bool) (jobs.Result, *jobs.Job) {
	t.Helper()
	res, j := enqueueGet(t, q, b, request())
	if asBefore {
		b.setRiverArgs(t, j.RiverID, withArg(b.riverArgs(t, j.RiverID), "inputs",
			`"`+base64.StdEncoding.EncodeToString(rawInputs)+`"`))
		b.execSQL(t, `DELETE FROM hookhost_job_inputs WHERE river_id = ?`, j.RiverID)
		b.execSQL(t, `UPDATE river_job SET queue = 'hookhost_runs' WHERE id = ?`, j.RiverID)
	}
	return res, j
}

// TestQueue_InputsKeptApart checks, on either database and through both
// insert paths (the queue's own, and River's for jobs with an idempotency
// key), that a run job's real inputs are written raw in
// hookhost_job_inputs and not in River's args, and that its attempt runs
// with them.
func TestQueue_InputsKeptApart(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		seen := &inputsSeen{}
		q, b := setupStopped(t, kind, seen.run, nil)
		var ids []string
		for _, key := range []string{"", "delivery-1"} {
			req := request()
			req.Inputs, req.IdempotencyKey = rawInputs, key
			res, err := q.Enqueue(b.ctx, req)
			require.NoError(t, err)
			ids = append(ids, res.JobID)
			j, err := q.Get(b.ctx, res.JobID)
			require.NoError(t, err)
			require.NotContains(t, b.riverArgs(t, j.RiverID), "inputs", "River's args hold no inputs")
			in, err := b.keptInputs(t, j.RiverID)
			require.NoError(t, err)
			require.Equal(t, []byte(rawInputs), in, "kept as they are")
		}
		require.NoError(t, q.Start(b.ctx))
		for _, id := range ids {
			require.Equal(t, jobs.StateCompleted, waitFinal(t, q, id).State)
			require.Equal(t, rawInputs, seen.of(id), "the attempt ran with them")
		}
	})
}

// TestQueue_InputsOfJobQueuedBefore checks, on either database, that a
// run job queued before the inputs were kept apart (its inputs in River's
// args, in base64, none in hookhost_job_inputs) runs with them, and that a
// retry of it queues a job with them.
func TestQueue_InputsOfJobQueuedBefore(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		seen := &inputsSeen{}
		q, b := setupStopped(t, kind, seen.run, nil)
		res, _ := enqueueStored(t, q, b, true)

		require.NoError(t, q.Start(b.ctx))
		require.Equal(t, jobs.StateCompleted, waitFinal(t, q, res.JobID).State)
		require.Equal(t, rawInputs, seen.of(res.JobID), "run with the inputs of its args")

		again, err := q.Retry(b.ctx, res.JobID)
		require.NoError(t, err)
		require.Equal(t, jobs.StateCompleted, waitFinal(t, q, again.JobID).State)
		require.Equal(t, rawInputs, seen.of(again.JobID), "the retry has them")
		r, err := q.Get(b.ctx, again.JobID)
		require.NoError(t, err)
		var queue string
		require.NoError(t, b.queryRow(t, `SELECT queue FROM river_job WHERE id = ?`, []any{r.RiverID}, &queue))
		require.Equal(t, "hookhost_runs_kept", queue, "the retry is a job of this version")
		require.NotContains(t, b.riverArgs(t, r.RiverID), "inputs")
		in, err := b.keptInputs(t, r.RiverID)
		require.NoError(t, err)
		require.Equal(t, []byte(rawInputs), in)
	})
}

// TestQueue_RunningJobQueuedBeforeRequeuedOnStart checks that on SQLite a
// job of the queue of jobs queued before job schema version 10, left
// running by a stopped process, is queued again and run when the queue
// starts, as one of this version's queue is.
func TestQueue_RunningJobQueuedBeforeRequeuedOnStart(t *testing.T) {
	t.Parallel()
	seen := &inputsSeen{}
	q, b := setupStopped(t, testDBs()[0], seen.run, nil)
	res, j := enqueueStored(t, q, b, true)
	b.execSQL(t, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now') WHERE id = ?`, j.RiverID)

	require.NoError(t, q.Start(b.ctx))
	require.Equal(t, jobs.StateCompleted, waitFinal(t, q, res.JobID).State)
	require.Equal(t, rawInputs, seen.of(res.JobID))
}

// TestQueue_RetryReadsKeptInputs checks, on either database, that a retry
// queues a job with the real inputs kept apart (not the empty ones of
// River's args), and that once River's row of the job is gone (its
// cleaner, after Config.Retention) it fails with ErrInputsGone.
func TestQueue_RetryReadsKeptInputs(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		seen := &inputsSeen{}
		q, b := setup(t, kind, seen.run, nil)
		req := request()
		req.Inputs = rawInputs
		res, err := q.Enqueue(b.ctx, req)
		require.NoError(t, err)
		j := waitFinal(t, q, res.JobID)
		require.Equal(t, jobs.StateCompleted, j.State)

		again, err := q.Retry(b.ctx, res.JobID)
		require.NoError(t, err)
		require.Equal(t, jobs.StateCompleted, waitFinal(t, q, again.JobID).State)
		require.Equal(t, rawInputs, seen.of(again.JobID))

		b.execSQL(t, `DELETE FROM river_job WHERE id = ?`, j.RiverID)
		_, err = q.Retry(b.ctx, res.JobID)
		require.ErrorIs(t, err, jobs.ErrInputsGone)
	})
}

// TestPruneRecords_DeletesInputs checks, on either database, that the
// prune pass, which deletes the River rows of the records it prunes,
// deletes their real inputs too.
func TestPruneRecords_DeletesInputs(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, b := setup(t, kind, nil, func(c *jobs.Config) { c.RecordRetention = time.Hour })
		res, err := q.Enqueue(b.ctx, request())
		require.NoError(t, err)
		j := waitFinal(t, q, res.JobID)
		require.Equal(t, jobs.StateCompleted, j.State)
		_, err = b.keptInputs(t, j.RiverID)
		require.NoError(t, err)
		var finalized bool
		for range 2000 { // River's completer marks its row a moment later
			require.NoError(t, b.queryRow(t, `SELECT finalized_at IS NOT NULL FROM river_job WHERE id = ?`,
				[]any{j.RiverID}, &finalized))
			if finalized {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		require.True(t, finalized)

		pruned, err := q.PruneRecords(b.ctx, time.Now().Add(2*time.Hour))
		require.NoError(t, err)
		require.Equal(t, int64(1), pruned.ByAge)
		var n int
		require.NoError(t, b.queryRow(t, `SELECT count(*) FROM river_job WHERE id = ?`, []any{j.RiverID}, &n))
		require.Zero(t, n, "River's row pruned with the record")
		require.NoError(t, b.queryRow(t, `SELECT count(*) FROM hookhost_job_inputs WHERE river_id = ?`, []any{j.RiverID}, &n))
		require.Zero(t, n, "and the inputs")
	})
}

// TestQueue_NewRunJobsOnTheirOwnQueue checks, on either database, that a
// run job queued with its inputs kept apart goes to a River queue that a
// server of an earlier version does not work ("hookhost_runs", which
// would find no inputs in its args and end it failed), and that a job of
// that queue (one queued before) still runs here
// (TestQueue_InputsOfJobQueuedBefore).
func TestQueue_NewRunJobsOnTheirOwnQueue(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, b := setupStopped(t, kind, nil, nil)
		for _, key := range []string{"", "delivery-1"} {
			req := request()
			req.IdempotencyKey = key
			_, j := enqueueGet(t, q, b, req)
			var queue string
			require.NoError(t, b.queryRow(t, `SELECT queue FROM river_job WHERE id = ?`, []any{j.RiverID}, &queue))
			require.NotEqual(t, "hookhost_runs", queue, "the queue older servers work")
			require.Equal(t, "hookhost_runs_kept", queue)
		}
	})
}

// TestWork_InputsGoneEndsTheJob checks, on either database, that a run job
// queued with its inputs kept apart whose row of them is gone ends failed,
// saying so, rather than running with no inputs, and cannot be retried.
func TestWork_InputsGoneEndsTheJob(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		seen := &inputsSeen{}
		q, b := setupStopped(t, kind, seen.run, nil)
		res, j := enqueueStored(t, q, b, false)
		b.execSQL(t, `DELETE FROM hookhost_job_inputs WHERE river_id = ?`, j.RiverID)

		require.NoError(t, q.Start(b.ctx))
		end := waitFinal(t, q, res.JobID)
		require.Equal(t, jobs.StateFailed, end.State)
		require.Contains(t, end.Error, "inputs are no longer stored")
		require.Nil(t, seen.of(res.JobID), "the automation did not run")
		_, err := q.Retry(b.ctx, res.JobID)
		require.ErrorIs(t, err, jobs.ErrInputsGone)
	})
}

// TestPruneRecords_SweepsInputsWithoutTheirRow checks, on either database,
// that the prune pass deletes real inputs whose River row is gone by
// another way (a server of an earlier version's cleaner, a pass that
// failed between its statements), and keeps those of a job River keeps.
func TestPruneRecords_SweepsInputsWithoutTheirRow(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, b := setupStopped(t, kind, nil, nil)
		_, j := enqueueGet(t, q, b, request())
		b.execSQL(t, `INSERT INTO hookhost_job_inputs (river_id, inputs) VALUES (?, ?)`, j.RiverID+1000, []byte(`{}`))

		_, err := q.PruneRecords(b.ctx, time.Now())
		require.NoError(t, err)
		var n int
		require.NoError(t, b.queryRow(t, `SELECT count(*) FROM hookhost_job_inputs WHERE river_id = ?`, []any{j.RiverID + 1000}, &n))
		require.Zero(t, n, "inputs without their River row are deleted")
		_, err = b.keptInputs(t, j.RiverID)
		require.NoError(t, err, "a queued job's are kept")
	})
}
