package dispatch

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/reqlog"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/templates/dict"
)

// RecorderConfig configures the run recorder: how run records are queued,
// written, capped and pruned. Zero fields take the defaults listed.
type RecorderConfig struct {
	// Retention bounds the run history by age and total size (see
	// store.RunRetention): 7 days and 256 MiB by default.
	Retention store.RunRetention
	// PruneInterval is how often the recorder prunes the run history (a
	// pass also runs when it starts). Default 1m. Negative: never.
	PruneInterval time.Duration
	// BodyLimit caps the request body kept in a record's inputs, the
	// record's encoded return dictionary, and its error, in bytes: what is
	// past it is cut, marked "…[truncated N bytes]" (and body_truncated
	// true in the inputs). Default DefaultRunBodyLimit (64 KiB). Negative:
	// no cap.
	BodyLimit int
	// WriteRetries is how many times a batch that failed to be written is
	// written again before its records are dropped (and counted). Default
	// 3. Negative: none.
	WriteRetries int
	// RetryBackoff is the delay before the first retry of a batch; it
	// doubles for each next one. Default 100ms.
	RetryBackoff time.Duration
	// ProbeInterval is how often, while the store's writes fail, the
	// recorder tries a small write (store.ProbeWrite) to learn that they
	// work again, when no run arrives to find out. Default 5s.
	ProbeInterval time.Duration
	// Queue is how many records wait to be written before new ones are
	// dropped (and counted). Default 8192.
	Queue int
	// QueueBytes bounds the bytes of the records that wait to be written
	// (their JSON fields, see runBytes), whatever their number: a record
	// arriving while that many are waiting is dropped (and counted, as
	// for a full Queue). It bounds the memory a write that stalls (a slow
	// disk, a checkpoint) lets the queue take: 8,192 records of requests
	// with 64 KiB bodies would hold about a gigabyte. Default
	// DefaultRecorderQueueBytes. Negative: no bound beyond Queue.
	QueueBytes int
	// OnWritten, when set, is called on the recorder's goroutine with the
	// records just written (the live event stream). It must not block.
	OnWritten func([]*store.Run)
}

// Recorder defaults (RecorderConfig), and its batches: a batch is written
// when it holds the batch size the recorder chose (batchSizer: between
// recorderMinBatch and recorderBatch records) or recorderLinger after its
// first record.
// Each transaction costs the same whatever it holds (SQLite writes the last
// page of the table and of every index to the WAL again), so larger batches
// make a record cheaper: BenchmarkRecorder/Record cost about 26 µs of CPU a
// record flushed every 32, 17 every 256, 15 every 512, when each batch was
// also synced (about 9 µs every 256 since batches commit with
// synchronous=NORMAL on 16 KiB pages). But a batch is written in one go on
// one goroutine: about 3 ms of CPU for the 200 records that 2,000 requests
// a second leave in recorderLinger, which held one of the server's Ps (and
// a core) away from the requests answered meanwhile. So the recorder writes
// batches of recorderMinBatch records while writing keeps it busy only a
// small part of the time, and larger ones (up to recorderBatch) when it is
// busier: under saturation, batches are full as before.
// A record shows in the lists and the live stream up to recorderLinger
// after its request was answered.
const (
	DefaultRunBodyLimit = 64 << 10
	recorderQueue       = 8192
	recorderBatch       = 512
	recorderMinBatch    = 64
	recorderLinger      = 100 * time.Millisecond
	// DefaultRecorderQueueBytes is RecorderConfig.QueueBytes's default.
	DefaultRecorderQueueBytes = 32 << 20
	// recorderBatchBytes ends a batch when its records hold that many
	// bytes, whatever the batch size: a batch's records, and the next
	// one's filling meanwhile, are the bulk of the server's live heap
	// when requests carry bodies (512 records of a 16 KiB body each hold
	// 17 MB), and the heap goal is a multiple of the live heap. A
	// transaction costs about 0.12 ms, a few hundred bytes' worth of a
	// record's writing, so a batch of 2 MiB pays for it in under 1% of
	// its own cost.
	recorderBatchBytes = 2 << 20
)

func (c *RecorderConfig) defaults() {
	c.Retention = c.Retention.WithDefaults()
	if c.PruneInterval == 0 {
		c.PruneInterval = time.Minute
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = DefaultRunBodyLimit
	}
	if c.WriteRetries == 0 {
		c.WriteRetries = 3
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 100 * time.Millisecond
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = 5 * time.Second
	}
	if c.Queue <= 0 {
		c.Queue = recorderQueue
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = DefaultRecorderQueueBytes
	}
}

// RecorderStats are the recorder's counters and write state.
type RecorderStats struct {
	// Written counts the records written.
	Written int64
	// Dropped counts the records not written: QueueFull of them because
	// the queue was full, WriteFailed because their batch could not be
	// written through every retry, AfterClose because they were made
	// after the recorder closed (a run that outlived the shutdown).
	Dropped, QueueFull, WriteFailed, AfterClose int64
	// Skipped counts the records not made because the webhook's event KATA
	// history: block leaves them out (record: errors or none, sample).
	Skipped int64
	// FailingSince is when the recorder's writes began to fail (zero while
	// they succeed), and LastError the latest failure.
	FailingSince time.Time
	LastError    error
}

// recorder writes run records in batches, off the request path, and keeps
// the run history within its retention. When its queue is full, records
// are dropped and counted, never waited for; a batch the store refuses is
// retried with backoff, then dropped and counted.
type recorder struct {
	st  store.Store
	log *slog.Logger
	cfg RecorderConfig
	ch  chan recItem

	done chan struct{}
	once sync.Once
	// closing guards ch: record and flushContext send under its read lock
	// while closed is false; Close sets closed and closes ch under its
	// write lock. A record made after Close (a run that outlived the
	// server's shutdown) is dropped and counted (late), never sent on the
	// closed channel.
	closing sync.RWMutex
	closed  bool
	// late counts the records dropped because they came after Close.
	late atomic.Int64
	// stop ends the maintenance goroutine (pruning, probes); maintained
	// is closed when it has.
	stop       chan struct{}
	maintained chan struct{}

	// dropped is every record not written (queueFull + writeFailed +
	// late).
	dropped, queueFull, writeFailed, written atomic.Int64
	// skipped counts the records a history: block left out.
	skipped atomic.Int64
	// queuedBytes is the runBytes of the records queued and not yet
	// written (or dropped).
	queuedBytes atomic.Int64

	// now is the clock the batch sizes are chosen by (time.Now; tests
	// replace it before the recorder's goroutine reads it).
	now func() time.Time
	// size chooses the batch sizes; only the recorder's goroutine uses it.
	size batchSizer

	mu           sync.Mutex
	failingSince time.Time // zero: writes succeed
	lastErr      error
}

// recItem is a run record to write, or a flush request.
type recItem struct {
	run     *store.Run
	flushed chan struct{}
}

// newRecorder starts a recorder writing to st, configured by the first of
// cfg (defaults without one).
func newRecorder(st store.Store, log *slog.Logger, cfg ...RecorderConfig) *recorder {
	var c RecorderConfig
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.defaults()
	r := &recorder{st: st, log: log, cfg: c, ch: make(chan recItem, c.Queue), done: make(chan struct{}),
		stop: make(chan struct{}), maintained: make(chan struct{}), now: time.Now,
		size: newBatchSizer(recorderMinBatch, recorderBatch, recorderLinger)}
	go r.loop()
	go r.maintain()
	return r
}

// record builds a run record (pendingRun.finish) and queues it, unless its
// webhook's history: block leaves it out (counted as skipped) or the queue
// is full (dropped and counted).
//
// The record is built here, on the caller's goroutine, rather than by the
// recorder when it takes the record from the queue: the queue then holds
// the compact record (its JSON fields are byte slices, which the garbage
// collector does not scan) instead of the pendingRun, which is part of its
// request's exchange and keeps the request, the automation's inputs and
// result, and the answer reachable. Under load a batch fills for up to
// recorderLinger, and those exchanges were two fifths of the server's live
// heap: the collector marked them on every cycle, and the heap goal (twice
// the live heap) grew with them.
func (r *recorder) record(run *pendingRun) {
	if !run.kept() {
		r.skipped.Add(1)
		return
	}
	if len(r.ch) == cap(r.ch) || (r.cfg.QueueBytes > 0 && r.queuedBytes.Load() >= int64(r.cfg.QueueBytes)) {
		// No room: not worth building the record (the send below may
		// still find the queue full). The bytes are checked before the
		// record is built, so the records being built at once may take
		// the queue past QueueBytes by one record each.
		r.full()
		return
	}
	rec := run.finish(r.cfg.BodyLimit)
	n := int64(runBytes(rec))
	r.queuedBytes.Add(n)
	r.closing.RLock()
	if r.closed {
		r.closing.RUnlock()
		r.queuedBytes.Add(-n)
		r.afterClose(rec)
		return
	}
	select {
	case r.ch <- recItem{run: rec}:
	default:
		r.queuedBytes.Add(-n)
		r.full()
	}
	r.closing.RUnlock()
}

// afterClose counts (as dropped) and logs a record made after Close.
func (r *recorder) afterClose(rec *store.Run) {
	r.late.Add(1)
	n := r.dropped.Add(1)
	r.log.Warn("run record made after the run history closed (a run that outlived the shutdown); dropped",
		"run_id", rec.ID, "status", rec.Status, "dropped", n)
}

// runBytes is what a queued record holds beyond its fixed fields: its
// JSON fields and its error, the sizes QueueBytes and recorderBatchBytes
// count.
func runBytes(run *store.Run) int {
	return len(run.Inputs) + len(run.Output) + len(run.Log) + len(run.Error)
}

// full counts a record dropped because the queue was full.
func (r *recorder) full() {
	r.queueFull.Add(1)
	if n := r.dropped.Add(1); n == 1 || n%1000 == 0 {
		r.log.Warn("run history queue full; runs dropped", "dropped", n)
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	batch := make([]*store.Run, 0, recorderBatch)
	var waiters []chan struct{}
	bytes := 0
	take := func(it recItem) {
		if it.run != nil {
			batch = append(batch, it.run)
			bytes += runBytes(it.run)
		} else {
			waiters = append(waiters, it.flushed)
		}
	}
	for it := range r.ch {
		batch, waiters, bytes = batch[:0], waiters[:0], 0
		take(it)
		size := r.size.next()
		linger := time.NewTimer(recorderLinger)
	fill:
		for len(batch) < size && bytes < recorderBatchBytes && it.flushed == nil {
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
			start := r.now()
			r.write(batch)
			r.queuedBytes.Add(-int64(bytes))
			// The written records must not stay reachable from the
			// slice's backing array while the next batch fills.
			clear(batch)
			r.size.wrote(len(batch), len(r.ch), start, r.now())
		}
		for _, w := range waiters {
			close(w)
		}
	}
}

// batchSizer chooses the size at which the recorder writes a batch, by
// how busy writing keeps the recorder: its duty, the part of the time
// between the ends of two writes that the second one took (its wait for
// the store's connection, and for a core, included), smoothed over the
// last writes. Above dutyHigh the size doubles, up to max, if records
// arrive fast enough to fill the doubled size within linger, or the queue
// holds a full batch already (the rate of the records written says no more
// than what the writes let through: with commits over linger/2, a slow
// disk, it would keep the size at the minimum while the queue fills);
// below dutyLow it halves, down to min; in between it stays.
//
// Writing a record takes about the same time whatever the batch, so the
// duty follows the arrival rate (about 10 µs of CPU a record here: 2%
// at 2,000 records a second), and a busy or crowded machine, where each
// write takes longer, raises it. Small batches cost a transaction each
// (about 0.12 ms: BenchmarkRecorderWrite/1): at low rates that is a little CPU for short writes,
// which leave the cores to the requests; at high rates, and whenever the
// machine is short of CPU, the size goes up, as far as the rate fills it
// (to max under saturation), the cheapest per record.
//
// The arrival rate bounds the growth because a batch cut by the linger
// costs a long write for nothing: a WAL checkpoint (every 55 or so
// batches of 64 at 2,000 records a second; 58–154 ms with its fsync on a
// loaded machine) and the backlog written right after it grew the size
// from 64 to 256 or 512, whose batches then held the 200 records of a
// linger, 2–8 ms a write, for about 0.3 s after every checkpoint: in the
// default configuration at a fixed 2,000 requests a second, the requests
// answered meanwhile were 1.3–12.5% of all and 0–32% of the slowest 1%
// (six rounds of a throwaway build that logged every write, against
// every request's start and latency).
type batchSizer struct {
	min, max int
	size     int
	// linger is how long a batch waits to fill (recorderLinger).
	linger time.Duration
	// duty is the smoothed duty (of no write yet while sampled is
	// false); lastEnd is when the last write ended (zero before the
	// first).
	duty    float64
	sampled bool
	lastEnd time.Time
	// records and span are the records written and the time between the
	// first and the last write's end, each record and nanosecond weighing
	// less with its age (rateWindow): their ratio is the arrival rate.
	records, span float64
}

// The batchSizer's thresholds: the duty above which batches grow, and
// below which they shrink. Halving a batch adds at most a transaction per
// 64 records to the duty (rate × 0.12 ms / 64: 0.75% at 4,000 records a
// second), less than the gap, so that the size does not swing between two
// steps. The gap is narrow enough that a rate whose full batches keep the
// recorder 5% busy (4,000 a second here) comes down to small ones after a
// burst of saturation.
//
// The arrival rate is that of the records written over about the last
// rateWindow: long enough that a backlog written at once counts with the
// time its records arrived in, short enough that the size follows a new
// rate within a few batches. At 2,000 records a second (200 a linger)
// batches stay at 64 records, or 128 after a checkpoint; above 5,120 a
// second they can reach 512.
const (
	dutyHigh   = 0.10
	dutyLow    = 0.07
	rateWindow = 500 * time.Millisecond
)

// newBatchSizer returns a batchSizer between lo and hi records, at lo,
// whose batches wait up to linger to fill.
func newBatchSizer(lo, hi int, linger time.Duration) batchSizer {
	return batchSizer{min: lo, max: hi, size: lo, linger: linger}
}

// next returns the size of the next batch.
func (s *batchSizer) next() int { return s.size }

// wrote takes the duty of a write of n records from start to end, after
// which waiting records were queued, and chooses the next size.
func (s *batchSizer) wrote(n, waiting int, start, end time.Time) {
	first := s.lastEnd.IsZero()
	cycle := end.Sub(s.lastEnd)
	s.lastEnd = end
	if first || cycle <= 0 {
		return
	}
	// The records that arrived in the cycle are the n written (those of
	// a backlog came during the cycles before, and count with them).
	decay := math.Exp(-float64(cycle) / float64(rateWindow))
	s.records = s.records*decay + float64(n)
	s.span = s.span*decay + float64(cycle)
	// Half of it the last write's, half the ones before; one write counts
	// for at most 2*dutyHigh, so that a write that waited out a checkpoint
	// (or a stall of the machine) grows a small size by one step, not to
	// max.
	d := min(float64(end.Sub(start))/float64(cycle), 2*dutyHigh)
	if s.sampled {
		s.duty = (s.duty + d) / 2
	} else {
		s.duty, s.sampled = d, true
	}
	switch {
	case s.duty > dutyHigh && (float64(2*s.size)*s.span <= s.records*float64(s.linger) || waiting >= s.size):
		s.size = min(2*s.size, s.max)
	case s.duty < dutyLow:
		s.size = max(s.size/2, s.min)
	}
}

// write writes a batch in one transaction, retrying it with backoff up to
// WriteRetries times; then its records are dropped and counted. Records
// get their IDs first, so that a retry after a commit whose answer was lost
// finds them written (a conflict) instead of writing them twice. A batch
// the store refuses for one of its records (a conflict, an invalid ID) is
// written one record at a time.
func (r *recorder) write(batch []*store.Run) {
	for _, run := range batch {
		if run.ID == "" {
			run.ID = newRunID()
		}
	}
	delay := r.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		err := r.insert(batch)
		switch {
		case err == nil:
			r.wrote(len(batch))
			if r.cfg.OnWritten != nil {
				r.cfg.OnWritten(batch)
			}
			return
		case errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid):
			r.writeEach(batch)
			return
		case attempt >= r.cfg.WriteRetries:
			r.failed(len(batch), err)
			return
		}
		r.noteFailure(err)
		r.log.Warn("write run history failed; retrying", "runs", len(batch), "retry", attempt+1, "in", delay, "error", err)
		t := time.NewTimer(delay)
		<-t.C
		delay *= 2
	}
}

// writeEach writes the records of a batch one by one. A record whose ID is
// taken is written already (by an attempt whose answer was lost).
func (r *recorder) writeEach(batch []*store.Run) {
	for _, run := range batch {
		err := r.insert([]*store.Run{run})
		switch {
		case err == nil || errors.Is(err, store.ErrConflict):
			r.wrote(1)
			if err == nil && r.cfg.OnWritten != nil {
				r.cfg.OnWritten([]*store.Run{run})
			}
		case errors.Is(err, store.ErrInvalid):
			// The record's fault, not the store's.
			r.writeFailed.Add(1)
			r.dropped.Add(1)
			r.log.Error("run record refused; dropped", "run_id", run.ID, "error", err)
		default:
			r.failed(1, err)
		}
	}
}

func (r *recorder) insert(runs []*store.Run) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.st.InsertRuns(ctx, runs)
}

// wrote counts n records written and clears the failing state.
func (r *recorder) wrote(n int) {
	r.written.Add(int64(n))
	r.mu.Lock()
	r.failingSince, r.lastErr = time.Time{}, nil
	r.mu.Unlock()
}

// failed counts n records dropped because writing them failed.
func (r *recorder) failed(n int, err error) {
	r.writeFailed.Add(int64(n))
	total := r.dropped.Add(int64(n))
	r.noteFailure(err)
	r.log.Error("write run history failed; runs dropped", "runs", n, "dropped", total, "error", err)
}

// noteFailure records a failed write in the failing state.
func (r *recorder) noteFailure(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failingSince.IsZero() {
		r.failingSince = time.Now()
	}
	r.lastErr = err
}

// stats returns the counters and write state.
func (r *recorder) stats() RecorderStats {
	r.mu.Lock()
	since, last := r.failingSince, r.lastErr
	r.mu.Unlock()
	return RecorderStats{Written: r.written.Load(), Dropped: r.dropped.Load(), QueueFull: r.queueFull.Load(),
		WriteFailed: r.writeFailed.Load(), AfterClose: r.late.Load(), Skipped: r.skipped.Load(), FailingSince: since, LastError: last}
}

// healthy returns nil while run records are written, else a
// *store.WritesFailingError (wrapping store.ErrStorageFull when the disk is
// full): the recorder's own failing writes, or the store's (store.Healthy,
// which admin writes feed too). It reads state only.
func (r *recorder) healthy() error {
	r.mu.Lock()
	since, last := r.failingSince, r.lastErr
	r.mu.Unlock()
	if !since.IsZero() {
		return &store.WritesFailingError{Since: since, Err: last}
	}
	return r.st.Healthy()
}

// maintain prunes the run history when the recorder starts and every
// PruneInterval, and while writes fail probes every ProbeInterval whether
// they work again.
func (r *recorder) maintain() {
	defer close(r.maintained)
	var pruneC <-chan time.Time
	if r.cfg.PruneInterval > 0 {
		t := time.NewTicker(r.cfg.PruneInterval)
		defer t.Stop()
		pruneC = t.C
		r.pruneLogged()
	}
	probe := time.NewTicker(r.cfg.ProbeInterval)
	defer probe.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-pruneC:
			r.pruneLogged()
		case <-probe.C:
			if r.healthy() != nil {
				r.probe()
			}
		}
	}
}

// probe makes one small write; when it succeeds, the recorder's failing
// state clears (the store's clears itself).
func (r *recorder) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.st.ProbeWrite(ctx); err != nil {
		r.noteFailure(err)
		return
	}
	r.mu.Lock()
	r.failingSince, r.lastErr = time.Time{}, nil
	r.mu.Unlock()
	r.log.Info("store writes work again")
}

// prune runs one pruning pass of the run history (store.PruneRuns with the
// configured retention) and returns what it did.
func (r *recorder) prune(ctx context.Context) (store.PruneResult, error) {
	return r.st.PruneRuns(ctx, r.cfg.Retention, time.Now())
}

func (r *recorder) pruneLogged() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := r.prune(ctx)
	switch {
	case err != nil:
		r.log.Warn("prune run history", "error", err)
	case res.ByAge+res.BySize > 0:
		r.log.Info("run history pruned", "by_age", res.ByAge, "by_size", res.BySize, "bytes_left", res.Bytes)
	}
}

// flush waits until every run queued before it is written (or dropped).
func (r *recorder) flush() { r.flushContext(context.Background()) }

// flushContext waits until every run queued before it is written (or
// dropped), or until ctx ends; it reports whether they were.
func (r *recorder) flushContext(ctx context.Context) bool {
	ch := make(chan struct{})
	r.closing.RLock()
	if r.closed {
		// Close wrote everything queued.
		r.closing.RUnlock()
		return true
	}
	select {
	case r.ch <- recItem{flushed: ch}:
	case <-ctx.Done():
		r.closing.RUnlock()
		return false
	}
	r.closing.RUnlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// Close writes what is queued and stops the recorder.
func (r *recorder) Close() error {
	r.once.Do(func() {
		r.closing.Lock()
		r.closed = true
		close(r.ch)
		r.closing.Unlock()
		<-r.done
		close(r.stop)
		<-r.maintained
	})
	return nil
}

// pendingRun is a run record before its JSON fields are built: what
// recorder.record makes the record of (finish).
type pendingRun struct {
	run      store.Run
	req      automations.HTTPRequest
	res      *automations.Result
	logLimit int
	// red removes secret values and tokens from every string of the
	// record.
	red *redact.Redactor
	// credentialHeaders are the headers the webhook's verify blocks read
	// credentials from.
	credentialHeaders []string
	// entry is the request's access log entry.
	entry *reqlog.Entry
	// replayOf names the record a replay repeats.
	replayOf string
	// history is the webhook's history: block (nil: keep every record).
	history *automations.EventHistory
	// caller, when callerKnown, is red.CallerRedaction of the request's
	// headers (nil: none), made already by the request's own work (a
	// durable 202's shown inputs): finish does not build it again.
	caller      func(string) string
	callerKnown bool
}

// kept reports whether the webhook's history: block keeps this record. A
// failed run or a refused request (an error status, an error message or a
// refusal cause) is kept unless the block says record: none; a successful
// one when it says all, 1 in sample of them on average. A replay, which an
// operator asked for, is always kept.
func (p *pendingRun) kept() bool {
	h := p.history
	if h == nil || p.replayOf != "" {
		return true
	}
	failed := p.run.Status >= 400 || p.run.Error != "" || p.run.Cause != "" || (p.res != nil && p.res.Exit == automations.ExitError)
	switch h.Record {
	case automations.HistoryNone:
		return false
	case automations.HistoryErrors:
		return failed
	}
	return failed || h.Sample <= 1 || rand.IntN(h.Sample) == 0
}

// finish returns the record: p.run with its inputs, output and log built,
// redacted, with the request body, the encoded return dictionary and the
// error capped at limit bytes (none when negative). The record is a copy,
// which holds none of p's references (see recorder.record).
func (p *pendingRun) finish(limit int) *store.Run {
	r := new(store.Run)
	*r = p.run
	headers := p.red.Headers(p.req.Headers, p.credentialHeaders...)
	query := make([][2]string, len(p.req.Query))
	for i, kv := range p.req.Query {
		v := kv[1]
		if redact.CredentialParam(kv[0]) {
			v = redact.Marker
		}
		query[i] = [2]string{kv[0], p.red.Redact(v)}
	}
	// The caller's own credentials (an Authorization value, a signature,
	// the value of a header the webhook's verify blocks read) are redacted
	// wherever the automation echoed them; credential fields of a form or
	// JSON body as in the parameters. The caller's answer is unchanged:
	// this is the record.
	// The body's credential fields are read with its redaction, in one
	// look for credential names (callerRedaction's own look would be a
	// second one over a large payload).
	rb, bodyFields := redact.BodyFields(p.req.Body, headerValue(p.req.Headers, "Content-Type"))
	red := p.red.Redact
	cr := p.caller
	if !p.callerKnown {
		fields := append(redact.PairCredentials(p.req.Query, p.req.Form), bodyFields...)
		cr = p.red.CallerRedaction(p.req.Headers, fields, p.credentialHeaders...)
	}
	if cr != nil {
		red = cr
	}
	// Redacted whole, then cut: a cut never leaves part of a secret. The
	// body is read in place (the request's own bytes, or redact.Body's
	// copy): the record's inputs copy what is kept of it, and nothing
	// keeps the string past this call. string() copied it, 16 KiB for a
	// 16 KiB payload.
	body, cut := truncate(red(unsafe.String(unsafe.SliceData(rb), len(rb))), limit)
	r.Inputs = recordInputs{method: p.req.Method, path: p.red.Redact(p.req.Path), headers: headers, query: query,
		body: body, bodyTruncated: cut, clientIP: p.req.ClientIP}.encode()
	if p.res != nil {
		if p.res.Return != nil {
			// The extension's JSON when redaction changes nothing, neither
			// in the dictionary (Walk returns it itself) nor in the JSON
			// (which may hold what decoding dropped: a repeated key's first
			// value); else the redacted dictionary's.
			if raw := p.res.ReturnJSON; raw == nil {
				r.Output = encodeRedacted(p.res.Return, red)
			} else if ret := redact.Walk(p.res.Return, red); ret == any(p.res.Return) && red(string(raw)) == string(raw) {
				r.Output = raw
			} else {
				r.Output = encode(ret)
			}
			if limit >= 0 && len(r.Output) > limit {
				head, _ := truncate(string(r.Output), limit)
				r.Output = encode(dict.Of("output_truncated", true, "head", head))
			}
		}
		if r.Error == "" {
			r.Error = p.res.Error
		}
		r.Log = encodeLog(p.res.Log, p.logLimit, red)
	}
	r.Error, _ = truncate(red(r.Error), limit)
	if p.entry != nil {
		r.RequestID = p.entry.ID
	}
	r.ReplayOf = p.replayOf
	return r
}

// truncate cuts s to limit bytes (backing off to the start of a UTF-8
// sequence cut in two) and appends "…[truncated N bytes]", N being the
// bytes cut. A negative limit, or s within it, leaves s whole.
func truncate(s string, limit int) (string, bool) {
	if limit < 0 || len(s) <= limit {
		return s, false
	}
	n := limit
	for back := 0; back < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); back++ {
		n--
	}
	return s[:n] + "…[truncated " + strconv.Itoa(len(s)-n) + " bytes]", true
}

// encodeLog encodes log entries as JSON, dropping entries past limit bytes.
func encodeLog(entries []automations.LogEntry, limit int, red func(string) string) []byte {
	if len(entries) == 0 {
		return nil
	}
	l := make([]any, 0, len(entries))
	size := 0
	for _, e := range entries {
		size += len(e.Message) + len(e.Node) + 32
		if size > limit {
			l = append(l, dict.Of("level", int64(3), "node", "", "message", "log truncated"))
			break
		}
		l = append(l, dict.Of("level", int64(e.Level), "node", e.Node, "message", red(e.Message)))
	}
	return encode(l)
}

// encode encodes a dictionary value compactly (nil when it cannot be).
func encode(v any) []byte {
	// dict.Encode writes a value of up to 32 KiB in one Write, so the
	// copy is one allocation of its size: a bytes.Buffer grown to 512
	// bytes first, then to twice that for a 700-byte return, allocated
	// 1.5 KB a request. A larger value comes in pieces, joined once.
	var w pieceWriter
	if err := dict.Encode(&w, v, ""); err != nil {
		return nil
	}
	return w.bytes()
}

// encodeRedacted returns encode(redact.Walk(v, red)): v, a dictionary
// value, with every string passed through red, encoded compactly. A value
// of the usual types (dictionaries, lists, strings, numbers, booleans,
// null) whose keys red leaves as they are, and whose encoding is within
// redactedMax, is redacted and encoded in one pass, into a buffer on the
// stack copied once: the run's return dictionary when the extension
// answered in the wire form (no JSON to keep), in every record of the
// default configuration. Walk then encode visited the value twice and
// went through dict.Encode's pooled buffer and writer.
func encodeRedacted(v any, red func(string) string) []byte {
	var scratch [1024]byte
	if b, ok := appendRedacted(scratch[:0], v, red); ok {
		return bytes.Clone(b)
	}
	return encode(redact.Walk(v, red))
}

// redactedMax is the longest encoding appendRedacted makes: a larger one
// is encode's, which copies a large value in pieces instead of growing one
// slice.
const redactedMax = 32 << 10

// appendRedacted appends v, with every string passed through red, as
// dict.Encode writes it compactly. It reports false for a key that red
// changes (Walk's dictionary then merges keys that become equal), a value
// of a type Walk does not visit, or an encoding past redactedMax.
func appendRedacted(b []byte, v any, red func(string) string) ([]byte, bool) {
	if len(b) > redactedMax {
		return b, false
	}
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		return strconv.AppendBool(b, t), true
	case string:
		if len(b)+len(t) > redactedMax {
			// Falling back is always correct, and a string this long
			// almost never fits once redacted and escaped: checking
			// first spares redacting and escaping a large one (a
			// return echoing a 1 MiB body) only to throw it away
			// (review rev1: 7.1 MB and 7-9 ms a record against 3.0 MB
			// and 3-5 ms on the old path).
			return b, false
		}
		b = appendJSONString(b, red(t))
		return b, len(b) <= redactedMax
	case int:
		return strconv.AppendInt(b, int64(t), 10), true
	case int64:
		return strconv.AppendInt(b, t, 10), true
	case float64:
		return append(b, dict.FormatFloat(t)...), true
	case *dict.Map:
		keys, vals := t.Keys(), t.Values()
		b = append(b, '{')
		for i, k := range keys {
			if len(b)+len(k) > redactedMax || red(k) != k {
				return b, false
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, k), ':')
			var ok bool
			if b, ok = appendRedacted(b, vals[i], red); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case []any:
		b = append(b, '[')
		for i, x := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendRedacted(b, x, red); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	return b, false
}

// pieceWriter is an io.Writer that keeps a copy of each write, joined by
// bytes. Appending each piece to one slice instead grew it by a quarter at
// a time, past about 1 MB: five times the text allocated (a job's inputs
// with a 1 MiB body, 7 MB each). The first piece has a field of its own,
// so that a value written at once costs one allocation, as before.
type pieceWriter struct {
	n      int // writes
	first  []byte
	pieces [][]byte // the writes after the first
}

func (w *pieceWriter) Write(p []byte) (int, error) {
	if w.n++; w.n == 1 {
		w.first = bytes.Clone(p)
	} else {
		w.pieces = append(w.pieces, bytes.Clone(p))
	}
	return len(p), nil
}

// bytes returns what was written.
func (w *pieceWriter) bytes() []byte {
	if len(w.pieces) == 0 {
		return w.first
	}
	n := len(w.first)
	for _, p := range w.pieces {
		n += len(p)
	}
	out := append(make([]byte, 0, n), w.first...)
	for _, p := range w.pieces {
		out = append(out, p...)
	}
	return out
}

// recordInputs are a run record's inputs, redacted and cut: the request
// as the record shows it.
type recordInputs struct {
	method, path  string
	headers       [][2]string
	query         [][2]string
	body          string
	bodyTruncated bool
	clientIP      string
}

// encode encodes the inputs as dict.Encode encodes the dictionary
// {"method", "path", "headers", "query", "body", ["body_truncated",]
// "client_ip"} whose headers and query hold the pairs in order, a repeated
// name keeping its first place and its last value (dict.Map.Set). It
// writes the JSON itself, into one buffer, instead of building the three
// dictionaries first: this runs for every request.
func (in recordInputs) encode() []byte {
	n := len(in.method) + len(in.path) + len(in.clientIP) + 96
	for _, h := range in.headers {
		n += len(h[0]) + len(h[1]) + 6
	}
	for _, kv := range in.query {
		n += len(kv[0]) + len(kv[1]) + 6
	}
	// The body's size escaped, but for control characters and non-ASCII
	// (a JSON payload has a quote every few bytes: an eighth more for the
	// body grew the slice, a copy of the record, past 16 KiB).
	body := len(in.body) + strings.Count(in.body, `"`) + strings.Count(in.body, `\`)
	b := make([]byte, 0, n+n/8+body)
	b = append(b, `{"method":`...)
	b = appendJSONString(b, in.method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, in.path)
	b = append(b, `,"headers":`...)
	b = appendJSONPairs(b, in.headers)
	b = append(b, `,"query":`...)
	b = appendJSONPairs(b, in.query)
	b = append(b, `,"body":`...)
	b = appendJSONString(b, in.body)
	if in.bodyTruncated {
		b = append(b, `,"body_truncated":true`...)
	}
	b = append(b, `,"client_ip":`...)
	b = appendJSONString(b, in.clientIP)
	return append(b, '}')
}

// appendJSONPairs appends pairs as dict.Encode encodes a dictionary whose
// keys were set in their order: a repeated name keeps its first place and
// its last value.
func appendJSONPairs(b []byte, pairs [][2]string) []byte {
	// Past a few pairs, each name's last index, -1 once written.
	var last map[string]int
	if len(pairs) > 16 {
		last = make(map[string]int, len(pairs))
		for i, kv := range pairs {
			last[kv[0]] = i
		}
	}
	b = append(b, '{')
	first := true
next:
	for i, kv := range pairs {
		v := kv[1]
		if last != nil {
			j := last[kv[0]]
			if j < 0 {
				continue // written at its first place
			}
			v, last[kv[0]] = pairs[j][1], -1
		} else {
			for _, before := range pairs[:i] {
				if before[0] == kv[0] {
					continue next
				}
			}
			for _, after := range pairs[i+1:] {
				if after[0] == kv[0] {
					v = after[1]
				}
			}
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, kv[0])
		b = append(b, ':')
		b = appendJSONString(b, v)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string as dict.Encode writes it.
// Printable ASCII goes eight bytes at a time up to the first byte of a
// block that is '"', '\\', a control character or non-ASCII; '"' and '\\'
// get a backslash; a run of control characters and non-ASCII bytes is
// escaped by dict itself (dict.AppendJSON, its quotes dropped). A run ends
// at printable ASCII, which no UTF-8 sequence holds, so dict reads it as
// it reads the whole string. A record's body went through dict.Encode
// whole: about 19 instructions a byte for a JSON payload (a quote every few
// bytes), and three copies of it.
func appendJSONString(b []byte, s string) []byte {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	b = slices.Grow(b, len(s)+18)
	b = append(b, '"')
	i := 0
	for i < len(s) {
		if cap(b)-len(b) < 16 {
			b = slices.Grow(b, len(s)-i+16)
		}
		if i+8 <= len(s) {
			t := s[i : i+8]
			x := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
				uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
			q, bs := x^('"'*ones), x^('\\'*ones)
			// The high bit of each byte that is non-ASCII, below 0x20,
			// '"' or '\\', and maybe of bytes after such a byte: its
			// lowest is the first of them.
			m := (x | (x - 0x20*ones) | (q-ones)&^q | (bs-ones)&^bs) & high
			// All eight go in (there is room), the bytes before the
			// first of them are kept; a '"' or '\\' there is escaped
			// here, anything else below.
			k := len(b)
			out := b[k : k+10]
			binary.LittleEndian.PutUint64(out, x)
			if m == 0 {
				b, i = b[:k+8], i+8
				continue
			}
			n := bits.TrailingZeros64(m) / 8
			if c := t[n]; c == '"' || c == '\\' {
				out[n], out[n+1] = '\\', c
				b, i = b[:k+n+2], i+n+1
				continue
			}
			b, i = b[:k+n], i+n
		}
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20 || c >= 0x80:
			j := i + 1
			for j < len(s) && (s[j] < 0x20 || s[j] >= 0x80) {
				j++
			}
			// Escaped by dict's own code, with neither the string boxed
			// nor its quotes to take off (review rev4: through
			// AppendJSON, a body of words in another script took an
			// allocation a word, 2-8 times as long as before).
			b = dict.AppendJSONChars(b, s[i:j])
			i = j
		default:
			b = append(b, c)
			i++
		}
	}
	return append(b, '"')
}

// headerValue returns the first value of the header called name.
func headerValue(headers [][2]string, name string) string {
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// callerRedaction is the redaction of a synchronous request's records
// (redact.Redactor.CallerRedaction): its credential headers' values
// (those of credHeaders, the headers its webhook's verify blocks read,
// too) and its credential fields' (the query's, the form's and a JSON
// body's: redact.FieldCredentials) wherever the automation echoed them;
// nil when it carried none.
func callerRedaction(red *redact.Redactor, req *automations.HTTPRequest, credHeaders []string) func(string) string {
	fields := redact.FieldCredentials(req.Body, headerValue(req.Headers, "Content-Type"), req.Query, req.Form)
	return red.CallerRedaction(req.Headers, fields, credHeaders...)
}
