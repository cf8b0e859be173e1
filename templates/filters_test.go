package templates

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

func TestFilters(t *testing.T) {
	t.Parallel()
	runCases(t, []renderCase{
		// JSON
		{"json_encode dict keeps order", `{{ nested|json_encode }}`, `{"z":1,"a":{"y":"deep"},"m":[1,2]}`, ""},
		{"json_encode no html escaping, slashes escaped", `{{ "<a href='/x'>&</a>"|json_encode }}`, `"<a href='\/x'>&<\/a>"`, ""},
		{"json_encode empty dict", `{{ emptydict|json_encode }}{{ emptylist|json_encode }}`, `[][]`, ""},
		{"json_encode scalars", `{{ n|json_encode }} {{ f|json_encode }} {{ t|json_encode }} {{ nul|json_encode }}`, `42 1.5 true null`, ""},
		{"json_pretty", `{{ nested|json_encode|json_pretty }}`, "{\n    \"z\": 1,\n    \"a\": {\n        \"y\": \"deep\"\n    },\n    \"m\": [\n        1,\n        2\n    ]\n}", ""},
		{"json_pretty non-string", `[{{ nested|json_pretty }}]`, `[]`, ""},
		{"json_pretty invalid", `[{{ "{nope"|json_pretty }}]`, `[null]`, ""},
		{"json_pretty keeps unicode escapes, unescapes slashes", `{{ "{\"a\":\"\\u00e9\\/\"}"|json_pretty }}`, "{\n    \"a\": \"\\u00e9/\"\n}", ""},
		{"json_decode filter", `{% set d = "{\"b\":2,\"a\":1}"|json_decode %}{{ d.a }}{{ d|json_encode }}`, `1{"b":2,"a":1}`, ""},
		{"json_decode invalid", `[{{ "nope"|json_decode }}]`, `[]`, ""},
		// encodings and hashes
		{"base64_encode", `{{ "hello?"|base64_encode }}`, `aGVsbG8/`, ""},
		{"base64_decode", `{{ "aGVsbG8/"|base64_decode }}`, `hello?`, ""},
		{"base64url_encode", `{{ "hello?"|base64url_encode }}`, `aGVsbG8_`, ""},
		{"base64url_decode", `{{ "aGVsbG8_"|base64url_decode }}{{ "aGk="|base64url_decode }}`, `hello?hi`, ""},
		{"md5", `{{ "abc"|md5 }}`, `900150983cd24fb0d6963f7d28e17f72`, ""},
		{"sha1", `{{ "abc"|sha1 }}`, `a9993e364706816aba3e25717850c26c9cd0d89d`, ""},
		{"hash_hmac default sha256", `{{ "The quick brown fox jumps over the lazy dog"|hash_hmac:"key" }}`, `f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8`, ""},
		{"hash_hmac empty input", `[{{ ""|hash_hmac:"key" }}]`, `[]`, ""},
		{"hash_hmac unknown algo", `{{ "x"|hash_hmac("k", "nope") }}`, ``, "1:"},
		{"url_encode string", `{{ "a b&c/é"|url_encode }}`, `a%20b%26c%2F%C3%A9`, ""},
		{"url_encode dict", `{{ nested|url_encode }}`, `z=1&a%5By%5D=deep&m%5B0%5D=1&m%5B1%5D=2`, ""},
		{"url_decode is rawurldecode", `{{ "a%20b+c%2F"|url_decode }}`, `a b+c/`, ""},
		{"url_decode json", `{{ "a=1&b[]=x&b[]=y&c[d]=2"|url_decode:"json" }}`, `{"a":"1","b":["x","y"],"c":{"d":"2"}}`, ""},
		{"escape and e", `{{ "<a>"|e }}{{ "<a>"|escape }}`, `&lt;a&gt;&lt;a&gt;`, ""},
		{"unescape", `{{ "&lt;a&gt; &amp; &quot;"|unescape }}`, `<a> & "`, ""},
		{"raw", `{{ html|raw }}`, `<p>Hi <b>there</b></p>`, ""},
		{"quote", `{{ "say \"hi\"\nagain"|quote }}`, "> say \"hi\"\n> again\n", ""},
		// text
		{"lower upper", `{{ "AbC"|lower }}{{ "AbC"|upper }}`, `abcABC`, ""},
		{"capitalize", `{{ "hELLO world"|capitalize }}`, `Hello world`, ""},
		{"title", `{{ "hello wORLD-wide o'neil"|title }}`, `Hello World-Wide O'neil`, ""},
		{"trim", `[{{ "  x  "|trim }}][{{ "--x--"|trim:"-" }}]`, `[x][x]`, ""},
		{"replace dict", `{% set r = json_decode("{\"a\":\"b\",\"b\":\"a\",\"ab\":\"X\"}") %}{{ "aabba"|replace:r }}`, `bXab`, ""},
		{"alphanum", `{{ "Hello, World! 1-2"|alphanum }} {{ "a-b_c d"|alphanum:"-" }}`, `HelloWorld12 a-bcd`, ""},
		{"append", `{{ "a"|append:"b" }}|{{ ""|append:"b" }}`, `ab|b`, ""},
		{"truncate counts the separator", `{{ "abcdefghij"|truncate:4 }}|{{ "abcdefghij"|truncate:5 }}|{{ "abc"|truncate:4 }}|{{ "x"|repeat:40|truncate }}`, `a...|ab...|abc|xxxxxxxxxxxxxxxxxxxxxxxxxxx...`, ""},
		{"repeat", `{{ "ab"|repeat:3 }}[{{ "ab"|repeat:0 }}]`, `ababab[]`, ""},
		{"repeat too long", `{{ "ab"|repeat:100000000 }}`, ``, "longer than"},
		{"nl2br", `{{ crlf|nl2br }}`, "a<br />\nb<br />\r\nc", ""},
		{"striptags", `{{ html|striptags }}`, `Hi there`, ""},
		{"str_pos in bytes", `{{ "hello"|str_pos:"l" }} {{ "hello"|str_pos:"z" }} {{ "héllo"|str_pos:"l" }} [{{ "hello"|str_pos("l", "1") }}]`, `2 -1 3 []`, ""},
		{"str_sub in bytes", `{{ "hello"|str_sub(1, 5) }} {{ "héllo"|str_sub(3, 6) }} [{{ "hello"|str_sub("1", 2) }}]`, `ello llo []`, ""},
		{"indent", `{{ ab|indent:"> " }}`, "> a\n> b", ""},
		{"strip_lines joins with CRLF", `{{ lines|strip_lines:"#" }}`, "a\r\nc", ""},
		{"regexp group", `{{ "order x123 done"|regexp:"/x(\\d+)/" }}`, `x123`, ""},
		{"regexp bad pattern gives nothing", `[{{ "x"|regexp:"nodelim" }}]`, `[]`, ""},
		{"split_crlf keeps line numbers", `{{ text|split_crlf|json_encode }}`, `{"0":"line one","1":"line two","3":"line three"}`, ""},
		{"split_csv keeps keys", `{{ "a, b,,c ,"|split_csv|json_encode }}`, `{"0":"a","1":"b","3":"c"}`, ""},
		{"parse_csv as fgetcsv", `{{ ''|parse_csv|json_encode }} {{ 'a;b'|parse_csv(';')|json_encode }} {{ "a,b\n\n \"x\"\"y\" ,\"m\nn\"\n"|parse_csv|json_encode }}`, `[false] [["a","b"]] [["a","b"],[null],["x\"y ","m\nn"]]`, ""},
		{"tokenize", `{{ 'Hello, World! ÉTÉ-2024'|tokenize|json_encode }} [{{ 5|tokenize }}]`, `["hello","world","\u00e9t\u00e9","2024"] []`, ""},
		{"jsonpath_set", `{{ jsonpath_set({}, 'a.b[]', 1)|json_encode }} {{ jsonpath_set({'a':{'b':[0]}}, 'a.b[].c', 1)|json_encode }} {{ jsonpath_set('', 'x', 2)|json_encode }}`, `{"a":{"b":[1]}} {"a":{"b":[0,{"c":1}]}} {"x":2}`, ""},
		{"jsonpath_set on a scalar", `{{ jsonpath_set('s', 'x', 2)|json_encode }}`, ``, "1:"},
		{"kata_parse", `{{ kata_parse("a: 1\nb:\n  c@int: 2\nt@text:\n  x\n  y")|json_encode }} [{{ kata_parse('bad line')|json_encode }}]`, `{"a":"1","b":{"c@int":"2"},"t":"x\ny"} [false]`, ""},
		{"parse_csv and csv", `{{ csvtext|parse_csv|json_encode }} {{ csvtext|parse_csv|csv|json_encode }}`, `[["a","b"],["c,d","e"]] "a,b\n\"c,d\",e\n"`, ""},
		{"parse_url", `{{ url|parse_url|json_encode }}`, `{"scheme":"https","host":"example.com","port":8080,"user":"user","pass":"pw","path":"\/p\/a","query":"q=1&r=2","fragment":"frag"}`, ""},
		// defaults, lists and dictionaries
		{"default on missing", `{{ missing|default:"x" }}`, `x`, ""},
		{"default on empty values", `{{ nul|default:"a" }}{{ empty|default:"b" }}{{ fa|default:"c" }}{{ emptylist|default:"d" }}{{ emptydict|default:"e" }}`, `abcde`, ""},
		{"default keeps 0", `{{ zero|default:"x" }}{{ 0|default:"y" }}`, `00`, ""},
		{"default no argument", `[{{ missing|default }}]`, `[]`, ""},
		{"length", `{{ nested|length }} {{ list|length }} {{ "héllo"|length }} {{ missing|length }}`, `3 3 5 0`, ""},
		{"keys", `{{ nested|keys|json_encode }} {{ words|keys|json_encode }}`, `["z","a","m"] [0,1,2]`, ""},
		{"values", `{{ headers|values|json_encode }}`, `["application\/json","yes"]`, ""},
		{"first last", `{{ list|first }}{{ list|last }}{{ headers|first }}{{ headers|last }}{{ "héllo"|first }}`, `32application/jsonyesh`, ""},
		{"join", `{{ words|join:", " }}|{{ headers|join:"," }}|{{ list|join }}`, `b, a, c|application/json,yes|312`, ""},
		{"split", `{{ "a,b,c"|split:","|json_encode }} {{ "abc"|split:""|json_encode }}`, `["a","b","c"] ["a","b","c"]`, ""},
		{"slice", `{{ list|slice:1|json_encode }} {{ "hello"|slice:1 }} {{ nested|slice:1|keys|json_encode }}`, `[1,2] ello ["a","m"]`, ""},
		{"sort keeps the keys (PHP's asort)", `{{ list|sort|json_encode }} {{ words|sort|join }} {{ list|sort|join }}`, `{"1":1,"2":2,"0":3} abc 123`, ""},
		{"reverse", `{{ list|reverse|json_encode }} {{ "abc"|reverse }} {{ nested|reverse|keys|join }}`, `[2,1,3] cba maz`, ""},
		{"merge lists", `{{ list|merge:words|json_encode }}`, `[3,1,2,"b","a","c"]`, ""},
		{"merge dicts", `{{ nested|merge:headers|keys|json_encode }}`, `["z","a","m","content-type","x-custom"]`, ""},
		{"column", `{{ rows|column:"name"|json_encode }}`, `["one","two"]`, ""},
		{"batch keeps the keys", `{{ list|batch:2|json_encode }} {{ list|batch(2, null, false)|json_encode }}`, `[[3,1],{"2":2}] [[3,1],[2]]`, ""},
		// numbers
		{"abs", `{{ neg|abs }} {{ negf|abs }}`, `3 2.5`, ""},
		{"round", `{{ 2.5|round }} {{ 3.14159|round:2 }} {{ f|round }}`, `3 3.14 2`, ""},
		{"number_format", `{{ 1234567.891|number_format }} {{ 1234.5|number_format:2 }}`, `1,234,568 1,234.50`, ""},
		{"bytes_pretty", `{{ 1500|bytes_pretty }} {{ 2500000|bytes_pretty:1 }} {{ 12|bytes_pretty }}`, `2 KB 2.5 MB 12 bytes`, ""},
		{"secs_pretty", `{{ 3900|secs_pretty }} {{ 0|secs_pretty }} {{ 90061|secs_pretty:3 }}`, `1 hour, 5 mins 0 secs 1 day, 1 hour, 1 min`, ""},
		{"base_convert", `{{ "ff"|base_convert:[16, 2] }}`, ``, "1:"}, // pongo2 has no list literal
		// dates
		{"date Y-m-d", `{{ ts|date:"Y-m-d" }}`, `2023-11-14`, ""},
		{"date U", `{{ "2023-11-14T22:13:20Z"|date:"U" }}`, `1700000000`, ""},
		{"date c", `{{ ts|date:"c" }}`, `2023-11-14T22:13:20+00:00`, ""},
		{"date r", `{{ ts|date:"r" }}`, `Tue, 14 Nov 2023 22:13:20 +0000`, ""},
		{"date letters", `{{ ts|date:"D, d M y H:i:s \\Y N jS" }}`, `Tue, 14 Nov 23 22:13:20 Y 2 14th`, ""},
		{"date default format", `{{ "2023-11-14"|date }}`, `November 14, 2023 00:00`, ""},
		{"date bad", `{{ "not a date"|date:"Y" }}`, ``, "cannot read"},
	})
}

func TestFilterDateNow(t *testing.T) {
	t.Parallel()
	out, err := New().Render(`{{ "now"|date:"U" }}`, nil)
	require.NoError(t, err)
	n, err := strconv.ParseInt(out, 10, 64)
	require.NoError(t, err)
	require.InDelta(t, time.Now().Unix(), n, 5)
}

// TestFilterFuncsMultiArgs calls the Go functions directly with several
// arguments, as the Twig front end will.
func TestFilterFuncsMultiArgs(t *testing.T) {
	t.Parallel()
	call := func(name string, in any, args ...any) any {
		fn, ok := Filter(name)
		require.True(t, ok, name)
		out, err := fn(in, args...)
		require.NoError(t, err, name)
		return out
	}
	require.Equal(t, "11111111", call("base_convert", "ff", int64(16), int64(2)))
	require.Equal(t, "a, b and c", call("join", []any{"a", "b", "c"}, ", ", " and "))
	require.Equal(t, []any{"a", "b,c"}, call("split", "a,b,c", ",", int64(2)))
	require.Equal(t, "el", call("slice", "hello", int64(1), int64(2)))
	require.Equal(t, "a…", call("truncate", "abcdef", int64(2), "…"))
	require.Equal(t, "a_b_c", call("alphanum", "a b-c", "", "_"))
	require.Equal(t, int64(3), call("str_pos", "abcABC", "A", int64(1), true))
	require.Equal(t, "ll", call("str_sub", "hello", int64(2), int64(4)))
	require.Equal(t, 3.15, call("round", 3.14159, int64(2), "ceil"))
	require.Equal(t, "1.234,50", call("number_format", 1234.5, int64(2), ",", "."))
	require.Equal(t, "2023-11-15 07:13", call("date", int64(1700000000), "Y-m-d H:i", "Asia/Tokyo"))
	require.Equal(t, "123", call("regexp", "x123y", `/x(\d+)/`, int64(1)))
	require.Equal(t, "123", call("regexp", "X123y", `/x(?P<num>\d+)/i`, "num"))
	require.Equal(t, "x", call("trim", "--x", "-", "left"))
	require.Equal(t, []any{"a", "", "b"}, call("split_crlf", "a\n\nb", true))
	require.Equal(t, "", call("md5", int64(123)))
	require.Equal(t, "a\n  b", call("indent", "a\nb", "  ", int64(2)), "from_line counts from 1")
	require.Len(t, call("hash_hmac", "data", "key", "md5"), 32)
	require.Len(t, call("hash_hmac", "data", "key", "sha512", true), 64)
	require.Equal(t, []any{[]any{int64(1), int64(2)}, dict.Of("2", int64(3), "3", "x")}, call("batch", []any{int64(1), int64(2), int64(3)}, int64(2), "x"))
	require.Equal(t, []any{[]any{int64(1), int64(2)}, []any{int64(3), "x"}}, call("batch", []any{int64(1), int64(2), int64(3)}, int64(2), "x", false))
	require.Equal(t, "> it's\n", call("quote", "it's"))
	require.NotEmpty(t, FilterNames())
}

// TestSplitPieces pins split's pieces (PHP's explode and mb_str_split),
// which share the memory of the text they split, and that split prepays
// the pieces it returns, not every piece of the text.
func TestSplitPieces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		args []any
		want []any
	}{
		{"a,b,,c", []any{","}, []any{"a", "b", "", "c"}},
		{"a::b::c", []any{"::"}, []any{"a", "b", "c"}},
		{"a,b,c", []any{",", int64(2)}, []any{"a", "b,c"}},
		{"a,b,c", []any{",", int64(0)}, []any{"a,b,c"}},
		{"a,b,c", []any{",", int64(-1)}, []any{"a", "b"}},
		{"a,b,c", []any{",", int64(-3)}, []any{}},
		{"a,b,c", []any{",", int64(-5)}, []any{}},
		{"a,b,c", []any{",", int64(9)}, []any{"a", "b", "c"}},
		{"a,b,c", []any{",", int64(1)}, []any{"a,b,c"}},
		{"a,b,c,d,e", []any{",", int64(3)}, []any{"a", "b", "c,d,e"}},
		{"a,b,c,d,e", []any{",", int64(-2)}, []any{"a", "b", "c"}},
		{"", []any{","}, []any{""}},
		{"abc", []any{""}, []any{"a", "b", "c"}},
		{"abcde", []any{"", int64(2)}, []any{"ab", "cd", "e"}},
		{"héllo", []any{"", int64(2)}, []any{"hé", "ll", "o"}},
		{"abc", []any{"", int64(5)}, []any{"abc"}},
		{"ab", []any{"", int64(-1)}, []any{"a", "b"}},
		{"", []any{""}, []any{""}},
		{"a\xffb", []any{""}, []any{"a", "\uFFFD", "b"}},
		{"a\xff\xfeb", []any{"", int64(2)}, []any{"a\uFFFD", "\uFFFDb"}},
	}
	for _, tt := range tests {
		st := newState()
		got, err := fSplit(st, tt.s, tt.args...)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, "%q|split%v", tt.s, tt.args)
		require.Equal(t, int64(len(tt.want))*itemBytes, st.prepaid, "%q|split%v prepaid", tt.s, tt.args)
	}
}

// TestSortKeepsKeys pins sort on lists and dictionaries (PHP's asort:
// stable, the keys kept; a list in order stays a list).
func TestSortKeepsKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want any
	}{
		{[]any{int64(3), int64(1), int64(2)}, dict.Of("1", int64(1), "2", int64(2), "0", int64(3))},
		{[]any{"a", "b", "a"}, dict.Of("0", "a", "2", "a", "1", "b")},
		{[]any{"a", "b"}, []any{"a", "b"}},
		{dict.Of("b", int64(2), "a", int64(1), "c", int64(0)), dict.Of("c", int64(0), "a", int64(1), "b", int64(2))},
		{dict.Of("1", "y", "0", "x"), []any{"x", "y"}},
		{[]any{}, dict.New(0)},
	}
	for _, tt := range tests {
		got, err := fSort(newState(), tt.in)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, "%v|sort", tt.in)
	}
}

// TestFilterKeepsKeys pins filter on lists and dictionaries (PHP's
// array_filter: the keys of the items kept; a list kept whole or up to an
// item stays a list).
func TestFilterKeepsKeys(t *testing.T) {
	t.Parallel()
	env := New()
	for src, want := range map[string]string{
		`{{ [1, 2, 3]|filter(v => v > 1)|json_encode }}`:                    `{"1":2,"2":3}`,
		`{{ [1, 2, 3]|filter(v => v < 3)|json_encode }}`:                    `[1,2]`,
		`{{ [1, 2, 3]|filter(v => v)|json_encode }}`:                        `[1,2,3]`,
		`{{ []|filter(v => v)|json_encode }}`:                               `[]`,
		`{{ [1, 2, 3]|filter((v, k) => k != 1)|json_encode }}`:              `{"0":1,"2":3}`,
		`{{ {b: 1, a: 2, "7": 3}|filter((v, k) => k != "a")|json_encode }}`: `{"b":1,"7":3}`,
		`{{ {"0": 1, "1": 2}|filter(v => v)|json_encode }}`:                 `[1,2]`,
	} {
		out, err := env.Render(src, nil)
		require.NoError(t, err, src)
		require.Equal(t, want, out, src)
	}
}
