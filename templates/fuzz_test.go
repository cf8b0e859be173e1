package templates

import (
	"errors"
	"strings"
	"testing"
)

// FuzzRender compiles and renders arbitrary template source: it must not
// panic or hang (loops are bounded by the loop and output limits), and every
// error must be an *Error. Seeds live in testdata/fuzz/FuzzRender.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		`{{ d|json_encode|json_pretty }}`,
		`{% for k, v in d %}{{ k }}={{ v }}{% endfor %}`,
		`{% for i in range(1, 100000) %}{% for j in range(1, 100000) %}{{ i }}{% endfor %}{% endfor %}`,
		`{% set s = "ab" %}{% for i in range(1, 64) %}{% set s = s + s %}{% endfor %}{{ s }}`,
		`{{ d.l == d.l }}{{ d.l|slice:1 }}{{ d.s|regexp:"/(a)/" }}`,
		`{% ssi "/etc/passwd" %}`,
		`{{ dict_set(d, "a.[].b", 1)|keys }}`,
		// Twig
		"{{ d.l|map((v, k) => k ~ '=' ~ v)|join(',') }}{{ d.s ? 'a' : 'b' }}{{ d.x ?: 'c' }}{{ d.x ?? 'd' }}",
		"{% for v in d.l %}{{ loop.index }}{% else %}none{% endfor %}{%- if d.a is not empty -%}\n x {% elseif 1 %}{% endif %}",
		`{{ [1, {a: d.s}, "#{d.a} x"]|json_encode }}{{ d.s[1:] }}{{ d.s starts with 'a' }}{{ 1 <=> 2 }}`,
		`{% set x %}{{ d.s|upper }}{% endset %}{% apply lower %}{{ x }}{% endapply %}{% do x %}{% verbatim %}{{ }}{% endverbatim %}`,
		`{{ d.l|filter(v => v is numeric)|reduce((c, v) => c + v, 0) }}{{ "1" + "2" }}{{ 10 / 4 }}{{ d.l|sort((a, b) => b <=> a)|first }}`,
		`{{ (d.l|first) is same as(1) }}{{ d.s is prefixed ('a') }}{{ d.s matches '/^a/' }}{{ d.s not in ['x'] }}{{ 'x\ny' }}`,
	} {
		f.Add(s)
	}
	env := New(WithOutputLimit(1<<16), WithLoopLimit(10_000), WithCacheSize(64))
	data := mustData(f, `{"d": {"a": 1, "l": [1, "x", {"k": null}], "s": "abc", "m": {}}}`)
	f.Fuzz(func(t *testing.T, src string) {
		_, err := env.Render(src, data)
		var te *Error
		if err != nil && !errors.As(err, &te) {
			t.Fatalf("error %T is not *templates.Error: %v", err, err)
		}
		if err != nil && (strings.HasPrefix(te.Msg, "template failed:") || strings.HasPrefix(te.Msg, "template cannot be compiled:")) {
			t.Fatalf("recovered panic: %v", err)
		}
	})
}
