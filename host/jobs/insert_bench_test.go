package jobs

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/stretchr/testify/require"
)

// BenchmarkInsertBatch measures the inserter's transaction alone (River's
// jobs, the records, the commit) for batches of a fixed size, without
// the scheduling of concurrent callers, so that instruction counts
// (callgrind) compare from one build to the next.
func BenchmarkInsertBatch(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ctx := context.Background()
			q := newSQLiteQueue(b, openSQLiteStore(b).DB())
			in := json.RawMessage(`{"request_method":"POST","request_body":"{\"a\":1}","request_headers":{"content_type":"application/json"}}`)
			req := &Request{WebhookID: "w", Handler: "automation/main", Automation: "a", Inputs: in, RedactedInputs: in}
			items := make([]*insertItem, n)
			for b.Loop() {
				for i := range items {
					items[i] = newInsertItem(NewJobID(), req)
				}
				if err := q.inserter.run(ctx, items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/job")
		})
	}
}

// BenchmarkFetch measures River's fetch on SQLite (JobGetAvailable, a
// write transaction of its own) per job, by how many jobs one fetch takes:
// under load a worker slot that frees up triggers a fetch after
// Config.FetchCooldown, so the cooldown sets the fetches' size.
func BenchmarkFetch(b *testing.B) {
	for _, n := range []int{1, 2, 5, 10} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ctx := context.Background()
			q := newSQLiteQueue(b, openSQLiteStore(b).DB())
			in := json.RawMessage(`{"request_method":"POST","request_body":"{\"a\":1}","request_headers":{"content_type":"application/json"}}`)
			req := &Request{WebhookID: "w", Handler: "automation/main", Automation: "a", Inputs: in, RedactedInputs: in}
			exec := q.client.Driver().GetExecutor()
			items := make([]*insertItem, 200)
			var fetched int
			for b.Loop() {
				if fetched%len(items) == 0 {
					b.StopTimer()
					for i := range items {
						items[i] = newInsertItem(NewJobID(), req)
					}
					require.NoError(b, q.inserter.run(ctx, items))
					b.StartTimer()
				}
				jobs, err := exec.JobGetAvailable(ctx, &riverdriver.JobGetAvailableParams{ClientID: "bench", MaxAttemptedBy: 100,
					MaxToLock: n, Queue: queueRuns})
				if err != nil || len(jobs.Jobs) != n {
					b.Fatal(len(jobs.Jobs), err)
				}
				fetched += n
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/job")
		})
	}
}

// BenchmarkSetStateCompleted measures River's completer on SQLite
// (JobSetStateIfRunningMany, one transaction) per job, for a batch of 40
// running jobs completed at once (River's BatchCompleter flushes every
// 50 ms: about 40 jobs at 800 jobs per second).
func BenchmarkSetStateCompleted(b *testing.B) {
	const n = 40
	ctx := context.Background()
	q := newSQLiteQueue(b, openSQLiteStore(b).DB())
	in := json.RawMessage(`{"request_method":"POST","request_body":"{\"a\":1}","request_headers":{"content_type":"application/json"}}`)
	req := &Request{WebhookID: "w", Handler: "automation/main", Automation: "a", Inputs: in, RedactedInputs: in}
	exec := q.client.Driver().GetExecutor()
	items := make([]*insertItem, n)
	for b.Loop() {
		b.StopTimer()
		for i := range items {
			items[i] = newInsertItem(NewJobID(), req)
		}
		require.NoError(b, q.inserter.run(ctx, items))
		got, err := exec.JobGetAvailable(ctx, &riverdriver.JobGetAvailableParams{ClientID: "bench", MaxAttemptedBy: 100,
			MaxToLock: n, Queue: queueRuns})
		require.NoError(b, err)
		require.Len(b, got.Jobs, n)
		p := completions(time.Now(), nil, got.Jobs...)
		b.StartTimer()
		rows, err := exec.JobSetStateIfRunningMany(ctx, p)
		if err != nil || len(rows) != n {
			b.Fatal(len(rows), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/job")
}
