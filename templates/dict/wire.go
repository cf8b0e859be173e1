package dict

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// The wire form is a compact binary encoding of a value, for values that
// cross a process boundary (an extension's inputs and return dictionary):
// cheaper to write and to read than JSON, and with strings as they are.
//
// Each value is a tag byte and its content:
//
//	'n'                     null
//	'f', 't'                false, true
//	'i' varint              an int64 (zig-zag, as encoding/binary.AppendVarint)
//	'd' 8 bytes             a float64 (IEEE 754 bits, little-endian)
//	's' uvarint n, n bytes  a string
//	'l' uvarint n, n values a list
//	'm' uvarint n, n × (uvarint len, key bytes, value)
//	                        a Map, keys in order
//
// WireVersion names this form.

// WireVersion names the wire form of AppendWire and DecodeWire.
const WireVersion = "dict/1"

// Wire tags.
const (
	wireNull   = 'n'
	wireFalse  = 'f'
	wireTrue   = 't'
	wireInt    = 'i'
	wireFloat  = 'd'
	wireString = 's'
	wireList   = 'l'
	wireMap    = 'm'
)

// AppendWire appends the wire form of v to b, with the values a trip
// through JSON (Encode, then DecodeJSON) would give, so that either way
// the other side reads the same: a string or key that is not valid UTF-8
// has each invalid byte replaced by U+FFFD, a float64 that Encode prints as
// an integer (integral and below 1e15 in magnitude; NaN and infinities
// print as 0) becomes that int64, and values of other Go types go through
// FromGo. With rawBody, a string under the top-level key "body" of a Map
// keeps its bytes (the body of a webhook's answer may be binary).
func AppendWire(b []byte, v any, rawBody bool) []byte {
	if m, ok := v.(*Map); ok && rawBody {
		b = append(b, wireMap)
		b = binary.AppendUvarint(b, uint64(m.Len()))
		for i, k := range m.Keys() {
			b = appendWireString(b, k)
			if s, ok := m.vals[i].(string); ok && k == "body" {
				b = append(b, wireString)
				b = binary.AppendUvarint(b, uint64(len(s)))
				b = append(b, s...)
				continue
			}
			b = appendWire(b, m.vals[i])
		}
		return b
	}
	return appendWire(b, v)
}

// WireSize is the length of v's wire form at most, when v holds only the
// types of the model and valid UTF-8 (a string that is not grows by
// its replacement characters), for the capacity of a buffer to append
// it to.
func WireSize(v any) int {
	switch t := v.(type) {
	case nil, bool:
		return 1
	case string:
		return 1 + uvarintLen(len(t)) + len(t)
	case *Map:
		n := 1 + uvarintLen(t.Len())
		if t != nil {
			for i, k := range t.keys {
				n += uvarintLen(len(k)) + len(k) + WireSize(t.vals[i])
			}
		}
		return n
	case []any:
		n := 1 + uvarintLen(len(t))
		for _, e := range t {
			n += WireSize(e)
		}
		return n
	}
	return 1 + binary.MaxVarintLen64
}

// uvarintLen is the length of n as a uvarint.
func uvarintLen(n int) int {
	return (bits.Len64(uint64(n)|1) + 6) / 7
}

func appendWire(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, wireNull)
	case bool:
		if t {
			return append(b, wireTrue)
		}
		return append(b, wireFalse)
	case string:
		return appendWireString(append(b, wireString), t)
	case int64:
		return binary.AppendVarint(append(b, wireInt), t)
	case int:
		return binary.AppendVarint(append(b, wireInt), int64(t))
	case float64:
		// As FormatFloat prints it, then DecodeJSON reads it.
		switch {
		case math.IsInf(t, 0) || math.IsNaN(t):
			return binary.AppendVarint(append(b, wireInt), 0)
		case t == math.Trunc(t) && math.Abs(t) < 1e15:
			return binary.AppendVarint(append(b, wireInt), int64(t))
		}
		return binary.LittleEndian.AppendUint64(append(b, wireFloat), math.Float64bits(t))
	case json.Number:
		// Encode writes its text, which DecodeJSON reads as any number.
		n, err := DecodeJSON([]byte(t.String()))
		switch n := n.(type) {
		case int64:
			return binary.AppendVarint(append(b, wireInt), n)
		case float64:
			if err == nil {
				return binary.LittleEndian.AppendUint64(append(b, wireFloat), math.Float64bits(n))
			}
		}
		return append(b, wireNull)
	case *Map:
		b = append(b, wireMap)
		b = binary.AppendUvarint(b, uint64(t.Len()))
		if t == nil {
			return b
		}
		for i, k := range t.keys {
			b = appendWireString(b, k)
			b = appendWire(b, t.vals[i])
		}
		return b
	case []any:
		b = append(b, wireList)
		b = binary.AppendUvarint(b, uint64(len(t)))
		for _, e := range t {
			b = appendWire(b, e)
		}
		return b
	default:
		return appendWire(b, FromGo(v))
	}
}

// appendWireString appends s's length and bytes, each byte of s that is
// not valid UTF-8 replaced by U+FFFD (as Encode's \ufffd).
func appendWireString(b []byte, s string) []byte {
	if utf8.ValidString(s) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	valid := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			valid = utf8.AppendRune(valid, utf8.RuneError)
		} else {
			valid = append(valid, s[i:i+size]...)
		}
		i += size
	}
	b = binary.AppendUvarint(b, uint64(len(valid)))
	return append(b, valid...)
}

// errWire is a wire form that is cut short or malformed.
var errWire = errors.New("dict: malformed wire form")

// DecodeWire decodes the wire form of AppendWire. As with DecodeJSON,
// strings share the memory of one copy of b.
func DecodeWire(b []byte) (any, error) {
	return decodeWire(string(b))
}

// DecodeWireShared is DecodeWire without the copy of b: the strings it
// returns share b's memory, which must not change afterwards (b is the
// caller's own copy of a message, say).
func DecodeWireShared(b []byte) (any, error) {
	return decodeWire(unsafe.String(unsafe.SliceData(b), len(b)))
}

func decodeWire(s string) (any, error) {
	d := wireDecoder{s: s}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.i != len(d.s) {
		return nil, fmt.Errorf("%w: %d bytes after the value", errWire, len(d.s)-d.i)
	}
	return v, nil
}

type wireDecoder struct {
	s string
	i int
	// strs boxes the strings decoded (see Strings).
	strs Strings
}

func (d *wireDecoder) uvarint() (uint64, error) {
	var x uint64
	var shift uint
	for j := 0; j < binary.MaxVarintLen64; j++ {
		if d.i >= len(d.s) {
			return 0, errWire
		}
		c := d.s[d.i]
		d.i++
		if c < 0x80 {
			if j == binary.MaxVarintLen64-1 && c > 1 {
				return 0, errWire
			}
			return x | uint64(c)<<shift, nil
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, errWire
}

// count reads a length, which cannot exceed the bytes left (each item,
// key or byte takes one at least).
func (d *wireDecoder) count() (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.s)-d.i) {
		return 0, errWire
	}
	return int(n), nil
}

func (d *wireDecoder) str() (string, error) {
	// Most strings (keys, header values) are shorter than 128 bytes: a
	// length of one byte, read here rather than through count and
	// uvarint, with the same check (it cannot exceed the bytes left).
	if d.i < len(d.s) {
		if n := int(d.s[d.i]); n < 0x80 && n < len(d.s)-d.i {
			s := d.s[d.i+1 : d.i+1+n]
			d.i += 1 + n
			return s, nil
		}
	}
	n, err := d.count()
	if err != nil {
		return "", err
	}
	s := d.s[d.i : d.i+n]
	d.i += n
	return s, nil
}

func (d *wireDecoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deeply", errWire)
	}
	if d.i >= len(d.s) {
		return nil, errWire
	}
	tag := d.s[d.i]
	d.i++
	switch tag {
	case wireNull:
		return nil, nil
	case wireFalse:
		return false, nil
	case wireTrue:
		return true, nil
	case wireInt:
		u, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		// zig-zag, as binary.Varint
		x := int64(u >> 1)
		if u&1 != 0 {
			x = ^x
		}
		return x, nil
	case wireFloat:
		if len(d.s)-d.i < 8 {
			return nil, errWire
		}
		bits := binary.LittleEndian.Uint64([]byte(d.s[d.i : d.i+8]))
		d.i += 8
		return math.Float64frombits(bits), nil
	case wireString:
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return d.strs.Box(s), nil
	case wireList:
		n, err := d.count()
		if err != nil {
			return nil, err
		}
		l := make([]any, n)
		for j := range l {
			if l[j], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return l, nil
	case wireMap:
		n, err := d.count()
		if err != nil {
			return nil, err
		}
		m := New(n)
		var seen uint64 // keyBit of the keys so far
		for range n {
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if bit := keyBit(k); seen&bit == 0 && m.idx == nil {
				// Not a key seen before: no need to look for it (a map of
				// the wire form has no key twice, unless forged).
				seen |= bit
				m.add(k, v)
			} else {
				seen |= bit
				m.Set(k, v)
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: unknown tag %q", errWire, tag)
}

// keyBit is one of 64 bits by k's length and first and last bytes: keys
// with different bits differ.
func keyBit(k string) uint64 {
	h := uint(len(k))
	if len(k) > 0 {
		h = h*31 + uint(k[0])*7 + uint(k[len(k)-1])
	}
	return 1 << (h & 63)
}
