package automations

import (
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// This file registers request variables the way PHP fills $_GET and $_POST
// (php_register_variable_ex in main/php_variables.c, PHP 8.2), which is
// what Cerb's request_params are made of: "a[b][c]=d" nests, "a[]" appends
// at the next integer key, "a[=1" becomes the name "a_", '.' and ' ' in a
// name become '_', a name is cut at a NUL byte, names nested deeper than 64
// levels are dropped, and at most 1000 variables are read per source.

// PHP's defaults for max_input_nesting_level and max_input_vars.
const (
	phpMaxNesting   = 64
	phpMaxInputVars = 1000
)

// phpArray is a PHP array: ordered keys, integer keys held in their
// canonical decimal form, and the next free integer key.
type phpArray struct {
	vals    dict.Map // string or *phpArray values, in PHP's order
	next    int64
	hasNext bool // an integer key was stored (PHP's nNextFreeElement is set)
}

func newPHPArray() *phpArray { return &phpArray{} }

// get returns the value at key k.
func (a *phpArray) get(k string) (any, bool) {
	return a.vals.Get(k)
}

// set stores v at k: a new key goes last, an existing one keeps its place.
func (a *phpArray) set(k string, v any) {
	a.vals.Set(k, v)
	if n, ok := dict.PHPIntKey(k); ok && (!a.hasNext || n >= a.next) {
		a.hasNext = true
		if n < 1<<63-1 {
			a.next = n + 1
		} else {
			a.next = n
		}
	}
}

// push stores v at the next free integer key (PHP's $a[] = v) and reports
// the key; it fails once the largest integer key is taken.
func (a *phpArray) push(v any) (string, bool) {
	n := int64(0)
	if a.hasNext {
		n = a.next
	}
	k := strconv.FormatInt(n, 10)
	if a.vals.Has(k) {
		return "", false
	}
	a.set(k, v)
	return k, true
}

// phpRegister stores the variable name=value in top as PHP does.
func phpRegister(top *phpArray, name, value string) {
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i] // a C string
	}
	name = strings.TrimLeft(name, " ")
	b := []byte(name)
	// The base name: ' ' and '.' become '_' up to the first '['.
	open := -1
	for i, c := range b {
		if c == ' ' || c == '.' {
			b[i] = '_'
		} else if c == '[' {
			open = i
			break
		}
	}
	if open == 0 || len(b) == 0 {
		return // no name before the brackets
	}
	if open < 0 {
		top.set(string(b), value)
		return
	}
	base := string(b[:open])
	index := base
	hasIndex := true
	arr := top
	ip := open // at a '['
	for level := 1; ; level++ {
		if level > phpMaxNesting {
			// PHP drops the whole variable (and an earlier one of the
			// same name).
			top.delete(base)
			return
		}
		start := ip + 1
		var sub string
		subIsAppend := false
		if start < len(b) && b[start] == ']' {
			subIsAppend = true
			ip = start
		} else {
			end := strings.IndexByte(string(b[start:]), ']')
			if end < 0 {
				// Not an index: the '[' becomes '_' and the name runs on,
				// with ' ', '.' and '[' as '_' (only at the first level
				// does this change the stored name).
				if level == 1 {
					rest := []byte(string(b[start:]))
					for i, c := range rest {
						if c == ' ' || c == '.' || c == '[' {
							rest[i] = '_'
						}
					}
					index = index + "_" + string(rest)
				}
				break
			}
			sub = string(b[start : start+end])
			ip = start + end
		}
		// Descend into (or create) the array at index.
		var next *phpArray
		if !hasIndex {
			next = newPHPArray()
			if _, ok := arr.push(next); !ok {
				return
			}
		} else {
			cur, ok := arr.get(index)
			if pa, isArr := cur.(*phpArray); ok && isArr {
				next = pa
			} else {
				next = newPHPArray()
				arr.set(index, next)
			}
		}
		arr = next
		index, hasIndex = sub, !subIsAppend
		ip++
		if ip < len(b) && b[ip] == '[' {
			continue
		}
		break
	}
	if !hasIndex {
		arr.push(value)
		return
	}
	arr.set(index, value)
}

// delete removes key k.
func (a *phpArray) delete(k string) {
	a.vals.Delete(k)
}

// phpVars registers pairs (decoded names and values, in order) as PHP
// fills $_GET or $_POST from them.
func phpVars(pairs [][2]string) *phpArray {
	top := newPHPArray()
	for i, p := range pairs {
		if i >= phpMaxInputVars {
			break
		}
		if p[0] == "" {
			continue
		}
		phpRegister(top, p[0], p[1])
	}
	return top
}

// value converts a PHP array into the dictionary model: a list when its
// keys are 0..n-1 in order, else a dictionary.
func (a *phpArray) value() any {
	keys := a.vals.Keys()
	list := true
	for i, k := range keys {
		if k != strconv.Itoa(i) {
			list = false
			break
		}
	}
	if list {
		out := make([]any, len(keys))
		for i, v := range a.vals.Values() {
			out[i] = phpValue(v)
		}
		return out
	}
	m := dict.New(len(keys))
	for i, v := range a.vals.Values() {
		m.Set(keys[i], phpValue(v))
	}
	return m
}

func phpValue(v any) any {
	if a, ok := v.(*phpArray); ok {
		return a.value()
	}
	return v
}
