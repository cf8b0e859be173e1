// Package live carries what happens, as it happens, to whoever watches:
// request records as they are written and job state changes, for the admin
// API's event stream (GET /api/v1/events, server-sent events) and the
// console's live tail. It is per process: a watcher sees what its server
// records and runs.
package live

import (
	"sync"
	"sync/atomic"
)

// Event is one thing that happened.
type Event struct {
	// Type is "request" (a request record was written) or "job" (a job
	// started or ended here).
	Type string `json:"type"`
	// WebhookID is the webhook it concerns, when known.
	WebhookID string `json:"webhook_id,omitempty"`
	// Data is the event's body: an api.Run summary, or a job's state.
	Data any `json:"data"`
}

// Filter selects events for a watcher; zero fields do not filter.
type Filter struct {
	WebhookID string
	Types     []string
}

func (f Filter) match(e *Event) bool {
	if f.WebhookID != "" && e.WebhookID != f.WebhookID {
		return false
	}
	if len(f.Types) == 0 {
		return true
	}
	for _, t := range f.Types {
		if t == e.Type {
			return true
		}
	}
	return false
}

// Broker hands events to watchers. A watcher that does not keep up loses
// events (counted in its Dropped) rather than slowing the server. It is
// safe for concurrent use.
type Broker struct {
	max    int
	mu     sync.Mutex
	subs   map[*Watch]struct{}
	closed bool
}

// Watch is one watcher's subscription.
type Watch struct {
	// C receives the events; it is closed when the watch ends.
	C       chan *Event
	filter  Filter
	dropped atomic.Int64
	b       *Broker
	once    sync.Once
}

// Dropped counts the events this watcher lost for being slow.
func (w *Watch) Dropped() int64 { return w.dropped.Load() }

// Stop ends the watch.
func (w *Watch) Stop() {
	w.once.Do(func() {
		w.b.mu.Lock()
		if _, ok := w.b.subs[w]; ok {
			delete(w.b.subs, w)
			close(w.C)
		}
		w.b.mu.Unlock()
	})
}

// watchBuffer is how many events wait for a slow watcher.
const watchBuffer = 256

// New returns a Broker that allows at most max watchers at once.
func New(max int) *Broker {
	return &Broker{max: max, subs: map[*Watch]struct{}{}}
}

// Watch starts a watch; ok is false when there are too many watchers (or
// the broker is closed).
func (b *Broker) Watch(f Filter) (w *Watch, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || len(b.subs) >= b.max {
		return nil, false
	}
	w = &Watch{C: make(chan *Event, watchBuffer), filter: f, b: b}
	b.subs[w] = struct{}{}
	return w, true
}

// Publish hands e to every watcher whose filter matches; it never blocks.
func (b *Broker) Publish(e *Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for w := range b.subs {
		if !w.filter.match(e) {
			continue
		}
		select {
		case w.C <- e:
		default:
			w.dropped.Add(1)
		}
	}
}

// Watchers counts the watches running.
func (b *Broker) Watchers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Close ends every watch; later watches are refused.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for w := range b.subs {
		delete(b.subs, w)
		close(w.C)
	}
	return nil
}
