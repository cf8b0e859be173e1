package redact_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/templates/dict"
)

// TestFieldCredentials: the values of a request's credential-named query
// parameters, form fields and JSON body fields (at any depth, every
// string under such a field) are listed, those shorter than a Basic
// password alone is redacted at left out.
func TestFieldCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, body string
		query, form             [][2]string
		want                    []string
	}{
		{name: "Query", query: [][2]string{{"key", "value-long-1"}, {"password", "hunter22hunter"}, {"a[api_token]", "tok-123456789"}},
			want: []string{"hunter22hunter", "tok-123456789"}},
		{name: "Form", form: [][2]string{{"user", "bob-the-builder"}, {"client_secret", "s3cret-value"}},
			want: []string{"s3cret-value"}},
		{name: "ShortValuesLeftOut", query: [][2]string{{"token", "true"}, {"password", "1234567"}}},
		{name: "JSONNested", contentType: "application/json", body: `{"user":{"Password":"hunter22hunter","name":"bob-the-builder"},"keys":{"api_key":["key-one-11","key-two-22",{"x":"key-three-33"}]}}`,
			want: []string{"hunter22hunter", "key-one-11", "key-two-22"}},
		// An object under a credential-like key says what it holds with
		// its own keys: GitHub's secret_scanning.status is no secret.
		{name: "JSONObjectUnderCredentialKey", contentType: "application/json",
			body: `{"security_and_analysis":{"secret_scanning":{"status":"disabled-long"}},"token":{"expires_at":"2026-12-07T21:00:00Z","value":"tok-inner-12"}}`},
		{name: "FormBodyRepeated", contentType: "application/x-www-form-urlencoded",
			body: "password=first-pass-1&password=second+pass%212&user=bob-the-builder",
			want: []string{"first-pass-1", "second pass!2"}},
		{name: "JSONWithoutCredentialNames", contentType: "application/json", body: `{"user":"bob-the-builder"}`},
		{name: "NotJSON", contentType: "text/plain", body: `{"password":"hunter22hunter"}`},
		{name: "BadJSON", contentType: "application/json", body: `{"password":"hunter22hunter"`},
		{name: "All", contentType: "application/vnd.api+json", body: `{"token":"body-token-1"}`,
			query: [][2]string{{"secret", "query-secret-1"}}, form: [][2]string{{"passwd", "form-passwd-1"}},
			want: []string{"query-secret-1", "form-passwd-1", "body-token-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, redact.FieldCredentials([]byte(tt.body), tt.contentType, tt.query, tt.form))
		})
	}
}

// TestInputsFieldCredentials: a job's inputs give the same values as the
// request they were made of: request_params nested (a[api_token] as
// {"a":{"api_token":…}}) and a JSON request_body.
func TestInputsFieldCredentials(t *testing.T) {
	t.Parallel()
	in := dict.Of(
		"request_headers", dict.Of("content_type", "application/json"),
		"request_params", dict.Of("key", "value-long-1", "a", dict.Of("api_token", "tok-123456789"), "password", []any{"hunter22hunter", "short"}),
		"request_body", `{"secret":"body-secret-1","x":{"inner":{"secret":["body-secret-2"]}}}`,
	)
	require.Equal(t, []string{"tok-123456789", "hunter22hunter", "body-secret-1", "body-secret-2"}, redact.InputsFieldCredentials(in))
	require.Nil(t, redact.InputsFieldCredentials(dict.Of("request_params", dict.Of("key", "value-long-1"))))
	// A repeated form field: request_params keeps the last value (PHP),
	// the job's records must not show the first either.
	form := dict.Of("request_headers", dict.Of("content_type", "application/x-www-form-urlencoded"),
		"request_params", dict.Of("password", "second-pass-2"), "request_body", "password=first-pass-1&password=second-pass-2")
	require.Equal(t, []string{"second-pass-2", "first-pass-1", "second-pass-2"}, redact.InputsFieldCredentials(form))
	require.Nil(t, redact.InputsFieldCredentials(nil))
}

// TestFieldCredentials_NoCredentialNoAllocation: a request without a
// credential field (the guide's curl: ?key=value, a JSON body naming
// none) costs its record nothing for them.
func TestFieldCredentials_NoCredentialNoAllocation(t *testing.T) {
	query := [][2]string{{"key", "value"}}
	body := []byte(`{"user":"bob","repository":{"name":"hookhost"}}`)
	allocs := testing.AllocsPerRun(100, func() {
		if redact.FieldCredentials(body, "application/json", query, nil) != nil {
			t.Fatal("credentials listed")
		}
	})
	require.Zero(t, allocs)
}

// TestCallerRedaction_Fields: the values of credential fields given to
// CallerRedaction are redacted wherever a record's text holds them, in
// the encodings a header's value is (JSON, URL), besides the headers'.
func TestCallerRedaction_Fields(t *testing.T) {
	t.Parallel()
	r := redact.New()
	red := r.CallerRedaction([][2]string{{"Authorization", "Bearer tok-123456"}}, []string{"hunter22 hunter"})
	require.NotNil(t, red)
	require.Equal(t, `pw=[redacted] url=[redacted] json="[redacted]" auth=[redacted]`,
		red(`pw=hunter22 hunter url=hunter22+hunter json="hunter22 hunter" auth=tok-123456`))
	require.NotNil(t, r.CallerRedaction(nil, []string{"hunter22hunter"}), "fields alone")
	require.NotNil(t, r.JoinedCallerRedaction(nil, []string{"hunter22hunter"}), "fields alone")
}

// TestFieldCredentials_Bounded: one request lists at most maxFieldValues
// values (a 1 MiB JSON body of short strings under a credential key made
// its records' replacer cost 190-360 ms to build).
func TestFieldCredentials_Bounded(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"tokens":[`)
	for i := range 20000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"v%08d"`, i)
	}
	b.WriteString(`]}`)
	got := redact.FieldCredentials([]byte(b.String()), "application/json")
	require.Len(t, got, 256)
	require.Equal(t, "v00000000", got[0])
	long := strings.Repeat("x", 40<<10)
	got = redact.FieldCredentials(nil, "", [][2]string{{"token", long}, {"secret", long}, {"password", "hunter22hunter"}})
	require.Equal(t, []string{long, "hunter22hunter"}, got, "at most 64 KiB of values")
}
