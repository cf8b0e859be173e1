package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
)

// Signing secrets.
//
// The webhook record has no secret column, so each webhook's callback
// signing secret ("whsec_" + base64 of 32 random bytes) lives in
// hookhost_signing_secrets, created on first need; a schedule's is there
// under "schedule/<name>" (SigningKey). Subscriptions keep their own
// secret in their row. SigningSecret with
// rotate replaces it and returns the new one: the admin API shows it only
// then.

const (
	getSecretSQL    = `SELECT secret FROM hookhost_signing_secrets WHERE webhook_id = ?`
	addSecretSQL    = `INSERT INTO hookhost_signing_secrets (webhook_id, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (webhook_id) DO NOTHING`
	rotateSecretSQL = `INSERT INTO hookhost_signing_secrets (webhook_id, secret, created_at) VALUES (?, ?, ?)
		ON CONFLICT (webhook_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at`
)

// SigningSecret returns the callback signing secret of a webhook (its ID)
// or schedule (SigningKey), creating it when missing; with rotate it always
// makes a new one.
func (q *Queue) SigningSecret(ctx context.Context, webhookID string, rotate bool) (string, error) {
	if rotate {
		s := newSecret()
		if _, err := q.db.ExecContext(ctx, q.d.q(rotateSecretSQL), webhookID, s, micros(nowUTC())); err != nil {
			return "", fmt.Errorf("jobs: rotate signing secret: %w", err)
		}
		return s, nil
	}
	var s string
	err := q.db.QueryRowContext(ctx, q.d.q(getSecretSQL), webhookID).Scan(&s)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("jobs: signing secret: %w", err)
	}
	if _, err := q.db.ExecContext(ctx, q.d.q(addSecretSQL), webhookID, newSecret(), micros(nowUTC())); err != nil {
		return "", fmt.Errorf("jobs: create signing secret: %w", err)
	}
	if err := q.db.QueryRowContext(ctx, q.d.q(getSecretSQL), webhookID).Scan(&s); err != nil {
		return "", fmt.Errorf("jobs: signing secret: %w", err)
	}
	return s, nil
}

// SigningKey is the key of the signing secret of a job's completion
// callbacks: its webhook's ID, or, for a job that no webhook started (a
// schedule's), its handler ("schedule/<name>").
func SigningKey(webhookID, handler string) string {
	if webhookID != "" {
		return webhookID
	}
	return handler
}

func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}
