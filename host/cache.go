package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/hookhost/hookhost/automations"
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
	// misses remembers unknown token hashes briefly so a flood of bad
	// tokens does not reach the database.
	misses map[[32]byte]time.Time
}

func newCache(st store.Store, tpl *templates.Env) *cache {
	return &cache{st: st, tpl: tpl, hook: map[[32]byte]*hook{}, auto: map[string]*store.Automation{}, misses: map[[32]byte]time.Time{}}
}

const missTTL = time.Second

// invalidate drops every cached entry.
func (c *cache) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.hook)
	clear(c.auto)
	clear(c.misses)
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
	h = &hook{w: w, event: ev, verify: vs}
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
