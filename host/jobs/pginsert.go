package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookhost/hookhost/internal/pgprep"
)

// On PostgreSQL a batch of Enqueues without idempotency keys is written by
// one statement (pgInsertRunsSQL) sent in one round trip and committed by
// its own Sync (pgprep.BySync): River's job rows, as River's client and
// its pgx driver's JobInsertFastMany store them, and hookhost's records,
// which take their River ids from the same nextval. River's way took four
// round trips a batch (BEGIN, River's insert, the records' insert,
// COMMIT), River's client validated and encoded every job again, and pgx
// encoded thirteen array parameters. A batch whose deadline passed while
// it waited for a lock was committed once the lock went, unless pgconn's
// cancel request reached the server first, though its callers had been
// told it failed, and a caller that retried without an idempotency key
// queued its job twice (review rev2, eighteenth session). Now the server
// bounds the statement's run by the group commit's deadline (pgprep.BySync's
// statement_timeout), and a batch that failed unanswered has its session
// ended before its records are looked for (pgInserted). A transaction of
// its own (pgprep.InTx) would have cost a second round trip: 8-10% more
// CPU a 202 on both sides in the load run.
// The statement also sends River's insert notification
// (which wakes the producers of every server of the database), as often
// as River's client would send it (insertNotifier).

// pgInsertRunsSQL inserts run jobs into River's table, their real inputs
// into hookhost_job_inputs (inputs.go) and their records into hookhost's,
// and answers the number of records. Its parameters $1-$13 are arrays,
// one element a job: the record's id, max attempts, webhook id, handler,
// automation, retry_of, callback URL, created_at (unix microseconds),
// size, and where the job's River args, stored inputs and real inputs are
// in $14: the args at args_at (a 0-based offset) for args_len bytes, the
// stored inputs right after them for shown_len, the real inputs right
// after those for inputs_len. $14 holds the large values of every job one
// after the other (pgInsertParams.blob), sent as it is (pgprep.QueryRow:
// pgconn copies it into its write buffer, which it shrinks back once the
// message is written), where an array's elements were appended to pgx's
// parameter buffer one by one (growing it a quarter at a time), which pgx
// then kept: pgx encodes a statement's parameters into a buffer of the
// connection's (its ExtendedQueryBuilder) and, since it empties the slice
// of parameter values without clearing it, a next statement with fewer
// parameters left it reachable. Each connection of the pool that sent a
// batch kept a copy of that batch's bytes: under a load with 16 KiB
// bodies 4-18 MB of a 44-64 MB live heap (heap profiles of two sessions),
// which the server's GC percentage multiplied.
// Then River's kind and queue, whether to notify, the topic and the
// payload. River's created_at and scheduled_at are the
// database's now(), not this process's clock as River's pgx driver takes
// it: River's fetch compares scheduled_at with the database's now(), and
// the fetch marks (pgfetch.go) expect a job to commit within fetchLag of
// it, which a clock ahead of the database's, or a wait for a connection,
// would break. The CTE n is read three times, so PostgreSQL materializes
// it, and each job's nextval runs once (a CTE with a volatile function is
// never inlined); the large values are cut from $14 by each insert, so n
// holds only offsets. The args are JSON (encoding/json's: valid UTF-8,
// with no NUL), read as text and then as jsonb, as River's driver has
// PostgreSQL read them. The inputs' insert runs though nothing reads its
// CTE (PostgreSQL runs every data-modifying statement of a WITH).
//
// The notification is River's NotifyMany: its channel is River's insert
// topic in the connection's schema (River's listener listens on
// "<current_schema>.river_insert"); it is sent at the commit, and not at
// all if the statement fails.
const pgInsertRunsSQL = `WITH n AS (
	SELECT nextval('river_job_id_seq'::regclass) AS river_id, v.*
	FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::bigint[], $9::bigint[], $10::integer[], $11::integer[], $12::integer[], $13::integer[])
		AS v(id, max_attempts, webhook_id, handler, automation, retry_of, callback_url, created_at, size,
			args_at, args_len, shown_len, inputs_len)
), j AS (
	INSERT INTO river_job (id, args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags)
	SELECT river_id, convert_from(substring($14::bytea FROM args_at + 1 FOR args_len), 'UTF8')::jsonb, now(), $15,
		max_attempts, '{}'::jsonb, 1, $16, now(), 'available', '{}'::varchar(255)[]
	FROM n
), i AS (
	INSERT INTO hookhost_job_inputs (river_id, inputs)
	SELECT river_id, substring($14::bytea FROM args_at + args_len + shown_len + 1 FOR inputs_len)
	FROM n
), h AS (
	INSERT INTO hookhost_jobs (id, river_id, webhook_id, handler, automation, state, max_attempts, inputs, retry_of,
		callback_url, created_at, size)
	SELECT id, river_id, webhook_id, handler, automation, 'queued', max_attempts,
		substring($14::bytea FROM args_at + args_len + 1 FOR shown_len), retry_of, callback_url, created_at, size
	FROM n
	RETURNING 1
)
SELECT count(*), (SELECT pg_notify(concat(current_schema(), '.', $18::text), $19) WHERE $17) IS NULL FROM h`

// riverInsertNotifyCooldown is how often River's client notifies a queue's
// inserts at most: its insert notification limiter waits its
// FetchCooldown, River's default for the client that inserted.
const riverInsertNotifyCooldown = 100 * time.Millisecond

// insertNotifier limits the insert notifications of one queue as River's
// client does (notifylimiter.Limiter): at most one per cooldown, by the
// monotonic clock.
type insertNotifier struct {
	last atomic.Pointer[time.Time] // the last one sent, nil: none
}

// due reports whether a notification is due at now and, if so, takes it.
func (n *insertNotifier) due(now time.Time) bool {
	last := n.last.Load()
	if last != nil && now.Sub(*last) < riverInsertNotifyCooldown {
		return false
	}
	return n.last.CompareAndSwap(last, &now)
}

// plainRuns reports whether items can be written by pgInsertRuns: none
// has an idempotency key (those need a statement's answer each), nor more
// attempts than River's smallint column holds.
func plainRuns(items []*insertItem) bool {
	for _, it := range items {
		if idempotencyKey(it.req.IdempotencyKey) != "" || it.max > math.MaxInt16 {
			return false
		}
	}
	return true
}

// pgInsertRuns writes items, none with an idempotency key, in one
// statement committed by its own Sync (pgprep.BySync), and ends, when it
// failed unanswered, a statement the server still runs (pgInserted).
func (q *Queue) pgInsertRuns(ctx context.Context, items []*insertItem) error {
	p, err := newPgInsertParams(items)
	if err != nil {
		return err
	}
	notify := q.notifyRuns.due(time.Now())
	var (
		pid    uint32 // the batch's session
		closed bool   // its connection closed: the server may still run the batch
	)
	err = pgprep.OnConn(ctx, q.db, pgprep.BySync, func(c *pgx.Conn, exec pgprep.ExecFunc) error {
		pid = c.PgConn().PID()
		defer func() { closed = c.PgConn().IsClosed() }()
		var (
			got        int64
			unnotified bool // the statement's second column
		)
		err := pgprep.QueryRow(ctx, c, exec, pgInsertRunsSQL, p.size(),
			[]any{p.ids, p.maxAttempts, p.webhooks, p.handlers, p.automations, p.retryOf, p.callbacks,
				p.created, p.sizes, p.argsAt, p.argsLen, p.shownLen, p.inputsLen, p.blob,
				kindRun, queueRuns, notify, insertTopic, insertPayload(queueRuns)},
			&got, &unnotified)
		if err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
		if got != int64(len(items)) {
			return fmt.Errorf("insert jobs: inserted %d records of %d", got, len(items))
		}
		return nil
	})
	var refused *pgconn.PgError
	if err != nil && q.pgInserted(ctx, p.ids, p.created, pid, closed && !errors.As(err, &refused)) {
		// The batch committed and its answer was lost (a connection
		// dropped after the commit), or this is the retry of such a
		// batch, which found its records: the jobs are queued, and their
		// callers must hear so, or a caller that retries queues its job
		// twice.
		return nil
	}
	return err
}

// maxPgValue is the largest value, and message, PostgreSQL takes (1 GiB):
// a batch's blob must be smaller.
const maxPgValue = 1 << 30

// pgInsertParams are pgInsertRunsSQL's per-job parameters.
type pgInsertParams struct {
	ids, webhooks, handlers, automations, retryOf, callbacks []string
	maxAttempts                                              []int16
	created, sizes                                           []int64
	argsAt, argsLen, shownLen, inputsLen                     []int32
	// blob is every job's River args, stored inputs and real inputs, one
	// after the other (pgInsertRunsSQL's $14).
	blob []byte
}

// newPgInsertParams lays out items as pgInsertRunsSQL's parameters, and
// sets each item's result.
func newPgInsertParams(items []*insertItem) (*pgInsertParams, error) {
	n := len(items)
	p := &pgInsertParams{
		ids: make([]string, n), webhooks: make([]string, n), handlers: make([]string, n), automations: make([]string, n),
		retryOf: make([]string, n), callbacks: make([]string, n), maxAttempts: make([]int16, n),
		created: make([]int64, n), sizes: make([]int64, n),
		argsAt: make([]int32, n), argsLen: make([]int32, n), shownLen: make([]int32, n), inputsLen: make([]int32, n),
	}
	args := make([][]byte, n)
	total := 0
	for i, it := range items {
		a, err := it.encodedArgs()
		if err != nil {
			return nil, fmt.Errorf("insert river jobs: error marshaling args to JSON: %w", err)
		}
		args[i] = a
		total += len(a) + len(it.req.RedactedInputs) + len(it.req.Inputs)
	}
	if total >= maxPgValue {
		return nil, fmt.Errorf("insert jobs: a batch of %d bytes is more than one PostgreSQL value holds", total)
	}
	p.blob = make([]byte, 0, total)
	for i, it := range items {
		it.res = Result{JobID: it.id}
		r := it.req
		p.ids[i], p.maxAttempts[i] = it.id, int16(it.max)
		p.webhooks[i], p.handlers[i], p.automations[i] = r.WebhookID, r.Handler, r.Automation
		p.retryOf[i], p.callbacks[i] = r.RetryOf, r.Options.CallbackURL
		p.created[i], p.sizes[i] = micros(it.created), int64(len(r.RedactedInputs)+recordOverhead)
		p.argsAt[i], p.argsLen[i] = int32(len(p.blob)), int32(len(args[i]))
		p.shownLen[i], p.inputsLen[i] = int32(len(r.RedactedInputs)), int32(len(r.Inputs))
		p.blob = append(p.blob, args[i]...)
		p.blob = append(p.blob, r.RedactedInputs...)
		p.blob = append(p.blob, r.Inputs...)
	}
	return p, nil
}

// size is about how many bytes pgInsertRunsSQL's parameters but the blob
// take encoded in binary: each array's header, and each element's length
// and value.
func (p *pgInsertParams) size() int {
	const (
		arrays  = 13
		header  = 20                              // one-dimensional
		element = 6*4 + 4 + 2 + 2*(4+8) + 4*(4+4) // the lengths and fixed-size values of a job's elements
		scalars = 256                             // kind, queue, notify, topic, payload
	)
	n := arrays*header + scalars + len(p.ids)*element
	for _, s := range [][]string{p.ids, p.webhooks, p.handlers, p.automations, p.retryOf, p.callbacks} {
		for _, v := range s {
			n += len(v)
		}
	}
	return n
}

// pgInserted reports whether every record of ids exists with its
// created_at: the statement that wrote them committed (it writes all or
// none). A record of the same id written before (EnqueueID given an id in
// use) has another created_at. It reads on a context of its own, since
// the insert's may be what ended; an error reading them reports false.
//
// A batch that failed without the server's answer, its connection closed
// (unanswered: a connection dropped, a context that ended), may still run
// on the server, its caller gone: PostgreSQL does not notice a closed
// connection while a statement waits (for a lock, for CPU), and neither a
// statement_timeout nor a cancel request stops a commit under way (a WAL
// flush, a synchronous standby). Read at once, its records would not be
// there yet, and it would commit after its callers heard it failed; a
// caller that retries would queue its job twice. So it first ends the
// batch's session pid (pgEndBatchSQL): its statement, and what runs at
// the commit before the commit's record (deferred triggers), are rolled
// back; a commit whose record is written finishes first. A batch the
// server refused (a *pgconn.PgError: its statement_timeout, a unique
// violation) was rolled back, and its session is left alone, as is a
// connection still open (a context that ended before anything was sent).
func (q *Queue) pgInserted(ctx context.Context, ids []string, created []int64, pid uint32, unanswered bool) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if unanswered && pid != 0 {
		var ended sql.NullBool // no row: the session is gone, or no longer runs the batch
		err := q.db.QueryRowContext(ctx, pgEndBatchSQL, int64(pid), pgInsertRunsSQL).Scan(&ended)
		switch {
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			q.log.Warn("job insert: could not end an unanswered batch", "jobs", len(ids), "error", err)
		case err == nil && !ended.Bool:
			q.log.Warn("job insert: an unanswered batch's session did not end within 5s; its jobs may still be queued", "jobs", len(ids), "pid", pid)
		}
	}
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM unnest($1::text[], $2::bigint[]) AS v(id, created_at)
		JOIN hookhost_jobs h ON h.id = v.id AND h.created_at = v.created_at`, ids, created).Scan(&n)
	return err == nil && n == len(ids)
}

// pgEndBatchSQL ends the session $1 if it still runs the statement $2 (as
// far as pg_stat_activity shows its text: track_activity_query_size may
// cut it), and waits up to 5 s for it to exit (pg_terminate_backend's
// timeout; its two-argument form needs PostgreSQL 14 or later, and on 13
// it fails: the records are then counted at once, as before). Behind a
// pooler that hides the server's session ids (its pid, up to 2^32, is
// compared as a bigint), or when the session is gone or runs something
// else, it ends nothing; the sessions of other roles show no query.
const pgEndBatchSQL = `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
	WHERE pid::bigint = $1::bigint AND state = 'active' AND query <> '' AND starts_with($2::text, query)`
