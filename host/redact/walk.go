package redact

import (
	"bytes"
	"slices"

	"github.com/hookhost/hookhost/templates/dict"
)

// Value returns v (a dictionary value) with every string passed through
// r.Redact. See Walk.
func (r *Redactor) Value(v any) any { return Walk(v, r.Redact) }

// RawJSON redacts the strings of an encoded JSON value (a stored record
// field) without changing its structure; text that is not JSON is redacted
// as text and encoded as a JSON string.
func (r *Redactor) RawJSON(raw []byte) []byte {
	if len(raw) == 0 {
		return raw
	}
	v, err := dict.DecodeJSON(raw)
	if err != nil {
		return encode(r.Redact(string(raw)))
	}
	return r.JSON(v)
}

// JSON is v (a dictionary value) redacted and encoded as JSON, compact
// (nil when it cannot be encoded).
func (r *Redactor) JSON(v any) []byte { return encode(Walk(v, r.Redact)) }

// encode encodes a dictionary value compactly (nil when it cannot be).
func encode(v any) []byte {
	var buf bytes.Buffer
	if err := dict.Encode(&buf, v, ""); err != nil {
		return nil
	}
	return buf.Bytes()
}

// Walk returns v (a dictionary value) with every string, key or value,
// passed through red. It never breaks the structure, unlike redacting
// encoded JSON would (a secret such as "true" must not turn JSON into
// something else). Parts with nothing to redact are returned as they are,
// not copied: redaction usually changes nothing. v is never modified.
func Walk(v any, red func(string) string) any {
	out, _ := walk(v, red)
	return out
}

// walk is Walk, also reporting whether anything changed.
func walk(v any, red func(string) string) (any, bool) {
	switch t := v.(type) {
	case string:
		// An unchanged string is returned in v, its interface: boxing r
		// again allocated 16 bytes for every string of every value walked
		// (a job's inputs: about 15 a request).
		if r := red(t); r != t {
			return r, true
		}
		return v, false
	case *dict.Map:
		// By index, not Range: a closure here escaped, an allocation for
		// every map of every run's return.
		var out *dict.Map
		keys, vals := t.Keys(), t.Values()
		for i, k := range keys {
			rk := red(k)
			rx, changed := walk(vals[i], red)
			if out == nil && (changed || rk != k) {
				// The first change: copy the entries before it as they are.
				out = dict.New(len(keys))
				for j := range i {
					out.Set(keys[j], vals[j])
				}
			}
			if out != nil {
				out.Set(rk, rx)
			}
		}
		if out == nil {
			return t, false
		}
		return out, true
	case []any:
		var out []any
		for i, x := range t {
			rx, changed := walk(x, red)
			if changed && out == nil {
				out = slices.Clone(t)
			}
			if out != nil {
				out[i] = rx
			}
		}
		if out == nil {
			return v, false // t boxed again would be an allocation
		}
		return out, true
	}
	return v, false
}
