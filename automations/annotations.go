package automations

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates/dict"
)

// ann is one KATA value annotation (spec §1.5).
type ann uint8

const (
	annText ann = iota
	annRaw
	annKey
	annBool
	annBit
	annInt
	annFloat
	annCSV
	annList
	annJSON
	annBase64
	annDate
	annTrim
	annOptional
	annKata
	annRef
)

// AnnotationInfo describes one KATA value annotation (`key@name:`).
type AnnotationInfo struct {
	Name    string // without the @
	Summary string
}

// annDef is one entry of the annotation table.
type annDef struct {
	AnnotationInfo
	ann ann
}

// annTable is every annotation, in the reference's order (spec §1.5). It is
// never modified.
var annTable = [...]annDef{
	{AnnotationInfo{"text", "Nothing: it only opens a text block (the value is the indented lines below the key)."}, annText},
	{AnnotationInfo{"raw", "No rendering: the value (or the whole subtree) is kept as written, placeholders included. Applied before anything else and ends the list: the other annotations stay on the output key (`x@raw,json` gives a key `x@json`)."}, annRaw},
	{AnnotationInfo{"key", "Reads the dictionary at the trimmed path: in commands a path with `:` walks nested values (`order:items:0`), in generic KATA `.` does; missing gives null."}, annKey},
	{AnnotationInfo{"bool", "A boolean: empty, `false`, `0`, `no`, `n` and `off` (any case, trimmed) are false; anything else is true."}, annBool},
	{AnnotationInfo{"bit", "Like `@bool`, but gives 0 or 1."}, annBit},
	{AnnotationInfo{"int", "An integer as PHP's intval: `042` gives 42, `3.9` gives 3, `abc` gives 0 (a value containing `E+` is left as it is)."}, annInt},
	{AnnotationInfo{"float", "A number as PHP's floatval."}, annFloat},
	{AnnotationInfo{"csv", "A list: splits on `,` and trims each item; empty items are dropped."}, annCSV},
	{AnnotationInfo{"list", "A list: one item per line, trimmed; empty lines are dropped."}, annList},
	{AnnotationInfo{"json", "Decodes JSON into dictionaries and lists; invalid JSON gives null."}, annJSON},
	{AnnotationInfo{"base64", "Decodes base64 leniently (standard or URL alphabet, padding optional); the result may be binary."}, annBase64},
	{AnnotationInfo{"date", "A Unix time from an absolute (`Jan 1 2025 08:00`) or relative (`+2 hours`) date; a number is kept; failure gives false."}, annDate},
	{AnnotationInfo{"trim", "Trims whitespace at both ends (PHP's trim)."}, annTrim},
	{AnnotationInfo{"optional", "Removes the key when the value at that point is null or empty (`x@key,optional:` drops a missing path)."}, annOptional},
	{AnnotationInfo{"kata", "Parses the text as KATA into a dictionary, without rendering it."}, annKata},
	{AnnotationInfo{"ref", "Copies the top-level `&name:` definition at parse time (`x@ref: name`); the definition's annotations replace `@ref`."}, annRef},
}

// parseAnn maps an annotation name to its ann.
func parseAnn(name string) (ann, bool) {
	for i := range annTable {
		if annTable[i].Name == name {
			return annTable[i].ann, true
		}
	}
	return 0, false
}

// Annotations lists the value annotations of KATA, in the reference's
// order. Annotations apply left to right after rendering (`x@key,json:`);
// an unknown one is a compile error (Cerb ignores it). The result is a copy.
func Annotations() []AnnotationInfo {
	out := make([]AnnotationInfo, len(annTable))
	for i, d := range annTable {
		out[i] = d.AnnotationInfo
	}
	return out
}

// dynamic reports whether the annotation's result depends on the run (the
// dictionary or the clock), so a constant value cannot be folded at compile
// time.
func (a ann) dynamic() bool {
	return a == annKey || a == annDate || a == annKata
}

// container reports whether the annotation can produce a list or dictionary.
func (a ann) container() bool {
	return a == annCSV || a == annList || a == annJSON || a == annKata || a == annKey
}

// annEnv is what annotations need from the run.
type annEnv struct {
	data    *dict.Map
	now     func() time.Time
	generic bool // generic KATA: '.' key paths, @optional does nothing
}

// apply applies a to v. keep is false when @optional drops the key.
func (a ann) apply(v any, env *annEnv) (out any, keep bool) {
	switch a {
	case annText, annRaw, annRef:
		return v, true
	case annKey:
		path := phpTrim(toString(v))
		return lookupKey(env.data, path, env.generic), true
	case annBool:
		return toBool(v), true
	case annBit:
		if toBool(v) {
			return int64(1), true
		}
		return int64(0), true
	case annInt:
		if s, ok := v.(string); ok && strings.Contains(s, "E+") {
			return v, true
		}
		return intval(v), true
	case annFloat:
		return floatval(v), true
	case annCSV:
		if s, ok := v.(string); ok {
			return splitCSV(s), true
		}
		return v, true
	case annList:
		if s, ok := v.(string); ok {
			return splitList(s), true
		}
		return v, true
	case annJSON:
		s, ok := v.(string)
		if !ok {
			return v, true
		}
		d, err := dict.DecodeJSON([]byte(s))
		if err != nil {
			return nil, true
		}
		return d, true
	case annBase64:
		if s, ok := v.(string); ok {
			return decodeBase64(s), true
		}
		return v, true
	case annDate:
		switch t := v.(type) {
		case int64, float64:
			return t, true
		}
		now := time.Now
		if env.now != nil {
			now = env.now
		}
		if ts, ok := strtotime(toString(v), now()); ok {
			return ts, true
		}
		return false, true
	case annTrim:
		if s, ok := v.(string); ok {
			return phpTrim(s), true
		}
		return v, true
	case annOptional:
		if env.generic {
			return v, true
		}
		if v == nil || v == "" {
			return nil, false
		}
		return v, true
	case annKata:
		s, ok := v.(string)
		if !ok {
			return v, true
		}
		doc, err := kata.Parse("kata", s)
		if err != nil {
			return nil, true
		}
		return kataTree(doc.Root), true
	}
	return v, true
}

// lookupKey reads path from data: with a path separator (':' in command
// parameters, '.' in generic KATA) it walks nested values, else it is a
// flat lookup. Missing gives nil.
func lookupKey(data *dict.Map, path string, generic bool) any {
	sep := ":"
	if generic {
		sep = "."
	}
	if !strings.Contains(path, sep) {
		return data.Value(path)
	}
	v, ok := data.GetPath(strings.Split(path, sep))
	if !ok {
		return nil
	}
	return v
}

// splitCSV is @csv: trailing commas and spaces are stripped, items split on
// ",", empty items dropped (tested before trimming), each item trimmed.
func splitCSV(s string) []any {
	s = strings.TrimRight(s, ", ")
	out := []any{}
	if s == "" {
		return out
	}
	for _, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		out = append(out, phpTrim(p))
	}
	return out
}

// splitList is @list: one item per line, trimmed, empty lines dropped.
func splitList(s string) []any {
	out := []any{}
	for _, line := range strings.Split(s, "\n") {
		if line = phpTrim(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// decodeBase64 decodes leniently like PHP's base64_decode: characters
// outside the alphabets are skipped, padding is optional, and both the
// standard and URL alphabets are accepted.
func decodeBase64(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			b.WriteByte(c)
		case c == '-':
			b.WriteByte('+')
		case c == '_':
			b.WriteByte('/')
		}
	}
	clean := b.String()
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out, err := base64.RawStdEncoding.DecodeString(clean)
	if err != nil {
		return ""
	}
	return string(out)
}

// kataTree turns a parsed KATA tree into a dictionary without rendering:
// keys lose their annotations, scalar values are applied the generic
// annotations that need no dictionary.
func kataTree(n *kata.Node) *dict.Map {
	m := dict.New(len(n.Children))
	env := &annEnv{generic: true}
	for _, c := range n.Children {
		if c.Kind == kata.Object {
			m.Set(c.Key, kataTree(c))
			continue
		}
		var v any = c.Value
		for _, name := range c.Annotations {
			if a, ok := parseAnn(name); ok && a != annKey && a != annKata {
				v, _ = a.apply(v, env)
			}
		}
		m.Set(c.Key, v)
	}
	return m
}
