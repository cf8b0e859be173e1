package upstream

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
)

// compileEvent compiles the subscribe blocks of event KATA.
func compileEvent(t *testing.T, src string) ([]*Spec, error) {
	t.Helper()
	doc, err := kata.Parse("event", src)
	require.NoError(t, err)
	var blocks []*kata.Node
	for _, n := range doc.Root.Children {
		if n.Type() == "subscribe" {
			blocks = append(blocks, n)
		}
	}
	return Compile(blocks)
}

func TestCompile_Problems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      []string
	}{
		{"NoName", "subscribe:\n  url: https://x.test/\n", []string{"1:1: `subscribe:` needs a name: `subscribe/<name>:`"}},
		{"NotAnObject", "subscribe/a: https://x.test/\n", []string{"1:1: `subscribe/a:` must hold `url:` (and optionally method:, headers:, body: and id_path:)"}},
		{"UnknownKeyAndNoURL", "subscribe/a:\n  uri: https://x.test/\n", []string{
			"2:3: unknown key `uri:` of `subscribe/a:` (its keys: url, method, headers, body, id_path)",
			"1:1: `subscribe/a:` needs `url:`, where the subscription is made"}},
		{"BadValues", "subscribe/a:\n  url: ftp://x.test/\n  method: GET\n  headers:\n    Bad/Header: x\n  body:\n    on@bool: maybe\n    n@int: many\n    raw@json: {nope\n",
			[]string{
				"2:8: `url:` must be an http:// or https:// URL",
				"3:11: `method:` must be POST, PUT or PATCH",
				"5:5: `Bad/Header:` is not a header (`Name: value`)",
				"7:14: `on@bool:` must be yes or no",
				"8:12: `n:` must be a number",
				"9:15: `raw@json:` must be JSON",
			}},
		{"Markup", "subscribe/a:\n  url: https://x.test/{{request_path}}\n  body: {{ secrets.OK }} {% if x %}\n", []string{
			"2:8: `url:` may only use {{webhook_url}} and {{secrets.NAME}} (got {{request_path}})",
			"3:9: `body:` may only use {{webhook_url}} and {{secrets.NAME}} (got {% if x %})"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := compileEvent(t, tt.src)
			var errs kata.Errors
			require.ErrorAs(t, err, &errs)
			var got []string
			for _, e := range errs {
				got = append(got, e.Pos.String()+": "+e.Msg)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	specs, err := compileEvent(t, `subscribe/gh:
  url: https://api.github.test/repos/o/r/hooks
  headers:
    Authorization: Bearer {{secrets.TOKEN}}
  body:
    name: web
    active@bool: yes
    n@int: 3
    events@list:
      push
      pull_request
    tags@csv: a, b
    extra@json: {"k": [1]}
    config:
      url: {{ webhook_url }}
      secret: {{secrets.QUOTED}}
  id_path: /url
subscribe/plain:
  url: https://x.test/subscribe?callback={{webhook_url}}
  method: put
  body: {{webhook_url}}
`)
	require.NoError(t, err)
	require.Len(t, specs, 2)
	require.Equal(t, []string{"QUOTED", "TOKEN"}, specs[0].SecretNames())
	secret := func(name string) (string, bool) {
		v, ok := map[string]string{"TOKEN": "t0k", "QUOTED": `a"b`}[name]
		return v, ok
	}
	r, err := specs[0].Render("https://hooks.test/webhooks/abc", secret)
	require.NoError(t, err)
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, [][2]string{{"Authorization", "Bearer t0k"}, {"Content-Type", "application/json"}}, r.Headers)
	require.Equal(t, `{"name":"web","active":true,"n":3,"events":["push","pull_request"],"tags":["a","b"],"extra":{"k": [1]},`+
		`"config":{"url":"https://hooks.test/webhooks/abc","secret":"a\"b"}}`, string(r.Body))
	require.Equal(t, "/url", r.IDPath)

	r, err = specs[1].Render("https://hooks.test/webhooks/abc", secret)
	require.NoError(t, err)
	require.Equal(t, http.MethodPut, r.Method)
	require.Equal(t, "https://x.test/subscribe?callback=https://hooks.test/webhooks/abc", r.URL)
	require.Equal(t, "https://hooks.test/webhooks/abc", string(r.Body))

	_, err = specs[0].Render("u", func(string) (string, bool) { return "", false })
	require.EqualError(t, err, "subscribe/gh: the secrets TOKEN, QUOTED are not set")

	// The hash follows the block's content.
	again, err := compileEvent(t, "subscribe/plain:\n  url: https://x.test/subscribe?callback={{webhook_url}}\n  method: put\n  body: {{webhook_url}}\n")
	require.NoError(t, err)
	require.Equal(t, specs[1].Hash, again[0].Hash)
	changed, err := compileEvent(t, "subscribe/plain:\n  url: https://x.test/subscribe?callback={{webhook_url}}\n  method: post\n  body: {{webhook_url}}\n")
	require.NoError(t, err)
	require.NotEqual(t, specs[1].Hash, changed[0].Hash)
}

func TestFindLocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		idPath   string
		location string
		body     string
		want     string
		problem  string
	}{
		{"RelativeLocation", "", "/hooks/7", "", "https://api.test/hooks/7", ""},
		{"AbsoluteLocation", "", "https://other.test/h/1", "", "https://other.test/h/1", ""},
		{"NoLocation", "", "", `{"id":1}`, "", "the upstream answered without a Location header (name where the answer has it with id_path:)"},
		{"PointerURL", "/url", "/ignored", `{"url":"https://api.test/repos/o/r/hooks/9"}`, "https://api.test/repos/o/r/hooks/9", ""},
		{"DottedID", "data.0.id", "", `{"data":[{"id":42}]}`, "https://api.test/v1/subs/42", ""},
		{"Missing", "/nope", "", `{"id":1}`, "", "the answer has nothing at id_path: /nope"},
		{"NotJSON", "/id", "", `<html>`, "", "the answer is not JSON, so id_path: /id cannot be read from it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reqURL := "https://api.test/v1/subs"
			h := http.Header{}
			if tt.location != "" {
				h.Set("Location", tt.location)
			}
			got, problem := findLocation(Request{URL: reqURL, IDPath: tt.idPath}, result{status: 201, header: h, body: []byte(tt.body)})
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.problem, problem)
		})
	}
}

// TestDeleteHeaders: a take-back DELETE carries the subscribe request's
// credentials only to the request's own scheme and host.
func TestDeleteHeaders(t *testing.T) {
	req := Request{URL: "https://api.example.test/repos/o/r/hooks",
		Headers: [][2]string{{"Authorization", "Bearer t0ken-value"}, {"Content-Type", "application/json"}}}
	tests := []struct {
		name, location string
		want           [][2]string
	}{
		{"SameHost", "https://api.example.test/repos/o/r/hooks/1", [][2]string{{"Authorization", "Bearer t0ken-value"}}},
		{"SameHostOtherCase", "https://API.example.test/hooks/1", [][2]string{{"Authorization", "Bearer t0ken-value"}}},
		{"OtherHost", "https://elsewhere.example.test/hooks/1", nil},
		{"OtherScheme", "http://api.example.test/hooks/1", nil},
		{"OtherPort", "https://api.example.test:8443/hooks/1", nil},
		{"Unparsable", "://", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, deleteHeaders(req, tt.location))
		})
	}
}
