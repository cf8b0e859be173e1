package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hookhost/hookhost/host/store"
)

const webhookCols = `id, name, token_hash, prev_token_hash, prev_token_expires_at, event_kata, enabled, debug, expires_at, created_at, updated_at`

func scanWebhook(r rowScanner) (*store.Webhook, error) {
	var w store.Webhook
	err := r.Scan(&w.ID, &w.Name, blobCol{&w.TokenHash}, blobCol{&w.PrevTokenHash},
		nullTimeCol{&w.PrevTokenExpiresAt}, &w.EventKATA, &w.Enabled, &w.Debug,
		nullTimeCol{&w.ExpiresAt}, timeCol{&w.CreatedAt}, timeCol{&w.UpdatedAt})
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
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		id, w.Name, w.TokenHash, w.PrevTokenHash, s.tmPtr(prevExp), s.bytes(w.EventKATA),
		w.Enabled, w.Debug, s.tmPtr(exp), s.tm(created))
	if err != nil {
		return s.classify(err)
	}
	w.ID, w.CreatedAt, w.UpdatedAt = id, created, created
	w.PrevTokenExpiresAt, w.ExpiresAt = prevExp, exp
	return nil
}

// CreateWebhook inserts w, filling in its ID (a UUIDv7 when empty) and
// timestamps. A taken token hash (or ID) is ErrConflict, a name (or ID)
// store.ValidName refuses ErrInvalid.
func (s *Store) CreateWebhook(ctx context.Context, w *store.Webhook) error {
	if err := s.wrote(s.insertWebhook(ctx, s.db, w)); err != nil {
		return fmt.Errorf("create webhook %q: %w", w.Name, err)
	}
	return nil
}

// UpdateWebhook replaces every field of the webhook with ID w.ID except
// CreatedAt, and sets UpdatedAt to now; it fills CreatedAt and UpdatedAt on
// w. A missing webhook is ErrNotFound, a token hash taken by another webhook
// ErrConflict, a name store.ValidName refuses ErrInvalid.
func (s *Store) UpdateWebhook(ctx context.Context, w *store.Webhook) error {
	if len(w.TokenHash) == 0 {
		return fmt.Errorf("update webhook %q: %w", w.ID, errNoTokenHash)
	}
	if !store.ValidName(w.ID) {
		return fmt.Errorf("update webhook %q: %w", w.ID, store.ErrNotFound)
	}
	if !store.ValidName(w.Name) {
		return fmt.Errorf("update webhook %q: %w", w.ID, invalid("webhook name", w.Name))
	}
	updated := now()
	prevExp, exp := normPtr(w.PrevTokenExpiresAt), normPtr(w.ExpiresAt)
	var created time.Time
	err := s.db.QueryRowContext(ctx, `
		UPDATE webhooks
		SET name = $2, token_hash = $3, prev_token_hash = $4, prev_token_expires_at = $5,
		    event_kata = $6, enabled = $7, debug = $8, expires_at = $9, updated_at = $10
		WHERE id = $1
		RETURNING created_at`,
		w.ID, w.Name, w.TokenHash, w.PrevTokenHash, s.tmPtr(prevExp), s.bytes(w.EventKATA),
		w.Enabled, w.Debug, s.tmPtr(exp), s.tm(updated),
	).Scan(timeCol{&created})
	if err := s.wrote(s.classify(err)); err != nil {
		return fmt.Errorf("update webhook %q: %w", w.ID, err)
	}
	w.CreatedAt, w.UpdatedAt = created, updated
	w.PrevTokenExpiresAt, w.ExpiresAt = prevExp, exp
	return nil
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
// ErrNotFound. Its runs are kept.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	if !store.ValidName(id) {
		return fmt.Errorf("delete webhook %q: %w", id, store.ErrNotFound)
	}
	if err := s.deleteOne(ctx, `DELETE FROM webhooks WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete webhook %q: %w", id, err)
	}
	return nil
}
