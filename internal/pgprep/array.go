package pgprep

import (
	"encoding/binary"
	"time"
)

// Encoded is a parameter already encoded in PostgreSQL's binary format
// for the statement's parameter type, sent as it is (nil: NULL).
type Encoded []byte

// Arrays encodes one-dimensional arrays in PostgreSQL's binary format
// (array_recv's), one after the other into one buffer, each element
// appended where it goes: pgx boxes every element of an array it encodes
// into an interface, and a []byte one through reflection.
// Its elements are never NULL.
type Arrays struct {
	buf []byte
	at  int // where the array begun last starts
	n   int32
}

// arrayHeader is the bytes of a one-dimensional array before its elements:
// the number of dimensions, whether it holds NULLs, the element type, and
// the dimension's length and lower bound.
const arrayHeader = 5 * 4

// ArraysSize is the bytes of arrays of elems elements in all, holding
// data bytes of element values in all.
func ArraysSize(arrays, elems, data int) int { return arrays*arrayHeader + elems*4 + data }

// NewArrays returns Arrays encoding into a buffer of size bytes
// (ArraysSize), grown if need be.
func NewArrays(size int) *Arrays { return &Arrays{buf: make([]byte, 0, size)} }

// Begin begins an array of elements of the type elemOID (pgtype's OIDs).
func (a *Arrays) Begin(elemOID uint32) {
	a.at, a.n = len(a.buf), 0
	a.buf = binary.BigEndian.AppendUint32(a.buf, 1) // dimensions
	a.buf = binary.BigEndian.AppendUint32(a.buf, 0) // no NULLs
	a.buf = binary.BigEndian.AppendUint32(a.buf, elemOID)
	a.buf = binary.BigEndian.AppendUint32(a.buf, 0) // length: End says
	a.buf = binary.BigEndian.AppendUint32(a.buf, 1) // lower bound
}

// End ends the array begun last and returns it, to be given as the
// parameter of its array type.
func (a *Arrays) End() Encoded {
	b := a.buf[a.at:len(a.buf):len(a.buf)]
	binary.BigEndian.PutUint32(b[12:], uint32(a.n))
	return b
}

// element appends an element's length and counts it.
func (a *Arrays) element(n int) {
	a.n++
	a.buf = binary.BigEndian.AppendUint32(a.buf, uint32(int32(n)))
}

// Text appends a text (or bytea) element.
func (a *Arrays) Text(s string) {
	a.element(len(s))
	a.buf = append(a.buf, s...)
}

// Int8 appends a bigint element.
func (a *Arrays) Int8(v int64) {
	a.element(8)
	a.buf = binary.BigEndian.AppendUint64(a.buf, uint64(v))
}

// Int4 appends an integer element.
func (a *Arrays) Int4(v int32) {
	a.element(4)
	a.buf = binary.BigEndian.AppendUint32(a.buf, uint32(v))
}

// y2k is PostgreSQL's epoch, in Unix microseconds.
const y2k = 946684800 * 1000000

// Timestamptz appends a timestamptz element: t to the microsecond
// (truncated), as pgx encodes a time.Time.
func (a *Arrays) Timestamptz(t time.Time) {
	a.Int8(t.Unix()*1000000 + int64(t.Nanosecond())/1000 - y2k)
}
