package main

import (
	"fmt"
	"strings"

	"github.com/hookhost/hookhost/internal/oracle"
)

// generated returns the generated areas: the request dictionary under many
// requests, and Twig expressions (Cerb's filters, functions and tests, and
// core Twig as Cerb configures it) in a return body.
func generated() []*oracle.File {
	return []*oracle.File{
		genRequests(),
		exprFile("cerb_filters", "Cerb's own Twig filters (spec §7.2) in a return body", cerbFilterExprs),
		exprFile("cerb_functions", "Cerb's own Twig functions (spec §7.3) in a return body", cerbFunctionExprs),
		exprFile("cerb_tests", "Cerb's own Twig tests (numeric, pattern, prefixed, suffixed, record type)", cerbTestExprs),
		exprFile("twig_in_cerb", "core Twig as Cerb configures it (Twig 3.6.2 fork, sandbox, trim_blocks) in a return body", twigInCerbExprs),
	}
}

// dumpScript answers with the whole request dictionary as JSON.
const dumpScript = `start:
  return:
    headers:
      Content-Type: application/json
    body@text: {{ {'method': request_method, 'path': request_path, 'headers': request_headers, 'params': request_params, 'body': request_body, 'ip': request_client_ip}|json_encode }}
`

type reqCase struct{ name, note, request string }

var requestCases = []reqCase{
	{"get_plain", "no path suffix, no query", "GET /webhooks/{token}"},
	{"get_trailing_slash", "a trailing slash after the token", "GET /webhooks/{token}/"},
	{"path_ab", "", "GET /webhooks/{token}/a/b"},
	{"path_ab_slash", "", "GET /webhooks/{token}/a/b/"},
	{"path_double_slash", "", "GET /webhooks/{token}/a//b"},
	{"path_encoded_space", "", "GET /webhooks/{token}/a%20b"},
	{"path_encoded_slash", "", "GET /webhooks/{token}/a%2Fb"},
	{"path_unicode", "", "GET /webhooks/{token}/%C3%BC/x"},
	{"path_dotdot", "", "GET /webhooks/{token}/a/../b"},
	{"path_dot", "", "GET /webhooks/{token}/a/./b.json"},
	{"path_query", "", "GET /webhooks/{token}/a/b?x=1"},
	{"path_plus", "", "GET /webhooks/{token}/a+b"},
	{"path_semicolon", "", "GET /webhooks/{token}/a;b=c"},
	{"path_deep", "", "GET /webhooks/{token}/v1/users/42/events"},
	{"token_query", "the token as ?token= (hookhost also accepts it; Cerb does not)", "GET /webhooks?token={token}"},
	{"query_basic", "the guide's second request", "GET /webhooks/{token}?name=Joe+Customer&age=37"},
	{"query_array_append", "", "GET /webhooks/{token}?a[]=1&a[]=2"},
	{"query_nested", "", "GET /webhooks/{token}?a[b][c]=d"},
	{"query_map", "", "GET /webhooks/{token}?a[b]=1&a[c]=2"},
	{"query_mixed_array", "", "GET /webhooks/{token}?a[]=1&a[x]=2&a[]=3"},
	{"query_indexed", "", "GET /webhooks/{token}?a[0]=x&a[2]=y&a[]=z"},
	{"query_dot_space", "", "GET /webhooks/{token}?a.b=1&c+d=2&e%20f=3"},
	{"query_dash_upper", "", "GET /webhooks/{token}?X-Y=1&AbC=2"},
	{"query_repeat", "", "GET /webhooks/{token}?a=1&a=2"},
	{"query_empty_value", "", "GET /webhooks/{token}?a=&b&=c"},
	{"query_percent", "", "GET /webhooks/{token}?k%5B%5D=1&v=%26%3D%2B"},
	{"query_invalid_percent", "", "GET /webhooks/{token}?a=%zz&b=%&c=%4"},
	{"query_unicode", "", "GET /webhooks/{token}?n%C3%A4me=J%C3%B6rg&x=%E2%82%AC"},
	{"query_unclosed_bracket", "", "GET /webhooks/{token}?a[=1&b]=2&c[d=3"},
	{"query_bracket_suffix", "", "GET /webhooks/{token}?a[b]c=1"},
	{"query_nested_append", "", "GET /webhooks/{token}?a[][]=1&a[][x]=2"},
	{"query_bracket_space", "", "GET /webhooks/{token}?a[%20b%20]=1"},
	{"query_special_chars", "", "GET /webhooks/{token}?a!b=1&c$d=2&e@f=3&g~h=4"},
	{"query_numeric_key", "", "GET /webhooks/{token}?1=a&2=b&10=c"},
	{"query_semicolon", "", "GET /webhooks/{token}?a=1;b=2"},
	{"query_long_nested", "", "GET /webhooks/{token}?a[b][c][d][e][f][g]=1"},
	{"query_scalar_then_array", "", "GET /webhooks/{token}?a=1&a[]=2"},
	{"query_array_then_scalar", "", "GET /webhooks/{token}?a[]=1&a=2"},
	{"query_case_collision", "", "GET /webhooks/{token}?A=1&a=2"},
	{"query_underscore_collision", "", "GET /webhooks/{token}?a.b=1&a_b=2"},
	{"query_only_question", "", "GET /webhooks/{token}?"},
	{"query_amp_only", "", "GET /webhooks/{token}?&&a=1&&"},
	{"query_value_equals", "", "GET /webhooks/{token}?a=b=c"},
	{"query_plus_value", "", "GET /webhooks/{token}?a=1+2&b=1%2B2"},
	{"query_empty_brackets_name", "", "GET /webhooks/{token}?[]=1&[a]=2"},
	{"query_key_dash_bracket", "", "GET /webhooks/{token}?my-list[]=1&my-map[k-1]=v"},
	{"query_nonalnum_only", "", "GET /webhooks/{token}?%C3%A9=1&%21=2"},
	{"post_form", "", "POST /webhooks/{token}\nContent-Type: application/x-www-form-urlencoded\n\na=1&b=2"},
	{"post_form_override", "form fields override query keys", "POST /webhooks/{token}?a=q&c=3\nContent-Type: application/x-www-form-urlencoded\n\na=form&b=2"},
	{"post_form_arrays", "", "POST /webhooks/{token}\nContent-Type: application/x-www-form-urlencoded\n\nx[]=1&x[]=2&y[k]=v"},
	{"post_form_charset", "", "POST /webhooks/{token}\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\n\nname=J%C3%B6rg"},
	{"post_form_upper_ct", "", "POST /webhooks/{token}\nContent-Type: APPLICATION/X-WWW-FORM-URLENCODED\n\na=1"},
	{"post_form_merge_array", "query array and form array of the same name", "POST /webhooks/{token}?x[]=q1&x[k]=q2\nContent-Type: application/x-www-form-urlencoded\n\nx[]=f1"},
	{"post_json", "a JSON body is not parsed into params", "POST /webhooks/{token}\nContent-Type: application/json\n\n{\"a\":1,\"b\":[1,2]}"},
	{"post_text_crlf", "", "POST /webhooks/{token}\nContent-Type: text/plain\n\nline1\r\nline2\r\n"},
	{"post_binary", "", "POST /webhooks/{token}\nContent-Type: application/octet-stream\n\n\x00\x01\xff\xfe end"},
	{"post_multipart", "PHP parses multipart fields into params and leaves the body empty", "POST /webhooks/{token}\nContent-Type: multipart/form-data; boundary=XyZ\n\n--XyZ\r\nContent-Disposition: form-data; name=\"f1\"\r\n\r\nv1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f2[]\"\r\n\r\nv2\r\n--XyZ--\r\n"},
	{"post_no_ct", "a form-looking body without a Content-Type", "POST /webhooks/{token}\n\na=1&b=2"},
	{"post_empty", "", "POST /webhooks/{token}"},
	{"post_empty_cl0", "", "POST /webhooks/{token}\nContent-Length: 0"},
	{"get_with_form_body", "", "GET /webhooks/{token}\nContent-Type: application/x-www-form-urlencoded\n\na=1"},
	{"delete_form", "", "DELETE /webhooks/{token}?q=1\nContent-Type: application/x-www-form-urlencoded\n\na=1"},
	{"patch_json", "", "PATCH /webhooks/{token}\nContent-Type: application/json\n\n{\"op\":\"x\"}"},
	{"method_options", "", "OPTIONS /webhooks/{token}"},
	{"method_head", "", "HEAD /webhooks/{token}"},
	{"method_put", "", "PUT /webhooks/{token}\nContent-Type: text/plain\n\nbody"},
	{"method_delete", "", "DELETE /webhooks/{token}"},
	{"method_lowercase", "", "post /webhooks/{token}"},
	{"method_custom", "", "PURGE /webhooks/{token}"},
	{"h_custom", "the guide's header", "GET /webhooks/{token}\nX-CustomHeader: true\nX-Another-One: 2"},
	{"h_order", "header order as sent", "GET /webhooks/{token}\nZeta: 1\nAlpha: 2\nMid: 3"},
	{"h_repeat", "", "GET /webhooks/{token}\nX-Dup: a\nX-Dup: b"},
	{"h_cookie", "cookie is removed", "GET /webhooks/{token}\nCookie: a=1; b=2\nX-After: 1"},
	{"h_underscore", "", "GET /webhooks/{token}\nX_Under: 1\nX-Under: 2"},
	{"h_case", "", "GET /webhooks/{token}\nx-lower: 1\nX-UPPER: 2"},
	{"h_empty", "", "GET /webhooks/{token}\nX-Empty:\nX-After: 1"},
	{"h_spaces", "", "GET /webhooks/{token}\nX-Spaces:   padded   x"},
	{"h_utf8", "", "GET /webhooks/{token}\nX-Utf8: \xc3\xa9t\xc3\xa9"},
	{"h_latin1", "", "GET /webhooks/{token}\nX-Latin1: \xe9t\xe9"},
	{"h_authorization", "", "GET /webhooks/{token}\nAuthorization: Bearer abc.def"},
	{"h_content_type_get", "", "GET /webhooks/{token}\nContent-Type: text/plain"},
	{"h_content_length_post", "", "POST /webhooks/{token}\nContent-Type: text/plain\nContent-Length: 5\n\nhello"},
	{"h_curl", "curl's default headers", "GET /webhooks/{token}\nUser-Agent: curl/7.88.1\nAccept: */*"},
	{"h_host_other", "", "GET /webhooks/{token}\nHost: hooks.example.com"},
	{"h_dot", "", "GET /webhooks/{token}\nX.Dot: 1"},
	{"h_digits", "", "GET /webhooks/{token}\nX-1: a\n1X: b"},
	{"h_long_value", "", "GET /webhooks/{token}\nX-Long: " + strings.Repeat("abcdefghij", 100)},
	{"h_xff", "X-Forwarded-For does not change request_client_ip", "GET /webhooks/{token}\nX-Forwarded-For: 203.0.113.7, 10.0.0.1"},
	{"h_xreal", "", "GET /webhooks/{token}\nX-Real-IP: 198.51.100.2\nClient-IP: 192.0.2.1"},
	{"h_forwarded", "", "GET /webhooks/{token}\nForwarded: for=192.0.2.60;proto=http"},
	{"h_proxy", "httpoxy: PHP may drop Proxy", "GET /webhooks/{token}\nProxy: http://evil.example"},
	{"h_tab_value", "", "GET /webhooks/{token}\nX-Tab: a\tb"},
	{"h_signature", "a typical signature header", "POST /webhooks/{token}\nX-Hub-Signature-256: sha256=abc\nContent-Type: application/json\n\n{}"},
	{"h_many", "", "GET /webhooks/{token}\nAccept: application/json\nAccept-Encoding: gzip\nAccept-Language: fr\nCache-Control: no-cache\nIf-None-Match: \"x\"\nReferer: http://r.example/\nOrigin: http://o.example"},
	{"h_te", "", "POST /webhooks/{token}\nContent-Type: text/plain\nTransfer-Encoding: chunked\n\n5\r\nhello\r\n0\r\n\r\n"},
}

func genRequests() *oracle.File {
	f := &oracle.File{Area: "request", Comment: "The request dictionary (request_method, request_path, request_headers, request_params,\nrequest_body, request_client_ip) under many requests; the script returns all of it as JSON.\n"}
	for _, r := range requestCases {
		c := &oracle.Case{Name: r.name}
		if r.note != "" {
			c.Set("note", r.note)
		}
		c.Set("request", r.request)
		c.Set("script", dumpScript)
		f.Cases = append(f.Cases, c)
	}
	// Scripts that read one part of the request in a specific way.
	extra := []struct{ name, request, body string }{
		{"header_keys", "GET /webhooks/{token}\nX-B: 1\nX-A: 2", "{{ request_headers|keys|json_encode }}"},
		{"params_keys", "GET /webhooks/{token}?b=1&a=2&1=x", "{{ request_params|keys|json_encode }}"},
		{"params_sum", "GET /webhooks/{token}?a=1&b=2", "{{ request_params.a + request_params.b }}"},
		{"params_concat", "GET /webhooks/{token}?a=1&b=2", "{{ request_params.a ~ request_params.b }}"},
		{"params_missing", "GET /webhooks/{token}", "[{{ request_params.nope }}][{{ request_params.nope is defined ? 'd' : 'u' }}]"},
		{"params_array_index", "GET /webhooks/{token}?a[]=x&a[]=y", "{{ request_params.a.1 }}|{{ request_params.a|length }}|{{ request_params.a|join(',') }}"},
		{"header_lookup", "GET /webhooks/{token}\nX-CustomHeader: yes", "{{ request_headers.x_customheader }}|{{ request_headers['x_customheader'] }}"},
		{"body_json_decode", "POST /webhooks/{token}\nContent-Type: application/json\n\n{\"a\":{\"b\":[1,2,3]}}", "{{ json_decode(request_body).a.b|join('-') }}"},
		{"body_length", "POST /webhooks/{token}\nContent-Type: text/plain\n\n\xc3\xa9t\xc3\xa9", "{{ request_body|length }}"},
		{"method_lower", "POST /webhooks/{token}", "{{ request_method|lower }}"},
		{"path_split", "GET /webhooks/{token}/users/42", "{{ request_path|split('/')|last }}"},
		{"client_ip", "GET /webhooks/{token}", "{{ request_client_ip }}"},
		{"webhook_keys", "GET /webhooks/{token}", "{{ _context|keys|filter(k => k starts with 'webhook_')|join(',') }}"},
		{"webhook_values", "GET /webhooks/{token}", "id={{ webhook_id is numeric ? 'n' : webhook_id }} name={{ webhook_name }} label={{ webhook__label }} ctx={{ webhook__context }}"},
		{"dict_keys", "GET /webhooks/{token}", "{{ _context|keys|join(',') }}"},
	}
	for _, x := range extra {
		c := &oracle.Case{Name: x.name}
		c.Set("request", x.request)
		c.Set("script", "start:\n  return:\n    body@text: "+x.body+"\n")
		f.Cases = append(f.Cases, c)
	}
	return f
}

// expr is one Twig template with optional variables (a JSON object set
// with @json before the return).
type expr struct{ name, tpl, vars string }

// exprScript is the script of an expression case.
func exprScript(e expr) string {
	var b strings.Builder
	b.WriteString("start:\n")
	if e.vars != "" {
		b.WriteString("  set:\n")
		b.WriteString("    v@json: " + e.vars + "\n")
	}
	b.WriteString("  return:\n")
	if strings.Contains(e.tpl, "\n") {
		b.WriteString("    body@text:\n")
		for _, l := range strings.Split(e.tpl, "\n") {
			b.WriteString("      " + l + "\n")
		}
	} else {
		b.WriteString("    body@text: " + e.tpl + "\n")
	}
	return b.String()
}

func exprFile(area, title string, exprs []expr) *oracle.File {
	f := &oracle.File{Area: area, Comment: title + ".\nEach script returns one template as the body (a Twig error renders the value empty).\n"}
	seen := map[string]bool{}
	for _, e := range exprs {
		if seen[e.name] {
			panic(fmt.Sprintf("%s: duplicate case %s", area, e.name))
		}
		seen[e.name] = true
		c := &oracle.Case{Name: e.name}
		c.Set("request", "GET /webhooks/{token}")
		c.Set("script", exprScript(e))
		f.Cases = append(f.Cases, c)
	}
	return f
}
