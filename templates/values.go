package templates

import (
	"strconv"

	"github.com/flosch/pongo2/v6"

	"github.com/hookhost/hookhost/templates/dict"
)

// norm brings a value that came out of pongo2 (int literals, loop counters,
// *pongo2.Value) into the dict value model.
func norm(x any) any {
	switch t := x.(type) {
	case nil, string, int64, float64, bool, *dict.Map, []any, pongo2.Lambda, *dateTime, *prettyJSON:
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
	case *dateTime:
		// PHP cannot convert a DateTime to text; hookhost prints ISO 8601
		return t.String()
	case *pongo2.Value:
		return toStr(t.Interface())
	case pongo2.Lambda, *prettyJSON:
		// The parser allows an arrow function only where a filter takes
		// one (arrowsIn), and json_encode's pretty marker goes only to the
		// json_pretty after it: neither reaches here. But norm keeps both
		// as they are, so the default case would call toStr on them again
		// without end: a stack overflow, which kills the process.
		return ""
	default:
		return toStr(norm(x))
	}
}

// printFlags are the json_encode flags of a list or dictionary printed as
// text ({{ map }}, "~", join): json_encode's text, and never false.
const printFlags = jsonPartialOutputOnError | jsonInvalidUTF8Substitute

// encodeJSON prints a list or dictionary as json_encode does. Values a
// render builds are small enough to print (see state.built).
func encodeJSON(v any) string {
	out, _, _ := phpJSONEncode(v, printFlags, 0)
	return out
}

// toFloat converts a value to a number the PHP way: text gives its
// leading number (0 when it has none).
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
		n, _ := numericPrefix(t)
		if i, ok := n.(int64); ok {
			return float64(i)
		}
		return n.(float64)
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

// toInt converts a value to an integer the PHP way ((int) cast).
func toInt(x any) int64 {
	switch t := x.(type) {
	case int64:
		return t
	case int:
		return int64(t)
	case float64:
		return phpIntCast(t)
	case string:
		n, _ := numericPrefix(t)
		if i, ok := n.(int64); ok {
			return i
		}
		return phpIntCast(n.(float64))
	}
	return int64(toFloat(x))
}

// parseNumber reads the leading number of s; ok is true when all of s
// (whitespace aside) is a number.
func parseNumber(s string) (float64, bool) {
	n, kind := numericPrefix(s)
	return toFloat(n), kind == numericText
}

// isNumeric reports whether x is a number or numeric text (PHP's
// is_numeric).
func isNumeric(x any) bool {
	switch t := x.(type) {
	case int64, float64, int:
		return true
	case string:
		_, kind := numericPrefix(t)
		return kind == numericText
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
	keys := m.Keys()
	if len(keys) > 0 && keys[0] != "0" {
		return false // most dictionaries: no itoa
	}
	for i, k := range keys {
		if k != strconv.Itoa(i) {
			return false
		}
	}
	return true
}

// compare orders two values as PHP 8's <=> does.
func compare(a, b any) int { return phpCompare(a, b) }

// looseEqual is PHP 8's ==.
func looseEqual(a, b any) bool { return phpCompare(a, b) == 0 }

// phpFloat prints a float as PHP's echo does (precision 14): 0.1 + 0.2 is
// "0.3", 1e25 is "1.0E+25", whole numbers have no decimal point.
func phpFloat(f float64) string { return gcvt(f, 14, 'E') }
