package templates

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTwigRender(t *testing.T) {
	t.Parallel()
	runCases(t, []renderCase{
		{"numeric strings add", `{{ "1" + "2" }}`, `3`, ""},
		{"division gives a float", `{{ 10/4 }}`, `2.5`, ""},
		{"booleans print as 1 and empty", `[{{ true }}][{{ false }}]`, `[1][]`, ""},
		{"zero text is false", `{{ zero ? 'y' : 'n' }}`, `n`, ""},
		{"numeric comparison", `{{ "10" > "9" ? 'y' : 'n' }}`, `y`, ""},
		{"functions come before variables", `{% set range = 'x' %}{{ range(1, 3)|join }}`, `123`, ""},
		{"django filter argument still works", `{{ list|join:"-" }}`, `3-1-2`, ""},
		{"colon ends a ternary branch", `{{ t ? list|join : 'n' }}`, `312`, ""},
		{"method calls give null (there are no objects)", `[{{ nested.keys() }}]`, `[]`, ``},
		{"reserved names", `{% set _tw_x = 1 %}`, ``, `reserved`},
		{"unknown tag", `{% spaceless %}{% endspaceless %}`, ``, `1:4: unknown tag "spaceless"`},
		{"unknown function", `{{ nope(1) }}`, ``, `1:4: unknown function "nope"`},
		{"unknown test", `{{ n is nope }}`, ``, `1:9: unknown test "nope"`},
		{"platform function", "\n  {{ cerb_url('c=x') }}", ``, `2:6: function cerb_url() is a Cerb platform function and is not available in hookhost`},
		{"platform filter", `{{ n|context_name }}`, ``, `filter context_name is a Cerb platform filter`},
		{"unclosed block", "{% if t %}\nx", ``, `1:4: unclosed`},
		{"arrow outside arguments", `{{ x => 1 }}`, ``, `1:6: unexpected "=>"`},
		{"division by zero", "x\n{{ 1 / 0 }}", ``, `2:6: division by zero`},
		{"arithmetic on a list", `{{ list * 2 }}`, ``, `unsupported operand types`},
		{"string cap applies to ~", `{% set s = 'x' %}{% for i in range(1, 30) %}{% set s = s ~ s %}{% endfor %}`, ``, `string longer than`},
	})
}

func TestTwigRandomStringShape(t *testing.T) {
	t.Parallel()
	env := New()
	re := regexp.MustCompile(`^[a-z0-9]{6}$`)
	seen := map[string]bool{}
	for range 20 {
		out, err := env.Render(`{{ random_string(6)|lower }}`, nil)
		require.NoError(t, err)
		require.Regexp(t, re, out)
		seen[out] = true
	}
	require.Greater(t, len(seen), 1)
}

// TestTwigTrimBlocksConcurrent renders a template that relies on trim_blocks
// and whitespace control from many goroutines: the output never changes
// (pongo2's own TrimBlocks option would race).
func TestTwigTrimBlocksConcurrent(t *testing.T) {
	t.Parallel()
	env := New()
	data := mustData(t, testData)
	tpl, err := env.Compile("{% for w in words %}\n{{ loop.index }}={{ w }}\n{%- if not loop.last %},{% endif %}\n{% endfor %}\n{{ n ~ '!' }}")
	require.NoError(t, err)
	want := "1=b,2=a,3=c42!"
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if got, err := tpl.Render(data); err != nil || got != want {
					errs <- fmt.Sprintf("%q %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		require.Fail(t, e)
	}
}

// TestTwigTranslation checks that the translation is plain pongo2 (with
// the helper filters) and that nothing Twig-specific is left.
func TestTwigTranslation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ twig, pongo string }{
		{`{{ a.b[c] }}`, `{{ a.b[c] }}`},
		{`{{ a ~ 'x' }}`, `{{ (a|_tw_str + "x") }}`},
		{`{{ a|date('Y') }}`, `{{ (a|date("Y")) }}`},
		{`{{ a + 1 }}`, `{{ (a|_tw_add:1) }}`},
		{`{% if a %}x{% elseif b %}y{% endif %}`, `{% if a %}x{% elif b %}y{% endif %}`},
		{"{% set x = [1] %}\nz", `{% set x = _tw_list(1) %}z`},
		// json_encode writes the pretty text for the json_pretty after it.
		{`{{ a|json_encode|json_pretty }}`, `{{ ((a|_tw_json_encode_pretty)|json_pretty) }}`},
		{`{{ a|json_encode|json_pretty|length }}`, `{{ ((((a|_tw_json_encode_pretty)|json_pretty))|length) }}`},
		{`{{ a|json_encode(1)|json_pretty }}`, `{{ (((a|json_encode(1)))|json_pretty) }}`},
		{`{{ a|json_encode|trim|json_pretty }}`, `{{ (((((a|json_encode))|trim))|json_pretty) }}`},
	} {
		tr, err := translate(tc.twig, scriptSyntax)
		require.NoError(t, err, tc.twig)
		require.Equal(t, tc.pongo, tr.src, tc.twig)
		require.False(t, strings.Contains(tr.src, "~"), tc.twig)
	}
}

// TestTwigArrowArguments checks that an arrow function is taken only where
// a filter expects one (the first argument of map, filter, reduce and
// sort, or the one named arrow) and refused anywhere else when the
// template is compiled, with its line:col: Twig compiles it and fails at
// run time, and here converting it to text recursed without end and
// crashed the process (a stack overflow, which no recover catches).
func TestTwigArrowArguments(t *testing.T) {
	env := New()
	data := mustData(t, `{"d": {"l": [3, 1, 2], "s": "abc"}}`)
	const refused = "an arrow function is only allowed as the first argument of map, filter, reduce and sort"
	tests := []struct {
		name, src, want string
		col             int // of the refused arrow function's =>; 0: accepted
	}{
		{"Map", `{{ d.l|map(v => v * 2)|join(',') }}`, "6,2,4", 0},
		{"Filter", `{{ d.l|filter(v => v > 1)|join(',') }}`, "3,2", 0},
		{"Reduce", `{{ d.l|reduce((c, v) => c + v, 0) }}`, "6", 0},
		{"Sort", `{{ d.l|sort((a, b) => a <=> b)|join(',') }}`, "1,2,3", 0},
		{"Named", `{{ d.l|map(arrow=v => v + 1)|join(',') }}`, "4,2,3", 0},
		{"Escape", `{{ d.s|e((c, v) => v) }}`, "", 17},
		{"Join", `{{ d.l|join(v => v) }}`, "", 15},
		{"ReduceInitial", `{{ d.l|reduce((c, v) => c + v, v => v) }}`, "", 34},
		{"Function", `{{ max(v => v, 1) }}`, "", 10},
		{"Test", `{{ d.s is same as(v => v) }}`, "", 21},
		{"NamedOther", `{{ d.l|reduce(arrow=(c, v) => c, initial=v => v) }}`, "", 44},
		{"FuzzSeed", `{{d|e((c,v)=>v,)}}(`, "", 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.col == 0 {
				out, err := env.Render(tt.src, data)
				require.NoError(t, err)
				require.Equal(t, tt.want, out)
				return
			}
			_, err := env.Compile(tt.src)
			var te *Error
			require.ErrorAs(t, err, &te)
			require.Equal(t, refused, te.Msg)
			require.Equal(t, 1, te.Line)
			require.Equal(t, tt.col, te.Col)
		})
	}
}
