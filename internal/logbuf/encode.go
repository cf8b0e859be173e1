package logbuf

import (
	"log/slog"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// The encoder below writes a record's line itself, byte for byte as slog's
// JSONHandler or TextHandler (without HandlerOptions.ReplaceAttr or
// AddSource, before any WithAttrs or WithGroup) would, for records whose
// attributes are all strings, integers, floats or booleans: the access log's
// line, one per request, and most other lines. It appends to the Writer's
// buffer directly, which saves slog's handle state, its buffer pool, the
// extra copy into the Writer and json.Marshal of every float. A record it
// does not take (another kind of value, a group, a time outside slog's
// formats) goes to slog's handler. TestFastMatchesSlog compares the two.

// appendRecord appends r's line in the JSON (json) or text format to b. It
// reports false, with b possibly extended past its length, when r has
// something only slog's handler writes.
func appendRecord(b []byte, json bool, r slog.Record, tc *timeCache) ([]byte, bool) {
	return appendLine(b, json, r.Time, r.Level, r.Message, &r, nil, tc)
}

// appendLine appends the line of a record of time t, level, msg and the
// attributes of r, or, with r nil, attrs: appendRecord's line.
func appendLine(b []byte, json bool, t time.Time, level slog.Level, msg string, r *slog.Record, attrs []slog.Attr, tc *timeCache) ([]byte, bool) {
	ok := true
	if json {
		b = append(b, '{')
	}
	sep := false
	if !t.IsZero() {
		if b, ok = tc.append(b, json, t); !ok {
			return b, false
		}
		sep = true
	}
	if sep {
		b = appendSep(b, json)
	}
	if json {
		b = append(b, `"level":`...)
	} else {
		b = append(b, "level="...)
	}
	b = appendString(b, json, level.String())
	if json {
		b = append(b, `,"msg":`...)
	} else {
		b = append(b, " msg="...)
	}
	b = appendString(b, json, msg)
	if r != nil {
		r.Attrs(func(a slog.Attr) bool {
			b, ok = appendAttr(b, json, a)
			return ok
		})
	} else {
		for _, a := range attrs {
			if b, ok = appendAttr(b, json, a); !ok {
				break
			}
		}
	}
	if !ok {
		return b, false
	}
	if json {
		b = append(b, '}')
	}
	return append(b, '\n'), true
}

// appendSep appends the separator between two attributes.
func appendSep(b []byte, json bool) []byte {
	if json {
		return append(b, ',')
	}
	return append(b, ' ')
}

// appendAttr appends a (with its separator) if it is a plain value.
func appendAttr(b []byte, json bool, a slog.Attr) ([]byte, bool) {
	if a.Key == "" {
		return b, false // slog elides the empty Attr{}: leave such keys to it
	}
	v := a.Value
	switch v.Kind() {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool:
	case slog.KindFloat64:
		if f := v.Float64(); math.IsNaN(f) || math.IsInf(f, 0) {
			return b, false
		}
	default:
		return b, false
	}
	if json {
		if plainJSONString(a.Key) {
			b = append(b, ',', '"')
			b = append(b, a.Key...)
			b = append(b, '"', ':')
		} else {
			b = append(b, ',')
			b = appendString(b, json, a.Key)
			b = append(b, ':')
		}
	} else {
		b = append(b, ' ')
		b = appendString(b, json, a.Key)
		b = append(b, '=')
	}
	switch v.Kind() {
	case slog.KindString:
		b = appendString(b, json, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindFloat64:
		if json {
			b = appendJSONFloat(b, v.Float64())
		} else {
			b = strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
		}
	}
	return b, true
}

// appendJSONFloat appends f as encoding/json writes a float64 (which is
// what slog's JSONHandler calls for floats): like %g, with other exponent
// cutoffs and unpadded exponents. f is finite.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString appends s as slog's handlers write a string: a quoted,
// escaped JSON string, or in text the string as it is unless it needs
// quoting (then Go-quoted).
func appendString(b []byte, json bool, s string) []byte {
	if json {
		if plainJSONString(s) {
			b = append(b, '"')
			b = append(b, s...)
			return append(b, '"')
		}
		b = append(b, '"')
		b = appendEscapedJSONString(b, s)
		return append(b, '"')
	}
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// plainJSONString reports whether s is all plainJSON bytes: a JSON string
// of s as it is. Most of the access line's strings are plain and short, so
// it tests eight bytes at a time, the last eight (overlapping) for the
// rest, and a string of 4 to 7 bytes as its first and last four.
func plainJSONString(s string) bool {
	n := len(s)
	switch {
	case n >= 8:
		for i := 0; i+8 <= n; i += 8 {
			if !plainJSONWord(load64(s[i : i+8])) {
				return false
			}
		}
		return n%8 == 0 || plainJSONWord(load64(s[n-8:]))
	case n >= 4:
		return plainJSONWord(load32(s[:4]) | load32(s[n-4:])<<32)
	}
	for i := 0; i < n; i++ {
		if !plainJSON[s[i]] {
			return false
		}
	}
	return true
}

// load64 is the little-endian word of w's first eight bytes.
func load64(w string) uint64 {
	_ = w[7]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// load32 is the little-endian word of w's first four bytes.
func load32(w string) uint64 {
	_ = w[3]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24
}

// plainJSONWord reports whether the eight bytes of x are all plainJSON
// bytes: none from 0x80, below 0x20, '"' or '\\'. A byte from 0x80 sets
// its high bit in x; with none, x-0x20 in each byte borrows (setting a
// high bit) exactly when some byte is below 0x20; and (v-1)&^v in each
// byte sets a high bit exactly when some byte of v is zero, v being x
// xor '"' or '\\' in every byte.
func plainJSONWord(x uint64) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	quote := x ^ ('"' * ones)
	backslash := x ^ ('\\' * ones)
	bad := x | (x - 0x20*ones) | (quote-ones)&^quote | (backslash-ones)&^backslash
	return bad&highs == 0
}

// appendEscapedJSONString is slog's (encoding/json's string encoding
// without HTML escaping), with a first pass over the bytes that need none.
func appendEscapedJSONString(buf []byte, s string) []byte {
	i := 0
	for i < len(s) && plainJSON[s[i]] {
		i++
	}
	if i == len(s) {
		return append(buf, s...)
	}
	buf = append(buf, s[:i]...)
	start := i
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if plainJSON[b] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\')
			switch b {
			case '\\', '"':
				buf = append(buf, b)
			case '\n':
				buf = append(buf, 'n')
			case '\r':
				buf = append(buf, 'r')
			case '\t':
				buf = append(buf, 't')
			default:
				// bytes < 0x20 except \t, \n and \r
				buf = append(buf, 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR, escaped
		// for JSONP's sake.
		if c == '\u2028' || c == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\u202`...)
			buf = append(buf, hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(buf, s[start:]...)
}

const hexDigits = "0123456789abcdef"

// needsQuoting is slog's test for a text value that it quotes, with a first
// pass over the ASCII bytes it writes as they are.
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	i := 0
	for i < len(s) && plainText[s[i]] {
		i++
	}
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			// Anything except a backslash that would need quoting in a
			// JSON string, as well as space and '='.
			if b != '\\' && (b == ' ' || b == '=' || !plainJSON[b]) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// plainJSON holds the ASCII bytes a JSON string holds as they are (slog's
// and encoding/json's safeSet): all but the control characters, '"' and
// '\\'. Bytes from 0x80 are false (UTF-8 is checked).
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainText holds the ASCII bytes that do not make slog's text handler
// quote a value: plainJSON's and '\\', but not ' ' and '='.
var plainText = func() (t [256]bool) {
	t = plainJSON
	t['\\'] = true
	t[' '] = false
	t['='] = false
	return t
}()

// timeCache formats a record's time: the part down to the second is kept
// from the last record, whose second most records share. It is used with
// the Writer's mu held.
type timeCache struct {
	sec  int64
	loc  *time.Location
	ok   bool                                        // sec and loc are set and within slog's years
	head []byte                                      // 2006-01-02T15:04:05
	zone []byte                                      // Z07:00
	tmp  [len("2006-01-02T15:04:05Z07:00") + 16]byte // room to format them
}

// append appends the time attribute, "time":"<RFC 3339 with nanoseconds>"
// in JSON and time=<RFC 3339 with milliseconds> in text, as slog's handlers
// write it. It reports false for a year outside [0, 9999].
func (tc *timeCache) append(b []byte, json bool, t time.Time) ([]byte, bool) {
	sec, loc := t.Unix(), t.Location()
	if !tc.ok || sec != tc.sec || loc != tc.loc {
		if y := t.Year(); y < 0 || y >= 10000 {
			tc.ok = false
			return b, false
		}
		f := t.AppendFormat(tc.tmp[:0], "2006-01-02T15:04:05Z07:00")
		tc.head, tc.zone = f[:19], f[19:]
		tc.sec, tc.loc, tc.ok = sec, loc, true
	}
	ns := t.Nanosecond()
	if json {
		b = append(b, `"time":"`...)
		b = append(b, tc.head...)
		if ns != 0 {
			var d [10]byte
			d[0] = '.'
			for i, n := 9, ns; i > 0; i-- {
				d[i] = byte('0' + n%10)
				n /= 10
			}
			n := 10
			for d[n-1] == '0' {
				n--
			}
			b = append(b, d[:n]...)
		}
		b = append(b, tc.zone...)
		return append(b, '"'), true
	}
	ms := ns / int(time.Millisecond)
	b = append(b, "time="...)
	b = append(b, tc.head...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, tc.zone...), true
}
