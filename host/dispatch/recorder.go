package dispatch

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/reqlog"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/templates/dict"
)

// recorder writes run records in batches, off the request path. When its
// queue is full, records are dropped and counted, never waited for.
type recorder struct {
	st      store.Store
	log     *slog.Logger
	ch      chan recItem
	done    chan struct{}
	dropped atomic.Int64
	once    sync.Once
}

// recItem is a run to record, or a flush request.
type recItem struct {
	run     *pendingRun
	flushed chan struct{}
}

const (
	recorderQueue  = 8192
	recorderBatch  = 256
	recorderLinger = 20 * time.Millisecond
)

func newRecorder(st store.Store, log *slog.Logger) *recorder {
	r := &recorder{st: st, log: log, ch: make(chan recItem, recorderQueue), done: make(chan struct{})}
	go r.loop()
	return r
}

// record queues a run record.
func (r *recorder) record(run *pendingRun) {
	select {
	case r.ch <- recItem{run: run}:
	default:
		if n := r.dropped.Add(1); n == 1 || n%1000 == 0 {
			r.log.Warn("run history queue full; runs dropped", "dropped", n)
		}
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	batch := make([]*store.Run, 0, recorderBatch)
	var waiters []chan struct{}
	take := func(it recItem) {
		if it.run != nil {
			batch = append(batch, it.run.finish())
		} else {
			waiters = append(waiters, it.flushed)
		}
	}
	for it := range r.ch {
		batch, waiters = batch[:0], waiters[:0]
		take(it)
		linger := time.NewTimer(recorderLinger)
	fill:
		for len(batch) < recorderBatch && it.flushed == nil {
			select {
			case more, ok := <-r.ch:
				if !ok {
					break fill
				}
				take(more)
				if more.flushed != nil {
					break fill
				}
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		if len(batch) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := r.st.InsertRuns(ctx, batch); err != nil {
				r.log.Error("write run history", "runs", len(batch), "error", err)
			}
			cancel()
		}
		for _, w := range waiters {
			close(w)
		}
	}
}

// flush waits until every run queued before it is written.
func (r *recorder) flush() {
	ch := make(chan struct{})
	r.ch <- recItem{flushed: ch}
	<-ch
}

// Close writes what is queued and stops the recorder.
func (r *recorder) Close() error {
	r.once.Do(func() {
		close(r.ch)
		<-r.done
	})
	return nil
}

// pendingRun is a run record whose JSON fields the recorder fills in off the
// hot path.
type pendingRun struct {
	run      store.Run
	req      automations.HTTPRequest
	res      *automations.Result
	logLimit int
	// red removes secret values and tokens from every string of the
	// record.
	red *redact.Redactor
	// credentialHeaders are the headers the webhook's verify blocks read
	// credentials from.
	credentialHeaders []string
	// entry is the request's access log entry.
	entry *reqlog.Entry
}

// finish builds the record's inputs, output and log, redacted.
func (p *pendingRun) finish() *store.Run {
	r := &p.run
	in := dict.New(6)
	in.Set("method", p.req.Method)
	in.Set("path", p.red.Redact(p.req.Path))
	hs := dict.New(len(p.req.Headers))
	for _, h := range p.red.Headers(p.req.Headers, p.credentialHeaders...) {
		hs.Set(h[0], h[1])
	}
	in.Set("headers", hs)
	q := dict.New(len(p.req.Query))
	for _, kv := range p.req.Query {
		v := kv[1]
		if redact.CredentialParam(kv[0]) {
			v = redact.Marker
		}
		q.Set(kv[0], p.red.Redact(v))
	}
	in.Set("query", q)
	in.Set("body", p.red.Redact(string(p.req.Body)))
	in.Set("client_ip", p.req.ClientIP)
	r.Inputs = encode(in)
	if p.res != nil {
		if p.res.Return != nil {
			r.Output = encode(p.red.Value(p.res.Return))
		}
		if r.Error == "" {
			r.Error = p.res.Error
		}
		r.Log = encodeLog(p.res.Log, p.logLimit, p.red)
	}
	r.Error = p.red.Redact(r.Error)
	return r
}

// encodeLog encodes log entries as JSON, dropping entries past limit bytes.
func encodeLog(entries []automations.LogEntry, limit int, red *redact.Redactor) []byte {
	if len(entries) == 0 {
		return nil
	}
	l := make([]any, 0, len(entries))
	size := 0
	for _, e := range entries {
		size += len(e.Message) + len(e.Node) + 32
		if size > limit {
			l = append(l, dict.Of("level", int64(3), "node", "", "message", "log truncated"))
			break
		}
		l = append(l, dict.Of("level", int64(e.Level), "node", e.Node, "message", red.Redact(e.Message)))
	}
	return encode(l)
}

// encode encodes a dictionary value compactly (nil when it cannot be).
func encode(v any) []byte {
	var buf bytes.Buffer
	if err := dict.Encode(&buf, v, ""); err != nil {
		return nil
	}
	return buf.Bytes()
}
