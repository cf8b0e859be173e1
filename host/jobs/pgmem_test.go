package jobs

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/heaptest"
)

// TestPgInsertRuns_ReleasesBatch checks that once a batch of hand-offs is
// written, nothing keeps its bytes: not the pool's connection that sent
// it (pgx kept a copy of a statement's parameters in the connection's
// buffer until its next statement, and reachable after it), nor the
// insert. It measures the live heap after a collection, before the batch
// and after it, with the batch's items gone.
func TestPgInsertRuns_ReleasesBatch(t *testing.T) {
	ctx := context.Background()
	q, db, _ := openPostgresQueue(t, "hh_jobs_pgmem_")
	db.SetMaxOpenConns(1) // the batch's connection stays in the pool, idle
	db.SetMaxIdleConns(1)
	in := bytes.Repeat([]byte("0123456789abcdef"), 32<<10) // 512 KiB, shared by every job
	batch := func(n int) ([]*insertItem, uint64) {
		items := make([]*insertItem, n)
		var payload uint64
		for i := range items {
			items[i] = newInsertItem(NewJobID(), &Request{WebhookID: "w", Handler: "automation/a", Automation: "a",
				Inputs: in, RedactedInputs: in})
			payload += uint64(len(items[i].encoded) + 2*len(in))
		}
		return items, payload
	}
	warm, _ := batch(1) // prepares the statement on the connection
	require.NoError(t, q.pgInsertRuns(ctx, warm))

	before := heaptest.Live()
	payload := insertAndDrop(ctx, t, q, batch)
	after := heaptest.Live()
	retained := int64(after) - int64(before)
	t.Logf("payload %d bytes, live heap %d -> %d (%+d)", payload, before, after, retained)
	assert.Less(t, retained, int64(payload/8), "%d bytes of a %d-byte batch stayed reachable after it was written", retained, payload)
}

// insertAndDrop writes a batch of 16 jobs and drops its items; it returns
// the batch's payload (the args and both inputs of every job).
func insertAndDrop(ctx context.Context, t *testing.T, q *Queue, batch func(n int) ([]*insertItem, uint64)) uint64 {
	items, payload := batch(16)
	require.NoError(t, q.pgInsertRuns(ctx, items))
	return payload
}

// heldItem is a batchItem holding a payload, as an Enqueue's item holds
// its request.
type heldItem struct {
	payload []byte
	done    chan error
}

func (it *heldItem) finish(err error) { it.done <- err }

// TestGroupCommit_ReleasesItems checks that a committed batch's items are
// not kept by the committing goroutine: its batch slice, emptied for the
// next batch, kept pointing at them until a batch as large overwrote
// them, and with them every request's inputs.
func TestGroupCommit_ReleasesItems(t *testing.T) {
	t.Parallel()
	g := newGroupCommit(0, 256, slog.New(slog.NewTextHandler(io.Discard, nil)), &writeHealth{},
		func(context.Context, []*heldItem) error { return nil })
	g.start(1)
	defer g.close()

	held := submitHeld(t, g, 3)
	// One more item, through the same goroutine: by the time it is taken
	// the loop has cleared the batch before it (the last item's finish
	// wakes this test before that).
	last := &heldItem{done: make(chan error, 1)}
	require.NoError(t, g.submit(context.Background(), last))
	require.NoError(t, <-last.done)
	runtime.GC()
	for i, w := range held {
		assert.True(t, w.Value() == nil, "item %d is still reachable after its batch", i)
	}
}

// submitHeld submits n items one at a time, waits for each, and returns
// weak pointers to them.
func submitHeld(t *testing.T, g *groupCommit[*heldItem], n int) []weak.Pointer[heldItem] {
	held := make([]weak.Pointer[heldItem], n)
	for i := range held {
		it := &heldItem{payload: make([]byte, 1<<20), done: make(chan error, 1)}
		held[i] = weak.Make(it)
		require.NoError(t, g.submit(context.Background(), it))
		require.NoError(t, <-it.done)
	}
	return held
}

// TestPgInsertRuns_StatementForgotten checks that a batch of hand-offs
// still goes in after the session lost its prepared statement (a
// DEALLOCATE ALL, as a proxy resetting sessions would): pgx still had it,
// and every batch on the connection failed until it was closed.
func TestPgInsertRuns_StatementForgotten(t *testing.T) {
	ctx := context.Background()
	q, db, _ := openPostgresQueue(t, "hh_jobs_dealloc_")
	db.SetMaxOpenConns(1) // the same session for every statement
	db.SetMaxIdleConns(1)
	item := func() []*insertItem {
		return []*insertItem{newInsertItem(NewJobID(), &Request{WebhookID: "w", Handler: "automation/a", Automation: "a",
			Inputs: []byte(`{}`), RedactedInputs: []byte(`{}`)})}
	}
	require.NoError(t, q.pgInsertRuns(ctx, item()))
	for i := range 2 {
		_, err := db.ExecContext(ctx, "DEALLOCATE ALL")
		require.NoError(t, err)
		require.NoError(t, q.pgInsertRuns(ctx, item()), "batch %d after DEALLOCATE ALL", i)
	}
}
