package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/time/rate"

	"github.com/hookhost/hookhost/host/store"
)

// Queue is the durable job queue of one server process: it queues jobs,
// works them with River, and answers questions about them. Create it with
// New, call Start, and Close it before closing the database.
type Queue struct {
	// sweepFrom is the River id after which the next prune pass looks for
	// kept inputs whose River row is gone (sweepInputs).
	sweepFrom atomic.Int64
	// repair is where the next repair pass reads the records of each state
	// that has not ended (RepairRecords).
	repair repairCursors

	cfg    Config
	db     *sql.DB
	d      sqlDialect
	log    *slog.Logger
	client *river.Client[*sql.Tx]
	pool   *pgxpool.Pool // PostgreSQL listener pool, nil on SQLite
	// pgxClient (PostgreSQL) inserts the jobs of Enqueue batches in native
	// pgx transactions: riverdatabasesql passes its array parameters as
	// text that pgx parses again, which cost about a fifth of the server's
	// CPU per 202. It works no jobs and owns no pool.
	pgxClient *river.Client[pgx.Tx]
	// notifyRuns limits the insert notifications of the run jobs the
	// queue inserts without River's client (pgInsertRuns, insertRuns) as
	// River's client's limiter would.
	notifyRuns insertNotifier
	// hub wakes River's producers after this process's inserts (SQLite
	// only; nil on PostgreSQL, where LISTEN/NOTIFY does): see wake.go.
	hub *wakeHub
	// started are the attempts whose start River's fetch recorded: see
	// started.go.
	started *startedJobs
	// fetched are the inputs River's fetch took out of run jobs' args
	// (fetched.go).
	fetched *fetchedInputs
	// queuedCallbacks is set by a write that queued a callback or a
	// delivery, so that the writer wakes their queue once it committed.
	queuedCallbacks atomic.Bool

	inserter *groupCommit[*insertItem]
	writer   *groupCommit[*writeOp]
	// lock sets the lock_timeout of the group commits' transactions on
	// PostgreSQL (Config.LockTimeout).
	lock    lockStmts
	waiters waiters
	running running

	stopHeartbeat context.CancelFunc
	heartbeatDone chan struct{}
	stopPrune     context.CancelFunc
	pruneDone     chan struct{}
	stopLoops     context.CancelFunc
	loopsDone     []chan struct{}
	closeOnce     sync.Once

	// subs are the subscriptions events are matched against; pub takes
	// published events to the publishing goroutine.
	subs subscribers
	pub  publisher

	// health is what Healthy reports, fed by both group commits.
	health writeHealth

	// dests cap the callbacks, deliveries and upstream requests in flight
	// per suspect destination, and break the circuit of one that does not answer
	// (destinations.go).
	dests *destinations
}

// New migrates the queue's tables (River's and its own) and prepares the
// River client. It does not start working jobs: call Start.
func New(ctx context.Context, cfg Config) (*Queue, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	q := &Queue{cfg: cfg, db: cfg.DB, d: newSQLDialect(cfg.Dialect), log: cfg.Logger,
		waiters: waiters{m: map[string][]chan *Finished{}}, running: running{m: map[string]*runningJob{}},
		pub:   publisher{in: make(chan published, publishBacklog), limit: rate.NewLimiter(rate.Limit(cfg.PublishRate), cfg.PublishBurst)},
		dests: newDestinations(perDestination(cfg.CallbackWorkers), cfg.Logger), lock: newLockStmts(cfg.LockTimeout)}

	var driver riverdriver.Driver[*sql.Tx]
	switch cfg.Dialect {
	case DialectSQLite:
		q.hub = newWakeHub()
		q.started, q.fetched = newStartedJobs(), newFetchedInputs()
		driver = wakeDriver{Driver: riversqlite.New(cfg.DB), db: cfg.DB, hub: q.hub, started: q.started, health: &q.health,
			fetched: q.fetched}
	case DialectPostgres:
		pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("jobs: listener pool: %w", err)
		}
		pc.MaxConns = 2
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			return nil, fmt.Errorf("jobs: listener pool: %w", err)
		}
		q.pool = pool
		q.started, q.fetched = newStartedJobs(), newFetchedInputs()
		driver = pgDriver{Driver: riverdatabasesql.NewWithPgxListener(cfg.DB, pool), db: cfg.DB, native: riverpgxv5.New(nil),
			started: q.started, health: &q.health, marks: newFetchMarks(), fetched: q.fetched}
	}
	if err := migrate(ctx, cfg.DB, cfg.Dialect, driver); err != nil {
		q.closePool()
		return nil, err
	}
	// Signing secrets written in clear (before schema version 4) are
	// sealed now.
	if n, err := q.sealSigningSecrets(ctx); err != nil {
		q.closePool()
		return nil, err
	} else if n > 0 {
		q.log.Info("sealed signing secrets kept in clear", "count", n)
	}

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &runWorker{q: q}); err != nil {
		q.closePool()
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &callbackWorker{q: q}); err != nil {
		q.closePool()
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &deliveryWorker{q: q}); err != nil {
		q.closePool()
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &upstreamWorker{q: q}); err != nil {
		q.closePool()
		return nil, err
	}
	var queues map[string]river.QueueConfig
	if cfg.Workers > 0 {
		// The run jobs queued before job schema version 10 (queueRunsArgs,
		// which servers of earlier versions also queue to during a rolling
		// upgrade) have a producer of their own, with at most
		// legacyRunWorkers workers beside cfg.Workers, which fetches
		// every legacyRunPoll when no insert notification wakes it: an
		// idle server's cost of a queue that stays empty after an upgrade.
		queues = map[string]river.QueueConfig{queueRuns: {MaxWorkers: cfg.Workers},
			queueRunsArgs:  {MaxWorkers: min(cfg.Workers, legacyRunWorkers), FetchPollInterval: max(legacyRunPoll, cfg.FetchPollInterval)},
			queueCallbacks: {MaxWorkers: cfg.CallbackWorkers}}
	}
	client, err := river.NewClient(driver, &river.Config{
		ID:                          "hookhost-" + randomHex(6),
		Logger:                      cfg.Logger.With("component", "river"),
		Workers:                     workers,
		Queues:                      queues, // none: an insert-only client
		FetchCooldown:               cfg.FetchCooldown,
		FetchPollInterval:           cfg.FetchPollInterval,
		JobTimeout:                  -1, // per job: runWorker.Timeout
		RescueStuckJobsAfter:        cfg.RescueAfter,
		SoftStopTimeout:             cfg.ShutdownGrace,
		MaxAttempts:                 DefaultMaxAttempts,
		CompletedJobRetentionPeriod: cfg.Retention,
		CancelledJobRetentionPeriod: cfg.Retention,
		DiscardedJobRetentionPeriod: cfg.Retention,
		ErrorHandler:                errorHandler{q: q}, // run jobs River cannot read: unreadable.go
		// Before River decodes an attempt's args, on its goroutine.
		Hooks: []rivertype.Hook{river.HookWorkBeginFunc(growAttemptStack)},
	})
	if err != nil {
		q.closePool()
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	q.client = client

	inserters, writers := 1, 1
	insert := q.waking(queueRuns, sqlBatch(cfg.DB, q.commitInserts))
	if cfg.Dialect == DialectPostgres {
		// Two inserters: one commits while the other collects. More of them
		// split the callers into smaller batches, and each transaction has a
		// fixed cost on both sides (BEGIN, COMMIT and its WAL flush, River's
		// notification); measured with BenchmarkEnqueuePostgres on 2 cores,
		// 1-2 inserters beat 4 and 8. Over HTTP (go run ./bench -targets
		// bare,jobs-pg) 1 inserter instead of 2 saved about 2% of
		// PostgreSQL's CPU per job but cost a fifth of the 202s per second
		// and 13% more server CPU per 202.
		//
		// Two state writers. State writes (markRunning, finish) come one
		// per worker at a time, so each of several writers commits a
		// transaction of one or two of them, while a writer's next batch
		// holds every write that arrived during its commit. On 2 cores
		// (go run ./bench -targets bare,jobs-pg), 4 writers took 1.03
		// transactions and 730 µs of PostgreSQL CPU per job, 2 writers 0.63
		// and 620 µs, 1 writer 0.42 and 545 µs; but one writer serializes
		// the workers' writes: durable 202s/s 4,550-4,750 (4 writers),
		// 5,370-5,480 (2), 5,490-5,530 (1), jobs completed/s 1,043 (4),
		// 975-988 (2), 854-855 (1), two runs each on a quiet machine.
		// (Measured when every writer transaction took BEGIN, a round
		// trip per statement and COMMIT; since pgxWrites most take one
		// round trip, and the count was not measured again.)
		inserters, writers = 2, 2
		q.pgxClient, err = river.NewClient(riverpgxv5.New(nil), &river.Config{
			ID:          client.ID() + "-insert",
			Logger:      cfg.Logger.With("component", "river"),
			MaxAttempts: DefaultMaxAttempts,
		})
		if err != nil {
			q.closePool()
			return nil, fmt.Errorf("jobs: river insert client: %w", err)
		}
		insert = q.pgxInserts
	}
	q.inserter = newGroupCommit(cfg.BatchDelay, cfg.BatchSize, q.log, &q.health, insert)
	q.inserter.start(inserters)
	writes := sqliteWrites(cfg.DB)
	if cfg.Dialect == DialectPostgres {
		writes = q.pgxWrites(sqlBatch(cfg.DB, lockTimed(q.lock, commitWrites)))
	}
	q.writer = newGroupCommit(cfg.BatchDelay, cfg.BatchSize, q.log, &q.health, func(ctx context.Context, ops []*writeOp) error {
		err := writes(ctx, ops)
		if q.queuedCallbacks.Swap(false) && err == nil {
			q.wake(queueCallbacks)
		}
		return err
	})
	q.writer.start(writers)
	return q, nil
}

// waking is commit, then, once it committed, a wake of queue's producer.
func (q *Queue) waking(queue string, commit func(ctx context.Context, items []*insertItem) error) func(ctx context.Context, items []*insertItem) error {
	return func(ctx context.Context, items []*insertItem) error {
		err := commit(ctx, items)
		if err == nil {
			q.wake(queue)
		}
		return err
	}
}

// wake tells River's producer of queue, in this process, that it has new
// jobs, committed (on SQLite; PostgreSQL's LISTEN/NOTIFY does it there).
func (q *Queue) wake(queue string) {
	if q.hub != nil {
		q.hub.wake(queue)
	}
}

// Start starts working jobs (unless Config.Workers is 0), and publishing
// events to subscriptions.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.requeueOnStart(ctx); err != nil {
		return err
	}
	if q.cfg.Workers > 0 {
		if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("jobs: start river: %w", err)
		}
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.stopHeartbeat = cancel
	q.heartbeatDone = make(chan struct{})
	go q.heartbeat(hctx)
	if q.cfg.PruneInterval > 0 {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		q.stopPrune = cancel
		q.pruneDone = make(chan struct{})
		go q.pruneLoop(pctx, q.pruneDone)
	}
	q.refreshSubscribers(ctx)
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.stopLoops = cancel
	q.loopsDone = []chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
	go q.subscriberLoop(lctx, q.loopsDone[0])
	go q.publishLoop(lctx, q.loopsDone[1])
	go q.probeLoop(lctx, q.loopsDone[2])
	return nil
}

// Close stops queuing, lets running jobs finish for up to the shutdown
// grace (River retries the rest later, here or in another process), and
// stops. The database stays open.
func (q *Queue) Close() error {
	var err error
	q.closeOnce.Do(func() {
		q.inserter.close()
		q.closePublisher()
		ctx, cancel := context.WithTimeout(context.Background(), q.cfg.ShutdownGrace+10*time.Second)
		defer cancel()
		if e := q.client.Stop(ctx); e != nil && !errors.Is(e, context.DeadlineExceeded) {
			err = fmt.Errorf("jobs: stop river: %w", e)
		}
		if q.stopHeartbeat != nil {
			q.stopHeartbeat()
			<-q.heartbeatDone
		}
		if q.stopPrune != nil {
			q.stopPrune()
			<-q.pruneDone
		}
		if q.stopLoops != nil {
			q.stopLoops()
			for _, done := range q.loopsDone {
				<-done
			}
		}
		q.writer.close()
		q.closePool()
	})
	return err
}

func (q *Queue) closePool() {
	if q.pool != nil {
		q.pool.Close()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// insertItem is one Enqueue waiting for its group commit.
type insertItem struct {
	req  *Request
	id   string
	args runArgs
	// encoded are args as stored, without the inputs (req.Inputs, stored
	// apart: inputs.go), encoded by the caller of Enqueue rather than by
	// the one inserter of its batch; nil when that failed (encodedArgs
	// tries again, and says why).
	encoded []byte
	max     int
	created time.Time
	res     Result
	done    chan error
}

func (it *insertItem) finish(err error) { it.done <- err }

// encodedArgs returns its River args as stored.
func (it *insertItem) encodedArgs() ([]byte, error) {
	if it.encoded != nil {
		return it.encoded, nil
	}
	return it.args.encode()
}

// inputs returns the job's real inputs as stored in hookhost_job_inputs
// (never nil: the column is NOT NULL).
func (it *insertItem) inputs() []byte {
	if it.req.Inputs == nil {
		return []byte{}
	}
	return it.req.Inputs
}

// NewJobID returns a fresh job id: a time-ordered UUID (version 7, as run
// ids are), so that each new hookhost_jobs row goes at the end of its
// primary key index rather than on a random page of it (fewer pages
// dirtied, and fewer full-page images in PostgreSQL's WAL after each
// checkpoint). Callers that must know the id before Enqueue (to Wait on
// it) pass it in EnqueueID.
func NewJobID() string {
	u, err := uuid.NewV7()
	if err != nil { // the system's random source failed
		return uuid.NewString()
	}
	return u.String()
}

// Enqueue queues a job and returns once it is committed (with the River
// job, in one transaction). An idempotent redelivery returns the first
// job's id with Duplicate set.
func (q *Queue) Enqueue(ctx context.Context, req *Request) (Result, error) {
	return q.EnqueueID(ctx, NewJobID(), req)
}

// EnqueueID is Enqueue with a job id chosen by the caller (NewJobID).
//
// The request's webhook ID, handler, automation, RetryOf and callback URL
// are names: they must be valid UTF-8 without NUL bytes (store.ValidName),
// else the error wraps store.ErrInvalid. Inputs may hold any bytes, and so
// may the idempotency key (one that is not such a name is kept as its
// SHA-256).
func (q *Queue) EnqueueID(ctx context.Context, id string, req *Request) (Result, error) {
	for _, f := range []struct{ name, v string }{{"job id", id}, {"webhook id", req.WebhookID}, {"handler", req.Handler},
		{"automation", req.Automation}, {"retry_of", req.RetryOf}, {"callback URL", req.Options.CallbackURL}} {
		if !store.ValidName(f.v) {
			return Result{}, fmt.Errorf("jobs: queue job: %w: %s %q is not valid UTF-8 or holds a NUL byte", store.ErrInvalid, f.name, f.v)
		}
	}
	it := newInsertItem(id, req)
	if err := q.inserter.submit(ctx, it); err != nil {
		return Result{}, err
	}
	if err := <-it.done; err != nil {
		return Result{}, fmt.Errorf("jobs: queue job: %w", err)
	}
	return it.res, nil
}

// newInsertItem is the insert of a job of id for req.
func newInsertItem(id string, req *Request) *insertItem {
	o := req.Options
	maxAttempts := o.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	it := &insertItem{req: req, id: id, max: maxAttempts, created: nowUTC(), done: make(chan error, 1),
		args: runArgs{JobID: id, WebhookID: req.WebhookID, Handler: req.Handler, Automation: req.Automation,
			Explicit: o.MaxAttempts > 0, TimeoutMS: min(timeout, MaxTimeout).Milliseconds(),
			Concurrency: o.Concurrency, CallbackURL: o.CallbackURL, CredentialHeaders: req.CredentialHeaders}}
	it.encoded, _ = it.args.encode()
	return it
}

const (
	upsertKeySQL = `INSERT INTO hookhost_job_keys (webhook_id, key, job_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (webhook_id, key) DO UPDATE SET job_id = excluded.job_id, created_at = excluded.created_at
		WHERE hookhost_job_keys.created_at < ?`
	selectKeySQL = `SELECT job_id FROM hookhost_job_keys WHERE webhook_id = ? AND key = ?`
)

// insertTx is the transaction a batch of Enqueues is written in: a
// database/sql one (SQLite) or a native pgx one (PostgreSQL).
type insertTx interface {
	// exec runs a statement and returns the rows it affected.
	exec(ctx context.Context, query string, args ...any) (int64, error)
	// queryRow runs a query and scans its one row into dest.
	queryRow(ctx context.Context, query string, args []any, dest ...any) error
	// insertJobs inserts the River jobs of items and returns their ids.
	insertJobs(ctx context.Context, items []*insertItem) ([]int64, error)
}

// sqlInsertTx is an insertTx of database/sql (SQLite).
type sqlInsertTx struct {
	tx     *sql.Tx
	client *river.Client[*sql.Tx]
	notify *insertNotifier
}

func (t sqlInsertTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t sqlInsertTx) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return t.tx.QueryRowContext(ctx, query, args...).Scan(dest...)
}

// insertJobs inserts the run jobs of items (insertRuns) with the queue's
// own statement, their args stored as the text they are, not as JSONB,
// which SQLite parsed from the text at the insert and rendered back as
// text at every fetch; River's statements read both forms (and so did
// this queue's before it wrote text), and the queue's fetch returns text
// as it is (sqliteFetchSQL).
func (t sqlInsertTx) insertJobs(ctx context.Context, items []*insertItem) ([]int64, error) {
	return insertRuns(ctx, t.client.Driver().UnwrapExecutor(t.tx), t.notify, items,
		func(jobs []*riverdriver.JobInsertFastParams) ([]*riverdriver.JobInsertFastResult, error) {
			return sqliteInsertJobs(ctx, t.tx, jobs, sqliteInsertRunsRow)
		})
}

// insertRuns inserts the run jobs of items as River's client does
// (InsertManyTx with the queue and max attempts of each, which comes to
// River's driver as JobInsertFastMany: insert), with River's insert
// notification when one is due (insertNotifier: at most one per 100 ms,
// River's default cooldown; the SQLite client's own is shorter, but there
// the queue wakes its producers itself and the notification serves only
// other processes), but with the args the
// callers of Enqueue encoded (insertItem.encoded): River's client
// marshalled them again with json.Marshal, in the one inserter, which on
// SQLite held the database's one connection (about 200 µs a job for a
// 16 KiB body held twice, BenchmarkRunArgsEncode). It returns the jobs'
// River ids.
func insertRuns(ctx context.Context, ex riverdriver.ExecutorTx, notify *insertNotifier, items []*insertItem,
	insert func([]*riverdriver.JobInsertFastParams) ([]*riverdriver.JobInsertFastResult, error)) ([]int64, error) {
	jobs := make([]*riverdriver.JobInsertFastParams, len(items))
	for i, it := range items {
		args, err := it.encodedArgs()
		if err != nil {
			return nil, fmt.Errorf("error marshaling args to JSON: %w", err)
		}
		jobs[i] = &riverdriver.JobInsertFastParams{EncodedArgs: args, Kind: kindRun, MaxAttempts: it.max,
			Metadata: []byte("{}"), Priority: riverPriority, Queue: queueRuns, State: rivertype.JobStateAvailable,
			Tags: []string{}}
	}
	res, err := insert(jobs)
	if err != nil {
		return nil, err
	}
	if notify.due(time.Now()) {
		err := ex.NotifyMany(ctx, &riverdriver.NotifyManyParams{Payload: []string{insertPayload(queueRuns)}, Topic: insertTopic})
		if err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.Job.ID
	}
	return ids, nil
}

// riverPriority is the priority of River's jobs that set none.
const riverPriority = 1

// pgxInsertTx is an insertTx of pgx.
type pgxInsertTx struct {
	tx     pgx.Tx
	client *river.Client[pgx.Tx]
	notify *insertNotifier
}

func (t pgxInsertTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (t pgxInsertTx) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return t.tx.QueryRow(ctx, query, args...).Scan(dest...)
}

// insertJobs inserts the run jobs of items (insertRuns) with River's
// driver.
func (t pgxInsertTx) insertJobs(ctx context.Context, items []*insertItem) ([]int64, error) {
	ex := t.client.Driver().UnwrapExecutor(t.tx)
	return insertRuns(ctx, ex, t.notify, items, func(jobs []*riverdriver.JobInsertFastParams) ([]*riverdriver.JobInsertFastResult, error) {
		return ex.JobInsertFastMany(ctx, &riverdriver.JobInsertFastManyParams{Jobs: jobs})
	})
}

// commitInserts writes one batch of Enqueues in a database/sql
// transaction (SQLite).
func (q *Queue) commitInserts(ctx context.Context, tx *sql.Tx, items []*insertItem) error {
	return q.writeInserts(ctx, sqlInsertTx{tx: tx, client: q.client, notify: &q.notifyRuns}, items)
}

// pgxInserts writes and commits one batch of Enqueues on PostgreSQL: in
// one statement when it can (pgInsertRuns), else through River's client.
func (q *Queue) pgxInserts(ctx context.Context, items []*insertItem) error {
	if plainRuns(items) {
		return q.pgInsertRuns(ctx, items)
	}
	return q.pgxRiverInserts(ctx, items)
}

// pgxRiverInserts writes and commits one batch of Enqueues in a native pgx
// transaction on a connection of the store's pool, River's jobs inserted
// by River's client.
func (q *Queue) pgxRiverInserts(ctx context.Context, items []*insertItem) error {
	return pgxTx(ctx, q.db, q.lock, func(tx pgx.Tx, _ sendBatch) error {
		return q.writeInserts(ctx, pgxInsertTx{tx: tx, client: q.pgxClient, notify: &q.notifyRuns}, items)
	})
}

// writeInserts writes one batch of Enqueues: idempotency keys first (a
// key already taken within the window answers the first job's id), then
// the River jobs with one InsertManyTx, their real inputs
// (insertInputs), then the hookhost records.
func (q *Queue) writeInserts(ctx context.Context, tx insertTx, items []*insertItem) error {
	fresh := make([]*insertItem, 0, len(items))
	for _, it := range items {
		it.res = Result{JobID: it.id}
		if k := idempotencyKey(it.req.IdempotencyKey); k != "" {
			now := micros(it.created)
			n, err := tx.exec(ctx, q.d.q(upsertKeySQL), it.req.WebhookID, k, it.id, now, now-IdempotencyWindow.Microseconds())
			if err != nil {
				return fmt.Errorf("idempotency key: %w", err)
			}
			if n == 0 {
				var first string
				if err := tx.queryRow(ctx, q.d.q(selectKeySQL), []any{it.req.WebhookID, k}, &first); err != nil {
					return fmt.Errorf("idempotency key: %w", err)
				}
				it.res = Result{JobID: first, Duplicate: true}
				continue
			}
		}
		fresh = append(fresh, it)
	}
	if len(fresh) == 0 {
		return nil
	}
	rs, err := tx.insertJobs(ctx, fresh)
	if err != nil {
		return fmt.Errorf("insert river jobs: %w", err)
	}
	if err := q.insertInputs(ctx, tx, fresh, rs); err != nil {
		return err
	}
	err = q.insertRows(ctx, tx, len(fresh), 11, insertJobSQL, insertJobValuesSQL, func(args []any, i int) []any {
		it := fresh[i]
		r := it.req
		return append(args, it.id, rs[i], r.WebhookID, r.Handler, r.Automation, it.max,
			bytesArg(r.RedactedInputs), r.RetryOf, r.Options.CallbackURL, micros(it.created),
			len(r.RedactedInputs)+recordOverhead)
	})
	if err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	return nil
}

// insertRows inserts n rows of perRow arguments in tx: first is the
// INSERT with its first row, more each further row, and rowArgs appends
// row i's arguments to args. One multi-row INSERT for the whole batch on PostgreSQL: one round
// trip, not one per job (there the round trips bounded the batch rate).
// On SQLite, where a statement costs no round trip, in chunks of
// statementRows: a text per batch size would fill the connection's
// statement cache and push River's prepared queries out of it.
func (q *Queue) insertRows(ctx context.Context, tx insertTx, n, perRow int, first, more string,
	rowArgs func(args []any, i int) []any) error {
	chunks := []int{n}
	if q.d.name != DialectPostgres {
		chunks = statementRows(n)
	}
	var b strings.Builder
	args := make([]any, 0, chunks[0]*perRow)
	from := 0
	for _, size := range chunks {
		b.Reset()
		b.WriteString(first)
		args = args[:0]
		for i := from; i < from+size; i++ {
			if i > from {
				b.WriteString(more)
			}
			args = rowArgs(args, i)
		}
		if _, err := tx.exec(ctx, q.d.q(b.String()), args...); err != nil {
			return err
		}
		from += size
	}
	return nil
}

// idempotencyKey is how a delivery id is stored: as it is when it is valid
// UTF-8 without NUL bytes (store.ValidName), else as "sha256:" and the hex
// SHA-256 of its bytes (hookhost_job_keys.key is text on PostgreSQL, which
// refuses such bytes; the key is only ever compared).
func idempotencyKey(k string) string {
	if store.ValidName(k) {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Healthy reports whether the queue's writes (hand-offs and job state
// changes) succeed: nil, or a *store.WritesFailingError saying since when
// they fail and why (wrapping store.ErrStorageFull when the disk is full).
// It reads state kept as writes succeed and fail: cheap enough for every
// readiness probe.
func (q *Queue) Healthy() error { return q.health.get() }

// Wait returns a channel that receives the job's end if it ends in this
// process, and a function to call when no longer waiting. Call it before
// Enqueue (with EnqueueID) so that a fast job is not missed.
func (q *Queue) Wait(jobID string) (<-chan *Finished, func()) {
	return q.waiters.add(jobID)
}

func (q *Queue) observe(kind EventKind, id string, st State, attempt int) {
	if q.cfg.Observe != nil {
		q.cfg.Observe(Event{Kind: kind, JobID: id, State: st, At: time.Now(), Attempt: attempt})
	}
}
