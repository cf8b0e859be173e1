package templates

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// fFormat is Twig's format: PHP's sprintf with the filtered value as the
// format and the arguments as its values.
func fFormat(st *state, in any, args ...any) (any, error) {
	return phpSprintf(st, toStr(in), args)
}

// sprintfSpec is one conversion of a format.
type sprintfSpec struct {
	left, plus   bool
	pad          byte
	width, prec  int
	hasPrec      bool
	verb         byte
	argnum       int
	explicitArgs bool
}

// phpSprintf is PHP 8's sprintf: %[argnum$][flags][width][.precision]
// specifier with the specifiers b c d e E f F g G o s u x X and %%, the
// flags - + 0, space and 'c (a padding character).
func phpSprintf(st *state, format string, args []any) (string, error) {
	var b strings.Builder
	cur := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		i++
		sp := sprintfSpec{pad: ' '}
		if i < len(format) && !isLetter(format[i]) {
			// an argument number?
			j := i
			for j < len(format) && format[j] >= '0' && format[j] <= '9' {
				j++
			}
			if j < len(format) && format[j] == '$' && j > i {
				n, _ := strconv.Atoi(format[i:j])
				if n <= 0 {
					return "", errors.New("argument number specifier must be greater than zero")
				}
				sp.argnum = n - 1
				sp.explicitArgs = true
				i = j + 1
			} else {
				sp.argnum = cur
				cur++
			}
		flags:
			for ; i < len(format); i++ {
				switch format[i] {
				case ' ', '0':
					sp.pad = format[i]
				case '-':
					sp.left = true
				case '+':
					sp.plus = true
				case '\'':
					if i+1 >= len(format) {
						return "", errors.New("missing padding character")
					}
					i++
					sp.pad = format[i]
				default:
					break flags
				}
			}
			j = i
			for j < len(format) && format[j] >= '0' && format[j] <= '9' {
				j++
			}
			if j > i {
				sp.width, _ = strconv.Atoi(format[i:j])
				i = j
			}
			if i < len(format) && format[i] == '.' {
				i++
				sp.hasPrec = true
				j = i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' {
					j++
				}
				if j > i {
					sp.prec, _ = strconv.Atoi(format[i:j])
					i = j
				}
			}
		} else {
			sp.argnum = cur
			cur++
		}
		if i < len(format) && format[i] == 'l' {
			i++
		}
		if i >= len(format) {
			return "", errors.New("missing format specifier at end of string")
		}
		sp.verb = format[i]
		if sp.verb == '%' {
			b.WriteByte('%')
			continue
		}
		if strings.IndexByte("bcdeEfFgGhHosuxX", sp.verb) < 0 {
			return "", fmt.Errorf("unknown format specifier %q", sp.verb)
		}
		if sp.argnum >= len(args) {
			return "", fmt.Errorf("%d arguments are required, %d given", sp.argnum+2, len(args)+1)
		}
		if sp.width > st.limits.String || sp.prec > st.limits.String {
			return "", st.errString()
		}
		sp.write(&b, args[sp.argnum])
		if b.Len() > st.limits.String {
			return "", st.errString()
		}
	}
	return b.String(), nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// pad writes s padded to the width; with '0' padding the sign stays in
// front.
func (sp *sprintfSpec) padded(b *strings.Builder, s string, signed bool) {
	n := sp.width - len(s)
	if n <= 0 {
		b.WriteString(s)
		return
	}
	if sp.left {
		b.WriteString(s)
		for range n {
			b.WriteByte(sp.pad)
		}
		return
	}
	if signed && sp.pad == '0' && len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		b.WriteByte(s[0])
		s = s[1:]
	}
	for range n {
		b.WriteByte(sp.pad)
	}
	b.WriteString(s)
}

func (sp *sprintfSpec) write(b *strings.Builder, v any) {
	switch sp.verb {
	case 's':
		s := toStr(v)
		if sp.hasPrec && sp.prec < len(s) {
			s = s[:sp.prec]
		}
		sp.padded(b, s, false)
	case 'd':
		n := toInt(v)
		s := strconv.FormatInt(n, 10)
		if sp.plus && n >= 0 {
			s = "+" + s
		}
		sp.padded(b, s, true)
	case 'u':
		sp.padded(b, strconv.FormatUint(uint64(toInt(v)), 10), false)
	case 'x':
		sp.padded(b, strconv.FormatUint(uint64(toInt(v)), 16), false)
	case 'X':
		sp.padded(b, strings.ToUpper(strconv.FormatUint(uint64(toInt(v)), 16)), false)
	case 'o':
		sp.padded(b, strconv.FormatUint(uint64(toInt(v)), 8), false)
	case 'b':
		sp.padded(b, strconv.FormatUint(uint64(toInt(v)), 2), false)
	case 'c':
		b.WriteByte(byte(toInt(v))) // PHP ignores the width of %c
	default:
		sp.padded(b, sp.float(toFloat(v)), true)
	}
}

// float formats f for e E f F g G h H as PHP's sprintf does.
func (sp *sprintfSpec) float(f float64) string {
	prec := 6
	if sp.hasPrec {
		prec = min(sp.prec, 53)
	}
	neg := f < 0
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 0):
		if neg {
			return "-Inf"
		}
		return sp.sign("Inf", false)
	}
	var s string
	switch sp.verb {
	case 'f', 'F':
		s = strconv.FormatFloat(math.Abs(f), 'f', prec, 64)
	case 'e', 'E':
		e := strconv.FormatFloat(math.Abs(f), 'e', prec, 64)
		mant, exp, _ := strings.Cut(e, "e")
		x, _ := strconv.Atoi(exp)
		sign := "+"
		if x < 0 {
			sign, x = "-", -x
		}
		s = mant + string(sp.verb) + sign + strconv.Itoa(x)
	default: // g G h H
		if prec == 0 {
			prec = 1
		}
		exp := byte('e')
		if sp.verb == 'G' || sp.verb == 'H' {
			exp = 'E'
		}
		s = gcvt(math.Abs(f), prec, exp)
	}
	if neg { // also when it rounds to zero: -0.00
		return "-" + s
	}
	return sp.sign(s, neg)
}

func (sp *sprintfSpec) sign(s string, neg bool) string {
	if sp.plus && !neg {
		return "+" + s
	}
	return s
}
