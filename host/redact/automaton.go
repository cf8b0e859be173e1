package redact

import (
	"slices"
	"strings"
	"unsafe"
)

// automaton replaces a set of forms with Marker as strings.Replacer does
// with the forms given longest first (leftmost match first, the longest
// one at that position, matches not overlapping), in time linear in the
// text whatever the forms: strings.Replacer's generic search costs, at
// every position of the text, the length of the longest form prefix found
// there, which a caller chooses (a Bearer token of 7,999 "a"s and a "b"
// against a body of "a"s).
//
// It is an Aho–Corasick automaton over the reversed forms, run over the
// text from its end to its start: after reading text[s:] backwards its
// state's out is the length of the longest form starting at s. Those
// lengths, for a chunk of the text at a time, then drive a forward pass
// that replaces the longest form at each position and skips past it.
//
// Its nodes are flat slices, about 13 bytes a node, numbered breadth
// first from the root (0), the children of a node consecutive and ordered
// by their byte; there are at most as many nodes as the forms have bytes,
// and the root, and no node points anywhere but into these slices.
type automaton struct {
	// label is the byte a node is reached by from its parent.
	label []byte
	// first[v] is node v's first child: its children are
	// first[v]..first[v+1]-1 (first has a node more than the others).
	first []int32
	// fail is the node of the longest proper suffix of a node's string
	// (a form's end read backwards) that is a node too.
	fail []int32
	// out is the length of the longest form that ends a node's string:
	// read backwards, the longest form the text starts with at the
	// position reached; 0 for none.
	out []int32
	// root is the root's child for each byte, 0 for none: the search
	// is most often at the root.
	root [256]int32
	// maxLen is the longest form's length.
	maxLen int
	// last is the root's only child's byte (the last byte of every
	// form), or -1 when the root has several: the scan then finds the
	// next place a form may start with strings.LastIndexByte.
	last int
}

// chunkMin is the fewest positions of a text the automaton finds its
// lengths for at a time: the lengths of that many take a buffer on the
// stack. With longer forms a chunk is twice the longest, so that reading
// up to a longest form past each chunk to know its lengths costs at most
// half as much again as the chunk.
const chunkMin = 1024

// newAutomaton returns the automaton of forms: at least one, distinct,
// none empty.
func newAutomaton(forms []string) *automaton {
	a := &automaton{}
	perm := make([]int32, len(forms))
	for i, f := range forms {
		a.maxLen = max(a.maxLen, len(f))
		perm[i] = int32(i)
	}
	// The first walk counts the nodes, the second makes them: the
	// slices take no more than they hold.
	n := a.walk(forms, slices.Clone(perm), true)
	a.label = make([]byte, n)
	a.first = make([]int32, n+1)
	a.fail = make([]int32, n)
	a.out = make([]int32, n)
	a.walk(forms, perm, false)
	a.last = -1
	if a.first[1]-a.first[0] == 1 {
		a.last = int(a.label[a.first[0]])
	}
	return a
}

// walk goes over the trie of the reversed forms breadth first, a depth at
// a time, and returns its number of nodes; unless count, it sets the
// nodes' fields. perm holds the indexes of forms, and is reordered: at
// depth d, the forms through the depth's nodes, those through each node
// consecutive, in the nodes' order; bounds[j] is where those of the
// depth's j-th node start.
func (a *automaton) walk(forms []string, perm []int32, count bool) int {
	var (
		bounds = []int32{0, int32(len(perm))}
		next   []int32
		v      int32 // the node visited
		nodes  int32 = 1
		// The fields, in locals that stores to them do not reload.
		label, first, fail, out = a.label, a.first, a.fail, a.out
	)
	for d := 0; len(bounds) > 1; d++ {
		next = append(next[:0], 0)
		w := int32(0) // perm[:w] is the next depth's
		for j := 0; j+1 < len(bounds); j, v = j+1, v+1 {
			seg := perm[bounds[j]:bounds[j+1]]
			// Most nodes are on one form's path, or on a few that
			// share it: sort the forms by their next byte only when
			// they do not all go on with the same one.
			c0 := revByte(forms[seg[0]], d)
			for _, i := range seg[1:] {
				if revByte(forms[i], d) != c0 {
					slices.SortFunc(seg, func(x, y int32) int {
						return revByte(forms[x], d) - revByte(forms[y], d)
					})
					c0 = -2 // not one child of all
					break
				}
			}
			if count && len(seg) == 1 {
				nodes += int32(len(forms[seg[0]]) - d) // one form's path on
				continue
			}
			k := 0
			if len(forms[seg[0]]) == d {
				k = 1 // a form ends here
			}
			if !count {
				first[v] = nodes
				switch {
				case k == 1:
					out[v] = int32(d)
				case v != 0:
					out[v] = out[fail[v]]
				}
			}
			for k < len(seg) {
				c, e := byte(c0), len(seg)
				if c0 < 0 {
					c, e = byte(revByte(forms[seg[k]], d)), k+1
					for e < len(seg) && revByte(forms[seg[e]], d) == int(c) {
						e++
					}
				}
				if !count {
					label[nodes] = c
					fail[nodes] = a.failOf(v, c)
					if v == 0 {
						a.root[c] = nodes
					}
				}
				nodes++
				if at := bounds[j] + int32(k); w != at { // a form ended before
					copy(perm[w:], perm[at:at+int32(e-k)])
				}
				w += int32(e - k)
				next = append(next, w)
				k = e
			}
			if !count {
				first[v+1] = nodes
			}
		}
		perm = perm[:w]
		bounds, next = next, bounds
	}
	return int(nodes)
}

// revByte is f's d-th byte from its end, or -1 past its start.
func revByte(f string, d int) int {
	if d >= len(f) {
		return -1
	}
	return int(f[len(f)-1-d])
}

// failOf is the fail node of v's child by c: the deepest child by c of a
// node down v's fail links, or the root. Those nodes are shallower than
// v, and so have their children already (walk).
func (a *automaton) failOf(v int32, c byte) int32 {
	if v == 0 {
		return 0
	}
	for u := a.fail[v]; ; u = a.fail[u] {
		if w := a.child(u, c); w != 0 {
			return w
		}
		if u == 0 {
			return 0
		}
	}
}

// child is v's child by c, or 0 (the root is nobody's child).
func (a *automaton) child(v int32, c byte) int32 {
	if v == 0 {
		return a.root[c]
	}
	lo, hi := a.first[v], a.first[v+1]
	for lo < hi {
		m := int32(uint32(lo+hi) >> 1)
		switch l := a.label[m]; {
		case l == c:
			return m
		case l < c:
			lo = m + 1
		default:
			hi = m
		}
	}
	return 0
}

// lengths finds the length of the longest form starting at s[i] for i
// from from to to-1, reading s backwards from a longest form past to (or
// its end), and returns the steps taken: moves down the automaton and fail
// links followed. A step down adds a byte to the state's depth and a fail
// link takes at least one away, so there are at most twice as many steps
// as bytes read. The lengths go to (*ls)[i-from], the others left 0:
// *ls is cleared first, or made (to-from long) at the first length found
// when it is nil, so that a text without a form takes no buffer. At the
// root, the bytes that take the search nowhere (no form ends with them)
// are skipped without a step.
func (a *automaton) lengths(s string, from, to int, ls *[]int32) int {
	var (
		v     int32
		steps int
	)
	if *ls != nil {
		clear((*ls)[:to-from])
	}
	for i := min(len(s), to+a.maxLen-1) - 1; i >= from; i-- {
		if v == 0 {
			if i = a.skip(s, from, i); i < from {
				break
			}
		}
		c := s[i]
		for {
			steps++
			if w := a.child(v, c); w != 0 || v == 0 {
				v = w
				break
			}
			v = a.fail[v]
		}
		if n := a.out[v]; n != 0 && i < to {
			if *ls == nil {
				*ls = make([]int32, to-from)
			}
			(*ls)[i-from] = n
		}
	}
	return steps
}

// skip returns the last position from from to i whose byte the root has
// a child by (where a form may end, read backwards), or from-1.
func (a *automaton) skip(s string, from, i int) int {
	if a.last >= 0 {
		return from + strings.LastIndexByte(s[from:i+1], byte(a.last))
	}
	for i >= from && a.root[s[i]] == 0 {
		i--
	}
	return i
}

// replace returns s with its forms replaced, s itself when it holds none,
// and the automaton's steps (lengths): at most twice the bytes read, which
// are len(s) and up to a longest form more for each chunk of at least
// twice that many, so at most 3*len(s) + 2*maxLen steps.
func (a *automaton) replace(s string) (string, int) {
	var (
		buf   [chunkMin]int32
		ls    []int32 // nil until a chunk holds a form, unless buf does
		out   []byte
		done  int // s[:done] is in out
		steps int
	)
	chunk := max(chunkMin, 2*a.maxLen)
	if min(chunk, len(s)) <= chunkMin {
		ls = buf[:]
	}
	for from := 0; from < len(s); {
		to := min(len(s), from+chunk)
		steps += a.lengths(s, from, to, &ls)
		i := from
		for ls != nil && i < to {
			n := int(ls[i-from])
			if n == 0 {
				i++
				continue
			}
			if out == nil {
				out = make([]byte, 0, len(s)+len(Marker))
			}
			out = append(out, s[done:i]...)
			out = append(out, Marker...)
			i += n
			done = i
		}
		from = max(i, to) // past to when a form ran over the chunk's end
	}
	if out == nil {
		return s, steps
	}
	out = append(out, s[done:]...)
	return unsafe.String(unsafe.SliceData(out), len(out)), steps // out is this string's alone
}
