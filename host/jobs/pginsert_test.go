package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openPostgresQueue is a queue on a database of the test's own, working no
// jobs.
func openPostgresQueue(t *testing.T, prefix string) (*Queue, *sql.DB, string) {
	t.Helper()
	db, dsn := openPostgres(t, prefix)
	settings := DefaultSettings()
	settings.Workers = 0
	q, err := New(context.Background(), Config{DB: db, Dialect: DialectPostgres, DatabaseURL: dsn, Runner: nopRunner{},
		Settings: settings, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	return q, db, dsn
}

// insertRequests are the requests of the insert tests: every field a
// run job's rows hold, set and unset.
func insertRequests() []*Request {
	return []*Request{
		{WebhookID: "w1", Handler: "automation/a", Automation: "a", Inputs: []byte(`{"x":1}`), RedactedInputs: []byte(`{"x":1}`)},
		{WebhookID: "w2", Handler: "automation/b", Automation: "b", Inputs: []byte("{\"b\":\"\x00\xff\"}"),
			RedactedInputs: []byte("{\"b\":\"[redacted]\"}"), RetryOf: "0190aaaa-0000-7000-8000-000000000000",
			CredentialHeaders: []string{"x-token"},
			Options:           Options{MaxAttempts: 7, Timeout: 3 * time.Second, Concurrency: 2, CallbackURL: "https://example.test/cb"}},
		{WebhookID: "w1", Handler: "automation/a", Automation: "a", Inputs: []byte(`{}`), RedactedInputs: nil},
	}
}

// TestPgInsertRuns_AsRiver checks that the one-statement insert of a batch
// of run jobs stores River's rows as River's client stores them and
// hookhost's records as the two-step insert does, each record pointing at
// its own River job.
func TestPgInsertRuns_AsRiver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, db, _ := openPostgresQueue(t, "hh_jobs_insert_")

	batch := func() []*insertItem {
		var items []*insertItem
		for _, r := range insertRequests() {
			items = append(items, newInsertItem(NewJobID(), r))
		}
		return items
	}
	viaRiver, direct := batch(), batch()
	require.True(t, plainRuns(direct))
	require.NoError(t, q.pgxRiverInserts(ctx, viaRiver))
	require.NoError(t, q.pgInsertRuns(ctx, direct))

	// riverRow is a River job as text, without its id, its args' job id
	// and its times, which must be one time (River's now()).
	riverRow := func(riverID int64) (row map[string]any, argsJobID string) {
		var (
			args                                          []byte
			kind, queue, state, tags, metadata, errs      sql.NullString
			attempt, maxAttempts, priority                int64
			attemptedAt, attemptedBy, finalizedAt, unique sql.NullString
			uniqueStates                                  sql.NullString
			sameTimes                                     bool
		)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT args, attempt, attempted_at::text, attempted_by::text,
			created_at = scheduled_at AND created_at <= now(), errors::text, finalized_at::text, kind, max_attempts,
			metadata::text, priority, queue, state::text, tags::text, unique_key::text, unique_states::text
			FROM river_job WHERE id = $1`, riverID).Scan(&args, &attempt, &attemptedAt, &attemptedBy, &sameTimes, &errs,
			&finalizedAt, &kind, &maxAttempts, &metadata, &priority, &queue, &state, &tags, &unique, &uniqueStates))
		var a map[string]any
		require.NoError(t, json.Unmarshal(args, &a))
		argsJobID, _ = a["job_id"].(string)
		delete(a, "job_id")
		return map[string]any{"args": a, "attempt": attempt, "attempted_at": attemptedAt, "attempted_by": attemptedBy,
			"same_times": sameTimes, "errors": errs, "finalized_at": finalizedAt, "kind": kind, "max_attempts": maxAttempts,
			"metadata": metadata, "priority": priority, "queue": queue, "state": state, "tags": tags, "unique_key": unique,
			"unique_states": uniqueStates}, argsJobID
	}
	// record is a hookhost record without its id, with its River job.
	record := func(id string) (row []any, riverID int64) {
		var (
			webhook, handler, automation, state, retryOf, callback string
			revision, attempt, maxAttempts, status, created, size  int64
			inputs, headers, output, log, errText, body            []byte
			started, finished                                      sql.NullInt64
		)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT river_id, webhook_id, handler, automation, revision, state, attempt,
			max_attempts, inputs, status, headers, body, output, log, error, retry_of, callback_url, created_at, started_at,
			finished_at, size FROM hookhost_jobs WHERE id = $1`, id).Scan(&riverID, &webhook, &handler, &automation, &revision,
			&state, &attempt, &maxAttempts, &inputs, &status, &headers, &body, &output, &log, &errText, &retryOf, &callback,
			&created, &started, &finished, &size))
		return []any{webhook, handler, automation, revision, state, attempt, maxAttempts, inputs, status, headers, body,
			output, log, errText, retryOf, callback, created, started, finished, size}, riverID
	}
	for i := range viaRiver {
		wantRec, wantRiverID := record(viaRiver[i].id)
		gotRec, gotRiverID := record(direct[i].id)
		// created_at is the item's own time.
		assert.Equal(t, micros(direct[i].created), gotRec[16], "record %d's created_at", i)
		gotRec[16] = wantRec[16]
		assert.Equal(t, wantRec, gotRec, "record %d", i)
		wantRow, wantJobID := riverRow(wantRiverID)
		gotRow, gotJobID := riverRow(gotRiverID)
		assert.Equal(t, wantRow, gotRow, "River job %d", i)
		assert.Equal(t, viaRiver[i].id, wantJobID)
		assert.Equal(t, direct[i].id, gotJobID, "record %d points at its own River job", i)
		assert.Equal(t, Result{JobID: direct[i].id}, direct[i].res)
	}
}

// TestPgInsertRuns_OneTransaction checks that a batch whose records cannot
// all be written leaves no River job behind.
func TestPgInsertRuns_OneTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, db, _ := openPostgresQueue(t, "hh_jobs_insert_tx_")
	taken := newInsertItem(NewJobID(), insertRequests()[0])
	require.NoError(t, q.pgInsertRuns(ctx, []*insertItem{taken}))

	count := func() (n int) {
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&n))
		return n
	}
	before := count()
	again := newInsertItem(taken.id, insertRequests()[1]) // its record's id is taken
	fresh := newInsertItem(NewJobID(), insertRequests()[2])
	q.notifyRuns.last.Store(nil) // a notification is due: it goes in the failed statement
	err := q.pgInsertRuns(ctx, []*insertItem{fresh, again})
	require.ErrorContains(t, err, "hookhost_jobs_pkey")
	assert.Equal(t, before, count(), "no River job of the failed batch is left")
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM hookhost_jobs WHERE id = $1`, fresh.id).Scan(&n))
	assert.Zero(t, n)
}

// TestPgInsertRuns_Notifies checks that a batch's insert wakes the
// producers listening for River's insert notifications (every server of
// the database), through River's own listener, as River's client's
// inserts do.
func TestPgInsertRuns_Notifies(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, _, _ := openPostgresQueue(t, "hh_jobs_insert_notify_")
	l := riverpgxv5.New(q.pool).GetListener(&riverdriver.GetListenenerParams{})
	require.NoError(t, l.Connect(ctx))
	defer func() { _ = l.Close(context.Background()) }()
	require.NoError(t, l.Listen(ctx, insertTopic))

	q.notifyRuns.last.Store(nil)
	require.NoError(t, q.pgInsertRuns(ctx, []*insertItem{newInsertItem(NewJobID(), insertRequests()[0])}))
	n, err := l.WaitForNotification(ctx)
	require.NoError(t, err)
	assert.Equal(t, insertTopic, n.Topic)
	var payload struct{ Queue string }
	require.NoError(t, json.Unmarshal([]byte(n.Payload), &payload))
	assert.Equal(t, queueRuns, payload.Queue)
}

func TestInsertNotifier(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name  string
		after []time.Duration // earlier calls, relative to at, each taken
		now   time.Duration
		want  bool
	}{
		{"First", nil, 0, true},
		{"WithinCooldown", []time.Duration{0}, riverInsertNotifyCooldown - 1, false},
		{"AfterCooldown", []time.Duration{0}, riverInsertNotifyCooldown, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n insertNotifier
			for _, d := range tt.after {
				require.True(t, n.due(at.Add(d)))
			}
			assert.Equal(t, tt.want, n.due(at.Add(tt.now)))
		})
	}
}

func TestPlainRuns(t *testing.T) {
	t.Parallel()
	item := func(key string, attempts int) *insertItem {
		return newInsertItem(NewJobID(), &Request{WebhookID: "w", IdempotencyKey: key, Options: Options{MaxAttempts: attempts}})
	}
	tests := []struct {
		name  string
		items []*insertItem
		want  bool
	}{
		{"NoKeys", []*insertItem{item("", 0), item("", 3)}, true},
		{"AKey", []*insertItem{item("", 0), item("delivery-1", 0)}, false},
		{"AttemptsPastSmallint", []*insertItem{item("", math.MaxInt16+1)}, false},
		{"AttemptsAtSmallint", []*insertItem{item("", math.MaxInt16)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, plainRuns(tt.items))
		})
	}
}

// TestPgInsertRuns_WakesWorkers checks, end to end, that a job handed over
// on PostgreSQL is taken by a worker when it is committed, not at the
// producer's next poll (an hour away here): the insert's notification
// reaches River's producer.
func TestPgInsertRuns_WakesWorkers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := openPostgres(t, "hh_jobs_insert_wake_")
	settings := DefaultSettings()
	settings.Workers = 1
	settings.FetchPollInterval = time.Hour
	q, err := New(ctx, Config{DB: db, Dialect: DialectPostgres, DatabaseURL: dsn, Runner: nopRunner{}, Settings: settings,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	require.NoError(t, q.Start(ctx))
	for _, name := range []string{"first", "second", "third"} {
		id := NewJobID()
		ch, stop := q.Wait(id)
		q.notifyRuns.last.Store(nil) // each hand-off's notification is due
		_, err := q.EnqueueID(ctx, id, &Request{WebhookID: "w", Handler: "automation/a", Automation: "a", Inputs: []byte(`{}`)})
		require.NoError(t, err)
		select {
		case f := <-ch:
			assert.Equal(t, id, f.JobID, name) // it ran and ended (a nil outcome ends it Failed)
		case <-time.After(2 * time.Minute):
			t.Fatalf("the %s job did not run: its producer was not woken (its next poll is an hour away)", name)
		}
		stop()
	}
}

// TestPgxInsertTx_AsRiverClient checks that the queue's inserts of run
// jobs through River's pgx driver (a batch with idempotency keys), with
// args the callers of Enqueue encoded, store what River's client does (but
// for the times), and River's insert notification when one is due.
func TestPgxInsertTx_AsRiverClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, db, _ := openPostgresQueue(t, "hh_jobs_pgxinsert_")
	it := newInsertItem(NewJobID(), insertRequests()[1])
	q.notifyRuns.last.Store(nil) // a notification is due
	insert := func(fn func(tx pgx.Tx) int64) int64 {
		var id int64
		require.NoError(t, pgxTx(ctx, db, q.lock, func(tx pgx.Tx, _ sendBatch) error {
			id = fn(tx)
			return nil
		}))
		return id
	}
	want := insert(func(tx pgx.Tx) int64 {
		res, err := q.pgxClient.InsertManyTx(ctx, tx, []river.InsertManyParams{{Args: it.args,
			InsertOpts: &river.InsertOpts{Queue: queueRuns, MaxAttempts: it.max}}})
		require.NoError(t, err)
		return res[0].Job.ID
	})
	got := insert(func(tx pgx.Tx) int64 {
		ids, err := pgxInsertTx{tx: tx, client: q.pgxClient, notify: &q.notifyRuns}.insertJobs(ctx, []*insertItem{it})
		require.NoError(t, err)
		require.Len(t, ids, 1)
		return ids[0]
	})
	require.NotNil(t, q.notifyRuns.last.Load(), "a notification was sent")
	row := func(id int64) []any {
		var (
			args, metadata, tags, kind, queue, state string
			maxAttempts, priority                    int64
		)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT args::text, metadata::text, tags::text, kind, queue, state::text,
			max_attempts, priority FROM river_job WHERE id = $1`, id).Scan(&args, &metadata, &tags, &kind, &queue, &state,
			&maxAttempts, &priority))
		return []any{args, metadata, tags, kind, queue, state, maxAttempts, priority}
	}
	require.Equal(t, row(want), row(got))
}

// TestPgInsertRuns_BatchMemory checks that a batch of jobs with a large
// body each is sent without pgx's buffers growing a step at a time: the
// bytes the insert allocates stay within a few times the batch's args and
// inputs (they are copied into the statement's blob and into pgconn's
// write buffer; pgx's parameter buffer no longer holds them, pginsert.go),
// where growing the buffers by appends allocated about ten times as much. It does not run in
// parallel: it reads the process's allocations.
func TestPgInsertRuns_BatchMemory(t *testing.T) {
	ctx := context.Background()
	q, _, _ := openPostgresQueue(t, "hh_jobs_insert_")
	body, err := json.Marshal(strings.Repeat(`{"id":"0123456789abcdef","message":"Fix the <thing> & more"},`, 300))
	require.NoError(t, err)
	in := []byte(`{"request_method":"POST","request_body":` + string(body) + `}`)
	batch := func() (items []*insertItem, payload uint64) {
		for range 32 {
			it := newInsertItem(NewJobID(), &Request{WebhookID: "w", Handler: "automation/a", Automation: "a",
				Inputs: in, RedactedInputs: in})
			items = append(items, it)
			payload += uint64(len(it.encoded) + 2*len(in)) // the args, the stored and the real inputs
		}
		return items, payload
	}
	warm, _ := batch() // prepares the statement on the pool's connection
	require.NoError(t, q.pgInsertRuns(ctx, warm))

	items, payload := batch()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, q.pgInsertRuns(ctx, items))
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("payload %d bytes, allocated %d (%.1fx)", payload, alloc, float64(alloc)/float64(payload))
	assert.Less(t, alloc, 5*payload, "the insert allocated %.1f times its payload", float64(alloc)/float64(payload))
}
