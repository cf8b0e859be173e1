package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// On PostgreSQL a batch of Enqueues without idempotency keys is written by
// one statement (pgInsertRunsSQL) sent in one round trip and committed on
// its own: River's job rows, as River's JobInsertFastMany stores them, and
// hookhost's records, which take their River ids from the same
// nextval. River's way took four round trips a batch (BEGIN, River's
// insert, the records' insert, COMMIT), River's client validated and
// encoded every job again, and pgx encoded thirteen array parameters.
// River's insert notification (which wakes the producers of every server
// of the database) goes in the same round trip, as often as River's
// client would send it (insertNotifier).

// pgInsertRunsSQL inserts run jobs into River's table and their records
// into hookhost's. Its parameters are arrays, one element a job: the
// record's id, River's args, max attempts, webhook id, handler,
// automation, stored inputs, retry_of, callback URL, created_at (unix
// microseconds) and size; then River's kind and queue. The CTE n is
// materialized (it is read twice), so each job's nextval runs once.
const pgInsertRunsSQL = `WITH n AS MATERIALIZED (
	SELECT nextval('river_job_id_seq'::regclass) AS river_id, v.*
	FROM unnest($1::text[], $2::jsonb[], $3::smallint[], $4::text[], $5::text[], $6::text[], $7::bytea[],
		$8::text[], $9::text[], $10::bigint[], $11::bigint[])
		AS v(id, args, max_attempts, webhook_id, handler, automation, inputs, retry_of, callback_url, created_at, size)
), j AS (
	INSERT INTO river_job (id, args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags)
	SELECT river_id, args, now(), $12, max_attempts, '{}'::jsonb, 1, $13, now(), 'available', '{}'::varchar(255)[]
	FROM n
)
INSERT INTO hookhost_jobs (id, river_id, webhook_id, handler, automation, state, max_attempts, inputs, retry_of,
	callback_url, created_at, size)
SELECT id, river_id, webhook_id, handler, automation, 'queued', max_attempts, inputs, retry_of, callback_url, created_at, size
FROM n`

// pgNotifyInsertSQL is River's insert notification (its NotifyMany).
const pgNotifyInsertSQL = `SELECT pg_notify($1, $2)`

// riverInsertNotifyCooldown is how often River's client notifies a queue's
// inserts at most: its insert notification limiter waits its
// FetchCooldown, River's default for the client that inserted.
const riverInsertNotifyCooldown = 100 * time.Millisecond

// insertNotifier limits the insert notifications of one queue as River's
// client does (notifylimiter.Limiter): at most one per cooldown.
type insertNotifier struct {
	last atomic.Int64 // unix nanoseconds of the last one sent, 0: none
}

// due reports whether a notification is due at now and, if so, takes it.
func (n *insertNotifier) due(now time.Time) bool {
	last := n.last.Load()
	t := now.UnixNano()
	if last != 0 && t-last < riverInsertNotifyCooldown.Nanoseconds() {
		return false
	}
	return n.last.CompareAndSwap(last, t)
}

// plainRuns reports whether items can be written by pgInsertRuns: none
// has an idempotency key (those need a statement's answer each).
func plainRuns(items []*insertItem) bool {
	for _, it := range items {
		if idempotencyKey(it.req.IdempotencyKey) != "" || it.max > math.MaxInt16 {
			return false
		}
	}
	return true
}

// pgInsertRuns writes items, none with an idempotency key, in one
// statement and one round trip, committed on its own.
func (q *Queue) pgInsertRuns(ctx context.Context, items []*insertItem) error {
	n := len(items)
	var (
		ids, webhooks, handlers, automations = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		retryOf, callbacks                   = make([]string, n), make([]string, n)
		args                                 = make([][]byte, n)
		inputs                               = make([][]byte, n)
		maxAttempts                          = make([]int16, n)
		created, sizes                       = make([]int64, n), make([]int64, n)
	)
	for i, it := range items {
		it.res = Result{JobID: it.id}
		a, err := json.Marshal(it.args)
		if err != nil {
			return fmt.Errorf("insert river jobs: error marshaling args to JSON: %w", err)
		}
		r := it.req
		ids[i], args[i], maxAttempts[i] = it.id, a, int16(it.max)
		webhooks[i], handlers[i], automations[i] = r.WebhookID, r.Handler, r.Automation
		inputs[i], retryOf[i], callbacks[i] = bytesArg(r.RedactedInputs), r.RetryOf, r.Options.CallbackURL
		created[i], sizes[i] = micros(it.created), int64(len(r.RedactedInputs)+recordOverhead)
	}
	return onPgx(ctx, q.db, func(c *pgx.Conn, send sendBatch) error {
		var b pgx.Batch
		b.Queue(pgInsertRunsSQL, ids, args, maxAttempts, webhooks, handlers, automations, inputs, retryOf,
			callbacks, created, sizes, kindRun, queueRuns)
		if q.notifyRuns.due(time.Now()) {
			b.Queue(pgNotifyInsertSQL, insertTopic, insertPayload(queueRuns))
		}
		br := send(ctx, &b)
		tag, err := br.Exec()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
		if got := tag.RowsAffected(); got != int64(n) {
			return fmt.Errorf("insert jobs: inserted %d records of %d", got, n)
		}
		return nil
	})
}
