package plugins

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// idleWorkers waits until p has n idle workers and returns them, bottom
// first.
func idleWorkers(p *workerPool, n int) []*worker {
	for {
		p.mu.Lock()
		if len(p.idle) == n {
			w := append([]*worker(nil), p.idle...)
			p.mu.Unlock()
			return w
		}
		p.mu.Unlock()
		runtime.Gosched()
	}
}

func TestWorkerPoolReap(t *testing.T) {
	var p workerPool
	var started, done sync.WaitGroup
	gate := make(chan struct{})
	for range 3 {
		started.Add(1)
		done.Add(1)
		p.do(taskFunc(func() { started.Done(); <-gate; done.Done() }))
	}
	started.Wait()
	close(gate)
	done.Wait()
	idle := idleWorkers(&p, 3)

	// The reap timer started with the first idle worker: the two others
	// were not idle all the period. One gets work: the last one idle.
	busy := make(chan struct{})
	running := make(chan struct{})
	p.do(taskFunc(func() { close(running); <-busy }))
	<-running
	p.mu.Lock()
	if len(p.idle) != 2 || p.idle[0] != idle[0] || p.idle[1] != idle[1] || p.low != 1 || !p.reaping {
		t.Fatalf("after do: %d idle, low %d, reaping %v; want the bottom 2 of %v, low 1, true", len(p.idle), p.low, p.reaping, idle)
	}
	p.mu.Unlock()

	// The first reap ends the one idle all along; the next, the other.
	for i, want := range []int{1, 0} {
		p.mu.Lock()
		if p.idle[0] != idle[i] {
			t.Fatalf("reap %d: the bottom worker is not the one idle longest", i)
		}
		p.mu.Unlock()
		p.reap()
		p.mu.Lock()
		if len(p.idle) != want || p.low != want || p.reaping != (want > 0) {
			t.Fatalf("after reap %d: %d idle, low %d, reaping %v; want %d", i, len(p.idle), p.low, p.reaping, want)
		}
		p.mu.Unlock()
	}

	// The busy worker comes back and starts a new period.
	close(busy)
	idleWorkers(&p, 1)
	p.mu.Lock()
	if !p.reaping || p.low != 1 {
		t.Fatalf("after the run: reaping %v, low %d; want true, 1", p.reaping, p.low)
	}
	p.mu.Unlock()
}

// TestWorkerPool_BlockedTasksHoldNothingUp: tasks queued behind tasks that
// block get workers of their own: n tasks that each wait until all n have
// started all finish, and a pool that was given tasks one after another
// (each finished first) used one worker for them.
func TestWorkerPool_BlockedTasksHoldNothingUp(t *testing.T) {
	var p workerPool
	const n = 20
	var started sync.WaitGroup
	started.Add(n)
	var done atomic.Int32
	all := make(chan struct{})
	for range n {
		p.do(taskFunc(func() {
			started.Done()
			started.Wait()
			if done.Add(1) == n {
				close(all)
			}
		}))
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d of %d tasks done: tasks waited behind blocked ones", done.Load(), n)
	}
	idleWorkers(&p, n)

	var q workerPool
	for range 50 {
		ran := make(chan struct{})
		q.do(taskFunc(func() { close(ran) }))
		<-ran
	}
	// The last worker may still be on its way back to idle.
	if w := idleWorkers(&q, 1); len(w) != 1 {
		t.Fatalf("%d workers for tasks one after another, want 1", len(w))
	}
}

// TestWorkerPool_QueueCompacts: a queue that never empties (workers take
// tasks while more come) moves its tasks left to the front rather than
// grow.
func TestWorkerPool_QueueCompacts(t *testing.T) {
	nop := taskFunc(func() {})
	p := workerPool{queue: []task{nil, nil, nil, nop}, head: 3, waking: 1} // a worker on its way: do wakes none
	p.do(nop)
	if p.head != 0 || len(p.queue) != 2 || cap(p.queue) != 4 || p.queue[2:4][0] != nil {
		t.Fatalf("head %d, len %d, cap %d; want 0, 2, 4", p.head, len(p.queue), cap(p.queue))
	}
}
