package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// TestPgComplete_NoArgs checks that on PostgreSQL River's completer,
// through the queue's executor, completes running jobs as River's
// statement does but returns their rows without args (completeTx), and
// still returns the rows of jobs that were not running.
func TestPgComplete_NoArgs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, db, _ := openPostgresQueue(t, "hh_jobs_complete_")
	enqueueRuns(t, q, 3, `{"a":1}`)
	ex := q.client.Driver().GetExecutor()
	now := time.Now().Add(time.Minute)
	fetched, err := ex.JobGetAvailable(ctx, &riverdriver.JobGetAvailableParams{ClientID: "test", MaxAttemptedBy: 100,
		MaxToLock: 2, Now: &now, Queue: queueRuns})
	require.NoError(t, err)
	require.Len(t, fetched.Jobs, 2)
	var notRunning int64
	require.NoError(t, db.QueryRowContext(ctx, `SELECT id FROM river_job WHERE state = 'available'`).Scan(&notRunning))

	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p := completions(at, nil, fetched.Jobs...)
	p.ID = append(p.ID, notRunning)
	p.Attempt, p.ErrData, p.FinalizedAt = append(p.Attempt, nil), append(p.ErrData, nil), append(p.FinalizedAt, &at)
	p.MetadataDoMerge, p.MetadataUpdates = append(p.MetadataDoMerge, false), append(p.MetadataUpdates, nil)
	p.ScheduledAt, p.State = append(p.ScheduledAt, nil), append(p.State, rivertype.JobStateCompleted)
	rows, err := ex.JobSetStateIfRunningMany(ctx, p)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	states := map[int64]rivertype.JobState{}
	for _, r := range rows {
		require.JSONEq(t, `{}`, string(r.EncodedArgs), "no args: they go only to River's subscribers, and there are none")
		states[r.ID] = r.State
		var args []byte
		require.NoError(t, db.QueryRowContext(ctx, `SELECT args FROM river_job WHERE id = $1`, r.ID).Scan(&args))
		requireRunArgs(t, args, "stored as they were")
	}
	require.Equal(t, map[int64]rivertype.JobState{fetched.Jobs[0].ID: rivertype.JobStateCompleted,
		fetched.Jobs[1].ID: rivertype.JobStateCompleted, notRunning: rivertype.JobStateAvailable}, states)
}

func TestPgCompleteSQL_Unknown(t *testing.T) {
	t.Parallel()
	for _, sql := range []string{
		"SELECT 1",
		pgCompleteName + "\nUPDATE river_job SET state = 'completed' RETURNING river_job.args, id",
	} {
		require.Equal(t, sql, pgCompleteSQL(sql), "run as it is")
	}
}
