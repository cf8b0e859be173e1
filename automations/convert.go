package automations

import (
	"math"
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// This file holds the PHP-flavoured conversions the engine applies to
// dictionary values: truthiness, toBool, intval, floatval and printing.

// toString prints v the way PHP does: true as "1", false and null as "",
// whole floats without a decimal point. Lists and dictionaries print as
// JSON (PHP would print "Array").
func toString(v any) string {
	switch t := v.(type) {
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
		return phpFloatString(t)
	default:
		var b strings.Builder
		if err := dict.Encode(&b, v, ""); err != nil {
			return ""
		}
		return b.String()
	}
}

// phpFloatString prints f as PHP converts a float to text (precision=14):
// 14 significant digits at most, "1.0E+20" and "1.0E-5" outside
// 1e-5 ≤ |f| < 1e15, "INF", "-INF", "NAN", "-0".
func phpFloatString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NAN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	}
	return phpGcvt(f, 13, 14, 'E')
}

// phpJSONFloat prints f as PHP's json_encode does (serialize_precision
// -1): the shortest digits that read back as f, "1.0e+17" from 1e17 on.
func phpJSONFloat(f float64) string {
	return phpGcvt(f, -1, 17, 'e')
}

// phpGcvt is PHP's zend_gcvt: the digits of f ('e' format with prec
// digits after the point, -1 for the shortest), in fixed notation unless
// the decimal exponent is below -4 or at least ndigit.
func phpGcvt(f float64, prec, ndigit int, expChar byte) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	e := strconv.FormatFloat(f, 'e', prec, 64)
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
	decpt := exp + 1 // the value is 0.<digits> × 10^decpt
	if decpt < -3 || decpt > ndigit {
		frac := digits[1:]
		if frac == "" {
			frac = "0"
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		return sign + digits[:1] + "." + frac + string(expChar) + es + strconv.Itoa(exp)
	}
	if decpt <= 0 {
		return sign + "0." + strings.Repeat("0", -decpt) + digits
	}
	if len(digits) <= decpt {
		return sign + digits + strings.Repeat("0", decpt-len(digits))
	}
	return sign + digits[:decpt] + "." + digits[decpt:]
}

// truthy is PHP truthiness, used by decision and outcome conditions: "",
// "0", 0, 0.0, null, false and empty arrays are false.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != "" && t != "0"
	case int64:
		return t != 0
	case int:
		return t != 0
	case float64:
		return t != 0
	case []any:
		return len(t) > 0
	case *dict.Map:
		return t.Len() > 0
	default:
		return true
	}
}

// toBool is Cerb's DevblocksPlatform::strBool (the @bool annotation and
// while conditions): empty, "false", "0", "no", "n", "off" and every numeric
// string equal to zero are false. Arrays are joined with ", " first.
func toBool(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case int64:
		return t != 0
	case int:
		return t != 0
	case float64:
		return t != 0
	case string:
		return strBool(t)
	case []any:
		parts := make([]string, len(t))
		for i, x := range t {
			parts[i] = toString(x)
		}
		return strBool(strings.Join(parts, ", "))
	case *dict.Map:
		parts := make([]string, 0, t.Len())
		t.Range(func(_ string, x any) bool {
			parts = append(parts, toString(x))
			return true
		})
		return strBool(strings.Join(parts, ", "))
	default:
		return true
	}
}

func strBool(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "false", "0", "no", "n", "off":
		return false
	}
	if f, n, _ := numericPrefix(s); n == len(s) && n > 0 {
		return f != 0
	}
	return true
}

// numericPrefix scans the longest PHP numeric prefix of s (after leading
// whitespace): sign, digits, fraction, exponent. It returns the value, the
// number of bytes consumed (0 when there is no number) and whether the
// number is an integer literal (no '.' and no exponent).
func numericPrefix(s string) (float64, int, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f') {
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
	isInt := true
	if i < len(s) && s[i] == '.' {
		j := i + 1
		frac := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			frac++
		}
		if digits+frac > 0 {
			i = j
			digits += frac
			isInt = false
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j {
			i = k
			isInt = false
		}
	}
	f, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, 0, false
	}
	return f, i, isInt
}

// isNumeric reports whether s is entirely a PHP numeric string (leading
// whitespace allowed, trailing whitespace allowed as in PHP 8).
func isNumeric(s string) bool {
	_, n, _ := numericPrefix(s)
	return n > 0 && strings.TrimSpace(s[n:]) == ""
}

// intval is PHP's intval: the numeric prefix of a string truncated toward
// zero ("042" is 42, "3.9" is 3, "1e3" is 1000, "abc" is 0).
func intval(v any) int64 {
	switch t := v.(type) {
	case nil:
		return 0
	case bool:
		if t {
			return 1
		}
		return 0
	case int64:
		return t
	case int:
		return int64(t)
	case float64:
		return floatToInt(t)
	case string:
		f, n, isInt := numericPrefix(t)
		if n == 0 {
			return 0
		}
		if isInt {
			s := strings.TrimLeft(t[:n], " \t\n\r\v\f")
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
			if strings.HasPrefix(s, "-") {
				return math.MinInt64
			}
			return math.MaxInt64
		}
		return floatToInt(f)
	case []any:
		if len(t) == 0 {
			return 0
		}
		return 1
	case *dict.Map:
		if t.Len() == 0 {
			return 0
		}
		return 1
	}
	return 0
}

func floatToInt(f float64) int64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f >= 9.3e18 || f <= -9.3e18 {
		return 0
	}
	return int64(f)
}

// floatval is PHP's floatval: the numeric prefix of a string, else 0.
func floatval(v any) float64 {
	switch t := v.(type) {
	case nil:
		return 0
	case bool:
		if t {
			return 1
		}
		return 0
	case int64:
		return float64(t)
	case int:
		return float64(t)
	case float64:
		return t
	case string:
		f, _, _ := numericPrefix(t)
		return f
	case []any:
		if len(t) == 0 {
			return 0
		}
		return 1
	case *dict.Map:
		if t.Len() == 0 {
			return 0
		}
		return 1
	}
	return 0
}

// phpTrim trims the characters PHP's trim() removes.
func phpTrim(s string) string {
	// Most strings (a @key path, say) have none to trim: strings.Trim
	// would build its set of the six bytes on every call to find that.
	if s == "" || !isPHPSpace(s[0]) && !isPHPSpace(s[len(s)-1]) {
		return s
	}
	return strings.Trim(s, phpSpace)
}

// phpSpace is what PHP's trim() removes by default.
const phpSpace = " \t\n\r\x00\x0b"

func isPHPSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', 0, 0x0b:
		return true
	}
	return false
}
