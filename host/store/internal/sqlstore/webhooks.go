package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hookhost/hookhost/host/store"
)

const webhookCols = `id, name, token_hash, prev_token_hash, prev_token_expires_at, event_kata, enabled, debug, expires_at, revision, owner, token_secret, created_at, updated_at`

func scanWebhook(r rowScanner) (*store.Webhook, error) {
	var w store.Webhook
	err := r.Scan(&w.ID, &w.Name, blobCol{&w.TokenHash}, blobCol{&w.PrevTokenHash},
		nullTimeCol{&w.PrevTokenExpiresAt}, &w.EventKATA, &w.Enabled, &w.Debug,
		nullTimeCol{&w.ExpiresAt}, &w.Revision, &w.Owner, &w.TokenSecret, timeCol{&w.CreatedAt}, timeCol{&w.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// errNoTokenHash refuses a webhook without a token hash.
var errNoTokenHash = fmt.Errorf("%w: token hash is empty", store.ErrInvalid)

// insertWebhook inserts w, filling in its ID (a UUIDv7 when empty) and
// timestamps (CreatedAt kept when set, else now; UpdatedAt = CreatedAt). The
// filled fields are written to w only when the insert succeeds.
func (s *Store) insertWebhook(ctx context.Context, q querier, w *store.Webhook) error {
	if len(w.TokenHash) == 0 {
		return errNoTokenHash
	}
	if !store.ValidName(w.Name) {
		return invalid("webhook name", w.Name)
	}
	if !store.ValidName(w.ID) {
		return invalid("webhook id", w.ID)
	}
	if !store.ValidName(w.Owner) {
		return invalid("owner", w.Owner)
	}
	if !store.ValidName(w.TokenSecret) {
		return invalid("token secret", w.TokenSecret)
	}
	id := w.ID
	if id == "" {
		var err error
		if id, err = newID(); err != nil {
			return err
		}
	}
	created := now()
	if !w.CreatedAt.IsZero() {
		created = norm(w.CreatedAt)
	}
	prevExp, exp := normPtr(w.PrevTokenExpiresAt), normPtr(w.ExpiresAt)
	_, err := q.ExecContext(ctx, `
		INSERT INTO webhooks (`+webhookCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $12)`,
		id, w.Name, w.TokenHash, w.PrevTokenHash, s.tmPtr(prevExp), s.bytes(w.EventKATA),
		w.Enabled, w.Debug, s.tmPtr(exp), w.Owner, w.TokenSecret, s.tm(created))
	if err != nil {
		return s.classify(err)
	}
	w.ID, w.Revision, w.CreatedAt, w.UpdatedAt = id, 1, created, created
	w.PrevTokenExpiresAt, w.ExpiresAt = prevExp, exp
	return nil
}

// CreateWebhook inserts w, filling in its ID (a UUIDv7 when empty),
// Revision (1) and timestamps. A taken token hash (or ID) is ErrConflict, a
// name (or ID) store.ValidName refuses ErrInvalid. It writes an audit entry
// by store.ActorSystem.
func (s *Store) CreateWebhook(ctx context.Context, w *store.Webhook) error {
	return s.applyOne(ctx, store.Change{Action: store.ActionCreate, Webhook: w})
}

// updateWebhook replaces every field of the webhook with ID w.ID except
// CreatedAt (when ifRevision is 0 or its revision), adds one to its
// revision and sets UpdatedAt to now; it fills Revision, CreatedAt and
// UpdatedAt on w.
func (s *Store) updateWebhook(ctx context.Context, q querier, w *store.Webhook, ifRevision int64) error {
	if len(w.TokenHash) == 0 {
		return errNoTokenHash
	}
	if !store.ValidName(w.ID) {
		return store.ErrNotFound
	}
	if !store.ValidName(w.Name) {
		return invalid("webhook name", w.Name)
	}
	if !store.ValidName(w.Owner) {
		return invalid("owner", w.Owner)
	}
	if !store.ValidName(w.TokenSecret) {
		return invalid("token secret", w.TokenSecret)
	}
	updated := now()
	prevExp, exp := normPtr(w.PrevTokenExpiresAt), normPtr(w.ExpiresAt)
	var created time.Time
	var rev int64
	err := q.QueryRowContext(ctx, `
		UPDATE webhooks
		SET name = $2, token_hash = $3, prev_token_hash = $4, prev_token_expires_at = $5,
		    event_kata = $6, enabled = $7, debug = $8, expires_at = $9, owner = $10, token_secret = $11,
		    revision = revision + 1, updated_at = $12
		WHERE id = $1 AND (CAST($13 AS BIGINT) = 0 OR revision = $13)
		RETURNING revision, created_at`,
		w.ID, w.Name, w.TokenHash, w.PrevTokenHash, s.tmPtr(prevExp), s.bytes(w.EventKATA),
		w.Enabled, w.Debug, s.tmPtr(exp), w.Owner, w.TokenSecret, s.tm(updated), ifRevision,
	).Scan(&rev, timeCol{&created})
	if err != nil {
		return s.missing(ctx, q, err, ifRevision, `SELECT revision FROM webhooks WHERE id = $1`, w.ID)
	}
	w.Revision, w.CreatedAt, w.UpdatedAt = rev, created, updated
	w.PrevTokenExpiresAt, w.ExpiresAt = prevExp, exp
	return nil
}

// deleteWebhook deletes the webhook with the given ID (when ifRevision is
// 0 or its revision) and returns its name and revision.
func (s *Store) deleteWebhook(ctx context.Context, q querier, id string, ifRevision int64) (string, int64, error) {
	if !store.ValidName(id) {
		return "", 0, store.ErrNotFound
	}
	var name string
	var rev int64
	err := q.QueryRowContext(ctx, `
		DELETE FROM webhooks WHERE id = $1 AND (CAST($2 AS BIGINT) = 0 OR revision = $2)
		RETURNING name, revision`, id, ifRevision).Scan(&name, &rev)
	if err != nil {
		return "", 0, s.missing(ctx, q, err, ifRevision, `SELECT revision FROM webhooks WHERE id = $1`, id)
	}
	return name, rev, nil
}

// UpdateWebhook replaces every field of the webhook with ID w.ID except
// CreatedAt, adds one to its revision and sets UpdatedAt to now; it fills
// Revision, CreatedAt and UpdatedAt on w. A missing webhook is
// ErrNotFound, a token hash taken by another webhook ErrConflict, a name
// store.ValidName refuses ErrInvalid. It writes an audit entry by
// store.ActorSystem.
func (s *Store) UpdateWebhook(ctx context.Context, w *store.Webhook) error {
	return s.applyOne(ctx, store.Change{Action: store.ActionUpdate, Webhook: w})
}

// GetWebhook returns the webhook with the given ID, or ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id string) (*store.Webhook, error) {
	if !store.ValidName(id) {
		return nil, fmt.Errorf("get webhook %q: %w", id, store.ErrNotFound)
	}
	w, err := scanWebhook(s.db.QueryRowContext(ctx,
		`SELECT `+webhookCols+` FROM webhooks WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get webhook %q: %w", id, s.classify(err))
	}
	return w, nil
}

// GetWebhookByTokenHash returns the webhook whose current token hash is
// hash, or else the one whose previous token hash is hash and expires after
// now; otherwise ErrNotFound. The hash is never put in the error.
func (s *Store) GetWebhookByTokenHash(ctx context.Context, hash []byte, now time.Time) (*store.Webhook, error) {
	// Two index lookups; a current token wins over a previous one.
	w, err := scanWebhook(s.db.QueryRowContext(ctx, `
		SELECT `+webhookCols+` FROM (
			SELECT `+webhookCols+`, 0 AS pri FROM webhooks WHERE token_hash = $1
			UNION ALL
			SELECT `+webhookCols+`, 1 AS pri FROM webhooks
			WHERE prev_token_hash = $1 AND prev_token_expires_at > $2
		) AS m ORDER BY pri LIMIT 1`,
		hash, s.tm(now)))
	if err != nil {
		return nil, fmt.Errorf("get webhook by token: %w", s.classify(err))
	}
	return w, nil
}

// ListWebhooks returns every webhook in creation order.
func (s *Store) ListWebhooks(ctx context.Context) ([]*store.Webhook, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	var out []*store.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// DeleteWebhook deletes the webhook with the given ID, or returns
// ErrNotFound. Its runs are kept. It writes an audit entry by
// store.ActorSystem.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.applyOne(ctx, store.Change{Action: store.ActionDelete, Webhook: &store.Webhook{ID: id}})
}
