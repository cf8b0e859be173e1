package jobs

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"
)

// testItem is a batchItem that reports its outcome on a channel.
type testItem struct{ done chan error }

func (it testItem) finish(err error) { it.done <- err }

// TestGroupCommit_OneCommitterBatchesWaiters: with one committing
// goroutine (the writer on both dialects), the items submitted while a
// batch commits are all written by the next batch, in one transaction,
// rather than one transaction each.
func TestGroupCommit_OneCommitterBatchesWaiters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		waiting int
		max     int
		batches []int // sizes of the batches after the first
	}{
		{name: "one waiting", waiting: 1, max: 256, batches: []int{1}},
		{name: "many waiting", waiting: 9, max: 256, batches: []int{9}},
		{name: "more than max", waiting: 10, max: 4, batches: []int{4, 4, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { testOneCommitter(t, tc.waiting, tc.max, tc.batches) })
		})
	}
}

// testOneCommitter submits one item, then waiting more while its batch commits,
// and checks the sizes of the batches that follow.
func testOneCommitter(t *testing.T, waiting, maxItems int, batches []int) {
	var (
		mu      sync.Mutex
		sizes   []int
		release = make(chan struct{})
	)
	run := func(_ context.Context, items []testItem) error {
		mu.Lock()
		first := len(sizes) == 0
		sizes = append(sizes, len(items))
		mu.Unlock()
		if first {
			<-release
		}
		return nil
	}
	// No delay: a batch is what is waiting when the committer is free.
	g := newGroupCommit(0, maxItems, slog.New(slog.NewTextHandler(io.Discard, nil)), &writeHealth{}, run)
	g.start(1)
	defer g.close()

	first := testItem{done: make(chan error, 1)}
	require.NoError(t, g.submit(context.Background(), first))
	synctest.Wait()
	// The committer is busy with the first batch: every submit
	// blocks until it is free again.
	items := make([]testItem, waiting)
	var submitted sync.WaitGroup
	for i := range items {
		items[i] = testItem{done: make(chan error, 1)}
		submitted.Add(1)
		go func() {
			defer submitted.Done()
			require.NoError(t, g.submit(context.Background(), items[i]))
		}()
	}
	// Every submitter is blocked on its send before the committer
	// is released.
	synctest.Wait()
	close(release)
	require.NoError(t, <-first.done)
	for _, it := range items {
		require.NoError(t, <-it.done)
	}
	submitted.Wait()
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, append([]int{1}, batches...), sizes)
}
