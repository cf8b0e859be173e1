package automations

import (
	"fmt"
	"math"
	"strconv"

	"github.com/hookhost/hookhost/templates/dict"
)

// This file bounds the memory of what a run keeps (Limits.RunBytes): the
// values its commands write into its dictionary. ValueBytes bounds one
// value; without this budget a loop storing values under new keys kept
// them all (150 keys of 8 MB took an extension process to 1.7 GiB).
//
// The accounting is incremental: every write charges the cost of what it
// stores (costOf) less what it replaces, so a run never walks its whole
// dictionary. The charge of each top-level key is remembered, and
// removing or replacing the key gives back exactly that charge, so no
// sequence of writes can drift the total down. A value stored under
// several keys is charged under each (what copies of it would take in
// PHP). The caller's inputs are not charged (the caller bounds them: the
// request body limit); overwriting them gives no credit either.
//
// A value's cost is what it takes in Go's heap, approximately: its text,
// plus the headers, slots and index entries that hold each string, number,
// list item and dictionary entry. Charging the value limit's measure
// (about its JSON text) instead let a dictionary of small entries
// take 4.4 times the budget: 4 decoded 8 MB JSON objects of short keys
// grew the heap by 281 MiB against a budget of 64 MiB.

// The costs costOf charges (64-bit Go). A dictionary entry holds its key
// and value in two slices (16 bytes each, up to twice that while they
// grow) and, past 16 entries, an index entry (a 24-byte slot of a table at
// most 7/8 full, with its control byte); a list item is a 16-byte slot.
// A text or number stored in a list or dictionary is boxed (its 16-byte
// string header, or the 8 bytes of a number).
const (
	mapCost   = 128 // a dictionary: its Map and the headers of its slices (a small one is a 128-byte block with room for two entries)
	entryCost = 64  // an entry, beyond its key's bytes and its value
	listCost  = 24  // a list: its slice header
	itemCost  = 16  // an item, beyond its value
	textCost  = 16  // a text, beyond its bytes
	otherCost = 8   // a number, true, false, null
)

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

// entryBytes is what costOf charges for a dictionary entry (or a
// top-level key) besides its value.
func entryBytes(key string) int { return len(key) + entryCost }

// newLevelsBytes is the cost of the dictionaries that writing a value
// costing cost at path (below a missing level) creates around it, the
// value included.
func newLevelsBytes(path []string, cost int) int {
	for _, seg := range path {
		cost += mapCost + entryBytes(seg)
	}
	return cost
}

// costOf is the cost of v in the run's account (see the costs above),
// stopping once it passes budget.
func costOf(v any, budget int) int {
	_, cost := measure(v, 0, budget, false)
	return cost
}

// measure returns v's size as the value limit measures it (about its
// JSON text: a text its bytes, a number 8, a list 2 and per item its size
// and 1, a dictionary 2 and per entry its key's bytes, 4 and its value's
// size), when sized is true, and its cost in the run's account (costOf), in one walk,
// stopping once the size passes sizeBudget or the cost passes
// costBudget.
func measure(v any, sizeBudget, costBudget int, sized bool) (size, cost int) {
	switch t := v.(type) {
	case string:
		return len(t), textCost + len(t)
	case []any:
		size, cost = 2, listCost
		for _, x := range t {
			s, c := measure(x, sizeBudget-size, costBudget-cost, sized)
			size, cost = size+s+1, cost+itemCost+c
			if (sized && size > sizeBudget) || cost > costBudget {
				break
			}
		}
		return size, cost
	case *dict.Map:
		size, cost = 2, mapCost
		t.Range(func(k string, x any) bool {
			s, c := measure(x, sizeBudget-size, costBudget-cost, sized)
			size, cost = size+len(k)+4+s, cost+entryBytes(k)+c
			return (!sized || size <= sizeBudget) && cost <= costBudget
		})
		return size, cost
	default:
		return 8, otherCost
	}
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

// store is keep for a value costing cost (costOf), stored whole under key.
func (r *runner) store(at, key string, v any, cost int) bool {
	return r.keep(at, key, v, entryBytes(key)+cost)
}

// storeValue stores v under the top-level key after the value limit. It
// returns true, storing nothing, when v is over the value limit or the
// run's memory limit is exceeded (the run has ended).
func (r *runner) storeValue(at, key string, v any) bool {
	cost, over := r.sized(at, v)
	return over || r.store(at, key, v, cost)
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

// sized measures v against the value limit: its cost in the run's
// account (costOf), and true when its size is over the value limit (the
// run has ended).
func (r *runner) sized(at string, v any) (int, bool) {
	// The cost is not cut short: the walk ends with the size's, and a
	// value over the value limit is reported as such.
	size, cost := measure(v, r.p.limits.ValueBytes, math.MaxInt, true)
	if size > r.p.limits.ValueBytes {
		r.limit("value", at, fmt.Sprintf("value limit of %d bytes exceeded", r.p.limits.ValueBytes))
		return cost, true
	}
	return cost, false
}

// listIndex is the index seg names in a list of n items, as withPath and
// withoutPath read it: a decimal without a sign or leading zero, below n
// (or at n, an append, when end is true).
func listIndex(seg string, n int, end bool) (int, bool) {
	i, err := strconv.Atoi(seg)
	if err != nil || i < 0 || i > n || (i == n && !end) || strconv.Itoa(i) != seg {
		return 0, false
	}
	return i, true
}

// listToMapDelta is what turning a list of n items into a dictionary
// keyed "0", "1", ... (listToMap) adds to its cost: the values stay.
func listToMapDelta(n int) int {
	d := mapCost - listCost
	for i := range n {
		d += entryBytes(strconv.Itoa(i)) - itemCost
	}
	return d
}

// writeDelta is what writing a value costing cost at path inside the
// container c changes in its cost, level by level as withPath writes it:
// the value less what it replaces, the entries, items and levels it
// creates, and a list it turns into a dictionary. Only the replaced
// value is walked, not the containers.
func (r *runner) writeDelta(c any, path []string, cost int) int {
	if len(path) == 0 {
		return cost - costOf(c, r.p.limits.RunBytes)
	}
	switch t := c.(type) {
	case *dict.Map:
		cur, found := t.Get(path[0])
		if !found {
			return entryBytes(path[0]) + newLevelsBytes(path[1:], cost)
		}
		return r.writeDelta(cur, path[1:], cost)
	case []any:
		i, ok := listIndex(path[0], len(t), true)
		switch {
		case !ok:
			// withPath writes into listToMap(t), where path[0] is not
			// a key (the keys are the indexes).
			return listToMapDelta(len(t)) + entryBytes(path[0]) + newLevelsBytes(path[1:], cost)
		case i == len(t):
			return itemCost + newLevelsBytes(path[1:], cost)
		}
		return r.writeDelta(t[i], path[1:], cost)
	case nil:
		return newLevelsBytes(path, cost) - costOf(nil, 0)
	}
	return 0 // withPath writes nothing into a text or number
}

// removeDelta is what removing the item at path inside the container c
// changes in its cost, as withoutPath removes it (0 when it is not there):
// negative, less, for an entry or a list's last item; a list's other item
// turns the list into a dictionary (PHP's unset leaves a gap), which can
// cost more than the item gives back.
func (r *runner) removeDelta(c any, path []string) int {
	switch t := c.(type) {
	case *dict.Map:
		old, ok := t.Get(path[0])
		switch {
		case !ok:
			return 0
		case len(path) == 1:
			return -entryBytes(path[0]) - costOf(old, r.p.limits.RunBytes)
		}
		return r.removeDelta(old, path[1:])
	case []any:
		i, ok := listIndex(path[0], len(t), false)
		switch {
		case !ok:
			return 0
		case len(path) > 1:
			return r.removeDelta(t[i], path[1:])
		case i == len(t)-1:
			return -itemCost - costOf(t[i], r.p.limits.RunBytes)
		}
		return listToMapDelta(len(t)) - entryBytes(path[0]) - costOf(t[i], r.p.limits.RunBytes)
	}
	return 0
}
