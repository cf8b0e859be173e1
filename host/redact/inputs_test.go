package redact

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// clonedInputs is Inputs as it was before it copied only what changes:
// a deep copy, its credential keys marked in place, then redacted.
func clonedInputs(r *Redactor, in *dict.Map, extra ...string) *dict.Map {
	out := in.Clone()
	mark := func(v any, match func(string) bool) {
		m, ok := v.(*dict.Map)
		if !ok {
			return
		}
		for _, k := range m.Keys() {
			if match(k) {
				m.Set(k, Marker)
			}
		}
	}
	header := func(k string) bool { return CredentialHeader(k, extra...) }
	mark(out.Value("request_headers"), header)
	if p, changed := markCredentials(out.Value("request_params")); changed {
		out.Set("request_params", p)
	}
	body, _ := out.Value("request_body").(string)
	ct := ""
	if hs, ok := out.Value("request_headers").(*dict.Map); ok {
		ct, _ = hs.Value("content_type").(string)
	}
	shown := string(Body([]byte(body), ct))
	if out.Has("request_body") {
		out.Set("request_body", shown)
	}
	if wd, ok := out.Value("webhook_data").(*dict.Map); ok {
		mark(wd.Value("RequestHeader"), header)
		if rb, ok := wd.Value("RequestBody").(string); ok && rb == body {
			wd.Set("RequestBody", shown)
		}
	}
	m, _ := r.Value(out).(*dict.Map)
	return m
}

// TestInputs: the shown inputs are what a deep copy marked and redacted
// gave, the inputs given are not modified, and inputs with nothing to
// mark or redact come back as they are, not copied.
func TestInputs(t *testing.T) {
	t.Parallel()
	r := New("s3cr3t-value")
	inputs := func(headers, params, rawHeaders *dict.Map, body string) *dict.Map {
		return dict.Of("request_method", "POST", "request_body", body, "request_headers", headers,
			"request_params", params, "webhook_id", "w1",
			"webhook_data", dict.Of("WebhookName", "hook", "RequestHeader", rawHeaders, "RequestBody", body),
			"inputs", dict.Of("list", []any{"a", int64(1), dict.Of("b", "c")}))
	}
	plain := func() *dict.Map { return dict.Of("host", "127.0.0.1", "content_type", "application/json") }
	tests := []struct {
		name  string
		in    *dict.Map
		extra []string
		same  bool // nothing to mark or redact: in itself
	}{
		{name: "Nothing", in: inputs(plain(), dict.Of("key", "value"), dict.Of("Host", "127.0.0.1"), `{"a":1}`), same: true},
		{name: "Empty", in: dict.New(0), same: true},
		{name: "NoWebhookData", in: dict.Of("request_headers", plain(), "request_params", dict.New(0)), same: true},
		{name: "CredentialHeader", in: inputs(dict.Of("host", "h", "authorization", "Bearer abcdefgh"),
			dict.New(0), dict.Of("Host", "h", "Authorization", "Bearer abcdefgh"), "")},
		{name: "ExtraHeader", extra: []string{"X-Sig"}, in: inputs(dict.Of("x_sig", "abcdefgh"),
			dict.New(0), dict.Of("X-Sig", "abcdefgh"), "")},
		{name: "ExtraHeaderRawOnly", extra: []string{"X-Sig"}, in: inputs(plain(), dict.New(0), dict.Of("X-Sig", "abcdefgh"), "")},
		{name: "CredentialParam", in: inputs(plain(), dict.Of("key", "v", "api_token", "abcdefgh"), dict.New(0), "")},
		{name: "StoredSecret", in: inputs(plain(), dict.New(0), dict.New(0), `{"v":"s3cr3t-value"}`)},
		{name: "SecretInList", in: dict.Of("inputs", []any{"ok", dict.Of("k", "s3cr3t-value")})},
		{name: "NotMaps", in: dict.Of("request_headers", "x", "request_params", []any{"y"}, "webhook_data", "z"), same: true},
		{name: "NestedParam", in: inputs(plain(), dict.Of("a", dict.Of("api_token", "abcdefgh", "b", "c")), dict.New(0), "")},
		{name: "JSONBodyField", in: inputs(plain(), dict.New(0), dict.New(0), `{"password":"hunter22hunter","a":1}`)},
		{name: "FormBodyField", in: inputs(dict.Of("content_type", "application/x-www-form-urlencoded"),
			dict.Of("password", "hunter22hunter"), dict.New(0), "password=hunter22hunter&a=1")},
		{name: "TextBody", in: inputs(dict.Of("content_type", "text/plain"), dict.New(0), dict.New(0), "password=hunter22hunter"), same: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := string(encode(tt.in))
			want := string(encode(clonedInputs(r, tt.in, tt.extra...)))
			got := r.Inputs(tt.in, tt.extra...)
			require.Equal(t, want, string(encode(got)))
			require.Equal(t, before, string(encode(tt.in)), "the inputs given are not modified")
			if tt.same {
				require.Same(t, tt.in, got)
			} else {
				require.NotSame(t, tt.in, got)
			}
		})
	}
	require.Nil(t, r.Inputs(nil))
}

// TestWalk_UnchangedAllocates: walking a value in which nothing changes
// allocates nothing (each unchanged string boxed again was an allocation).
func TestWalk_UnchangedAllocates(t *testing.T) {
	r := New("s3cr3t-value")
	v := dict.Of("a", "one", "b", []any{"two", dict.Of("c", "three")}, "d", "four")
	red := r.Redact
	allocs := testing.AllocsPerRun(100, func() { Walk(v, red) })
	require.Zero(t, allocs)
}

// TestInputs_CredentialFields: a job's shown inputs hide credential fields
// in a form or JSON body and in nested parameters, as a synchronous run's
// record does (review rev3: they kept them), and keep request_body and
// webhook_data's RequestBody equal, so that the shown copy is compacted.
func TestInputs_CredentialFields(t *testing.T) {
	t.Parallel()
	r := New("unrelated-secret")
	const value = "hunter22hunter"
	multipart := "--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nbob\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + value + "\r\n--XyZ--\r\n"
	tests := []struct {
		name, contentType, body string
		params                  *dict.Map
		// rawBody is webhook_data's RequestBody when it is not
		// request_body: a multipart body, which request_body leaves out.
		rawBody string
	}{
		{"Form", "application/x-www-form-urlencoded", "password=" + value, dict.Of("password", value), ""},
		{"JSON", "application/json", `{"user":{"password":"` + value + `"}}`, dict.New(0), ""},
		{"NestedQuery", "", "", dict.Of("a", dict.Of("api_token", value)), ""},
		{"Multipart", "multipart/form-data; boundary=XyZ", "", dict.Of("user", "bob", "password", value), multipart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := tt.body
			if tt.rawBody != "" {
				raw = tt.rawBody
			}
			in := dict.Of("request_headers", dict.Of("content_type", tt.contentType), "request_params", tt.params,
				"request_body", tt.body, "webhook_data", dict.Of("RequestBody", raw))
			before := string(encode(in))
			got := r.Inputs(in)
			shown := string(encode(got))
			require.NotContains(t, shown, value)
			require.Contains(t, shown, Marker)
			if tt.rawBody == "" {
				require.Equal(t, got.Value("request_body"), got.Value("webhook_data").(*dict.Map).Value("RequestBody"))
			} else {
				require.Contains(t, got.Value("webhook_data").(*dict.Map).Value("RequestBody"), "bob", "the other fields are kept")
			}
			require.Equal(t, before, string(encode(in)), "the inputs given are not modified")
		})
	}
}
