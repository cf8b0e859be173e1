package templates

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/flosch/pongo2/v6"

	"github.com/hookhost/hookhost/templates/dict"
)

// Limits bound every render of an Env, in both syntaxes (scripts and
// package placeholders). A zero field takes its default; the package doc
// lists them.
type Limits struct {
	// Output caps the bytes one render writes. Default 16 MiB.
	Output int
	// String caps every string a filter, function or operator builds.
	// Default: Output. The printed size (JSON) of every list and dictionary
	// they build is capped too, at String or 16 MiB, whichever is larger.
	String int
	// Items caps the items of every list and dictionary a filter, function
	// or operator builds. Default 1,000,000.
	Items int
	// Memory caps the bytes of all the strings, lists and dictionaries one
	// render builds, counting those it drops again, each item and entry at
	// what it costs (see the package doc). Default 128 MiB.
	Memory int64
	// Loop caps the loop iterations and arrow-function calls of one render.
	// Default 1,000,000.
	Loop int64
	// Time caps the wall-clock time of one render. Default 2 s.
	Time time.Duration
}

// Default limits (see Limits) and cache size.
const (
	DefaultOutputLimit = 16 << 20
	DefaultItemLimit   = 1_000_000
	DefaultMemoryLimit = 128 << 20
	DefaultLoopLimit   = 1_000_000
	DefaultTimeLimit   = 2 * time.Second
	DefaultCacheSize   = 10_000
	// MaxRange is the largest number of items range() returns.
	MaxRange = 100_000
)

// maxArrowDepth bounds the nesting of arrow-function calls (each call of a
// nested arrow function is one level; templates nest them statically, so
// this only stops pathological templates).
const maxArrowDepth = 64

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	if l.Output <= 0 {
		l.Output = DefaultOutputLimit
	}
	if l.String <= 0 {
		l.String = l.Output
	}
	if l.Items <= 0 {
		l.Items = DefaultItemLimit
	}
	if l.Memory <= 0 {
		l.Memory = DefaultMemoryLimit
	}
	if l.Loop <= 0 {
		l.Loop = DefaultLoopLimit
	}
	if l.Time <= 0 {
		l.Time = DefaultTimeLimit
	}
	return l
}

// LimitError reports the limit a render ran into. The *Error that Render
// returns wraps it: use errors.As to tell a limit from other failures.
type LimitError struct {
	// Limit names the limit: "output", "string", "items", "value" (the
	// printed size of a list or dictionary), "memory", "loop", "time",
	// "nesting" or "canceled" (the render's context ended).
	Limit string
	// Max is the limit's value: bytes, items, iterations or levels (64 for
	// arrow-function calls, 20,000 for values); for
	// "time", nanoseconds. 0 for "canceled".
	Max int64
	// Cause is the context's error for "canceled".
	Cause error
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case "output":
		return fmt.Sprintf("template output limit exceeded: output longer than %d bytes", e.Max)
	case "string":
		return fmt.Sprintf("template string limit exceeded: string longer than %d bytes", e.Max)
	case "items":
		return fmt.Sprintf("template item limit exceeded: list or dictionary of more than %d items", e.Max)
	case "value":
		return fmt.Sprintf("template value limit exceeded: list or dictionary longer than %d bytes when printed", e.Max)
	case "memory":
		return fmt.Sprintf("template memory limit exceeded: more than %d bytes built", e.Max)
	case "loop":
		return fmt.Sprintf("template loop limit exceeded: more than %d loop iterations and arrow function calls", e.Max)
	case "time":
		return fmt.Sprintf("template time limit exceeded: render took longer than %v", time.Duration(e.Max))
	case "nesting":
		return fmt.Sprintf("template nesting limit exceeded: arrow functions or values nested more than %d deep", e.Max)
	case "canceled":
		if e.Cause != nil {
			return "template render canceled: " + e.Cause.Error()
		}
		return "template render canceled"
	}
	return fmt.Sprintf("template %s limit exceeded", e.Limit)
}

// Unwrap returns the context's error of a canceled render.
func (e *LimitError) Unwrap() error { return e.Cause }

// state is the state of one render: the limits pongo2 checks (with a
// pointer back to the state, for filters and functions), the output, and
// the bookkeeping of the size limits. States are pooled.
type state struct {
	lim    pongo2.Limits
	limits *Limits // the Env's
	ctx    context.Context
	out    []byte
	// first is the render's first write while it is its only one: a
	// template that prints one value (`{{ x|filter }}`) returns that
	// string as it is, without copying it through out.
	first string
	ops   uint32
	// prepaid is what the filter or function being called accounted for
	// before building its value (prepay): apply counts only the rest.
	prepaid int64
	// applied counts filter calls; encoded and encodedFrom are the last
	// json_encode's text and value: json_pretty, when it is the next
	// filter call on that text (applied is then encodedAt+1) and the value
	// round-trips, encodes the value again (prettyOfEncoded) instead of
	// decoding the text.
	applied     uint32
	encodedAt   uint32
	encoded     string
	encodedFrom any
	// pretty is what the last json_encode followed by json_pretty gave
	// (fJSONEncodePretty); its own json_pretty takes it.
	pretty prettyJSON
	// weights remembers the printed size of large lists and dictionaries
	// already measured, so that a value met again is not walked again.
	weights map[weightKey]measure
	// scratch is the buffer json_encode and json_pretty write into.
	scratch []byte
	// jsonMembers is json_pretty's scratch space for object members.
	jsonMembers []jsonMember
	// xml maps the dictionaries xml_decode and xml_xpath built to their
	// XML elements, for xml_tag, xml_attr(s), xml_xpath and xml_encode.
	xml map[*dict.Map]*xmlNode
}

// weightKey identifies a list (its items and length) or a dictionary.
type weightKey struct {
	p unsafe.Pointer
	n int
}

// reset prepares st for a render with limits l.
func (st *state) reset(l *Limits, ctx context.Context) {
	st.limits = l
	st.ctx = ctx
	st.out = st.out[:0]
	st.first = ""
	st.ops = 0
	st.prepaid = 0
	st.encoded, st.encodedFrom = "", nil
	st.pretty = prettyJSON{}
	clear(st.weights)
	clear(st.xml)
	st.lim = pongo2.Limits{
		Steps:     l.Loop,
		MaxString: l.String,
		MaxBytes:  l.Memory,
		MaxDepth:  maxArrowDepth,
		Deadline:  time.Now().Add(l.Time),
		State:     st,
	}
	if ctx != nil {
		st.lim.Done = ctx.Done()
	}
}

// newState returns a state for work outside a render (the exported Filter
// and Function), with the default limits.
func newState() *state {
	l := Limits{}.withDefaults()
	st := &state{}
	st.reset(&l, nil)
	return st
}

// stateOf returns the state of the render ctx belongs to.
func stateOf(ctx *pongo2.ExecutionContext) *state {
	if ctx != nil && ctx.Limits != nil {
		if st, ok := ctx.Limits.State.(*state); ok {
			return st
		}
	}
	return newState()
}

// fail records a limit error (the first one of the render wins) and
// returns the recorded error.
func (st *state) fail(limit string, max int64) error {
	return st.lim.Fail(&LimitError{Limit: limit, Max: max})
}

func (st *state) errString() error { return st.fail("string", int64(st.limits.String)) }

func (st *state) errItems() error { return st.fail("items", int64(st.limits.Items)) }

// wantString checks, before building it, that a string of n bytes is within
// the string limit (what is built is accounted to the memory budget after,
// by built).
func (st *state) wantString(n int64) error {
	if n > int64(st.limits.String) || n < 0 {
		return st.errString()
	}
	return nil
}

// wantItems checks, before building it, that a list or dictionary of n
// items is within the item limit.
func (st *state) wantItems(n int64) error {
	if n > int64(st.limits.Items) || n < 0 {
		return st.errItems()
	}
	return nil
}

// alloc accounts for n bytes built.
func (st *state) alloc(n int64) error {
	if err := st.lim.Alloc(n); err != nil {
		return st.limitError(err)
	}
	return nil
}

// prepay accounts for n bytes a filter or function is about to build,
// so that it fails before building them: apply then counts only what the
// value costs beyond them.
func (st *state) prepay(n int64) error {
	st.prepaid += n
	return st.alloc(n)
}

// tick is called before every filter and function call: every 64 calls,
// and before any call on a large value, it checks the deadline.
func (st *state) tick(size int) error {
	st.ops++
	if st.ops&63 == 0 || size > bigValue {
		if err := st.lim.Check(); err != nil {
			return st.limitError(err)
		}
	}
	return nil
}

// bigValue is the size (bytes or items) from which a filter or function
// call is assumed to be slow enough to check the deadline around it.
const bigValue = 4096

// sizeOf is a cheap measure of a value: the bytes of a string, the items of
// a list or dictionary.
func sizeOf(x any) int {
	switch t := x.(type) {
	case string:
		return len(t)
	case []any:
		return len(t)
	case *dict.Map:
		return t.Len()
	case *prettyJSON:
		return t.compact // json_encode's text, which it stands for
	}
	return 0
}

// Bytes accounted for what a render builds, as measured (TestItemCosts).
// A list costs a slot (slotBytes) per item; a filter that makes new items
// (split's pieces, decoded numbers) prepays itemBytes for each, the slot
// and the box of its string or number. A dictionary entry costs its key
// and value slots, the box, its key's text and its slot in the index (a
// map); a list or dictionary nested in a value a filter builds, its header
// and its slot; an arrow function call, the values and the scope it builds.
const (
	slotBytes      = 16
	itemBytes      = 32
	entryBytes     = 128
	containerBytes = 128
	callBytes      = 80
)

// built checks a value a filter, function or operator returned: a string
// must be within the string limit, a list or dictionary within the item
// limit and, printed, within the string limit. What is new is accounted to
// the memory budget; a result that shares the memory of an input (a trimmed
// string, a list returned as it is) is not.
func (st *state) built(out, in any, args []any) error { return st.builtPaid(out, in, args, 0) }

// builtPaid is built for a value paid bytes of which were prepaid.
func (st *state) builtPaid(out, in any, args []any, paid int64) error {
	cost, err := st.cost(out, in, args)
	if err != nil || cost <= paid {
		return err
	}
	return st.alloc(cost - paid)
}

// cost checks out as built describes and returns the bytes it accounts
// for.
func (st *state) cost(out, in any, args []any) (int64, error) {
	switch t := out.(type) {
	case string:
		if len(t) > st.limits.String {
			return 0, st.errString()
		}
		if len(t) == 0 || sharesString(t, in) || sharesString(t, args...) {
			return 0, nil
		}
		return int64(len(t)), nil
	case []any:
		if len(t) > st.limits.Items {
			return 0, st.errItems()
		}
		if len(t) == 0 || sharesList(t, in) || sharesList(t, args...) {
			return 0, nil
		}
		return int64(len(t)) * slotBytes, st.checkWeight(t)
	case *dict.Map:
		if t.Len() > st.limits.Items {
			return 0, st.errItems()
		}
		if m, ok := in.(*dict.Map); ok && m == t {
			return 0, nil
		}
		for _, a := range args {
			if m, ok := a.(*dict.Map); ok && m == t {
				return 0, nil
			}
		}
		return int64(t.Len()) * entryBytes, st.checkWeight(t)
	}
	return 0, nil
}

// sharesString reports whether s lies in the memory of one of the inputs.
func sharesString(s string, inputs ...any) bool {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	for _, in := range inputs {
		if x, ok := in.(string); ok && len(x) > 0 {
			b := uintptr(unsafe.Pointer(unsafe.StringData(x)))
			if p >= b && p+uintptr(len(s)) <= b+uintptr(len(x)) {
				return true
			}
		}
	}
	return false
}

// sharesList reports whether l is one of the inputs or a part of one.
func sharesList(l []any, inputs ...any) bool {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(l)))
	for _, in := range inputs {
		if x, ok := in.([]any); ok && len(x) > 0 {
			b := uintptr(unsafe.Pointer(unsafe.SliceData(x)))
			if p >= b && p+uintptr(len(l))*slotBytes <= b+uintptr(len(x))*slotBytes {
				return true
			}
		}
	}
	return false
}

// weightCap is the largest printed size of a list or dictionary.
func (l *Limits) weightCap() int64 { return int64(max(l.String, DefaultOutputLimit)) }

// checkWeight checks that v, printed as JSON, is within the value limit,
// and that it nests at most maxValueDepth deep.
func (st *state) checkWeight(v any) error {
	max := st.limits.weightCap()
	w, d := st.weight(v, max, 0)
	if d > maxValueDepth {
		return st.fail("nesting", maxValueDepth)
	}
	if w > max {
		return st.fail("value", max)
	}
	return nil
}

// maxValueDepth bounds the nesting of the lists and dictionaries a render
// builds (JSON data may nest 10,000 deep), so that printing, comparing or
// copying them cannot exhaust the stack.
const maxValueDepth = 20_000

// measure is the printed size and the nesting depth of a value.
type measure struct {
	w int64
	d int
}

// weight returns the printed size of v (about its JSON length) and its
// nesting depth; the walk stops, returning a size above budget or a depth
// above maxValueDepth, as soon as either is known to be exceeded. level is
// the depth of v in the value being measured.
func (st *state) weight(v any, budget int64, level int) (int64, int) {
	if level > maxValueDepth {
		return budget + 1, level
	}
	var key weightKey
	var w int64
	var d int
	switch t := v.(type) {
	case string:
		return int64(len(t)) + 2, 0
	case []any:
		if len(t) == 0 {
			return 2, 1
		}
		key = weightKey{unsafe.Pointer(unsafe.SliceData(t)), len(t)}
		if m, ok := st.weights[key]; ok {
			return m.w, m.d
		}
		w = 1
		for _, x := range t {
			xw, xd := st.weight(x, budget-w, level+1)
			w += xw + 1
			d = max(d, xd+1)
			if w > budget || level+d > maxValueDepth {
				return w, d
			}
		}
	case *dict.Map:
		if t.Len() == 0 {
			return 2, 1
		}
		key = weightKey{unsafe.Pointer(t), -1}
		if m, ok := st.weights[key]; ok {
			return m.w, m.d
		}
		w = 1
		t.Range(func(k string, x any) bool {
			xw, xd := st.weight(x, budget-w, level+1)
			w += int64(len(k)) + 4 + xw
			d = max(d, xd+1)
			return w <= budget && level+d <= maxValueDepth
		})
		if w > budget || level+d > maxValueDepth {
			return w, d
		}
	case int64:
		w = 1
		for n := t; n >= 10 || n <= -10; n /= 10 {
			w++
		}
		return w, 0
	case nil, bool:
		return 4, 0
	default:
		return 8, 0
	}
	if w >= bigValue || d >= 64 {
		if st.weights == nil {
			st.weights = make(map[weightKey]measure)
		}
		st.weights[key] = measure{w, d}
	}
	return w, d
}

// limitError converts an error recorded in the render's pongo2.Limits into
// a *LimitError naming the Env's limit.
func (st *state) limitError(err error) error {
	var le *LimitError
	if errors.As(err, &le) {
		return le
	}
	l := st.limits
	switch {
	case errors.Is(err, pongo2.ErrStepLimit):
		le = &LimitError{Limit: "loop", Max: l.Loop}
	case errors.Is(err, pongo2.ErrStringLimit):
		le = &LimitError{Limit: "string", Max: int64(l.String)}
	case errors.Is(err, pongo2.ErrMemoryLimit):
		le = &LimitError{Limit: "memory", Max: l.Memory}
	case errors.Is(err, pongo2.ErrDepthLimit):
		le = &LimitError{Limit: "nesting", Max: maxArrowDepth}
	case errors.Is(err, pongo2.ErrTimeLimit):
		le = &LimitError{Limit: "time", Max: int64(l.Time)}
	case errors.Is(err, pongo2.ErrCanceled):
		le = &LimitError{Limit: "canceled"}
		if st.ctx != nil {
			le.Cause = st.ctx.Err()
		}
	default:
		return err
	}
	st.lim.Err = le
	return le
}
