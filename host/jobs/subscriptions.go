package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hookhost/hookhost/automations/ssrf"
	"github.com/hookhost/hookhost/host/store"
)

// Subscriptions.
//
// A subscription asks for some event types (EventTypes), optionally only
// those of one webhook, to be POSTed to its URL. Each event a subscription
// matches becomes one delivery: a River job of its own kind on the
// callbacks' queue, sent exactly like a completion callback (post: signed
// the Standard Webhooks way with the subscription's own secret, through the
// outbound guard, retried with backoff up to 8 attempts, 410 and 3xx stop
// it) and logged in hookhost_deliveries (Deliveries).
//
// Job events are queued in the transaction that records the job's end, so
// a job that ended is announced even if the process dies right after.
// Other events (Publish) are best-effort: they are written by a background
// goroutine in batches, and dropped when more than publishBacklog wait or
// when they come faster than Config.PublishRate (PublishDropped counts
// them).
//
// Which subscriptions an event matches is decided from a copy of the
// subscriptions kept in memory: refreshed at once when this process
// changes them, and every Config.SubscriptionRefresh for changes made by
// other servers sharing the database. A delivery reads its subscription
// when it is sent, so an unsubscribed receiver gets nothing more.

// Event types a subscription may ask for.
const (
	EventJobCompleted           = "job.completed"
	EventJobFailed              = "job.failed"
	EventJobStopped             = "job.stopped"
	EventWebhookRequestRejected = "webhook.request.rejected"
)

// EventTypes lists the event types a subscription may ask for.
func EventTypes() []string {
	return []string{EventJobCompleted, EventJobFailed, EventJobStopped, EventWebhookRequestRejected}
}

// jobEvent is the event type of a job that ended in st.
func jobEvent(st State) string { return "job." + strings.ToLower(string(st)) }

// Errors of subscriptions that callers branch on.
var (
	// ErrSubscriptionNotFound means there is no such subscription.
	ErrSubscriptionNotFound = errors.New("jobs: no such subscription")
	// ErrPublishBacklog means an event was dropped: too many published
	// events wait to be written.
	ErrPublishBacklog = errors.New("jobs: too many published events wait to be written; event dropped")
	// ErrPublishRate means an event was dropped: events came faster than
	// Config.PublishRate allows.
	ErrPublishRate = errors.New("jobs: events are published faster than the publish rate allows; event dropped")
)

// FieldError is an input the queue refuses; Field names it as the admin
// API spells it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Subscription is a receiver of published events.
type Subscription struct {
	ID string
	// URL receives the events (http or https).
	URL string
	// Events are the event types it asked for (EventTypes), sorted.
	Events []string
	// WebhookID, when set, limits it to the events of that webhook.
	WebhookID   string
	Description string
	// Secret ("whsec_…") signs its deliveries.
	Secret    string
	CreatedAt time.Time
	// Name identifies a subscription a manifest declares ("" otherwise);
	// Owner is what manages it ("" for the admin API,
	// store.OwnerManifest+file for a manifest).
	Name, Owner string
}

// matches reports whether the subscription wants an event.
func (s *Subscription) matches(typ, webhookID string) bool {
	return slices.Contains(s.Events, typ) && (s.WebhookID == "" || s.WebhookID == webhookID)
}

// Delivery states.
const (
	DeliveryQueued    = "queued"
	DeliveryDelivered = "delivered"
	DeliveryRetrying  = "retrying"
	DeliveryFailed    = "failed"
	DeliveryRefused   = "refused"
	DeliveryStopped   = "stopped"
)

// Delivery is one event sent (or being sent) to a subscription.
type Delivery struct {
	// ID is the message id (the webhook-id header), the same on every
	// attempt.
	ID             string
	SubscriptionID string
	// Type is the event type.
	Type string
	// State is DeliveryQueued, …Delivered, …Retrying, …Failed, …Refused or
	// …Stopped.
	State    string
	Attempts int
	// Status is the receiver's last HTTP status (0 when none).
	Status int
	// Error says why the last attempt did not deliver.
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// maxSubscriptionURL bounds a subscription's URL.
const maxSubscriptionURL = 2048

// checkSubscription validates a new subscription and normalises its
// events.
func (q *Queue) checkSubscription(s *Subscription) error {
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		return &FieldError{"url", "url is required: the address that receives the events, e.g. https://example.com/hooks/hookhost"}
	case len(s.URL) > maxSubscriptionURL:
		return &FieldError{"url", fmt.Sprintf("url must be at most %d characters", maxSubscriptionURL)}
	case err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return &FieldError{"url", fmt.Sprintf("url %q must be an absolute http:// or https:// URL", s.URL)}
	case !store.ValidName(s.URL):
		return &FieldError{"url", "url must be valid UTF-8 without NUL bytes"}
	}
	if _, err := (ssrf.Options{AllowPrivate: q.cfg.AllowPrivateRequests}).CheckHost(u.Hostname()); err != nil {
		var be *ssrf.BlockedError
		if errors.As(err, &be) {
			return &FieldError{"url", "deliveries to this url would be refused: " + refusal(be)}
		}
		return &FieldError{"url", err.Error()}
	}
	if len(s.Events) == 0 {
		return &FieldError{"events", "events is required: one or more of " + strings.Join(EventTypes(), ", ")}
	}
	known := EventTypes()
	for _, e := range s.Events {
		if !slices.Contains(known, e) {
			return &FieldError{"events", fmt.Sprintf("unknown event %q: want one or more of %s", e, strings.Join(known, ", "))}
		}
	}
	s.Events = slices.Compact(slices.Sorted(slices.Values(s.Events)))
	for _, f := range []struct{ name, v string }{{"webhook_id", s.WebhookID}, {"description", s.Description}} {
		if !store.ValidName(f.v) {
			return &FieldError{f.name, f.name + " must be valid UTF-8 without NUL bytes"}
		}
	}
	if len(s.Description) > 1024 {
		return &FieldError{"description", "description must be at most 1024 bytes"}
	}
	return nil
}

// Subscribe validates and stores a subscription, giving it its ID, secret
// and creation time. A *FieldError names what is wrong.
func (q *Queue) Subscribe(ctx context.Context, s *Subscription) error {
	if err := q.checkSubscription(s); err != nil {
		return err
	}
	s.ID, s.Secret, s.CreatedAt = uuid.NewString(), newSecret(), nowUTC().Truncate(time.Microsecond)
	stored, sealed, err := q.sealSecret(subscriptionSealPrefix+s.ID, s.Secret)
	if err != nil {
		return err
	}
	_, err = q.db.ExecContext(ctx, q.d.q(`INSERT INTO hookhost_subscriptions (id, url, events, webhook_id, description,
		secret, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), s.ID, s.URL, strings.Join(s.Events, " "), s.WebhookID,
		s.Description, stored, sealed, micros(s.CreatedAt))
	if err != nil {
		return fmt.Errorf("jobs: subscribe: %w", err)
	}
	q.refreshSubscribers(ctx)
	return nil
}

// CheckSubscription validates a subscription as Subscribe does and
// normalises its events. A *FieldError names what is wrong.
func (q *Queue) CheckSubscription(s *Subscription) error { return q.checkSubscription(s) }

// SubscriptionChange returns the change of a change set
// (store.ChangeSet) that writes s, checked by CheckSubscription:
// store.ActionCreate inserts it with a new ID and signing secret (filled
// in s when the change set is applied), store.ActionUpdate replaces its
// URL, events, webhook, description and owner (by ID; its secret and
// delivery log stay), store.ActionDelete deletes it and its delivery log
// (by ID). After the change set is applied, call RefreshSubscribers.
func (q *Queue) SubscriptionChange(action string, s *Subscription) store.Change {
	rec := &store.RecordChange{Kind: store.KindSubscription, Name: s.Name, RecordID: s.ID}
	if action == store.ActionCreate && s.ID == "" {
		s.ID = uuid.NewString()
		rec.RecordID = s.ID
	}
	rec.Write = func(ctx context.Context, tx *sql.Tx) error {
		switch action {
		case store.ActionCreate:
			s.Secret, s.CreatedAt = newSecret(), nowUTC().Truncate(time.Microsecond)
			stored, sealed, err := q.sealSecret(subscriptionSealPrefix+s.ID, s.Secret)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, q.d.q(`INSERT INTO hookhost_subscriptions (id, url, events, webhook_id, description,
				secret, sealed, created_at, name, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), s.ID, s.URL, strings.Join(s.Events, " "),
				s.WebhookID, s.Description, stored, sealed, micros(s.CreatedAt), s.Name, s.Owner)
			return err
		case store.ActionUpdate:
			res, err := tx.ExecContext(ctx, q.d.q(`UPDATE hookhost_subscriptions SET url = ?, events = ?, webhook_id = ?,
				description = ?, name = ?, owner = ? WHERE id = ?`), s.URL, strings.Join(s.Events, " "), s.WebhookID,
				s.Description, s.Name, s.Owner, s.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrNotFound
			}
			return nil
		case store.ActionDelete:
			res, err := tx.ExecContext(ctx, q.d.q(`DELETE FROM hookhost_subscriptions WHERE id = ?`), s.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrNotFound
			}
			_, err = tx.ExecContext(ctx, q.d.q(`DELETE FROM hookhost_deliveries WHERE subscription_id = ?`), s.ID)
			return err
		}
		return fmt.Errorf("%w: no action %q on a subscription", store.ErrInvalid, action)
	}
	return store.Change{Action: action, Record: rec}
}

// RefreshSubscribers reloads the subscriptions events are matched
// against, after a change set that changed them (SubscriptionChange).
func (q *Queue) RefreshSubscribers(ctx context.Context) { q.refreshSubscribers(ctx) }

// Unsubscribe deletes a subscription and its delivery log; deliveries not
// sent yet are dropped (ErrSubscriptionNotFound when there is none).
func (q *Queue) Unsubscribe(ctx context.Context, id string) error {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("jobs: unsubscribe: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	res, err := tx.ExecContext(ctx, q.d.q(`DELETE FROM hookhost_subscriptions WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("jobs: unsubscribe: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return fmt.Errorf("jobs: unsubscribe: %w", err)
		}
		return ErrSubscriptionNotFound
	}
	if _, err := tx.ExecContext(ctx, q.d.q(`DELETE FROM hookhost_deliveries WHERE subscription_id = ?`), id); err != nil {
		return fmt.Errorf("jobs: unsubscribe: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("jobs: unsubscribe: %w", err)
	}
	q.refreshSubscribers(ctx)
	return nil
}

const subscriptionColumns = `id, url, events, webhook_id, description, secret, sealed, created_at, name, owner`

// scanSubscription reads a row of subscriptionColumns, opening its secret
// (see sealSecret).
func (q *Queue) scanSubscription(r rowScanner) (*Subscription, error) {
	var (
		s       Subscription
		events  string
		sealed  int
		created int64
	)
	if err := r.Scan(&s.ID, &s.URL, &events, &s.WebhookID, &s.Description, &s.Secret, &sealed, &created, &s.Name, &s.Owner); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrSubscriptionNotFound
		}
		return nil, fmt.Errorf("jobs: read subscription: %w", err)
	}
	secret, err := q.openSecret(subscriptionSealPrefix+s.ID, s.Secret, sealed)
	if err != nil {
		return nil, fmt.Errorf("jobs: read subscription %s: %w", s.ID, err)
	}
	s.Secret, s.Events, s.CreatedAt = secret, strings.Fields(events), fromMicros(created)
	return &s, nil
}

// Subscription returns a subscription (ErrSubscriptionNotFound when there
// is none).
func (q *Queue) Subscription(ctx context.Context, id string) (*Subscription, error) {
	return q.scanSubscription(q.db.QueryRowContext(ctx, q.d.q(`SELECT `+subscriptionColumns+
		` FROM hookhost_subscriptions WHERE id = ?`), id))
}

// Subscriptions lists the subscriptions, oldest first.
func (q *Queue) Subscriptions(ctx context.Context) ([]*Subscription, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM hookhost_subscriptions ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("jobs: list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []*Subscription
	for rows.Next() {
		s, err := q.scanSubscription(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: list subscriptions: %w", err)
	}
	return out, nil
}

// Deliveries returns the delivery log of a subscription, newest first, at
// most limit entries (default 50, at most 500).
func (q *Queue) Deliveries(ctx context.Context, subscriptionID string, limit int) ([]*Delivery, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := q.db.QueryContext(ctx, q.d.q(`SELECT id, subscription_id, event_type, state, attempts, status, error,
		created_at, updated_at FROM hookhost_deliveries WHERE subscription_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`),
		subscriptionID, min(limit, 500))
	if err != nil {
		return nil, fmt.Errorf("jobs: list deliveries: %w", err)
	}
	defer rows.Close()
	out := []*Delivery{}
	for rows.Next() {
		var (
			d                Delivery
			attempts, status int64
			created, updated int64
		)
		if err := rows.Scan(&d.ID, &d.SubscriptionID, &d.Type, &d.State, &attempts, &status, &d.Error, &created, &updated); err != nil {
			return nil, fmt.Errorf("jobs: list deliveries: %w", err)
		}
		d.Attempts, d.Status, d.CreatedAt, d.UpdatedAt = int(attempts), int(status), fromMicros(created), fromMicros(updated)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: list deliveries: %w", err)
	}
	return out, nil
}

// subscribers is the in-memory copy of the subscriptions that events are
// matched against.
type subscribers struct {
	mu   sync.RWMutex
	list []*Subscription
}

// match returns the IDs of the subscriptions that want an event.
func (s *subscribers) match(typ, webhookID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for _, sub := range s.list {
		if sub.matches(typ, webhookID) {
			ids = append(ids, sub.ID)
		}
	}
	return ids
}

func (s *subscribers) set(list []*Subscription) {
	s.mu.Lock()
	s.list = list
	s.mu.Unlock()
}

// refreshSubscribers reloads the in-memory subscriptions; on failure the
// old copy stays, with a warning.
func (q *Queue) refreshSubscribers(ctx context.Context) {
	list, err := q.Subscriptions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			q.log.Warn("reload subscriptions failed", "error", err)
		}
		return
	}
	q.subs.set(list)
}

// subscriberLoop reloads the subscriptions every Config.SubscriptionRefresh
// (other servers' changes) until ctx ends.
func (q *Queue) subscriberLoop(ctx context.Context, done chan<- struct{}) {
	every(ctx, done, q.cfg.SubscriptionRefresh, func() { q.refreshSubscribers(ctx) })
}
