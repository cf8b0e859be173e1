package dispatch

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookhost/hookhost/internal/cputime"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/reqlog"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/sqlite"
	"github.com/hookhost/hookhost/templates/dict"
)

// guideRun is a run record as the Cerb guide's webhook leaves it in the
// default configuration: the guide's curl (a webhook token in the path,
// empty body, four headers, one query parameter) and the example's return
// dictionary, with the JSON the extension process sent it in.
func guideRun() *pendingRun {
	req := automations.HTTPRequest{Method: "POST", Path: "/webhooks/0123456789abcdef0123456789abcdef01234567", ClientIP: "127.0.0.1",
		Headers: [][2]string{{"Host", "127.0.0.1:8080"}, {"User-Agent", "Go-http-client/1.1"}, {"Accept", "*/*"}, {"X-Customheader", "true"}},
		Query:   [][2]string{{"key", "value"}}}
	ret := dict.Of("status_code", int64(200), "headers", dict.Of("Content-Type", "application/json"),
		"body", "{\n    \"client\": {\n        \"ip\": \"127.0.0.1\"\n    }\n}")
	return &pendingRun{run: store.Run{ID: newRunID(), WebhookID: "w", Automation: "example.webhook.respond", Status: 200,
		Exit: "return", CreatedAt: time.Now()}, req: req, res: &automations.Result{Exit: automations.ExitReturn, Return: ret, ReturnJSON: guideReturnJSON},
		logLimit: 4096, red: redact.New()}
}

// bodyRun is guideRun with a JSON body of n bytes (at least 2): an array
// of commit-like objects, as a push event holds and as bench -body-bytes
// sends.
func bodyRun(n int) *pendingRun {
	const item = `{"id":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d","message":"Fix the \"edge\" case","author":{"name":"Octo Cat","email":"octocat@example.com"},"added":[],"modified":["README.md"]}`
	b := append(make([]byte, 0, n), '[')
	for len(b)+len(item)+2 <= n {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, item...)
	}
	for len(b) < n-1 {
		b = append(b, ' ')
	}
	b = append(b, ']')
	p := guideRun()
	p.req.Body = b
	p.req.Headers = append(p.req.Headers, [2]string{"Content-Type", "application/json"})
	return p
}

// guideReturnJSON is the example's return dictionary as the extension
// sends it.
var guideReturnJSON = encode(dict.Of("status_code", int64(200), "headers", dict.Of("Content-Type", "application/json"),
	"body", "{\n    \"client\": {\n        \"ip\": \"127.0.0.1\"\n    }\n}"))

// BenchmarkRecorder measures what one run record of the guide's webhook
// costs the server: Finish builds its JSON fields (redacted, capped);
// Record queues it and writes it to SQLite in batches (the op is one
// record, flushed every 256, whatever the recorder's batch size). Besides the wall time, each reports
// cpu-ns/op: the process's CPU time (every goroutine's, the garbage
// collector's too) per op, which other load on the machine changes much
// less.
func BenchmarkRecorder(b *testing.B) {
	b.Run("Finish", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			guideRun().finish(DefaultRunBodyLimit)
		}
	})
	b.Run("FinishWire", func(b *testing.B) {
		// The guide's run as an extension process answers it by default,
		// in the wire form: the record encodes the return dictionary.
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			p := guideRun()
			p.res.ReturnJSON = nil
			p.finish(DefaultRunBodyLimit)
		}
	})
	b.Run("FinishVerifyReadHeader", func(b *testing.B) {
		// The guide's request with a header its webhook's verify block
		// reads: the caller's credential is redacted in every string of
		// the record.
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			p := guideRun()
			p.req.Headers = append(p.req.Headers, [2]string{"X-Custom-Key", "caller-custom-key-77"})
			p.credentialHeaders = []string{"X-Custom-Key"}
			p.finish(DefaultRunBodyLimit)
		}
	})
	b.Run("FinishBody16KiB", func(b *testing.B) {
		// The guide's request with a 16 KiB JSON body (bench -body-bytes
		// 16384): the body is checked for credential fields, redacted and
		// escaped into the record's inputs.
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			bodyRun(16 << 10).finish(DefaultRunBodyLimit)
		}
	})
	for _, c := range []struct {
		name string
		run  func() *pendingRun
	}{{"Record", guideRun}, {"RecordBody16KiB", func() *pendingRun { return bodyRun(16 << 10) }}} {
		b.Run(c.name, func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "hookhost.db"))
			require.NoError(b, err)
			defer st.Close()
			r := newRecorder(st, slog.New(slog.NewTextHandler(io.Discard, nil)), RecorderConfig{PruneInterval: -1})
			defer r.Close()
			b.ReportAllocs()
			defer reportCPU(b)()
			n := 0
			for b.Loop() {
				r.record(c.run())
				if n++; n%256 == 0 {
					r.flush()
				}
			}
			r.flush()
			require.Zero(b, r.stats().Dropped)
		})
	}
}

// BenchmarkRecorderFlushEvery is BenchmarkRecorder/Record with a flush
// every N records: what a transaction adds to a record's cost (the
// batchSizer's trade). Under callgrind (2,048 and 6,144 records, the
// difference): 57.0K instructions a record every 16, 48.6K every 64, 40.9K
// every 512.
func BenchmarkRecorderFlushEvery(b *testing.B) {
	for _, every := range []int{1, 16, 64, 256, 512} {
		b.Run(strconv.Itoa(every), func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "hookhost.db"))
			require.NoError(b, err)
			defer st.Close()
			r := newRecorder(st, slog.New(slog.NewTextHandler(io.Discard, nil)), RecorderConfig{PruneInterval: -1})
			defer r.Close()
			defer reportCPU(b)()
			n := 0
			for b.Loop() {
				r.record(guideRun())
				if n++; n%every == 0 {
					r.flush()
				}
			}
			r.flush()
		})
	}
}

// reportCPU starts measuring the process's CPU time; the function it
// returns reports it per op as cpu-ns/op (nothing where it cannot be read).
func reportCPU(b *testing.B) func() {
	start, ok := cputime.Process()
	return func() {
		end, ok2 := cputime.Process()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkRecorderWrite measures one batch write of the recorder (its
// store.InsertRuns call, as recorder.insert makes it) of N guide records
// to SQLite, on one goroutine: the op is one batch, its records built
// beforehand (each op writes them again under new IDs). The sizes' costs
// differ by the records: a record's cost is (c128-c64)/64, a
// transaction's c64 - 64 times it.
func BenchmarkRecorderWrite(b *testing.B) {
	for _, n := range []int{1, 64, 128} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "hookhost.db"))
			require.NoError(b, err)
			defer st.Close()
			r := &recorder{st: st}
			batch := make([]*store.Run, n)
			for i := range batch {
				p := guideRun()
				p.entry = &reqlog.Entry{ID: "0123456789abcdef01234567"}
				batch[i] = p.finish(DefaultRunBodyLimit)
			}
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				for _, run := range batch {
					run.ID, run.CreatedAt = newRunID(), time.Now()
				}
				if err := r.insert(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecorderStretch measures how long the recorder's writes hold
// the only P (GOMAXPROCS=1, as the server runs at moderate rates): the
// benchmark's goroutine writes batches of 64 guide records (the recorder's
// size at 2,000 a second; the op is one record) as recorder.insert does,
// yielding between them as the recorder does when it waits for its next
// batch, while a probe goroutine sleeps 20 µs at a time: its oversleep is
// how long it waited for the P after its timer fired, the longest stretch
// a write ran without yielding. It reports the longest oversleep, its
// 99.9th percentile, the probes over 1 ms and their total; with -benchtime 50000x or
// more the WAL's checkpoints are among the writes.
func BenchmarkRecorderStretch(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "hookhost.db"))
	require.NoError(b, err)
	defer st.Close()
	r := &recorder{st: st}
	batch := make([]*store.Run, 64)
	for i := range batch {
		p := guideRun()
		p.entry = &reqlog.Entry{ID: "0123456789abcdef01234567"}
		batch[i] = p.finish(DefaultRunBodyLimit)
	}
	var stop atomic.Bool
	probed := make(chan []time.Duration)
	go func() {
		var over []time.Duration
		for !stop.Load() {
			const nap = 20 * time.Microsecond
			t := time.Now()
			time.Sleep(nap)
			over = append(over, time.Since(t)-nap)
		}
		probed <- over
	}()
	defer reportCPU(b)()
	n := 0
	for b.Loop() {
		if n++; n%len(batch) == 0 {
			for _, run := range batch {
				run.ID, run.CreatedAt = newRunID(), time.Now()
			}
			if err := r.insert(batch); err != nil {
				b.Fatal(err)
			}
			runtime.Gosched()
		}
	}
	stop.Store(true)
	over := <-probed
	slices.Sort(over)
	if len(over) > 0 {
		long, stalled := 0, time.Duration(0)
		for _, d := range over {
			if d > time.Millisecond {
				long++
				stalled += d
			}
		}
		b.ReportMetric(float64(over[len(over)-1].Microseconds()), "max-stretch-µs")
		b.ReportMetric(float64(over[len(over)*999/1000].Microseconds()), "p999-stretch-µs")
		b.ReportMetric(float64(long), "over-1ms")
		b.ReportMetric(float64(stalled.Milliseconds()), "over-1ms-total-ms")
	}
}
