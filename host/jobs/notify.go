package jobs

import (
	"context"
	"errors"
	"sync"
)

// waiters hands a job's end to the requests waiting for it in this process
// (wait_ms), keyed by job id.
type waiters struct {
	mu sync.Mutex
	m  map[string][]chan *Finished
}

func (w *waiters) add(id string) (<-chan *Finished, func()) {
	ch := make(chan *Finished, 1)
	w.mu.Lock()
	w.m[id] = append(w.m[id], ch)
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		list := w.m[id]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(w.m, id)
		} else {
			w.m[id] = list
		}
	}
}

func (w *waiters) publish(f *Finished) {
	w.mu.Lock()
	list := w.m[f.JobID]
	delete(w.m, f.JobID)
	w.mu.Unlock()
	for _, ch := range list {
		ch <- f // buffered, one value per channel
	}
}

// errCancelled is the cause given to a job's context when it is cancelled
// through this process.
var errCancelled = errors.New("job cancelled")

// running tracks the jobs this process is working, to cancel them at once
// and to send their heartbeats.
type running struct {
	mu sync.Mutex
	m  map[string]*runningJob
}

type runningJob struct {
	riverID int64
	cancel  context.CancelCauseFunc
}

func (r *running) add(id string, riverID int64, cancel context.CancelCauseFunc) {
	r.mu.Lock()
	r.m[id] = &runningJob{riverID: riverID, cancel: cancel}
	r.mu.Unlock()
}

func (r *running) remove(id string) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}

// has reports whether the job runs here.
func (r *running) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[id] != nil
}

// cancel cancels the job if it runs here and reports whether it did.
func (r *running) cancel(id string) bool {
	r.mu.Lock()
	j := r.m[id]
	r.mu.Unlock()
	if j == nil {
		return false
	}
	j.cancel(errCancelled)
	return true
}

func (r *running) riverIDs() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]int64, 0, len(r.m))
	for _, j := range r.m {
		ids = append(ids, j.riverID)
	}
	return ids
}
