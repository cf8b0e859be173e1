package main

import (
	"fmt"
	"strings"
)

// tcase is one template with its variables.
type tcase struct {
	area, name string
	tpl        string
	vars       string // a JSON object
}

func (c tcase) id() string { return c.area + "/" + c.name }

var areaTitle = map[string]string{
	"print":       "how {{ }} prints values (numbers, floats, booleans, null, text, arrays)",
	"arith":       "arithmetic operators on numbers, numeric text, null, booleans and arrays",
	"compare":     "comparison operators (PHP 8 loose comparison) between text, numbers, null, booleans and arrays",
	"logic":       "logic, bitwise, ternary, ?:, ??, in, starts with, ends with, matches, .. and ~",
	"tests":       "is tests (defined, empty, null, even, odd, iterable, divisible by, same as)",
	"filters_str": "text filters (upper, lower, title, capitalize, trim, replace, striptags, nl2br, url_encode, escape, format, slice, split, reverse, length, default...) over a value matrix",
	"filters_arr": "array filters (first, last, join, keys, length, merge, slice, reverse, sort, batch, column, filter, map, reduce) over a value matrix",
	"arrays":      "PHP array key semantics: numeric-text keys, key preservation of sort/filter/slice/reverse/batch/column/merge",
	"json":        "json_encode of every kind of value",
	"numbers":     "round, number_format, abs, format on halves, negatives, big numbers",
	"date":        "date, date_modify and date() with fixed timestamps (timezone UTC)",
	"unicode":     "upper, lower, title, capitalize, length, slice, reverse, split on Unicode text",
	"split":       "split with delimiters and limits",
	"tags":        "for/else, loop.*, if/elseif, set, set...endset, apply, verbatim, with, do",
	"whitespace":  "whitespace control ({%- -%} {{- -}} ~), the line feed after a tag, CRLF templates",
	"syntax":      "literals, hash and array literals, interpolation, precedence, attribute access, multi-line tags",
	"functions":   "range, max, min, cycle, attribute, random (deterministic forms), date",
}

// val is a labelled JSON value.
type val struct{ label, json string }

var scalars = []val{
	{"empty", `""`},
	{"null", `null`},
	{"text", `"hello world"`},
	{"mixed", `"Hello WORLD again"`},
	{"unicode", `"éàü ÇŒ straße"`},
	{"numstr", `"42"`},
	{"negstr", `"-3.5"`},
	{"floatstr", `"3.14159"`},
	{"int", `42`},
	{"neg", `-7`},
	{"zero", `0`},
	{"zerostr", `"0"`},
	{"float", `3.5`},
	{"negfloat", `-2.5`},
	{"bigint", `9007199254740993`},
	{"true", `true`},
	{"false", `false`},
	{"html", `"<p>Hi &amp; <b>bye</b></p>"`},
	{"padded", `"  padded\t "`},
	{"lines", `"a\nb\r\nc"`},
}

var arrays = []val{
	{"list", `[3,1,2]`},
	{"strlist", `["b","a","c"]`},
	{"map", `{"b":2,"a":1}`},
	{"emptylist", `[]`},
	{"nested", `[[1,2],{"x":"y"}]`},
	{"numkeys", `{"2":"two","0":"zero","1":"one"}`},
	{"mixedkeys", `{"a":1,"5":2,"b":3}`},
	{"records", `[{"id":1,"name":"a","tag":"x"},{"id":2,"name":"b"},{"id":3,"name":"c","tag":"z"}]`},
}

var allValues = append(append([]val{}, scalars...), arrays...)

type gen struct {
	cases []tcase
	seen  map[string]bool
}

func (g *gen) add(area, name, tpl, vars string) {
	if vars == "" {
		vars = "{}"
	}
	id := area + "/" + name
	if g.seen[id] {
		panic("duplicate case " + id)
	}
	g.seen[id] = true
	g.cases = append(g.cases, tcase{area, name, tpl, vars})
}

// v returns a vars object {"v": json}.
func v(json string) string { return `{"v":` + json + `}` }

// ab returns a vars object {"a": a, "b": b}.
func ab(a, b string) string { return `{"a":` + a + `,"b":` + b + `}` }

// seq names the cases of a simple list: name:0, name:1...
func (g *gen) list(area, prefix string, tpls []string, vars string) {
	for i, t := range tpls {
		g.add(area, fmt.Sprintf("%s:%02d", prefix, i), t, vars)
	}
}

func generate() []tcase {
	g := &gen{seen: map[string]bool{}}
	genPrint(g)
	genArith(g)
	genCompare(g)
	genLogic(g)
	genTests(g)
	genFiltersStr(g)
	genFiltersArr(g)
	genArrays(g)
	genJSON(g)
	genNumbers(g)
	genDate(g)
	genUnicode(g)
	genSplit(g)
	genTags(g)
	genWhitespace(g)
	genSyntax(g)
	genFunctions(g)
	return g.cases
}

// label makes a case-name fragment from a Twig expression.
func label(s string) string {
	r := strings.NewReplacer(" ", "", "\t", "", "\n", "", "#", "hash", "'", "", `"`, "")
	return r.Replace(s)
}
