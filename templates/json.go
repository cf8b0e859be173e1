package templates

import (
	"errors"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/flosch/pongo2/v6"

	"github.com/hookhost/hookhost/templates/dict"
)

// PHP's json_encode, which Twig's json_encode filter is: the flags, the
// escapes (\/ and \uXXXX unless told otherwise), arrays as lists when
// their keys are 0, 1, ... n-1, [] for an empty array, and floats with
// serialize_precision -1 (1.0e+100).

// The json_encode flags (PHP's JSON_* constants).
const (
	jsonHexTag                   = 1
	jsonHexAmp                   = 2
	jsonHexApos                  = 4
	jsonHexQuot                  = 8
	jsonForceObject              = 16
	jsonNumericCheck             = 32
	jsonUnescapedSlashes         = 64
	jsonPrettyPrint              = 128
	jsonUnescapedUnicode         = 256
	jsonPartialOutputOnError     = 512
	jsonPreserveZeroFraction     = 1024
	jsonUnescapedLineTerminators = 2048
	jsonInvalidUTF8Ignore        = 1 << 20
	jsonInvalidUTF8Substitute    = 1 << 21
	jsonThrowOnError             = 1 << 22
)

// jsonMaxDepth is json_encode's default depth.
const jsonMaxDepth = 512

// errJSON is a json_encode error: the filter gives false (or, with
// JSON_THROW_ON_ERROR, fails).
var errJSON = errors.New("json_encode failed")

type phpJSONEncoder struct {
	b []byte
	// members is reencode's scratch space for the members of objects.
	members []jsonMember
	flags   int
	max     int   // bytes; 0 for no limit
	err     error // the first encoding error (JSON_ERROR_*)
	full    bool  // past max
	depth   int
	// blanks counts the bytes JSON_PRETTY_PRINT added, slashes the "/"
	// JSON_UNESCAPED_SLASHES left as they are, and invalid is set when an
	// invalid UTF-8 sequence was ignored or substituted: what the text
	// without those flags would differ by (fJSONEncodePretty).
	blanks, slashes int
	invalid         bool
}

// phpJSONEncode encodes v as PHP's json_encode(v, flags) does, in at most
// max bytes (0: no limit). ok is false when json_encode would give false;
// full is true when the text would be longer than max.
func phpJSONEncode(v any, flags int, max int) (out string, ok, full bool) {
	e := phpJSONEncoder{flags: flags, max: max}
	e.value(v)
	if e.full {
		return "", false, true
	}
	if e.err != nil && flags&jsonPartialOutputOnError == 0 {
		return "", false, false
	}
	return string(e.b), true, false
}

func (e *phpJSONEncoder) room() bool {
	if e.max > 0 && len(e.b) > e.max {
		e.full = true
	}
	return !e.full
}

func (e *phpJSONEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *phpJSONEncoder) newline() {
	if e.flags&jsonPrettyPrint != 0 {
		e.b = append(e.b, '\n')
		for range e.depth {
			e.b = append(e.b, "    "...)
		}
		e.blanks += 1 + 4*e.depth
	}
}

func (e *phpJSONEncoder) value(v any) {
	if !e.room() {
		return
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
	case int64:
		e.b = strconv.AppendInt(e.b, t, 10)
	case int:
		e.b = strconv.AppendInt(e.b, int64(t), 10)
	case float64:
		e.float(t)
	case string:
		e.str(t, e.flags)
	case []any:
		e.array(len(t), true, func(i int) (string, any) { return "", t[i] })
	case *dict.Map:
		keys, vals := t.Keys(), t.Values()
		e.array(len(keys), isList(t), func(i int) (string, any) { return keys[i], vals[i] })
	case pongo2.Lambda:
		e.b = append(e.b, "{}"...) // a PHP Closure has no public properties
	case *dateTime:
		e.value(t.jsonValue())
	case *pongo2.Value:
		e.value(norm(t.Interface()))
	default:
		e.value(norm(v))
	}
}

func (e *phpJSONEncoder) float(f float64) {
	if isInfOrNaN(f) {
		e.fail(errJSON)
		e.b = append(e.b, '0')
		return
	}
	s := gcvt(f, 0, 'e')
	e.b = append(e.b, s...)
	if e.flags&jsonPreserveZeroFraction != 0 {
		for i := 0; i < len(s); i++ {
			if s[i] == '.' || s[i] == 'e' {
				return
			}
		}
		e.b = append(e.b, ".0"...)
	}
}

// array writes n items, as a JSON array when list is true (and
// JSON_FORCE_OBJECT is not set), else as an object.
func (e *phpJSONEncoder) array(n int, list bool, item func(i int) (string, any)) {
	if e.flags&jsonForceObject != 0 {
		list = false
	}
	if e.depth >= jsonMaxDepth {
		e.fail(errJSON)
		if e.flags&jsonPartialOutputOnError == 0 {
			return
		}
		e.b = append(e.b, "null"...)
		return
	}
	if n == 0 {
		if list {
			e.b = append(e.b, "[]"...)
		} else {
			e.b = append(e.b, "{}"...)
		}
		return
	}
	open, closing := byte('['), byte(']')
	if !list {
		open, closing = '{', '}'
	}
	e.b = append(e.b, open)
	e.depth++
	for i := range n {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.newline()
		k, v := item(i)
		if !list {
			if k == "" && e.flags&jsonForceObject != 0 {
				k = strconv.Itoa(i)
			}
			e.str(k, e.flags&^jsonNumericCheck)
			e.b = append(e.b, ':')
			if e.flags&jsonPrettyPrint != 0 {
				e.b = append(e.b, ' ')
				e.blanks++
			}
		}
		e.value(v)
		if e.full {
			return
		}
	}
	e.depth--
	e.newline()
	e.b = append(e.b, closing)
}

const lowerHex = "0123456789abcdef"

// jsonPlain marks the bytes json_encode writes as they are whatever the
// flags: printable ASCII but for " \ / < > & and '.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		switch c {
		case '"', '\\', '/', '<', '>', '&', '\'':
		default:
			t[c] = true
		}
	}
	return t
}()

func (e *phpJSONEncoder) str(s string, flags int) {
	if flags&jsonNumericCheck != 0 {
		if n, kind := numericPrefix(s); kind == numericText {
			if f, ok := n.(float64); ok {
				e.float(f)
			} else {
				e.b = strconv.AppendInt(e.b, n.(int64), 10)
			}
			return
		}
	}
	start := len(e.b)
	e.b = append(e.b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			j := i + 1
			for j < len(s) && jsonPlain[s[j]] {
				j++
			}
			e.b = append(e.b, s[i:j]...)
			i = j
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			switch {
			case r == utf8.RuneError && size == 1:
				e.invalid = true
				switch {
				case flags&jsonInvalidUTF8Ignore != 0:
				case flags&jsonInvalidUTF8Substitute != 0:
					if flags&jsonUnescapedUnicode != 0 {
						e.b = append(e.b, "\uFFFD"...)
					} else {
						e.b = append(e.b, `\ufffd`...)
					}
				default:
					e.fail(errJSON)
					e.b = append(e.b[:start], "null"...)
					return
				}
			case flags&jsonUnescapedUnicode != 0 && (flags&jsonUnescapedLineTerminators != 0 || r != 0x2028 && r != 0x2029):
				e.b = append(e.b, s[i-size:i]...)
			case r >= 0x10000:
				r -= 0x10000
				e.u16(0xD800 + uint16(r>>10))
				e.u16(0xDC00 + uint16(r&0x3FF))
			default:
				e.u16(uint16(r))
			}
			continue
		}
		i++
		switch c {
		case '"':
			if flags&jsonHexQuot != 0 {
				e.b = append(e.b, `\u0022`...)
			} else {
				e.b = append(e.b, '\\', '"')
			}
		case '\\':
			e.b = append(e.b, '\\', '\\')
		case '/':
			if flags&jsonUnescapedSlashes != 0 {
				e.b = append(e.b, '/')
				e.slashes++
			} else {
				e.b = append(e.b, '\\', '/')
			}
		case '\b':
			e.b = append(e.b, '\\', 'b')
		case '\f':
			e.b = append(e.b, '\\', 'f')
		case '\n':
			e.b = append(e.b, '\\', 'n')
		case '\r':
			e.b = append(e.b, '\\', 'r')
		case '\t':
			e.b = append(e.b, '\\', 't')
		case '<':
			if flags&jsonHexTag != 0 {
				e.b = append(e.b, `\u003C`...)
			} else {
				e.b = append(e.b, c)
			}
		case '>':
			if flags&jsonHexTag != 0 {
				e.b = append(e.b, `\u003E`...)
			} else {
				e.b = append(e.b, c)
			}
		case '&':
			if flags&jsonHexAmp != 0 {
				e.b = append(e.b, `\u0026`...)
			} else {
				e.b = append(e.b, c)
			}
		case '\'':
			if flags&jsonHexApos != 0 {
				e.b = append(e.b, `\u0027`...)
			} else {
				e.b = append(e.b, c)
			}
		default:
			if c < 0x20 {
				e.u16(uint16(c))
			} else {
				e.b = append(e.b, c)
			}
		}
	}
	e.b = append(e.b, '"')
}

func (e *phpJSONEncoder) u16(x uint16) {
	e.b = append(e.b, '\\', 'u', lowerHex[x>>12], lowerHex[x>>8&15], lowerHex[x>>4&15], lowerHex[x&15])
}

// jsonEncode is json_encode within the render's string limit; ok is false
// when PHP's json_encode gives false.
func (st *state) jsonEncode(v any, flags int) (string, bool, error) {
	e := phpJSONEncoder{flags: flags, max: st.limits.String, b: st.scratch[:0]}
	e.value(v)
	st.keepScratch(e.b)
	if e.full {
		return "", false, st.errString()
	}
	ok := e.err == nil || flags&jsonPartialOutputOnError != 0
	out := ""
	if ok {
		out = string(e.b)
	}
	if !ok && flags&jsonThrowOnError != 0 {
		return "", false, errors.New("json_encode: the value cannot be encoded (invalid UTF-8, INF or NAN, or nested too deeply)")
	}
	return out, ok, nil
}

// keepScratch keeps a small buffer for the render's next encoding.
func (st *state) keepScratch(b []byte) {
	if cap(b) <= 64<<10 {
		st.scratch = b[:0]
	}
}

// fJSONEncode is Twig's json_encode(flags): PHP's json_encode; false (which
// prints as nothing) when the value cannot be encoded.
func fJSONEncode(st *state, in any, args ...any) (any, error) {
	out, ok, err := st.jsonEncode(in, int(toInt(arg(args, 0, int64(0)))))
	if err != nil {
		return nil, err
	}
	if !ok {
		return false, nil
	}
	if len(args) == 0 {
		st.encoded, st.encodedFrom, st.encodedAt = out, in, st.applied
	}
	return out, nil
}

// prettyJSON stands for json_encode's text of a value when json_pretty
// is the next filter (`x|json_encode|json_pretty`, which the translation
// writes as x|_tw_json_encode_pretty|json_pretty): rather than the compact
// text, which json_pretty would read again, the json_encode writes the
// pretty text directly, and accounts for the compact text it does not
// build. Only that json_pretty sees it.
type prettyJSON struct {
	text    string // json_pretty's result
	compact int    // the length of json_encode's text
	extra   int64  // prettySize(json_encode's text, 4) - compact
	at      uint32 // state.applied of the json_encode
}

// jsonPrettyFlags are json_pretty's json_encode flags.
const jsonPrettyFlags = jsonPrettyPrint | jsonUnescapedSlashes | jsonInvalidUTF8Substitute

// fJSONEncodePretty is json_encode (no flags) when json_pretty comes next.
// A value that roundTrips is encoded once, with json_pretty's flags: the
// two texts differ only in blanks and slashes (and the pretty one has no
// text for invalid UTF-8, when the other is false), so the length of the
// compact text, which the string and memory limits check as json_encode's
// filter call would, is known without writing it. Other values take the
// ordinary json_encode.
func fJSONEncodePretty(st *state, in any, _ ...any) (any, error) {
	// The pretty text is json_pretty's result, so one past String fails
	// the string limit anyway: when its blanks alone are past it, nothing
	// is built; else the encoder stops there (what it builds is bounded as
	// json_encode's is). Then, as for a value json_encode rejects (invalid
	// UTF-8, too deep), the ordinary json_encode gives its text or its
	// error and json_pretty takes its own route: the same result and
	// errors as the unfused filters, by construction.
	extra, ok := prettyExtra(in, 0, 4)
	if !ok || extra > int64(st.limits.String) {
		return fJSONEncode(st, in)
	}
	e := phpJSONEncoder{flags: jsonPrettyFlags, max: st.limits.String, b: st.scratch[:0]}
	if int64(cap(e.b)) < extra {
		e.b = make([]byte, 0, extra) // the pretty text is longer: fewer steps of growth
	}
	e.value(in)
	st.keepScratch(e.b)
	if e.full || len(e.b) > st.limits.String || e.err != nil || e.invalid {
		return fJSONEncode(st, in)
	}
	compact := len(e.b) - e.blanks + e.slashes
	// What the filter call checks of the text json_encode builds
	// (state.built).
	if compact > st.limits.String {
		return nil, st.errString()
	}
	if err := st.alloc(int64(compact)); err != nil {
		return nil, err
	}
	st.pretty = prettyJSON{text: string(e.b), compact: compact, extra: extra, at: st.applied}
	return &st.pretty, nil
}

// encodedValue returns the value s is the text of when s is what the
// json_encode just before (`x|json_encode|json_pretty`) made of x, with
// no flags; json_pretty can then work from x rather than from s if x
// holds only values the JSON round trip keeps (roundTrips, which
// prettyExtra tells too).
func (st *state) encodedValue(s string) (any, bool) {
	if st.encoded == "" || st.applied != st.encodedAt+1 || len(s) != len(st.encoded) ||
		unsafe.StringData(s) != unsafe.StringData(st.encoded) {
		return nil, false
	}
	return st.encodedFrom, true
}

// prettyOfEncoded is json_pretty of v, a value of encodedValue that
// roundTrips: v encoded
// with json_pretty's flags, which is the same text as json_pretty of v's
// json_encode. ok is false when the caller must decode and encode again.
func (st *state) prettyOfEncoded(v any, flags int) (out string, ok bool, err error) {
	e := phpJSONEncoder{flags: flags, max: st.limits.String, b: st.scratch[:0]}
	e.value(v)
	st.keepScratch(e.b)
	switch {
	case e.full:
		return "", false, st.errString()
	case e.err != nil:
		return "", false, nil
	}
	return string(e.b), true, nil
}

// prettyExtra is prettySize(s, indent) - len(s) for s the json_encode (no
// flags) of v, a value of encodedValue, worked out from v's structure
// rather than by reading s: outside its strings, s has brackets, commas and
// colons only where v has lists and dictionaries. depth is v's. ok is
// roundTrips(v, depth), which the same walk tells (and which rules out
// floats, whose text could hold none anyway).
func prettyExtra(v any, depth, indent int64) (extra int64, ok bool) {
	var n int
	colons := false
	switch t := v.(type) {
	case nil, bool, int64, int, string:
		return 0, true
	case []any:
		n = len(t)
	case *dict.Map:
		n = t.Len()
		colons = n > 0 && !isList(t)
	default:
		return 0, false
	}
	if depth >= 64 {
		return 0, false
	}
	// The opening bracket at depth+1 and the closing one at depth, as
	// prettySize counts them, even for an empty [] or {}.
	extra = 1 + (depth+1)*indent + 1 + depth*indent
	if n > 0 {
		extra += int64(n-1) * (1 + (depth+1)*indent) // commas
	}
	if colons {
		extra += int64(n)
	}
	var items []any
	switch t := v.(type) {
	case []any:
		items = t
	case *dict.Map:
		items = t.Values()
	}
	for _, x := range items {
		e, ok := prettyExtra(x, depth+1, indent)
		if !ok {
			return 0, false
		}
		extra += e
	}
	return extra, true
}

// roundTrips reports whether v holds only null, booleans, integers,
// strings, lists and dictionaries, nested less than 64 deep: values that
// json_decode(json_encode(v)) gives back as they are. (A float may not:
// -0.0 comes back as the integer 0; nor may other values: a closure's {}
// comes back as [].)
func roundTrips(v any, depth int) bool {
	switch t := v.(type) {
	case nil, bool, int64, int, string:
		return true
	case []any:
		if depth >= 64 {
			return false
		}
		for _, x := range t {
			if !roundTrips(x, depth+1) {
				return false
			}
		}
		return true
	case *dict.Map:
		if depth >= 64 {
			return false
		}
		for _, x := range t.Values() {
			if !roundTrips(x, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// fJSONPretty is Cerb's json_pretty: JSON text decoded and encoded again
// with JSON_PRETTY_PRINT, JSON_UNESCAPED_SLASHES and
// JSON_INVALID_UTF8_SUBSTITUTE (4 spaces, non-ASCII as \uXXXX, {} as []).
// Text that is not JSON gives "null"; a value that is not text, "".
func fJSONPretty(st *state, in any, _ ...any) (any, error) {
	if p, ok := in.(*prettyJSON); ok {
		if p != &st.pretty || st.applied != p.at+1 {
			return nil, errors.New("json_pretty: the text of another json_encode")
		}
		if err := st.wantString(int64(p.compact) + p.extra); err != nil {
			return nil, err
		}
		return p.text, nil
	}
	s, ok := in.(string)
	if !ok {
		return "", nil
	}
	v, encoded := st.encodedValue(s)
	var size int64
	if encoded {
		var extra int64
		// prettySize(s, 4) without reading s, when v roundTrips.
		if extra, encoded = prettyExtra(v, 0, 4); encoded {
			size = int64(len(s)) + extra
		}
	}
	if !encoded {
		size = prettySize(s, 4)
	}
	if err := st.wantString(size); err != nil {
		return nil, err
	}
	const flags = jsonPrettyFlags
	if encoded {
		if out, ok, err := st.prettyOfEncoded(v, flags); ok || err != nil {
			if err != nil {
				return nil, err
			}
			return out, nil
		}
	}
	e := phpJSONEncoder{flags: flags, max: st.limits.String, b: st.scratch[:0], members: st.jsonMembers}
	valid, slow := e.reencode(s)
	st.keepScratch(e.b)
	if cap(e.members) <= 1024 {
		st.jsonMembers = e.members
	}
	switch {
	case e.full:
		return nil, st.errString()
	case slow:
		v, err := st.decodeJSON(s)
		if err != nil {
			return nil, err
		}
		out, ok, err := st.jsonEncode(v, flags)
		if err != nil || !ok {
			return false, err
		}
		return out, nil
	case !valid:
		return "null", nil
	case e.err != nil:
		return false, nil // INF
	}
	return string(e.b), nil
}

// jsonMaxDecodeDepth is json_decode's default depth: deeper text is not
// JSON to PHP.
const jsonMaxDecodeDepth = 512

// reencode writes json_encode(json_decode(src, true)) without building the
// values: src is read token by token and written again with e's flags.
// Objects whose keys are 0, 1, ... n-1 in order become lists, and empty
// objects [], as PHP arrays. valid is false when src is not JSON to PHP's
// json_decode (which gives null); slow is true when src has an object with
// a repeated key or a key with escapes, which the caller decodes and
// encodes the ordinary way instead.
func (e *phpJSONEncoder) reencode(src string) (valid, slow bool) {
	if !utf8.ValidString(src) {
		return false, false
	}
	r := jsonReader{s: src, members: e.members[:0]}
	defer func() {
		clear(r.members[:cap(r.members)]) // keep no text of src
		e.members = r.members[:0]
	}()
	r.space()
	r.value(e, 0)
	if r.bad || r.slow {
		return false, r.slow
	}
	r.space()
	return r.i == len(r.s), false
}

// jsonReader reads JSON text for reencode.
type jsonReader struct {
	s         string
	i         int
	bad, slow bool
	scratch   []byte
	members   []jsonMember // of the objects being read, innermost last
}

// jsonMember is a member of an object reencode writes.
type jsonMember struct {
	key        string
	keyAt, val int // offsets in e.b
}

// after reads what follows a value in an array or object: its closing
// byte (true), or a comma and the blanks after it (false); anything else
// marks the text bad (true).
func (r *jsonReader) after(closing byte) bool {
	r.space()
	switch {
	case r.i >= len(r.s):
		r.bad = true
		return true
	case r.s[r.i] == closing:
		r.i++
		return true
	case r.s[r.i] != ',':
		r.bad = true
		return true
	}
	r.i++
	r.space()
	return false
}

func (r *jsonReader) space() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *jsonReader) literal(e *phpJSONEncoder, lit string) {
	if len(r.s)-r.i >= len(lit) && r.s[r.i:r.i+len(lit)] == lit {
		r.i += len(lit)
		e.b = append(e.b, lit...)
		return
	}
	r.bad = true
}

func (r *jsonReader) value(e *phpJSONEncoder, depth int) {
	if r.i >= len(r.s) || !e.room() {
		r.bad = true
		return
	}
	switch c := r.s[r.i]; {
	case c == '{':
		r.object(e, depth+1)
	case c == '[':
		r.array(e, depth+1)
	case c == '"':
		s, _, ok := r.str()
		if !ok {
			r.bad = true
			return
		}
		e.str(s, e.flags)
	case c == 't':
		r.literal(e, "true")
	case c == 'f':
		r.literal(e, "false")
	case c == 'n':
		r.literal(e, "null")
	case c == '-' || c >= '0' && c <= '9':
		r.number(e)
	default:
		r.bad = true
	}
}

// str reads a string token: its text, whether it had escapes, and whether
// it is valid. The text of a string with escapes is a view of r.scratch,
// valid until the next str: the caller writes it out (a value) or gives
// up (a key with escapes takes the slow way), and keeps nothing.
func (r *jsonReader) str() (string, bool, bool) {
	start := r.i + 1
	i := start
	for i < len(r.s) {
		c := r.s[i]
		if c == '"' {
			r.i = i + 1
			return r.s[start:i], false, true
		}
		if c == '\\' {
			return r.escapedStr(start)
		}
		if c < 0x20 {
			return "", false, false
		}
		i++
	}
	return "", false, false
}

func (r *jsonReader) escapedStr(start int) (string, bool, bool) {
	b := r.scratch[:0]
	i := start
	for i < len(r.s) {
		c := r.s[i]
		switch {
		case c == '"':
			r.i = i + 1
			r.scratch = b
			return unsafe.String(unsafe.SliceData(b), len(b)), true, true
		case c < 0x20:
			return "", true, false
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(r.s) {
			return "", true, false
		}
		i += 2
		switch r.s[i-1] {
		case '"', '\\', '/':
			b = append(b, r.s[i-1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			u, ok := hex4(r.s, i)
			if !ok {
				return "", true, false
			}
			i += 4
			if u >= 0xD800 && u < 0xDC00 {
				// a high surrogate needs its low one
				if i+6 > len(r.s) || r.s[i] != '\\' || r.s[i+1] != 'u' {
					return "", true, false
				}
				lo, ok := hex4(r.s, i+2)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return "", true, false
				}
				i += 6
				u = 0x10000 + (u-0xD800)<<10 + (lo - 0xDC00)
			} else if u >= 0xDC00 && u <= 0xDFFF {
				return "", true, false
			}
			b = utf8.AppendRune(b, rune(u))
		default:
			return "", true, false
		}
	}
	return "", true, false
}

func hex4(s string, i int) (uint32, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var u uint32
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			u = u<<4 | uint32(c-'0')
		case c >= 'a' && c <= 'f':
			u = u<<4 | uint32(c-'a'+10)
		case c >= 'A' && c <= 'F':
			u = u<<4 | uint32(c-'A'+10)
		default:
			return 0, false
		}
	}
	return u, true
}

func (r *jsonReader) number(e *phpJSONEncoder) {
	start := r.i
	i := r.i
	if r.s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(r.s) && r.s[i] >= '0' && r.s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(r.s) && r.s[i] == '0':
		i++
	case digits() == 0:
		r.bad = true
		return
	}
	isFloat := false
	if i < len(r.s) && r.s[i] == '.' {
		i++
		if digits() == 0 {
			r.bad = true
			return
		}
		isFloat = true
	}
	if i < len(r.s) && (r.s[i] == 'e' || r.s[i] == 'E') {
		i++
		if i < len(r.s) && (r.s[i] == '+' || r.s[i] == '-') {
			i++
		}
		if digits() == 0 {
			r.bad = true
			return
		}
		isFloat = true
	}
	r.i = i
	text := r.s[start:i]
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			e.b = strconv.AppendInt(e.b, n, 10)
			return
		}
	}
	f, _ := strconv.ParseFloat(text, 64)
	e.float(f)
}

func (r *jsonReader) array(e *phpJSONEncoder, depth int) {
	if depth > jsonMaxDecodeDepth {
		r.bad = true
		return
	}
	r.i++ // [
	r.space()
	if r.i < len(r.s) && r.s[r.i] == ']' {
		r.i++
		e.b = append(e.b, "[]"...)
		return
	}
	e.b = append(e.b, '[')
	e.depth++
	for n := 0; ; n++ {
		if n > 0 {
			e.b = append(e.b, ',')
		}
		e.newline()
		r.value(e, depth)
		if r.bad || r.slow {
			return
		}
		if r.after(']') {
			if r.bad {
				return
			}
			break
		}
	}
	e.depth--
	e.newline()
	e.b = append(e.b, ']')
}

// object writes an object; when its keys turn out to be 0, 1, ... n-1 in
// order, the keys written are dropped again and it becomes a list.
func (r *jsonReader) object(e *phpJSONEncoder, depth int) {
	if depth > jsonMaxDecodeDepth {
		r.bad = true
		return
	}
	r.i++ // {
	r.space()
	if r.i < len(r.s) && r.s[r.i] == '}' {
		r.i++
		e.b = append(e.b, "[]"...)
		return
	}
	open := len(e.b)
	e.b = append(e.b, '{')
	e.depth++
	// The members of this object go on r.members after those of the
	// objects it is in (not in an array on the stack, which, nested,
	// would grow the goroutine's stack over and over).
	base := len(r.members)
	defer func() { r.members = r.members[:base] }()
	var seen map[string]bool
	list := true
	for n := 0; ; n++ {
		if r.i >= len(r.s) || r.s[r.i] != '"' {
			r.bad = true
			return
		}
		key, escaped, ok := r.str()
		if !ok {
			r.bad = true
			return
		}
		if escaped {
			r.slow = true
			return
		}
		if n > 0 {
			e.b = append(e.b, ',')
		}
		e.newline()
		keyAt := len(e.b)
		e.str(key, e.flags&^jsonNumericCheck)
		e.b = append(e.b, ':')
		if e.flags&jsonPrettyPrint != 0 {
			e.b = append(e.b, ' ')
		}
		// a repeated key keeps its first place and its last value in PHP
		members := r.members[base:]
		if len(members) < 16 {
			for _, m := range members {
				if m.key == key {
					r.slow = true
					return
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]bool, 2*len(members))
				for _, m := range members {
					seen[m.key] = true
				}
			}
			if seen[key] {
				r.slow = true
				return
			}
			seen[key] = true
		}
		if list && key != strconv.Itoa(n) {
			list = false
		}
		r.members = append(r.members, jsonMember{key: key, keyAt: keyAt, val: len(e.b)})
		r.space()
		if r.i >= len(r.s) || r.s[r.i] != ':' {
			r.bad = true
			return
		}
		r.i++
		r.space()
		r.value(e, depth)
		if r.bad || r.slow {
			return
		}
		if r.after('}') {
			if r.bad {
				return
			}
			break
		}
	}
	e.depth--
	e.newline()
	if !list || e.flags&jsonForceObject != 0 {
		e.b = append(e.b, '}')
		return
	}
	// drop the keys: compact the members in place
	members := r.members[base:]
	e.b[open] = '['
	w := members[0].keyAt
	for i, m := range members {
		end := len(e.b)
		if i+1 < len(members) {
			end = members[i+1].keyAt
		}
		w += copy(e.b[w:], e.b[m.val:end])
	}
	e.b = append(e.b[:w], ']')
}
