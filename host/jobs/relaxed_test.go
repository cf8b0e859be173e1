package jobs_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	msqlite "modernc.org/sqlite"

	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/store/sqlite"
)

// TestQueue_SQLiteSyncModes checks which commits of a job's life wait for
// the disk on SQLite: the hand-off's insert (the 202) commits with
// synchronous=FULL; River's fetch, the attempt's start and end, and
// River's completion with NORMAL; and the connection is FULL again after.
func TestQueue_SQLiteSyncModes(t *testing.T) {
	q, b := setup(t, testDBs()[0], nil, nil)
	var commits []commitRecord
	b.faults.mu.Lock()
	b.faults.commits = &commits
	b.faults.mu.Unlock()

	const n = 5
	ids := make([]string, n)
	for i := range ids {
		res, err := q.Enqueue(b.ctx, request())
		require.NoError(t, err)
		ids[i] = res.JobID
	}
	for _, id := range ids {
		j := waitFinal(t, q, id)
		require.Equal(t, jobs.StateCompleted, j.State)
		assert.Equal(t, "completed", riverState(t, b.db, b.dialect, j.RiverID))
	}
	b.faults.mu.Lock()
	got := append([]commitRecord(nil), commits...)
	b.faults.commits = nil
	b.faults.mu.Unlock()

	// Each kind of write is told by a piece of its statement's text.
	tests := []struct {
		name, match, sync string
	}{
		{"hand-off", "INSERT INTO hookhost_jobs", "FULL"},
		{"River's fetch", "-- name: JobGetAvailable", "NORMAL"},
		{"attempt start", "hookhost_jobs SET state = 'running'", "NORMAL"},
		{"attempt end", finishMatch, "NORMAL"},
		{"River's completion", "state = 'completed' FROM (VALUES", "NORMAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := 0
			for _, c := range got {
				for _, s := range c.stmts {
					if strings.Contains(s, tt.match) {
						seen++
						assert.Equal(t, tt.sync, c.sync, "commit of %q", s)
						break
					}
				}
			}
			assert.Positive(t, seen, "no commit ran %q", tt.match)
		})
	}
	var mode int
	require.NoError(t, b.db.QueryRow(`PRAGMA synchronous`).Scan(&mode))
	assert.Equal(t, 2, mode, "the connection is FULL again")
}

// TestQueue_SQLiteLostAttemptWrites simulates what a power loss can leave
// of a job's relaxed commits (the last ones, in order) and checks that the
// next process ends the job: it runs the automation again unless the
// attempt's end was kept.
func TestQueue_SQLiteLostAttemptWrites(t *testing.T) {
	tests := []struct {
		name string
		// lost is the state the crash left, written on a queued job.
		lost string
		// runs is how many times the next process runs the automation.
		runs int
	}{
		{"fetch lost", ``, 1},
		{"start lost", `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec')`, 1},
		{"end lost", `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec');
			UPDATE hookhost_jobs SET state = 'running', attempt = 1`, 1},
		{"completion lost", `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec');
			UPDATE hookhost_jobs SET state = 'completed', attempt = 1, status = 200, finished_at = 1`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "jobs.db")
			open := func() *sql.DB {
				db := faultDB(driverConnector{d: &msqlite.Driver{}, dsn: sqlite.DSN(path)}, &faults{})
				db.SetMaxOpenConns(1)
				return db
			}
			newQueue := func(db *sql.DB, workers int, r jobs.Runner) *jobs.Queue {
				s := jobs.DefaultSettings()
				s.Workers = workers
				q, err := jobs.New(ctx, jobs.Config{DB: db, Dialect: jobs.DialectSQLite, Runner: r, Settings: s, PruneInterval: -1,
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				require.NoError(t, err)
				return q
			}

			db := open()
			q := newQueue(db, 0, instantRunner{})
			require.NoError(t, q.Start(ctx))
			res, err := q.Enqueue(ctx, request())
			require.NoError(t, err)
			require.NoError(t, q.Close())
			for _, stmt := range strings.Split(tt.lost, ";") {
				if strings.TrimSpace(stmt) != "" {
					_, err := db.ExecContext(ctx, stmt)
					require.NoError(t, err)
				}
			}
			require.NoError(t, db.Close())

			db = open()
			r := &countingRunner{runs: map[string]int{}}
			q = newQueue(db, 1, r)
			require.NoError(t, q.Start(ctx))
			t.Cleanup(func() {
				require.NoError(t, q.Close())
				require.NoError(t, db.Close())
			})
			j := waitFinal(t, q, res.JobID)
			assert.Equal(t, jobs.StateCompleted, j.State)
			assert.Equal(t, "completed", riverState(t, db, jobs.DialectSQLite, j.RiverID))
			assert.Equal(t, tt.runs, r.ran(res.JobID))
		})
	}
}

// TestQueue_SQLiteFetchStartsJobs checks that on SQLite River's fetch
// records the start of the run jobs it takes, in its transaction, except
// those with a concurrency limit (whose workers write it once they hold a
// slot). (TestQueue_FetchedFinalRecordDoesNotRun checks, on both
// databases, that an attempt of a job whose record is final does not run.)
func TestQueue_SQLiteFetchStartsJobs(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		// inFetch: the start is written in the fetch's transaction.
		inFetch bool
	}{
		{"plain", 0, true},
		{"concurrency limit", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, b := setup(t, testDBs()[0], nil, nil)
			var commits []commitRecord
			b.faults.mu.Lock()
			b.faults.commits = &commits
			b.faults.mu.Unlock()

			req := request()
			req.Options.Concurrency = tt.concurrency
			res, err := q.Enqueue(b.ctx, req)
			require.NoError(t, err)
			j := waitFinal(t, q, res.JobID)
			require.Equal(t, jobs.StateCompleted, j.State)
			assert.Equal(t, 1, j.Attempt)
			assert.NotNil(t, j.StartedAt)
			assert.Equal(t, 1, b.runner.ran(res.JobID))

			b.faults.mu.Lock()
			defer b.faults.mu.Unlock()
			fetchStarts, workerStarts := 0, 0
			for _, c := range commits {
				fetch, start := false, false
				for _, s := range c.stmts {
					fetch = fetch || strings.Contains(s, "-- name: JobGetAvailable")
					start = start || strings.Contains(s, "hookhost_jobs SET state = 'running'")
				}
				switch {
				case start && fetch:
					fetchStarts++
				case start:
					workerStarts++
				}
			}
			if tt.inFetch {
				assert.Equal(t, [2]int{1, 0}, [2]int{fetchStarts, workerStarts}, "starts in a fetch, in a writer transaction")
			} else {
				assert.Equal(t, [2]int{0, 1}, [2]int{fetchStarts, workerStarts}, "starts in a fetch, in a writer transaction")
			}
		})
	}
}

// TestQueue_SQLiteCancelIsDurable checks that a cancellation's end of the
// record (with its callback and deliveries) commits with
// synchronous=FULL, whether Cancel writes it (a queued job) or the worker
// of the running job: unlike an attempt's end, it is not written again
// (lost to a power loss, the cancelled job would run again).
func TestQueue_SQLiteCancelIsDurable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		running bool
	}{
		{"queued", false},
		{"running", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			started := make(chan struct{})
			run := func(ctx context.Context, a *jobs.Attempt) (*jobs.Outcome, error) {
				close(started)
				<-ctx.Done()
				return nil, ctx.Err()
			}
			q, b := setup(t, testDBs()[0], run, func(c *jobs.Config) {
				if !tt.running {
					c.Workers = 0
				}
			})
			res, err := q.Enqueue(b.ctx, request())
			require.NoError(t, err)
			if tt.running {
				<-started
			}
			var commits []commitRecord
			b.faults.mu.Lock()
			b.faults.commits = &commits
			b.faults.mu.Unlock()

			j, err := q.Cancel(b.ctx, res.JobID, 10*time.Second)
			require.NoError(t, err)
			require.Equal(t, jobs.StateStopped, j.State)

			b.faults.mu.Lock()
			defer b.faults.mu.Unlock()
			seen := 0
			for _, c := range commits {
				for _, s := range c.stmts {
					if strings.Contains(s, "error = ?, finished_at = ?") {
						seen++
						assert.Equal(t, "FULL", c.sync, "commit of %q", s)
					}
				}
			}
			assert.Equal(t, 1, seen)
		})
	}
}
