// Package catalog is what hookhost knows: webhooks, automations, secrets
// and package imports. It owns their validation (a mistake is refused when
// it is saved, with every problem and its position, never a 500 at request
// time), their writes through the store, and the in-memory caches the
// webhook path reads, invalidated on every change and, on PostgreSQL,
// across every server sharing the database schema (LISTEN/NOTIFY).
//
// Its methods return *api.Problem for anything the caller did wrong; other
// errors are the store's.
package catalog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/templates"
)

// Extensions is what the catalog needs to know of the loaded extensions.
type Extensions interface {
	// Commands lists the extension commands scripts may call.
	Commands() []string
	// Names lists the extension names and commands a package may require.
	Names() []string
}

// Config is what New needs.
type Config struct {
	Store      store.Store
	Templates  *templates.Env
	Secrets    *secrets.Store
	Box        *secrets.Box // seals job inputs that hold a secret value
	Redactor   *redact.Redactor
	Extensions Extensions
	Logger     *slog.Logger
	// PublicURL is the base of webhook URLs ("https://hooks.example").
	PublicURL string
	// DatabaseURL is the PostgreSQL URL the change listener connects to
	// (empty on SQLite).
	DatabaseURL string
	// Version is the server's version, checked against packages'
	// requirements ("" accepts any).
	Version string
	// RotateOverlap is how long a rotated token stays valid when the
	// caller does not say.
	RotateOverlap time.Duration
}

// Catalog is the server's view of its records. It is safe for concurrent
// use.
type Catalog struct {
	cfg   Config
	st    store.Store
	log   *slog.Logger
	cache *cache

	chanMu   sync.Mutex
	chanName string // the change channel, once looked up (see channel)
	// notified counts the change notifications heard from other servers.
	notified atomic.Int64
}

// New returns a Catalog over cfg.Store.
func New(cfg Config) *Catalog {
	c := &Catalog{cfg: cfg, st: cfg.Store, log: cfg.Logger}
	c.cache = newCache()
	return c
}

// Store is the catalog's store.
func (c *Catalog) Store() store.Store { return c.st }

// Redact redacts text with the server's redactor.
func (c *Catalog) Redact(text string) string { return c.cfg.Redactor.Redact(text) }

// WebhookURL is the public URL of a webhook token.
func (c *Catalog) WebhookURL(token string) string {
	return c.cfg.PublicURL + "/webhooks/" + token
}

// Changed is called after every change to webhooks, automations or
// secrets: it drops this server's caches and, on PostgreSQL, tells the
// other servers on the same schema to drop theirs.
func (c *Catalog) Changed(ctx context.Context) {
	c.cache.invalidate()
	if c.st.Dialect() != "postgres" {
		return
	}
	ch, err := c.channel(ctx)
	if err == nil {
		_, err = c.st.DB().ExecContext(ctx, `SELECT pg_notify($1, '')`, ch)
	}
	if err != nil {
		// The periodic resync still converges the other servers.
		c.log.Warn("notify other servers of a change", "error", err)
	}
}
