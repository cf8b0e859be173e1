package automations

import (
	"fmt"
	"strconv"

	"github.com/hookhost/hookhost/templates/dict"
)

// This file bounds the total size of what a run keeps (Limits.RunBytes):
// the values its commands write into its dictionary. ValueBytes bounds one
// value; without this budget a loop storing values under new keys kept
// them all (150 keys of 8 MB took an extension process to 1.7 GiB).
//
// The accounting is incremental: every write charges the size of what it
// stores (sizeOf, as the value limit measures it) less what it replaces,
// so a run never walks its whole dictionary. The charge of each top-level
// key is remembered, and removing or replacing the key gives back exactly
// that charge, so no sequence of writes can drift the total down. A value
// stored under several keys is charged under each (what copies of it would
// take in PHP). The caller's inputs are not charged (the caller bounds
// them: the request body limit); overwriting them gives no credit either.

// keptBytes is the run's account: the bytes charged for the top-level keys
// its commands wrote.
type keptBytes struct {
	total int
	byKey map[string]int // top-level key → bytes charged for it
	// peak is the most keys byKey held: a map keeps the room it grew to
	// after its keys are deleted, so a pooled runner keeps byKey only
	// when peak is small.
	peak int
}

// pooled returns the account's map emptied for a pooled runner's next run,
// or nil when it held more than maxPooledKeys keys at some point (it keeps
// that room, however many are left).
func (k *keptBytes) pooled() map[string]int {
	if k.peak > maxPooledKeys {
		return nil
	}
	clear(k.byKey)
	return k.byKey
}

// entryBytes is what sizeOf adds for a dictionary entry besides its value.
func entryBytes(key string) int { return len(key) + 4 }

// newLevelsBytes is the sizeOf of the dictionaries that writing a value of
// size bytes at path (below a missing level) creates around it.
func newLevelsBytes(path []string, size int) int {
	for _, seg := range path {
		size += 2 + entryBytes(seg)
	}
	return size
}

// keep stores v under the top-level key, charged bytes in all (entry
// included), replacing the key's charge. It returns true, storing nothing,
// when the run's memory limit is exceeded (the run has ended).
func (r *runner) keep(at, key string, v any, bytes int) bool {
	bytes = max(bytes, 0)
	old := r.kept.byKey[key]
	if r.kept.total-old+bytes > r.p.limits.RunBytes {
		r.limit("memory", at, fmt.Sprintf("run memory limit of %d bytes exceeded (values kept in the run's variables)", r.p.limits.RunBytes))
		return true
	}
	if r.kept.byKey == nil {
		r.kept.byKey = make(map[string]int)
	}
	r.kept.total += bytes - old
	r.kept.byKey[key] = bytes
	r.kept.peak = max(r.kept.peak, len(r.kept.byKey))
	r.data.Set(key, v)
	return false
}

// store is keep for a value of size bytes (sizeOf), stored whole under key.
func (r *runner) store(at, key string, v any, size int) bool {
	return r.keep(at, key, v, entryBytes(key)+size)
}

// storeValue stores v under the top-level key after the value limit. It
// returns true, storing nothing, when v is over the value limit or the
// run's memory limit is exceeded (the run has ended).
func (r *runner) storeValue(at, key string, v any) bool {
	size, over := r.sized(at, v)
	return over || r.store(at, key, v, size)
}

// forget removes the top-level key and gives its charge back. It reports
// whether the key was there.
func (r *runner) forget(key string) bool {
	if old, ok := r.kept.byKey[key]; ok {
		r.kept.total -= old
		delete(r.kept.byKey, key)
	}
	return r.data.Delete(key)
}

// sized measures v against the value limit: its size, and true when it is
// larger (the run has ended).
func (r *runner) sized(at string, v any) (int, bool) {
	size := sizeOf(v, r.p.limits.ValueBytes)
	if size > r.p.limits.ValueBytes {
		r.limit("value", at, fmt.Sprintf("value limit of %d bytes exceeded", r.p.limits.ValueBytes))
		return size, true
	}
	return size, false
}

// child is the item of a list or dictionary at key seg, as withPath and
// withoutPath read it.
func child(container any, seg string) (any, bool) {
	switch t := container.(type) {
	case *dict.Map:
		return t.Get(seg)
	case []any:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(t) && strconv.Itoa(i) == seg {
			return t[i], true
		}
	}
	return nil, false
}

// writeDelta is what writing a value of size bytes at path inside the
// container top changes in its size: size plus the levels and entry it
// creates, less the value it replaces. Only the replaced value is
// measured, not the container. (A list that the write turns into a
// dictionary is counted as it was.)
func (r *runner) writeDelta(top any, path []string, size int) int {
	cur := top
	for i, seg := range path {
		c, found := child(cur, seg)
		switch {
		case !found:
			return entryBytes(seg) + newLevelsBytes(path[i+1:], size)
		case i == len(path)-1:
			return size - sizeOf(c, r.p.limits.RunBytes)
		case c == nil:
			return newLevelsBytes(path[i+1:], size) - sizeOf(nil, 0)
		}
		cur = c
	}
	return size
}

// removeDelta is what removing the item at path inside the container top
// takes from its size (0 when it is not there).
func (r *runner) removeDelta(top any, path []string) int {
	cur := top
	for _, seg := range path {
		c, found := child(cur, seg)
		if !found {
			return 0
		}
		cur = c
	}
	return entryBytes(path[len(path)-1]) + sizeOf(cur, r.p.limits.RunBytes)
}
