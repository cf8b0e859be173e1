package jobs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/store"
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

// TestGroupCommit_DatabaseFailureFailsTheBatchAtOnce: a batch that fails
// because the database does not answer (every transaction runs into its
// 30 s deadline) fails all its items at once, rather than retrying them
// one per transaction, each with its own deadline: the last caller of a
// full batch heard of the failure after 257 deadlines (about 2 hours),
// and every new caller waited behind them.
func TestGroupCommit_DatabaseFailureFailsTheBatchAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		run := func(ctx context.Context, items []testItem) error {
			runs.Add(1)
			<-ctx.Done() // a blackholed database: nothing answers before the deadline
			return ctx.Err()
		}
		g := newGroupCommit(time.Millisecond, 256, slog.New(slog.NewTextHandler(io.Discard, nil)), &writeHealth{}, run)
		g.start(1)
		defer g.close()
		items := make([]testItem, 256)
		start := time.Now()
		for i := range items {
			items[i] = testItem{done: make(chan error, 1)}
			go func() { require.NoError(t, g.submit(context.Background(), items[i])) }()
		}
		synctest.Wait()
		for _, it := range items {
			require.ErrorIs(t, <-it.done, context.DeadlineExceeded)
		}
		require.LessOrEqual(t, time.Since(start), 31*time.Second, "the callers of one failed batch wait one deadline")
		require.Equal(t, int32(1), runs.Load(), "the batch was not retried item by item")
	})
}

// TestGroupCommit_ItemErrorRetriesAlone: a batch that fails for a reason
// that may be one item's is retried one item per transaction, so that only
// that item fails; when the database fails during those retries, the
// items left fail at once with its error.
func TestGroupCommit_ItemErrorRetriesAlone(t *testing.T) {
	t.Parallel()
	refused := &pgconn.PgError{Code: "23505", Message: "duplicate key value violates unique constraint"}
	tests := []struct {
		name string
		// fail is the error of a transaction of items, nil when it commits.
		fail func(items []int) error
		want []error // each item's error, in order
		runs int
	}{
		{
			name: "one bad item",
			fail: func(items []int) error {
				if slices.Contains(items, 1) {
					return refused
				}
				return nil
			},
			want: []error{nil, refused, nil},
			runs: 4,
		},
		{
			name: "the database fails meanwhile",
			fail: func(items []int) error {
				switch {
				case len(items) > 1:
					return refused
				case items[0] == 0:
					return nil
				}
				return driver.ErrBadConn
			},
			want: []error{nil, driver.ErrBadConn, driver.ErrBadConn},
			runs: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var runs atomic.Int32
				run := func(_ context.Context, items []indexItem) error {
					runs.Add(1)
					idx := make([]int, len(items))
					for i, it := range items {
						idx[i] = it.i
					}
					return tt.fail(idx)
				}
				g := newGroupCommit(time.Second, len(tt.want), slog.New(slog.NewTextHandler(io.Discard, nil)), &writeHealth{}, run)
				g.start(1)
				defer g.close()
				items := make([]indexItem, len(tt.want))
				for i := range items {
					items[i] = indexItem{i: i, done: make(chan error, 1)}
					require.NoError(t, g.submit(context.Background(), items[i]))
				}
				for i, it := range items {
					err := <-it.done
					if tt.want[i] == nil {
						require.NoError(t, err, "item %d", i)
					} else {
						require.ErrorIs(t, err, tt.want[i], "item %d", i)
					}
				}
				require.Equal(t, int32(tt.runs), runs.Load())
			})
		})
	}
}

// indexItem is a testItem that knows its place.
type indexItem struct {
	i    int
	done chan error
}

func (it indexItem) finish(err error) { it.done <- err }

// sqliteError is an error of modernc.org/sqlite's shape.
type sqliteError struct{ code int }

func (e sqliteError) Error() string { return fmt.Sprintf("sqlite error %d", e.code) }
func (e sqliteError) Code() int     { return e.code }

func TestItemError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		item bool
	}{
		{"unique violation", fmt.Errorf("insert jobs: %w", &pgconn.PgError{Code: "23505"}), true},
		{"invalid byte sequence", &pgconn.PgError{Code: "22021"}, true},
		{"invalid value", fmt.Errorf("jobs: %w: bad name", store.ErrInvalid), true},
		{"an error of the queue's own", errors.New("insert jobs: inserted 3 records of 4"), true},
		{"SQLite constraint", sqliteError{code: 19 | 5<<8}, true},
		{"lock timeout", fmt.Errorf("idempotency key: %w", &pgconn.PgError{Code: "55P03"}), true},
		{"deadline", fmt.Errorf("begin: %w", context.DeadlineExceeded), false},
		{"cancelled", context.Canceled, false},
		{"closed queue", errClosed, false},
		{"bad connection", fmt.Errorf("x (rollback: y) %w", driver.ErrBadConn), false},
		{"connection done", sql.ErrConnDone, false},
		{"transaction done before its commit", fmt.Errorf("commit: %w", sql.ErrTxDone), false},
		{"pgx transaction closed", fmt.Errorf("commit: %w", pgx.ErrTxClosed), false},
		{"unexpected EOF", fmt.Errorf("commit: %w", io.ErrUnexpectedEOF), false},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, false},
		{"storage full", &pgconn.PgError{Code: "53100"}, false},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, false},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, false},
		{"connection failure", &pgconn.PgError{Code: "08006"}, false},
		{"SQLite busy", sqliteError{code: 5}, false},
		{"SQLite I/O error", sqliteError{code: 10 | 3<<8}, false},
		{"SQLite full", sqliteError{code: 13}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.item, itemError(tt.err))
		})
	}
}
