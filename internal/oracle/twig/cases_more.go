package main

import (
	"fmt"
	"strings"
)

func genArrays(g *gen) {
	g.list("arrays", "keys", []string{
		`{{ m|json_encode }}`, `{{ m|keys|json_encode }}`, `{{ l|json_encode }}`, `{{ l|keys|json_encode }}`,
		`{{ m[1] }}|{{ m['1'] }}|{{ m.1 }}`, `{{ l[0] }}|{{ l['0'] }}|{{ l.0 }}`, `{% for k, x in m %}{{ k }}:{{ k + 1 }}={{ x }};{% endfor %}`,
		`{% for k in m|keys %}{{ k is same as('1') ? 's' : (k is same as(1) ? 'i' : 'o') }}{% endfor %}`,
		`{{ {1: 'x', '1': 'y'}|json_encode }}`, `{{ {'0': 'a', '1': 'b'}|json_encode }}`, `{{ {'1': 'a', '2': 'b'}|json_encode }}`,
		`{{ {'01': 'a'}|json_encode }}`, `{{ {'-1': 'a'}|json_encode }}`, `{{ {'1.5': 'a'}|json_encode }}`, `{{ {(1.7): 'a'}|json_encode }}`,
		`{{ {(true): 'a'}|json_encode }}`, `{{ {'a': 1, 'a': 2}|json_encode }}`, `{{ m|length }}`, `{{ m|first }}|{{ m|last }}`,
		`{{ [1, 2, 3][1] }}`, `{{ {'k': 'v'}['k'] }}`, `{{ {'k': 'v'}.k }}`, `{{ m|merge(l)|json_encode }}`,
		`{{ l|merge(m)|json_encode }}`, `{{ m|merge({'1': 'z'})|json_encode }}`, `{{ m|merge({'x': 'X'})|json_encode }}`,
		`{{ e|json_encode }}`, `{{ o|json_encode }}`, `{{ o|keys|json_encode }}`, `{{ o|merge(['z'])|json_encode }}`,
		`{{ h|json_encode }}`, `{{ h|length }}`, `{{ h|keys|json_encode }}`, `{% for k, x in h %}[{{ k }}]{% endfor %}`,
	}, `{"m":{"1":"one","x":"ex","0":"zero"},"l":["a","b","c"],"e":{},"o":{"0":"a","1":"b"},"h":{"1":"a","3":"b"}}`)
	g.list("arrays", "preserve", []string{
		`{{ [3, 1, 2]|sort|json_encode }}`, `{{ [3, 1, 2]|sort|keys|join(',') }}`, `{{ {'b': 2, 'a': 1}|sort|json_encode }}`,
		`{{ ['x', '', 'y', null, 0]|filter(v => v)|json_encode }}`, `{{ ['x', '', 'y']|filter(v => v)|keys|join(',') }}`,
		`{{ [1, 2, 3, 4]|slice(1, 2)|json_encode }}`, `{{ [1, 2, 3, 4]|slice(1, 2, true)|json_encode }}`,
		`{{ {'a': 1, '5': 2, 'b': 3}|slice(1)|json_encode }}`, `{{ {'a': 1, '5': 2, 'b': 3}|slice(1, 2, true)|json_encode }}`,
		`{{ [1, 2, 3]|reverse|json_encode }}`, `{{ [1, 2, 3]|reverse(true)|json_encode }}`, `{{ {'a': 1, '5': 2}|reverse|json_encode }}`,
		`{{ [1, 2, 3, 4, 5]|batch(2)|json_encode }}`, `{{ [1, 2, 3, 4, 5]|batch(2, 0)|json_encode }}`, `{{ [1, 2, 3]|batch(2, 'x', false)|json_encode }}`,
		`{{ {'a': 1, 'b': 2, 'c': 3}|batch(2)|json_encode }}`, `{{ [{'id': 5, 'n': 'a'}, {'id': 7, 'n': 'b'}]|column('n', 'id')|json_encode }}`,
		`{{ [{'id': 5, 'n': 'a'}, {'n': 'b'}]|column('id')|json_encode }}`, `{{ [1, 2]|merge([3])|json_encode }}`,
		`{{ {'3': 'a'}|merge({'3': 'b'})|json_encode }}`, `{{ {'a': 1}|merge({'a': 2})|json_encode }}`,
		`{{ [1, 2, 3]|map(v => v * 2)|json_encode }}`, `{{ {'a': 1, 'b': 2}|map(v => v * 2)|json_encode }}`,
		`{{ [3, 1, 2]|sort|first }}`, `{{ [3, 1, 2]|sort|last }}`, `{% for k, v in [3, 1, 2]|sort %}{{ k }}{{ v }} {% endfor %}`,
		`{{ ['b', 'a']|sort|merge(['c'])|json_encode }}`, `{{ [5, 3]|filter(v => v > 3)|json_encode }}`,
		`{{ [5, 3]|filter(v => v < 5)|json_encode }}`, `{{ ['10', '9', '2', 'a', 'B']|sort|json_encode }}`,
		`{{ [10, '9', 2.5, true, null]|sort|json_encode }}`, `{{ ['b', 'A', 'a', 'B']|sort|join }}`,
		`{{ [1, 2, 3, 4]|slice(-2)|json_encode }}`, `{{ [1, 2, 3, 4]|slice(2, -1)|json_encode }}`, `{{ [1, 2]|slice(5)|json_encode }}`,
		`{{ [[1, 2], [3]]|first|json_encode }}`, `{{ {'x': [1]}|first|json_encode }}`, `{{ {}|first|json_encode }}`,
		`{{ []|last|json_encode }}`, `{{ [1, 2, 3]|reduce((c, v) => c + v) }}`, `{{ [1, 2, 3]|reduce((c, v) => c + v, 10) }}`,
		`{{ {'a': 1, 'b': 2}|keys|first }}`, `{{ ['a', 'b']|join(', ', ' and ') }}`, `{{ ['a']|join(', ', ' and ') }}`,
		`{{ [true, false, null, 1.0, 0.5]|join(',') }}`, `{{ [[1], 2]|join(',') }}`,
	}, "")
}

func genJSON(g *gen) {
	for _, x := range allValues {
		g.add("json", "var:"+x.label, `{{ v|json_encode }}`, v(x.json))
	}
	g.list("json", "literal", []string{
		`{{ 1.0|json_encode }}`, `{{ 0.1|json_encode }}`, `{{ (0.1 + 0.2)|json_encode }}`, `{{ 1e+100|json_encode }}`,
		`{{ 'a/b'|json_encode }}`, `{{ 'é'|json_encode }}`, `{{ '😀'|json_encode }}`, `{{ "tab\there"|json_encode }}`,
		`{{ "new\nline"|json_encode }}`, `{{ {'a': null}|json_encode }}`, `{{ [true, false, null]|json_encode }}`,
		`{{ '123'|json_encode }}`, `{{ 10 / 4|json_encode }}`, `{{ (10 / 4)|json_encode }}`, `{{ (-0.0)|json_encode }}`,
		`{{ 7.0|json_encode }}`, `{{ (7.0 * 1)|json_encode }}`, `{{ (10 / 5)|json_encode }}`, `{{ '<a href="x">&\'</a>'|json_encode }}`,
		`{{ {'a/b': 'c/d'}|json_encode }}`, `{{ {'é': 'ü'}|json_encode }}`, `{{ []|json_encode }}`, `{{ {}|json_encode }}`,
		`{{ [[]]|json_encode }}`, `{{ {'a': {}}|json_encode }}`, `{{ [1, [2, [3, {'k': []}]]]|json_encode }}`,
		`{{ 'a/b'|json_encode(64) }}`, `{{ 'é'|json_encode(256) }}`, `{{ {'a': [1, 2]}|json_encode(128) }}`,
		`{{ {'a': [1, 2], 'b': {}, 'c': 'x/é'}|json_encode(448) }}`, `{{ [1, 2]|json_encode(16) }}`, `{{ '1.5'|json_encode(32) }}`,
		`{{ 9007199254740993|json_encode }}`, `{{ (2 ** 64)|json_encode }}`, `{{ 0.00001|json_encode }}`, `{{ 1e+15|json_encode }}`,
		`{{ 1e+16|json_encode }}`, `{{ 123456789.12345678|json_encode }}`, `{{ 'a\\b'|json_encode }}`, `{{ "\u2028"|json_encode }}`,
		`{{ ('x'|json_encode)|json_encode }}`, `{{ null|json_encode }}`, `{{ true|json_encode }}`, `{{ missing|json_encode }}`,
		`{{ "\x01\x1f"|json_encode }}`, `{{ 'ÿ'|convert_encoding('ISO-8859-1', 'UTF-8')|json_encode }}`,
		`{{ 'ÿ'|convert_encoding('ISO-8859-1', 'UTF-8')|json_encode(1048576) }}`,
	}, "")
}

func genNumbers(g *gen) {
	roundVals := []string{"2.5", "3.5", "-2.5", "1.955", "1.005", "0.285", "5.045", "5.055", "1234.5678", "0.5", "-0.5", "1.45", "'2.5'", "'abc'", "7", "-0.4", "1e+20", "0.49999999999999994"}
	for i, x := range roundVals {
		for _, args := range []string{"", "(1)", "(2)", "(0, 'ceil')", "(0, 'floor')", "(1, 'ceil')", "(1, 'floor')", "(-1)", "(-2)"} {
			g.add("numbers", fmt.Sprintf("round:%02d%s", i, label(args)), `{{ `+wrap(x)+`|round`+args+` }}`, "")
		}
	}
	g.list("numbers", "round_misc", []string{`{{ 2.5|round(0, 'x') }}`, `{{ 12.345|round(2)|json_encode }}`, `{{ 3|round(2)|json_encode }}`, `{{ (2.5|round) is same as(3.0) ? 'float' : 'other' }}`}, "")
	nfVals := []string{"1234.5", "1234.5678", "0.5", "1.5", "2.5", "-0.5", "1000000", "'1234.5'", "0.125", "1.005", "-1234.567", "0", "'abc'", "1e+15", "0.045"}
	for i, x := range nfVals {
		for _, args := range []string{"", "(2)", "(2, ',', '.')", "(0)", "(3, '.', ' ')", "(1, '', '')", "(-1)"} {
			g.add("numbers", fmt.Sprintf("number_format:%02d%s", i, label(args)), `{{ `+wrap(x)+`|number_format`+args+` }}`, "")
		}
	}
	g.list("numbers", "abs", []string{`{{ -5|abs }}`, `{{ (-5)|abs }}`, `{{ (-5.5)|abs }}`, `{{ '-3'|abs }}`, `{{ 'x'|abs }}`, `{{ (-0.0)|abs }}`, `{{ (0 - 9223372036854775807 - 1)|abs }}`}, "")
	g.list("numbers", "format", []string{
		`{{ '%d'|format(3.9) }}`, `{{ '%.2f'|format(1.005) }}`, `{{ '%.1f'|format(0.25) }}`, `{{ '%5s|%-5s|'|format('a', 'b') }}`,
		`{{ '%05.1f'|format(3.14159) }}`, `{{ '%x %X %o %b'|format(255, 255, 8, 5) }}`, `{{ '%e'|format(12345.678) }}`,
		`{{ '%s %s'|format('a') }}`, `{{ '%%'|format() }}`, `{{ '%u'|format(-1) }}`, `{{ '%c'|format(65) }}`,
		`{{ '%1$s %1$s'|format('r') }}`, `{{ '%+d %+d'|format(5, -5) }}`, `{{ '%s'|format(true) }}`, `{{ '%s'|format(null) }}`,
		`{{ '%s'|format(1.0) }}`, `{{ '%s'|format(0.1 + 0.2) }}`, `{{ '%d'|format('12abc') }}`, `{{ '%.3e'|format(0) }}`,
		`{{ '%g'|format(0.00001234) }}`, `{{ "%'*10s"|format('x') }}`, `{{ '%10.4f'|format(-3.14159) }}`,
	}, "")
}

func wrap(x string) string {
	if strings.HasPrefix(x, "-") {
		return "(" + x + ")"
	}
	return x
}

func genDate(g *gen) {
	stamps := []val{
		{"zero", `0`}, {"ts", `1700000000`}, {"tsstr", `"1700000000"`}, {"leap", `"2024-02-29 13:45:07"`},
		{"offset", `"2024-02-29T13:45:07+02:00"`}, {"at", `"@1700000000"`}, {"neg", `-86400`}, {"date_only", `"2023-12-31"`},
		{"float", `1700000000.5`}, {"rfc", `"Tue, 14 Nov 2023 22:13:20 +0000"`},
		{"words", `"1 January 2020 noon"`}, {"y2038", `2147483648`},
	}
	formats := []string{
		"Y-m-d H:i:s", "D, d M Y", "U", "c", "r", "N jS F y", "l", "g:i a", "G A h", "W o", "t L", "z",
		"e T P O", "u v", `\\Y\\e\\s Y`, "S", "n/j/y", "B", "I", "Z", "F",
	}
	for _, s := range stamps {
		for i, f := range formats {
			g.add("date", fmt.Sprintf("fmt:%s:%02d", s.label, i), `{{ v|date('`+f+`') }}`, v(s.json))
		}
	}
	for _, s := range stamps[:8] {
		g.add("date", "default:"+s.label, `{{ v|date }}`, v(s.json))
		for _, tz := range []string{"UTC", "America/New_York", "Asia/Kolkata", "Europe/Paris", "+05:00"} {
			g.add("date", "tz:"+s.label+":"+tz, `{{ v|date('Y-m-d H:i T e', '`+tz+`') }}`, v(s.json))
		}
		g.add("date", "tzfalse:"+s.label, `{{ v|date('Y-m-d H:i T', false) }}`, v(s.json))
		for _, m := range []string{"+1 day", "-1 month", "next monday", "first day of next month", "+90 minutes", "midnight", "last day of february"} {
			g.add("date", "modify:"+s.label+":"+label(m), `{{ v|date_modify('`+m+`')|date('Y-m-d H:i:s') }}`, v(s.json))
		}
	}
	g.list("date", "func", []string{
		`{{ date('2020-01-02 03:04:05')|date('U') }}`, `{{ date(1700000000)|date('Y-m-d') }}`, `{{ date('@0', 'Asia/Tokyo')|date('Y-m-d H:i e') }}`,
		`{{ date('2020-01-01') < date('2020-01-02') ? 'T' : 'F' }}`, `{{ 'garbage'|date('Y') }}`, `{{ date('2020-02-30')|date('Y-m-d') }}`,
		`{{ '2020-01-01 00:00:00'|date_modify('+1 year')|date('Y') }}`, `{{ 1700000000|date_modify('+1 day')|date('U') }}`,
		`{{ '2021-03-04'|date('Y-m-d', 'Pacific/Honolulu') }}`, `{{ '2021-03-04 12:00 America/Chicago'|date('c') }}`,
	}, "")
}

var unicodeStrings = []val{
	{"e_acute", `"éCOLE élève"`}, {"sharp_s", `"ß straße"`}, {"dz", `"ǅungla ǆ"`}, {"turkish", `"İstanbul ıi"`},
	{"greek", `"ΣΊΣΥΦΟΣ σίσυφος"`}, {"apostrophe", `"o'neil mc-donald x_y"`}, {"tabs", `"hello\tworld\nnew line"`},
	{"digits", `"123abc 4th"`}, {"y_uml", `"ÿ"`}, {"ligature", `"ﬁne ﬂy"`}, {"cjk", `"日本語 テキスト"`},
	{"emoji", `"hi 😀 there 👍🏽"`}, {"combining", `"e\u0301cole"`}, {"cyrillic", `"привет МИР"`}, {"armenian", `"եւ"`},
}

func genUnicode(g *gen) {
	fs := []struct{ name, expr string }{
		{"upper", `v|upper`}, {"lower", `v|lower`}, {"title", `v|title`}, {"capitalize", `v|capitalize`},
		{"length", `v|length`}, {"slice", `v|slice(1, 4)`}, {"reverse", `v|reverse`}, {"first", `v|first`},
		{"last", `v|last`}, {"split", `v|split('')|join('.')`}, {"split2", `v|split('', 2)|join('.')`},
		{"url_encode", `v|url_encode`}, {"json", `v|json_encode`}, {"trim", `v|trim('éh')`}, {"striptags", `('<i>' ~ v ~ '</i>')|striptags`},
	}
	for _, f := range fs {
		for _, x := range unicodeStrings {
			g.add("unicode", f.name+":"+x.label, `{{ `+f.expr+` }}`, v(x.json))
		}
	}
}

func genSplit(g *gen) {
	strs := []val{{"csv", `"a,b,c"`}, {"gaps", `"a,,b"`}, {"edges", `",a,"`}, {"none", `"abc"`}, {"empty", `""`}, {"cjk", `"日本,語"`}, {"long", `"a, b, c, d"`}}
	delims := []string{",", "", ", ", "b"}
	limits := []string{"", "1", "2", "-1", "0", "3", "-5"}
	for _, s := range strs {
		for di, d := range delims {
			for _, l := range limits {
				args := "'" + d + "'"
				if l != "" {
					args += ", " + l
				}
				g.add("split", fmt.Sprintf("%s:d%d:l%s", s.label, di, l), `{{ v|split(`+args+`)|json_encode }}`, v(s.json))
			}
		}
	}
	g.list("split", "misc", []string{`{{ 123|split('2')|json_encode }}`, `{{ null|split(',')|json_encode }}`, `{{ '1.5'|split('.')|json_encode }}`}, "")
}

func genTags(g *gen) {
	vars := `{"items":["a","b","c"],"m":{"x":1,"y":2},"empty":[],"n":3,"nested":[[1,2],[3]],"users":[{"name":"ann","active":true},{"name":"bob","active":false}]}`
	g.list("tags", "for", []string{
		`{% for i in items %}{{ i }}{% endfor %}`,
		`{% for i in empty %}{{ i }}{% else %}none{% endfor %}`,
		`{% for i in missing %}{{ i }}{% else %}none{% endfor %}`,
		`{% for k, v in m %}{{ k }}={{ v }},{% endfor %}`,
		`{% for v in m %}{{ v }}{% endfor %}`,
		`{% for k in m|keys %}{{ k }}{% endfor %}`,
		`{% for i in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first ? 'F' }}{{ loop.last ? 'L' }}{{ loop.length }};{% endfor %}`,
		`{% for row in nested %}{% for c in row %}{{ loop.parent.loop.index }}.{{ loop.index }}={{ c }} {% endfor %}{% endfor %}`,
		`{% for i in 1..n %}{{ i }}{% endfor %}`,
		`{% for i in items|reverse %}{{ i }}{% endfor %}`,
		`{% for u in users if u.active %}{{ u.name }}{% endfor %}`,
		`{% for u in users|filter(u => u.active) %}{{ u.name }}{% endfor %}`,
		`{% for c in 'abc' %}{{ c }}{% else %}not iterable{% endfor %}`,
		`{% for i in 5 %}{{ i }}{% else %}not iterable{% endfor %}`,
		`{% set x = 'before' %}{% for i in items %}{% set x = i %}{% endfor %}{{ x }}`,
		`{% for i in items %}{% set y = i %}{% endfor %}[{{ y }}]`,
		`{% for i in items %}{{ i }}{% if loop.last %}!{% else %},{% endif %}{% endfor %}`,
		`{% for i in items %}{{ loop.index is odd ? 'o' : 'e' }}{% endfor %}`,
		`{% for i in items %}{{ cycle(['r', 'g'], loop.index0) }}{% endfor %}`,
		`{% for k, v in items %}{{ k }}{{ v }}{% endfor %}`,
		`{% for i in items %}{% for i in [1, 2] %}{{ i }}{% endfor %}{{ i }}{% endfor %}`,
		`{% for i in items %}{{ loop.length }}{% endfor %}{{ loop.index ?? 'gone' }}`,
		`{% for a, b in [[1, 2], [3, 4]] %}{{ a }}:{{ b|join }} {% endfor %}`,
		`{% for i in {'b': 1, 'a': 2}|sort %}{{ i }}{% endfor %}`,
		`{% for i in items %}{% if i == 'b' %}{% set found = loop.index %}{% endif %}{% endfor %}{{ found ?? 'unset' }}`,
		`{% set found = 0 %}{% for i in items %}{% if i == 'b' %}{% set found = loop.index %}{% endif %}{% endfor %}{{ found }}`,
		`{% for i in range(1, 3) %}{{ i }}{% endfor %}`,
		`{% for i in items %}{{ _key ?? '' }}{% endfor %}`,
	}, vars)
	g.list("tags", "if", []string{
		`{% if n > 2 %}big{% endif %}`,
		`{% if n > 5 %}big{% elseif n > 2 %}mid{% else %}small{% endif %}`,
		`{% if n > 5 %}big{% elseif n > 4 %}mid{% endif %}[]`,
		`{% if missing %}y{% else %}n{% endif %}`,
		`{% if items %}has{% endif %}{% if empty %}has{% else %}empty{% endif %}`,
		`{% if 'b' in items %}in{% endif %}`,
		`{% if n is odd and n > 1 %}odd{% endif %}`,
		`{% if not missing %}not{% endif %}`,
		`{% if m.x == 1 %}x{% endif %}{% if m.z is not defined %}z{% endif %}`,
		`{% if n %}{% if n > 1 %}nested{% endif %}{% endif %}`,
		`{% if '0' %}y{% else %}n{% endif %}{% if '0.0' %}y{% else %}n{% endif %}{% if ' ' %}y{% else %}n{% endif %}`,
		`{% if n == '3' %}eq{% endif %}{% if n is same as('3') %}same{% endif %}`,
	}, vars)
	g.list("tags", "set", []string{
		`{% set a = 1 %}{{ a }}`,
		`{% set a, b = 1, 2 %}{{ a }}{{ b }}`,
		`{% set a = 'x' ~ n %}{{ a }}`,
		`{% set a %}captured {{ n }}{% endset %}[{{ a }}]`,
		`{% set a %}` + "\n" + `line{% endset %}[{{ a }}]`,
		`{% set m = m|merge({'z': 3}) %}{{ m|json_encode }}`,
		`{% set items = items|merge(['d']) %}{{ items|join }}`,
		`{% set l = [] %}{% for i in items %}{% set l = l|merge([i|upper]) %}{% endfor %}{{ l|join }}`,
		`{% set h = {} %}{% for i in items %}{% set h = h|merge({(i): loop.index}) %}{% endfor %}{{ h|json_encode }}`,
		`{% set n = n + 1 %}{{ n }}`,
		`{% set s = 'a' %}{% set s = s ~ 'b' %}{{ s }}`,
		`{% set a = {'k': {'j': 1}} %}{{ a.k.j }}`,
		`{% set a = null %}[{{ a }}]{{ a is defined ? 'def' : 'undef' }}{{ a is null ? 'null' : '' }}`,
		`{% set a = n > 2 %}{{ a }}`,
		`{% set a = items|length %}{{ a * 2 }}`,
	}, vars)
	g.list("tags", "apply", []string{
		`{% apply upper %}hello {{ n }}{% endapply %}`,
		`{% apply lower|escape %}<B>X</B>{% endapply %}`,
		`{% apply trim %}   pad   {% endapply %}`,
		`{% apply replace({'a': 'b'}) %}aaa{% endapply %}`,
		`{% apply split(',')|join('+') %}a,b,c{% endapply %}`,
		`{% filter upper %}x{% endfilter %}`,
		`{% spaceless %}<b> x </b>  <i>y</i>{% endspaceless %}`,
		`{{ '<b> x </b>  <i>y</i>'|spaceless }}`,
	}, vars)
	g.list("tags", "verbatim", []string{
		`{% verbatim %}{{ n }}{% if %}{% endverbatim %}`,
		`{% verbatim %}` + "\n" + `{{ x }}` + "\n" + `{% endverbatim %}` + "\n" + `after`,
		`{% raw %}{{ n }}{% endraw %}`,
	}, vars)
	g.list("tags", "with", []string{
		`{% with {x: 5} %}{{ x }}{{ n }}{% endwith %}`,
		`{% with {x: 5} only %}{{ x }}[{{ n }}]{% endwith %}`,
		`{% with m %}{{ x }}{{ y }}{% endwith %}`,
		`{% with {n: 9} %}{{ n }}{% endwith %}{{ n }}`,
		`{% with %}{% set inner = 1 %}{% endwith %}[{{ inner }}]`,
	}, vars)
	g.list("tags", "do", []string{
		`{% do 1 + 2 %}x`,
		`{% do items|join %}y`,
	}, vars)
	g.list("tags", "other", []string{
		`{# comment #}x`,
		`a{# multi` + "\n" + `line #}b`,
		`{% include 'x' %}`,
		`{% macro m() %}{% endmacro %}x`,
		`{% block b %}x{% endblock %}`,
		`{% sandbox %}{% include 'x' %}{% endsandbox %}`,
		`{% if n %}x`,
		`{% endif %}`,
		`{% for %}{% endfor %}`,
		`{{ n }`,
		`{{ }}`,
		`{% autoescape %}{{ '<b>' }}{% endautoescape %}`,
		`{% autoescape 'html' %}{{ '<b>' }}{{ '<i>'|raw }}{% endautoescape %}`,
		`{% flush %}x`,
		`{% deprecated 'x' %}y`,
	}, vars)
}

func genWhitespace(g *gen) {
	vars := `{"n":3,"items":["a","b"]}`
	g.list("whitespace", "ctl", []string{
		"a  {{- n -}}  b",
		"a  {{~ n ~}}  b",
		"a \n {{- n }} \n b",
		"a \n {{~ n ~}} \n b",
		"a\n{% if n %}\nyes\n{% endif %}\nb",
		"a\n{%- if n -%}\nyes\n{%- endif -%}\nb",
		"a\n  {%~ if n ~%}\n  yes\n  {%~ endif ~%}\n  b",
		"{% for i in items %}\n{{ i }}\n{% endfor %}\n",
		"{% for i in items -%}\n  {{ i }}\n{%- endfor %}",
		"{% set x = 1 %}\n\n{{ x }}",
		"{% set x = 1 %} \n{{ x }}",
		"{{ n }}\n{{ n }}\n",
		"{{ n }}\n\n",
		"a {# c #}\nb",
		"a {#- c -#} b",
		"{%- if true %} x {% endif -%} ",
		"  {%- set a = 1 -%}  \n  [{{ a }}]",
		"{% if n %}\r\nx\r\n{% endif %}\r\ny",
		"line1\r\nline2\r\n{{ n }}\r\n",
		"{% for i in items %}\r\n{{ i }}\r\n{% endfor %}\r\n",
		"{{ 'a' }}\r\n{{- 'b' }}",
		"{% set x %}\r\nv\r\n{% endset %}[{{ x }}]",
		"x\r{{ n }}\ry",
		"{% verbatim %}\r\n{{ n }}\r\n{% endverbatim %}\r\n",
		"{{\nn\n}}",
		"{{\r\nn\r\n}}",
		"{%\nif n\n%}y{%\nendif\n%}",
		"{{ n\n|\nabs }}",
		"\t{{- n }}\t",
		"a\n{% if false %}\nno\n{% endif %}\nb",
		"{% if n %}\n\nx{% endif %}",
		"{% if n %}   \nx{% endif %}",
		"{{ n }}{# c #}\n{{ n }}",
		"{% set a = 'x' %}\n{% set b = 'y' %}\n{{ a }}{{ b }}",
		"{% apply upper %}\nx\n{% endapply %}\n",
		"{% with {a: 1} %}\n{{ a }}\n{% endwith %}\n",
		"{% for i in items %}{{ i }} {% endfor %}\n",
		"{% for i in items %}{{ i }}\n{%- endfor %}",
	}, vars)
}

func genSyntax(g *gen) {
	vars := `{"m":{"a":{"b":"deep"},"k-1":"dash","0":"zero"},"l":[10,20,30],"s":"str","n":5,"key":"a"}`
	g.list("syntax", "access", []string{
		`{{ m.a.b }}`, `{{ m['a']['b'] }}`, `{{ m[key].b }}`, `{{ m['k-1'] }}`, `{{ m.0 }}`, `{{ m[0] }}`,
		`{{ l.1 }}`, `{{ l[1] }}`, `{{ l[-1] }}`, `{{ l['1'] }}`, `{{ l[1.7] }}`, `{{ l.9 }}`, `[{{ m.a.b.c }}]`,
		`{{ s.0 }}`, `{{ s[0] }}`, `{{ s.length }}`, `{{ l.length }}`, `{{ missing.a }}`, `{{ m.a.missing.x }}`,
		`{{ attribute(m, 'k-1') }}`, `{{ attribute(l, 1) }}`, `{{ m.a|keys|join }}`, `{{ (m.a).b }}`, `{{ l[0:2]|join(',') }}`,
		`{{ l[1:]|join(',') }}`, `{{ l[:2]|join(',') }}`, `{{ s[1:2] }}`, `{{ s[-2:] }}`, `{{ [1, 2, 3][1:]|join }}`,
		`{{ {'a': 1}['a'] }}`, `{{ {a: 1, 'b': 2, 3: 'c', (s): 4}|json_encode }}`, `{{ {n}|json_encode }}`,
		`{{ [n, s, [l]]|json_encode }}`, `{{ [1, 2,]|json_encode }}`, `{{ {'a': 1,}|json_encode }}`,
	}, vars)
	g.list("syntax", "string", []string{
		`{{ "interp #{n} and #{n * 2}" }}`, `{{ 'no #{n} interp' }}`, `{{ "esc \#{n}" }}`, `{{ 'it\'s' }}`, `{{ "say \"hi\"" }}`,
		`{{ 'a\nb' }}`, `{{ "a\nb" }}`, `{{ "tab\tx" }}`, `{{ 'back\\slash' }}`, `{{ "\x41\u00e9" }}`, `{{ "\101" }}`, `{{ "#{s}#{s}" }}`,
		`{{ "#{ {'k': 'v'}.k }" }}`, `{{ "a" "b" }}`, `{{ '{{' }}`, `{{ '}}' }}`, `{{ "\e" }}`, `{{ "\$x" }}`,
	}, vars)
	g.list("syntax", "prec", []string{
		`{{ -1|abs }}`, `{{ (-1)|abs }}`, `{{ not true == false }}`, `{{ 1 + 2|abs }}`, `{{ 'a' ~ 'b'|upper }}`,
		`{{ 2 * 3 ~ 4 }}`, `{{ 1 == 1 ~ 'x' }}`, `{{ 10 - 2 ** 2 }}`, `{{ n is odd ~ 'x' }}`, `{{ 1 in [1] ~ 'x' }}`,
		`{{ true ? 1 : 2 ~ 3 }}`, `{{ null ?? 1 + 1 }}`, `{{ 1 + null ?? 5 }}`, `{{ n > 3 and n < 10 or false }}`,
		`{{ n b-and 4 == 4 ? 'T' : 'F' }}`, `{{ 'ab' starts with 'a' and true ? 'T' : 'F' }}`, `{{ - - 3 }}`, `{{ -n }}`,
		`{{ 2 ~ -1 }}`, `{{ 1..3|join }}`, `{{ (1..3)|join }}`, `{{ not 0 ? 'T' : 'F' }}`, `{{ l|length > 2 ? 'T' : 'F' }}`,
	}, vars)
	g.list("syntax", "multiline", []string{
		"{{\n  n\n  + 1\n}}",
		"{{ {\n  'a': 1,\n  'b': [\n    2\n  ]\n}|json_encode }}",
		"{% if\n  n > 1\n  and n < 9\n%}in{% endif %}",
		"{% set x = [\n  1,\n  2\n] %}{{ x|join }}",
		"{{ n ? 'yes'\n : 'no' }}",
		"{{ l\n  |join(', ')\n  |upper }}",
		"{{ l|filter(\n  v => v > 10\n)|join }}",
	}, vars)
	g.list("syntax", "errors", []string{
		`{{ 1 + }}`, `{{ (1 }}`, `{{ 'unclosed }}`, `{{ [1, 2 }}`, `{{ {'a' 1} }}`, `{{ n|nosuchfilter }}`, `{{ nosuchfunc() }}`,
		`{{ n is nosuchtest }}`, `{% nosuchtag %}`, `{{ n.method() }}`, `{{ s|upper(1, 2, 3) }}`, `{{ 1 2 }}`, `{{ a..b.. }}`,
		`{{ n|date('Y', 'Not/AZone') }}`, `{{ l|join(', ', ' and ', 'extra') }}`, `{{ s|slice }}`, `{{ range() }}`,
		`{{ n|round(1, 'half') }}`, `{{ l|batch(0)|json_encode }}`, `{{ l|sort(1) }}`, `{{ n ?: }}`,
	}, vars)
}

func genFunctions(g *gen) {
	vars := `{"l":[3,7,1],"m":{"a":5,"b":9},"s":"str"}`
	g.list("functions", "range", []string{
		`{{ range(1, 5)|join(',') }}`, `{{ range(0, 10, 3)|join(',') }}`, `{{ range(5, 1)|join(',') }}`, `{{ range(5, 1, 2)|join(',') }}`,
		`{{ range('a', 'e')|join }}`, `{{ range('a', 'e', 2)|join }}`, `{{ range(0, 1, 0.25)|join(',') }}`, `{{ range(3)|join(',') }}`,
		`{{ range(1, 3)|json_encode }}`, `{{ range(-2, 2)|join(',') }}`, `{{ range(1, 10, -2)|join(',') }}`, `{{ range('1', '3')|join(',') }}`,
		`{{ range(1, 1)|join(',') }}`, `{{ range('A', 'c')|length }}`, `{{ range(0, 1, 0)|join }}`,
	}, vars)
	g.list("functions", "maxmin", []string{
		`{{ max(1, 3, 2) }}`, `{{ min(1, 3, 2) }}`, `{{ max(l) }}`, `{{ min(l) }}`, `{{ max(m) }}`, `{{ min(m) }}`,
		`{{ max('apple', 'banana') }}`, `{{ max('10', '9') }}`, `{{ max('10', '9a') }}`, `{{ max(1, '1') }}`, `{{ max([]) }}`,
		`{{ min(0, -0.5, '-1') }}`, `{{ max(null, 0) }}`, `{{ max(true, 2) }}`, `{{ max([1, 2], [1, 3])|json_encode }}`,
		`{{ min('a', 0) }}`, `{{ max(1.5, 1) }}`, `{{ max(2) }}`,
	}, vars)
	g.list("functions", "cycle", []string{
		`{{ cycle(['a', 'b'], 0) }}{{ cycle(['a', 'b'], 1) }}{{ cycle(['a', 'b'], 2) }}{{ cycle(['a', 'b'], 5) }}`,
		`{{ cycle(['a', 'b'], -1) }}`, `{{ cycle('abc', 1) }}`, `{{ cycle(m, 1) }}`, `{{ cycle([], 1) }}`,
	}, vars)
	g.list("functions", "attribute", []string{
		`{{ attribute(m, 'a') }}`, `{{ attribute(m, 'z') }}`, `{{ attribute(l, 0) }}`, `{{ attribute(l, '2') }}`, `{{ attribute(s, 0) }}`,
		`{{ attribute(m, 'a') is defined ? 'T' : 'F' }}`, `{{ attribute(m, 'z') is defined ? 'T' : 'F' }}`,
	}, vars)
	g.list("functions", "random", []string{
		`{{ random([5]) }}`, `{{ random('a') }}`, `{{ random(0) >= 0 ? 'T' : 'F' }}`, `{{ random(['x'])|length }}`, `{{ random(5, 5) }}`,
		`{{ random({'k': 'only'}) }}`,
	}, vars)
	g.list("functions", "date", []string{
		`{{ date(0)|date('c') }}`, `{{ date('2000-01-01T00:00:00Z')|date('U') }}`, `{{ date('1 Jan 2020', 'Asia/Tokyo')|date('c') }}`,
		`{{ date('2020-06-15 12:00:00')|date('D N z t') }}`, `{{ date(null)|date('Y') > 2000 ? 'T' : 'F' }}`,
		`{{ null|date('e') }}|{{ ''|date('T') }}`,
	}, vars)
	g.list("functions", "other", []string{
		`{{ constant('PHP_EOL')|url_encode }}`, `{{ include('x') }}`, `{{ source('x') }}`, `{{ template_from_string('{{ 1 }}') }}`,
		`{{ dump(1) }}`, `{{ block('x') }}`, `{{ parent() }}`,
	}, vars)
}
