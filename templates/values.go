package templates

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/flosch/pongo2/v6"

	"github.com/hookhost/hookhost/templates/dict"
)

// norm brings a value that came out of pongo2 (int literals, loop counters,
// *pongo2.Value) into the dict value model.
func norm(x any) any {
	switch t := x.(type) {
	case nil, string, int64, float64, bool, *dict.Map, []any, pongo2.Lambda:
		return x
	case int:
		return int64(t)
	case *pongo2.Value:
		return norm(t.Interface())
	default:
		return dict.FromGo(x)
	}
}

// formatValue prints the value of {{ }} the PHP way (see the package doc).
func formatValue(v *pongo2.Value) string {
	return toStr(v.Interface())
}

// toStr converts a value to text the PHP way; lists and dictionaries become
// their compact JSON.
func toStr(x any) string {
	switch t := x.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		if t {
			return "1"
		}
		return ""
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case float64:
		return phpFloat(t)
	case *dict.Map, []any:
		return encodeJSON(t)
	case *pongo2.Value:
		return toStr(t.Interface())
	default:
		return toStr(norm(x))
	}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeJSON encodes v compactly (insertion order, no HTML escaping).
// Values a render builds are small enough to print (see state.built).
func encodeJSON(v any) string {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	_ = dict.Encode(b, v, "")
	s := b.String()
	putBuf(b)
	return s
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		bufPool.Put(b)
	}
}

// encodeJSON encodes v as JSON text within the string limit: the encoding
// stops as soon as the text is too long.
func (st *state) encodeJSON(v any, indent string) (string, error) {
	b := bufPool.Get().(*bytes.Buffer)
	defer putBuf(b)
	b.Reset()
	w := &limitWriter{b: b, max: st.limits.String}
	if err := dict.Encode(w, v, indent); err != nil {
		return "", st.errString()
	}
	return b.String(), nil
}

// limitWriter writes to b and fails once b would hold more than max bytes.
type limitWriter struct {
	b   *bytes.Buffer
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, errBuilderFull
	}
	return w.b.Write(p)
}

// toFloat converts a value to a number the PHP way: numeric text parses
// (leading numeric part), other text is 0.
func toFloat(x any) float64 {
	switch t := x.(type) {
	case int64:
		return float64(t)
	case float64:
		return t
	case int:
		return float64(t)
	case bool:
		if t {
			return 1
		}
		return 0
	case string:
		f, _ := parseNumber(t)
		return f
	case *dict.Map:
		if t.Len() > 0 {
			return 1
		}
	case []any:
		if len(t) > 0 {
			return 1
		}
	}
	return 0
}

// toInt converts a value to an integer the PHP way.
func toInt(x any) int64 {
	switch t := x.(type) {
	case int64:
		return t
	case int:
		return int64(t)
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64); err == nil {
			return i
		}
	}
	f := toFloat(x)
	if math.IsNaN(f) || math.IsInf(f, 0) || f >= 9.2e18 || f <= -9.2e18 {
		return 0
	}
	return int64(f)
}

// parseNumber reads the leading number of s; ok is true when all of s
// (spaces aside) is a number.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpP_") && !isInfNaNText(s) {
		return f, true
	}
	end := 0
	seenDigit, seenDot, seenExp := false, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			seenDigit = true
			end = i + 1
		case (c == '+' || c == '-') && (i == 0 || s[i-1] == 'e' || s[i-1] == 'E'):
		case c == '.' && !seenDot && !seenExp:
			seenDot = true
		case (c == 'e' || c == 'E') && seenDigit && !seenExp:
			seenExp = true
		default:
			i = len(s)
		}
	}
	if !seenDigit {
		return 0, false
	}
	f, err := strconv.ParseFloat(s[:end], 64)
	if err != nil {
		return 0, false
	}
	return f, false
}

func isInfNaNText(s string) bool {
	l := strings.ToLower(strings.TrimLeft(s, "+-"))
	return strings.HasPrefix(l, "inf") || l == "nan"
}

// isNumeric reports whether x is a number or numeric text.
func isNumeric(x any) bool {
	switch t := x.(type) {
	case int64, float64, int:
		return true
	case string:
		_, ok := parseNumber(t)
		return ok
	}
	return false
}

// isEmpty is Twig's "empty": null, "", false, an empty list or dictionary.
func isEmpty(x any) bool {
	switch t := x.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case bool:
		return !t
	case []any:
		return len(t) == 0
	case *dict.Map:
		return t.Len() == 0
	}
	return false
}

// truthy is PHP truthiness: also 0, 0.0 and "0" are false.
func truthy(x any) bool {
	switch t := x.(type) {
	case int64:
		return t != 0
	case float64:
		return t != 0
	case string:
		return t != "" && t != "0"
	}
	return !isEmpty(x)
}

// toList turns a value into a list: a dictionary gives its values, nil an
// empty list, a scalar a list of one.
func toList(x any) []any {
	switch t := x.(type) {
	case []any:
		return t
	case *dict.Map:
		l := make([]any, 0, t.Len())
		t.Range(func(_ string, v any) bool {
			l = append(l, v)
			return true
		})
		return l
	case nil:
		return nil
	}
	return []any{x}
}

// keyOf converts a value to a dictionary key the PHP way.
func keyOf(x any) string {
	switch t := x.(type) {
	case bool:
		if t {
			return "1"
		}
		return "0"
	case float64:
		return strconv.FormatInt(int64(t), 10)
	}
	return toStr(x)
}

// listToMap gives a list's items keyed "0", "1", ...
func listToMap(l []any) *dict.Map {
	m := dict.New(len(l))
	for i, v := range l {
		m.Set(strconv.Itoa(i), v)
	}
	return m
}

// isList reports whether a dictionary's keys are 0..n-1 in order, that is
// whether PHP would treat it as a list.
func isList(m *dict.Map) bool {
	for i, k := range m.Keys() {
		if k != strconv.Itoa(i) {
			return false
		}
	}
	return true
}

// compare orders two values: numbers numerically, otherwise as text.
func compare(a, b any) int {
	if isNumeric(a) && isNumeric(b) {
		fa, fb := toFloat(a), toFloat(b)
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(toStr(a), toStr(b))
}

// looseEqual is PHP 8's ==.
func looseEqual(a, b any) bool {
	if isNumeric(a) && isNumeric(b) {
		return toFloat(a) == toFloat(b)
	}
	switch a.(type) {
	case *dict.Map, []any:
		return toStr(a) == toStr(b)
	}
	if a == nil || b == nil {
		// PHP 8: null equals "" and every value that is false
		if s, ok := a.(string); ok {
			return s == ""
		}
		if s, ok := b.(string); ok {
			return s == ""
		}
		return !truthy(a) && !truthy(b)
	}
	if ba, ok := a.(bool); ok {
		return ba == truthy(b)
	}
	if bb, ok := b.(bool); ok {
		return bb == truthy(a)
	}
	return toStr(a) == toStr(b)
}

// phpFloat prints a float as PHP's echo does (precision 14): 0.1 + 0.2 is
// "0.3", 1e25 is "1.0E+25", whole numbers have no decimal point.
func phpFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NAN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatInt(int64(f), 10)
	}
	e := strconv.FormatFloat(f, 'e', 13, 64) // 14 significant digits
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 14 {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return mant + "E" + sign + strconv.Itoa(exp)
	}
	s := strconv.FormatFloat(f, 'f', max(13-exp, 0), 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
