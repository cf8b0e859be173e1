package automations

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates"
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
	{AnnotationInfo{"int", "An integer as PHP's intval: `042` gives 42, `3.9` gives 3, `abc` gives 0 (a value whose source contains `E+` is left as it is)."}, annInt},
	{AnnotationInfo{"float", "A number as PHP's floatval (`1e400` is infinite; a value whose source contains `E+` is left as it is)."}, annFloat},
	{AnnotationInfo{"csv", "A list: splits on `,` and trims each item; empty items are dropped and leave their keys unused, as in PHP (`a,,b` gives `{\"0\":\"a\",\"2\":\"b\"}`); anything but text gives an empty list."}, annCSV},
	{AnnotationInfo{"list", "A list: one item per line, trimmed; empty lines are dropped and leave their keys unused, as in PHP."}, annList},
	{AnnotationInfo{"json", "Decodes JSON into dictionaries and lists; invalid JSON gives null; a list or dictionary (`x@csv,json:`) ends the run, as Cerb's PHP stops there."}, annJSON},
	{AnnotationInfo{"base64", "Decodes base64 leniently (standard or URL alphabet, padding optional); the result may be binary."}, annBase64},
	{AnnotationInfo{"date", "A Unix time from an absolute (`Jan 1 2025 08:00 UTC`) or relative (`+2 hours`) date, or `@1700000000`; failure (a bare number too, as PHP's strtotime) gives false."}, annDate},
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

// annCrash is a value Cerb's PHP cannot take: the annotation would stop
// Cerb with a TypeError (the run fails; a literal is refused when saved).
type annCrash struct{ msg string }

func (e *annCrash) Error() string { return e.msg }

// apply applies a to v. src is the value's KATA source text (before
// rendering: Cerb's @int and @float look at it). keep is false when
// @optional drops the key; err is an *annCrash.
func (a ann) apply(v any, env *annEnv, src string) (out any, keep bool, err error) {
	switch a {
	case annText, annRaw, annRef:
		return v, true, nil
	case annKey:
		path := phpTrim(toString(v))
		return lookupKey(env.data, path, env.generic), true, nil
	case annBool:
		return toBool(v), true, nil
	case annBit:
		if toBool(v) {
			return int64(1), true, nil
		}
		return int64(0), true, nil
	case annInt:
		if !env.generic && strings.Contains(src, "E+") {
			return v, true, nil
		}
		if s, ok := v.(string); ok {
			v = phpTrim(s)
		}
		return intval(v), true, nil
	case annFloat:
		if !env.generic && strings.Contains(src, "E+") {
			return v, true, nil
		}
		if s, ok := v.(string); ok {
			v = phpTrim(s)
		}
		return floatval(v), true, nil
	case annCSV:
		// parseCsvString: anything but text is an empty list.
		s, _ := v.(string)
		return splitCSV(s), true, nil
	case annList:
		switch v.(type) {
		case []any, *dict.Map:
			return v, true, nil // PHP would split the text "Array"
		}
		return splitList(toString(v)), true, nil
	case annJSON:
		var text string
		switch t := v.(type) {
		case string:
			text = t
		case []any, *dict.Map:
			if env.generic {
				return nil, true, nil // generic KATA decodes "" instead
			}
			return nil, false, &annCrash{fmt.Sprintf("@json needs text, not a %s", dict.TypeName(v))}
		default:
			if !env.generic {
				text = toString(t)
			}
		}
		d, err := dict.DecodeJSON([]byte(text))
		if err != nil {
			return nil, true, nil
		}
		if !env.generic {
			recordContexts(d)
		}
		return d, true, nil
	case annBase64:
		switch v.(type) {
		case []any, *dict.Map:
			return nil, false, &annCrash{fmt.Sprintf("@base64 needs text, not a %s", dict.TypeName(v))}
		}
		return decodeBase64(toString(v)), true, nil
	case annDate:
		switch v.(type) {
		case nil, []any, *dict.Map:
			return nil, false, &annCrash{fmt.Sprintf("@date needs text, not %s", dict.TypeName(v))}
		}
		now := time.Now
		if env.now != nil {
			now = env.now
		}
		if ts, ok := strtotime(toString(v), now()); ok {
			return ts, true, nil
		}
		return false, true, nil
	case annTrim:
		if s, ok := v.(string); ok {
			return phpTrim(s), true, nil
		}
		return v, true, nil
	case annOptional:
		if env.generic {
			return v, true, nil
		}
		if v == nil || v == "" {
			return nil, false, nil
		}
		return v, true, nil
	case annKata:
		s, ok := v.(string)
		if !ok {
			return v, true, nil
		}
		doc, err := kata.Parse("kata", s)
		if err != nil {
			return nil, true, nil
		}
		return kataTree(doc.Root), true, nil
	}
	return v, true, nil
}

// lookupKey reads path from data as Cerb's dictionary does: with a path
// separator (':' in command parameters, '.' in generic KATA) it walks
// nested values (getKeyPath: a path that runs into a text or number gives
// that value), else it is a flat lookup. Missing gives nil.
func lookupKey(data *dict.Map, path string, generic bool) any {
	sep := ":"
	if generic {
		sep = "."
	}
	if !strings.Contains(path, sep) {
		return data.Value(path)
	}
	return keyPathValue(data, strings.Split(path, sep), nil)
}

// keyPathValue is Cerb's getKeyPath: it walks maps and lists along path;
// a missing key gives def, and a scalar (or null) met before the end of
// the path is the result.
func keyPathValue(data *dict.Map, path []string, def any) any {
	var cur any = data
	for _, p := range path {
		switch t := cur.(type) {
		case *dict.Map:
			v, ok := t.Get(p)
			if !ok {
				return def
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) || strconv.Itoa(i) != p {
				return def
			}
			cur = t[i]
		default:
			return cur
		}
	}
	return cur
}

// splitCSV is @csv (Cerb's parseCsvString): trailing commas and spaces are
// stripped, items split on ",", empty items dropped (tested before
// trimming: an item of spaces stays as ""), each item trimmed. Dropped
// items leave their keys unused, as in PHP: "a,,b" is {"0":"a","2":"b"}.
func splitCSV(s string) any {
	s = strings.TrimRight(s, ", ")
	if s == "" {
		return []any{}
	}
	parts := strings.Split(s, ",")
	keys := make([]int, 0, len(parts))
	vals := make([]any, 0, len(parts))
	for i, p := range parts {
		if p == "" {
			continue
		}
		keys = append(keys, i)
		vals = append(vals, phpTrim(p))
	}
	return phpList(keys, vals)
}

// splitList is @list (Cerb's parseCrlfString): one item per line (a "\r"
// ends a line too), trimmed, empty lines dropped, keeping PHP's keys:
// "a\n\nb" is {"0":"a","2":"b"}.
func splitList(s string) any {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	parts := splitLines(s)
	keys := make([]int, 0, len(parts))
	vals := make([]any, 0, len(parts))
	for i, line := range parts {
		if line = phpTrim(line); line != "" {
			keys = append(keys, i)
			vals = append(vals, line)
		}
	}
	return phpList(keys, vals)
}

// splitLines splits on "\n" and "\r" (preg_split("/[\r\n]/")).
func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// phpList is a PHP array with the integer keys keys: a list when they are
// 0..n-1, else a dictionary keyed by their decimal text.
func phpList(keys []int, vals []any) any {
	for i, k := range keys {
		if k != i {
			m := dict.New(len(keys))
			for j, k := range keys {
				m.Set(strconv.Itoa(k), vals[j])
			}
			return m
		}
	}
	return vals
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
				v, _, _ = a.apply(v, env, c.Value)
			}
		}
		m.Set(c.Key, v)
	}
	return m
}

// recordContexts does what Cerb's @json does to records: a dictionary with
// "id" and "_context" (or each such item of a dictionary or list) becomes
// a record dictionary, whose _context reads as the record type's ID
// ("worker" reads "cerberusweb.contexts.worker").
func recordContexts(v any) {
	isRecord := func(m *dict.Map) bool {
		_, hasID := m.Get("id")
		_, hasContext := m.Get("_context")
		return hasID && hasContext
	}
	expand := func(m *dict.Map) {
		if alias, ok := m.Value("_context").(string); ok {
			if id, ok := templates.ContextID(alias); ok {
				m.Set("_context", id)
			}
		}
	}
	switch t := v.(type) {
	case *dict.Map:
		if isRecord(t) {
			expand(t)
			return
		}
		t.Range(func(_ string, item any) bool {
			if m, ok := item.(*dict.Map); ok && isRecord(m) {
				expand(m)
			}
			return true
		})
	case []any:
		for _, item := range t {
			if m, ok := item.(*dict.Map); ok && isRecord(m) {
				expand(m)
			}
		}
	}
}
