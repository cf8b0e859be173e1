package main

// strFilters are applied to every value of allValues.
var strFilters = []struct{ name, expr string }{
	{"upper", `v|upper`},
	{"lower", `v|lower`},
	{"title", `v|title`},
	{"capitalize", `v|capitalize`},
	{"trim", `v|trim`},
	{"trim_chars", `v|trim('.h')`},
	{"trim_left", `v|trim(side='left')`},
	{"trim_right", `v|trim(' ', 'right')`},
	{"length", `v|length`},
	{"reverse", `v|reverse`},
	{"first", `v|first`},
	{"last", `v|last`},
	{"slice13", `v|slice(1, 3)`},
	{"slice-3", `v|slice(-3)`},
	{"slice0-1", `v|slice(0, -1)`},
	{"replace", `v|replace({'l': 'L', 'o': '0', '4': 'four'})`},
	{"striptags", `v|striptags`},
	{"nl2br", `v|nl2br`},
	{"url_encode", `v|url_encode`},
	{"escape", `v|escape`},
	{"e_url", `v|e('url')`},
	{"e_js", `v|e('js')`},
	{"e_html_attr", `v|e('html_attr')`},
	{"raw", `v|raw`},
	{"default", `v|default('D')`},
	{"format", `'[%s]'|format(v)`},
	{"format_d", `'%05d|%.2f|%x'|format(v, v, v)`},
	{"abs", `v|abs`},
	{"round", `v|round`},
	{"number_format", `v|number_format`},
	{"json_encode", `v|json_encode`},
	{"join", `v|join('-')`},
	{"split", `v|split('l')|join('+')`},
	{"keys", `v|keys|join(',')`},
	{"sort", `v|sort|join(',')`},
	{"merge", `v|merge([9])|join(',')`},
	{"batch", `v|batch(2)|length`},
	{"date", `v|date('Y-m-d H:i')`},
	{"convert_encoding", `v|convert_encoding('ISO-8859-1', 'UTF-8')|url_encode`},
	{"length_eq", `v|length == 0 ? 'zero' : 'nonzero'`},
}

// arrFilters are applied to every value of arrays.
var arrFilters = []struct{ name, expr string }{
	{"first", `v|first`},
	{"first_json", `v|first|json_encode`},
	{"last", `v|last|json_encode`},
	{"join", `v|join`},
	{"join_sep", `v|join(', ')`},
	{"join_and", `v|join(', ', ' and ')`},
	{"keys", `v|keys|json_encode`},
	{"length", `v|length`},
	{"reverse", `v|reverse|json_encode`},
	{"reverse_keep", `v|reverse(true)|json_encode`},
	{"sort", `v|sort|json_encode`},
	{"sort_arrow", `v|sort((a, b) => b <=> a)|json_encode`},
	{"slice1", `v|slice(1)|json_encode`},
	{"slice1_keep", `v|slice(1, 2, true)|json_encode`},
	{"slice_neg", `v|slice(-2, 1)|json_encode`},
	{"batch2", `v|batch(2)|json_encode`},
	{"batch2_fill", `v|batch(2, 'F')|json_encode`},
	{"merge_list", `v|merge([9])|json_encode`},
	{"merge_map", `v|merge({'z': 9, '1': 'one'})|json_encode`},
	{"column_name", `v|column('name')|json_encode`},
	{"column_tag_id", `v|column('tag', 'id')|json_encode`},
	{"filter_truthy", `v|filter(x => x)|json_encode`},
	{"filter_kv", `v|filter((x, k) => k != 'a' and k != 1)|json_encode`},
	{"map", `v|map(x => x is iterable ? 'it' : x ~ '!')|json_encode`},
	{"map_kv", `v|map((x, k) => k)|json_encode`},
	{"reduce", `v|reduce((c, x) => c ~ (x is iterable ? 'it' : x) ~ '.', '>')`},
	{"default", `v|default('D')|json_encode`},
	{"url_encode", `v|url_encode`},
	{"json_encode", `v|json_encode`},
	{"for", `{% for k, x in v %}{{ k }}={{ x is iterable ? 'it' : x }};{% else %}none{% endfor %}`},
	{"empty", `v is empty ? 'T' : 'F'`},
	{"max", `max(v)|json_encode`},
	{"min", `min(v)|json_encode`},
	{"in", `2 in v ? 'T' : 'F'`},
}

func genFiltersStr(g *gen) {
	for _, f := range strFilters {
		for _, x := range allValues {
			if f.name == "date" && (x.label == "null" || x.label == "empty" || x.label == "false" || x.label == "float") {
				continue // the current time, or 3.5 read as 03:05 today: not reproducible
			}
			tpl := `{{ ` + f.expr + ` }}`
			g.add("filters_str", f.name+":"+x.label, tpl, v(x.json))
		}
	}
}

func genFiltersArr(g *gen) {
	for _, f := range arrFilters {
		for _, x := range arrays {
			tpl := `{{ ` + f.expr + ` }}`
			if f.expr[0] == '{' {
				tpl = f.expr
			}
			g.add("filters_arr", f.name+":"+x.label, tpl, v(x.json))
		}
	}
}
