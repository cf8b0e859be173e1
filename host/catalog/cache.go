package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/hookhost/hookhost/host/store"
)

// Hook is a webhook as the request path needs it: the record and its
// compiled event KATA.
type Hook struct {
	Webhook *store.Webhook
	Event   *Event
	// validUntil is set when the token matched the previous (rotated)
	// hash: the entry then expires with the overlap window.
	validUntil time.Time
	// token is the token this entry was found by (a cache entry is
	// found again only by that token, compared in constant time).
	token string
}

// cache holds webhooks by token, automations by name and secrets by
// name, so a webhook request does not touch the database. Any change
// invalidates it (changes are rare; reloading is cheap).
type cache struct {
	mu  sync.RWMutex
	gen uint64
	// hook holds the webhooks requests found, by a keyed hash of the token
	// they came with (tokenKey); each entry holds its token, compared in
	// constant time. A request with a cached token costs no SHA-256.
	hook map[uint64]*Hook
	// seed keys tokenKey: random per cache, so which tokens share a key
	// cannot be known or aimed at from outside.
	seed maphash.Seed
	auto map[string]*store.Automation
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

func newCache() *cache {
	return &cache{hook: map[uint64]*Hook{}, seed: maphash.MakeSeed(), auto: map[string]*store.Automation{}, misses: map[[32]byte]time.Time{},
		autoSecrets: map[string]secretRefsAt{}, secretVals: map[string]cachedSecret{}}
}

// secretRefsAt is the result of SecretRefs on one revision of a script.
type secretRefsAt struct {
	revision int64
	names    []string
}

// cachedSecret is a secret's value, or its absence.
type cachedSecret struct {
	value string
	found bool
}

// missTTL is how long an unknown token is remembered.
const missTTL = time.Second

// maxMisses and maxSecrets bound the cache's memory.
const (
	maxMisses  = 10_000
	maxSecrets = 10_000
)

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

// Webhook finds the webhook for token. It returns (nil, nil) when unknown.
//
// A token a request already came with is found by a keyed hash of it and
// then compared whole, in constant time, with the token of the entry: no
// SHA-256 per request. What the lookup's time tells a caller is no more
// than before: the hash's key is random and secret (which tokens share a
// key cannot be aimed at), the comparison does not stop at the first byte
// that differs, and a token that is not cached (unknown, or colliding with
// a cached one) takes the path it always took, the SHA-256 looked up in
// the store and the misses remembered. The cache holds the tokens of the
// webhooks it holds, as it holds decrypted secrets: in memory only.
func (c *Catalog) Webhook(ctx context.Context, token string, now time.Time) (*Hook, error) {
	k := c.cache
	key := tokenKey(k.seed, token)
	k.mu.RLock()
	h, ok := k.hook[key]
	k.mu.RUnlock()
	if ok && sameToken(h.token, token) && (h.validUntil.IsZero() || now.Before(h.validUntil)) {
		return h, nil
	}
	sum := tokenSum(token)
	k.mu.RLock()
	miss, missed := k.misses[sum]
	gen := k.gen
	k.mu.RUnlock()
	if missed && now.Sub(miss) < missTTL {
		return nil, nil
	}
	// A copy of the hash goes to the store, so that sum stays on the stack.
	w, err := c.st.GetWebhookByTokenHash(ctx, bytes.Clone(sum[:]), now)
	if errors.Is(err, store.ErrNotFound) {
		k.mu.Lock()
		if k.gen == gen {
			if len(k.misses) > maxMisses {
				clear(k.misses)
			}
			k.misses[sum] = now
		}
		k.mu.Unlock()
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ev, err := c.CompileEvent(w.EventKATA)
	if err != nil {
		// Saved event KATA is validated; this only happens if validation
		// rules tightened since it was saved.
		return nil, err
	}
	// The token is a view of the request's bytes, which the connection's
	// next request overwrites: the entry keeps a copy.
	h = &Hook{Webhook: w, Event: ev, token: strings.Clone(token)}
	if w.PrevTokenExpiresAt != nil && subtle.ConstantTimeCompare(w.TokenHash, sum[:]) != 1 {
		h.validUntil = *w.PrevTokenExpiresAt
	}
	k.mu.Lock()
	if k.gen == gen {
		// A token whose key another one holds (a 64-bit collision) takes
		// the entry over; the other is looked up in the store next time.
		k.hook[key] = h
	}
	k.mu.Unlock()
	return h, nil
}

// tokenKey is the key of token in cache.hook.
func tokenKey(seed maphash.Seed, token string) uint64 {
	return maphash.String(seed, token)
}

// sameToken reports whether a and b are the same token, in a time that
// depends on their lengths only (as subtle.ConstantTimeCompare, without
// converting them to byte slices).
func sameToken(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// tokenSum is sha256.Sum256 of token, hashed from a copy on the stack
// when the token is of a usual length ([]byte(token) would be a heap
// allocation per request).
func tokenSum(token string) [32]byte {
	var buf [128]byte
	if len(token) <= len(buf) {
		return sha256.Sum256(append(buf[:0], token...))
	}
	return sha256.Sum256([]byte(token))
}

// Automation returns the automation named name, or (nil, nil).
func (c *Catalog) Automation(ctx context.Context, name string) (*store.Automation, error) {
	k := c.cache
	k.mu.RLock()
	a, ok := k.auto[name]
	gen := k.gen
	k.mu.RUnlock()
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
	k.mu.Lock()
	if k.gen == gen {
		k.auto[name] = a
	}
	k.mu.Unlock()
	return a, nil
}

// AutomationSecrets lists the secrets the script of a refers to.
func (c *Catalog) AutomationSecrets(a *store.Automation) []string {
	k := c.cache
	k.mu.RLock()
	r, ok := k.autoSecrets[a.Name]
	gen := k.gen
	k.mu.RUnlock()
	if ok && r.revision == a.Revision {
		return r.names
	}
	names := SecretRefs(a.Script)
	k.mu.Lock()
	if k.gen == gen {
		k.autoSecrets[a.Name] = secretRefsAt{revision: a.Revision, names: names}
	}
	k.mu.Unlock()
	return names
}

// SecretValue returns the stored secret called name, decrypted once per
// change (every change to secrets invalidates the cache).
func (c *Catalog) SecretValue(ctx context.Context, name string) (string, bool, error) {
	if c.cfg.Secrets == nil {
		return "", false, nil
	}
	k := c.cache
	k.mu.RLock()
	v, ok := k.secretVals[name]
	gen := k.gen
	k.mu.RUnlock()
	if ok {
		return v.value, v.found, nil
	}
	b, found, err := c.cfg.Secrets.Get(ctx, name)
	if err != nil {
		return "", false, err
	}
	v = cachedSecret{value: string(b), found: found}
	k.mu.Lock()
	if k.gen == gen && len(k.secretVals) < maxSecrets {
		k.secretVals[name] = v
	}
	k.mu.Unlock()
	return v.value, v.found, nil
}

// HookByID returns the webhook id with its compiled event KATA (for
// replays and dry runs; not cached), or a 404 problem.
func (c *Catalog) HookByID(ctx context.Context, id string) (*Hook, error) {
	w, err := c.GetWebhook(ctx, id)
	if err != nil {
		return nil, err
	}
	ev, err := c.CompileEvent(w.EventKATA)
	if err != nil {
		return nil, err
	}
	return &Hook{Webhook: w, Event: ev}, nil
}
