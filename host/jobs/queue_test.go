package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	msqlite "modernc.org/sqlite"

	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/sqlite"
	"github.com/hookhost/hookhost/internal/pgtest"
)

// testDB is a database the queue tests run on.
type testDB struct {
	name string
	// open returns a fresh database whose statements fail as f says, its
	// dialect and (PostgreSQL) its DSN.
	open func(t *testing.T, f *faults) (db *sql.DB, dialect, dsn string)
}

// testDBs are SQLite and, with HOOKHOST_TEST_POSTGRES set, PostgreSQL.
func testDBs() []testDB {
	return []testDB{
		{"SQLite", func(t *testing.T, f *faults) (*sql.DB, string, string) {
			t.Helper()
			db := faultDB(driverConnector{d: &msqlite.Driver{}, dsn: sqlite.DSN(filepath.Join(t.TempDir(), "jobs.db"))}, f)
			db.SetMaxOpenConns(1) // as the store does
			db.SetConnMaxLifetime(0)
			db.SetConnMaxIdleTime(0)
			return db, jobs.DialectSQLite, ""
		}},
		{"PostgreSQL", func(t *testing.T, f *faults) (*sql.DB, string, string) {
			t.Helper()
			dsn := pgtest.DSN(t, "hh_jobs_test_")
			cfg, err := pgx.ParseConfig(dsn)
			require.NoError(t, err)
			db := faultDB(stdlib.GetConnector(*cfg), f)
			db.SetMaxOpenConns(8)
			return db, jobs.DialectPostgres, dsn
		}},
	}
}

// testBundle is what a queue test gets besides its queue.
type testBundle struct {
	ctx     context.Context
	db      *sql.DB
	dialect string
	dsn     string
	faults  *faults
	runner  *countingRunner
}

// setup opens a queue on a fresh database of kind, started unless
// configure clears start, and closes both when t ends.
func setup(t *testing.T, kind testDB, run func(context.Context, *jobs.Attempt) (*jobs.Outcome, error), configure func(*jobs.Config)) (*jobs.Queue, *testBundle) {
	t.Helper()
	q, bundle := setupStopped(t, kind, run, configure)
	require.NoError(t, q.Start(bundle.ctx))
	return q, bundle
}

// setupStopped is setup without starting the queue's workers (hand-offs
// work): a test can set faults before the first fetch.
func setupStopped(t *testing.T, kind testDB, run func(context.Context, *jobs.Attempt) (*jobs.Outcome, error), configure func(*jobs.Config)) (*jobs.Queue, *testBundle) {
	t.Helper()
	f := &faults{}
	db, dialect, dsn := kind.open(t, f)
	bundle := &testBundle{ctx: context.Background(), db: db, dialect: dialect, dsn: dsn, faults: f,
		runner: &countingRunner{run: run, runs: map[string]int{}}}
	cfg := bundle.config()
	if configure != nil {
		configure(&cfg)
	}
	q, err := jobs.New(bundle.ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, q.Close())
		require.NoError(t, db.Close())
	})
	return q, bundle
}

// config is the configuration of the tests' queues on b's database, with
// b's runner.
func (b *testBundle) config() jobs.Config {
	settings := jobs.DefaultSettings()
	settings.Workers, settings.RetryBackoff, settings.ShutdownGrace, settings.CallbackWorkers = 2, 10*time.Millisecond, 5*time.Second, 1
	return jobs.Config{DB: b.db, Dialect: b.dialect, DatabaseURL: b.dsn, Runner: b.runner, Settings: settings,
		OutcomeRetryBackoff: time.Millisecond, PruneInterval: -1, AllowPrivateRequests: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// startWorkers starts a second queue, with workers, on the database of a
// queue set up without them: a process that starts working the jobs queued
// (and changed) before it. It is closed when t ends, before the database.
func startWorkers(t *testing.T, b *testBundle) *jobs.Queue {
	t.Helper()
	q, err := jobs.New(b.ctx, b.config())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, q.Close()) })
	require.NoError(t, q.Start(b.ctx))
	return q
}

// execSQL runs a statement written with ? placeholders on b's database,
// numbered ($1, ...) on PostgreSQL.
func (b *testBundle) execSQL(t *testing.T, query string, args ...any) {
	t.Helper()
	query = b.sql(query)
	_, err := b.db.ExecContext(b.ctx, query, args...)
	require.NoError(t, err, query)
}

// queryRow runs a query written with ? placeholders on b's database
// (execSQL) and scans its one row into dest.
func (b *testBundle) queryRow(t *testing.T, query string, args []any, dest ...any) error {
	t.Helper()
	return b.db.QueryRowContext(b.ctx, b.sql(query), args...).Scan(dest...)
}

// sql is query with its ? placeholders numbered ($1, ...) on PostgreSQL.
func (b *testBundle) sql(query string) string {
	if b.dialect != jobs.DialectPostgres {
		return query
	}
	var q strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&q, "$%d", n)
			continue
		}
		q.WriteRune(r)
	}
	return q.String()
}

// countingRunner counts the attempts of each job it runs.
type countingRunner struct {
	run  func(context.Context, *jobs.Attempt) (*jobs.Outcome, error)
	mu   sync.Mutex
	runs map[string]int
}

func (r *countingRunner) RunJob(ctx context.Context, a *jobs.Attempt) (*jobs.Outcome, error) {
	r.mu.Lock()
	r.runs[a.JobID]++
	r.mu.Unlock()
	if r.run == nil {
		return &jobs.Outcome{Revision: 1, Status: 200, Body: []byte("ok"), Output: json.RawMessage(`{"body":"ok"}`)}, nil
	}
	return r.run(ctx, a)
}

// ran reports how many times the job's automation ran.
func (r *countingRunner) ran(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id]
}

// request is a plain job request.
func request() *jobs.Request {
	in := json.RawMessage(`{"request_body":"x"}`)
	return &jobs.Request{WebhookID: "w", Handler: "automation/main", Automation: "a", Inputs: in, RedactedInputs: in}
}

// waitFinal polls the job until it has ended (a bounded number of times).
func waitFinal(t *testing.T, q *jobs.Queue, id string) *jobs.Job {
	t.Helper()
	for range 2000 {
		j, err := q.Get(context.Background(), id)
		require.NoError(t, err)
		if j.State.Final() {
			return j
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.FailNow(t, "the job did not end", id)
	return nil
}

// riverState polls River's row of a job until it is finalized and returns
// its state.
func riverState(t *testing.T, db *sql.DB, dialect string, riverID int64) string {
	t.Helper()
	query := `SELECT state FROM river_job WHERE id = ? AND finalized_at IS NOT NULL`
	if dialect == jobs.DialectPostgres {
		query = `SELECT state FROM river_job WHERE id = $1 AND finalized_at IS NOT NULL`
	}
	for range 2000 {
		var st string
		err := db.QueryRow(query, riverID).Scan(&st)
		if err == nil {
			return st
		}
		require.ErrorIs(t, err, sql.ErrNoRows)
		time.Sleep(5 * time.Millisecond)
	}
	require.FailNow(t, "River did not finalize the job", "%d", riverID)
	return ""
}

func forEachDB(t *testing.T, test func(t *testing.T, kind testDB)) {
	t.Helper()
	for _, kind := range testDBs() {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			test(t, kind)
		})
	}
}

// finishMatch is in the text of the statement that writes an attempt's
// outcome, and of no other.
const finishMatch = "output = "

func TestQueue_OutcomeIsWrittenOnce(t *testing.T) {
	t.Parallel()

	t.Run("WriteFailsThenSucceeds", func(t *testing.T) {
		t.Parallel()
		forEachDB(t, func(t *testing.T, kind testDB) {
			q, bundle := setup(t, kind, nil, nil)
			rule := bundle.faults.add(&faultRule{match: finishMatch, err: errConnReset, times: 3})

			res, err := q.Enqueue(bundle.ctx, request())
			require.NoError(t, err)
			j := waitFinal(t, q, res.JobID)
			require.Equal(t, jobs.StateCompleted, j.State)
			require.Equal(t, []byte("ok"), j.Body)
			require.Equal(t, 3, bundle.faults.hitsOf(rule))
			require.Equal(t, 1, bundle.runner.ran(res.JobID), "the automation ran again")
			require.Equal(t, 1, j.Attempt)
			// The successful write clears the failure (just after its commit).
			for i := 0; i < 2000 && q.Healthy() != nil; i++ {
				time.Sleep(5 * time.Millisecond)
			}
			require.NoError(t, q.Healthy())
		})
	})

	t.Run("ABatchOfManyJobsFails", func(t *testing.T) {
		t.Parallel()
		// The writer writes the outcomes of jobs that end together in one
		// batch (on PostgreSQL, one round trip): when it fails, none of
		// them is written, and each is written again, once.
		forEachDB(t, func(t *testing.T, kind testDB) {
			q, bundle := setup(t, kind, nil, nil)
			rule := bundle.faults.add(&faultRule{match: finishMatch, err: errConnReset, times: 2})

			ids := make([]string, 20)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := q.Enqueue(bundle.ctx, request())
					assert.NoError(t, err)
					ids[i] = res.JobID
				}()
			}
			wg.Wait()
			for _, id := range ids {
				j := waitFinal(t, q, id)
				require.Equal(t, jobs.StateCompleted, j.State, id)
				require.Equal(t, []byte("ok"), j.Body)
				require.Equal(t, 1, bundle.runner.ran(id), "the automation ran again")
				require.Equal(t, 1, j.Attempt)
			}
			require.Equal(t, 2, bundle.faults.hitsOf(rule))
		})
	})

	t.Run("CommitSucceedsButItsAnswerIsLost", func(t *testing.T) {
		t.Parallel()
		forEachDB(t, func(t *testing.T, kind testDB) {
			q, bundle := setup(t, kind, nil, nil)
			rule := bundle.faults.add(&faultRule{match: finishMatch, err: errConnReset, times: 1, afterCommit: true})

			id := jobs.NewJobID()
			done, stop := q.Wait(id)
			defer stop()
			_, err := q.EnqueueID(bundle.ctx, id, request())
			require.NoError(t, err)
			j := waitFinal(t, q, id)
			require.Equal(t, jobs.StateCompleted, j.State)
			require.Equal(t, 1, bundle.faults.hitsOf(rule))
			require.Equal(t, 1, bundle.runner.ran(id), "the automation ran again")
			// The waiter hears of the end from the record.
			var f *jobs.Finished
			for range 2000 {
				select {
				case f = <-done:
				default:
					time.Sleep(5 * time.Millisecond)
				}
				if f != nil {
					break
				}
			}
			require.NotNil(t, f, "the waiter did not hear of the end")
			require.Equal(t, jobs.StateCompleted, f.State)
			require.Equal(t, []byte("ok"), f.Body)
		})
	})

	t.Run("ABatchsCommitAnswerIsLost", func(t *testing.T) {
		t.Parallel()
		// Two outcomes written in one batch whose commit's answer is lost:
		// each is written again alone and finds its record final, which
		// its own first write ended; the waiters still hear of the end.
		// (On PostgreSQL, with two writers, the outcomes may go to two
		// batches: then each one's write fails and is retried.)
		forEachDB(t, func(t *testing.T, kind testDB) {
			var (
				mu      sync.Mutex
				arrived int
				both    = make(chan struct{})
			)
			q, bundle := setup(t, kind, func(ctx context.Context, a *jobs.Attempt) (*jobs.Outcome, error) {
				mu.Lock()
				if arrived++; arrived == 2 {
					close(both)
				}
				mu.Unlock()
				<-both // the two attempts end together
				return &jobs.Outcome{Revision: 1, Status: 200, Body: []byte("ok")}, nil
			}, func(c *jobs.Config) { c.BatchDelay = 50 * time.Millisecond })
			rule := bundle.faults.add(&faultRule{match: finishMatch, err: errConnReset, times: 1, afterCommit: true})
			ids := []string{jobs.NewJobID(), jobs.NewJobID()}
			var waits []<-chan *jobs.Finished
			for _, id := range ids {
				ch, stop := q.Wait(id)
				defer stop()
				waits = append(waits, ch)
				_, err := q.EnqueueID(bundle.ctx, id, request())
				require.NoError(t, err)
			}
			for i, id := range ids {
				require.Equal(t, jobs.StateCompleted, waitFinal(t, q, id).State)
				select {
				case f := <-waits[i]:
					require.Equal(t, jobs.StateCompleted, f.State)
					require.Equal(t, []byte("ok"), f.Body)
				case <-time.After(5 * time.Second):
					t.Fatalf("job %d completed but its waiter never heard", i)
				}
				require.Equal(t, 1, bundle.runner.ran(id), "the automation ran again")
			}
			require.Equal(t, 1, bundle.faults.hitsOf(rule))
		})
	})

	t.Run("WriteFailsPastTheRetriesRunsAgain", func(t *testing.T) {
		t.Parallel()
		// The documented bound: without retries left, River runs the job
		// again (and the automation with it).
		forEachDB(t, func(t *testing.T, kind testDB) {
			q, bundle := setup(t, kind, nil, func(c *jobs.Config) { c.OutcomeRetries = -1 })
			bundle.faults.add(&faultRule{match: finishMatch, err: errConnReset, times: 1})

			res, err := q.Enqueue(bundle.ctx, request())
			require.NoError(t, err)
			j := waitFinal(t, q, res.JobID)
			require.Equal(t, jobs.StateCompleted, j.State)
			require.Equal(t, 2, bundle.runner.ran(res.JobID))
			require.Equal(t, 2, j.Attempt)
		})
	})
}

func TestQueue_AnyBytes(t *testing.T) {
	t.Parallel()

	// A gzip body, a NUL, invalid UTF-8 and text that looks like escapes,
	// in a JSON document as the host would not write it (the queue must
	// not care).
	odd := "\x1f\x8b\x08\x00 a\x00b caf\xe9 \xc3\x28 \\u0000 \\x00"
	inputs := json.RawMessage(`{"request_body":"` + odd + `","request_query":{"n":"\u0000"}}`)
	redacted := json.RawMessage(`{"request_body":"` + odd + `","secret":"***"}`)

	forEachDB(t, func(t *testing.T, kind testDB) {
		var (
			mu       sync.Mutex
			notices  [][]byte
			received json.RawMessage
		)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			notices = append(notices, b)
			mu.Unlock()
		}))
		t.Cleanup(hook.Close)

		q, bundle := setup(t, kind, func(_ context.Context, a *jobs.Attempt) (*jobs.Outcome, error) {
			mu.Lock()
			received = a.Inputs
			mu.Unlock()
			if a.Automation == "fails" {
				return &jobs.Outcome{Revision: 1, Failed: true, Error: "boom " + odd, Status: 500}, nil
			}
			return &jobs.Outcome{Revision: 1, Status: 200, Headers: [][2]string{{"X-Odd", "a\tb"}},
				Body: []byte(odd), Output: json.RawMessage(`{"body":"` + odd + `"}`),
				Log: []jobs.LogEntry{{Level: 7, Message: "ünïcödé"}}}, nil
		}, nil)

		// Completed, with an odd idempotency key.
		req := request()
		req.Inputs, req.RedactedInputs, req.IdempotencyKey = inputs, redacted, "key "+odd
		res, err := q.Enqueue(bundle.ctx, req)
		require.NoError(t, err)
		j := waitFinal(t, q, res.JobID)
		require.Equal(t, jobs.StateCompleted, j.State)
		mu.Lock()
		require.Equal(t, []byte(inputs), []byte(received), "the runner gets the inputs byte for byte")
		mu.Unlock()
		require.Equal(t, []byte(redacted), []byte(j.Inputs))
		require.Equal(t, []byte(odd), j.Body)
		require.Equal(t, `{"body":"`+odd+`"}`, string(j.Output))
		require.Equal(t, [][2]string{{"X-Odd", "a\tb"}}, j.Headers)
		require.Equal(t, []jobs.LogEntry{{Level: 7, Message: "ünïcödé"}}, j.Log)
		require.Equal(t, "completed", riverState(t, bundle.db, bundle.dialect, j.RiverID))

		again, err := q.Enqueue(bundle.ctx, req)
		require.NoError(t, err)
		require.Equal(t, jobs.Result{JobID: res.JobID, Duplicate: true}, again)

		// Failed with an odd error, and a completion callback.
		req = request()
		req.Automation, req.Inputs, req.RedactedInputs = "fails", inputs, redacted
		req.Options.CallbackURL = hook.URL
		res, err = q.Enqueue(bundle.ctx, req)
		require.NoError(t, err)
		j = waitFinal(t, q, res.JobID)
		require.Equal(t, jobs.StateFailed, j.State)
		require.Equal(t, "boom "+odd, j.Error)
		require.Equal(t, 1, bundle.runner.ran(res.JobID))
		// River took its copy of the error: the job is finalized, not stuck.
		require.Equal(t, "cancelled", riverState(t, bundle.db, bundle.dialect, j.RiverID))
		var notice []byte
		for range 2000 {
			mu.Lock()
			if len(notices) > 0 {
				notice = notices[0]
			}
			mu.Unlock()
			if notice != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		require.NotNil(t, notice, "the callback was not delivered")
		var n jobs.Notice
		require.NoError(t, json.Unmarshal(notice, &n))
		require.Equal(t, res.JobID, n.Data.JobID)
		require.Equal(t, jobs.StateFailed, n.Data.State)
		require.Contains(t, n.Data.Error, "boom \x1f\ufffd\b\x00 a\x00b")
		require.NoError(t, q.Healthy())
	})
}

func TestQueue_EnqueueRefusesInvalidNames(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, bundle := setup(t, kind, nil, func(c *jobs.Config) { c.Workers = 0 })

		tests := []struct {
			name string
			edit func(r *jobs.Request)
		}{
			{"WebhookNUL", func(r *jobs.Request) { r.WebhookID = "w\x00" }},
			{"HandlerNUL", func(r *jobs.Request) { r.Handler = "automation/\x00" }},
			{"AutomationInvalidUTF8", func(r *jobs.Request) { r.Automation = "caf\xe9" }},
			{"CallbackNUL", func(r *jobs.Request) { r.Options.CallbackURL = "http://x/\x00" }},
		}
		for _, tt := range tests {
			req := request()
			tt.edit(req)
			_, err := q.Enqueue(bundle.ctx, req)
			require.ErrorIs(t, err, store.ErrInvalid, tt.name)
		}
		list, _, err := q.List(bundle.ctx, jobs.Filter{})
		require.NoError(t, err)
		require.Empty(t, list)
		require.NoError(t, q.Healthy())
	})
}

func TestQueue_Healthy(t *testing.T) {
	t.Parallel()

	t.Run("ReportsFailingWritesAndRecovers", func(t *testing.T) {
		t.Parallel()
		forEachDB(t, func(t *testing.T, kind testDB) {
			q, bundle := setupStopped(t, kind, nil, nil)
			require.NoError(t, q.Healthy())
			// Marking jobs running fails until the disk has room again,
			// from the first fetch on (a fetch checked before the rule
			// could take the job and record its start).
			bundle.faults.add(&faultRule{match: "hookhost_jobs SET state = 'running'", err: fmt.Errorf("mark job running: %w", diskFullError{}), times: -1})
			require.NoError(t, q.Start(bundle.ctx))

			req := request()
			req.Options.MaxAttempts = 100
			res, err := q.Enqueue(bundle.ctx, req)
			require.NoError(t, err)
			var failing *store.WritesFailingError
			for range 2000 {
				if q.Healthy() != nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			require.ErrorAs(t, q.Healthy(), &failing)
			require.ErrorIs(t, failing, store.ErrStorageFull)
			require.Zero(t, bundle.runner.ran(res.JobID))

			bundle.faults.clear()
			j := waitFinal(t, q, res.JobID)
			require.Equal(t, jobs.StateCompleted, j.State)
			require.Equal(t, 1, bundle.runner.ran(res.JobID))
			require.NoError(t, q.Healthy())
		})
	})

	t.Run("SQLiteFull", func(t *testing.T) {
		t.Parallel()
		// A genuine SQLITE_FULL: the database at its size limit.
		q, bundle := setup(t, testDBs()[0], nil, func(c *jobs.Config) { c.Workers = 0 })
		var pages int64
		require.NoError(t, bundle.db.QueryRow(`PRAGMA page_count`).Scan(&pages))
		_, err := bundle.db.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+4))
		require.NoError(t, err)

		big := request()
		// More than the 4 pages (16 KiB each) left, stored raw
		// (hookhost_job_inputs).
		big.Inputs = json.RawMessage(`{"b":"` + string(make([]byte, 128<<10)) + `"}`)
		_, err = q.Enqueue(bundle.ctx, big)
		require.ErrorIs(t, err, store.ErrStorageFull)
		require.ErrorIs(t, q.Healthy(), store.ErrStorageFull)

		_, err = bundle.db.Exec(`PRAGMA max_page_count = 1073741823`)
		require.NoError(t, err)
		_, err = q.Enqueue(bundle.ctx, big)
		require.NoError(t, err)
		require.NoError(t, q.Healthy())
	})

	t.Run("ProbeClearsWithoutJobs", func(t *testing.T) {
		t.Parallel()
		// A queue whose writes failed and that has no job to write learns
		// that they work again from its probe alone (Config.ProbeWrite):
		// without one it stayed failing, and /readyz kept away the
		// traffic that would queue a job (review revmulti).
		var probes atomic.Int64
		var db *sql.DB
		q, bundle := setup(t, testDBs()[0], nil, func(c *jobs.Config) {
			c.Workers = 0
			c.ProbeInterval = 10 * time.Millisecond
			c.ProbeWrite = func(ctx context.Context) error {
				probes.Add(1)
				_, err := db.ExecContext(ctx, `INSERT INTO probe_test (b) VALUES (randomblob(100000))`)
				return err
			}
		})
		db = bundle.db
		_, err := bundle.db.Exec(`CREATE TABLE probe_test (b BLOB)`)
		require.NoError(t, err)
		var pages int64
		require.NoError(t, bundle.db.QueryRow(`PRAGMA page_count`).Scan(&pages))
		_, err = bundle.db.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+4))
		require.NoError(t, err)

		big := request()
		big.Inputs = json.RawMessage(`{"b":"` + string(make([]byte, 128<<10)) + `"}`)
		_, err = q.Enqueue(bundle.ctx, big)
		require.ErrorIs(t, err, store.ErrStorageFull)
		// Probes that fail keep the failure.
		n := probes.Load()
		for i := 0; i < 2000 && probes.Load() < n+3; i++ {
			time.Sleep(5 * time.Millisecond)
		}
		require.GreaterOrEqual(t, probes.Load(), n+3, "the queue does not probe while its writes fail")
		require.ErrorIs(t, q.Healthy(), store.ErrStorageFull)

		_, err = bundle.db.Exec(`PRAGMA max_page_count = 1073741823`)
		require.NoError(t, err)
		for range 2000 {
			if q.Healthy() == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		require.NoError(t, q.Healthy(), "a probe that succeeds clears the failure")
	})
}

func TestQueue_PruneRecords(t *testing.T) {
	t.Parallel()

	// finishAll runs n jobs one after the other, so that they finish in
	// order, and returns them.
	finishAll := func(t *testing.T, q *jobs.Queue, n int) []*jobs.Job {
		t.Helper()
		out := make([]*jobs.Job, n)
		for i := range out {
			req := request()
			req.RedactedInputs = json.RawMessage(fmt.Sprintf(`{"i":%d,"pad":"%0500d"}`, i, 0))
			res, err := q.Enqueue(context.Background(), req)
			require.NoError(t, err)
			out[i] = waitFinal(t, q, res.JobID)
		}
		return out
	}
	// sizes reads the records' sizes, by job ID.
	sizes := func(t *testing.T, db *sql.DB) map[string]int64 {
		t.Helper()
		rows, err := db.Query(`SELECT id, size FROM hookhost_jobs`)
		require.NoError(t, err)
		defer rows.Close()
		m := map[string]int64{}
		for rows.Next() {
			var (
				id   string
				size int64
			)
			require.NoError(t, rows.Scan(&id, &size))
			m[id] = size
		}
		require.NoError(t, rows.Err())
		return m
	}
	// exists reports whether the job's record is still there.
	exists := func(t *testing.T, q *jobs.Queue, id string) bool {
		t.Helper()
		_, err := q.Get(context.Background(), id)
		if err == nil {
			return true
		}
		require.ErrorIs(t, err, jobs.ErrNotFound)
		return false
	}

	t.Run("ByAge", func(t *testing.T) {
		t.Parallel()
		forEachDB(t, func(t *testing.T, kind testDB) {
			q, bundle := setup(t, kind, nil, func(c *jobs.Config) { c.PruneBatch = 2 })
			done := finishAll(t, q, 5)

			// Not before RecordRetention (a week by default).
			res, err := q.PruneRecords(bundle.ctx, time.Now().Add(6*24*time.Hour))
			require.NoError(t, err)
			require.Zero(t, res.ByAge+res.BySize+res.Keys)

			res, err = q.PruneRecords(bundle.ctx, time.Now().Add(8*24*time.Hour))
			require.NoError(t, err)
			require.Equal(t, jobs.PruneResult{ByAge: 5}, res)
			for _, j := range done {
				require.False(t, exists(t, q, j.ID))
			}
		})
	})

	t.Run("RiverRowsGoWithTheirRecords", func(t *testing.T) {
		t.Parallel()
		forEachDB(t, func(t *testing.T, kind testDB) {
			q, bundle := setup(t, kind, nil, nil)
			done := finishAll(t, q, 3)
			for _, j := range done {
				require.Equal(t, "completed", riverState(t, bundle.db, bundle.dialect, j.RiverID))
			}
			// A River row not finalized (a retry River still owns) stays.
			kept := done[2].RiverID
			bundle.execSQL(t, `UPDATE river_job SET state = 'retryable', finalized_at = NULL WHERE id = ?`, kept)
			riverRows := func() []int64 { return jobs.QueryIDs(t, bundle.db, `SELECT id FROM river_job ORDER BY id`) }
			require.Len(t, riverRows(), 3)

			res, err := q.PruneRecords(bundle.ctx, time.Now().Add(8*24*time.Hour))
			require.NoError(t, err)
			require.Equal(t, int64(3), res.ByAge)
			require.Equal(t, []int64{kept}, riverRows())
		})
	})

	t.Run("BySizeOldestFinishedFirst", func(t *testing.T) {
		t.Parallel()
		forEachDB(t, func(t *testing.T, kind testDB) {
			release := make(chan struct{})
			q, bundle := setup(t, kind, func(ctx context.Context, a *jobs.Attempt) (*jobs.Outcome, error) {
				if a.Automation == "blocked" {
					select {
					case <-release:
					case <-ctx.Done():
					}
				}
				return &jobs.Outcome{Revision: 1, Status: 200, Body: []byte("ok"), Output: json.RawMessage(`{"body":"ok"}`)}, nil
			}, nil)
			t.Cleanup(func() { close(release) }) // before the queue closes
			done := finishAll(t, q, 6)
			sz := sizes(t, bundle.db)

			// The size of a record: inputs, headers, body, output, log,
			// error, and 256.
			j := done[0]
			require.Equal(t, int64(len(j.Inputs)+len(j.Body)+len(j.Output)+256), sz[j.ID])

			// A job that has not ended is never pruned.
			req := request()
			req.Automation = "blocked"
			running, err := q.Enqueue(bundle.ctx, req)
			require.NoError(t, err)

			keep := sz[done[4].ID] + sz[done[5].ID]
			settings := jobs.DefaultSettings()
			settings.Workers, settings.RecordRetention, settings.RecordMaxBytes = 0, 0, int(keep)
			pruner, err := jobs.New(bundle.ctx, jobs.Config{DB: bundle.db, Dialect: bundle.dialect, DatabaseURL: bundle.dsn,
				Runner: bundle.runner, Settings: settings, PruneInterval: -1, PruneBatch: 3,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			require.NoError(t, err)
			defer pruner.Close()
			res, err := pruner.PruneRecords(bundle.ctx, time.Now().Add(365*24*time.Hour))
			require.NoError(t, err)
			require.Equal(t, jobs.PruneResult{BySize: 4, Bytes: keep}, res)
			for i, j := range done {
				require.Equal(t, i >= 4, exists(t, q, j.ID), "job %d", i)
			}
			require.True(t, exists(t, q, running.JobID))
		})
	})

	t.Run("IdempotencyKeysAfterTheirWindow", func(t *testing.T) {
		t.Parallel()
		forEachDB(t, func(t *testing.T, kind testDB) {
			q, bundle := setup(t, kind, nil, func(c *jobs.Config) { c.Workers = 0 })
			req := request()
			req.IdempotencyKey = "delivery-1"
			first, err := q.Enqueue(bundle.ctx, req)
			require.NoError(t, err)

			res, err := q.PruneRecords(bundle.ctx, time.Now().Add(23*time.Hour))
			require.NoError(t, err)
			require.Zero(t, res.Keys)
			again, err := q.Enqueue(bundle.ctx, req)
			require.NoError(t, err)
			require.Equal(t, jobs.Result{JobID: first.JobID, Duplicate: true}, again)

			res, err = q.PruneRecords(bundle.ctx, time.Now().Add(jobs.IdempotencyWindow+time.Hour))
			require.NoError(t, err)
			require.Equal(t, int64(1), res.Keys)
			require.True(t, exists(t, q, first.JobID), "queued jobs stay")
		})
	})
}

func TestQueue_Counts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, bundle := setup(t, kind, nil, func(c *jobs.Config) { c.Workers = 0 })
		counts, age, err := q.Counts(bundle.ctx)
		require.NoError(t, err)
		require.Empty(t, counts)
		require.Zero(t, age)

		_, err = q.Enqueue(bundle.ctx, request())
		require.NoError(t, err)
		counts, age, err = q.Counts(bundle.ctx)
		require.NoError(t, err)
		require.Equal(t, map[jobs.State]int{"queued": 1}, counts)
		require.Positive(t, age, "the oldest queued job has an age")
	})
}

// TestQueue_FetchRecordsStart checks that, on either database, River's
// fetch marks the run jobs it takes running (started.go): the worker's own
// start write (markRunning) fails here, yet the job runs once, completes,
// and its record shows when it started. A job with a concurrency limit
// is still marked running by its worker, after taking a slot.
func TestQueue_FetchRecordsStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		concurrency int
		wantHits    int // the worker's markRunning was tried (and failed)
		wantAttempt int
	}{
		{"NoLimit", 0, 0, 1},
		// The failed start makes River retry the job.
		{"ConcurrencyLimit", 1, 1, 2},
	}
	forEachDB(t, func(t *testing.T, kind testDB) {
		for _, tt := range tests {
			q, bundle := setup(t, kind, nil, nil)
			// markRunningSQL's text on each database: fails once.
			rules := []*faultRule{
				bundle.faults.add(&faultRule{match: "SET state = 'running', attempt = ?", err: errConnReset, times: 1}),
				bundle.faults.add(&faultRule{match: "SET state = 'running', attempt = $1", err: errConnReset, times: 1}),
			}
			req := request()
			req.Options.Concurrency = tt.concurrency
			req.Options.MaxAttempts = 5
			res, err := q.Enqueue(bundle.ctx, req)
			require.NoError(t, err)
			j := waitFinal(t, q, res.JobID)
			require.Equal(t, jobs.StateCompleted, j.State, tt.name)
			require.NotNil(t, j.StartedAt, tt.name)
			require.Equal(t, tt.wantAttempt, j.Attempt, tt.name)
			require.Equal(t, 1, bundle.runner.ran(res.JobID), tt.name)
			hits := bundle.faults.hitsOf(rules[0]) + bundle.faults.hitsOf(rules[1])
			require.Equal(t, tt.wantHits, hits, "%s: markRunning failed", tt.name)
		}
	})
}

// cancelAskedOfDeadProcess writes the state a process leaves when it dies
// while running the job riverID (attempt 1, its heartbeat an hour old) of
// record id after the job's cancellation was asked for (River's JobCancel
// of a running job notes cancel_attempted_at in the metadata) and before
// its worker wrote the stop.
func cancelAskedOfDeadProcess(t *testing.T, b *testBundle, id string, riverID int64) {
	t.Helper()
	if b.dialect == jobs.DialectPostgres {
		b.execSQL(t, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() - interval '1 hour',
			metadata = '{"cancel_attempted_at":"2025-01-01T00:00:00Z"}'::jsonb WHERE id = ?`, riverID)
	} else {
		b.execSQL(t, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', '-1 hour', 'subsec'),
			metadata = jsonb('{"cancel_attempted_at":"2025-01-01T00:00:00Z"}') WHERE id = ?`, riverID)
	}
	b.execSQL(t, `UPDATE hookhost_jobs SET state = 'running', attempt = 1 WHERE id = ?`, id)
}

// TestQueue_CancelledJobOfDeadProcessDoesNotRunAgain: a job whose
// cancellation was asked for while it ran, and whose process died before
// its worker wrote the stop, is not queued again, neither by the start of
// the next process (requeueOnStart, SQLite) nor by another server's
// heartbeat (rescueSQL, PostgreSQL): River's rescuer cancels it, as River
// does, and it never runs again.
func TestQueue_CancelledJobOfDeadProcessDoesNotRunAgain(t *testing.T) {
	t.Parallel()

	t.Run("NextStart", func(t *testing.T) {
		t.Parallel()
		forEachDB(t, func(t *testing.T, kind testDB) {
			q, b := setupStopped(t, kind, nil, nil)
			res, j := enqueueGet(t, q, b, request())
			cancelAskedOfDeadProcess(t, b, res.JobID, j.RiverID)
			require.NoError(t, q.Start(b.ctx))
			require.Equal(t, "cancelled", riverState(t, b.db, b.dialect, j.RiverID))
			require.Zero(t, b.runner.ran(res.JobID), "the cancelled job ran again")
		})
	})

	t.Run("HeartbeatRescue", func(t *testing.T) {
		t.Parallel()
		// River's rescuer runs on the leader when it starts, then every 30
		// s; every server's heartbeat (every RescueAfter/4) runs rescueSQL.
		q0, b := setupStopped(t, testDBs()[1], nil, nil)
		res, err := q0.Enqueue(b.ctx, request())
		require.NoError(t, err)
		j, err := q0.Get(b.ctx, res.JobID)
		require.NoError(t, err)
		// Out of the way of River's rescuer's first pass.
		b.execSQL(t, `UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour' WHERE id = ?`, j.RiverID)
		// A job of a dead process without attempts left, which only River's
		// rescuer takes (it discards it): the sign of its first pass.
		req := request()
		req.Options.MaxAttempts = 1
		first, err := q0.Enqueue(b.ctx, req)
		require.NoError(t, err)
		sign, err := q0.Get(b.ctx, first.JobID)
		require.NoError(t, err)
		b.execSQL(t, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() - interval '1 hour' WHERE id = ?`, sign.RiverID)
		cfg := b.config()
		cfg.RescueAfter = time.Second
		q, err := jobs.New(b.ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, q.Close()) })
		require.NoError(t, q.Start(b.ctx))
		require.Equal(t, "discarded", riverState(t, b.db, b.dialect, sign.RiverID), "River's rescuer's first pass")
		cancelAskedOfDeadProcess(t, b, res.JobID, j.RiverID)
		time.Sleep(2 * time.Second) // eight heartbeats
		var state string
		require.NoError(t, b.queryRow(t, `SELECT state FROM river_job WHERE id = ?`, []any{j.RiverID}, &state))
		require.Equal(t, "running", state, "left to River's rescuer")
		require.Zero(t, b.runner.ran(res.JobID), "the cancelled job ran again")
	})
}

// TestQueue_RepairRecords: River ends jobs by itself (it discards one
// whose last attempt ended without an outcome, its rescuer cancels one
// cancelled while it ran, Cancel of a queued job cancels River's row
// first), and its cleaner deletes their rows after the retention; the
// repair pass then ends their records, which stayed queued or running for
// good (no finished_at: never pruned; no callback, no waiter told), as a
// worker would, once River's row has been ended (or gone) for a minute.
func TestQueue_RepairRecords(t *testing.T) {
	t.Parallel()
	// oldHeartbeat is an attempted_at an hour old.
	oldHeartbeat := func(b *testBundle) string {
		if b.dialect == jobs.DialectPostgres {
			return `now() - interval '1 hour'`
		}
		return `datetime('now', '-1 hour', 'subsec')`
	}
	// lastAttempt is a request of one attempt with a completion callback.
	lastAttempt := func() *jobs.Request {
		req := request()
		req.Options.MaxAttempts = 1
		req.Options.CallbackURL = "http://127.0.0.1:9/callback"
		return req
	}
	tests := []struct {
		name      string
		configure func(*jobs.Config)
		// prepare starts q (or not) and leaves a job that River ended
		// without its record, and returns its id.
		prepare func(t *testing.T, q *jobs.Queue, b *testBundle) string
		state   jobs.State
		err     string
	}{
		{
			name:      "LastAttemptsOutcomeNotWritten",
			configure: func(c *jobs.Config) { c.OutcomeRetries = -1 },
			prepare: func(t *testing.T, q *jobs.Queue, b *testBundle) string {
				b.faults.add(&faultRule{match: finishMatch, err: errConnReset, times: 1})
				require.NoError(t, q.Start(b.ctx))
				res, j := enqueueGet(t, q, b, lastAttempt())
				require.Equal(t, "discarded", riverState(t, b.db, b.dialect, j.RiverID))
				return res.JobID
			},
			state: jobs.StateFailed,
			err:   "its last attempt ended without its outcome recorded",
		},
		{
			name: "ProcessDiedInLastAttempt",
			prepare: func(t *testing.T, q *jobs.Queue, b *testBundle) string {
				res, j := enqueueGet(t, q, b, lastAttempt())
				b.execSQL(t, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = `+oldHeartbeat(b)+` WHERE id = ?`, j.RiverID)
				b.execSQL(t, `UPDATE hookhost_jobs SET state = 'running', attempt = 1 WHERE id = ?`, res.JobID)
				require.NoError(t, q.Start(b.ctx))
				require.Equal(t, "discarded", riverState(t, b.db, b.dialect, j.RiverID), "River's rescuer")
				return res.JobID
			},
			state: jobs.StateFailed,
			err:   "its last attempt ended without its outcome recorded",
		},
		{
			name: "CancelledWhileRunningProcessDied",
			prepare: func(t *testing.T, q *jobs.Queue, b *testBundle) string {
				req := lastAttempt()
				req.Options.MaxAttempts = 3
				res, j := enqueueGet(t, q, b, req)
				cancelAskedOfDeadProcess(t, b, res.JobID, j.RiverID)
				require.NoError(t, q.Start(b.ctx))
				require.Equal(t, "cancelled", riverState(t, b.db, b.dialect, j.RiverID), "River's rescuer")
				return res.JobID
			},
			state: jobs.StateStopped,
			err:   "cancelled",
		},
		{
			name:      "CancelsWriteFailed",
			configure: func(c *jobs.Config) { c.Workers = 0 },
			prepare: func(t *testing.T, q *jobs.Queue, b *testBundle) string {
				require.NoError(t, q.Start(b.ctx))
				res, err := q.Enqueue(b.ctx, lastAttempt())
				require.NoError(t, err)
				// finishStateSQL: the record's stop fails once River's row is
				// cancelled.
				b.faults.add(&faultRule{match: "size = size - ", err: errConnReset, times: 1})
				_, err = q.Cancel(b.ctx, res.JobID, 0)
				require.Error(t, err)
				j, err := q.Get(b.ctx, res.JobID)
				require.NoError(t, err)
				require.Equal(t, "cancelled", riverState(t, b.db, b.dialect, j.RiverID))
				return res.JobID
			},
			state: jobs.StateStopped,
			err:   "cancelled",
		},
		{
			name: "RiverRowGone",
			// One record a page: the pass reads on from where a page ended.
			configure: func(c *jobs.Config) { c.Workers, c.PruneBatch = 0, 1 },
			prepare: func(t *testing.T, q *jobs.Queue, b *testBundle) string {
				require.NoError(t, q.Start(b.ctx))
				res, j := enqueueGet(t, q, b, lastAttempt())
				b.execSQL(t, `DELETE FROM river_job WHERE id = ?`, j.RiverID)
				return res.JobID
			},
			state: jobs.StateFailed,
			err:   "it left the queue without its outcome recorded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, kind testDB) {
				q, b := setupStopped(t, kind, nil, tt.configure)
				id := tt.prepare(t, q, b)
				// A job River has not ended, after the one it did.
				after, err := q.Enqueue(b.ctx, request())
				require.NoError(t, err)
				stored := func(id string) (state string, finished bool) {
					var at sql.NullInt64
					require.NoError(t, b.queryRow(t, `SELECT state, finished_at FROM hookhost_jobs WHERE id = ?`, []any{id}, &state, &at))
					return state, at.Valid
				}
				callbacks := func() (n int) {
					require.NoError(t, b.queryRow(t, `SELECT count(*) FROM river_job WHERE kind = 'hookhost.callback'`, nil, &n))
					return n
				}
				state, finished := stored(id)
				require.False(t, finished, "the record has not ended (%s)", state)
				require.Zero(t, callbacks())
				done, stop := q.Wait(id)
				defer stop()

				// Right after River's end (or the record's creation, its
				// row gone), the record is left alone: a worker of the job
				// may still run (TestQueue_RepairWaitsOutTheTimeLimit).
				n, err := q.RepairRecords(b.ctx, time.Now())
				require.NoError(t, err)
				require.Zero(t, n)
				n, err = q.RepairRecords(b.ctx, later())
				require.NoError(t, err)
				require.Equal(t, int64(1), n)

				j, err := q.Get(b.ctx, id)
				require.NoError(t, err)
				require.Equal(t, tt.state, j.State)
				require.Contains(t, j.Error, tt.err)
				require.NotNil(t, j.FinishedAt)
				select {
				case f := <-done:
					require.Equal(t, tt.state, f.State)
				case <-time.After(5 * time.Second):
					t.Fatal("the waiter was not told")
				}
				require.Equal(t, 1, callbacks(), "the completion callback is queued")
				j, err = q.Get(b.ctx, after.JobID)
				require.NoError(t, err)
				require.NotEqual(t, tt.state, j.State, "a job River has not ended")
				n, err = q.RepairRecords(b.ctx, later())
				require.NoError(t, err)
				require.Zero(t, n, "a second pass")
			})
		})
	}
}

// later is a time at which the repair pass ends the records of every job
// River ended (or lost) by now: past MaxTimeout, the retries of an
// outcome's write and a minute.
func later() time.Time { return time.Now().Add(jobs.MaxTimeout + time.Hour) }

// sqlNow is the database's clock as River writes it.
func sqlNow(b *testBundle) string {
	if b.dialect == jobs.DialectPostgres {
		return `now()`
	}
	return `datetime('now', 'subsec')`
}

// TestQueue_RepairLeavesAJobRunningHere: River's rescuer discards a job in
// its last attempt whose heartbeat was not written for RescueAfter (the
// database failed over, say) while its worker still runs the automation.
// The repair pass leaves the record alone while the job runs in this
// process, however late, and the worker's outcome is recorded.
func TestQueue_RepairLeavesAJobRunningHere(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		started, release := make(chan struct{}), make(chan struct{})
		q, b := setup(t, kind, func(ctx context.Context, a *jobs.Attempt) (*jobs.Outcome, error) {
			close(started)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return &jobs.Outcome{Revision: 1, Status: 200, Body: []byte("ok")}, nil
		}, nil)
		req := request()
		req.Options.MaxAttempts = 1
		res, err := q.Enqueue(b.ctx, req)
		require.NoError(t, err)
		<-started
		defer close(release)
		j, err := q.Get(b.ctx, res.JobID)
		require.NoError(t, err)
		require.Equal(t, jobs.StateRunning, j.State)
		// What River's rescuer does to a running job without attempts left
		// whose attempted_at is older than RescueAfter.
		b.execSQL(t, `UPDATE river_job SET state = 'discarded', finalized_at = `+sqlNow(b)+` WHERE id = ?`, j.RiverID)
		n, err := q.RepairRecords(b.ctx, later())
		require.NoError(t, err)
		require.Zero(t, n, "the job runs here")

		release <- struct{}{}
		for range 2000 {
			if storedState(t, b, res.JobID) != "running" {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		require.Equal(t, "completed", storedState(t, b, res.JobID), "the automation completed")
	})
}

// storedState is the state the job's record holds (Get shows the state of
// River's row of a record that has not ended).
func storedState(t *testing.T, b *testBundle, id string) (state string) {
	t.Helper()
	require.NoError(t, b.queryRow(t, `SELECT state FROM hookhost_jobs WHERE id = ?`, []any{id}, &state))
	return state
}

// TestQueue_RepairWaitsOutTheTimeLimit: a job River discarded may still
// run in a process the repair pass cannot see (a server cut off from the
// database for RescueAfter, whose jobs River's rescuer discarded), and so
// may one whose River row is gone. Its record is ended only once no worker
// of it can still run: the job's time limit, the retries of its outcome's
// write and a minute after River's end, or, its row gone, MaxTimeout and
// the rest after its creation or last start.
func TestQueue_RepairWaitsOutTheTimeLimit(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, b := setup(t, kind, nil, func(c *jobs.Config) { c.Workers = 0 })
		// start leaves a job in its only attempt, as another server's
		// worker started it now, and returns its id and River id.
		start := func(timeout time.Duration) (string, int64) {
			req := request()
			req.Options.MaxAttempts, req.Options.Timeout = 1, timeout
			res, j := enqueueGet(t, q, b, req)
			b.execSQL(t, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = `+sqlNow(b)+` WHERE id = ?`, j.RiverID)
			b.execSQL(t, `UPDATE hookhost_jobs SET state = 'running', attempt = 1, started_at = ? WHERE id = ?`,
				time.Now().UnixMicro(), res.JobID)
			return res.JobID, j.RiverID
		}
		hour, hourRiver := start(time.Hour)
		b.execSQL(t, `UPDATE river_job SET state = 'discarded', finalized_at = `+sqlNow(b)+` WHERE id = ?`, hourRiver)
		gone, goneRiver := start(0) // the default time limit
		b.execSQL(t, `DELETE FROM river_job WHERE id = ?`, goneRiver)

		now := time.Now()
		for _, step := range []struct {
			after      time.Duration
			hour, gone string // their stored states after the pass
			ended      int64
		}{
			{after: 2 * time.Minute, hour: "running", gone: "running"},
			// The hour's outcome may still be being written.
			{after: time.Hour + time.Minute, hour: "running", gone: "running"},
			{after: 2 * time.Hour, hour: "failed", gone: "running", ended: 1},
			{after: jobs.MaxTimeout + time.Minute, hour: "failed", gone: "running"},
			{after: jobs.MaxTimeout + time.Hour, hour: "failed", gone: "failed", ended: 1},
		} {
			n, err := q.RepairRecords(b.ctx, now.Add(step.after))
			require.NoError(t, err)
			require.Equal(t, step.ended, n, "%s later", step.after)
			require.Equal(t, step.hour, storedState(t, b, hour), "%s later", step.after)
			require.Equal(t, step.gone, storedState(t, b, gone), "%s later", step.after)
		}
	})
}

// TestQueue_RepairRecordsReadsABacklogInParts: a repair pass reads at most
// 16 pages of PruneBatch records of each state, and the next pass reads on
// from there, so a record past a backlog of queued jobs is repaired by a
// later pass; the pass after the last page starts over.
func TestQueue_RepairRecordsReadsABacklogInParts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, b := setup(t, kind, nil, func(c *jobs.Config) { c.Workers, c.PruneBatch = 0, 1 })
		var gone string
		for i := range 20 {
			res, err := q.Enqueue(b.ctx, request())
			require.NoError(t, err)
			if i == 17 {
				gone = res.JobID
				j, err := q.Get(b.ctx, gone)
				require.NoError(t, err)
				b.execSQL(t, `DELETE FROM river_job WHERE id = ?`, j.RiverID)
			}
		}
		for i, want := range []int64{0, 1, 0} {
			n, err := q.RepairRecords(b.ctx, later())
			require.NoError(t, err)
			require.Equal(t, want, n, "pass %d", i+1)
		}
		j, err := q.Get(b.ctx, gone)
		require.NoError(t, err)
		require.Equal(t, jobs.StateFailed, j.State)
	})
}

// enqueueGet queues req and reads its job back, failing the test on an
// error of either.
func enqueueGet(t *testing.T, q *jobs.Queue, b *testBundle, req *jobs.Request) (jobs.Result, *jobs.Job) {
	t.Helper()
	res, err := q.Enqueue(b.ctx, req)
	require.NoError(t, err)
	j, err := q.Get(b.ctx, res.JobID)
	require.NoError(t, err)
	return res, j
}
