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
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Map is an insertion-ordered string-keyed dictionary. The zero value is an
// empty map ready to use. A Map is not safe for concurrent mutation.
//
// Keys and values sit in two parallel slices in order; a small map (most
// of them: a request's headers, a return dictionary) is searched in
// order, a larger one through an index built when it grows past
// smallMap keys. So a small map costs three allocations (one with
// New(n) for n up to smallMap) and no hashing.
type Map struct {
	keys []string
	vals []any          // vals[i] is the value of keys[i]
	idx  map[string]int // position of each key; nil while len(keys) <= smallMap
}

// smallMap is the most keys a Map holds without an index.
const smallMap = 16

// New returns an empty Map with room for n keys.
func New(n int) *Map {
	if n <= 2 {
		// One allocation for the map and its first keys and values.
		b := &struct {
			m Map
			k [2]string
			v [2]any
		}{}
		b.m.keys, b.m.vals = b.k[:0], b.v[:0]
		return &b.m
	}
	if n <= 4 {
		b := &struct {
			m Map
			k [4]string
			v [4]any
		}{}
		b.m.keys, b.m.vals = b.k[:0], b.v[:0]
		return &b.m
	}
	if n <= 8 {
		b := &struct {
			m Map
			k [8]string
			v [8]any
		}{}
		b.m.keys, b.m.vals = b.k[:0], b.v[:0]
		return &b.m
	}
	if n <= smallMap {
		b := &struct {
			m Map
			k [smallMap]string
			v [smallMap]any
		}{}
		b.m.keys, b.m.vals = b.k[:0], b.v[:0]
		return &b.m
	}
	return &Map{keys: make([]string, 0, n), vals: make([]any, 0, n)}
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

// find returns the position of k, or -1.
func (m *Map) find(k string) int {
	if m.idx != nil {
		if i, ok := m.idx[k]; ok {
			return i
		}
		return -1
	}
	for i, have := range m.keys {
		if have == k {
			return i
		}
	}
	return -1
}

// Get returns the value stored under k.
func (m *Map) Get(k string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if i := m.find(k); i >= 0 {
		return m.vals[i], true
	}
	return nil, false
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
	if i := m.find(k); i >= 0 {
		m.vals[i] = v
		return
	}
	m.add(k, v)
}

// add appends k, which m does not hold, with v.
func (m *Map) add(k string, v any) {
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
	switch {
	case m.idx != nil:
		m.idx[k] = len(m.keys) - 1
	case len(m.keys) > smallMap:
		m.index()
	}
}

// index builds m.idx from m.keys.
func (m *Map) index() {
	m.idx = make(map[string]int, len(m.keys))
	for i, k := range m.keys {
		m.idx[k] = i
	}
}

// Delete removes k and reports whether it was present.
func (m *Map) Delete(k string) bool {
	if m == nil {
		return false
	}
	i := m.find(k)
	if i < 0 {
		return false
	}
	m.keys = slices.Delete(m.keys, i, i+1)
	m.vals = slices.Delete(m.vals, i, i+1)
	switch {
	case len(m.keys) <= smallMap:
		m.idx = nil
	default:
		delete(m.idx, k)
		for j := i; j < len(m.keys); j++ {
			m.idx[m.keys[j]] = j
		}
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

// Values returns the values in insertion order: Values()[i] is the value of
// Keys()[i]. The caller must not modify the returned slice.
func (m *Map) Values() []any {
	if m == nil {
		return nil
	}
	return m.vals
}

// Range calls fn for each key in order until fn returns false.
func (m *Map) Range(fn func(k string, v any) bool) {
	if m == nil {
		return
	}
	for i, k := range m.keys {
		if !fn(k, m.vals[i]) {
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
	c.keys = append(c.keys, m.keys...)
	for _, v := range m.vals {
		c.vals = append(c.vals, CloneValue(v))
	}
	if m.idx != nil {
		c.index()
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
	order := make([]int, len(m.keys))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return less(m.keys[order[i]], m.keys[order[j]]) })
	keys, vals := make([]string, len(order)), make([]any, len(order))
	for i, o := range order {
		keys[i], vals[i] = m.keys[o], m.vals[o]
	}
	m.keys, m.vals = keys, vals
	if m.idx != nil {
		m.index()
	}
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
	return AppendJSON(nil, m, ""), nil
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
	bp := encodeBufs.Get().(*[]byte)
	e := encoder{w: w, indent: indent, b: (*bp)[:0]}
	e.value(v, 0)
	e.flush()
	if cap(e.b) <= 2*encodeChunk {
		*bp = e.b
		encodeBufs.Put(bp)
	}
	return e.err
}

// encodeBufs keeps the buffers of Encode.
var encodeBufs = sync.Pool{New: func() any { return new([]byte) }}

// AppendJSON appends v to b as Encode writes it.
func AppendJSON(b []byte, v any, indent string) []byte {
	e := encoder{b: b, indent: indent}
	e.value(v, 0)
	return e.b
}

// encodeChunk is how much an encoder with a writer buffers before it
// writes.
const encodeChunk = 32 << 10

// encoder appends to b; with a writer w, it writes b out whenever it holds
// encodeChunk bytes, and stops at the first write error.
type encoder struct {
	b      []byte
	w      io.Writer
	indent string
	err    error
}

func (e *encoder) flush() {
	if e.w == nil || e.err != nil || len(e.b) == 0 {
		return
	}
	_, e.err = e.w.Write(e.b)
	e.b = e.b[:0]
}

func (e *encoder) newline(depth int) {
	if e.indent == "" {
		return
	}
	e.b = append(e.b, '\n')
	for i := 0; i < depth; i++ {
		e.b = append(e.b, e.indent...)
	}
}

func (e *encoder) value(v any, depth int) {
	if e.w != nil && len(e.b) >= encodeChunk {
		e.flush()
	}
	if e.err != nil {
		return // stop at the first write error: a value can share items, and
		// walking it all could take as long as printing it
	}
	switch t := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case bool:
		if t {
			e.b = append(e.b, "true"...)
		} else {
			e.b = append(e.b, "false"...)
		}
	case string:
		e.string(t)
	case int:
		e.b = strconv.AppendInt(e.b, int64(t), 10)
	case int64:
		e.b = strconv.AppendInt(e.b, t, 10)
	case float64:
		e.b = append(e.b, FormatFloat(t)...)
	case json.Number:
		e.b = append(e.b, t.String()...)
	case *Map:
		if t.Len() == 0 {
			e.b = append(e.b, "{}"...)
			return
		}
		e.b = append(e.b, '{')
		for i, k := range t.keys {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.newline(depth + 1)
			e.b = appendJSONString(e.b, k)
			if e.indent == "" {
				e.b = append(e.b, ':')
			} else {
				e.b = append(e.b, ": "...)
			}
			e.value(t.vals[i], depth+1)
		}
		e.newline(depth)
		e.b = append(e.b, '}')
	case []any:
		if len(t) == 0 {
			e.b = append(e.b, "[]"...)
			return
		}
		e.b = append(e.b, '[')
		for i, x := range t {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.newline(depth + 1)
			e.value(x, depth+1)
		}
		e.newline(depth)
		e.b = append(e.b, ']')
	default:
		e.value(FromGo(v), depth)
	}
}

const hex = "0123456789abcdef"

// plainASCII marks the bytes a JSON string holds as they are.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// string appends s as a JSON string. With a writer, a string longer than
// encodeChunk goes out in pieces of about that size, so the buffer does not
// grow to the whole string (a job's 1 MiB body grew it to 2 MiB, twice per
// copy of its inputs). A piece ends before a byte that starts a character
// where one is within the last four bytes, so no UTF-8 sequence, valid or
// not, is cut: every piece reads as the whole string would.
func (e *encoder) string(s string) {
	if e.w == nil || len(s) <= encodeChunk {
		e.b = appendJSONString(e.b, s)
		return
	}
	e.b = append(e.b, '"')
	for len(s) > 0 && e.err == nil {
		n := min(len(s), encodeChunk)
		for k := 0; k < utf8.UTFMax && n < len(s) && n-k > 0; k++ {
			if utf8.RuneStart(s[n-k]) {
				n -= k
				break
			}
		}
		e.b = appendJSONChars(e.b, s[:n])
		s = s[n:]
		e.flush()
	}
	e.b = append(e.b, '"')
}

func appendJSONString(b []byte, s string) []byte {
	return append(appendJSONChars(append(b, '"'), s), '"')
}

// AppendJSONChars appends s escaped as AppendJSON escapes a string's
// characters, without the quotes and without boxing s in an interface.
func AppendJSONChars(b []byte, s string) []byte { return appendJSONChars(b, s) }

// appendJSONChars appends s escaped as in a JSON string, without quotes.
func appendJSONChars(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			j := i + 1
			for j < len(s) && plainASCII[s[j]] {
				j++
			}
			b = append(b, s[i:j]...)
			i = j
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
	return b
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
