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
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookhost/hookhost/host/store"
)

// errClosed is returned for work handed to a queue that is shutting down.
var errClosed = errors.New("jobs: queue is closed")

// batchItem is one piece of work of a group commit.
type batchItem interface {
	// finish delivers the outcome to whoever waits for the item.
	finish(err error)
}

// groupCommit collects items submitted concurrently and writes them in one
// transaction each batch: one fsync for many callers. The first item of a
// batch waits up to delay for company, or until max items are in. When a
// batch fails for a reason that may be one item's, its items are retried
// one per transaction, so that one bad item does not fail the others
// (flush).
type groupCommit[T batchItem] struct {
	// run writes and commits one batch (in one transaction).
	run    func(ctx context.Context, items []T) error
	delay  time.Duration
	max    int
	log    *slog.Logger
	health *writeHealth

	in     chan T
	mu     sync.RWMutex // held for reading while submitting
	closed bool
	quit   chan struct{}
	wg     sync.WaitGroup
}

// newGroupCommit returns a group commit whose batches run run, which must
// write the items in one transaction and commit it (sqlBatch adapts a
// function of a database/sql transaction).
func newGroupCommit[T batchItem](delay time.Duration, max int, log *slog.Logger, health *writeHealth,
	run func(ctx context.Context, items []T) error) *groupCommit[T] {
	return &groupCommit[T]{run: run, delay: delay, max: max, log: log, health: health,
		in: make(chan T), quit: make(chan struct{})}
}

// sqlBatch runs commit in a database/sql transaction of db and commits it.
func sqlBatch[T any](db *sql.DB, commit func(ctx context.Context, tx *sql.Tx, items []T) error) func(ctx context.Context, items []T) error {
	return func(ctx context.Context, items []T) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := commit(ctx, tx, items); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
}

// start runs n committing goroutines (one on SQLite: a single writer).
func (g *groupCommit[T]) start(n int) {
	for range n {
		g.wg.Add(1)
		go g.loop()
	}
}

// submit hands item over; its finish is called once it is committed or
// failed. It fails at once when the group is closed or ctx ends first.
func (g *groupCommit[T]) submit(ctx context.Context, item T) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return errClosed
	}
	select {
	case g.in <- item:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops accepting items, lets the batches in progress commit and
// waits for the goroutines.
func (g *groupCommit[T]) close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	close(g.quit)
	g.wg.Wait()
}

func (g *groupCommit[T]) loop() {
	defer g.wg.Done()
	batch := make([]T, 0, g.max)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		batch = batch[:0]
		select {
		case it := <-g.in:
			batch = append(batch, it)
		case <-g.quit:
			return
		}
		if g.delay > 0 {
			timer.Reset(g.delay)
		collect:
			for len(batch) < g.max {
				select {
				case it := <-g.in:
					batch = append(batch, it)
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
		}
	drain:
		for len(batch) < g.max {
			select {
			case it := <-g.in:
				batch = append(batch, it)
			default:
				break drain
			}
		}
		g.flush(batch)
		clear(batch) // the next batch's [:0] would keep these items, and their requests, reachable
	}
}

// groupCommitTimeout bounds a group commit's transaction (groupCommit.tx).
const groupCommitTimeout = 30 * time.Second

// defaultLockTimeout is the default lock_timeout of the group commits'
// transactions on PostgreSQL (Config.LockTimeout, lockStmts), well under
// groupCommitTimeout: a transaction that waits that long for a lock (a row
// another transaction holds: an idempotency key or a job record written by
// a server cut off in the middle of its transaction, which PostgreSQL
// keeps until TCP keepalive notices, for hours) fails with
// lock_not_available (55P03), one item's error (itemError), rather than
// running into the deadline, which counts as the database's failure and
// fails every item of the batch, on every redelivery of that item.
// Retried alone, the item that waits fails again after the lock timeout,
// and the others commit.
const defaultLockTimeout = 5 * time.Second

// lockStmts are the statements that set a group commit's lock_timeout on
// PostgreSQL (Config.LockTimeout), written once per queue.
type lockStmts struct {
	// set sets lock_timeout until the end of the transaction it runs in
	// (set_config's is_local, as SET LOCAL, but without SET LOCAL's
	// warning in an implicit transaction: pgxWrites's pipeline). It takes
	// no parameters: sent alone it runs in the simple protocol, and it can
	// follow BEGIN in one query (begin). Its milliseconds are
	// Config.LockTimeout's (TestLockTimeout_OfTheTransactionOnly).
	set string
	// begin begins pgxTx's transactions and sets their lock_timeout (set)
	// in one query: pgx sends a query without arguments in the simple
	// protocol, which runs both statements of the text, and the
	// transaction BEGIN opened goes on after it.
	begin string
}

// newLockStmts returns the statements that set lock_timeout to d (whole
// milliseconds).
func newLockStmts(d time.Duration) lockStmts {
	set := "SELECT set_config('lock_timeout', '" + strconv.FormatInt(d.Milliseconds(), 10) + "', true)"
	return lockStmts{set: set, begin: "BEGIN; " + set}
}

// flush commits a batch. When it fails for a reason that may be one
// item's (itemError), its items are retried one per transaction, so that
// one bad item does not fail the others; when the database itself failed
// (out of time, unreachable, full), every item fails at once: retried
// alone, each would wait for the same failure, one transaction deadline
// after another (a full batch's last caller, 257 of them), while every
// new caller waits behind them.
func (g *groupCommit[T]) flush(batch []T) {
	err := g.tx(batch)
	if err != nil && len(batch) > 1 && itemError(err) {
		g.log.Warn("job group commit failed; retrying one by one", "items", len(batch), "error", err)
		for i, it := range batch {
			if r, ok := any(it).(rerunItem); ok {
				r.rerun()
			}
			err := g.tx([]T{it})
			it.finish(err)
			if err != nil && !itemError(err) {
				// The database failed meanwhile: the rest would too.
				for _, rest := range batch[i+1:] {
					rest.finish(err)
				}
				return
			}
		}
		return
	}
	for _, it := range batch {
		it.finish(err)
	}
}

// rerunItem is a batchItem told when it runs again alone because its batch
// failed: a batch whose commit's answer was lost may have committed.
type rerunItem interface {
	rerun()
}

// itemError reports whether a batch's err may be the doing of one of its
// items (a statement the server refused: a unique violation, a value it
// does not take, a lock it waited for past its lock_timeout,
// store.ErrInvalid), rather than of the database: the transaction's deadline or a
// cancellation (database/sql's transaction rolled back when its deadline
// passed just before the commit: sql.ErrTxDone), a connection that failed
// or could not be made, a full disk, a server shutting down or out of
// resources, a SQLite database busy or failing its I/O. Those fail every
// item alike.
func itemError(err error) bool {
	if err == nil {
		return false
	}
	for _, target := range []error{context.DeadlineExceeded, context.Canceled, errClosed, store.ErrStorageFull,
		driver.ErrBadConn, sql.ErrConnDone, sql.ErrTxDone, pgx.ErrTxClosed, io.EOF, io.ErrUnexpectedEOF, net.ErrClosed} {
		if errors.Is(err, target) {
			return false
		}
	}
	if store.IsStorageFull(err) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return false
	}
	var (
		netErr     net.Error
		connectErr *pgconn.ConnectError
	)
	if errors.As(err, &netErr) || errors.As(err, &connectErr) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:min(2, len(pgErr.Code))] {
		case "08", // connection exception
			"53", // insufficient resources (disk full, out of memory, too many connections)
			"57", // operator intervention (a shutdown, a statement timeout)
			"58", // system error (I/O)
			"XX": // internal error
			return false
		}
		return true
	}
	// modernc.org/sqlite: the primary result code is the low byte.
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case sqliteBusy, sqliteLocked, sqliteNoMem, sqliteReadOnly, sqliteIOErr, sqliteCorrupt, sqliteFull, sqliteCantOpen:
			return false
		}
	}
	return true
}

// SQLite's primary result codes that are the database's, not a
// statement's.
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteCorrupt  = 11
	sqliteFull     = 13
	sqliteCantOpen = 14
)

// tx runs one transaction of items. A disk-full error is wrapped with
// store.ErrStorageFull; the outcome feeds Queue.Healthy.
func (g *groupCommit[T]) tx(items []T) error {
	ctx, cancel := context.WithTimeout(context.Background(), groupCommitTimeout)
	defer cancel()
	err := g.run(ctx, items)
	if store.IsStorageFull(err) && !errors.Is(err, store.ErrStorageFull) {
		err = fmt.Errorf("%w: %w", store.ErrStorageFull, err)
	}
	g.health.note(err)
	return err
}

// writeHealth is since when the queue's writes fail, and the latest
// failure (Queue.Healthy).
type writeHealth struct {
	mu    sync.Mutex
	since time.Time // zero: writes succeed
	err   error
}

// note records the outcome of a write. A caller's mistake
// (store.ErrInvalid) says nothing about the database.
func (h *writeHealth) note(err error) {
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, context.Canceled) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.since, h.err = time.Time{}, nil
	case h.since.IsZero():
		h.since, h.err = time.Now(), err
	default:
		h.err = err
	}
}

// get returns nil, or a *store.WritesFailingError.
func (h *writeHealth) get() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.since.IsZero() {
		return nil
	}
	return &store.WritesFailingError{Since: h.since, Err: h.err}
}

// probeLoop tries Config.ProbeWrite every ProbeInterval while the queue's
// writes fail, until ctx ends; a write that succeeds clears the failure
// (Config.ProbeWrite). Without ProbeWrite it only waits for ctx.
func (q *Queue) probeLoop(ctx context.Context, done chan<- struct{}) {
	if q.cfg.ProbeWrite == nil {
		<-ctx.Done()
		close(done)
		return
	}
	every(ctx, done, q.cfg.ProbeInterval, func() {
		if q.health.get() == nil {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := q.cfg.ProbeWrite(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if store.IsStorageFull(err) && !errors.Is(err, store.ErrStorageFull) {
			err = fmt.Errorf("%w: %w", store.ErrStorageFull, err)
		}
		q.health.note(err)
		if err == nil {
			q.log.Info("job queue writes work again")
		}
	})
}
