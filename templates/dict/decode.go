package dict

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// DecodeJSON decodes any JSON value into the dict value model, keeping
// object key order: objects become *Map (a repeated key keeps its first
// position and its last value), arrays []any, integers that fit int64
// become int64 and other numbers float64.
//
// It is a single-pass decoder written for this model (the extension wire
// carries every run's inputs and return dictionary as JSON); it accepts
// exactly RFC 8259 JSON, like encoding/json.
//
// Strings without escapes share the memory of one copy of b (so a decoded
// value holds on to the whole of it), instead of one copy each.
func DecodeJSON(b []byte) (any, error) { return decode(b, string(b)) }

// DecodeJSONString is DecodeJSON of the text s, which it reads without
// copying it: the strings without escapes it decodes share the memory of s.
func DecodeJSONString(s string) (any, error) {
	return decode(unsafe.Slice(unsafe.StringData(s), len(s)), s)
}

// decode decodes b, whose text s is (the decoder only reads b).
func decode(b []byte, s string) (any, error) {
	d := decoders.Get().(*decoder)
	defer d.release()
	d.b, d.s, d.i = b, s, 0
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i != len(d.b) {
		return nil, d.errorf("unexpected data after JSON value")
	}
	return v, nil
}

// decoders keeps decoders for their scratch space.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// release puts d back in decoders, without what it read, unless its
// scratch space grew large.
func (d *decoder) release() {
	d.b, d.s = nil, ""
	clear(d.members)
	clear(d.items)
	d.members, d.items = d.members[:0], d.items[:0]
	if cap(d.buf) > 64<<10 || cap(d.members) > 4096 || cap(d.items) > 4096 {
		return
	}
	decoders.Put(d)
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 10000

type decoder struct {
	b   []byte
	s   string // b, as a string: the text of strings without escapes
	i   int
	buf []byte
	// members and items hold the members of the objects and the items of
	// the arrays being read, innermost last, so that each becomes a Map or
	// a slice of its final size.
	members []member
	items   []any
}

type member struct {
	k string
	v any
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("dict: JSON at offset %d: %s", d.i, fmt.Sprintf(format, args...))
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.i >= len(d.b) {
		return nil, d.errorf("unexpected end of input")
	}
	if depth > maxDepth {
		return nil, d.errorf("nested too deeply")
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	default:
		return nil, d.errorf("invalid character %q looking for a value", c)
	}
}

func (d *decoder) literal(word string) error {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return d.errorf("invalid literal, want %s", word)
	}
	d.i += len(word)
	return nil
}

func (d *decoder) object(depth int) (any, error) {
	d.i++ // {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return New(0), nil
	}
	base := len(d.members)
	defer func() { clear(d.members[base:]); d.members = d.members[:base] }()
	for {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, d.errorf("object key must be a string")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, d.errorf("missing ':' after object key")
		}
		d.i++
		d.space()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.members = append(grow(d.members), member{k, v})
		d.space()
		if d.i >= len(d.b) {
			return nil, d.errorf("unexpected end of input in object")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			ms := d.members[base:]
			m := New(len(ms))
			for _, e := range ms {
				m.Set(e.k, e.v)
			}
			return m, nil
		default:
			return nil, d.errorf("invalid character %q after object value", d.b[d.i])
		}
	}
}

func (d *decoder) array(depth int) (any, error) {
	d.i++ // [
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return []any{}, nil
	}
	base := len(d.items)
	defer func() { clear(d.items[base:]); d.items = d.items[:base] }()
	for {
		d.space()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.items = append(grow(d.items), v)
		d.space()
		if d.i >= len(d.b) {
			return nil, d.errorf("unexpected end of input in array")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return slices.Clone(d.items[base:]), nil
		default:
			return nil, d.errorf("invalid character %q after array value", d.b[d.i])
		}
	}
}

// replaceInvalid is s with each byte that is not part of valid UTF-8
// replaced by U+FFFD, as string([]rune(s)) gives it, without the runes (4
// bytes a character: review rev3 measured 7 bytes allocated a byte of
// invalid text, which json_decode charged 1).
func replaceInvalid(s string) string {
	bad := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			bad++
		}
		i += size
	}
	var b strings.Builder
	b.Grow(len(s) + 2*bad)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// str reads a string; invalid UTF-8 becomes U+FFFD, as in encoding/json.
func (d *decoder) str() (string, error) {
	d.i++ // opening quote
	start := d.i
	// Fast path: no escapes, plain ASCII or valid UTF-8.
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '"' {
			s := d.s[start:d.i]
			d.i++
			if utf8.ValidString(s) {
				return s, nil
			}
			return replaceInvalid(s), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", d.errorf("control character in string")
		}
		d.i++
	}
	d.buf = append(d.buf[:0], d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if utf8.Valid(d.buf) {
				return string(d.buf), nil
			}
			return replaceInvalid(string(d.buf)), nil
		case c < 0x20:
			return "", d.errorf("control character in string")
		case c != '\\':
			j := d.i + 1
			for j < len(d.b) && d.b[j] >= 0x20 && d.b[j] != '"' && d.b[j] != '\\' {
				j++
			}
			d.buf = append(d.buf, d.b[d.i:j]...)
			d.i = j
			continue
		}
		d.i++ // backslash
		if d.i >= len(d.b) {
			break
		}
		e := d.b[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			d.buf = append(d.buf, e)
		case 'b':
			d.buf = append(d.buf, '\b')
		case 'f':
			d.buf = append(d.buf, '\f')
		case 'n':
			d.buf = append(d.buf, '\n')
		case 'r':
			d.buf = append(d.buf, '\r')
		case 't':
			d.buf = append(d.buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					var ok2 bool
					if r2, ok2 = d.hex4(); !ok2 {
						return "", d.errorf("invalid \\u escape")
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						d.buf = utf8.AppendRune(d.buf, dec)
						continue
					}
					d.i = save
				}
				r = utf8.RuneError
			}
			d.buf = utf8.AppendRune(d.buf, r)
		default:
			return "", d.errorf("invalid escape \\%c", e)
		}
	}
	return "", d.errorf("unexpected end of input in string")
}

// grow makes room for one more item in a scratch slice by doubling it:
// append grows a large slice by a quarter, allocating about five times its
// final length on the way there; doubling allocates less than four times.
func grow[S ~[]E, E any](s S) S {
	if len(s) < cap(s) {
		return s
	}
	return slices.Grow(s, len(s)+1)
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

var errNumber = errors.New("invalid number")

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// number reads an RFC 8259 number: int64 when it has no fraction or
// exponent and fits, float64 otherwise.
func (d *decoder) number() (any, error) {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return nil, d.errorf("%v", errNumber)
	}
	integral := true
	if d.i < len(d.b) && d.b[d.i] == '.' {
		integral = false
		d.i++
		if digits() == 0 {
			return nil, d.errorf("%v", errNumber)
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		integral = false
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, d.errorf("%v", errNumber)
		}
	}
	text := d.s[start:d.i]
	if integral {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, d.errorf("number %s out of range", truncate(text, 32))
	}
	return f, nil
}
