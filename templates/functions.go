package templates

import (
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookhost/hookhost/templates/dict"
)

func buildFunctions() map[string]funcDef {
	return map[string]funcDef{
		"array_column":           {fn: fnArrayColumn},
		"array_combine":          {fn: fnArrayCombine},
		"array_count_values":     {fn: fnArrayCountValues},
		"array_diff":             {fn: fnArrayDiff},
		"array_extract_keys":     {fn: fnArrayExtractKeys},
		"array_fill_keys":        {fn: fnArrayFillKeys},
		"array_intersect":        {fn: fnArrayIntersect},
		"array_matches":          {sfn: fnArrayMatches},
		"array_sort_keys":        {fn: fnArraySortKeys},
		"array_sum":              {fn: fnArraySum},
		"array_unique":           {fn: fnArrayUnique},
		"array_values":           {fn: fnArrayValues},
		"attribute":              {fn: fnAttribute, view: true},
		"clamp_float":            {fn: fnClampFloat},
		"clamp_int":              {fn: fnClampInt},
		"cycle":                  {fn: fnCycle, view: true},
		"date":                   {fn: fnDate},
		"dict_set":               {fn: fnDictSet},
		"dict_unset":             {fn: fnDictUnset},
		"jsonpath_set":           {fn: fnJSONPathSet},
		"kata_parse":             {fn: fnKataParse},
		"json_decode":            {sfn: func(st *state, _ any, args ...any) (any, error) { return fJSONDecode(st, arg(args, 0, "")) }},
		"max":                    {fn: fnMax, view: true},
		"min":                    {fn: fnMin, view: true},
		"random":                 {fn: fnRandom, view: true},
		"random_string":          {fn: fnRandomString},
		"range":                  {sfn: fnRange},
		"regexp_match_all":       {sfn: fnRegexpMatchAll},
		"shuffle":                {fn: fnShuffle},
		"validate_email":         {fn: fnValidateEmail},
		"validate_number":        {fn: fnValidateNumber},
		"xml_decode":             {sfn: fnXMLDecode},
		"placeholders_list":      {cfn: fnPlaceholdersList},
		"cerb_placeholders_list": {cfn: fnPlaceholdersList},
		"date_lerp":              {fn: fnDateLerp},
		"xml_tag":                {sfn: fnXMLTag},
		"xml_attr":               {sfn: fnXMLAttr},
		"xml_attrs":              {sfn: fnXMLAttrs},
		"xml_xpath_ns":           {sfn: fnXMLXPathNS, view: true},
		"xml_xpath":              {sfn: fnXMLXPath},
		"xml_encode":             {sfn: fnXMLEncode},
		"vobject_parse":          {fn: fnVObjectParse},
		"cerb_extract_uris":      {fn: fnCerbExtractURIs},
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

// isFloatText reports whether v is a float or text written as one.
func isFloatText(v any) bool {
	if _, ok := v.(float64); ok {
		return true
	}
	s, ok := v.(string)
	return ok && strings.ContainsAny(s, ".eE")
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func fnValidateNumber(_ any, args ...any) (any, error) {
	return isNumeric(arg(args, 0, nil)), nil
}
