package templates

import (
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flosch/pongo2/v6"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// render renders src in the given syntax ("script" or "package").
func render(env *Env, syntax, src string, data *dict.Map) (string, error) {
	if syntax == "package" {
		return env.RenderPackage(src, data)
	}
	return env.Render(src, data)
}

// limitOf returns the name of the limit err reports, or "" when it is not
// a limit error. A limit error is always an *Error.
func limitOf(t *testing.T, err error) string {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		return ""
	}
	var te *Error
	require.ErrorAs(t, err, &te, "a limit error is wrapped in an *Error")
	require.Equal(t, le.Error(), te.Msg)
	return le.Limit
}

// noTime is a time limit no test reaches, so that the limit a test expects
// is not replaced by the time limit on a slow machine.
const noTime = time.Hour

func TestNoGlobalRegistration(t *testing.T) {
	t.Parallel()
	env := New()
	out, err := env.Render(`{{ "a/b"|json_encode }}{% for v in [1] %}{{ v + 1 }}{% endfor %}`, nil)
	require.NoError(t, err)
	require.Equal(t, `"a\/b"2`, out)

	// pongo2's process-wide registries hold none of hookhost's filters and
	// tags (some names, like date, are also pongo2 builtins): a plain pongo2
	// set does not know them.
	for _, name := range []string{"json_encode", "json_pretty", "json_decode", "md5", "hash_hmac", "base64_encode",
		"batch", "merge", "map", "reduce", "kata_encode", "_tw_add", "_tw_str", "_tw_cat", "_tw_is_empty"} {
		require.False(t, pongo2.FilterExists(name), "filter %q is registered globally", name)
	}
	plain := pongo2.NewSet("plain", noLoader{})
	for _, src := range []string{`{% _tw_for v in x %}{% _tw_endfor %}`, `{% _tw_do 1 %}`, `{{ x|json_encode }}`, `{{ x|_tw_add:1 }}`} {
		_, err := plain.FromString(src)
		require.Error(t, err, src)
	}
}

func TestEnvsAreIndependent(t *testing.T) {
	t.Parallel()
	small := New(WithLimits(Limits{Output: 10, Time: noTime}))
	large := New()
	src := `{% for i in 1..5 %}xxxx{% endfor %}`
	_, err := small.Render(src, nil)
	require.Equal(t, "output", limitOf(t, err))
	out, err := large.Render(src, nil)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("xxxx", 5), out)
	require.Equal(t, DefaultLoopLimit, int(large.Limits().Loop))
	require.Equal(t, 10, small.Limits().String, "String defaults to Output")
}

func TestInternalHelpersUnreachable(t *testing.T) {
	t.Parallel()
	env := New()
	data := dict.Of("x", int64(1))
	for _, src := range []string{
		`{{ x|_tw_add(1) }}`,
		`{{ x|_tw_add:1 }}`,
		`{{ 1|_tw_str }}`,
		`{{ _tw_list(1) }}`,
		`{{ _tw_null() }}`,
		`{{ _tw_var("x") }}`,
		`{{ _tw_t1 }}`,
		`{% set _tw_t1 = 1 %}`,
		`{% for _tw_x in [1] %}{% endfor %}`,
		`{% _tw_do 1 %}`,
		`{% _tw_for v in [1] %}{% _tw_endfor %}`,
		`{{ x|capfirst }}`,
		`{{ x|safe }}`,
		`{{ x|stringformat:"%d" }}`,
		`{% filter _tw_str %}x{% endfilter %}`,
		`{% apply capfirst %}x{% endapply %}`,
		`{% autoescape on %}x{% endautoescape %}`,
		`{{ [1]|map((_tw_a) => 1) }}`,
	} {
		for _, syntax := range []string{"script", "package"} {
			s := src
			if syntax == "package" {
				s = strings.NewReplacer("{{", "{{{", "}}", "}}}", "{%", "{{%", "%}", "%}}").Replace(src)
			}
			t.Run(syntax+" "+src, func(t *testing.T) {
				t.Parallel()
				out, err := render(env, syntax, s, data)
				require.Error(t, err, "rendered %q", out)
				var te *Error
				require.ErrorAs(t, err, &te)
				require.Positive(t, te.Line, "a compile error has a position: %v", err)
			})
		}
	}
}

func TestPackageSyntax(t *testing.T) {
	t.Parallel()
	env := New()
	data := dict.Of("key", "Hello World", "list", []any{"a", "b"}, "t", true, "f", false)
	tests := []struct {
		name, src, want string
	}{
		{"filters of scripts", `{{{ "a/b"|json_encode }}} {{{ list|join(', ') }}}`, `"a\/b" a, b`},
		{"true prints 1", `[{{{ t }}}][{{{ f }}}][{{{ key == 'x' }}}]`, `[1][][]`},
		{"floats print as in PHP", `{{{ 0.1 + 0.2 }}} {{{ 10 / 4 }}} {{{ 1.0 }}}`, `0.3 2.5 1`},
		{"Twig operators", `{{{ "1" + "2" }}} {{{ key ~ "!" }}} {{{ key starts with "H" ? "y" : "n" }}}`, `3 Hello World! y`},
		{"script markup is text", "{{{key}}}: {{ response|json_encode }} {% if x %}{{x}}{% endif %} {# c #}", "Hello World: {{ response|json_encode }} {% if x %}{{x}}{% endif %} {# c #}"},
		{"lone braces", "x{ {{{key}}}} {", "x{ Hello World} {"},
		{"tags and trim_blocks", "{{% for x in list %}}\n[{{{x}}}]{{% endfor %}}", "[a][b]"},
		{"comment", "a{{# one\ntwo #}}b", "ab"},
		{"whitespace control", "a  {{{- key -}}}  b", "aHello Worldb"},
		{"U+0001 is text", "\x00\x01{{{key}}}\x01\xff", "\x00\x01Hello World\x01\xff"},
		{"hash shorthand", "{{{{key}}}}", `{"key":"Hello World"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := env.RenderPackage(tt.src, data)
			require.NoError(t, err)
			require.Equal(t, tt.want, out)
		})
	}
	// The same text is a script in the other syntax: the caches are apart.
	out, err := env.Render(`{{ key }}`, data)
	require.NoError(t, err)
	require.Equal(t, "Hello World", out)
	out, err = env.RenderPackage(`{{ key }}`, data)
	require.NoError(t, err)
	require.Equal(t, "{{ key }}", out)
	_, err = env.RenderPackage("x {{{ key", data)
	require.EqualError(t, err, `1:3: unclosed "{{{"`)
}

func TestRuntimeFaultsAreErrors(t *testing.T) {
	t.Parallel()
	env := New()
	tests := []struct {
		name, src, want, wantErr string
	}{
		{"division by zero", `{{ 1 / 0 }}`, "", "1:6: division by zero"},
		{"float division by zero", `{{ 1 / 0.0 }}`, "", "1:6: division by zero"},
		{"floor division by zero", `{{ 1 // 0 }}`, "", "1:6: division by zero"},
		{"modulo by zero", `{{ 1 % 0 }}`, "", "1:6: modulo by zero"},
		{"modulo of the smallest integer by -1", `{{ (-9223372036854775807 - 1) % -1 }}`, "0", ""},
		{"integer overflow becomes a float", `{{ 9223372036854775807 + 1 }} {{ 9223372036854775807 * 9223372036854775807 }}`, "9.2233720368548E+18 8.5070591730235E+37", ""},
		{"huge power of one", `{{ 1 ** 1000000000000000000 }} {{ (-1) ** 1000000000000000001 }} {{ 2 ** 62 }}`, "1 -1 4611686018427387904", ""},
		{"random over the whole int64 range", `{{ random(-9223372036854775807 - 1, 9223372036854775807) is numeric }}`, "1", ""},
		{"divisible by zero", `[{{ 5 is divisible by(0) }}]`, "", "1:10: modulo by zero"},
		{"huge slice bounds", `{{ "abc"|slice(9223372036854775807, 9223372036854775807) }}{{ "abc"[-9223372036854775807:9223372036854775807] }}`, "abc", ""},
		{"huge batch size", `{{ [1, 2]|batch(9223372036854775807)|json_encode }}`, "[[1,2]]", ""},
		{"huge batch size, keys not kept", `{{ [1, 2]|batch(9223372036854775807, null, false)|json_encode }}`, "[[1,2]]", ""},
		{"deep JSON", `{{ json_decode("[" ~ ("["|repeat(20000)) ~ "]") is null }}`, "1", ""},
		{"bad pattern gives nothing, as preg_match's false", `[{{ "x"|regexp("/(/") }}]`, "[]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := env.Render(tt.src, nil)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tt.wantErr)
				require.NotContains(t, err.Error(), "template failed", "a recovered panic")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, out)
		})
	}
}

// nested returns depth arrow functions nested in map filters.
func nested(depth int) string {
	var b strings.Builder
	b.WriteString("{{ [1]")
	for i := range depth {
		v := "v" + strings.Repeat("x", i%3)
		b.WriteString("|map(" + v + " => [" + v + "]")
	}
	b.WriteString(strings.Repeat(")", depth))
	b.WriteString("|length }}")
	return b.String()
}

func TestHostileTemplatesHitLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		syntax string
		src    string
		limits Limits
		want   string // the limit
		// hostile is set for templates that fail with the default limits
		// too (the others need the smaller limits of the case).
		hostile bool
	}{
		// From the "Hardening" issue.
		{"doubling string in a package placeholder", "package",
			`{{% set s = "xx" %}}{{% for i in 1..100 %}}{{% set s = s ~ s %}}{{% endfor %}}{{{ s|length }}}`, Limits{}, "string", true},
		{"doubling string in a script", "script",
			`{% set s = "xx" %}{% for i in 1..100 %}{% set s = s ~ s %}{% endfor %}{{ s|length }}`, Limits{}, "string", true},
		{"nested loops in a package placeholder", "package",
			`{{% for i in 1..100000 %}}{{% for j in 1..100000 %}}{{% endfor %}}{{% endfor %}}`, Limits{Loop: 10_000}, "loop", false},
		{"nested loops in a script", "script",
			`{% for i in 1..100000 %}{% for j in 1..100000 %}{% endfor %}{% endfor %}`, Limits{Loop: 10_000}, "loop", false},
		{"batch with a fill value", "script", `{{ [1]|batch(50000000, 'x')|length > 5 }}`, Limits{}, "items", true},
		// Memory-hungry filters and operators.
		{"repeat", "script", `{{ "abc"|repeat(100000000) }}`, Limits{}, "string", true},
		{"join", "script", `{{ range(1, 100000)|join("x"|repeat(1000)) }}`, Limits{String: 1 << 20}, "string", false},
		{"replace", "script", `{{ ("a"|repeat(100000))|replace({"a": "b"|repeat(1000)}) }}`, Limits{String: 1 << 20}, "string", false},
		{"indent", "script", `{{ ("\n"|repeat(100000))|indent("x"|repeat(1000)) }}`, Limits{String: 1 << 20}, "string", true},
		{"alphanum", "script", `{{ ("-"|repeat(100000))|alphanum("", "x"|repeat(1000)) }}`, Limits{String: 1 << 20}, "string", false},
		{"number_format", "script", `{{ 1e+300|number_format(0, ".", "x"|repeat(1000000)) }}`, Limits{}, "string", true},
		{"date", "script", `{{ "now"|date("r"|repeat(1000000)) }}`, Limits{}, "string", true},
		{"escape", "script", `{{ ("<"|repeat(500000))|e }}`, Limits{String: 1 << 20}, "string", false},
		{"json_pretty", "script", `{{ (("["|repeat(5000)) ~ ("]"|repeat(5000)))|json_pretty }}`, Limits{String: 1 << 20}, "string", false},
		{"split", "script", `{{ (","|repeat(2000000))|split(",")|length }}`, Limits{}, "items", true},
		{"split into characters", "script", `{{ ("x"|repeat(2000000))|split("")|length }}`, Limits{}, "items", true},
		{"characters sorted", "script", `{{ ("x"|repeat(999999))|split("")|sort|length }}`, Limits{}, "memory", true},
		{"merge doubling", "script",
			`{% set l = range(1, 1000) %}{% for i in 1..30 %}{% set l = l|merge(l) %}{% endfor %}{{ l|length }}`, Limits{Items: 100_000}, "items", true},
		{"shared items", "script",
			`{% set a = [1] %}{% for i in 1..100 %}{% set a = [a, a] %}{% endfor %}{{ a|length }}`, Limits{}, "value", true},
		{"shared items in a dictionary", "script",
			`{% set a = {k: 1} %}{% for i in 1..100 %}{% set a = {x: a, y: a} %}{% endfor %}{{ a|length }}`, Limits{}, "value", true},
		{"deep nesting", "script",
			`{% set a = 1 %}{% for i in 1..30000 %}{% set a = [a] %}{% endfor %}{{ a|length }}`, Limits{Loop: 50_000}, "nesting", false},
		{"arrow functions nested too deep", "script", nested(100), Limits{}, "nesting", true},
		{"many big strings kept", "script",
			`{% set l = [] %}{% for i in 1..1000 %}{% set l = l|merge([("x"|repeat(1000000)) ~ i]) %}{% endfor %}{{ l|length }}`, Limits{Memory: 32 << 20}, "memory", false},
		{"captured block", "script",
			`{% set s %}{% for i in 1..10000 %}xxxxxxxxxx{% endfor %}{% endset %}{{ s|length }}`, Limits{String: 1000}, "string", false},
		{"range in a loop", "script",
			`{% for i in 1..100000 %}{% set r = range(1, 10000) %}{% endfor %}`, Limits{Memory: 8 << 20}, "memory", false},
		{"output", "script", `{% for i in 1..100000 %}xxxxxxxxxx{% endfor %}`, Limits{Output: 1000}, "output", false},
		{"sort with an arrow function", "script",
			`{{ range(1, 100000)|sort((a, b) => b <=> a)|length }}`, Limits{Loop: 10_000}, "loop", false},
		{"time", "script", `{% for i in 1..100000 %}{{ i }}{% endfor %}`, Limits{Time: time.Nanosecond}, "time", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := tt.limits
			if l.Time == 0 {
				l.Time = noTime
			}
			_, err := render(New(WithLimits(l)), tt.syntax, tt.src, nil)
			require.Error(t, err)
			require.Equal(t, tt.want, limitOf(t, err), "error: %v", err)
			require.Contains(t, err.Error(), " limit exceeded: ")
			if !tt.hostile {
				return
			}

			// With the default limits the render fails too (which limit
			// comes first depends on the machine).
			_, err = render(New(), tt.syntax, tt.src, nil)
			require.Error(t, err)
			require.NotEmpty(t, limitOf(t, err), "error: %v", err)
		})
	}
}

func TestCompileTimeNesting(t *testing.T) {
	t.Parallel()
	env := New()
	for name, src := range map[string]string{
		"parentheses": "{{ " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + " }}",
		"lists":       "{{ " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + " }}",
		"blocks":      strings.Repeat("{% if 1 %}", 5000) + strings.Repeat("{% endif %}", 5000),
		"operators":   "{{ 1" + strings.Repeat(" ~ 1", 5000) + " }}",
		"filters":     "{{ 1" + strings.Repeat("|abs", 5000) + " }}",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := env.Compile(src)
			require.ErrorContains(t, err, "template nesting limit exceeded")
			_, err = env.CompilePackage(strings.NewReplacer("{{", "{{{", "}}", "}}}", "{%", "{{%", "%}", "%}}").Replace(src))
			require.ErrorContains(t, err, "template nesting limit exceeded")
		})
	}
}

func TestRegexpBounds(t *testing.T) {
	t.Parallel()
	env := New()
	data := dict.Of("big", strings.Repeat("a", 1<<20))
	for _, src := range []string{
		`{{ big matches "/` + strings.Repeat("(a?)", 500) + `b/" }}`,
		`{{ big|regexp("/` + strings.Repeat("(a|b)", 2000) + `/") }}`,
		`{{ regexp_match_all("/` + strings.Repeat("a{1000}", 100) + `/", big)|length }}`,
		`{{ "x" matches "/` + strings.Repeat("a", 20000) + `/" }}`,
	} {
		_, err := env.Render(src, data)
		require.Error(t, err)
		require.Regexp(t, `pattern (too complex|longer than)`, err.Error())
	}
	out, err := env.Render(`{{ big matches "/^a+$/" }}`, data)
	require.NoError(t, err)
	require.Equal(t, "1", out)
}

func TestRenderContextCanceled(t *testing.T) {
	t.Parallel()
	env := New(WithLimits(Limits{Time: noTime}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tpl, err := env.Compile(`{% for i in 1..100000 %}{{ i }}{% endfor %}`)
	require.NoError(t, err)
	_, err = tpl.RenderContext(ctx, nil)
	require.Equal(t, "canceled", limitOf(t, err))
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "template render canceled: context canceled")

	// The Env's states are reused: the next render starts afresh.
	out, err := tpl.Render(nil)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "12345"))
}

func TestLimitErrorsNameTheLimit(t *testing.T) {
	t.Parallel()
	for _, le := range []*LimitError{
		{Limit: "output", Max: 1}, {Limit: "string", Max: 1}, {Limit: "items", Max: 1}, {Limit: "value", Max: 1},
		{Limit: "memory", Max: 1}, {Limit: "loop", Max: 1}, {Limit: "time", Max: int64(time.Second)},
		{Limit: "nesting", Max: 1},
	} {
		name := strings.TrimSuffix(le.Limit, "s") // "items" is the item limit
		require.Contains(t, le.Error(), "template "+name+" limit exceeded: ")
	}
	require.Equal(t, "template render canceled: context canceled", (&LimitError{Limit: "canceled", Cause: context.Canceled}).Error())
}

// TestHostileTemplatesAllocateLittle checks that the hostile templates of
// the "Hardening" issue fail before they allocate: the bytes allocated while
// rendering each stay far below what the template asks for. It measures the
// process's allocations, so it does not run in parallel (parallel tests
// start only after the sequential ones).
func TestHostileTemplatesAllocateLittle(t *testing.T) {
	const bound = 100 << 20
	env := New(WithLimits(Limits{Time: noTime, Loop: 100_000}))
	for _, tt := range []struct{ syntax, src string }{
		{"script", `{{ [1]|batch(50000000, 'x')|length > 5 }}`},
		{"package", `{{% set s = "xx" %}}{{% for i in 1..100 %}}{{% set s = s ~ s %}}{{% endfor %}}{{{ s|length }}}`},
		{"package", `{{% for i in 1..100000 %}}{{% for j in 1..100000 %}}{{% endfor %}}{{% endfor %}}`},
		{"script", `{% set l = range(1, 1000) %}{% for i in 1..30 %}{% set l = l|merge(l) %}{% endfor %}`},
		{"script", `{% set a = [1] %}{% for i in 1..100 %}{% set a = [a, a] %}{% endfor %}{{ a|json_encode }}`},
		{"script", `{% set l = [] %}{% for i in 1..1000 %}{% set l = l|merge([("x"|repeat(1000000)) ~ i]) %}{% endfor %}`},
		{"script", `{{ (","|repeat(16000000))|split(",")|length }}`},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := render(env, tt.syntax, tt.src, nil)
		runtime.ReadMemStats(&after)
		require.NotEmpty(t, limitOf(t, err), "%s: %v", tt.src, err)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(bound), tt.src)
	}
}

// TestCaptureWriterFull checks the capture writer's own refusal.
func TestCaptureWriterFull(t *testing.T) {
	t.Parallel()
	w := &captureWriter{max: 3}
	_, err := io.WriteString(w, "abcd")
	require.Error(t, err)
	require.True(t, w.over)
}

// TestOutputOfOneValue checks renders whose first write is kept as a
// string (a template printing one value) against those written through
// the output buffer, and that the output limit counts that first write (Output is 20 bytes).
func TestOutputOfOneValue(t *testing.T) {
	t.Parallel()
	data := dict.Of("s", "héllo", "e", "", "n", int64(12), "big", strings.Repeat("x", 30), "mid", strings.Repeat("x", 15))
	for _, tc := range []struct {
		src, want, limit string
	}{
		{src: `{{ s }}`, want: "héllo"},
		{src: `{{ s|upper }}`, want: "HÉLLO"},
		{src: `{{ n }}`, want: "12"},
		{src: `{{ e }}`, want: ""},
		{src: `{{ e }}{{ s }}`, want: "héllo"},
		{src: `{{ s }}{{ e }}{{ s }}`, want: "héllohéllo"},
		{src: `{{ s }}, {{ n }}!`, want: "héllo, 12!"},
		{src: `>{{ s }}`, want: ">héllo"},
		{src: `{% for i in 1..3 %}{{ s }}{% endfor %}`, want: "héllohéllohéllo"},
		{src: `{{ big }}`, limit: "output"},
		{src: `{{ s }}{{ s }}{{ s }}{{ s }}`, limit: "output"},
		{src: `{{ s }}{{ big }}`, limit: "output"},
		{src: `{{ mid }}{{ s }}`, limit: "output"},
		{src: `{{ mid }}{{ s|length }}`, want: "xxxxxxxxxxxxxxx5"},
	} {
		env := New(WithLimits(Limits{Output: 20, Time: noTime}))
		out, err := env.Render(tc.src, data)
		if tc.limit != "" {
			require.Equal(t, tc.limit, limitOf(t, err), tc.src)
			continue
		}
		require.NoError(t, err, tc.src)
		require.Equal(t, tc.want, out, tc.src)
		// The state goes back to the pool holding no text of the render.
		again, err := env.Render(`{{ n }}-{{ n }}`, data)
		require.NoError(t, err)
		require.Equal(t, "12-12", again)
	}
}

// TestBuiltListsCountTheirCost checks that the memory limit counts what
// the lists and dictionaries of a render really cost: a template turning a
// 1 MB body into a million items fails with the memory limit, and the
// bytes it allocated before failing stay within 3 times the limit (list
// items counted as 24 bytes and dictionary entries as 48, counted after
// split and sort had built them and more, let {{ body|split("")|sort }}
// allocate 450 MiB under the 128 MiB limit). It measures the process's
// allocations, so it does not run in parallel.
func TestBuiltListsCountTheirCost(t *testing.T) {
	const limit = 32 << 20
	body := strings.Repeat("abcdefghij", 100_000)[:999_999]
	data := dict.Of(
		"body", body,
		"numbers", "["+strings.Repeat("1234,", 199_999)+"1]",
		"query", strings.Repeat("a[]=1&", 166_665)+"a[]=1",
	)
	env := New(WithLimits(Limits{Time: noTime, Memory: limit}))
	for _, src := range []string{
		`{{ body|split('')|sort }}`,
		`{{ body|split('')|batch(1)|length }}`,
		`{{ body|split('')|filter(x => x != 'a')|length }}`,
		`{{ body|split('', 2)|sort|length }}`,
		`{{ numbers|json_decode|sort|length }}`,
		`{{ query|url_decode('json')|json_decode|length }}`,
	} {
		t.Run(src, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := env.Render(src, data)
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d MiB allocated", allocated>>20)
			require.Equal(t, "memory", limitOf(t, err), "error: %v", err)
			require.ErrorContains(t, err, "template memory limit exceeded: more than 33554432 bytes built")
			require.Less(t, allocated, uint64(3*limit), "allocated %d MiB", allocated>>20)
		})
	}
}

// TestItemCosts checks the bytes accounted for a list item and a
// dictionary entry against what building them allocates (the items' text
// aside): a new list item costs its slot and its box, an item copied from
// another list its slot, a dictionary entry a slot, a box, its key and its
// slot in the index, which a presized dictionary fills; an arrow function
// call the values and the scope pongo2 builds for it.
func TestItemCosts(t *testing.T) {
	if mdRaceEnabled {
		t.Skip("the race detector changes allocations")
	}
	const n = 100_000
	items := make([]string, n)
	for i := range items {
		items[i] = "x" + strconv.Itoa(i)
	}
	perItem := func(build func()) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		build()
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / n
	}
	var list []any
	listCost := perItem(func() {
		list = make([]any, n)
		for i, s := range items {
			list[i] = s
		}
	})
	var clone []any
	slotCost := perItem(func() { clone = slices.Clone(list) })
	var m *dict.Map
	entryCost := perItem(func() {
		m = dict.New(n)
		for i, s := range items {
			m.Set(strconv.Itoa(i), s)
		}
	})
	require.Len(t, clone, n)
	require.Equal(t, n, m.Len())
	t.Logf("bytes allocated for a new list item: %.1f, a list slot: %.1f, a dictionary entry: %.1f", listCost, slotCost, entryCost)
	require.LessOrEqual(t, listCost, 1.1*itemBytes, "a new list item")
	require.LessOrEqual(t, slotCost, 1.1*slotBytes, "a list slot")
	require.LessOrEqual(t, entryCost, float64(2*entryBytes), "a dictionary entry")
	require.GreaterOrEqual(t, entryCost, float64(entryBytes/2), "a dictionary entry")

	// An arrow function call: map's calls, less the slots of its list.
	tpl, err := New(WithLimits(Limits{Time: noTime})).Compile(`{{ l|map(x => x)|length }}`)
	require.NoError(t, err)
	data := dict.Of("l", list)
	var out string
	callCost := perItem(func() { out, err = tpl.Render(data) }) - slotBytes
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(n), out)
	t.Logf("bytes allocated for an arrow function call: %.1f", callCost)
	require.LessOrEqual(t, callCost, 1.5*callBytes, "an arrow function call")
	require.GreaterOrEqual(t, callCost, float64(callBytes/2), "an arrow function call")
}

// TestJSONDecodeCost checks what json_decode prepays (jsonCost): less
// than before (a comma or bracket at entryBytes) for text that is not an
// array or object (a CSV body probed) and for documents with lists, never
// fewer items than the text decodes into and, unless the race detector
// changes allocations, at least half of what decoding allocates (an entry
// costs more than entryBytes, as TestItemCosts allows).
func TestJSONDecodeCost(t *testing.T) {
	const n = 20_000
	obj := make([]string, n)
	for i := range obj {
		obj[i] = `"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i)
	}
	tests := []struct {
		name, doc string
		less      bool // charged less than before
	}{
		{"csv", strings.Repeat("id,name,\"a, b\"\n", n), true},
		{"numbers", "[" + strings.Repeat("1234,", n) + "1]", true},
		{"strings", "[" + strings.Repeat(`"a,b:c",`, n) + `"x"]`, true},
		{"lists", " [" + strings.Repeat(`[1,2],`, n) + "[]]", true},
		{"objects", "[" + strings.Repeat(`{"a":1,"b":[true,null]},`, n) + "{}]", true},
		{"object", "{" + strings.Join(obj, ",") + "}", false}, // as before, and a bracket
		{"text", `"` + strings.Repeat("a,[{", n) + `"`, true},
		{"not UTF-8", `["` + strings.Repeat("\xff", 3*n) + `"]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := int64(len(tt.doc)) + int64(strings.Count(tt.doc, ",")+strings.Count(tt.doc, "[")+strings.Count(tt.doc, "{"))*entryBytes
			st := newState()
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			v, err := st.decodeJSON(tt.doc)
			runtime.ReadMemStats(&m1)
			require.NoError(t, err)
			charged := st.lim.Used
			alloc := int64(m1.TotalAlloc - m0.TotalAlloc)
			t.Logf("%d bytes of text: charged %d, before %d, allocated %d", len(tt.doc), charged, before, alloc)
			require.Equal(t, st.prepaid, charged)
			if tt.less {
				require.Less(t, charged, before)
			}
			items, _ := jsonCost(tt.doc)
			require.GreaterOrEqual(t, items, countItems(v))
			if !mdRaceEnabled {
				require.GreaterOrEqual(t, 2*charged, alloc)
			}
		})
	}
}

// countItems is the number of list items and dictionary entries in v.
func countItems(v any) int64 {
	var n int64
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			n += 1 + countItems(x)
		}
	case *dict.Map:
		t.Range(func(_ string, x any) bool {
			n += 1 + countItems(x)
			return true
		})
	}
	return n
}

// TestListResultsChargeListItems checks that batch without the keys and
// filter keeping the first items of a list, which return lists, prepay
// what the lists cost, less than a dictionary entry an item; and that
// split(d, 2) of a long text, repeated, stays within a memory limit its
// pieces do not reach.
func TestListResultsChargeListItems(t *testing.T) {
	t.Parallel()
	const n = 1000
	list := make([]any, n)
	for i := range list {
		list[i] = int64(i)
	}
	firstHalf := pongo2.Lambda(func(args ...any) (any, error) { return args[1].(int64) < n/2, nil })
	tests := []struct {
		name   string
		call   func(st *state) (any, error)
		before int64 // charged before: a dictionary entry an item
		want   any
	}{
		{
			name:   "batch(2, null, false)",
			call:   func(st *state) (any, error) { return fBatch(st, list, int64(2), nil, false) },
			before: n*entryBytes + n/2*containerBytes,
			want:   []any{list[0:2], list[2:4]},
		},
		{
			name:   "batch(3, 'x', false)",
			call:   func(st *state) (any, error) { return fBatch(st, list, int64(3), "x", false) },
			before: (n+2)*entryBytes + (n+2)/3*containerBytes,
			want:   []any{list[0:3], list[3:6]},
		},
		{
			name:   "batch(2, null, false) of a dictionary",
			call:   func(st *state) (any, error) { return fBatch(st, pick(nil, list, []int{5, 6, 7}), int64(2), nil, false) },
			before: 3*entryBytes + 2*containerBytes,
			want:   []any{[]any{int64(5), int64(6)}, []any{int64(7)}},
		},
		{
			name:   "filter((v, k) => k < 500)",
			call:   func(st *state) (any, error) { return fFilter(st, list, firstHalf) },
			before: n*callBytes + n/2*entryBytes,
			want:   list[:n/2],
		},
	}
	for _, tt := range tests {
		st := newState()
		out, err := tt.call(st)
		require.NoError(t, err, tt.name)
		got, ok := out.([]any)
		require.True(t, ok, "%s: %T", tt.name, out)
		if l, ok := tt.want.([]any); ok && len(l) > 0 {
			if _, batches := l[0].([]any); batches {
				require.Equal(t, l, got[:len(l)], tt.name)
			} else {
				require.Equal(t, l, got, tt.name)
			}
		}
		t.Logf("%s: charged %d, before %d", tt.name, st.lim.Used, tt.before)
		require.Less(t, st.lim.Used, tt.before, tt.name)
	}

	body := strings.Repeat("a line\n", 100_000)
	env := New(WithLimits(Limits{Time: noTime, Memory: 1 << 20}))
	out, err := env.Render(`{% for i in 1..60 %}{{ body|split("\n", 2)|first|length }}{% endfor %}`, dict.Of("body", body))
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("6", 60), out)
}

// TestBatchHugeSizeAllocatesItsItems: batch with a huge size and no fill
// allocates for the items it has, not for the size (review rev3:
// batch(50000000, null, false) of two items allocated 762 MB).
func TestBatchHugeSizeAllocatesItsItems(t *testing.T) {
	env := New()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := env.Render(`{{ [1, 2]|batch(50000000, null, false)|json_encode }}`, nil)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Equal(t, "[[1,2]]", out)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20))
}
