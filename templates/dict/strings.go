package dict

import "unsafe"

// Strings makes interface values of type string without an allocation
// each. Storing a string in an any copies its 16-byte header to the heap
// (runtime.convTstring, one allocation per string): most of the
// allocations of a webhook's inputs, on the server that builds them and
// in the extension that decodes them. Strings keeps the headers in chunks
// instead, and each value points at its header, as convTstring's would at
// its own copy. A chunk is never appended to past its capacity, so a
// boxed header never moves, and nothing writes to it once boxed (an any's
// value is immutable). The cost: one string kept (say stored by an
// automation) keeps its whole chunk alive, at most maxStrings headers.
//
// The zero Strings is ready to use; it is not safe for concurrent use.
type Strings struct {
	chunk []string
}

// String chunks: the first holds firstStrings headers, each next one
// twice the last, up to maxStrings. A webhook's inputs (method, path,
// client IP, headers and parameters) fit in the first.
const (
	firstStrings = 16
	maxStrings   = 256
)

// Box returns s as an any holding a string, equal to any(s) in every
// way (==, type switches, reflect).
func (b *Strings) Box(s string) any {
	if s == "" {
		return "" // Go converts it without an allocation either
	}
	if len(b.chunk) == cap(b.chunk) {
		b.chunk = make([]string, 0, min(max(2*cap(b.chunk), firstStrings), maxStrings))
	}
	b.chunk = append(b.chunk, s)
	return stringAt(&b.chunk[len(b.chunk)-1])
}

// stringAt is the any of type string whose data word is p: p must not
// change afterwards. An empty interface is a type word, then a data word
// (internal/abi.EmptyInterface), a layout reflect and the compiler rely
// on; TestStrings checks it. The type word is taken from a string
// converted here, so no package state holds it.
func stringAt(p *string) any {
	v := any("")
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(p)
	return v
}
