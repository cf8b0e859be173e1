// Package dict provides Map, the insertion-ordered dictionary that automations,
// templates and the webhook layer share.
//
// Cerb dictionaries are PHP arrays: they keep the order in which keys were
// first set, and that order shows in json_encode output and in loops. Go maps
// do not keep order, so every dictionary value in hookhost is a *Map.
//
// Values held in a Map are one of: nil, bool, string, int64, float64,
// []any, or *Map (nested values follow the same rule). FromGo converts
// other Go values into that form.
package dict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Map is an insertion-ordered string-keyed dictionary. The zero value is an
// empty map ready to use. A Map is not safe for concurrent mutation.
type Map struct {
	keys []string
	vals map[string]any
}

// New returns an empty Map with room for n keys.
func New(n int) *Map {
	return &Map{keys: make([]string, 0, n), vals: make(map[string]any, n)}
}

// Of builds a Map from alternating key, value arguments. It panics on an odd
// count or a non-string key; it is meant for literals in code and tests.
func Of(kv ...any) *Map {
	if len(kv)%2 != 0 {
		panic("dict.Of: odd number of arguments")
	}
	m := New(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		m.Set(kv[i].(string), kv[i+1])
	}
	return m
}

// Len reports the number of keys.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.keys)
}

// Get returns the value stored under k.
func (m *Map) Get(k string) (any, bool) {
	if m == nil || m.vals == nil {
		return nil, false
	}
	v, ok := m.vals[k]
	return v, ok
}

// Value returns the value stored under k, or nil.
func (m *Map) Value(k string) any {
	v, _ := m.Get(k)
	return v
}

// Has reports whether k is present.
func (m *Map) Has(k string) bool {
	_, ok := m.Get(k)
	return ok
}

// Set stores v under k. A new key goes to the end; an existing key keeps its
// position (PHP array semantics).
func (m *Map) Set(k string, v any) {
	if m.vals == nil {
		m.vals = make(map[string]any)
	}
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
}

// Delete removes k and reports whether it was present.
func (m *Map) Delete(k string) bool {
	if m == nil || m.vals == nil {
		return false
	}
	if _, ok := m.vals[k]; !ok {
		return false
	}
	delete(m.vals, k)
	if i := slices.Index(m.keys, k); i >= 0 {
		m.keys = slices.Delete(m.keys, i, i+1)
	}
	return true
}

// Keys returns the keys in insertion order. The caller must not modify the
// returned slice.
func (m *Map) Keys() []string {
	if m == nil {
		return nil
	}
	return m.keys
}

// Range calls fn for each key in order until fn returns false.
func (m *Map) Range(fn func(k string, v any) bool) {
	if m == nil {
		return
	}
	for _, k := range m.keys {
		if !fn(k, m.vals[k]) {
			return
		}
	}
}

// Clone returns a deep copy: nested *Map and []any values are copied too.
func (m *Map) Clone() *Map {
	if m == nil {
		return nil
	}
	c := New(len(m.keys))
	for _, k := range m.keys {
		c.Set(k, CloneValue(m.vals[k]))
	}
	return c
}

// CloneValue deep-copies *Map and []any values; other values are returned as
// they are (they are immutable).
func CloneValue(v any) any {
	switch t := v.(type) {
	case *Map:
		return t.Clone()
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = CloneValue(e)
		}
		return c
	default:
		return v
	}
}

// SortKeys reorders the keys with less; values are untouched.
func (m *Map) SortKeys(less func(a, b string) bool) {
	if m == nil {
		return
	}
	sort.SliceStable(m.keys, func(i, j int) bool { return less(m.keys[i], m.keys[j]) })
}

// GetPath walks nested maps (and lists, by decimal index) along path and
// returns the value found.
func (m *Map) GetPath(path []string) (any, bool) {
	var cur any = m
	for _, p := range path {
		switch t := cur.(type) {
		case *Map:
			v, ok := t.Get(p)
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			cur = t[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// MarshalJSON encodes m as a JSON object with keys in insertion order,
// without HTML escaping, and with "/" left as it is.
func (m *Map) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := Encode(&buf, m, ""); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes a JSON object into m, keeping key order. Nested
// objects become *Map, arrays []any, integers int64 and other numbers float64.
func (m *Map) UnmarshalJSON(b []byte) error {
	v, err := DecodeJSON(b)
	if err != nil {
		return err
	}
	d, ok := v.(*Map)
	if !ok {
		return fmt.Errorf("dict: JSON value is %s, not an object", TypeName(v))
	}
	*m = *d
	return nil
}

// Encode writes v as JSON to w. indent "" gives compact output; otherwise each
// level is indented by indent and a key is followed by ": ". Keys keep
// insertion order, nothing is HTML-escaped, "/" is not escaped, and an empty
// *Map encodes as {}.
func Encode(w io.Writer, v any, indent string) error {
	e := encoder{w: w, indent: indent}
	e.value(v, 0)
	return e.err
}

type encoder struct {
	w       io.Writer
	indent  string
	err     error
	scratch []byte
}

func (e *encoder) write(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

func (e *encoder) newline(depth int) {
	if e.indent == "" {
		return
	}
	e.write("\n")
	for i := 0; i < depth; i++ {
		e.write(e.indent)
	}
}

func (e *encoder) value(v any, depth int) {
	if e.err != nil {
		return // stop at the first write error: a value can share items, and
		// walking it all could take as long as printing it
	}
	switch t := v.(type) {
	case nil:
		e.write("null")
	case bool:
		if t {
			e.write("true")
		} else {
			e.write("false")
		}
	case string:
		e.str(t)
	case int:
		e.write(strconv.Itoa(t))
	case int64:
		e.write(strconv.FormatInt(t, 10))
	case float64:
		e.write(FormatFloat(t))
	case json.Number:
		e.write(t.String())
	case *Map:
		if t.Len() == 0 {
			e.write("{}")
			return
		}
		e.write("{")
		for i, k := range t.keys {
			if i > 0 {
				e.write(",")
			}
			e.newline(depth + 1)
			e.str(k)
			if e.indent == "" {
				e.write(":")
			} else {
				e.write(": ")
			}
			e.value(t.vals[k], depth+1)
		}
		e.newline(depth)
		e.write("}")
	case []any:
		if len(t) == 0 {
			e.write("[]")
			return
		}
		e.write("[")
		for i, x := range t {
			if i > 0 {
				e.write(",")
			}
			e.newline(depth + 1)
			e.value(x, depth+1)
		}
		e.newline(depth)
		e.write("]")
	default:
		e.value(FromGo(v), depth)
	}
}

func (e *encoder) str(s string) {
	e.scratch = appendJSONString(e.scratch[:0], s)
	if e.err == nil {
		_, e.err = e.w.Write(e.scratch)
	}
}

const hex = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			b = append(b, c)
			i++
			continue
		}
		if c < 0x80 {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := decodeRune(s[i:])
		if r == 0xFFFD && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == 0x2028 || r == 0x2029 {
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// FormatFloat prints f the way PHP and JavaScript do: integral values
// without a decimal point, others in the shortest form that round-trips.
func FormatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "0"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// TypeName names the dict type of v for error messages.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "text"
	case int64, int, float64:
		return "number"
	case []any:
		return "list"
	case *Map:
		return "dictionary"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// PHPIntKey reports whether k is a key PHP stores as an integer in an
// array ("5", "-3"; not "05", "-0", "+5", "5.0" or " 5": those stay text)
// and gives the integer.
func PHPIntKey(k string) (int64, bool) {
	if k == "" || len(k) > 20 {
		return 0, false
	}
	s := k
	if s[0] == '-' {
		s = s[1:]
		if s == "" || s == "0" {
			return 0, false
		}
	}
	if s[0] == '0' && len(s) > 1 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(k, 10, 64)
	return n, err == nil
}
