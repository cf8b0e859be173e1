package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
)

// NewToken returns 160 random bits as 40 lowercase hex characters.
func NewToken() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// TokenHash is the stored form of a token: its SHA-256.
func TokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// checkName validates a webhook's name.
func checkName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 255 {
		return api.InvalidField("name", "name must be 1 to 255 characters")
	}
	if !store.ValidName(name) {
		return api.InvalidField("name", "name must be UTF-8 text without NUL characters")
	}
	return nil
}

// ListWebhooks lists the webhooks by creation.
func (c *Catalog) ListWebhooks(ctx context.Context) ([]*store.Webhook, error) {
	return c.st.ListWebhooks(ctx)
}

// GetWebhook reads one webhook (404 problem when unknown).
func (c *Catalog) GetWebhook(ctx context.Context, id string) (*store.Webhook, error) {
	w, err := c.st.GetWebhook(ctx, id)
	if err != nil {
		return nil, NotFound(err, "webhook", id)
	}
	return w, nil
}

// CreateWebhook validates w, gives it a new token and creates it. The
// token is returned: it is stored only as its hash.
func (c *Catalog) CreateWebhook(ctx context.Context, w *store.Webhook) (token string, err error) {
	if strings.TrimSpace(w.Name) == "" {
		return "", api.InvalidField("name", "name is required (JSON \"name\", or ?name= with a text/plain body)")
	}
	if err := checkName(w.Name); err != nil {
		return "", err
	}
	if err := c.ValidateEvent(ctx, w.EventKATA, nil); err != nil {
		return "", err
	}
	token = NewToken()
	w.TokenHash = TokenHash(token)
	if err := c.st.CreateWebhook(ctx, w); err != nil {
		return "", err
	}
	c.Changed(ctx)
	return token, nil
}

// UpdateWebhook validates and saves a changed webhook (its event KATA is
// validated when eventChanged).
func (c *Catalog) UpdateWebhook(ctx context.Context, w *store.Webhook, eventChanged bool) error {
	if err := checkName(w.Name); err != nil {
		return err
	}
	if eventChanged {
		if err := c.ValidateEvent(ctx, w.EventKATA, nil); err != nil {
			return err
		}
	}
	if err := c.st.UpdateWebhook(ctx, w); err != nil {
		return NotFound(err, "webhook", w.ID)
	}
	c.Changed(ctx)
	return nil
}

// DeleteWebhook deletes a webhook.
func (c *Catalog) DeleteWebhook(ctx context.Context, id string) error {
	if err := c.st.DeleteWebhook(ctx, id); err != nil {
		return NotFound(err, "webhook", id)
	}
	c.Changed(ctx)
	return nil
}

// RotateWebhook gives the webhook a new token. The old one keeps working
// for overlap (0 ends it at once; negative takes the configured default).
func (c *Catalog) RotateWebhook(ctx context.Context, id string, overlap time.Duration) (*store.Webhook, string, error) {
	w, err := c.GetWebhook(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if overlap < 0 {
		overlap = c.cfg.RotateOverlap
	}
	tok := NewToken()
	w.PrevTokenHash, w.PrevTokenExpiresAt = nil, nil
	if overlap > 0 {
		until := time.Now().Add(overlap).UTC()
		w.PrevTokenHash, w.PrevTokenExpiresAt = w.TokenHash, &until
	}
	w.TokenHash = TokenHash(tok)
	if err := c.st.UpdateWebhook(ctx, w); err != nil {
		return nil, "", NotFound(err, "webhook", id)
	}
	c.Changed(ctx)
	return w, tok, nil
}
