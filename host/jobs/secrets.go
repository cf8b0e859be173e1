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
// secret in their row. SigningSecret with rotate replaces it and returns
// the new one.
//
// With Config.Box set (the server's secret key), both are stored sealed,
// as stored secrets are: the secret column holds the base64 of the sealed
// value, bound to its row (the webhook ID or schedule key, the
// subscription ID), and the row's sealed column is 1. A row with sealed =
// 0 holds its secret in clear (written before schema version 4, or by a
// queue without a Box); Start seals those (sealSigningSecrets).

const (
	getSecretSQL    = `SELECT secret, sealed FROM hookhost_signing_secrets WHERE webhook_id = ?`
	addSecretSQL    = `INSERT INTO hookhost_signing_secrets (webhook_id, secret, sealed, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (webhook_id) DO NOTHING`
	rotateSecretSQL = `INSERT INTO hookhost_signing_secrets (webhook_id, secret, sealed, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (webhook_id) DO UPDATE SET secret = excluded.secret, sealed = excluded.sealed, created_at = excluded.created_at`
)

// Sealer seals and opens values bound to a name: the server's secrets box
// (host/secrets.Box).
type Sealer interface {
	Seal(name string, plaintext []byte) ([]byte, error)
	Open(name string, sealed []byte) ([]byte, error)
}

// Names the signing secrets are sealed under.
const (
	signingSealPrefix      = "signing-secret/"
	subscriptionSealPrefix = "subscription-secret/"
)

// sealSecret returns a signing secret as its row keeps it, and the row's
// sealed flag.
func (q *Queue) sealSecret(name, secret string) (string, int, error) {
	if q.cfg.Box == nil {
		return secret, 0, nil
	}
	b, err := q.cfg.Box.Seal(name, []byte(secret))
	if err != nil {
		return "", 0, fmt.Errorf("jobs: seal signing secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), 1, nil
}

// openSecret reverses sealSecret.
func (q *Queue) openSecret(name, stored string, sealed int) (string, error) {
	if sealed == 0 {
		return stored, nil
	}
	if q.cfg.Box == nil {
		return "", errors.New("jobs: signing secret is sealed and the queue has no secret key")
	}
	b, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return "", fmt.Errorf("jobs: signing secret: %w", err)
	}
	s, err := q.cfg.Box.Open(name, b)
	if err != nil {
		return "", fmt.Errorf("jobs: open signing secret: %w", err)
	}
	return string(s), nil
}

// SigningSecret returns the callback signing secret of a webhook (its ID)
// or schedule (SigningKey), creating it when missing; with rotate it always
// makes a new one.
func (q *Queue) SigningSecret(ctx context.Context, webhookID string, rotate bool) (string, error) {
	name := signingSealPrefix + webhookID
	if rotate {
		s := newSecret()
		stored, sealed, err := q.sealSecret(name, s)
		if err != nil {
			return "", err
		}
		if _, err := q.db.ExecContext(ctx, q.d.q(rotateSecretSQL), webhookID, stored, sealed, micros(nowUTC())); err != nil {
			return "", fmt.Errorf("jobs: rotate signing secret: %w", err)
		}
		return s, nil
	}
	var (
		stored string
		sealed int
	)
	err := q.db.QueryRowContext(ctx, q.d.q(getSecretSQL), webhookID).Scan(&stored, &sealed)
	if err == nil {
		return q.openSecret(name, stored, sealed)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("jobs: signing secret: %w", err)
	}
	newStored, newSealed, err := q.sealSecret(name, newSecret())
	if err != nil {
		return "", err
	}
	if _, err := q.db.ExecContext(ctx, q.d.q(addSecretSQL), webhookID, newStored, newSealed, micros(nowUTC())); err != nil {
		return "", fmt.Errorf("jobs: create signing secret: %w", err)
	}
	if err := q.db.QueryRowContext(ctx, q.d.q(getSecretSQL), webhookID).Scan(&stored, &sealed); err != nil {
		return "", fmt.Errorf("jobs: signing secret: %w", err)
	}
	return q.openSecret(name, stored, sealed)
}

// sealSigningSecrets seals the signing secrets kept in clear (sealed = 0)
// in hookhost_signing_secrets and hookhost_subscriptions, one row at a
// time; a row another process sealed meanwhile is left as it is. Without
// a Box it does nothing.
func (q *Queue) sealSigningSecrets(ctx context.Context) (int, error) {
	if q.cfg.Box == nil {
		return 0, nil
	}
	n := 0
	for _, t := range []struct{ table, key, prefix string }{
		{"hookhost_signing_secrets", "webhook_id", signingSealPrefix},
		{"hookhost_subscriptions", "id", subscriptionSealPrefix},
	} {
		rows, err := q.db.QueryContext(ctx, `SELECT `+t.key+`, secret FROM `+t.table+` WHERE sealed = 0`)
		if err != nil {
			return n, fmt.Errorf("jobs: read clear signing secrets: %w", err)
		}
		var clear [][2]string
		for rows.Next() {
			var k, s string
			if err := rows.Scan(&k, &s); err != nil {
				rows.Close()
				return n, fmt.Errorf("jobs: read clear signing secrets: %w", err)
			}
			clear = append(clear, [2]string{k, s})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return n, fmt.Errorf("jobs: read clear signing secrets: %w", err)
		}
		for _, c := range clear {
			stored, sealed, err := q.sealSecret(t.prefix+c[0], c[1])
			if err != nil {
				return n, err
			}
			res, err := q.db.ExecContext(ctx, q.d.q(`UPDATE `+t.table+` SET secret = ?, sealed = ? WHERE `+t.key+` = ? AND sealed = 0 AND secret = ?`),
				stored, sealed, c[0], c[1])
			if err != nil {
				return n, fmt.Errorf("jobs: seal signing secret: %w", err)
			}
			if k, _ := res.RowsAffected(); k > 0 {
				n++
			}
		}
	}
	return n, nil
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
