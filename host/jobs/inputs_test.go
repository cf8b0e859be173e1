package jobs

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/stretchr/testify/require"
)

// TestInputs_FetchPostgres checks that on PostgreSQL the fetch's one
// statement (pgFetchStartSQL) returns the real inputs of the run jobs it
// takes, which the worker then takes from the row River hands it, once.
func TestInputs_FetchPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, _, _ := openPostgresQueue(t, "hh_jobs_inputs_")
	inputs := "{\"request_body\":\"x\",\"raw\":\"\x00\xff\"}" // any bytes
	enqueueRuns(t, q, 2, inputs)
	// Without a time of its own (Now): the fetch of the queue's producers.
	res, err := q.client.Driver().GetExecutor().JobGetAvailable(ctx, &riverdriver.JobGetAvailableParams{ClientID: "test",
		MaxAttemptedBy: 100, MaxToLock: 5, Queue: queueRuns})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 2)
	for _, j := range res.Jobs {
		requireRunArgs(t, j.EncodedArgs, "River's args hold no inputs")
		got, ok, err := q.fetched.take(j)
		require.NoError(t, err)
		require.True(t, ok, "the fetch read them")
		require.Equal(t, inputs, string(got))
		_, ok, _ = q.fetched.take(j)
		require.False(t, ok, "once")
	}
}

// TestInputs_DeletedWithRiversRow checks, on either database, that River's
// cleaner (JobDeleteBefore, through the queue's executor) deletes the
// real inputs of the jobs it deletes, and only theirs, within its limit.
func TestInputs_DeletedWithRiversRow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		open     func(t *testing.T) (*Queue, *sql.DB)
		finalize string // marks a River job completed an hour ago
	}{
		{"SQLite", func(t *testing.T) (*Queue, *sql.DB) {
			db := openSQLiteDB(t)
			return newSQLiteQueue(t, db), db
		}, `UPDATE river_job SET state = 'completed', finalized_at = datetime('now', '-1 hour', 'subsec') WHERE id = ?`},
		{"PostgreSQL", func(t *testing.T) (*Queue, *sql.DB) {
			q, db, _ := openPostgresQueue(t, "hh_jobs_inputs_")
			return q, db
		}, `UPDATE river_job SET state = 'completed', finalized_at = now() - interval '1 hour' WHERE id = $1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			q, db := tt.open(t)
			enqueueRuns(t, q, 3, `{"a":1}`)
			ids := riverIDs(t, db)
			require.Len(t, ids, 3)
			for _, id := range ids[:2] {
				_, err := db.ExecContext(ctx, tt.finalize, id)
				require.NoError(t, err)
			}
			kept := func() []int64 { return QueryIDs(t, db, `SELECT river_id FROM hookhost_job_inputs ORDER BY river_id`) }
			require.Equal(t, ids, kept())

			ex := q.client.Driver().GetExecutor()
			horizon := time.Now().Add(-time.Minute)
			clean := func(limit int) int {
				n, err := ex.JobDeleteBefore(ctx, &riverdriver.JobDeleteBeforeParams{CancelledDoDelete: true,
					CancelledFinalizedAtHorizon: horizon, CompletedDoDelete: true, CompletedFinalizedAtHorizon: horizon,
					DiscardedDoDelete: true, DiscardedFinalizedAtHorizon: horizon, Max: limit})
				require.NoError(t, err)
				return n
			}
			require.Equal(t, 1, clean(1))
			require.Equal(t, ids[1:], riverIDs(t, db))
			require.Equal(t, ids[1:], kept(), "the inputs of the job River deleted, within its limit")
			require.Equal(t, 1, clean(100))
			require.Equal(t, ids[2:], riverIDs(t, db))
			require.Equal(t, ids[2:], kept(), "a job River keeps keeps its inputs")
		})
	}
}

// riverIDs returns the ids of River's jobs, in order.
func riverIDs(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	return QueryIDs(t, db, `SELECT id FROM river_job ORDER BY id`)
}

// QueryIDs returns the one column of query's rows (exported for the
// package's external tests; a test build only).
func QueryIDs(t *testing.T, db *sql.DB, query string) []int64 {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}
