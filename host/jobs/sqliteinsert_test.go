package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// TestSQLiteInsertJobs_AsRiver checks that the queue's inserts of River
// jobs on SQLite store and return what River's driver does (but for the
// nonce River's adds to the metadata, and the times it takes from the
// clock), in the order of the batch.
func TestSQLiteInsertJobs_AsRiver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLiteDB(t)
	newSQLiteQueue(t, db) // River's tables and the queue's

	at := time.Date(2030, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	tests := []struct {
		name string
		job  riverdriver.JobInsertFastParams
	}{
		{"Defaults", riverdriver.JobInsertFastParams{EncodedArgs: []byte(`{"job_id": "a", "inputs":"eyJ9"}`), Kind: kindRun,
			MaxAttempts: 3, Priority: 1, Queue: queueRuns, State: rivertype.JobStateAvailable, Tags: []string{}}},
		{"Everything", riverdriver.JobInsertFastParams{EncodedArgs: []byte(`{"x":[1,2,{"y":null}]}`), Kind: kindCallback,
			MaxAttempts: 25, Metadata: []byte(`{"k": "v"}`), Priority: 4, Queue: queueCallbacks, CreatedAt: &at,
			ScheduledAt: &at, State: rivertype.JobStateScheduled, Tags: []string{"a", "b"}}},
		{"PendingWithTag", riverdriver.JobInsertFastParams{EncodedArgs: []byte(`{}`), Kind: kindDelivery, MaxAttempts: 1,
			Priority: 2, Queue: queueCallbacks, State: rivertype.JobStatePending, Tags: []string{"t"}}},
	}
	// row reads a stored job as text, its metadata without River's nonce.
	row := func(id int64) []any {
		var (
			args, metadata, tags, kind, queue, state, createdType, scheduledType string
			created, scheduled                                                   string
			attempt, maxAttempts, priority                                       int64
			argsType, metaType, tagsType                                         string
			attemptedAt, attemptedBy, errs, finalizedAt, uniqueKey, uniqueStates sql.NullString
		)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT json(args), typeof(args), attempt, attempted_at, attempted_by,
			typeof(created_at), cast(created_at AS text), errors, finalized_at, kind, max_attempts, json(metadata), typeof(metadata),
			priority, queue, state, typeof(scheduled_at), cast(scheduled_at AS text), json(tags), typeof(tags), unique_key, unique_states
			FROM river_job WHERE id = ?`, id).Scan(&args, &argsType, &attempt, &attemptedAt, &attemptedBy, &createdType, &created,
			&errs, &finalizedAt, &kind, &maxAttempts, &metadata, &metaType, &priority, &queue, &state, &scheduledType,
			&scheduled, &tags, &tagsType, &uniqueKey, &uniqueStates))
		var meta map[string]any
		require.NoError(t, json.Unmarshal([]byte(metadata), &meta))
		delete(meta, riverdriver.UniqueInsertMetadataKey)
		// Times from the clock differ; their form must not.
		for _, s := range []string{created, scheduled} {
			_, err := time.Parse(sqliteTimeFormat, s)
			require.NoError(t, err, s)
		}
		if created == "2030-01-02 03:04:05.679" {
			created, scheduled = "given", "given"
		} else {
			created, scheduled = "", ""
		}
		return []any{args, argsType, attempt, attemptedAt, attemptedBy, createdType, created, scheduled, errs, finalizedAt, kind, maxAttempts,
			meta, metaType, priority, queue, state, scheduledType, tags, tagsType, uniqueKey, uniqueStates}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			insert := func(fn func(tx *sql.Tx, jobs []*riverdriver.JobInsertFastParams) ([]*riverdriver.JobInsertFastResult, error)) []*riverdriver.JobInsertFastResult {
				tx, err := db.BeginTx(ctx, nil)
				require.NoError(t, err)
				defer func() { _ = tx.Rollback() }()
				// Three jobs: two statements (statementRows).
				a, b, c := tt.job, tt.job, tt.job
				b.EncodedArgs = []byte(`{"second":true}`)
				c.EncodedArgs = []byte(`{"third":true}`)
				res, err := fn(tx, []*riverdriver.JobInsertFastParams{&a, &b, &c})
				require.NoError(t, err)
				require.NoError(t, tx.Commit())
				require.Len(t, res, 3)
				return res
			}
			want := insert(func(tx *sql.Tx, jobs []*riverdriver.JobInsertFastParams) ([]*riverdriver.JobInsertFastResult, error) {
				return riversqlite.New(db).UnwrapExecutor(tx).JobInsertFastMany(ctx, &riverdriver.JobInsertFastManyParams{Jobs: jobs})
			})
			got := insert(func(tx *sql.Tx, jobs []*riverdriver.JobInsertFastParams) ([]*riverdriver.JobInsertFastResult, error) {
				params := &riverdriver.JobInsertFastManyParams{Jobs: jobs}
				require.True(t, plainInserts(params))
				return wakeDriver{Driver: riversqlite.New(db)}.UnwrapExecutor(tx).JobInsertFastMany(ctx, params)
			})
			for i := range got {
				require.Equal(t, row(want[i].Job.ID), row(got[i].Job.ID))
				w, g := *want[i].Job, *got[i].Job
				require.Greater(t, g.ID, want[2].Job.ID)
				require.False(t, got[i].UniqueSkippedAsDuplicate)
				require.JSONEq(t, string(w.EncodedArgs), string(g.EncodedArgs))
				require.JSONEq(t, []string{string(tt.job.EncodedArgs), `{"second":true}`, `{"third":true}`}[i],
					string(g.EncodedArgs), "batch order")
				if tt.job.CreatedAt == nil {
					require.WithinDuration(t, w.CreatedAt, g.CreatedAt, time.Minute)
					require.WithinDuration(t, w.ScheduledAt, g.ScheduledAt, time.Minute)
					g.CreatedAt, g.ScheduledAt = w.CreatedAt, w.ScheduledAt
				}
				var meta map[string]any
				require.NoError(t, json.Unmarshal(w.Metadata, &meta))
				delete(meta, riverdriver.UniqueInsertMetadataKey)
				require.Equal(t, meta, jsonMap(t, g.Metadata))
				w.ID, w.EncodedArgs, w.Metadata = g.ID, g.EncodedArgs, g.Metadata
				require.Equal(t, w, g)
			}
		})
	}
}

func jsonMap(t *testing.T, b []byte) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestStatementRows(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    int
		want []int
	}{
		{0, nil},
		{1, []int{1}},
		{7, []int{4, 2, 1}},
		{64, []int{64}},
		{200, []int{64, 64, 64, 8}},
	} {
		require.Equal(t, tt.want, statementRows(tt.n), tt.n)
	}
}

// TestWriteInserts_Chunks checks that a batch of hand-offs larger than one
// statement (71 = 64 + 4 + 2 + 1 rows on SQLite) stores every job's record,
// each pointing at the River job whose args name it.
func TestWriteInserts_Chunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openSQLiteStore(t)
	q := newSQLiteQueue(t, st.DB())
	in := json.RawMessage(`{"request_method":"POST"}`)
	req := &Request{WebhookID: "w", Handler: "automation/main", Automation: "a", Inputs: in, RedactedInputs: in}
	items := make([]*insertItem, 71)
	for i := range items {
		items[i] = newInsertItem(NewJobID(), req)
	}
	require.NoError(t, q.inserter.run(ctx, items))
	for _, it := range items {
		var args string
		require.NoError(t, st.DB().QueryRowContext(ctx, `SELECT json(r.args) FROM hookhost_jobs h
			JOIN river_job r ON r.id = h.river_id WHERE h.id = ?`, it.id).Scan(&args), it.id)
		var a runArgs
		require.NoError(t, json.Unmarshal([]byte(args), &a))
		require.Equal(t, it.id, a.JobID)
	}
	var n int
	require.NoError(t, st.DB().QueryRowContext(ctx, `SELECT count(*) FROM hookhost_jobs`).Scan(&n))
	require.Equal(t, len(items), n)
}

// TestSQLiteInsertTx_AsRiverClient checks that the queue's inserts of run
// jobs on SQLite, without River's client, store what River's client does
// (but for the nonce River's adds to the metadata, the times, and the args
// kept as text), and River's insert notification when one is due.
func TestSQLiteInsertTx_AsRiverClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openSQLiteDB(t)
	q := newSQLiteQueue(t, db)
	req := &Request{WebhookID: "w", Handler: "automation/main", Automation: "a", Inputs: json.RawMessage(`{"a":"<&>"}`),
		Options: Options{MaxAttempts: 3, Concurrency: 2, CallbackURL: "https://x.example/"}}
	it := newInsertItem(NewJobID(), req)
	q.notifyRuns.last.Store(nil) // a notification is due

	insert := func(fn func(tx *sql.Tx) int64) int64 {
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback() }()
		id := fn(tx)
		require.NoError(t, tx.Commit())
		return id
	}
	notifications := func() int {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM river_notification
			WHERE topic = ? AND json_extract(payload, '$.queue') = ?`, insertTopic, queueRuns).Scan(&n))
		return n
	}
	before := notifications()
	want := insert(func(tx *sql.Tx) int64 {
		res, err := q.client.InsertManyTx(ctx, tx, []river.InsertManyParams{{Args: it.args,
			InsertOpts: &river.InsertOpts{Queue: queueRuns, MaxAttempts: it.max}}})
		require.NoError(t, err)
		return res[0].Job.ID
	})
	got := insert(func(tx *sql.Tx) int64 {
		ids, err := sqlInsertTx{tx: tx, client: q.client, notify: &q.notifyRuns}.insertJobs(ctx, []*insertItem{it})
		require.NoError(t, err)
		require.Len(t, ids, 1)
		return ids[0]
	})
	require.Equal(t, before+2, notifications(), "River's client's and the queue's")

	row := func(id int64) []any {
		var (
			args, argsType, metadata, tags, kind, queue, state string
			maxAttempts, priority                              int64
		)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT json(args), typeof(args), json(metadata), json(tags), kind, queue,
			state, max_attempts, priority FROM river_job WHERE id = ?`, id).Scan(&args, &argsType, &metadata, &tags, &kind,
			&queue, &state, &maxAttempts, &priority))
		meta := jsonMap(t, []byte(metadata))
		delete(meta, riverdriver.UniqueInsertMetadataKey)
		return []any{args, argsType, meta, tags, kind, queue, state, maxAttempts, priority}
	}
	w, g := row(want), row(got)
	require.Equal(t, []any{"blob", "text"}, []any{w[1], g[1]}, "River's args as JSONB, the queue's as text")
	w[1], g[1] = nil, nil
	require.Equal(t, w, g)

	t.Run("NotDue", func(t *testing.T) {
		// The last notification "in the future": within the cooldown
		// whatever time this test takes on a loaded machine (review
		// rev3: it assumed the insert came within 100 ms of the one
		// above).
		last := time.Now().Add(time.Hour)
		q.notifyRuns.last.Store(&last)
		before := notifications()
		insert(func(tx *sql.Tx) int64 {
			ids, err := sqlInsertTx{tx: tx, client: q.client, notify: &q.notifyRuns}.insertJobs(ctx, []*insertItem{it})
			require.NoError(t, err)
			return ids[0]
		})
		require.Equal(t, before, notifications(), "one a cooldown (River's FetchCooldown)")
	})
}
