package dispatch

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
)

// holdWrites makes the recorder's next write wait in InsertRuns until the
// returned release is called, after records queued meanwhile; it returns
// once the write waits. flushed is closed when the flush that started the
// write has ended.
func holdWrites(t *testing.T, r *recorder, b *recorderBundle) (release func(), flushed <-chan struct{}) {
	t.Helper()
	entered, ch := make(chan struct{}), make(chan struct{})
	b.fault.mu.Lock()
	b.fault.entered, b.fault.release = entered, ch
	b.fault.mu.Unlock()
	r.record(pending("first"))
	done := make(chan struct{})
	go func() {
		r.flush()
		close(done)
	}()
	<-entered
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return release, done
}

// TestRecorder_QueueBytes: records past QueueBytes of waiting ones are
// dropped and counted as a full queue, however few they are, and the
// queue takes records again once those are written.
func TestRecorder_QueueBytes(t *testing.T) {
	t.Parallel()
	r, b := setupRecorder(t, RecorderConfig{QueueBytes: 10 << 10})
	release, flushed := holdWrites(t, r, b)

	body := strings.Repeat("x", 4<<10)
	for range 10 {
		r.record(pending(body))
	}
	st := r.stats()
	require.Positive(t, st.QueueFull, "records past QueueBytes are dropped")
	require.Equal(t, int64(10), st.QueueFull+int64(len(r.ch)), "every record is queued or dropped")
	require.LessOrEqual(t, len(r.ch), 3, "about 10 KiB of 4 KiB records wait")

	release()
	<-flushed
	r.flush()
	require.Zero(t, r.queuedBytes.Load(), "written records leave the count")
	r.record(pending(body))
	r.flush()
	after := r.stats()
	require.Equal(t, st.QueueFull, after.QueueFull, "a record is taken again once the queue is written")
	require.Equal(t, after.Written, int64(1+10-st.QueueFull+1))
}

// TestRecorder_BatchBytes: a batch ends when its records hold
// recorderBatchBytes, whatever the batch size.
func TestRecorder_BatchBytes(t *testing.T) {
	t.Parallel()
	r, b := setupRecorder(t, RecorderConfig{BodyLimit: -1})
	var mu sync.Mutex
	var batches [][]int
	b.fault.mu.Lock()
	b.fault.inserted = func(runs []*store.Run) {
		sizes := make([]int, len(runs))
		for i, run := range runs {
			sizes[i] = runBytes(run)
		}
		mu.Lock()
		batches = append(batches, sizes)
		mu.Unlock()
	}
	b.fault.mu.Unlock()
	release, flushed := holdWrites(t, r, b)

	body := strings.Repeat("y", 800<<10)
	for range 6 {
		r.record(pending(body))
	}
	release()
	<-flushed
	r.flush()
	require.Equal(t, int64(7), r.stats().Written)

	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, len(batches), 2, "the six large records are not one batch")
	for _, sizes := range batches {
		total := 0
		for _, n := range sizes[:len(sizes)-1] {
			total += n
		}
		require.Less(t, total, recorderBatchBytes, "a batch takes no record after it holds recorderBatchBytes: %v", sizes)
	}
}

// TestRecorder_WrittenBatchIsCollectable: once a batch is written, its
// records are not kept reachable by the recorder while it waits for more.
func TestRecorder_WrittenBatchIsCollectable(t *testing.T) {
	t.Parallel()
	r, b := setupRecorder(t, RecorderConfig{})
	collected := make(chan struct{})
	var once sync.Once
	b.fault.mu.Lock()
	b.fault.inserted = func(runs []*store.Run) {
		once.Do(func() { runtime.AddCleanup(runs[0], func(ch chan struct{}) { close(ch) }, collected) })
	}
	b.fault.mu.Unlock()
	for range 3 {
		r.record(pending("z"))
	}
	r.flush()
	require.Equal(t, int64(3), r.stats().Written)
	for range 100 {
		runtime.GC()
		select {
		case <-collected:
			return
		default:
			time.Sleep(time.Millisecond) // cleanups run on their own goroutine
		}
	}
	t.Fatal("a written record stays reachable from the recorder")
}
