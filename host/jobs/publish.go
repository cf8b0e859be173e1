package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"golang.org/x/time/rate"
)

// Publication is an event for the subscriptions that asked for its type
// (Queue.Publish). Job events are published by the queue itself.
type Publication struct {
	// Type is the event type, e.g. EventWebhookRequestRejected.
	Type string
	// WebhookID is the webhook the event is about ("" for none): only
	// subscriptions of all webhooks or of this one get it.
	WebhookID string
	// Data is the event's "data" object, encoded as JSON.
	Data any
	// At is when it happened. Default: when it is published.
	At time.Time
}

// RejectedRequest is the data of a webhook.request.rejected event: a
// request to a known webhook that was refused before any automation ran.
// It never holds the token, a credential or the body.
type RejectedRequest struct {
	WebhookID string `json:"webhook_id"`
	// RequestID is the request id of the access log (X-Request-Id).
	RequestID string `json:"request_id,omitempty"`
	// Status is the answer's HTTP status (400, 401, 403, 404, 413, 429).
	Status int `json:"status"`
	// Cause is the access log's cause: verify, rate_limit, concurrency,
	// body_size, disabled, expired or no_handler.
	Cause string `json:"cause"`
	// Reason is the refusal's detail as the access log has it.
	Reason   string `json:"reason,omitempty"`
	Method   string `json:"method"`
	ClientIP string `json:"client_ip,omitempty"`
}

// Envelope is the body of a delivery (and of a completion callback): the
// Standard Webhooks payload shape.
type Envelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// publishBacklog bounds the published events waiting to be written.
const publishBacklog = 1024

// publishBatch bounds the events written in one transaction.
const publishBatch = 256

// published is an event waiting to be written, with the subscriptions it
// goes to.
type published struct {
	typ  string
	subs []string
	body []byte
}

// publisher writes published events in the background.
type publisher struct {
	in      chan published
	limit   *rate.Limiter
	dropped atomic.Int64
	mu      sync.RWMutex // held for reading while handing over
	closed  bool
}

// PublishDropped counts the published events dropped since the queue
// started (ErrPublishBacklog, ErrPublishRate).
func (q *Queue) PublishDropped() int64 { return q.pub.dropped.Load() }

// Publish queues a delivery of the event to every subscription that asked
// for its type (and for its webhook, when it names one to all of them). It
// does not block and does not wait for the database: a background
// goroutine writes the deliveries in batches. It drops the event and
// returns ErrPublishRate when events come faster than Config.PublishRate,
// ErrPublishBacklog when too many wait to be written; it returns nil at
// once when no subscription wants the event. Deliveries of events published
// while the queue stops may be lost.
func (q *Queue) Publish(p Publication) error {
	subs := q.subs.match(p.Type, p.WebhookID)
	if len(subs) == 0 {
		return nil
	}
	if !q.pub.limit.Allow() {
		q.pub.dropped.Add(1)
		return ErrPublishRate
	}
	at := p.At
	if at.IsZero() {
		at = nowUTC()
	}
	body, err := json.Marshal(Envelope{Type: p.Type, Timestamp: at.UTC(), Data: p.Data})
	if err != nil {
		return fmt.Errorf("jobs: publish %s: %w", p.Type, err)
	}
	q.pub.mu.RLock()
	defer q.pub.mu.RUnlock()
	if q.pub.closed {
		return errClosed
	}
	select {
	case q.pub.in <- published{typ: p.Type, subs: subs, body: body}:
		return nil
	default:
		q.pub.dropped.Add(1)
		return ErrPublishBacklog
	}
}

// publishLoop writes published events until ctx ends.
func (q *Queue) publishLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	for {
		var batch []published
		select {
		case <-ctx.Done():
			return
		case p := <-q.pub.in:
			batch = append(batch, p)
		}
	more:
		for len(batch) < publishBatch {
			select {
			case p := <-q.pub.in:
				batch = append(batch, p)
			default:
				break more
			}
		}
		err := q.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for _, p := range batch {
				if err := q.queueDeliveries(ctx, tx, p.subs, p.typ, p.body); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			q.log.Warn("published events could not be queued; they are dropped", "events", len(batch), "error", err)
		}
	}
}

// closePublisher stops taking events.
func (q *Queue) closePublisher() {
	q.pub.mu.Lock()
	q.pub.closed = true
	q.pub.mu.Unlock()
}

// deliveryArgs are a subscription delivery's River args.
type deliveryArgs struct {
	DeliveryID     string   `json:"delivery_id"`
	SubscriptionID string   `json:"subscription_id"`
	Type           string   `json:"type"`
	Payload        argBytes `json:"payload"`
}

// Kind is River's job kind.
func (deliveryArgs) Kind() string { return kindDelivery }

const insertDeliverySQL = `INSERT INTO hookhost_deliveries (id, subscription_id, event_type, river_id, state,
	created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)`

// queueDeliveries queues one delivery of an event body per subscription,
// in tx.
func (q *Queue) queueDeliveries(ctx context.Context, tx *sql.Tx, subs []string, typ string, body []byte) error {
	params := make([]river.InsertManyParams, len(subs))
	ids := make([]string, len(subs))
	for i, sub := range subs {
		ids[i] = "msg_" + strings.ReplaceAll(uuid.NewString(), "-", "")
		params[i] = river.InsertManyParams{Args: deliveryArgs{DeliveryID: ids[i], SubscriptionID: sub, Type: typ, Payload: body},
			InsertOpts: &river.InsertOpts{Queue: queueCallbacks, MaxAttempts: callbackMaxAttempts}}
	}
	res, err := q.client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return fmt.Errorf("queue deliveries: %w", err)
	}
	q.queuedCallbacks.Store(true)
	now := micros(nowUTC())
	for i, sub := range subs {
		if _, err := tx.ExecContext(ctx, q.d.q(insertDeliverySQL), ids[i], sub, typ, res[i].Job.ID, now, now); err != nil {
			return fmt.Errorf("queue deliveries: %w", err)
		}
	}
	return nil
}

// deliveryWorker sends subscription deliveries.
type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	q *Queue

	once sync.Once
	http *http.Client
}

// client returns the guarded client, made on first use.
func (w *deliveryWorker) client() *http.Client {
	w.once.Do(func() { w.http = newCallbackClient(w.q.cfg.AllowPrivateRequests, w.q.cfg.CallbackTimeout) })
	return w.http
}

// Timeout bounds one delivery.
func (w *deliveryWorker) Timeout(*river.Job[deliveryArgs]) time.Duration { return deliveryJobTimeout }

// NextRetry backs off as completion callbacks do.
func (w *deliveryWorker) NextRetry(job *river.Job[deliveryArgs]) time.Time {
	return time.Now().Add(backoff(10*w.q.cfg.RetryBackoff, job.Attempt))
}

// Work sends one delivery and logs how it ended.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	a := job.Args
	sub, err := w.q.Subscription(ctx, a.SubscriptionID)
	if errors.Is(err, ErrSubscriptionNotFound) {
		return river.JobCancel(errors.New("unsubscribed")) // its log went with it
	}
	if err != nil {
		return err
	}
	r, err := w.q.sendGuarded(ctx, w.client(), sub.URL, a.DeliveryID, sub.Secret, a.Payload)
	if err != nil {
		return err // a snooze: the destination is at its cap
	}
	state, ret := DeliveryRetrying, error(nil)
	switch r.outcome {
	case sendDelivered:
		state = DeliveryDelivered
	case sendRefused:
		state, ret = DeliveryRefused, river.JobCancel(errors.New(r.detail))
	case sendStopped:
		state, ret = DeliveryStopped, river.JobCancel(errors.New(r.detail))
	default:
		if job.Attempt >= job.MaxAttempts {
			state = DeliveryFailed
		}
		ret = fmt.Errorf("delivery %s: %w", a.DeliveryID, r.err)
	}
	if err := w.q.noteDelivery(context.WithoutCancel(ctx), a.DeliveryID, state, job.Attempt, r.code, r.detail); err != nil {
		w.q.log.Warn("record delivery outcome", "delivery", a.DeliveryID, "subscription", a.SubscriptionID, "error", err)
	}
	return ret
}

// noteDelivery records an attempt of a delivery in its log.
func (q *Queue) noteDelivery(ctx context.Context, id, state string, attempt, status int, detail string) error {
	detail = strings.ReplaceAll(strings.ToValidUTF8(detail, "\uFFFD"), "\x00", "\uFFFD")
	return q.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q.d.q(`UPDATE hookhost_deliveries SET state = ?, attempts = ?, status = ?, error = ?,
			updated_at = ? WHERE id = ?`), state, attempt, status, detail, micros(nowUTC()), id)
		return err
	})
}
