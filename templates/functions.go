package templates

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookhost/hookhost/templates/dict"
)

func buildFunctions() map[string]funcDef {
	return map[string]funcDef{
		"array_column":       {fn: fnArrayColumn},
		"array_combine":      {fn: fnArrayCombine},
		"array_count_values": {fn: fnArrayCountValues},
		"array_diff":         {fn: fnArrayDiff},
		"array_extract_keys": {fn: fnArrayExtractKeys},
		"array_fill_keys":    {fn: fnArrayFillKeys},
		"array_intersect":    {fn: fnArrayIntersect},
		"array_matches":      {sfn: fnArrayMatches},
		"array_sort_keys":    {fn: fnArraySortKeys},
		"array_sum":          {fn: fnArraySum},
		"array_unique":       {fn: fnArrayUnique},
		"array_values":       {fn: fnArrayValues},
		"attribute":          {fn: fnAttribute, view: true},
		"clamp_float":        {fn: fnClampFloat},
		"clamp_int":          {fn: fnClampInt},
		"cycle":              {fn: fnCycle, view: true},
		"date":               {fn: fnDate},
		"dict_set":           {fn: fnDictSet},
		"dict_unset":         {fn: fnDictUnset},
		"json_decode":        {sfn: func(st *state, _ any, args ...any) (any, error) { return fJSONDecode(st, arg(args, 0, "")) }},
		"max":                {fn: fnMax, view: true},
		"min":                {fn: fnMin, view: true},
		"random":             {fn: fnRandom, view: true},
		"random_string":      {fn: fnRandomString},
		"range":              {sfn: fnRange},
		"regexp_match_all":   {sfn: fnRegexpMatchAll},
		"shuffle":            {fn: fnShuffle},
		"validate_email":     {fn: fnValidateEmail},
		"validate_number":    {fn: fnValidateNumber},
		"xml_decode":         {sfn: fnXMLDecode},
	}
}

// asMap views a dictionary or list as a dictionary (a list is keyed 0..n-1).
func asMap(x any) *dict.Map {
	switch t := x.(type) {
	case *dict.Map:
		return t
	case []any:
		return listToMap(t)
	}
	return dict.New(0)
}

// fnArrayColumn is Cerb's array_column(rows, column, index_key): PHP's
// array_column, and [] when rows is not an array.
func fnArrayColumn(_ any, args ...any) (any, error) {
	rows := arg(args, 0, nil)
	if !isIterable(rows) {
		return []any{}, nil
	}
	return arrayColumn(rows, arg(args, 1, nil), arg(args, 2, nil)), nil
}

func fnArrayCombine(_ any, args ...any) (any, error) {
	keys, vals := toList(arg(args, 0, nil)), toList(arg(args, 1, nil))
	if len(keys) != len(vals) {
		return nil, errors.New("keys and values differ in length")
	}
	m := dict.New(len(keys))
	for i, k := range keys {
		m.Set(keyOf(k), vals[i])
	}
	return m, nil
}

func fnArrayCountValues(_ any, args ...any) (any, error) {
	m := dict.New(4)
	for _, v := range toList(arg(args, 0, nil)) {
		k := keyOf(v)
		n, _ := m.Value(k).(int64)
		m.Set(k, n+1)
	}
	return m, nil
}

// setOp keeps the items of the first list that are (keep=true) or are not
// in every other list; a dictionary keeps its keys.
func setOp(args []any, keep bool) any {
	first := arg(args, 0, nil)
	var others []map[string]bool
	for _, o := range args[min(1, len(args)):] {
		set := map[string]bool{}
		for _, v := range toList(o) {
			set[toStr(v)] = true
		}
		others = append(others, set)
	}
	test := func(v any) bool {
		s := toStr(v)
		for _, set := range others {
			if set[s] != keep {
				return false
			}
		}
		return true
	}
	if m, ok := first.(*dict.Map); ok {
		out := dict.New(m.Len())
		m.Range(func(k string, v any) bool {
			if test(v) {
				out.Set(k, v)
			}
			return true
		})
		return out
	}
	out := []any{}
	for _, v := range toList(first) {
		if test(v) {
			out = append(out, v)
		}
	}
	return out
}

func fnArrayDiff(_ any, args ...any) (any, error) { return setOp(args, false), nil }

func fnArrayIntersect(_ any, args ...any) (any, error) { return setOp(args, true), nil }

// fnArrayExtractKeys is array_extract_keys(dict, keys): only the given keys.
func fnArrayExtractKeys(_ any, args ...any) (any, error) {
	m := asMap(arg(args, 0, nil))
	out := dict.New(4)
	for _, k := range toList(arg(args, 1, nil)) {
		if v, ok := m.Get(keyOf(k)); ok {
			out.Set(keyOf(k), v)
		}
	}
	return out, nil
}

func fnArrayFillKeys(_ any, args ...any) (any, error) {
	keys := toList(arg(args, 0, nil))
	v := arg(args, 1, nil)
	m := dict.New(len(keys))
	for _, k := range keys {
		m.Set(keyOf(k), v)
	}
	return m, nil
}

// wildcard compiles a pattern where * matches anything (case-insensitive).
func wildcard(p string) (*regexp.Regexp, error) {
	if len(p) > maxPattern {
		return nil, fmt.Errorf("pattern longer than %d bytes", maxPattern)
	}
	parts := strings.Split(p, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.Compile("(?is)^" + strings.Join(parts, ".*") + "$")
}

// fnArrayMatches is array_matches(values, patterns): the values that match
// any of the * wildcard patterns.
func fnArrayMatches(st *state, _ any, args ...any) (any, error) {
	var res []*regexp.Regexp
	for _, p := range toList(arg(args, 1, nil)) {
		re, err := wildcard(toStr(p))
		if err != nil {
			return nil, err
		}
		res = append(res, re)
	}
	out := []any{}
	for i, v := range toList(arg(args, 0, nil)) {
		if i&255 == 255 {
			if err := st.lim.Check(); err != nil {
				return nil, err
			}
		}
		s := toStr(v)
		if len(res) > 0 && len(s) > regexpSmall {
			if err := checkRegexpWork(res[0].String(), len(s)*len(res)); err != nil {
				return nil, err
			}
		}
		for _, re := range res {
			if re.MatchString(s) {
				out = append(out, v)
				break
			}
		}
	}
	return out, nil
}

func fnArraySortKeys(_ any, args ...any) (any, error) {
	m := asMap(arg(args, 0, nil))
	keys := slices.Clone(m.Keys())
	slices.SortStableFunc(keys, func(a, b string) int { return compare(a, b) })
	out := dict.New(len(keys))
	for _, k := range keys {
		out.Set(k, m.Value(k))
	}
	return out, nil
}

func fnArraySum(_ any, args ...any) (any, error) {
	var isum int64
	var fsum float64
	isFloat := false
	for _, v := range toList(arg(args, 0, nil)) {
		switch t := v.(type) {
		case int64:
			isum += t
		default:
			f := toFloat(v)
			if f == math.Trunc(f) && math.Abs(f) < 1e15 && !isFloatText(v) {
				isum += int64(f)
			} else {
				isFloat = true
				fsum += f
			}
		}
	}
	if isFloat {
		return fsum + float64(isum), nil
	}
	return isum, nil
}

func isFloatText(v any) bool {
	if _, ok := v.(float64); ok {
		return true
	}
	s, ok := v.(string)
	return ok && strings.ContainsAny(s, ".eE")
}

func fnArrayUnique(_ any, args ...any) (any, error) {
	seen := map[string]bool{}
	in := arg(args, 0, nil)
	if m, ok := in.(*dict.Map); ok {
		out := dict.New(m.Len())
		m.Range(func(k string, v any) bool {
			if s := toStr(v); !seen[s] {
				seen[s] = true
				out.Set(k, v)
			}
			return true
		})
		return out, nil
	}
	out := []any{}
	for _, v := range toList(in) {
		if s := toStr(v); !seen[s] {
			seen[s] = true
			out = append(out, v)
		}
	}
	return out, nil
}

func fnArrayValues(_ any, args ...any) (any, error) {
	l := toList(arg(args, 0, nil))
	if l == nil {
		l = []any{}
	}
	return slices.Clone(l), nil
}

// fnAttribute is attribute(object, name).
func fnAttribute(_ any, args ...any) (any, error) {
	switch t := arg(args, 0, nil).(type) {
	case *dict.Map:
		return t.Value(keyOf(arg(args, 1, ""))), nil
	case []any:
		i := toInt(arg(args, 1, int64(0)))
		if i >= 0 && i < int64(len(t)) {
			return t[i], nil
		}
	}
	return nil, nil
}

func fnClampInt(_ any, args ...any) (any, error) {
	v := toInt(arg(args, 0, int64(0)))
	if len(args) > 1 && args[1] != nil {
		v = max(v, toInt(args[1]))
	}
	if len(args) > 2 && args[2] != nil {
		v = min(v, toInt(args[2]))
	}
	return v, nil
}

func fnClampFloat(_ any, args ...any) (any, error) {
	v := toFloat(arg(args, 0, 0.0))
	if len(args) > 1 && args[1] != nil {
		v = math.Max(v, toFloat(args[1]))
	}
	if len(args) > 2 && args[2] != nil {
		v = math.Min(v, toFloat(args[2]))
	}
	return v, nil
}

// fnCycle is Twig's cycle(values, position): values[position % count]
// (PHP's %, so a negative position gives nothing); a value that is not
// an array is returned as it is.
func fnCycle(_ any, args ...any) (any, error) {
	values := arg(args, 0, nil)
	if !isIterable(values) {
		return values, nil
	}
	i, err := opMod(arg(args, 1, int64(0)), int64(sizeOf(values)))
	if err != nil {
		return nil, err
	}
	v, _ := itemAt(values, strconv.FormatInt(i.(int64), 10))
	return v, nil
}

// splitPath splits a dict_set path on "." (and ":"), keeping "[]" parts.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == ':' })
}

// fnDictSet is dict_set(var, 'a.b', value): a copy of var with value set at
// the path; a "[]" part appends to a list.
func fnDictSet(_ any, args ...any) (any, error) {
	path := splitPath(toStr(arg(args, 1, "")))
	if len(path) == 0 {
		return arg(args, 0, nil), nil
	}
	return setIn(dict.CloneValue(arg(args, 0, nil)), path, arg(args, 2, nil)), nil
}

func setIn(cur any, path []string, v any) any {
	p := path[0]
	if l, ok := cur.([]any); ok {
		i, err := strconv.Atoi(p)
		switch {
		case p == "[]":
			var child any
			if len(path) > 1 {
				child = setIn(nil, path[1:], v)
			} else {
				child = v
			}
			return append(l, child)
		case err == nil && i >= 0 && i < len(l):
			if len(path) > 1 {
				l[i] = setIn(l[i], path[1:], v)
			} else {
				l[i] = v
			}
			return l
		default:
			cur = listToMap(l)
		}
	}
	m, ok := cur.(*dict.Map)
	if !ok {
		if p == "[]" {
			return setIn([]any{}, path, v)
		}
		m = dict.New(1)
	}
	if p == "[]" {
		p = strconv.Itoa(nextIndex(m))
	}
	if len(path) == 1 {
		m.Set(p, v)
		return m
	}
	m.Set(p, setIn(m.Value(p), path[1:], v))
	return m
}

// fnDictUnset is dict_unset(var, 'a.b'): a copy of var without the key.
func fnDictUnset(_ any, args ...any) (any, error) {
	path := splitPath(toStr(arg(args, 1, "")))
	root := dict.CloneValue(arg(args, 0, nil))
	if len(path) == 0 {
		return root, nil
	}
	return unsetIn(root, path), nil
}

func unsetIn(cur any, path []string) any {
	p := path[0]
	switch t := cur.(type) {
	case *dict.Map:
		if len(path) == 1 {
			t.Delete(p)
		} else if v, ok := t.Get(p); ok {
			t.Set(p, unsetIn(v, path[1:]))
		}
	case []any:
		i, err := strconv.Atoi(p)
		if err != nil || i < 0 || i >= len(t) {
			return t
		}
		if len(path) == 1 {
			return slices.Delete(t, i, i+1)
		}
		t[i] = unsetIn(t[i], path[1:])
	}
	return cur
}

// minMax is PHP's max (sign 1) or min (sign -1): of one array's items,
// or of two values or more, compared as PHP 8 does.
func minMax(args []any, sign int) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("expects at least 1 argument")
	}
	if len(args) == 1 {
		if !isIterable(args[0]) {
			return nil, fmt.Errorf("expects a list or dictionary, got %s", dict.TypeName(args[0]))
		}
		l := toList(args[0])
		if len(l) == 0 {
			return nil, errors.New("the list must contain at least one item")
		}
		// zend_hash_minmax: the best so far is replaced when it compares
		// below (max) or above (min) an item
		best := l[0]
		for _, v := range l[1:] {
			if phpCompare(best, v)*sign < 0 {
				best = v
			}
		}
		return best, nil
	}
	// max replaces the best unless item <= best; min when item < best
	best := args[0]
	for _, v := range args[1:] {
		if sign > 0 && phpCompare(v, best) > 0 || sign < 0 && phpCompare(v, best) < 0 {
			best = v
		}
	}
	return best, nil
}

func fnMax(_ any, args ...any) (any, error) { return minMax(args, 1) }

func fnMin(_ any, args ...any) (any, error) { return minMax(args, -1) }

// fnRandom is Twig's random(): random(), random(max), random(min, max),
// random(list) or random(text) for a random character.
func fnRandom(_ any, args ...any) (any, error) {
	if len(args) >= 2 {
		lo, hi := toInt(args[0]), toInt(args[1])
		if lo > hi {
			lo, hi = hi, lo
		}
		span := uint64(hi) - uint64(lo) // fits: hi >= lo
		if span == math.MaxUint64 {
			return int64(mrand.Uint64()), nil
		}
		return lo + int64(mrand.Uint64N(span+1)), nil
	}
	switch t := arg(args, 0, nil).(type) {
	case nil:
		return mrand.Int64N(math.MaxInt32), nil
	case []any, *dict.Map:
		l := toList(t)
		if len(l) == 0 {
			return nil, nil
		}
		return l[mrand.IntN(len(l))], nil
	case string:
		if isNumeric(t) {
			return fnRandom(nil, int64(0), toInt(t))
		}
		r := []rune(t)
		if len(r) == 0 {
			return "", nil
		}
		return string(r[mrand.IntN(len(r))]), nil
	default:
		return fnRandom(nil, int64(0), toInt(t))
	}
}

const randomChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// fnRandomString is random_string(length=8): letters and digits from a
// cryptographic source.
func fnRandomString(_ any, args ...any) (any, error) {
	n := toInt(arg(args, 0, int64(8)))
	if n < 0 || n > 65536 {
		return nil, errors.New("length must be between 0 and 65536")
	}
	b := make([]byte, n)
	max := big.NewInt(int64(len(randomChars)))
	for i := range b {
		x, err := rand.Int(rand.Reader, max)
		if err != nil {
			return nil, err
		}
		b[i] = randomChars[x.Int64()]
	}
	return string(b), nil
}

// fnRange is range(low, high, step=1) over integers or single characters,
// at most MaxRange items.
func fnRange(st *state, _ any, args ...any) (any, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("expects at least 2 arguments, %d given", len(args))
	}
	lo, hi := arg(args, 0, int64(0)), arg(args, 1, int64(0))
	step := toFloat(arg(args, 2, int64(1)))
	if step == 0 {
		return nil, errors.New("step must not be 0")
	}
	step = math.Abs(step)
	ls, lok := lo.(string)
	hs, hok := hi.(string)
	if lok && hok && !isNumeric(ls) && !isNumeric(hs) && utf8.RuneCountInString(ls) >= 1 && utf8.RuneCountInString(hs) >= 1 {
		a, _ := utf8.DecodeRuneInString(ls)
		b, _ := utf8.DecodeRuneInString(hs)
		step := int64(max(step, 1))
		n := (abs64(int64(b)-int64(a)))/step + 1
		if n > MaxRange {
			return nil, fmt.Errorf("range of more than %d items", MaxRange)
		}
		if err := st.wantItems(n); err != nil {
			return nil, err
		}
		out := make([]any, 0, n)
		for i := int64(0); i < n; i++ {
			if b >= a {
				out = append(out, string(rune(int64(a)+i*step)))
			} else {
				out = append(out, string(rune(int64(a)-i*step)))
			}
		}
		return out, nil
	}
	isFloat := isFloatText(lo) || isFloatText(hi) || step != math.Trunc(step)
	a, b := toFloat(lo), toFloat(hi)
	n := math.Floor(math.Abs(b-a)/step) + 1
	if n > MaxRange || math.IsNaN(n) {
		return nil, fmt.Errorf("range of more than %d items", MaxRange)
	}
	if err := st.wantItems(int64(n)); err != nil {
		return nil, err
	}
	out := make([]any, 0, int(n))
	for i := 0; i < int(n); i++ {
		x := a + float64(i)*step
		if b < a {
			x = a - float64(i)*step
		}
		if isFloat {
			out = append(out, x)
		} else {
			out = append(out, int64(x))
		}
	}
	return out, nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// fnRegexpMatchAll is regexp_match_all(pattern, text, group=0): every match
// (or the given group of every match).
func fnRegexpMatchAll(st *state, _ any, args ...any) (any, error) {
	text := toStr(arg(args, 1, ""))
	re, err := st.regexp(toStr(arg(args, 0, "")), len(text))
	if err != nil {
		return nil, err
	}
	g := groupIndex(re, arg(args, 2, int64(0)))
	out := []any{}
	for _, m := range re.FindAllStringSubmatch(text, 10000) {
		if g >= 0 && g < len(m) {
			out = append(out, m[g])
		}
	}
	return out, nil
}

func fnShuffle(_ any, args ...any) (any, error) {
	l := slices.Clone(toList(arg(args, 0, nil)))
	if l == nil {
		l = []any{}
	}
	mrand.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
	return l, nil
}

func fnValidateEmail(_ any, args ...any) (any, error) {
	s := strings.TrimSpace(toStr(arg(args, 0, "")))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false, nil
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at:], ".") && !strings.HasSuffix(s, "."), nil
}

func fnValidateNumber(_ any, args ...any) (any, error) {
	return isNumeric(arg(args, 0, nil)), nil
}
