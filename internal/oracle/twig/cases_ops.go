package main

import "fmt"

func genPrint(g *gen) {
	for _, x := range allValues {
		g.add("print", "var:"+x.label, `{{ v }}`, v(x.json))
	}
	floats := []val{
		{"one_point_zero", `1.0`}, {"e100", `1e100`}, {"small", `1.5e-10`}, {"tenth", `0.1`},
		{"int_big", `123456789012345678`}, {"max_float", `1.7976931348623157e308`}, {"neg_zero", `-0.0`},
		{"hundred_float", `100.0`}, {"almost3", `3.0000000000000004`}, {"point3", `0.30000000000000004`},
		{"e15", `1e15`}, {"e14", `100000000000000.0`}, {"fourteen_digits", `12345678901234.5`},
		{"twenty_digits_int", `12345678901234567890`}, {"int64_max", `9223372036854775807`},
		{"int64_min", `-9223372036854775808`}, {"third", `0.3333333333333333`}, {"neg_small", `-0.00001`},
	}
	for _, x := range floats {
		g.add("print", "float:"+x.label, `{{ v }}`, v(x.json))
	}
	g.list("print", "literal", []string{
		`{{ 1 }}`, `{{ 1.0 }}`, `{{ 1.5 }}`, `{{ -0.0 }}`, `{{ 0.1 + 0.2 }}`, `{{ 1/3 }}`, `{{ 2/3 }}`,
		`{{ 10/4 }}`, `{{ 10/5 }}`, `{{ 1e+20 }}`, `{{ 1.5e+3 }}`, `{{ 1e-7 }}`, `{{ 100000000000000000000 }}`,
		`{{ 9223372036854775807 }}`, `{{ 9223372036854775807 + 1 }}`, `{{ 0.00001 }}`, `{{ 123456789.123456789 }}`,
		`{{ 7.0 }}`, `{{ 3 * 1.0 }}`, `{{ true }}`, `{{ false }}`, `{{ null }}`, `{{ none }}`, `{{ 'text' }}`,
		`{{ "a\nb" }}`, `{{ missing }}`, `{{ missing.key }}`, `{{ 0.1 * 3 }}`, `{{ 1e+15 }}`, `{{ 1e+14 }}`,
		`{{ 123456789012345.678 }}`, `{{ -1.5 }}`, `{{ 2 ** 64 }}`, `{{ 2 ** 63 }}`, `{{ 2 ** 62 }}`, `{{ 2 ** -1 }}`,
		`{{ 4 ** 0.5 }}`, `{{ 7 // 2 }}`, `{{ -7 // 2 }}`, `{{ 7 % 3 }}`, `{{ -7 % 3 }}`, `{{ 7.5 % 2 }}`,
		`{{ TRUE }}`, `{{ False }}`, `{{ NULL }}`, `{{ 0 }}`, `{{ -0 }}`, `{{ 00 }}`, `{{ 007 }}`, `{{ 1_000 }}`,
		`{{ [1, 2] }}`, `{{ {} }}`, `{{ [] }}`, `{{ {'a': 1} }}`, `[{{ '' }}]`, `{{ 1.10 }}`, `{{ 3.14159265358979 }}`,
		`{{ 0.1 + 0.7 }}`, `{{ 1 - 0.9 }}`, `{{ 1e+300 * 1e+300 }}`, `{{ -1e+300 * 1e+300 }}`,
	}, "")
}

// arithPairs are operands for the arithmetic matrix.
var arithPairs = [][2]val{
	{{"7", `7`}, {"2", `2`}},
	{{"7", `7`}, {"-2", `-2`}},
	{{"s7", `"7"`}, {"s2", `"2"`}},
	{{"s7.5", `"7.5"`}, {"s2", `"2"`}},
	{{"2.5", `2.5`}, {"2", `2`}},
	{{"s_4", `" 4"`}, {"1", `1`}},
	{{"s4_", `"4 "`}, {"1", `1`}},
	{{"s5abc", `"5abc"`}, {"1", `1`}},
	{{"sabc", `"abc"`}, {"1", `1`}},
	{{"sempty", `""`}, {"1", `1`}},
	{{"null", `null`}, {"1", `1`}},
	{{"true", `true`}, {"1", `1`}},
	{{"false", `false`}, {"1", `1`}},
	{{"s1e2", `"1e2"`}, {"1", `1`}},
	{{"s0x10", `"0x10"`}, {"1", `1`}},
	{{"list", `[1]`}, {"1", `1`}},
	{{"7", `7`}, {"0", `0`}},
	{{"7", `7`}, {"s0", `"0"`}},
	{{"0", `0`}, {"0", `0`}},
	{{"int64max", `9223372036854775807`}, {"1", `1`}},
	{{"s1.0", `"1.0"`}, {"1", `1`}},
	{{"s-3", `"-3"`}, {"2", `2`}},
	{{"-7", `-7`}, {"2", `2`}},
	{{"7.0", `7.0`}, {"2.0", `2.0`}},
	{{"s007", `"007"`}, {"1", `1`}},
	{{"s1,5", `"1,5"`}, {"1", `1`}},
	{{"sblank", `"  "`}, {"1", `1`}},
	{{"list", `[1]`}, {"list", `[2,3]`}},
	{{"map", `{"a":1}`}, {"map", `{"a":2,"b":3}`}},
	{{"s10", `"10"`}, {"s3", `"3"`}},
	{{"1e20", `1e20`}, {"1", `1`}},
	{{"s.5", `".5"`}, {"s5.", `"5."`}},
}

var arithOps = []struct{ name, op string }{
	{"add", "+"}, {"sub", "-"}, {"mul", "*"}, {"div", "/"}, {"intdiv", "//"}, {"mod", "%"}, {"pow", "**"},
}

func genArith(g *gen) {
	for _, op := range arithOps {
		for _, p := range arithPairs {
			g.add("arith", fmt.Sprintf("%s(%s,%s)", op.name, p[0].label, p[1].label),
				`{{ a `+op.op+` b }}`, ab(p[0].json, p[1].json))
		}
	}
	for _, x := range []val{{"s3", `"3"`}, {"s-3", `"-3"`}, {"sabc", `"abc"`}, {"null", `null`}, {"true", `true`},
		{"float", `2.5`}, {"sempty", `""`}, {"list", `[1]`}, {"s1.50", `"1.50"`}} {
		g.add("arith", "neg("+x.label+")", `{{ -a }}`, `{"a":`+x.json+`}`)
		g.add("arith", "plus("+x.label+")", `{{ +a }}`, `{"a":`+x.json+`}`)
	}
	g.list("arith", "expr", []string{
		`{{ 1 + 2 * 3 }}`, `{{ (1 + 2) * 3 }}`, `{{ 2 ** 3 ** 2 }}`, `{{ -2 ** 2 }}`, `{{ (-2) ** 2 }}`,
		`{{ 10 - 2 - 3 }}`, `{{ 100 / 10 / 5 }}`, `{{ 7 // 2 * 2 }}`, `{{ 2 * 3 % 4 }}`, `{{ 1 + "2" ~ 3 }}`,
		`{{ "1" ~ 2 + 3 }}`, `{{ 1.5 + 1.5 }}`, `{{ 0.1 + 0.2 == 0.3 ? 'eq' : 'ne' }}`, `{{ 1 / 3 * 3 }}`,
		`{{ 10 // 3.0 }}`, `{{ 10.5 // 3 }}`, `{{ -10 // 3 }}`, `{{ 10 % -3 }}`, `{{ 5 % 0 }}`, `{{ 5 / 0 }}`,
		`{{ 5 // 0 }}`, `{{ 0 ** 0 }}`, `{{ 2 ** 0.5 }}`, `{{ (-8) ** (1/3) }}`, `{{ 10 ** 20 }}`, `{{ 10 ** -2 }}`,
		`{{ 3 * "3" }}`, `{{ "3" * "3" }}`, `{{ "2" ** "3" }}`, `{{ 9007199254740993 + 0 }}`, `{{ 9007199254740993 + 0.0 }}`,
		`{{ 1 + 1 }}{{ 1 - 1 }}`, `{{ 4/2 }}`, `{{ 5/2 }}`, `{{ -5/2 }}`, `{{ 6/4 }}`, `{{ 1/8 }}`, `{{ 1/7 }}`,
	}, "")
}

var comparePairs = [][2]val{
	{{"sabc", `"abc"`}, {"0", `0`}},
	{{"s1", `"1"`}, {"s01", `"01"`}},
	{{"s10", `"10"`}, {"s1e1", `"1e1"`}},
	{{"100", `100`}, {"s1e2", `"1e2"`}},
	{{"sabc", `"abc"`}, {"sabd", `"abd"`}},
	{{"sa", `"a"`}, {"sB", `"B"`}},
	{{"null", `null`}, {"false", `false`}},
	{{"null", `null`}, {"0", `0`}},
	{{"null", `null`}, {"sempty", `""`}},
	{{"null", `null`}, {"emptylist", `[]`}},
	{{"emptylist", `[]`}, {"false", `false`}},
	{{"s0", `"0"`}, {"false", `false`}},
	{{"sempty", `""`}, {"false", `false`}},
	{{"s_1", `" 1"`}, {"1", `1`}},
	{{"s1_", `"1 "`}, {"1", `1`}},
	{{"s1", `"1"`}, {"s1.0", `"1.0"`}},
	{{"1", `1`}, {"1.0", `1.0`}},
	{{"s10", `"10"`}, {"s9", `"9"`}},
	{{"10", `10`}, {"s9", `"9"`}},
	{{"s10", `"10"`}, {"s9a", `"9a"`}},
	{{"l12", `[1,2]`}, {"l12", `[1,2]`}},
	{{"l12", `[1,2]`}, {"l21", `[2,1]`}},
	{{"mab", `{"a":1,"b":2}`}, {"mba", `{"b":2,"a":1}`}},
	{{"l123", `[1,2,3]`}, {"l12", `[1,2]`}},
	{{"true", `true`}, {"sa", `"a"`}},
	{{"true", `true`}, {"s0", `"0"`}},
	{{"sabc", `"abc"`}, {"sABC", `"ABC"`}},
	{{"se_acute", `"é"`}, {"se", `"e"`}},
	{{"s0.0", `"0.0"`}, {"s0", `"0"`}},
	{{"s1e3", `"1e3"`}, {"s1000", `"1000"`}},
	{{"0", `0`}, {"sempty", `""`}},
	{{"0", `0`}, {"sa", `"a"`}},
	{{"-1", `-1`}, {"null", `null`}},
	{{"1.5", `1.5`}, {"s1.5", `"1.5"`}},
	{{"snull", `"null"`}, {"null", `null`}},
	{{"l1", `[1]`}, {"1", `1`}},
	{{"s2", `"2"`}, {"s10", `"10"`}},
	{{"sZ", `"Z"`}, {"sa", `"a"`}},
}

var compareOps = []struct{ name, op string }{
	{"eq", "=="}, {"ne", "!="}, {"lt", "<"}, {"gt", ">"}, {"le", "<="}, {"ge", ">="}, {"cmp", "<=>"},
}

func genCompare(g *gen) {
	for _, op := range compareOps {
		for _, p := range comparePairs {
			tpl := `{{ a ` + op.op + ` b ? 'T' : 'F' }}`
			if op.name == "cmp" {
				tpl = `{{ a <=> b }}`
			}
			g.add("compare", fmt.Sprintf("%s(%s,%s)", op.name, p[0].label, p[1].label), tpl, ab(p[0].json, p[1].json))
		}
	}
	g.list("compare", "print", []string{
		`{{ 1 == 1 }}`, `{{ 1 == 2 }}`, `[{{ 1 < 2 }}][{{ 2 < 1 }}]`, `{{ 'a' == 'a' }}`, `{{ (1 <=> 2) ~ (2 <=> 1) ~ (1 <=> 1) }}`,
		`{{ 1 != 1 }}`, `{{ not (1 == 1) }}`, `{{ 1 < 2 < 3 }}`, `{{ 3 > 2 > 1 ? 'T' : 'F' }}`,
	}, "")
}

func genLogic(g *gen) {
	pairs := [][2]val{
		{{"true", `true`}, {"false", `false`}}, {{"s0", `"0"`}, {"sa", `"a"`}}, {{"sempty", `""`}, {"sx", `"x"`}},
		{{"1", `1`}, {"0", `0`}}, {{"emptylist", `[]`}, {"sx", `"x"`}}, {{"sfalse", `"false"`}, {"s0", `"0"`}},
		{{"5", `5`}, {"3", `3`}}, {{"6", `6`}, {"s3", `"3"`}}, {{"null", `null`}, {"true", `true`}},
		{{"s0.0", `"0.0"`}, {"l0", `[0]`}},
	}
	for _, op := range []struct{ name, op string }{{"and", "and"}, {"or", "or"}, {"band", "b-and"}, {"bor", "b-or"}, {"bxor", "b-xor"}} {
		for _, p := range pairs {
			tpl := `{{ (a ` + op.op + ` b) ? 'T' : 'F' }}`
			if op.name[0] == 'b' {
				tpl = `{{ a ` + op.op + ` b }}`
			}
			g.add("logic", fmt.Sprintf("%s(%s,%s)", op.name, p[0].label, p[1].label), tpl, ab(p[0].json, p[1].json))
		}
	}
	for _, x := range allValues {
		g.add("logic", "not:"+x.label, `{{ not v ? 'T' : 'F' }}`, v(x.json))
		g.add("logic", "ternary:"+x.label, `{{ v ? 'y' : 'n' }}`, v(x.json))
		g.add("logic", "elvis:"+x.label, `{{ v ?: 'd' }}`, v(x.json))
		g.add("logic", "coalesce:"+x.label, `{{ v ?? 'd' }}`, v(x.json))
		g.add("logic", "if:"+x.label, `{% if v %}y{% else %}n{% endif %}`, v(x.json))
	}
	g.list("logic", "misc", []string{
		`{{ missing ?? 'd' }}`, `{{ missing.a.b ?? 'd' }}`, `{{ v ? 'yes' }}`, `[{{ false ? 'yes' }}]`, `{{ v ?: 'no' }}`,
		`{{ null ?? false ?? 'x' }}`, `{{ missing ?? null ?? 'z' }}`, `{{ true ? 'a' : false ? 'b' : 'c' }}`,
		`{{ false ? 'a' : true ? 'b' : 'c' }}`, `{{ 1 and 0 }}`, `{{ 1 or 0 }}`, `{{ not 0 }}`, `{{ not 1 }}`,
		`{{ true and not false }}`, `{{ not true or true ? 'T' : 'F' }}`, `{{ 5 b-and 3 b-or 8 }}`, `{{ 1 ~ 2 ~ 3 }}`,
		`{{ 'a' ~ null ~ 'b' }}`, `{{ 'a' ~ true ~ false ~ 'b' }}`, `{{ 'x' ~ 1.5 }}`, `{{ 'x' ~ (0.1 + 0.2) }}`,
		`{{ 'x' ~ 10/4 }}`, `{{ 1 + 2 ~ 3 + 4 }}`, `{{ 'n=' ~ -1 }}`, `{{ v ~ '!' }}`, `{{ ('a' ~ 'b')|upper }}`,
		`{{ 'a' ~ 'b'|upper }}`, `{{ v.missing ?? 'none' }}`, `{{ (v ?? 'x') ~ 'y' }}`,
	}, `{"v":"val"}`)

	inPairs := [][2]val{
		{{"sa", `"a"`}, {"sabc", `"abc"`}}, {{"sd", `"d"`}, {"sabc", `"abc"`}}, {{"1", `1`}, {"l12", `[1,2]`}},
		{{"s1", `"1"`}, {"l12", `[1,2]`}}, {{"1", `1`}, {"ls1", `["1"]`}}, {{"sa", `"a"`}, {"ma1", `{"a":1}`}},
		{{"1", `1`}, {"ma1", `{"a":1}`}}, {{"sempty", `""`}, {"sabc", `"abc"`}}, {{"null", `null`}, {"lnull", `[null]`}},
		{{"0", `0`}, {"lsa", `["a"]`}}, {{"sb", `"b"`}, {"lsab", `["a","b"]`}}, {{"sab", `"ab"`}, {"sxaby", `"xaby"`}},
		{{"1", `1`}, {"s123", `"123"`}}, {{"1.0", `1.0`}, {"l1", `[1]`}}, {{"l1", `[1]`}, {"ll1", `[[1]]`}},
		{{"sA", `"A"`}, {"sabc", `"abc"`}}, {{"null", `null`}, {"emptylist", `[]`}}, {{"sx", `"x"`}, {"null", `null`}},
		{{"false", `false`}, {"l0", `[0]`}}, {{"s1", `"1"`}, {"m1", `{"1":"x"}`}},
	}
	for _, p := range inPairs {
		g.add("logic", fmt.Sprintf("in(%s,%s)", p[0].label, p[1].label), `{{ a in b ? 'T' : 'F' }}`, ab(p[0].json, p[1].json))
		g.add("logic", fmt.Sprintf("notin(%s,%s)", p[0].label, p[1].label), `{{ a not in b ? 'T' : 'F' }}`, ab(p[0].json, p[1].json))
	}
	swPairs := [][2]val{
		{{"shello", `"hello"`}, {"she", `"he"`}}, {{"shello", `"hello"`}, {"slo", `"lo"`}}, {{"shello", `"hello"`}, {"sempty", `""`}},
		{{"123", `123`}, {"1", `1`}}, {{"sempty", `""`}, {"sempty", `""`}}, {{"null", `null`}, {"sempty", `""`}},
		{{"lsa", `["a"]`}, {"sa", `"a"`}}, {{"sHello", `"Hello"`}, {"she", `"he"`}}, {{"sjp", `"日本語"`}, {"sjp1", `"日"`}},
		{{"s12.5", `"12.5"`}, {"5", `5`}},
	}
	for _, p := range swPairs {
		g.add("logic", fmt.Sprintf("startswith(%s,%s)", p[0].label, p[1].label), `{{ a starts with b ? 'T' : 'F' }}`, ab(p[0].json, p[1].json))
		g.add("logic", fmt.Sprintf("endswith(%s,%s)", p[0].label, p[1].label), `{{ a ends with b ? 'T' : 'F' }}`, ab(p[0].json, p[1].json))
	}
	for _, x := range []val{{"digits", `"12345"`}, {"mixed", `"12a45"`}, {"empty", `""`}, {"int", `42`}, {"ABC", `"xABCx"`}, {"unicode", `"café"`}} {
		for i, pat := range []string{`/^\\d+$/`, `/abc/i`, `/^$/`, `{a.c}i`, `/é/u`, `/^[a-z]+$/`} {
			g.add("logic", fmt.Sprintf("matches(%s,%d)", x.label, i), `{{ a matches '`+pat+`' ? 'T' : 'F' }}`, `{"a":`+x.json+`}`)
		}
	}
	g.list("logic", "matches_err", []string{`{{ 'a' matches '/(/' ? 'T' : 'F' }}`, `{{ 'a' matches 'abc' ? 'T' : 'F' }}`}, "")
	g.list("logic", "range", []string{
		`{{ (1..5)|join(',') }}`, `{{ ('a'..'e')|join(',') }}`, `{{ (5..1)|join(',') }}`, `{{ (1..1)|join(',') }}`,
		`{{ (0..-2)|join(',') }}`, `{{ (1..10)|length }}`, `{{ ('A'..'E')|join }}`, `{{ ('z'..'w')|join }}`,
		`{{ (1.5..4)|join(',') }}`, `{{ ('1'..'3')|join(',') }}`, `{% for i in 1..3 %}{{ i }}{% endfor %}`,
		`{{ (a..b)|join(',') }}`, `{{ ('aa'..'ac')|join(',') }}`, `{{ (1..3)|json_encode }}`,
	}, `{"a":"2","b":"4"}`)
	g.list("logic", "concat", []string{
		`{{ a ~ b }}`, `{{ a ~ c }}`, `{{ c ~ d }}`, `{{ e ~ a }}`, `{{ a ~ f }}`, `{{ g ~ '' }}`, `{{ a ~ ' ' ~ b }}`,
	}, `{"a":1,"b":2,"c":1.5,"d":true,"e":null,"f":[1],"g":0.30000000000000004}`)
}

func genTests(g *gen) {
	tests := []struct{ name, expr string }{
		{"defined", "is defined"}, {"notdefined", "is not defined"}, {"empty", "is empty"}, {"notempty", "is not empty"},
		{"null", "is null"}, {"none", "is none"}, {"iterable", "is iterable"}, {"even", "is even"}, {"odd", "is odd"},
		{"divisible3", "is divisible by(3)"}, {"sameas42", "is same as(42)"}, {"sameas42s", "is same as('42')"},
	}
	for _, t := range tests {
		for _, x := range allValues {
			g.add("tests", t.name+":"+x.label, `{{ v `+t.expr+` ? 'T' : 'F' }}`, v(x.json))
		}
	}
	g.list("tests", "misc", []string{
		`{{ nope is defined ? 'T' : 'F' }}`, `{{ m.a is defined ? 'T' : 'F' }}`, `{{ m.z is defined ? 'T' : 'F' }}`,
		`{{ m.n is defined ? 'T' : 'F' }}`, `{{ m.n is null ? 'T' : 'F' }}`, `{{ l.0 is defined ? 'T' : 'F' }}`,
		`{{ l.5 is defined ? 'T' : 'F' }}`, `{{ l[1] is defined ? 'T' : 'F' }}`, `{{ nope is empty ? 'T' : 'F' }}`,
		`{{ nope is null ? 'T' : 'F' }}`, `{{ m is iterable ? 'T' : 'F' }}`, `{{ 'abc' is iterable ? 'T' : 'F' }}`,
		`{{ 1 is same as(1.0) ? 'T' : 'F' }}`, `{{ null is same as(null) ? 'T' : 'F' }}`, `{{ 9 is divisible by(3) }}`,
		`{{ 10 is divisible by(3) }}`, `{{ 3 is odd }}`, `{{ 4 is even }}`, `{{ -3 is odd ? 'T' : 'F' }}`,
		`{{ m.a is not null ? 'T' : 'F' }}`, `{{ (m.a is defined and m.a) ? 'T' : 'F' }}`, `{{ m is empty ? 'T' : 'F' }}`,
		`{{ 2.5 is even ? 'T' : 'F' }}`, `{{ 0 is divisible by(0) ? 'T' : 'F' }}`, `{{ '' is empty and ' ' is not empty ? 'T' : 'F' }}`,
		`{{ 0 is empty ? 'T' : 'F' }}`, `{{ '0' is empty ? 'T' : 'F' }}`, `{{ 0.0 is empty ? 'T' : 'F' }}`,
		`{{ m.n is defined ? 'T' : 'F' }}{{ m['a'] is defined ? 'T' : 'F' }}`, `{{ l.missing.deep is defined ? 'T' : 'F' }}`,
	}, `{"m":{"a":1,"n":null},"l":[1,2]}`)
}
