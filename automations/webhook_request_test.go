package automations_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates/dict"
)

// show prints a dictionary value with its shape and key order, whatever
// JSON encoding the templates use: maps as {k:v}, lists as [v], text quoted.
func show(v any) string {
	switch t := v.(type) {
	case *dict.Map:
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range t.Keys() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k) + ":" + show(t.Value(k)))
		}
		return b.String() + "}"
	case []any:
		parts := make([]string, len(t))
		for i, x := range t {
			parts[i] = show(x)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case string:
		return strconv.Quote(t)
	case nil:
		return "null"
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	default:
		return "?"
	}
}

// pairs reads "k=v&k=v" into pairs, without decoding.
func pairs(s string) [][2]string {
	if s == "" {
		return nil
	}
	var out [][2]string
	for _, p := range strings.Split(s, "&") {
		k, v, _ := strings.Cut(p, "=")
		out = append(out, [2]string{k, v})
	}
	return out
}

// TestRequestParams checks request_params against what Cerb 10.4 (PHP 8.2's
// $_GET/$_POST, then Cerb's getHttpParams) gives; the cases come from the
// Cerb oracle (testdata/cerb/request.txtar) and from PHP's parse_str.
func TestRequestParams(t *testing.T) {
	t.Parallel()
	deep := "a" + strings.Repeat("[x]", 64) + "=1"
	tooDeep := "a" + strings.Repeat("[x]", 65) + "=1"
	for _, tc := range []struct{ query, form, want string }{
		{"", "", `{}`},
		{"name=Joe Customer&age=37", "", `{"name":"Joe Customer","age":"37"}`},
		{"a[]=1&a[]=2", "", `{"a":["1","2"]}`},
		{"a[b][c]=d", "", `{"a":{"b":{"c":"d"}}}`},
		{"a[]=1&a[x]=2&a[]=3", "", `{"a":{"0":"1","x":"2","1":"3"}}`},
		{"a[0]=x&a[2]=y&a[]=z", "", `{"a":{"0":"x","2":"y","3":"z"}}`},
		{"a.b=1&c d=2&e f=3", "", `{"a_b":"1","c_d":"2","e_f":"3"}`},
		{"X-Y=1&AbC=2", "", `{"x_y":"1","abc":"2"}`},
		{"a=1&a=2", "", `{"a":"2"}`},
		{"a=&b&=c", "", `{"a":"","b":""}`},
		{"a[=1&b]=2&c[d=3", "", `{"a_":"1","b":"2","c_d":"3"}`},
		{"a[b]c=1", "", `{"a":{"b":"1"}}`},
		{"a[][]=1&a[][x]=2", "", `{"a":[["1"],{"x":"2"}]}`},
		{"a[ b ]=1", "", `{"a":{" b ":"1"}}`},
		{"a!b=1&c$d=2&e@f=3&g~h=4", "", `{"ab":"1","cd":"2","ef":"3","gh":"4"}`},
		{"a[b][c][d][e][f][g]=1", "", `{"a":{"b":{"c":{"d":{"e":{"f":{"g":"1"}}}}}}}`},
		{"a=1&a[]=2", "", `{"a":["2"]}`},
		{"a[]=1&a=2", "", `{"a":"2"}`},
		{"A=1&a=2", "", `{"a":"2"}`},
		{"a.b=1&a_b=2", "", `{"a_b":"2"}`},
		{"[]=1&[a]=2", "", `{}`},
		{"my-list[]=1&my-map[k-1]=v", "", `{"my_list":["1"],"my_map":{"k-1":"v"}}`},
		{"é=1&!=2", "", `{"":"2"}`},
		{"a=q&c=3", "a=form&b=2", `{"a":"form","c":"3","b":"2"}`},
		{"a=1&b=2&a=3", "", `{"a":"3","b":"2"}`},
		{"0=x&1=y&_=z", "", `{"0":"x","1":"y","_":"z"}`},
		{"a=1", "A=2&b=3", `{"a":"2","b":"3"}`},
		{"A=1&b=2", "a=3", `{"a":"3","b":"2"}`},
		{"x[]=q1&x[k]=q2", "x[]=f1", `{"x":["f1"]}`},
		{"a[-5]=x&a[]=y", "", `{"a":{"-5":"x","-4":"y"}}`},
		{"b[05]=1&b[]=2&e[-0]=1&e[]=2", "", `{"b":{"05":"1","0":"2"},"e":{"-0":"1","0":"2"}}`},
		{"a[b]=1&a[b][c]=2&a[b][]=3", "", `{"a":{"b":{"c":"2","0":"3"}}}`},
		{"p[q][r=5&s[t]u[v]=6&w[]]=7", "", `{"p":{"q":"5"},"s":{"t":"6"},"w":["7"]}`},
		{"a[x]=1&a[]=2&a[5]=3&a[]=4&a[-1]=5&a[]=6", "", `{"a":{"x":"1","0":"2","5":"3","6":"4","-1":"5","7":"6"}}`},
		{"  a=1&h\x00i=2", "", `{"a":"1","h":"2"}`},
		{deep + "&c=3", "", `{"a":` + strings.Repeat(`{"x":`, 64) + `"1"` + strings.Repeat("}", 64) + `,"c":"3"}`},
		{"a=0&" + tooDeep + "&c=3", "", `{"c":"3"}`},
	} {
		in := automations.WebhookInputs(automations.HTTPRequest{Method: "POST", Query: pairs(tc.query), Form: pairs(tc.form)}, automations.WebhookInfo{})
		if got := show(in.Value("request_params")); got != tc.want {
			t.Errorf("query %q form %q:\n got %s\nwant %s", tc.query, tc.form, got, tc.want)
		}
	}
	// PHP reads at most 1000 variables per source.
	var many []string
	for i := range 1005 {
		many = append(many, "k"+strconv.Itoa(i)+"=1")
	}
	in := automations.WebhookInputs(automations.HTTPRequest{Query: pairs(strings.Join(many, "&"))}, automations.WebhookInfo{})
	if n := in.Value("request_params").(*dict.Map).Len(); n != 1000 {
		t.Errorf("1005 query variables: %d params, want 1000", n)
	}
}

// TestRequestHeaders checks request_headers against Cerb under PHP's
// built-in server (the oracle's request/h_* cases).
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	h := func(kv ...string) [][2]string {
		var out [][2]string
		for i := 0; i < len(kv); i += 2 {
			out = append(out, [2]string{kv[i], kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		headers [][2]string
		want    string
	}{
		{h("Host", "h", "Zeta", "1", "Alpha", "2"), `{"host":"h","zeta":"1","alpha":"2"}`},
		{h("Host", "h", "X-Dup", "a", "X-Other", "o", "x-dup", "b"), `{"host":"h","x_dup":"a, b","x_other":"o"}`},
		{h("X_Under", "1", "X-Under", "2"), `{"x_under":"2"}`},
		{h("X.Dot", "1", "Proxy", "http://evil.example", "Cookie", "a=1", "X-After", "1"), `{"x_dot":"1","x_after":"1"}`},
		{h("Content-Type", "application/json", "Content-Length", "2"), `{"content_type":"application/json","content_length":"2"}`},
		{h("X-Empty", "", "X-1", "a", "1X", "b"), `{"x_empty":"","x_1":"a","1x":"b"}`},
	} {
		in := automations.WebhookInputs(automations.HTTPRequest{Headers: tc.headers}, automations.WebhookInfo{})
		if got := show(in.Value("request_headers")); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.headers, got, tc.want)
		}
	}
}

// TestRequestPathAndBody checks request_path (Cerb splits on '/' and drops
// one empty last segment) and the empty request_body of a multipart POST.
func TestRequestPathAndBody(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"": "", "/": "", "a": "a", "/a/b": "a/b", "/a/b/": "a/b", "a/b//": "a/b/",
		"/a//b": "a//b", "//x": "/x", "/a%2Fb": "a%2Fb", "/a/../b": "a/../b",
	} {
		in := automations.WebhookInputs(automations.HTTPRequest{Path: path}, automations.WebhookInfo{})
		if got := in.Value("request_path"); got != want {
			t.Errorf("path %q: request_path %q, want %q", path, got, want)
		}
	}
	multipart := [][2]string{{"Content-Type", "Multipart/Form-Data; boundary=x"}}
	for _, tc := range []struct {
		method  string
		headers [][2]string
		want    string
	}{
		{"POST", multipart, ""},
		{"PUT", multipart, "raw"},
		{"POST", [][2]string{{"Content-Type", "text/plain"}}, "raw"},
	} {
		in := automations.WebhookInputs(automations.HTTPRequest{Method: tc.method, Headers: tc.headers, Body: []byte("raw")}, automations.WebhookInfo{})
		if got := in.Value("request_body"); got != tc.want {
			t.Errorf("%s %q: request_body %q, want %q", tc.method, tc.headers, got, tc.want)
		}
	}
}

// runReturn runs a script and shows its return dictionary.
func runReturn(t *testing.T, script string, inputs *dict.Map) (string, *automations.Result) {
	t.Helper()
	p := compile(t, automations.Source{Script: script}, automations.Options{})
	if inputs == nil {
		inputs = dict.New(0)
	}
	res := p.Run(context.Background(), inputs, automations.Runtime{Now: func() time.Time { return time.Unix(1735718400, 0) }})
	return show(res.Return), res
}

// TestAnnotationsAsCerb checks annotations against Cerb 10.4's
// formatKeyValue (oracle annotations/* and PHP).
func TestAnnotationsAsCerb(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, script, want string }{
		{"CSVGaps", "start:\n  return:\n    a@csv: a,,b\n    b@csv: a, ,b\n    c@csv: a,b,,\n    d@csv: ,a\n", `{"a":{"0":"a","2":"b"},"b":["a","","b"],"c":["a","b"],"d":{"1":"a"}}`},
		{"CSVOfNonText", "start:\n  return:\n    a@int,csv: 5\n", `{"a":[]}`},
		{"ListGaps", "start:\n  return:\n    a@list:\n      x\n       \n      y\n", `{"a":{"0":"x","2":"y"}}`},
		{"ListCR", "start:\n  return:\n    a@list: {{ \"x\\ry\" }}\n", `{"a":["x","y"]}`},
		{"IntKeepsEPlusSource", "start:\n  set:\n    x: 1E+3\n  return:\n    a@int: 1E+3\n    b@int: 1e+3\n    c@float: 2E+2\n    d@int: {{ x }}\n    e@int: {{ '1E+3' }}\n", `{"a":"1E+3","b":1000,"c":"2E+2","d":1000,"e":"1E+3"}`},
		{"KeyThroughText", "start:\n  set:\n    a: text\n    m:\n      l@csv: x,y\n  return:\n    a@key: a:b:c\n    b@key: m:l:1\n    c@key: m:nope\n", `{"a":"text","b":"y","c":null}`},
		{"NumberedKeysAreAList", "start:\n  set:\n    obj:\n      0: zero\n      1: one\n    mix:\n      0: a\n      x: b\n    gap:\n      0: a\n      2: b\n  return:\n    a@key: obj\n    b@key: mix\n    c@key: gap\n    nested:\n      l:\n        0: x\n        1: y\n",
			`{"a":["zero","one"],"b":{"0":"a","x":"b"},"c":{"0":"a","2":"b"},"nested":{"l":["x","y"]}}`},
		{"JSONRecordContext", "start:\n  return:\n    a@json: {\"id\":1,\"_context\":\"worker\"}\n    b@json: [{\"id\":2,\"_context\":\"ticket\"},{\"_context\":\"ticket\"}]\n    c@json: {\"id\":3,\"_context\":\"nope\"}\n",
			`{"a":{"id":1,"_context":"cerberusweb.contexts.worker"},"b":[{"id":2,"_context":"cerberusweb.contexts.ticket"},{"_context":"ticket"}],"c":{"id":3,"_context":"nope"}}`},
		{"DateOfNumber", "start:\n  return:\n    a@int,date: 1700000000\n    b@date: Jan 1 2025 08:00 UTC\n", `{"a":false,"b":1735718400}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, res := runReturn(t, tc.script, nil)
			require.Equal(t, automations.ExitReturn, res.Exit, res.Error)
			require.Equal(t, tc.want, got)
		})
	}
}
