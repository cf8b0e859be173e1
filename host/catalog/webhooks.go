package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
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
	if err := c.apply(ctx, store.Change{Action: store.ActionCreate, Webhook: w}); err != nil {
		return "", err
	}
	return token, nil
}

// UpdateWebhook validates and saves a changed webhook (its event KATA is
// validated when eventChanged). w is the record as read (GetWebhook) and
// then changed: a change made meanwhile by someone else is refused (409),
// and so is a change to one a manifest owns unless the actor forces it.
func (c *Catalog) UpdateWebhook(ctx context.Context, w *store.Webhook, eventChanged bool) error {
	if err := checkName(w.Name); err != nil {
		return err
	}
	if err := checkOwner(ctx, "webhook", w.ID, w.Owner); err != nil {
		return err
	}
	if eventChanged {
		if err := c.ValidateEvent(ctx, w.EventKATA, nil); err != nil {
			return err
		}
	}
	err := c.apply(ctx, store.Change{Action: store.ActionUpdate, Webhook: w, IfRevision: w.Revision})
	return notFoundOr(err, "webhook", w.ID)
}

// DeleteWebhook deletes a webhook (409 for one a manifest owns, unless the
// actor forces it).
func (c *Catalog) DeleteWebhook(ctx context.Context, id string) error {
	w, err := c.GetWebhook(ctx, id)
	if err != nil {
		return err
	}
	if err := checkOwner(ctx, "webhook", id, w.Owner); err != nil {
		return err
	}
	err = c.apply(ctx, store.Change{Action: store.ActionDelete, Webhook: &store.Webhook{ID: id}, IfRevision: w.Revision})
	return notFoundOr(err, "webhook", id)
}

// RotateWebhook gives the webhook a new token. The old one keeps working
// for overlap (0 ends it at once; negative takes the configured default).
// A webhook a manifest owns is refused (409) unless the actor forces it;
// one whose token a manifest pins to a secret is always refused: change
// the secret instead.
func (c *Catalog) RotateWebhook(ctx context.Context, id string, overlap time.Duration) (*store.Webhook, string, error) {
	w, err := c.GetWebhook(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if err := checkOwner(ctx, "webhook", id, w.Owner); err != nil {
		return nil, "", err
	}
	if w.TokenSecret != "" {
		return nil, "", api.Errorf(http.StatusConflict, "webhook %q has the token held by the secret %q (token_secret: in its manifest): set a new value of that secret and apply the manifests again", id, w.TokenSecret)
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
	if err := c.apply(ctx, store.Change{Action: store.ActionRotate, Webhook: w, IfRevision: w.Revision}); err != nil {
		return nil, "", notFoundOr(err, "webhook", id)
	}
	return w, tok, nil
}
