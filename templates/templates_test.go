package templates

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

func TestRender(t *testing.T) {
	t.Parallel()
	runCases(t, []renderCase{
		{"no markup", `plain`, `plain`, ""},
		{"autoescape off", `{{ name }}|{{ html }}`, `Ada <Lovelace>|<p>Hi <b>there</b></p>`, ""},
		{"missing values render empty", `[{{ missing }}][{{ missing.deeper.still }}][{{ nested.nope }}][{{ list.9 }}][{{ n.x }}]`, `[][][][][]`, ""},
		{"printing", `{{ t }}|{{ fa }}|{{ nul }}|{{ whole }}|{{ f }}|{{ n }}|{{ 1.0 }}`, `1|||2|1.5|42|1`, ""},
		{"dict and list print as JSON", `{{ nested }} {{ list }}`, `{"z":1,"a":{"y":"deep"},"m":[1,2]} [3,1,2]`, ""},
		{"attribute and subscript", `{{ nested.a.y }} {{ nested["a"]["y"] }} {{ headers["content-type"] }} {{ nested.m.1 }} {{ nested["m"][0] }}`, `deep deep application/json 2 1`, ""},
		{"subscript with variable", `{% set k = "x-custom" %}{{ headers[k] }}`, `yes`, ""},
		{"methods are not callable", `[{{ nested.Keys }}][{{ nested.Len }}]`, `[][]`, ""},
		{"for k, v keeps order", `{% for k, v in nested %}{{ k }};{% endfor %}`, `z;a;m;`, ""},
		{"for v over dict gives values", `{% for v in headers %}{{ v }};{% endfor %}`, `application/json;yes;`, ""},
		{"for i, v over list", `{% for i, v in words %}{{ i }}={{ v }};{% endfor %}`, `0=b;1=a;2=c;`, ""},
		{"for sorted and reversed dict", `{% for k in nested|keys|sort %}{{ k }}{% endfor %} {% for k, v in nested|reverse %}{{ k }}{% endfor %}`, `amz maz`, ""},
		{"for else", `{% for v in emptydict %}x{% else %}none{% endfor %}`, `none`, ""},
		{"loop", `{% for v in list %}{{ loop.index }}{% if loop.last %}!{% endif %}{% endfor %}`, `123!`, ""},
		{"if on dicts", `{% if emptydict %}a{% else %}b{% endif %}{% if nested %}c{% endif %}{% if not emptydict %}d{% endif %}`, `bcd`, ""},
		{"in on dict values (Twig)", `{% if "deep" in nested.a %}y{% endif %}{% if "a" in nested %}n{% endif %}{% if 2 in list %}l{% endif %}`, `yl`, ""},
		{"list equality does not panic", `{% if list == list %}eq{% endif %}{% if n == 42.0 %}num{% endif %}`, `eqnum`, ""},
		{"set and with", `{% set x = n + 1 %}{{ x }}{% with {y: nested.a.y} %}{{ y }}{% endwith %}`, `43deep`, ""},
		{"whitespace control", "{%- if t -%}\n  x  \n{%- endif -%}", `x`, ""},
		{"trim_blocks", "{% if t %}\nx{% endif %}\n\ny", "x\ny", ""},
		{"comment", `a{# hidden #}b`, `ab`, ""},
		{"unknown filter is a compile error", `{{ n|nope }}`, ``, `1:6: unknown filter "nope"`},
		{"syntax error position", "line1\nline2 {{ n + }}", ``, `2:`},
		{"unclosed tag", "{% if t %}x", ``, `1:`},
		{"filter runtime error position", "\n\n  {{ [1]|upper }}", ``, `3:`},
	})
}

func TestBannedTags(t *testing.T) {
	t.Parallel()
	env := New()
	for _, src := range []string{
		`{% include "/etc/passwd" %}`,
		`{% ssi "/etc/passwd" %}`,
		`{% ssi "/etc/passwd" parsed %}`,
		`{% import "x.tpl" y %}`,
		`{% extends "/etc/passwd" %}`,
		`{% block b %}{% endblock %}`,
		`{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}`,
		`{% lorem 1000000000 w %}`,
	} {
		t.Run(src, func(t *testing.T) {
			t.Parallel()
			_, err := env.Compile(src)
			require.Error(t, err)
			var te *Error
			require.ErrorAs(t, err, &te)
			tag := strings.Fields(strings.TrimPrefix(src, "{%"))[0]
			require.Equal(t, fmt.Sprintf("1:4: tag %q is not allowed (templates cannot read files or define macros)", tag), err.Error())
			require.NotContains(t, err.Error(), "root:")
		})
	}
	for _, f := range []string{"center", "ljust", "rjust", "stringformat", "floatformat"} {
		_, err := env.Compile(`{{ "x"|` + f + `:1000000000 }}`)
		require.ErrorContains(t, err, fmt.Sprintf("filter %q is not allowed", f))
	}
}

func TestErrorsAreClean(t *testing.T) {
	t.Parallel()
	env := New()
	_, err := env.Compile("ok\n  {% for %}")
	var te *Error
	require.ErrorAs(t, err, &te)
	require.Equal(t, 2, te.Line)
	require.Positive(t, te.Col)
	require.NotContains(t, te.Msg, "[Error")
	require.NotContains(t, te.Msg, "where:")
	require.Equal(t, te.Msg, strings.ToLower(te.Msg[:1])+te.Msg[1:])
}

func TestCompileCache(t *testing.T) {
	t.Parallel()
	env := New()
	a, err := env.Compile("{{ n }}")
	require.NoError(t, err)
	b, err := env.Compile("{{ n }}")
	require.NoError(t, err)
	require.Same(t, a, b)
	require.Equal(t, 1, env.cache.len())
	c, err := New().Compile("{{ n }}")
	require.NoError(t, err)
	require.NotSame(t, a, c, "the cache is per Env")

	small := New(WithCacheSize(3))
	first, _ := small.Compile("{{ 1 }}")
	for i := range 10 {
		_, err := small.Compile(fmt.Sprintf("{{ %d }}", i+2))
		require.NoError(t, err)
	}
	require.Equal(t, 3, small.cache.len())
	again, _ := small.Compile("{{ 1 }}")
	require.NotSame(t, first, again, "evicted")

	off := New(WithCacheSize(0))
	x, _ := off.Compile("{{ 1 }}")
	y, _ := off.Compile("{{ 1 }}")
	require.NotSame(t, x, y)
}

func TestLimits(t *testing.T) {
	t.Parallel()
	env := New(WithOutputLimit(100), WithLoopLimit(1000))
	_, err := env.Render(`{% for i in range(1, 20) %}xxxxxxxxxx{% endfor %}`, nil)
	require.EqualError(t, err, "template output limit exceeded: output longer than 100 bytes")
	_, err = env.Render(`{% for i in range(1, 100) %}{% for j in range(1, 100) %}{% endfor %}{% endfor %}`, nil)
	require.ErrorContains(t, err, "template loop limit exceeded")
	_, err = env.Render(`{% set s = "xxxxxxxxxxxxxxxxxxxx" %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s|length }}`, nil)
	require.ErrorContains(t, err, "string longer than 100 bytes")
	out, err := env.Render(`{% for i in range(1, 10) %}x{% endfor %}`, nil)
	require.NoError(t, err)
	require.Equal(t, "xxxxxxxxxx", out)
	var te *Error
	_, err = env.Render(`{{ range(1, 200000) }}`, nil)
	require.ErrorAs(t, err, &te)
}

func TestRenderNilData(t *testing.T) {
	t.Parallel()
	out, err := New().Render(`[{{ x }}]{{ 1 + 2 }}`, nil)
	require.NoError(t, err)
	require.Equal(t, "[]3", out)
}

func TestHasMarkup(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"a": false, "{{x}}": true, "{%x%}": true, "{#x#}": true, "{ {": false} {
		require.Equal(t, want, HasMarkup(s), s)
	}
}

func TestConcurrentRender(t *testing.T) {
	t.Parallel()
	env := New()
	data := mustData(t, testData)
	tpl, err := env.Compile(`{% for k, v in nested %}{{ k }}={{ v|json_encode }};{% endfor %}{{ headers|json_encode|json_pretty }}{{ name|upper }}`)
	require.NoError(t, err)
	want, err := tpl.Render(data)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				got, err := tpl.Render(data)
				if err != nil || got != want {
					errs <- fmt.Errorf("got %q, %v", got, err)
					return
				}
				if _, err := env.Compile(`{{ n }}` + fmt.Sprint(len(got)%3)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestRenderDoesNotModifyData(t *testing.T) {
	t.Parallel()
	data := dict.Of("d", dict.Of("a", int64(1)))
	_, err := New().Render(`{% set x = dict_set(d, "b", 2) %}{{ x|json_encode }}`, data)
	require.NoError(t, err)
	require.Equal(t, `{"d":{"a":1}}`, encodeJSON(data))
}

// TestCerbDictionary checks how a template reads Cerb's dictionary (the
// default) and Twig's context (WithTwigContext): Cerb renders with an
// empty Twig context and reads the dictionary through an
// undefined-variable callback, so _context lists only the template's own
// variables and a false variable reads as null.
func TestCerbDictionary(t *testing.T) {
	t.Parallel()
	data := dict.New(2)
	data.Set("f", false)
	data.Set("t", true)
	tests := []struct {
		name, src, cerb, twig string
	}{
		{"false reads as null", `{{ f|json_encode }} {{ t|json_encode }}`, `null true`, `false true`},
		{"_context keys", `{% set x = 1 %}{{ _context|keys|join(',') }}`, `x`, `f,t,x`},
		{"set false stays false", `{% set g = false %}{{ g|json_encode }}`, `false`, `false`},
		{"false in a map", `{{ {'a': f}|json_encode }}`, `{"a":null}`, `{"a":false}`},
	}
	cerb, twig := New(), New(WithTwigContext())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct {
				env  *Env
				want string
			}{{cerb, tt.cerb}, {twig, tt.twig}} {
				got, err := c.env.Render(tt.src, data)
				if err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("%s: got %q, want %q", tt.src, got, c.want)
				}
			}
		})
	}
}
