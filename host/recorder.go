package host

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookhost/hookhost/host/store"
)

// recorder writes run records in batches on its own goroutine so the
// webhook hot path never waits for the database.
type recorder struct {
	st      store.Store
	log     *slog.Logger
	ch      chan recItem
	done    chan struct{}
	dropped atomic.Int64
	once    sync.Once
}

// recItem is a run to write, or (run nil) a flush request answered by
// closing flushed once everything queued before it is written.
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

// record queues run; when the queue is full the run is dropped and counted
// (the webhook's answer matters more than its history).
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
		// Linger briefly so that a burst becomes one transaction (one fsync)
		// instead of one per run.
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

// flush waits until every run queued before the call is written.
func (r *recorder) flush() {
	ch := make(chan struct{})
	r.ch <- recItem{flushed: ch}
	<-ch
}

// Close writes what is queued and stops.
func (r *recorder) Close() error {
	r.once.Do(func() {
		close(r.ch)
		<-r.done
	})
	return nil
}
