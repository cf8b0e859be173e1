package templates

import (
	"errors"
	"strconv"
	"unicode/utf8"

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
	b     []byte
	flags int
	max   int   // bytes; 0 for no limit
	err   error // the first encoding error (JSON_ERROR_*)
	full  bool  // past max
	depth int
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
		keys := t.Keys()
		e.array(len(keys), isList(t), func(i int) (string, any) { return keys[i], t.Value(keys[i]) })
	case pongo2.Lambda:
		e.b = append(e.b, "{}"...) // a PHP Closure has no public properties
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
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			switch {
			case r == utf8.RuneError && size == 1:
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
	out, ok, full := phpJSONEncode(v, flags, st.limits.String)
	if full {
		return "", false, st.errString()
	}
	if !ok && flags&jsonThrowOnError != 0 {
		return "", false, errors.New("json_encode: the value cannot be encoded (invalid UTF-8, INF or NAN, or nested too deeply)")
	}
	return out, ok, nil
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
	return out, nil
}

// fJSONPretty is Cerb's json_pretty: JSON text decoded and encoded again
// with JSON_PRETTY_PRINT, JSON_UNESCAPED_SLASHES and
// JSON_INVALID_UTF8_SUBSTITUTE (4 spaces, non-ASCII as \uXXXX, {} as []).
// Text that is not JSON gives "null"; a value that is not text, "".
func fJSONPretty(st *state, in any, _ ...any) (any, error) {
	s, ok := in.(string)
	if !ok {
		return "", nil
	}
	if err := st.wantString(prettySize(s, 4)); err != nil {
		return nil, err
	}
	v, err := st.decodeJSON(s)
	if err != nil {
		return nil, err
	}
	out, _, err := st.jsonEncode(v, jsonPrettyPrint|jsonUnescapedSlashes|jsonInvalidUTF8Substitute)
	return out, err
}
