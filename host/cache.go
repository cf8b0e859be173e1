package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/verify"
	"github.com/hookhost/hookhost/templates"
)

// hook is a webhook as the hot path needs it: the record and its parsed
// event KATA.
type hook struct {
	w      *store.Webhook
	event  *automations.Event
	verify []*verify.Verifier // the event KATA's verify/* blocks
	// secrets names the stored secrets the event KATA's templates refer to
	// ({{secrets.NAME}}); only those are read for a request.
	secrets []string
	// prev reports that the token matched the previous (rotated) hash; the
	// entry then expires with the overlap window.
	validUntil time.Time
}

// cache holds webhooks by token hash and automations by name, so a webhook
// request does not touch the database. Any change through the admin API
// invalidates it (changes are rare; reloading is cheap).
type cache struct {
	st     store.Store
	tpl    *templates.Env
	secret func(name string) (string, bool, error) // for verify/* blocks
	mu     sync.RWMutex
	gen    uint64
	hook   map[[32]byte]*hook
	auto   map[string]*store.Automation
	// autoSecrets holds, by automation name, the secrets its script refers
	// to (for the revision that was scanned).
	autoSecrets map[string]secretRefsAt
	// secretVals holds the secrets read since the last change, found or
	// not, so that requests do not decrypt them again.
	secretVals map[string]cachedSecret
	// misses remembers unknown token hashes briefly so a flood of bad
	// tokens does not reach the database.
	misses map[[32]byte]time.Time
}

func newCache(st store.Store, tpl *templates.Env) *cache {
	return &cache{st: st, tpl: tpl, hook: map[[32]byte]*hook{}, auto: map[string]*store.Automation{}, misses: map[[32]byte]time.Time{},
		autoSecrets: map[string]secretRefsAt{}, secretVals: map[string]cachedSecret{}}
}

// secretRefsAt is the result of secretRefs on one revision of a script.
type secretRefsAt struct {
	revision int64
	names    []string
}

// cachedSecret is a secret's value, or its absence.
type cachedSecret struct {
	value string
	found bool
}

const missTTL = time.Second

// invalidate drops every cached entry.
func (c *cache) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.hook)
	clear(c.auto)
	clear(c.misses)
	clear(c.autoSecrets)
	clear(c.secretVals)
	c.mu.Unlock()
}

// webhook finds the webhook for token. It returns (nil, nil) when unknown.
func (c *cache) webhook(ctx context.Context, token string, now time.Time) (*hook, error) {
	sum := sha256.Sum256([]byte(token))
	c.mu.RLock()
	h, ok := c.hook[sum]
	miss, missed := c.misses[sum]
	gen := c.gen
	c.mu.RUnlock()
	if ok && (h.validUntil.IsZero() || now.Before(h.validUntil)) {
		return h, nil
	}
	if missed && now.Sub(miss) < missTTL {
		return nil, nil
	}
	w, err := c.st.GetWebhookByTokenHash(ctx, sum[:], now)
	if errors.Is(err, store.ErrNotFound) {
		c.mu.Lock()
		if c.gen == gen {
			if len(c.misses) > 10000 {
				clear(c.misses)
			}
			c.misses[sum] = now
		}
		c.mu.Unlock()
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ev, err := automations.ParseEvent(w.EventKATA, c.tpl)
	if err != nil {
		// Saved event KATA is validated; this only happens if validation
		// rules tightened since it was saved.
		return nil, err
	}
	vs, err := verify.Compile(ev.Verify, verify.Options{Secret: c.secret})
	if err != nil {
		return nil, err
	}
	h = &hook{w: w, event: ev, verify: vs, secrets: secretRefs(w.EventKATA)}
	if w.PrevTokenExpiresAt != nil && !equalHash(w.TokenHash, sum[:]) {
		h.validUntil = *w.PrevTokenExpiresAt
	}
	c.mu.Lock()
	if c.gen == gen {
		c.hook[sum] = h
	}
	c.mu.Unlock()
	return h, nil
}

// automation returns the automation named name, or (nil, nil).
func (c *cache) automation(ctx context.Context, name string) (*store.Automation, error) {
	c.mu.RLock()
	a, ok := c.auto[name]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return a, nil
	}
	a, err := c.st.GetAutomation(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.auto[name] = a
	}
	c.mu.Unlock()
	return a, nil
}

func equalHash(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// automationSecrets lists the secrets the script of a refers to.
func (c *cache) automationSecrets(a *store.Automation) []string {
	c.mu.RLock()
	r, ok := c.autoSecrets[a.Name]
	gen := c.gen
	c.mu.RUnlock()
	if ok && r.revision == a.Revision {
		return r.names
	}
	names := secretRefs(a.Script)
	c.mu.Lock()
	if c.gen == gen {
		c.autoSecrets[a.Name] = secretRefsAt{revision: a.Revision, names: names}
	}
	c.mu.Unlock()
	return names
}

// secretValue returns the secret called name, read through st once per
// change (every change to secrets invalidates the cache).
func (c *cache) secretValue(ctx context.Context, name string, st *secrets.Store) (string, bool, error) {
	c.mu.RLock()
	v, ok := c.secretVals[name]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return v.value, v.found, nil
	}
	b, found, err := st.Get(ctx, name)
	if err != nil {
		return "", false, err
	}
	v = cachedSecret{value: string(b), found: found}
	c.mu.Lock()
	if c.gen == gen && len(c.secretVals) < 10000 {
		c.secretVals[name] = v
	}
	c.mu.Unlock()
	return v.value, v.found, nil
}
