package dispatch

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlines hands out the contexts that cap synchronous runs. A run whose
// request has no context of its own (a webhook request: Fiber's user
// context is context.Background) shares its context with the runs whose
// deadlines fall in the same step: one context and one timer per step
// instead of context.WithTimeout's three allocations and a timer added to
// and taken off the runtime's heap per run (about 8% of the request path's
// CPU in BenchmarkWebhook_RequestPath). A shared context is never
// cancelled early: its timer ends it at the deadline, and a run that ended
// before simply stops waiting on it.
//
// The deadline is now+timeout rounded down to a multiple of the step, so a
// run gets at most timeout (RequestTimeout stays a cap) and at least
// timeout less one step; the step is a 64th of the timeout, at most
// maxDeadlineStep.
type deadlines struct {
	// base is the parent of every context handed out: cancelling it ends
	// every run in flight (the dispatcher's Close does, at shutdown).
	base    context.Context
	timeout time.Duration
	step    time.Duration
	cur     atomic.Pointer[sharedDeadline]
	mu      sync.Mutex // held to make a new shared context
}

// sharedDeadline is the context of one step's runs.
type sharedDeadline struct {
	at  int64 // the deadline, Unix nanoseconds
	ctx context.Context
	// cancel releases the context before its deadline; never called by
	// the request path (the timer releases it), kept for the vet check.
	cancel context.CancelFunc
}

// maxDeadlineStep bounds how much earlier than now+timeout a shared
// deadline may be.
const maxDeadlineStep = 100 * time.Millisecond

// newDeadlines returns the deadlines of runs of timeout under base (nil:
// context.Background).
func newDeadlines(base context.Context, timeout time.Duration) *deadlines {
	if base == nil {
		base = context.Background()
	}
	return &deadlines{base: base, timeout: timeout, step: min(maxDeadlineStep, timeout/64)}
}

// context returns the context of a run that starts at now under parent,
// and the function that releases it (to be called when the run ends).
func (d *deadlines) context(parent context.Context, now time.Time) (context.Context, context.CancelFunc) {
	if parent != context.Background() || d.step <= 0 {
		ctx, cancel := context.WithDeadline(parent, now.Add(d.timeout))
		if d.base == context.Background() {
			return ctx, cancel
		}
		// The run ends at the deadline, when parent ends, or when base does.
		stop := context.AfterFunc(d.base, cancel)
		return ctx, func() { stop(); cancel() }
	}
	end := now.Add(d.timeout)
	at := end.UnixNano()
	at -= at % int64(d.step)
	if s := d.cur.Load(); s != nil && s.at == at {
		return s.ctx, noCancel
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.cur.Load(); s != nil && s.at == at {
		return s.ctx, noCancel
	}
	// The deadline keeps now's monotonic reading: end less what the
	// rounding cut.
	ctx, cancel := context.WithDeadline(d.base, end.Add(-time.Duration(end.UnixNano()-at)))
	d.cur.Store(&sharedDeadline{at: at, ctx: ctx, cancel: cancel})
	return ctx, noCancel
}

// noCancel is the release of a shared context: nothing to do.
func noCancel() {}
