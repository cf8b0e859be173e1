package jobs_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
)

// riverArgs reads a River job's args.
func (b *testBundle) riverArgs(t *testing.T, riverID int64) map[string]json.RawMessage {
	t.Helper()
	query := `SELECT json(args) FROM river_job WHERE id = ?` // jsonb on SQLite too
	if b.dialect == jobs.DialectPostgres {
		query = `SELECT args FROM river_job WHERE id = $1`
	}
	var raw []byte
	require.NoError(t, b.db.QueryRowContext(b.ctx, query, riverID).Scan(&raw))
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// setRiverArgs replaces a River job's args with args, as written outside
// hookhost: on SQLite as River's jsonb when they are JSON, else as text.
func (b *testBundle) setRiverArgs(t *testing.T, riverID int64, args []byte) {
	t.Helper()
	switch {
	case b.dialect == jobs.DialectSQLite && json.Valid(args):
		b.execSQL(t, `UPDATE river_job SET args = jsonb(?) WHERE id = ?`, string(args), riverID)
	default:
		b.execSQL(t, `UPDATE river_job SET args = ? WHERE id = ?`, string(args), riverID)
	}
}

// withArg is args with key set to the JSON value v.
func withArg(args map[string]json.RawMessage, key, v string) []byte {
	m := make(map[string]json.RawMessage, len(args)+1)
	for k, x := range args {
		m[k] = x
	}
	m[key] = json.RawMessage(v)
	b, _ := json.Marshal(m)
	return b
}

// noticeCollector is a receiver of completion callbacks.
type noticeCollector struct {
	url     string
	mu      sync.Mutex
	notices map[string]jobs.NoticeData // by job id
}

func newNoticeCollector(t *testing.T) *noticeCollector {
	t.Helper()
	c := &noticeCollector{notices: map[string]jobs.NoticeData{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n jobs.Notice
		if json.Unmarshal(body, &n) == nil {
			c.mu.Lock()
			c.notices[n.Data.JobID] = n.Data
			c.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

// wait polls for the callback of job id (a bounded number of times).
func (c *noticeCollector) wait(t *testing.T, id string) jobs.NoticeData {
	t.Helper()
	for range 2000 {
		c.mu.Lock()
		n, ok := c.notices[id]
		c.mu.Unlock()
		if ok {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.FailNow(t, "the callback was not delivered", id)
	return jobs.NoticeData{}
}

// TestQueue_UnreadableArgsFail checks that a run job whose stored River
// args cannot be read (changed after it was queued) ends at once, on
// either database: River fails its attempt without running the worker,
// and the record shows that attempt Failed with an error saying why,
// with its completion callback sent, instead of staying queued or
// running for good.
func TestQueue_UnreadableArgsFail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		sqliteOnly  bool
		concurrency int
		// args, when set, are the job's new River args, from its old
		// ones; metadata, when set, its River metadata.
		args     func(old map[string]json.RawMessage) []byte
		metadata string
		// wantErr begins the record's error; default: the arguments'.
		wantErr string
	}{
		// River's UnmarshalJob fails: the fetch started the job.
		{name: "InputsNotBase64", args: func(old map[string]json.RawMessage) []byte {
			return withArg(old, "inputs", `"!not base64!"`)
		}},
		// The fetch cannot find the record by the args' job_id on
		// PostgreSQL; the River id finds it.
		{name: "JobIDNotAString", args: func(old map[string]json.RawMessage) []byte {
			return withArg(old, "job_id", `12`)
		}},
		// The fetch does not start a job with a concurrency limit.
		{name: "ConcurrencyLimit", concurrency: 2, args: func(old map[string]json.RawMessage) []byte {
			return withArg(old, "timeout_ms", `"soon"`)
		}},
		// River's SQLite driver cannot decode the row (PostgreSQL's jsonb
		// holds only JSON).
		{name: "NotJSON", sqliteOnly: true, args: func(map[string]json.RawMessage) []byte {
			return []byte(`{"job_id": not json`)
		}},
		{name: "MetadataNotJSON", sqliteOnly: true, metadata: "not json", wantErr: "the job's stored row could not be read: "},
	}
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, b := setup(t, kind, nil, func(c *jobs.Config) { c.Workers = 0 })
		notices := newNoticeCollector(t)
		ids := make([]string, len(tests))
		for i, tt := range tests {
			if tt.sqliteOnly && b.dialect != jobs.DialectSQLite {
				continue
			}
			req := request()
			req.Options.Concurrency, req.Options.CallbackURL = tt.concurrency, notices.url
			res, j := enqueueGet(t, q, b, req)
			if tt.args != nil {
				b.setRiverArgs(t, j.RiverID, tt.args(b.riverArgs(t, j.RiverID)))
			}
			if tt.metadata != "" {
				b.execSQL(t, `UPDATE river_job SET metadata = ? WHERE id = ?`, tt.metadata, j.RiverID)
			}
			ids[i] = res.JobID
		}
		startWorkers(t, b)
		for i, tt := range tests {
			if ids[i] == "" {
				continue
			}
			if tt.wantErr == "" {
				tt.wantErr = "the job's stored arguments could not be read: "
			}
			j := waitFinal(t, q, ids[i])
			require.Equal(t, jobs.StateFailed, j.State, tt.name)
			require.True(t, strings.HasPrefix(j.Error, tt.wantErr), "%s: error %q", tt.name, j.Error)
			require.Equal(t, 1, j.Attempt, tt.name)
			require.NotNil(t, j.StartedAt, tt.name)
			require.Zero(t, b.runner.ran(ids[i]), tt.name)
			// Every attempt would read the same args: River stops too.
			require.Equal(t, "cancelled", riverState(t, b.db, b.dialect, j.RiverID), tt.name)
			n := notices.wait(t, ids[i])
			require.Equal(t, jobs.StateFailed, n.State, tt.name)
			require.Equal(t, j.Error, n.Error, tt.name)
			if tt.args != nil {
				// A retry reads the same args: refused as such.
				_, err := q.Retry(b.ctx, ids[i])
				require.ErrorIs(t, err, jobs.ErrArgsUnreadable, tt.name)
			}
		}
		counts, _, err := q.Counts(b.ctx)
		require.NoError(t, err)
		require.Zero(t, counts[jobs.StateRunning], "a record stayed running")
	})
}

// TestQueue_FetchedFinalRecordDoesNotRun checks, on either database, that
// an attempt of a job whose record is final already (cancelled when
// River's row, here made available again, did not hear of it) does not
// run when River fetches it, and leaves the record as it was.
func TestQueue_FetchedFinalRecordDoesNotRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		concurrency int // the fetch records the start of jobs without one
	}{
		{"NoLimit", 0},
		{"ConcurrencyLimit", 1},
	}
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, b := setup(t, kind, nil, func(c *jobs.Config) { c.Workers = 0 })
		before := make([]*jobs.Job, len(tests))
		for i, tt := range tests {
			req := request()
			req.Options.Concurrency = tt.concurrency
			res, err := q.Enqueue(b.ctx, req)
			require.NoError(t, err)
			j, err := q.Cancel(b.ctx, res.JobID, 0)
			require.NoError(t, err)
			require.Equal(t, jobs.StateStopped, j.State, tt.name)
			require.Equal(t, "cancelled", riverState(t, b.db, b.dialect, j.RiverID), tt.name)
			b.execSQL(t, `UPDATE river_job SET state = 'available', finalized_at = NULL WHERE id = ?`, j.RiverID)
			before[i] = j
		}
		startWorkers(t, b)
		for i, tt := range tests {
			// River finalizes the job again once a worker took it.
			require.Equal(t, "completed", riverState(t, b.db, b.dialect, before[i].RiverID), tt.name)
			j, err := q.Get(b.ctx, before[i].ID)
			require.NoError(t, err)
			require.Equal(t, before[i], j, "%s: the record changed", tt.name)
			require.Zero(t, b.runner.ran(j.ID), tt.name)
		}
	})
}

// TestQueue_StartableContract pins what both definitions of the run jobs
// whose start River's fetch records (startable on SQLite, pgFetchStartSQL
// on PostgreSQL) must keep: however a job's args look, it runs once and
// its record ends Completed at its first attempt, whether the fetch or
// the worker recorded the start; and the worker records it for the jobs
// with a concurrency limit only (after taking a slot), on both.
func TestQueue_StartableContract(t *testing.T) {
	t.Parallel()
	const keyInInput = `{"request_body":"{\"concurrency\": 3}","concurrency":1}`
	tests := []struct {
		name        string
		concurrency int
		inputs      string
		// args, when set, rewrite the job's River args after queuing.
		args func(old map[string]json.RawMessage) []byte
	}{
		{name: "NoLimit", inputs: `{"request_body":"x"}`},
		{name: "ConcurrencyLimit", concurrency: 1, inputs: `{"request_body":"x"}`},
		{name: "InputHoldsConcurrencyKey", inputs: keyInInput},
		{name: "InputHoldsConcurrencyKeyWithLimit", concurrency: 2, inputs: keyInInput},
		// Args written before inputs were base64 hold them as JSON: the
		// args then hold the key "concurrency", though not as their own.
		{name: "PlainJSONInputsHoldConcurrencyKey", inputs: keyInInput, args: func(old map[string]json.RawMessage) []byte {
			return withArg(old, "inputs", keyInInput)
		}},
	}
	forEachDB(t, func(t *testing.T, kind testDB) {
		var (
			mu       sync.Mutex
			received = map[string]string{}
		)
		q, b := setup(t, kind, func(_ context.Context, a *jobs.Attempt) (*jobs.Outcome, error) {
			mu.Lock()
			received[a.JobID] = string(a.Inputs)
			mu.Unlock()
			return &jobs.Outcome{Revision: 1, Status: 200, Body: []byte("ok")}, nil
		}, func(c *jobs.Config) { c.Workers = 0 })
		ids := make([]string, len(tests))
		limited := 0
		for i, tt := range tests {
			req := request()
			req.Options.Concurrency = tt.concurrency
			req.Inputs, req.RedactedInputs = json.RawMessage(tt.inputs), json.RawMessage(tt.inputs)
			res, err := q.Enqueue(b.ctx, req)
			require.NoError(t, err)
			if tt.args != nil {
				j, err := q.Get(b.ctx, res.JobID)
				require.NoError(t, err)
				b.setRiverArgs(t, j.RiverID, tt.args(b.riverArgs(t, j.RiverID)))
			}
			ids[i] = res.JobID
			if tt.concurrency > 0 {
				limited++
			}
		}
		// markRunningSQL's text on each database, counted, not failed.
		workerStarts := []*faultRule{
			b.faults.add(&faultRule{match: "SET state = 'running', attempt = ?", times: -1}),
			b.faults.add(&faultRule{match: "SET state = 'running', attempt = $1", times: -1}),
		}
		startWorkers(t, b)
		for i, tt := range tests {
			j := waitFinal(t, q, ids[i])
			require.Equal(t, jobs.StateCompleted, j.State, tt.name)
			require.Equal(t, 1, j.Attempt, tt.name)
			require.NotNil(t, j.StartedAt, tt.name)
			require.Equal(t, 1, b.runner.ran(ids[i]), tt.name)
			require.Equal(t, "completed", riverState(t, b.db, b.dialect, j.RiverID), tt.name)
			mu.Lock()
			require.JSONEq(t, tt.inputs, received[ids[i]], tt.name)
			mu.Unlock()
		}
		require.Equal(t, limited, b.faults.hitsOf(workerStarts[0])+b.faults.hitsOf(workerStarts[1]),
			"starts recorded by workers, not by the fetch")
	})
}

// TestQueue_RetryReadsStoredArgs checks, on either database, that a retry
// of an ended job queues a new one with the stored args (read with the
// queue's own SQL: SQLite keeps them as JSONB), linked to the first.
func TestQueue_RetryReadsStoredArgs(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, kind testDB) {
		q, b := setup(t, kind, nil, nil)
		req := request()
		req.Options.Timeout = 7 * time.Second
		res, err := q.Enqueue(b.ctx, req)
		require.NoError(t, err)
		require.Equal(t, jobs.StateCompleted, waitFinal(t, q, res.JobID).State)
		again, err := q.Retry(b.ctx, res.JobID)
		require.NoError(t, err)
		require.NotEqual(t, res.JobID, again.JobID)
		j := waitFinal(t, q, again.JobID)
		require.Equal(t, jobs.StateCompleted, j.State)
		require.Equal(t, res.JobID, j.RetryOf)
		require.Equal(t, 1, b.runner.ran(again.JobID))
		args := b.riverArgs(t, j.RiverID)
		require.JSONEq(t, `7000`, string(args["timeout_ms"]))
		require.JSONEq(t, `"a"`, string(args["automation"]))
	})
}
