package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/stretchr/testify/require"
)

// TestSQLiteFetch_AsRiver checks that the queue's fetch of River jobs on
// SQLite takes, stores and returns what River's driver does, but leaves
// args that are not valid JSON to the work unit (sqlitefetch.go).
func TestSQLiteFetch_AsRiver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLiteDB(t)
	q := newSQLiteQueue(t, db)
	enqueueRuns(t, q, 4, `{"a":1}`)
	river := riversqlite.New(db).GetExecutor()
	ours := wakeDriver{Driver: riversqlite.New(db), db: db}.GetExecutor()
	now := time.Now().Add(time.Minute)
	params := func(n int) *riverdriver.JobGetAvailableParams {
		return &riverdriver.JobGetAvailableParams{ClientID: "test", MaxAttemptedBy: 100, MaxToLock: n, Now: &now,
			Queue: queueRuns}
	}

	want, err := river.JobGetAvailable(ctx, params(2))
	require.NoError(t, err)
	require.Len(t, want.Jobs, 2)
	require.Empty(t, want.DecodeErrors)
	for _, w := range want.Jobs {
		// As an earlier version of the queue fetches them (River's
		// statement), during a rolling upgrade or after a rollback.
		requireRunArgs(t, w.EncodedArgs, "River's fetch reads the args as stored")
	}
	got, err := ours.JobGetAvailable(ctx, params(5))
	require.NoError(t, err)
	require.Len(t, got.Jobs, 2, "the jobs River's fetch left")
	require.Empty(t, got.DecodeErrors)
	require.Greater(t, got.Jobs[0].ID, want.Jobs[1].ID, "in River's order")
	require.Less(t, got.Jobs[0].ID, got.Jobs[1].ID, "in River's order")
	for _, g := range got.Jobs {
		stored, err := river.JobGetByID(ctx, &riverdriver.JobGetByIDParams{ID: g.ID})
		require.NoError(t, err)
		require.Equal(t, stored, g, "returned as River reads it")
		requireRunArgs(t, g.EncodedArgs)
	}
	w, g := *want.Jobs[0], *got.Jobs[0]
	w.ID, w.EncodedArgs, w.CreatedAt, w.ScheduledAt = g.ID, g.EncodedArgs, g.CreatedAt, g.ScheduledAt
	require.Equal(t, w, g, "as River's fetch returns it")

	t.Run("ArgsNotJSON", func(t *testing.T) {
		// River's driver checks the args and leaves out those that are
		// not JSON (a decode error); the queue leaves them to the work
		// unit's json.Unmarshal, which fails the same way
		// (TestQueue_UnreadableArgsFail, NotJSON).
		_, err := db.ExecContext(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state)
			VALUES ('{"job_id":', ?, 1, ?, 'available')`, kindRun, queueRuns)
		require.NoError(t, err)
		got, err := ours.JobGetAvailable(ctx, params(5))
		require.NoError(t, err)
		require.Len(t, got.Jobs, 1)
		require.Equal(t, `{"job_id":`, string(got.Jobs[0].EncodedArgs), "the args as stored")
		require.Empty(t, got.DecodeErrors)
	})
}
