package jobs_test

import (
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
