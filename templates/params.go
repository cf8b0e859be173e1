package templates

import "strings"

// The parameter names of the filters and functions, for named arguments
// (trim(side='left')): Twig matches them with the PHP callable's
// parameters, in snake_case. Filters and functions not listed take
// positional arguments only.

var filterParams = map[string][]string{
	"abs": {}, "batch": {"size", "fill", "preserve_keys"}, "capitalize": {}, "column": {"name", "index"},
	"convert_encoding": {"to", "from"}, "date": {"format", "timezone"}, "date_modify": {"modifier"},
	"default": {"default"}, "e": {"strategy", "charset", "autoescape"}, "escape": {"strategy", "charset", "autoescape"},
	"filter": {"arrow"}, "first": {}, "join": {"glue", "and"}, "json_encode": {"flags", "depth"}, "keys": {},
	"last": {}, "length": {}, "lower": {}, "map": {"arrow"}, "merge": {"arr2"}, "nl2br": {},
	"number_format": {"decimal", "decimal_point", "thousand_sep"}, "raw": {}, "reduce": {"arrow", "initial"},
	"replace": {"from"}, "reverse": {"preserve_keys"}, "round": {"precision", "method"},
	"slice": {"start", "length", "preserve_keys"}, "sort": {"arrow"}, "spaceless": {}, "split": {"delimiter", "limit"},
	"striptags": {"allowable_tags"}, "title": {}, "trim": {"character_mask", "side"}, "upper": {}, "url_encode": {},
	// Cerb's filters (the parameters of _DevblocksTwigExtensions' methods)
	"alphanum": {"also", "replace"}, "append": {"suffix", "delimiter", "trim"}, "base_convert": {"base_from", "base_to"},
	"bytes_pretty": {"precision"}, "date_pretty": {"is_delta"}, "hash_hmac": {"key", "algo", "raw"},
	"indent": {"marker", "from_line"}, "permalink": {"spaces_as"}, "quote": {"wrap_to"}, "regexp": {"pattern", "group"},
	"repeat": {"times"}, "secs_pretty": {"precision"}, "str_pos": {"needle", "offset", "ignore_case"},
	"str_sub": {"from", "to"}, "strip_lines": {"prefixes"}, "truncate": {"length", "separator"},
	"url_decode": {"as"}, "stat": {"measure", "decimals"}, "html_to_text": {"truncate"},
	"markdown_to_html": {"is_untrusted"},
}

var functionParams = map[string][]string{
	"attribute": {"object", "attribute", "arguments"}, "cycle": {"values", "position"}, "date": {"date", "timezone"},
	"random": {"values", "max"}, "range": {"low", "high", "step"},
	"array_column": {"array", "column_key", "index_key"}, "array_combine": {"keys", "values"},
	"array_diff": {"arr1", "arr2"}, "array_extract_keys": {"array", "keys"}, "array_fill_keys": {"keys", "value"},
	"array_intersect": {"arr1", "arr2"}, "array_matches": {"array", "patterns"}, "clamp_float": {"string", "min", "max"},
	"clamp_int": {"string", "min", "max"}, "dict_set": {"var", "path", "val"}, "dict_unset": {"var", "path"},
	"json_decode": {"str"}, "random_string": {"length"}, "date_lerp": {"date_string", "unit", "step", "limit"},
	"placeholders_list": {"extract", "prefix"}, "xml_decode": {"str", "namespaces", "mode"},
	"xml_attr": {"xml", "attr", "default"}, "xml_xpath": {"xml", "path", "element"}, "xml_xpath_ns": {"xml", "prefix", "ns"}, "cerb_placeholders_list": {"extract", "prefix"}, "regexp_match_all": {"pattern", "text", "group"},
}

// orderArgs puts the arguments of a call with named arguments in the order
// of the callable's parameters; a skipped parameter gets null (its
// default).
func orderArgs(kind, name string, params []string, ok bool, p pos, args []expr, names []string) ([]expr, error) {
	if names == nil {
		return args, nil
	}
	if !ok {
		return nil, twigError(p, "%s %q does not take named arguments", kind, name)
	}
	out := make([]expr, 0, len(params))
	set := make([]bool, len(params))
	for i, a := range args {
		if names[i] == "" {
			out = append(out, a)
			set[i] = true
			continue
		}
		j := -1
		for k, pn := range params {
			if pn == names[i] {
				j = k
			}
		}
		if j < 0 {
			return nil, twigError(a.at(), "unknown argument %q for %s \"%s(%s)\"", names[i], kind, name, strings.Join(params, ", "))
		}
		if set[j] {
			return nil, twigError(a.at(), "argument %q is defined twice for %s %q", names[i], kind, name)
		}
		for len(out) <= j {
			out = append(out, &litExpr{p: a.at(), val: nil})
		}
		out[j] = a
		set[j] = true
	}
	return out, nil
}
