package templates

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFunctions(t *testing.T) {
	t.Parallel()
	runCases(t, []renderCase{
		{"json_decode", `{% set d = json_decode("{\"b\":[1,2],\"a\":null}") %}{{ d|keys|join }} {{ d.b.1 }}`, `ba 2`, ""},
		{"dict_set nested path", `{{ dict_set(nested, "a.x", 5)|json_encode }}`, `{"z":1,"a":{"y":"deep","x":5},"m":[1,2]}`, ""},
		{"dict_set append", `{{ dict_set(nested, "m.[]", 3).m|json_encode }} {{ dict_set(missing, "l.[]", "x")|json_encode }}`, `[1,2,3] {"l":["x"]}`, ""},
		{"dict_set returns a copy", `{% set d2 = dict_set(nested, "z", 9) %}{{ nested.z }}{{ d2.z }}`, `19`, ""},
		{"dict_unset", `{{ dict_unset(nested, "a.y")|json_encode }}`, `{"z":1,"a":[],"m":[1,2]}`, ""},
		{"array_column", `{{ array_column(rows, "name")|json_encode }} {{ array_column(rows, "name", "id")|json_encode }}`, `["one","two"] {"1":"one","2":"two"}`, ""},
		{"array_combine", `{{ array_combine(words, list)|json_encode }}`, `{"b":3,"a":1,"c":2}`, ""},
		{"array_count_values", `{{ array_count_values(json_decode("[\"a\",\"b\",\"a\"]"))|json_encode }}`, `{"a":2,"b":1}`, ""},
		{"array_diff", `{{ array_diff(words, json_decode("[\"a\"]"))|json_encode }}`, `{"0":"b","2":"c"}`, ""},
		{"array_intersect", `{{ array_intersect(words, json_decode("[\"a\",\"c\"]"))|json_encode }}`, `{"1":"a","2":"c"}`, ""},
		{"array_extract_keys", `{{ array_extract_keys([{'id': 1, 'n': 'a'}, {'id': 2}], ['id', 'n'])|json_encode }}`, `[{"id":1,"n":"a"},{"id":2,"n":null}]`, ""},
		{"array_fill_keys", `{{ array_fill_keys(words, 0)|json_encode }}`, `{"b":0,"a":0,"c":0}`, ""},
		{"array_matches", `{{ array_matches(json_decode("[\"foo.txt\",\"bar.TXT\",\"x.png\"]"), json_decode("[\"*.txt\"]"))|json_encode }}`, `["foo.txt","bar.TXT"]`, ""},
		{"array_sort_keys", `{{ array_sort_keys(nested)|keys|join }}`, `amz`, ""},
		{"array_sum", `{{ array_sum(list) }} {{ array_sum(json_decode("[1, 2.5]")) }}`, `6 3.5`, ""},
		{"array_unique", `{{ array_unique(json_decode("[1,2,1,\"2\",3]"))|json_encode }}`, `{"0":1,"1":2,"4":3}`, ""},
		{"array_values", `{{ array_values(headers)|json_encode }}`, `["application\/json","yes"]`, ""},
		{"attribute", `{{ attribute(headers, "content-type") }}`, `application/json`, ""},
		{"clamp_int", `{{ clamp_int(150, 0, 100) }} {{ clamp_int(-5, 0, 100) }} {{ clamp_int("7", 0, 100) }}`, `100 0 7`, ""},
		{"clamp_float", `{{ clamp_float(1.5, 0, 1) }} {{ clamp_float(0.25, 0, 1) }}`, `1 0.25`, ""},
		{"validate_email", `{{ validate_email("a@example.com") }}|{{ validate_email("nope") }}|{{ validate_email("A <a@example.com>") }}|{{ validate_email("a@x.example, b@x.example") }}`, `1||1|`, ""},
		{"validate_number", `{{ validate_number("12.5") }}|{{ validate_number("12x") }}|{{ validate_number(3) }}`, `1||1`, ""},
		{"range", `{{ range(1, 5)|join:"," }} {{ range(0, 10, 5)|join:"," }} {{ range("a", "e")|join }} {{ range(3, 1)|join }}`, `1,2,3,4,5 0,5,10 abcde 321`, ""},
		{"range cap", `{{ range(1, 1000000)|length }}`, ``, "range of more than 100000 items"},
		{"min max", `{{ min(3, 1, 2) }}{{ max(list) }}{{ max("apple", "pear") }}`, `13pear`, ""},
		{"cycle", `{% for i in range(0, 3) %}{{ cycle(words, i) }}{% endfor %}`, `bacb`, ""},
		{"random from list", `{{ random(json_decode("[7]")) }} {{ random(5, 5) }}`, `7 5`, ""},
		{"shuffle keeps items", `{{ shuffle(list)|sort|join }}`, `123`, ""},
		{"regexp_match_all", `{{ regexp_match_all("/(\\d+)/", "a1b22c333", 1)|join:"," }}`, `1,22,333`, ""},
	})
	// Separate env data for shadowing.
	env := New()
	out, err := env.Render(`{{ range }}|{{ min(1,2) }}`, mustData(t, `{"range":"shadowed"}`))
	require.NoError(t, err)
	require.Equal(t, "shadowed|1", out)
}

func TestFunctionRandomString(t *testing.T) {
	t.Parallel()
	env := New()
	out, err := env.Render(`{{ random_string() }} {{ random_string(16) }}`, nil)
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^[A-Za-z0-9]{8} [A-Za-z0-9]{16}$`), out)
	out, err = env.Render(`{{ random_string(10000000)|length }} {{ random_string(0)|length }}`, nil)
	require.NoError(t, err)
	require.Equal(t, "255 1", out, "the length is clamped to 1-255, as in Cerb")
	require.NotEmpty(t, FunctionNames())
	fn, ok := Function("dict_set")
	require.True(t, ok)
	v, err := fn(nil, nil, "a.b", int64(1))
	require.NoError(t, err)
	require.Equal(t, `{"a":{"b":1}}`, encodeJSON(v))
}
