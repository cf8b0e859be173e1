package jobs

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// TestSQLiteCompleteJobs_AsRiver checks that the queue's completions of
// River jobs on SQLite store and return what River's driver does, and
// that what it does not handle goes to River's driver.
func TestSQLiteCompleteJobs_AsRiver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLiteDB(t)
	q := newSQLiteQueue(t, db)
	enqueueRuns(t, q, 5, `{"a":1}`)
	river := riversqlite.New(db).GetExecutor()
	ours := wakeDriver{Driver: riversqlite.New(db), db: db}.GetExecutor()
	fetched, err := river.JobGetAvailable(ctx, &riverdriver.JobGetAvailableParams{ClientID: "test", MaxAttemptedBy: 100,
		MaxToLock: 5, Queue: queueRuns})
	require.NoError(t, err)
	require.Len(t, fetched.Jobs, 5)
	jobs := fetched.Jobs

	at := time.Date(2030, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	params := func(metadata []byte, jobs ...*rivertype.JobRow) *riverdriver.JobSetStateIfRunningManyParams {
		return completions(at, metadata, jobs...)
	}
	// stored is a job's row as River reads it, and its finalized_at as
	// stored.
	stored := func(id int64) (*rivertype.JobRow, string) {
		j, err := river.JobGetByID(ctx, &riverdriver.JobGetByIDParams{ID: id})
		require.NoError(t, err)
		var finalized string
		require.NoError(t, db.QueryRowContext(ctx, `SELECT typeof(finalized_at) || ' ' || cast(finalized_at AS text) FROM river_job WHERE id = ?`, id).Scan(&finalized))
		return j, finalized
	}

	want, err := river.JobSetStateIfRunningMany(ctx, params(nil, jobs[0], jobs[1]))
	require.NoError(t, err)
	require.True(t, plainCompletions(params(nil, jobs[2], jobs[3])))
	got, err := ours.JobSetStateIfRunningMany(ctx, params(nil, jobs[3], jobs[2]))
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []int64{jobs[3].ID, jobs[2].ID}, []int64{got[0].ID, got[1].ID}, "in the order asked")
	_, wantFinalized := stored(want[0].ID)
	for _, g := range got {
		require.Equal(t, rivertype.JobStateCompleted, g.State)
		row, finalized := stored(g.ID)
		require.Nil(t, g.EncodedArgs, "no args: they go only to River's subscribers, and there are none")
		requireRunArgs(t, row.EncodedArgs, "stored as they were")
		row.EncodedArgs = nil
		require.Equal(t, row, g, "returned as River reads it, without the args")
		require.Equal(t, wantFinalized, finalized, "stored as River stores it")
	}
	w, g := *want[0], *got[1]
	require.Equal(t, w.Kind, g.Kind)
	w.ID, w.EncodedArgs, w.AttemptedAt, w.CreatedAt, w.ScheduledAt = g.ID, g.EncodedArgs, g.AttemptedAt, g.CreatedAt, g.ScheduledAt
	require.Equal(t, w, g, "as River returns it")

	t.Run("NotRunning", func(t *testing.T) {
		// jobs[0] is completed already: River's driver returns it as it is.
		wantRows, err := river.JobSetStateIfRunningMany(ctx, params(nil, jobs[0]))
		require.NoError(t, err)
		gotRows, err := ours.JobSetStateIfRunningMany(ctx, params(nil, jobs[0], jobs[4]))
		require.NoError(t, err)
		require.Len(t, gotRows, 2)
		require.Equal(t, wantRows[0], gotRows[0])
		require.Equal(t, rivertype.JobStateCompleted, gotRows[1].State)
	})
	t.Run("NotPlain", func(t *testing.T) {
		p := params([]byte(`{"k":1}`), jobs[0])
		require.False(t, plainCompletions(p))
		p = params(nil, jobs[0])
		p.State[0] = rivertype.JobStateRetryable
		require.False(t, plainCompletions(p))
		p = params(nil, jobs[0])
		p.ErrData[0] = []byte(`{}`)
		require.False(t, plainCompletions(p))
		p = params(nil, jobs[0])
		p.Schema = "other"
		require.False(t, plainCompletions(p))
	})
}

// requireRunArgs checks that args are a run job's args as the queue
// stores them: with a job id, and without the inputs (inputs.go).
func requireRunArgs(t *testing.T, args []byte, msgAndArgs ...any) {
	t.Helper()
	var a runArgs
	require.NoError(t, json.Unmarshal(args, &a), msgAndArgs...)
	require.NotEmpty(t, a.JobID, msgAndArgs...)
	require.Empty(t, a.Inputs, msgAndArgs...)
}
