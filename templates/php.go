package templates

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// This file holds PHP 8's value semantics as Twig runs them: numeric
// strings, the conversions to numbers, arithmetic and its TypeErrors,
// comparison (zend_compare), and the printing of floats (zend_gcvt).

// numKind is how PHP 8 reads a string as a number.
type numKind uint8

const (
	nonNumeric     numKind = iota // "abc", "", "  ": a TypeError in arithmetic
	leadingNumeric                // "12abc": the leading number, with a warning
	numericText                   // "12", " 1.5e3 ": a number
)

// isPHPSpace is the whitespace PHP allows around a numeric string.
func isPHPSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// numericPrefix reads s as PHP's is_numeric_string_ex does (with errors
// allowed): the number (int64 or float64) at the start of s, after
// whitespace, and how much of s it is.
func numericPrefix(s string) (any, numKind) {
	i := 0
	for i < len(s) && isPHPSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	isFloat := false
	if i < len(s) && s[i] == '.' {
		j := i + 1
		frac := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			frac++
		}
		if digits > 0 || frac > 0 {
			isFloat = true
			digits += frac
			i = j
		}
	}
	if digits == 0 {
		return int64(0), nonNumeric
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			isFloat = true
			i = j
		}
	}
	text := s[start:i]
	end := i
	for end < len(s) && isPHPSpace(s[end]) {
		end++
	}
	kind := numericText
	if end < len(s) {
		kind = leadingNumeric
	}
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, kind
		}
	}
	f, _ := strconv.ParseFloat(text, 64) // out of range gives ±Inf, as PHP's strtod
	return f, kind
}

// phpType names a value's PHP type, for error messages.
func phpType(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int64, int:
		return "int"
	case float64:
		return "float"
	case string:
		return "string"
	case *dict.Map, []any:
		return "array"
	}
	return "object"
}

// operandError is PHP 8's TypeError for an operator's operands.
func operandError(op string, a, b any) error {
	return fmt.Errorf("unsupported operand types: %s %s %s", phpType(a), op, phpType(b))
}

// toNumber converts an operand of an arithmetic operator to an int64 or a
// float64 as PHP 8 does; ok is false for arrays and non-numeric text
// (PHP throws a TypeError).
func toNumber(x any) (any, bool) {
	switch v := x.(type) {
	case int64, float64:
		return v, true
	case int:
		return int64(v), true
	case nil:
		return int64(0), true
	case bool:
		if v {
			return int64(1), true
		}
		return int64(0), true
	case string:
		n, kind := numericPrefix(v)
		return n, kind != nonNumeric
	case *dict.Map, []any:
		return nil, false
	}
	return int64(0), false
}

// numbers converts both operands of op, or gives PHP's TypeError.
func numbers(op string, a, b any) (any, any, error) {
	x, ok1 := toNumber(a)
	y, ok2 := toNumber(b)
	if !ok1 || !ok2 {
		return nil, nil, operandError(op, a, b)
	}
	return x, y, nil
}

// phpIntCast is PHP's (int) of a float: NaN and infinities give 0, and
// values out of range wrap around modulo 2^64 (zend_dval_to_lval).
func phpIntCast(f float64) int64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	if f >= -9.223372036854775808e18 && f < 9.223372036854775808e18 {
		return int64(f)
	}
	const two64 = 18446744073709551616.0
	m := math.Mod(f, two64)
	if m < 0 {
		m += two64
	}
	// m is in [0, 2^64): take it as unsigned, then as two's complement
	if m >= 9.223372036854775808e18 {
		return int64(uint64(m-9.223372036854775808e18)) + math.MinInt64
	}
	return int64(m)
}

// phpPow is PHP's ** on two numbers: integers while the result fits.
func phpPow(x, y any) any {
	base, bInt := x.(int64)
	exp, eInt := y.(int64)
	if !bInt || !eInt || exp < 0 {
		return math.Pow(toFloat(x), toFloat(y))
	}
	if exp == 0 {
		return int64(1)
	}
	if base == 0 {
		return int64(0)
	}
	l1, l2, i := int64(1), base, exp
	for i >= 1 {
		if i%2 != 0 {
			i--
			r, overflow := mulInt(l1, l2)
			if overflow {
				return float64(l1) * float64(l2) * math.Pow(float64(l2), float64(i))
			}
			l1 = r
		} else {
			i /= 2
			r, overflow := mulInt(l2, l2)
			if overflow {
				return float64(l1) * math.Pow(float64(l2)*float64(l2), float64(i))
			}
			l2 = r
		}
	}
	return l1
}

// mulInt multiplies two int64 and reports an overflow.
func mulInt(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, false
	}
	r := a * b
	if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, true
	}
	return r, false
}

// --- comparison ---

// phpCompare is PHP 8's comparison of two values (zend_compare): -1, 0 or
// 1, and 1 when they cannot be compared (NaN, arrays with different keys).
// a < b is phpCompare(a, b) < 0, and a > b is phpCompare(b, a) < 0.
func phpCompare(a, b any) int {
	if x, ok := a.(*dateTime); ok {
		// DateTime objects compare by instant; other objects cannot be
		// compared with them
		if y, ok := b.(*dateTime); ok {
			return cmpInt(x.t.UnixNano(), y.t.UnixNano())
		}
		return 1
	}
	if _, ok := b.(*dateTime); ok {
		return 1
	}
	switch x := a.(type) {
	case int:
		return phpCompare(int64(x), b)
	case nil:
		switch y := b.(type) {
		case nil:
			return 0
		case string:
			if y == "" {
				return 0
			}
			return -1
		}
		if truthy(b) {
			return -1
		}
		return 0
	case bool:
		return cmpBool(x, truthy(b))
	}
	switch y := b.(type) {
	case int:
		return phpCompare(a, int64(y))
	case nil:
		if s, ok := a.(string); ok {
			if s == "" {
				return 0
			}
			return 1
		}
		if truthy(a) {
			return 1
		}
		return 0
	case bool:
		return cmpBool(truthy(a), y)
	}
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpInt(x, y)
		case float64:
			return cmpFloat(float64(x), y)
		case string:
			return cmpNumberText(x, y)
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return cmpFloat(x, float64(y))
		case float64:
			return cmpFloat(x, y)
		case string:
			if math.IsNaN(x) {
				return 1
			}
			return cmpNumberText(x, y)
		}
	case string:
		switch y := b.(type) {
		case int64:
			return -cmpNumberText(y, x)
		case float64:
			if math.IsNaN(y) {
				return 1
			}
			return -cmpNumberText(y, x)
		case string:
			return smartStrcmp(x, y)
		}
	case *dict.Map, []any:
		switch b.(type) {
		case *dict.Map, []any:
			return compareArrays(a, b)
		}
		return 1
	}
	switch b.(type) {
	case *dict.Map, []any:
		return -1
	}
	return 1
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpFloat is ZEND_THREEWAY_COMPARE: NaN compares as 1.
func cmpFloat(a, b float64) int {
	switch {
	case a == b:
		return 0
	case a < b:
		return -1
	}
	return 1
}

// cmpNumberText compares a number with text: numerically when the text is
// numeric, else as the number's text.
func cmpNumberText(n any, s string) int {
	v, kind := numericPrefix(s)
	if kind == numericText {
		if i, ok := n.(int64); ok {
			if j, ok := v.(int64); ok {
				return cmpInt(i, j)
			}
		}
		return cmpFloat(toFloat(n), toFloat(v))
	}
	return strings.Compare(toStr(n), s)
}

// smartStrcmp compares two strings numerically when both are numeric, else
// byte by byte.
func smartStrcmp(a, b string) int {
	if va, ka := numericPrefix(a); ka == numericText {
		if vb, kb := numericPrefix(b); kb == numericText {
			if i, ok := va.(int64); ok {
				if j, ok := vb.(int64); ok {
					return cmpInt(i, j)
				}
			}
			return cmpFloat(toFloat(va), toFloat(vb))
		}
	}
	return strings.Compare(a, b)
}

// compareArrays is zend_hash_compare without order: the bigger array is
// greater; arrays of the same size compare item by item (by a's keys), and
// a key of a missing from b makes them uncomparable (1).
func compareArrays(a, b any) int {
	na, nb := sizeOf(a), sizeOf(b)
	if na != nb {
		if na > nb {
			return 1
		}
		return -1
	}
	res := 0
	eachItem(a, func(k string, v any) bool {
		w, ok := itemAt(b, k)
		if !ok {
			res = 1
			return false
		}
		res = phpCompare(v, w)
		return res == 0
	})
	return res
}

// eachItem calls fn with the PHP key (as text) and value of every item of a
// list or dictionary, until fn returns false.
func eachItem(x any, fn func(k string, v any) bool) {
	switch t := x.(type) {
	case []any:
		for i, v := range t {
			if !fn(strconv.Itoa(i), v) {
				return
			}
		}
	case *dict.Map:
		t.Range(fn)
	}
}

// itemAt finds the item under PHP key k in a list or dictionary.
func itemAt(x any, k string) (any, bool) {
	switch t := x.(type) {
	case []any:
		i, ok := dict.PHPIntKey(k)
		if !ok || i < 0 || i >= int64(len(t)) {
			return nil, false
		}
		return t[i], true
	case *dict.Map:
		return t.Get(k)
	}
	return nil, false
}

// keyValue is a PHP array key as a value: an int64 for an integer key,
// else the text.
func keyValue(k string) any {
	if k != "" && (k[0] >= '0' && k[0] <= '9' || k[0] == '-') {
		if n, ok := dict.PHPIntKey(k); ok {
			return n
		}
	}
	return k
}

// --- printing floats ---

// gcvt is PHP's zend_gcvt: f with precision significant digits (0: the
// shortest text that reads back as f, as serialize_precision -1), in
// exponential form (1.0E+25) when the exponent is below -4 or not below the
// precision (17 for the shortest form).
func gcvt(f float64, precision int, expChar byte) string {
	switch {
	case math.IsNaN(f):
		return "NAN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	}
	var e string
	if precision <= 0 {
		precision = 17
		e = strconv.FormatFloat(f, 'e', -1, 64)
	} else {
		e = strconv.FormatFloat(f, 'e', precision-1, 64)
	}
	neg := false
	if e[0] == '-' {
		neg, e = true, e[1:]
	}
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
	if digits == "" {
		digits, exp = "0", 0
	}
	decpt := exp + 1
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case decpt < -3 || decpt > precision:
		b.WriteByte(digits[0])
		b.WriteByte('.')
		if len(digits) == 1 {
			b.WriteByte('0')
		} else {
			b.WriteString(digits[1:])
		}
		b.WriteByte(expChar)
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(exp))
	case decpt <= 0:
		b.WriteString("0.")
		for i := decpt; i < 0; i++ {
			b.WriteByte('0')
		}
		b.WriteString(digits)
	default:
		for i := 0; i < decpt; i++ {
			if i < len(digits) {
				b.WriteByte(digits[i])
			} else {
				b.WriteByte('0')
			}
		}
		if len(digits) > decpt {
			b.WriteByte('.')
			b.WriteString(digits[decpt:])
		}
	}
	return b.String()
}

// phpArray gives a dictionary whose keys are 0, 1, ... n-1 in that order
// as a list: PHP does not tell them apart, and lists are cheaper.
func phpArray(m *dict.Map) any {
	if m.Len() > 0 && isList(m) {
		return toList(m)
	}
	return m
}

func isInfOrNaN(f float64) bool { return math.IsInf(f, 0) || math.IsNaN(f) }

// phpRound is PHP 8.2's round(value, places) (_php_math_round, half away
// from zero): the value is first rounded to the 15 significant digits a
// double holds, so that 1.005 rounds to 1.01 as its decimal text says.
func phpRound(value float64, places int) float64 {
	if math.IsInf(value, 0) || math.IsNaN(value) || value == 0 {
		return value
	}
	precisionPlaces := 14 - int(math.Floor(math.Log10(math.Abs(value))))
	f1 := intPow10(absInt(places))
	var tmp float64
	if precisionPlaces > places && precisionPlaces-15 < places {
		usePrecision := max(precisionPlaces, -4*15)
		tmp = roundHalfUp(roundBasic(value, usePrecision))
		usePrecision = max(places-usePrecision, -4*15)
		// places < precisionPlaces, so usePrecision < 0
		tmp /= intPow10(absInt(usePrecision))
	} else {
		if places >= 0 {
			tmp = value * f1
		} else {
			tmp = value / f1
		}
		if math.Abs(tmp) >= 1e15 {
			return value // beyond a double's precision
		}
	}
	tmp = roundHalfUp(tmp)
	if absInt(places) < 23 {
		if places > 0 {
			return tmp / f1
		}
		return tmp * f1
	}
	f, err := strconv.ParseFloat(strconv.FormatFloat(tmp, 'f', 15, 64)+"e"+strconv.Itoa(-places), 64)
	if err != nil || math.IsInf(f, 0) {
		return value
	}
	return f
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func intPow10(p int) float64 {
	if p < 0 || p > 22 {
		return math.Pow(10, float64(p))
	}
	return pow10tab[p]
}

var pow10tab = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

func roundBasic(value float64, places int) float64 {
	f1 := intPow10(absInt(places))
	if places >= 0 {
		return value * f1
	}
	return value / f1
}

// roundHalfUp rounds to an integer, halves away from zero.
func roundHalfUp(v float64) float64 {
	if v >= 0 {
		return math.Floor(v + 0.5)
	}
	return math.Ceil(v - 0.5)
}
