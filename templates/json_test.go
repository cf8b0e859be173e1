package templates

import (
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flosch/pongo2/v6"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

func TestPHPJSONEncode(t *testing.T) {
	env := New()
	tests := []struct{ src, want string }{
		{`{{ 'a/b'|json_encode }}`, `"a\/b"`},
		{`{{ 'é😀'|json_encode }}`, `"\u00e9\ud83d\ude00"`},
		{`{{ '<&>\''|json_encode }}`, `"<&>'"`},
		{`{{ '<&>\'"'|json_encode(15) }}`, `"\u003C\u0026\u003E\u0027\u0022"`},
		{`{{ {}|json_encode }}{{ []|json_encode }}{{ {}|json_encode(16) }}{{ [1]|json_encode(16) }}`, `[][]{}{"0":1}`},
		{`{{ {'0': 'a', '1': 'b'}|json_encode }}|{{ {'1': 'a'}|json_encode }}`, `["a","b"]|{"1":"a"}`},
		{`{{ 1e+100|json_encode }} {{ 0.1|json_encode }} {{ 1.0|json_encode }} {{ 1.0|json_encode(1024) }}`, `1.0e+100 0.1 1 1.0`},
		{`{{ {'a': [1, {}]}|json_encode(128) }}`, "{\n    \"a\": [\n        1,\n        []\n    ]\n}"},
		{`{{ 'x/é'|json_encode(320) }}`, `"x/é"`},
		{`{{ '12'|json_encode(32) }}{{ '1.5'|json_encode(32) }}{{ 'x'|json_encode(32) }}`, `121.5"x"`},
		{"[{{ '\xff'|json_encode }}]{{ '\xff'|json_encode(1048576) }}{{ '\xff'|json_encode(2097152) }}", `[]"""\ufffd"`},
		{"{{ {'\u2028': 1}|json_encode(256) }}{{ '\u2028'|json_encode(2304) }}", "{\"\\u2028\":1}\"\u2028\""},
	}
	for _, tt := range tests {
		out, err := env.Render(tt.src, nil)
		require.NoError(t, err, tt.src)
		require.Equal(t, tt.want, out, tt.src)
	}
}

// checkReencode checks that reencode writes what decoding and encoding
// again writes (or leaves in to the slow way).
func checkReencode(t *testing.T, in string) {
	t.Helper()
	const flags = jsonPrettyPrint | jsonUnescapedSlashes | jsonInvalidUTF8Substitute
	e := phpJSONEncoder{flags: flags}
	valid, slow := e.reencode(in)
	var want string
	if v, err := dict.DecodeJSON([]byte(in)); err == nil {
		out, ok, _ := phpJSONEncode(v, flags, 0)
		if !ok {
			out = "false"
		}
		want = out
	} else if strings.Contains(err.Error(), "out of range") && json.Valid([]byte(in)) {
		// PHP's json_decode reads a number past float's range in valid
		// JSON as INF, which json_encode refuses: false, as reencode gives.
		want = "false"
	} else {
		want = "null"
	}
	got := "null"
	switch {
	case slow:
		return
	case valid && e.err != nil:
		got = "false"
	case valid:
		got = string(e.b)
	}
	require.Equal(t, want, got, "%q", in)
}

// FuzzJSONPrettyReencode is TestJSONPrettyReencode on any text. Text that
// is JSON only to one side (invalid UTF-8 or a lone surrogate escape,
// which PHP refuses and dict.DecodeJSON reads as U+FFFD; nesting past
// json_decode's depth) is skipped.
func FuzzJSONPrettyReencode(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"x\/y\n"}],"c":{"0":1,"1":2}}`, `["\u00e9/<&>'\"",1.5e3,-0,null]`, `{"k":{},"l":[]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) || strings.Contains(in, `\u`) || strings.Count(in, "[")+strings.Count(in, "{") > 500 {
			return
		}
		checkReencode(t, in)
	})
}

// TestJSONPrettyReencode checks that json_pretty's streaming path writes
// what decoding and encoding again writes.
func TestJSONPrettyReencode(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `{"a":{}}`, `{"0":"a","1":"b"}`, `{"1":"a","0":"b"}`, `{"0":"a","2":"b"}`,
		`{"a":1,"a":2}`, `{"a\u00e9":1}`, `{"x":"\u00E9\/\"\\\n"}`, ` [1, 2.50, -0, -0.0, 1e2, 1E-7, 12345678901234567890] `,
		`"s"`, `123`, `true`, `null`, `{"a":[{"0":{"0":[]}}]}`, `{"k":"é/x","n":null,"b":false}`,
		`{"0":1,"1":2,"2":{"0":3}}`, `["\ud83d\ude00"]`,
		`{"a":1,}`, `[1,]`, `{"a" 1}`, `nope`, ``, `[01]`, `["a"]x`, "[\"\x01\"]",
	}
	for _, in := range inputs {
		checkReencode(t, in)
	}
	// PHP's json_decode refuses a lone surrogate (dict.DecodeJSON reads
	// it as U+FFFD)
	e := phpJSONEncoder{flags: jsonPrettyPrint | jsonUnescapedSlashes | jsonInvalidUTF8Substitute}
	valid, _ := e.reencode(`["\ud800"]`)
	require.False(t, valid)
}

// TestJSONPrettyOfEncoded checks `x|json_encode|json_pretty`, which
// encodes x again directly, against json_pretty of the same text read
// back (a trim between them).
func TestJSONPrettyOfEncoded(t *testing.T) {
	t.Parallel()
	env := New()
	for _, tc := range []struct {
		name string
		x    any
	}{
		{"Nested", dict.Of("z", int64(1), "a", dict.Of("y", "deep/é\u2028\"<>&'"), "m", []any{int64(1), nil, true, false})},
		{"ListKeys", dict.Of("0", "a", "1", dict.Of("1", "x", "0", "y"))},
		{"Empty", dict.Of("d", dict.New(0), "l", []any{}, "s", "")},
		{"NumericKeys", dict.Of("5", "a", "-0", "b", "00", "c", "", "d")},
		{"NegativeZero", dict.Of("f", math.Copysign(0, -1))},
		{"Floats", []any{1.0, 1.5, 1e25, 0.1, -2.0}},
		{"Scalar", "a/b"},
		{"Slashes", dict.Of("a/b", `\/`, "c", `\\//"/`, "/", []any{"/", `"/`, `\`, "é/€/😀\x01/"})},
		{"Structural", dict.Of("{[,:]}", `"{[,:]}\"`, "\\", []any{"]", "}", "[]", "{}", ",", ":", `\"`, `\\`}, "e", []any{[]any{}, dict.New(0)})},
		{"Int", int64(-7)},
		{"Closure", dict.Of("f", pongo2.Lambda(func(...any) (any, error) { return nil, nil }))},
		{"Deep", func() any {
			var v any = "x"
			for range 100 {
				v = []any{v}
			}
			return v
		}()},
		{"Deep40", func() any {
			var v any = "x"
			for i := range 40 {
				v = dict.Of("k", v, "i", int64(i))
			}
			return v
		}()},
	} {
		data := dict.Of("x", tc.x)
		want, err := env.Render(`{{ x|json_encode|trim|json_pretty }}`, data)
		require.NoError(t, err, tc.name)
		// Encoded once, pretty (fJSONEncodePretty); and from the text of
		// the value of the json_encode just before, encoded again (prettyOfEncoded).
		for _, src := range []string{`{{ x|json_encode|json_pretty }}`, `{% set j = x|json_encode %}{{ j|json_pretty }}`} {
			got, err := env.Render(src, data)
			require.NoError(t, err, tc.name)
			require.Equal(t, want, got, "%s: %s", tc.name, src)
		}
	}
}

// TestJSONPrettyOfEncoded_Invalid checks `x|json_encode|json_pretty` where
// json_encode gives false (invalid UTF-8, which json_pretty's own flags
// would substitute): json_pretty of false is "".
func TestJSONPrettyOfEncoded_Invalid(t *testing.T) {
	t.Parallel()
	env := New()
	for _, x := range []any{"a\xffb", dict.Of("k", []any{"ok", "\xc3"}), dict.Of("\xff", int64(1))} {
		data := dict.Of("x", x)
		got, err := env.Render(`[{{ x|json_encode|json_pretty }}]`, data)
		require.NoError(t, err)
		require.Equal(t, "[]", got, "%q", x)
		got, err = env.Render(`[{{ x|json_encode|json_pretty is same as(false) ? "f" : "t" }}]`, data)
		require.NoError(t, err)
		require.Equal(t, "[t]", got, "%q", x)
	}
}

// TestPrettyExtra checks that json_pretty's string limit check after a
// json_encode, which sizes the text from the encoded value
// (prettyExtra), asks for what prettySize reading the text asks for.
func TestPrettyExtra(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		x    any
	}{
		{"Nested", dict.Of("z", int64(1), "a", dict.Of("y", "deep/é\u2028\"<>&'"), "m", []any{int64(1), nil, true, false})},
		{"ListKeys", dict.Of("0", "a", "1", dict.Of("1", "x", "0", "y"))},
		{"Empty", dict.Of("d", dict.New(0), "l", []any{}, "s", "", "n", (*dict.Map)(nil))},
		{"EmptyTop", []any{}},
		{"EmptyMapTop", dict.New(0)},
		{"Structural", dict.Of("{[,:]}", `"{[,:]}\"`, "\\", []any{"]", "}", ",", ":", `\"`, `\\`})},
		{"NumericKeys", dict.Of("5", "a", "-0", "b", "00", "c", "", "d")},
		{"Ints", []any{int64(-7), int64(0), 12, int64(1) << 62}},
		{"Scalar", "a/b"},
		{"Request", dict.Of("http", dict.Of("method", "POST", "headers", dict.Of("x-customheader", "true", "host", "127.0.0.1:8080"),
			"params", dict.Of("key", "value")), "client", dict.Of("ip", "127.0.0.1"))},
		{"Deep", func() any {
			var v any = dict.Of("k", "x")
			for i := range 60 {
				if i%2 == 0 {
					v = []any{v, int64(i)}
				} else {
					v = dict.Of("a", v, "b", []any{})
				}
			}
			return v
		}()},
	} {
		require.True(t, roundTrips(tc.x, 0), tc.name)
		s, ok, _ := phpJSONEncode(tc.x, 0, 0)
		require.True(t, ok, tc.name)
		for _, indent := range []int64{0, 4} {
			extra, ok := prettyExtra(tc.x, 0, indent)
			require.True(t, ok, tc.name)
			require.Equal(t, prettySize(s, indent), int64(len(s))+extra, "%s indent %d: %s", tc.name, indent, s)
		}
	}
	// Where it cannot tell, as roundTrips.
	deep := func(n int) any {
		var v any = "x"
		for range n {
			v = []any{v}
		}
		return v
	}
	for _, x := range []any{1.5, dict.Of("a", []any{int64(1), 2.0}), deep(64), deep(65), deep(100),
		dict.Of("f", pongo2.Lambda(func(...any) (any, error) { return nil, nil }))} {
		_, ok := prettyExtra(x, 0, 4)
		require.Equal(t, roundTrips(x, 0), ok, "%v", x)
	}
}

// TestJSONPrettyOfEncoded_StringLimit checks that `x|json_encode|json_pretty`
// fails on the string limit exactly when json_pretty of the text read back
// does.
func TestJSONPrettyOfEncoded_StringLimit(t *testing.T) {
	t.Parallel()
	x := dict.Of("a", []any{int64(1), dict.Of("b", "c,d:[]"), []any{}}, "e", dict.New(0))
	s, _, _ := phpJSONEncode(x, 0, 0)
	size := int(prettySize(s, 4))
	for _, limit := range []int{len(s) - 1, len(s), size - 1, size, size + 1} {
		env := New(WithLimits(Limits{String: limit}))
		data := dict.Of("x", x)
		want, wantErr := env.Render(`{{ x|json_encode|trim|json_pretty }}`, data)
		for i, src := range []string{`{{ x|json_encode|json_pretty }}`, `{% set j = x|json_encode %}{{ j|json_pretty }}`} {
			got, gotErr := env.Render(src, data)
			require.Equal(t, limit < size, gotErr != nil, "limit %d %s: %v", limit, src, gotErr)
			require.Equal(t, want, got, "limit %d %s", limit, src)
			if gotErr == nil {
				continue
			}
			var gotTE, wantTE *Error
			require.ErrorAs(t, gotErr, &gotTE)
			require.ErrorAs(t, wantErr, &wantTE)
			require.Equal(t, wantTE.Msg, gotTE.Msg, "limit %d %s", limit, src)
			if i == 0 {
				// At the filter that failed: json_encode (column 6) when
				// its text is too long, else json_pretty (18).
				col := 18
				if limit < len(s) {
					col = 6
				}
				require.Equal(t, [2]int{1, col}, [2]int{gotTE.Line, gotTE.Col}, "limit %d", limit)
			}
		}
	}
}

// TestJSONPrettyOfEncoded_Bounded checks that `x|json_encode|json_pretty`
// of a value whose pretty text is far past the string limit (deep indents
// over a compact text within it) builds no more than the limit allows
// before failing, and fails as the unfused filters do.
func TestJSONPrettyOfEncoded_Bounded(t *testing.T) {
	// Not parallel: TotalAlloc counts the whole process.
	zeros := func(n int) []any {
		l := make([]any, n)
		for i := range l {
			l[i] = int64(0)
		}
		return l
	}
	nest := func(v any, n int) any {
		for range n {
			v = []any{v}
		}
		return v
	}
	rows := func(n, k int) []any {
		x := make([]any, k)
		for i := range x {
			x[i] = zeros(n)
		}
		return x
	}
	for _, tc := range []struct {
		name   string
		x      any
		string int
	}{
		// Compact ~24 KB, pretty ~3 MB: past the limit at json_pretty.
		{"PrettyPast", nest(rows(100, 120), 61), 128 << 10},
		{"PrettyPastSmall", nest(rows(100, 120), 61), 32 << 10},
		// Blanks within the limit, the pretty text past it.
		{"PrettyJustPast", rows(100, 120), 128 << 10},
		// Compact past the limit: json_encode fails.
		{"CompactPast", nest(rows(100, 120), 61), 16 << 10},
		// Within it: the text.
		{"Fits", nest(rows(10, 10), 10), 128 << 10},
	} {
		env := New(WithLimits(Limits{String: tc.string, Memory: 8 << 20}))
		data := dict.Of("x", tc.x)
		want, wantErr := env.Render(`{% set j = x|json_encode %}{{ j|json_pretty }}`, data)
		const src = `{{ x|json_encode|json_pretty }}`
		_, _ = env.Render(src, data) // compiled and pooled
		// The least of a few renders: under the race detector sync.Pool
		// drops a quarter of what it is given, and a render without its
		// pooled state allocates that state again.
		var (
			got    string
			gotErr error
			alloc  uint64
		)
		for i := range 5 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, gotErr = env.Render(src, data)
			runtime.ReadMemStats(&after)
			if a := after.TotalAlloc - before.TotalAlloc; i == 0 || a < alloc {
				alloc = a
			}
		}
		t.Logf("%s: %d bytes allocated", tc.name, alloc)
		require.Less(t, alloc, uint64(4*tc.string+64<<10), tc.name)
		require.Equal(t, want, got, tc.name)
		require.Equal(t, wantErr != nil, gotErr != nil, "%s: %v", tc.name, gotErr)
		if wantErr != nil {
			var gotTE, wantTE *Error
			require.ErrorAs(t, gotErr, &gotTE)
			require.ErrorAs(t, wantErr, &wantTE)
			require.Equal(t, wantTE.Msg, gotTE.Msg, tc.name)
		}
	}
}

// TestJSONPrettyOfEncoded_InvalidLimit checks `x|json_encode|json_pretty`
// of invalid UTF-8 under small string limits against the unfused filters:
// json_encode's false (or its string limit error), not the pretty text's.
func TestJSONPrettyOfEncoded_InvalidLimit(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{8, 16, 32} {
		env := New(WithLimits(Limits{String: limit}))
		for _, x := range []any{dict.Of("a\xff", "bb"), dict.Of("k", []any{"ok", "\xc3", "/////"}), "a\xffb/c",
			[]any{[]any{[]any{"\xff"}}}, dict.Of("long", strings.Repeat("x", 40), "bad", "\xff")} {
			data := dict.Of("x", x)
			want, wantErr := env.Render(`[{% set j = x|json_encode %}{{ j|json_pretty }}]`, data)
			got, gotErr := env.Render(`[{{ x|json_encode|json_pretty }}]`, data)
			require.Equal(t, want, got, "limit %d %q", limit, x)
			require.Equal(t, wantErr != nil, gotErr != nil, "limit %d %q: %v", limit, x, gotErr)
			if wantErr != nil {
				var gotTE, wantTE *Error
				require.ErrorAs(t, gotErr, &gotTE)
				require.ErrorAs(t, wantErr, &wantTE)
				require.Equal(t, wantTE.Msg, gotTE.Msg, "limit %d %q", limit, x)
			}
		}
	}
}
