package templates

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/hookhost/hookhost/templates/dict"
)

// Twig's array filters with PHP's array semantics. A PHP array's keys are
// integers or text, and text that is an integer written the canonical way
// ("5") is the integer: in the dict model a key is always text, and a
// canonical integer key is PHP's integer key (intKey, keyValue). A
// dictionary whose keys are 0, 1, ... n-1 in order is a list (phpArray).
// So sort, filter and slice(preserve_keys) keep the keys of the items, and
// merge, slice and reverse renumber the integer keys, as PHP does: {{ [3, 1,
// 2]|sort|json_encode }} is {"1":1,"2":2,"0":3}.

// notArray is Twig's RuntimeError for a filter that needs an array.
func notArray(x any) error {
	return fmt.Errorf("expects a list or dictionary, got %s", dict.TypeName(x))
}

// arrayKeys lists the PHP keys of a list or dictionary.
func arrayKeys(x any) []string {
	switch t := x.(type) {
	case []any:
		keys := make([]string, len(t))
		for i := range t {
			keys[i] = strconv.Itoa(i)
		}
		return keys
	case *dict.Map:
		return t.Keys()
	}
	return nil
}

// fKeys is PHP's array_keys: integer keys as numbers.
func fKeys(in any, _ ...any) (any, error) {
	switch t := in.(type) {
	case []any:
		l := make([]any, len(t))
		for i := range t {
			l[i] = int64(i)
		}
		return l, nil
	case *dict.Map:
		l := make([]any, t.Len())
		for i, k := range t.Keys() {
			l[i] = keyValue(k)
		}
		return l, nil
	}
	return []any{}, nil
}

// appender builds a PHP array item by item.
type appender struct {
	m    *dict.Map
	next int64
}

func newAppender(n int) *appender { return &appender{m: dict.New(n)} }

// add sets k to v; renumber appends integer keys instead (array_merge,
// array_slice, array_reverse without preserve_keys).
func (a *appender) add(k string, v any, renumber bool) {
	if i, ok := dict.PHPIntKey(k); ok {
		if renumber {
			a.m.Set(strconv.FormatInt(a.next, 10), v)
			a.next++
			return
		}
		if i >= a.next {
			a.next = i + 1
		}
	}
	a.m.Set(k, v)
}

func (a *appender) push(v any) {
	a.m.Set(strconv.FormatInt(a.next, 10), v)
	a.next++
}

func (a *appender) result() any { return phpArray(a.m) }

// fSlice is slice(start, length, preserve_keys): PHP's array_slice on
// lists and dictionaries, mb_substr on text.
func fSlice(in any, args ...any) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("the start argument is required")
	}
	start := toInt(args[0])
	var length *int64
	if len(args) > 1 && args[1] != nil {
		l := toInt(args[1])
		length = &l
	}
	preserve := truthy(arg(args, 2, false))
	if !isIterable(in) {
		return mbSubstr(toStr(in), start, length), nil
	}
	n := int64(sizeOf(in))
	off := start
	if off > n {
		return []any{}, nil
	}
	if off < 0 {
		off = max(n+off, 0)
	}
	cnt := n - off
	if length != nil {
		if *length < 0 {
			cnt = n - off + *length
		} else if *length < cnt {
			cnt = *length
		}
	}
	if cnt <= 0 {
		return []any{}, nil
	}
	if l, ok := in.([]any); ok && (!preserve || off == 0) {
		return slices.Clone(l[off : off+cnt]), nil
	}
	keys := arrayKeys(in)[off : off+cnt]
	a := newAppender(int(cnt))
	for _, k := range keys {
		v, _ := itemAt(in, k)
		a.add(k, v, !preserve)
	}
	return a.result(), nil
}

// mbSubstr is mb_substr(s, start, length) in characters.
func mbSubstr(s string, start int64, length *int64) string {
	n := int64(utf8.RuneCountInString(s))
	if start < 0 {
		start = max(n+start, 0)
	}
	if start > n {
		return ""
	}
	end := n
	if length != nil {
		if *length < 0 {
			end = n + *length
		} else if start+*length < n {
			end = start + *length
		}
	}
	if end <= start {
		return ""
	}
	if int64(len(s)) == n {
		return s[start:end]
	}
	r := []rune(s)
	return string(r[start:end])
}

// fReverse is reverse(preserve_keys): PHP's array_reverse on arrays, the
// characters of text in reverse order.
func fReverse(in any, args ...any) (any, error) {
	preserve := truthy(arg(args, 0, false))
	switch t := in.(type) {
	case []any:
		if !preserve {
			out := slices.Clone(t)
			slices.Reverse(out)
			return out, nil
		}
	case *dict.Map:
	case nil:
		return "", nil
	default:
		r := []rune(toStr(in))
		slices.Reverse(r)
		return string(r), nil
	}
	keys := arrayKeys(in)
	a := newAppender(len(keys))
	for i := len(keys) - 1; i >= 0; i-- {
		v, _ := itemAt(in, keys[i])
		a.add(keys[i], v, !preserve)
	}
	return a.result(), nil
}

// sortKeys sorts the items of an array by cmp of their values, stably
// (PHP 8's sort is stable), and builds the array in that order, keeping
// their keys. It prepays the array and its sorting before building them.
func sortKeys(st *state, in any, cmp func(a, b any) int) (any, error) {
	keys, vals := arrayItems(in)
	if err := st.prepay(int64(len(vals)) * (entryBytes + 8)); err != nil {
		return nil, err
	}
	order := make([]int, len(vals))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp(vals[a], vals[b]) })
	return pick(keys, vals, order), nil
}

// arrayItems returns the keys and the values of a list or dictionary, as
// they are stored: keys is nil for a list (the key of item i is i).
func arrayItems(x any) (keys []string, vals []any) {
	switch t := x.(type) {
	case []any:
		return nil, t
	case *dict.Map:
		return t.Keys(), t.Values()
	}
	return nil, nil
}

// pick builds the PHP array of the items at positions of an array's keys
// and values (arrayItems), in that order, keeping their keys.
func pick(keys []string, vals []any, positions []int) any {
	out := dict.New(len(positions))
	for _, i := range positions {
		if keys == nil {
			out.Set(strconv.Itoa(i), vals[i])
		} else {
			out.Set(keys[i], vals[i])
		}
	}
	return phpArray(out)
}

// fSort is Twig's sort: PHP's asort (the items sorted, their keys kept),
// or uasort with an arrow function (a, b) => <0, 0 or >0.
func fSort(st *state, in any, args ...any) (any, error) {
	if !isIterable(in) {
		return nil, notArray(in)
	}
	if len(args) == 0 || args[0] == nil {
		return sortKeys(st, in, phpCompare)
	}
	fn, err := lambdaArg("sort", args, 0)
	if err != nil {
		return nil, err
	}
	var ferr error
	out, err := sortKeys(st, in, func(a, b any) int {
		if ferr != nil {
			return 0
		}
		x, err := callLambda(st, fn, a, b)
		if err != nil {
			ferr = err
			return 0
		}
		// PHP reads the result as an integer
		return cmpInt(toInt(x), 0)
	})
	if err != nil {
		return nil, err
	}
	return out, ferr
}

// fMerge is Twig's merge: PHP's array_merge (integer keys renumbered,
// text keys overwritten in place).
func fMerge(st *state, in any, args ...any) (any, error) {
	other := arg(args, 0, nil)
	if !isIterable(in) {
		return nil, notArray(in)
	}
	if !isIterable(other) {
		return nil, fmt.Errorf("expects a list or dictionary to merge, got %s", dict.TypeName(other))
	}
	if err := st.wantItems(int64(sizeOf(in)) + int64(sizeOf(other))); err != nil {
		return nil, err
	}
	la, aList := in.([]any)
	lb, bList := other.([]any)
	if aList && bList {
		out := make([]any, 0, len(la)+len(lb))
		return append(append(out, la...), lb...), nil
	}
	a := newAppender(sizeOf(in) + sizeOf(other))
	for _, src := range []any{in, other} {
		eachItem(src, func(k string, v any) bool {
			a.add(k, v, true)
			return true
		})
	}
	return a.result(), nil
}

// fBatch is batch(size, fill, preserve_keys=true): PHP's array_chunk, the
// last chunk filled up with fill when given.
func fBatch(st *state, in any, args ...any) (any, error) {
	if !isIterable(in) {
		return nil, notArray(in)
	}
	sizeF := toFloat(arg(args, 0, int64(1)))
	if sizeF < 1 {
		return nil, errors.New("size must be at least 1")
	}
	size64 := int64(min(sizeF+0.999999999, 9.2e18)) // ceil
	n := int64(sizeOf(in))
	fill := len(args) > 1 && args[1] != nil
	renumber := !truthy(arg(args, 2, true))
	// The batches and their items (with a fill value, the last batch
	// filled up) are checked and prepaid before anything is built.
	batches, items := (n+size64-1)/size64, n
	if n > 0 && fill {
		if err := st.wantItems(size64); err != nil {
			return nil, err
		}
		items = batches * size64
	}
	if renumber { // every batch is a list
		if err := st.prepay(items*itemBytes + batches*containerBytes); err != nil {
			return nil, err
		}
		return batchLists(in, min(size64, n+1), size64, fill, arg(args, 1, nil)), nil
	}
	if err := st.prepay(items*entryBytes + batches*containerBytes); err != nil {
		return nil, err
	}
	size := min(size64, n+1)
	out := []any{}
	keys := arrayKeys(in)
	for i := int64(0); i < n; i += size {
		a := newAppender(int(min(size, n-i)))
		for _, k := range keys[i:min(i+size, n)] {
			v, _ := itemAt(in, k)
			a.add(k, v, renumber)
		}
		if fill {
			for int64(a.m.Len()) < size64 {
				a.push(args[1])
			}
		}
		out = append(out, a.result())
	}
	return out, nil
}

// batchLists is batch without the keys: the items of in in lists of size
// (a dictionary's values), the last list filled up to fillTo items with
// with when fill is set. Each item costs a slot in its list and, from a
// dictionary, one in the list of its values (itemBytes).
func batchLists(in any, size, fillTo int64, fill bool, with any) []any {
	_, vals := arrayItems(in)
	n := int64(len(vals))
	out := make([]any, 0, (n+size-1)/size)
	for i := int64(0); i < n; i += size {
		part := vals[i:min(i+size, n)]
		// Room for the fill only when there is one, which the caller has
		// checked against the item limit: without, a huge size reserved
		// room it never used (review rev3: batch(1e9, null, false) asked
		// for 16 GB, and 2^63-1 panicked).
		c := int64(len(part))
		if fill {
			c = max(c, fillTo)
		}
		b := make([]any, len(part), c)
		copy(b, part)
		for fill && int64(len(b)) < fillTo {
			b = append(b, with)
		}
		out = append(out, b)
	}
	return out
}

// fColumn is column(name, index): PHP's array_column.
func fColumn(in any, args ...any) (any, error) {
	if !isIterable(in) {
		return nil, notArray(in)
	}
	return arrayColumn(in, arg(args, 0, nil), arg(args, 1, nil)), nil
}

// arrayColumn is PHP's array_column(rows, column, index): the value under
// column of every row that has it (the whole row when column is null),
// keyed by the row's value under index when given.
func arrayColumn(rows, col, idx any) any {
	a := newAppender(sizeOf(rows))
	eachItem(rows, func(_ string, row any) bool {
		if !isIterable(row) {
			return true
		}
		v := row
		if col != nil {
			x, ok := itemAt(row, keyOf(col))
			if !ok {
				return true
			}
			v = x
		}
		if idx != nil {
			if k, ok := itemAt(row, keyOf(idx)); ok && !isIterable(k) {
				a.add(keyOf(k), v, false)
				return true
			}
		}
		a.push(v)
		return true
	})
	return a.result()
}

// fFilter is filter(arrow): PHP's array_filter with the value and the key,
// keeping the keys of the items it keeps.
func fFilter(st *state, in any, args ...any) (any, error) {
	fn, err := lambdaArg("filter", args, 0)
	if err != nil {
		return nil, err
	}
	if !isIterable(in) {
		return nil, notArray(in)
	}
	keys, vals := arrayItems(in)
	kept := make([]int, 0, len(vals)) // the positions of the items kept
	for i, v := range vals {
		var k any = int64(i)
		if keys != nil {
			k = keyValue(keys[i])
		}
		x, err := callLambda(st, fn, v, k)
		if err != nil {
			return nil, err
		}
		if truthy(x) {
			kept = append(kept, i)
		}
	}
	if keys == nil && len(kept) == len(vals) {
		return vals, nil
	}
	if keys == nil && len(kept) > 0 && kept[len(kept)-1] == len(kept)-1 {
		// The items kept are the first ones of a list: a list.
		if err := st.prepay(int64(len(kept)) * slotBytes); err != nil {
			return nil, err
		}
		return slices.Clone(vals[:len(kept)]), nil
	}
	if err := st.prepay(int64(len(kept)) * entryBytes); err != nil {
		return nil, err
	}
	return pick(keys, vals, kept), nil
}

// fMap is map(arrow): arrow(value, key) for each item, keeping the keys;
// a value that is not an array gives an empty one.
func fMap(st *state, in any, args ...any) (any, error) {
	fn, err := lambdaArg("map", args, 0)
	if err != nil {
		return nil, err
	}
	switch t := in.(type) {
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			x, err := callLambda(st, fn, v, int64(i))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case *dict.Map:
		out := dict.New(t.Len())
		var ferr error
		t.Range(func(k string, v any) bool {
			var x any
			if x, ferr = callLambda(st, fn, v, keyValue(k)); ferr != nil {
				return false
			}
			out.Set(k, x)
			return true
		})
		return out, ferr
	}
	return []any{}, nil
}

// fReduce is reduce(arrow, initial): arrow(carry, value, key) over the
// items (PHP's array_reduce, which passes no key).
func fReduce(st *state, in any, args ...any) (any, error) {
	fn, err := lambdaArg("reduce", args, 0)
	if err != nil {
		return nil, err
	}
	if !isIterable(in) {
		return nil, notArray(in)
	}
	acc := arg(args, 1, nil)
	eachItem(in, func(k string, v any) bool {
		acc, err = callLambda(st, fn, acc, v, keyValue(k))
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}
