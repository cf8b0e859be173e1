package templates

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// guideData is a realistic webhook request dictionary (about 10 headers).
const guideData = `{"response": {
  "request_method": "POST", "request_path": "/webhooks/4f1c/orders", "request_client_ip": "203.0.113.9",
  "request_headers": {"host": "hooks.example.com", "user-agent": "curl/8.5.0", "accept": "*/*",
    "content-type": "application/json", "content-length": "57", "x-customheader": "true",
    "x-request-id": "7d1e9a52-0c4b-4f7e-9a51-2f4f1c3d9e10", "x-forwarded-for": "203.0.113.9",
    "x-forwarded-proto": "https", "accept-encoding": "gzip, deflate, br"},
  "request_params": {"key": "value", "page": "2"},
  "request_body": "{\"order\":{\"id\":1234,\"items\":[\"a\",\"b\"],\"total\":19.99}}"}}`

// go test ./templates -run '^$' -bench . -benchmem
func BenchmarkRenderGuideBody(b *testing.B) {
	env := New()
	data := mustData(b, guideData)
	tpl, err := env.Compile(`{{response|json_encode|json_pretty}}`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderSmall(b *testing.B) {
	env := New()
	data := mustData(b, guideData)
	tpl, err := env.Compile(`{"method":"{{ response.request_method }}","key":"{{ response.request_params.key|upper }}","type":{{ response.request_headers["content-type"]|json_encode }}}`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderLoop(b *testing.B) {
	env := New()
	data := mustData(b, guideData)
	tpl, err := env.Compile(`{% for k, v in response.request_headers %}{{ k }}: {{ v }}
{% endfor %}`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile compiles a new source each time (cache miss).
func BenchmarkCompile(b *testing.B) {
	env := New(WithCacheSize(0))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := env.Compile(fmt.Sprintf(`{%% if x %%}{{ response.request_headers["content-type"]|default:"none" }}{%% endif %%} %d`, i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileCached is a cache hit.
func BenchmarkCompileCached(b *testing.B) {
	env := New()
	src := `{{response|json_encode|json_pretty}}`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Compile(src); err != nil {
			b.Fatal(err)
		}
	}
}

// twigBench and plainBench are the same template in Twig and in plain pongo2
// syntax: a loop with the loop variable, concatenation, filters with
// arguments, a conditional, a test and arithmetic.
const (
	twigBench = `{% for k, v in response.request_headers %}{{ loop.index }}. {{ k|upper ~ ': ' ~ v }}{% if not loop.last %}, {% endif %}{% endfor %}
{{ response.request_params.key|default('none')|upper }} {{ response.request_method == 'POST' ? 'write' : 'read' }} {{ response.request_params.key is empty ? 'empty' : 'set' }}
{{ response.request_path|trim('/') ~ '/' ~ response.request_client_ip }} {{ response.request_headers['content-length'] * 2 }}
{% if response.request_headers['x-customheader'] == 'true' %}custom{% elseif response.request_method == 'GET' %}get{% endif %}`
	plainBench = `{% for k, v in response.request_headers %}{{ forloop.Counter }}. {{ k|upper + ": " + v }}{% if not forloop.Last %}, {% endif %}{% endfor %}{{ response.request_params.key|default:"none"|upper }} {% if response.request_method == "POST" %}write{% else %}read{% endif %} {% if not response.request_params.key %}empty{% else %}set{% endif %}{{ "\n" }}{{ response.request_path|trim:"/" + "/" + response.request_client_ip }} {{ response.request_headers.content_length * 2 }}{{ "\n" }}{% if response.request_headers["x-customheader"] == "true" %}custom{% elif response.request_method == "GET" %}get{% endif %}`
)

// compilePlain compiles pongo2 source without the Twig translation.
func compilePlain(tb testing.TB, e *Env, src string) *Template {
	tb.Helper()
	pt, err := e.set.FromString(src)
	if err != nil {
		tb.Fatal(err)
	}
	return &Template{src: src, tpl: pt, env: e}
}

func benchData(tb testing.TB) *dict.Map {
	d := mustData(tb, guideData)
	// plain pongo2 multiplies numbers only; the Twig template gets the text
	d.Value("response").(*dict.Map).Value("request_headers").(*dict.Map).Set("content_length", int64(57))
	return d
}

func TestBenchTemplatesAgree(t *testing.T) {
	t.Parallel()
	env := New()
	data := benchData(t)
	tw, err := env.Compile(twigBench)
	require.NoError(t, err)
	a, err := tw.Render(data)
	require.NoError(t, err)
	b, err := compilePlain(t, env, plainBench).Render(data)
	require.NoError(t, err)
	require.Equal(t, b, a)
	require.Contains(t, a, "1. HOST: hooks.example.com, 2. USER-AGENT")
}

// go test ./templates -run '^$' -bench 'Twig|Plain' -benchmem
func BenchmarkRenderTwig(b *testing.B) {
	env := New()
	data := benchData(b)
	tpl, err := env.Compile(twigBench)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderPlain(b *testing.B) {
	env := New()
	data := benchData(b)
	tpl := compilePlain(b, env, plainBench)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileTwig(b *testing.B) {
	env := New(WithCacheSize(0))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Compile(twigBench); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompilePlain(b *testing.B) {
	env := New(WithCacheSize(0))
	b.ReportAllocs()
	for b.Loop() {
		env.compileMu.Lock()
		_, err := env.compile(plainBench)
		env.compileMu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
}
