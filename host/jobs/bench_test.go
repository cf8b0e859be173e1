package jobs_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/store/postgres"
	"github.com/hookhost/hookhost/host/store/sqlite"
)

// instantRunner completes every attempt at once.
type instantRunner struct{}

func (instantRunner) RunJob(context.Context, *jobs.Attempt) (*jobs.Outcome, error) {
	return &jobs.Outcome{Revision: 1, Status: 200, Body: []byte("ok"), Output: json.RawMessage(`{"body":"ok"}`)}, nil
}

// benchStore is a store the benchmarks queue on.
type benchStore interface {
	DB() *sql.DB
	Dialect() string
	Close() error
}

// benchQueue opens a queue on a fresh SQLite file (synchronous=FULL).
func benchQueue(b *testing.B, start bool, observe func(jobs.Event)) *jobs.Queue {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	require.NoError(b, err)
	return openBenchQueue(b, st, "", start, observe, benchSettings())
}

// benchQueuePG opens a queue on a fresh schema of the PostgreSQL database
// of HOOKHOST_TEST_POSTGRES, or skips the benchmark without one.
func benchQueuePG(b *testing.B, start bool, observe func(jobs.Event)) *jobs.Queue {
	b.Helper()
	return benchQueuePGSettings(b, start, observe, benchSettings())
}

// benchQueuePGSettings is benchQueuePG with settings s.
func benchQueuePGSettings(b *testing.B, start bool, observe func(jobs.Event), s jobs.Settings) *jobs.Queue {
	b.Helper()
	dsn := os.Getenv("HOOKHOST_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("set HOOKHOST_TEST_POSTGRES to a PostgreSQL DSN to benchmark PostgreSQL")
	}
	ctx := context.Background()
	var r [6]byte
	_, _ = rand.Read(r[:])
	schema := "hh_jobs_bench_" + hex.EncodeToString(r[:])
	st, err := postgres.OpenOptions(ctx, dsn, postgres.Options{Schema: schema})
	require.NoError(b, err)
	b.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			_ = conn.Close(context.Background())
		}
	})
	u, err := url.Parse(dsn)
	require.NoError(b, err)
	v := u.Query()
	v.Set("search_path", schema)
	u.RawQuery = v.Encode()
	return openBenchQueue(b, st, u.String(), start, observe, s)
}

func openBenchQueue(b *testing.B, st benchStore, dsn string, start bool, observe func(jobs.Event), s jobs.Settings) *jobs.Queue {
	b.Helper()
	ctx := context.Background()
	q, err := jobs.New(ctx, jobs.Config{DB: st.DB(), Dialect: st.Dialect(), DatabaseURL: dsn, Runner: instantRunner{}, Settings: s,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Observe: observe})
	require.NoError(b, err)
	if start {
		require.NoError(b, q.Start(ctx))
	}
	b.Cleanup(func() {
		_ = q.Close()
		_ = st.Close()
	})
	return q
}

func benchRequest() *jobs.Request {
	in := json.RawMessage(`{"request_method":"POST","request_body":"{\"a\":1}","request_headers":{"content_type":"application/json"}}`)
	return &jobs.Request{WebhookID: "w", Handler: "automation/main", Automation: "a", Inputs: in, RedactedInputs: in}
}

// BenchmarkEnqueue measures durable hand-offs (each one a 202) per second
// with 64 concurrent callers, group-committed, workers idle.
func BenchmarkEnqueue(b *testing.B) { benchEnqueue(b, benchQueue(b, false, nil)) }

// BenchmarkEnqueuePostgres is BenchmarkEnqueue on PostgreSQL.
func BenchmarkEnqueuePostgres(b *testing.B) { benchEnqueue(b, benchQueuePG(b, false, nil)) }

// BenchmarkEnqueueBodyPostgres is BenchmarkEnqueuePostgres with a JSON
// body of 16 KiB in every job's inputs (bodyRequest); cpu-µs/202 is the
// test process's CPU (PostgreSQL's is not counted).
func BenchmarkEnqueueBodyPostgres(b *testing.B) {
	benchEnqueueWith(b, benchQueuePG(b, false, nil), bodyRequest(16<<10))
}

func benchEnqueue(b *testing.B, q *jobs.Queue) { benchEnqueueWith(b, q, benchRequest) }

func benchEnqueueWith(b *testing.B, q *jobs.Queue, request func() *jobs.Request) {
	b.SetParallelism(32) // × GOMAXPROCS callers
	start, cpu := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := q.Enqueue(ctx, request()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "202/s")
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/202")
}

// BenchmarkStartLatency measures, one job at a time, the time from the
// committed hand-off (the 202) to the worker starting the attempt.
func BenchmarkStartLatency(b *testing.B) {
	var (
		mu      sync.Mutex
		started = map[string]chan time.Time{}
	)
	q := benchQueue(b, true, func(e jobs.Event) {
		if e.Kind != jobs.EventStarted {
			return
		}
		mu.Lock()
		ch := started[e.JobID]
		mu.Unlock()
		if ch != nil {
			ch <- e.At
		}
	})
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		id := jobs.NewJobID()
		ch := make(chan time.Time, 1)
		mu.Lock()
		started[id] = ch
		mu.Unlock()
		if _, err := q.EnqueueID(ctx, id, benchRequest()); err != nil {
			b.Fatal(err)
		}
		accepted := time.Now()
		at := <-ch
		lat = append(lat, at.Sub(accepted))
		done, stop := q.Wait(id)
		select {
		case <-done:
		case <-time.After(100 * time.Millisecond):
		}
		stop()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkComplete measures jobs completed per second: b.N jobs queued by
// 64 callers while 50 workers run them.
func BenchmarkComplete(b *testing.B) {
	benchComplete(b, func(observe func(jobs.Event)) *jobs.Queue { return benchQueue(b, true, observe) })
}

// BenchmarkCompletePostgres is BenchmarkComplete on PostgreSQL with the
// default 10 workers, as a server runs them: its CPU per job (the test
// process's and PostgreSQL's, from outside) is that of a durable job's
// whole life, hand-off and run.
func BenchmarkCompletePostgres(b *testing.B) {
	benchComplete(b, func(observe func(jobs.Event)) *jobs.Queue {
		return benchQueuePGSettings(b, true, observe, jobs.DefaultSettings())
	})
}

// BenchmarkCompleteBody is BenchmarkComplete for the jobs of a request
// with a 16 KiB JSON body, which their inputs hold twice (request_body and
// webhook_data.RequestBody; the record's copy once): what a body costs a
// job in the queue, from its hand-off through River's args, the fetch and
// the worker's decoding to its completion. cpu-µs/job is the test
// process's CPU (user and system) per job.
func BenchmarkCompleteBody(b *testing.B) {
	benchCompleteWith(b, func(observe func(jobs.Event)) *jobs.Queue { return benchQueue(b, true, observe) },
		bodyRequest(16<<10))
}

// BenchmarkCompleteBodyPostgres is BenchmarkCompleteBody on PostgreSQL
// with the default 10 workers (PostgreSQL's own CPU is not counted).
func BenchmarkCompleteBodyPostgres(b *testing.B) {
	benchCompleteWith(b, func(observe func(jobs.Event)) *jobs.Queue {
		return benchQueuePGSettings(b, true, observe, jobs.DefaultSettings())
	}, bodyRequest(16<<10))
}

// bodyRequest returns a job request whose inputs hold a JSON body of
// about n bytes (commit-like objects) as a webhook's do.
func bodyRequest(n int) func() *jobs.Request {
	var body []byte
	for i := 0; len(body) < n; i++ {
		body = fmt.Appendf(body, `{"id":"%040x","message":"Fix the <thing> & more","author":{"name":"A. Person","email":"a@example.com"}},`, i)
	}
	in, err := json.Marshal(map[string]any{"request_method": "POST", "request_body": string(body),
		"webhook_data": map[string]any{"WebhookName": "w", "RequestBody": string(body)}})
	if err != nil {
		panic(err)
	}
	shown, _ := json.Marshal(map[string]any{"request_method": "POST", "request_body": string(body),
		"webhook_data": map[string]any{"WebhookName": "w"}})
	return func() *jobs.Request {
		return &jobs.Request{WebhookID: "w", Handler: "automation/main", Automation: "a", Inputs: in, RedactedInputs: shown}
	}
}

func benchComplete(b *testing.B, open func(observe func(jobs.Event)) *jobs.Queue) {
	benchCompleteWith(b, open, benchRequest)
}

func benchCompleteWith(b *testing.B, open func(observe func(jobs.Event)) *jobs.Queue, request func() *jobs.Request) {
	var finished atomic.Int64
	all := make(chan struct{})
	target := int64(b.N)
	q := open(func(e jobs.Event) {
		if e.Kind == jobs.EventFinished && finished.Add(1) == target {
			close(all)
		}
	})
	b.SetParallelism(32)
	start, cpu := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := q.Enqueue(ctx, request()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d jobs finished", finished.Load(), target)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/job")
}

// processCPU is the CPU time (user and system) of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSettings are the default settings with 50 workers.
func benchSettings() jobs.Settings {
	s := jobs.DefaultSettings()
	s.Workers = 50
	return s
}

// BenchmarkJobOneAtATime runs one job at a time, from its hand-off to its
// end: every group commit and fetch holds one job, as River's fetch does
// when all workers are busy. Its instructions per job (callgrind, the
// difference of two b.N) compare the per-job write paths.
func BenchmarkJobOneAtATime(b *testing.B) { benchOneAtATime(b, benchQueue(b, true, nil)) }

// BenchmarkJobOneAtATimePostgres is BenchmarkJobOneAtATime on PostgreSQL.
func BenchmarkJobOneAtATimePostgres(b *testing.B) { benchOneAtATime(b, benchQueuePG(b, true, nil)) }

func benchOneAtATime(b *testing.B, q *jobs.Queue) {
	ctx := context.Background()
	for b.Loop() {
		id := jobs.NewJobID()
		done, stop := q.Wait(id)
		if _, err := q.EnqueueID(ctx, id, benchRequest()); err != nil {
			b.Fatal(err)
		}
		<-done
		stop()
	}
}
