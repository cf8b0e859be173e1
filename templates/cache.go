package templates

import (
	"sync"
	"sync/atomic"
)

// cache is a bounded map from template source to compiled template with
// CLOCK (second chance) eviction: a hit takes a read lock and sets a flag,
// so concurrent renders of cached templates do not serialize.
type cache struct {
	mu    sync.RWMutex
	max   int
	items map[string]*cacheEntry
	ring  []*cacheEntry
	hand  int
}

type cacheEntry struct {
	key  string
	tpl  *Template
	used atomic.Bool
}

func newCache(max int) *cache {
	return &cache{max: max, items: make(map[string]*cacheEntry)}
}

// get returns the template cached for key, or nil.
func (c *cache) get(key string) *Template {
	if c.max <= 0 {
		return nil
	}
	c.mu.RLock()
	e := c.items[key]
	c.mu.RUnlock()
	if e == nil {
		return nil
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.tpl
}

// add stores t under key and returns the template now cached for key (an
// earlier one wins, so every caller gets the same *Template).
func (c *cache) add(key string, t *Template) *Template {
	if c.max <= 0 {
		return t
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.items[key]; e != nil {
		return e.tpl
	}
	e := &cacheEntry{key: key, tpl: t}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, e)
		c.items[key] = e
		return t
	}
	for {
		old := c.ring[c.hand]
		if old.used.Load() {
			old.used.Store(false)
			c.hand = (c.hand + 1) % len(c.ring)
			continue
		}
		delete(c.items, old.key)
		c.ring[c.hand] = e
		c.items[key] = e
		c.hand = (c.hand + 1) % len(c.ring)
		return t
	}
}

// len reports the number of cached templates.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}
