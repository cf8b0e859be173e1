package templates

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

func TestNumericPrefix(t *testing.T) {
	tests := []struct {
		in   string
		want any
		kind numKind
	}{
		{"42", int64(42), numericText},
		{" 42 ", int64(42), numericText},
		{"\t-3.5\n", -3.5, numericText},
		{"1e3", 1000.0, numericText},
		{".5", 0.5, numericText},
		{"5.", 5.0, numericText},
		{"+7", int64(7), numericText},
		{"9223372036854775808", 9223372036854775808.0, numericText},
		{"12abc", int64(12), leadingNumeric},
		{"1e", int64(1), leadingNumeric},
		{"1.5 x", 1.5, leadingNumeric},
		{"", int64(0), nonNumeric},
		{"  ", int64(0), nonNumeric},
		{"abc", int64(0), nonNumeric},
		{".", int64(0), nonNumeric},
		{"-", int64(0), nonNumeric},
		{"0x1A", int64(0), leadingNumeric},
		{"inf", int64(0), nonNumeric},
	}
	for _, tt := range tests {
		got, kind := numericPrefix(tt.in)
		require.Equal(t, tt.want, got, tt.in)
		require.Equal(t, tt.kind, kind, tt.in)
	}
}

func TestGcvt(t *testing.T) {
	tests := []struct {
		f    float64
		prec int
		want string
	}{
		{0.1 + 0.2, 14, "0.3"},
		{1e14, 14, "1.0E+14"},
		{99999999999999, 14, "99999999999999"},
		{1e25, 14, "1.0E+25"},
		{math.Copysign(0, -1), 14, "-0"},
		{0.0001, 14, "0.0001"},
		{0.00001, 14, "1.0E-5"},
		{1.5e-7, 14, "1.5E-7"},
		{math.Inf(-1), 14, "-INF"},
		{math.NaN(), 14, "NAN"},
		{1e100, 0, "1.0e+100"},
		{1e15, 0, "1000000000000000"},
		{1e16, 0, "10000000000000000"},
		{1e17, 0, "1.0e+17"},
		{123456789.12345678, 0, "123456789.12345678"},
		{0.1, 0, "0.1"},
		{2.5, 0, "2.5"},
	}
	for _, tt := range tests {
		e := byte('E')
		if tt.prec == 0 {
			e = 'e'
		}
		require.Equal(t, tt.want, gcvt(tt.f, tt.prec, e), "%v", tt.f)
	}
}

func TestPHPIntCast(t *testing.T) {
	require.Equal(t, int64(7766279631452241920), phpIntCast(1e20))
	require.Equal(t, int64(math.MinInt64), phpIntCast(9223372036854775808.0))
	require.Equal(t, int64(-3), phpIntCast(-3.9))
	require.Equal(t, int64(0), phpIntCast(math.NaN()))
}

func TestPHPCompare(t *testing.T) {
	m := func(kv ...any) *dict.Map { return dict.Of(kv...) }
	tests := []struct {
		a, b any
		want int
	}{
		{nil, int64(0), 0},
		{nil, []any{}, 0},
		{nil, "", 0},
		{nil, "a", -1},
		{[]any{}, false, 0},
		{"0", false, 0},
		{true, "a", 0},
		{true, int64(3), 0},
		{"abc", int64(0), 1},
		{"1e3", "1000", 0},
		{" 1", int64(1), 0},
		{"10", "9", 1},
		{"10", "9a", -1},
		{m("a", int64(1), "b", int64(2)), m("b", int64(2), "a", int64(1)), 0},
		{[]any{int64(1), int64(2), int64(3)}, []any{int64(1), int64(2)}, 1},
		{m("a", int64(1)), m("b", int64(1)), 1},
		{m("b", int64(1)), m("a", int64(1)), 1},
		{[]any{"x"}, m("0", "x"), 0},
		{[]any{}, int64(5), 1},
		{int64(5), []any{}, -1},
		{math.NaN(), math.NaN(), 1},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, phpCompare(tt.a, tt.b), "%#v <=> %#v", tt.a, tt.b)
	}
}

func TestPHPOperators(t *testing.T) {
	env := New()
	tests := []struct{ src, want, err string }{
		{`{{ "12abc" + 1 }}`, "13", ""},
		{`{{ "abc" + 1 }}`, "", "unsupported operand types: string + int"},
		{`{{ "" * 2 }}`, "", "unsupported operand types: string * int"},
		{`{{ [1] % 2 }}`, "", "unsupported operand types: array % int"},
		{`{{ -"x" }}`, "", "unsupported operand types: string * int"},
		{`{{ "x" is even }}`, "", "unsupported operand types: string % int"},
		{`{{ 9223372036854775807 ** 1 }}`, "9223372036854775807", ""},
		{`{{ 3 ** 40 }}`, "1.2157665459057E+19", ""},
		{`{{ 1e+20 // 1 }}`, "7766279631452241920", ""},
		{`{{ -2 ** 2 }}|{{ (-2) ** 2 }}|{{ (0 - 2) ** 2 }}`, "-4|-4|4", ""},
		{`{{ "0" b-and "a" }}|{{ "false" b-or "0" }}|{{ 6 b-xor 3 }}`, " |valse|5", ""},
		{`{{ [] b-and "x" }}`, "", "unsupported operand types: array & string"},
		{`{{ not 1 }}|{{ not 0 }}|{{ 1 < 2 < 3 }}`, "|1|", ""},
		{`{{ 123 starts with 1 ? 'T' : 'F' }}{{ '123' starts with '1' ? 'T' : 'F' }}`, "FT", ""},
		{`{{ -0.0 }}|{{ (-0.0)|abs }}|{{ 1e+14 }}`, "-0|0|1.0E+14", ""},
	}
	for _, tt := range tests {
		out, err := env.Render(tt.src, nil)
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err, tt.src)
			continue
		}
		require.NoError(t, err, tt.src)
		require.Equal(t, tt.want, out, tt.src)
	}
}

func TestPHPRound(t *testing.T) {
	tests := []struct {
		v      float64
		places int
		want   float64
	}{
		{1.005, 2, 1.01}, {0.285, 2, 0.29}, {2.5, 0, 3}, {-2.5, 0, -3}, {0.49999999999999994, 0, 1},
		{1234.5, 0, 1235}, {1234.5678, 2, 1234.57}, {1234.5, -2, 1200}, {0.125, 2, 0.13}, {1e20, 2, 1e20},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, phpRound(tt.v, tt.places), "%v, %d", tt.v, tt.places)
	}
	require.True(t, math.Signbit(phpRound(-0.4, 0)), "-0.4 rounds to -0")
}
