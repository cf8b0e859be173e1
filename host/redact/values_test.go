package redact_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/redact"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		text   string
		values []string
		want   string
	}{
		{name: "Plain", text: "auth failed for token s3cr3t-token", values: []string{"s3cr3t-token"}, want: "auth failed for token [redacted]"},
		{name: "Several", text: "a=alpha-secret b=beta-secret a=alpha-secret", values: []string{"alpha-secret", "beta-secret"}, want: "a=[redacted] b=[redacted] a=[redacted]"},
		{name: "LongestFirst", text: "key=abcd-efgh-ijkl", values: []string{"abcd", "abcd-efgh-ijkl"}, want: "key=[redacted]"},
		{name: "ShortIgnored", text: "abc is everywhere: abc", values: []string{"abc", ""}, want: "abc is everywhere: abc"},
		{name: "JSONEscaped", text: `{"password":"p\"w\\d<1>"}`, values: []string{`p"w\d<1>`}, want: `{"password":"[redacted]"}`},
		{name: "JSONHTMLEscaped", text: `{"password":"p\u003cw\u003e"}`, values: []string{`p<w>`}, want: `{"password":"[redacted]"}`},
		{name: "QueryEscaped", text: "GET /hook?token=a%2Fb+c%26d", values: []string{"a/b c&d"}, want: "GET /hook?token=[redacted]"},
		{name: "PathEscaped", text: "GET /x/a%2Fb%20c", values: []string{"a/b c"}, want: "GET /x/[redacted]"},
		{name: "Nothing", text: "nothing to hide", values: nil, want: "nothing to hide"},
		{name: "Multiline", text: "line1 secret-1\nline2 secret-1", values: []string{"secret-1"}, want: "line1 [redacted]\nline2 [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, redact.Values(tt.text, tt.values...))
			require.Equal(t, tt.want, redact.New(tt.values...).Redact(tt.text))
		})
	}
}

func TestRedactor(t *testing.T) {
	t.Parallel()

	t.Run("AddRemove", func(t *testing.T) {
		t.Parallel()
		r := redact.New()
		require.Equal(t, "tok-1 tok-2", r.Redact("tok-1 tok-2"))
		r.Add("tok-1")
		r.Add("tok-1", "tok-2")
		require.Equal(t, 2, r.Len())
		require.Equal(t, "[redacted] [redacted]", r.Redact("tok-1 tok-2"))
		r.Remove("tok-1")
		require.Equal(t, "tok-1 [redacted]", r.Redact("tok-1 tok-2"))
		r.Remove("tok-2", "unknown")
		require.Equal(t, 0, r.Len())
		require.Equal(t, "tok-1 tok-2", r.Redact("tok-1 tok-2"))
	})

	t.Run("ManyValues", func(t *testing.T) {
		t.Parallel()
		r := redact.New()
		var values []string
		for i := range 2000 {
			values = append(values, fmt.Sprintf("secret-%05d-value", i))
		}
		r.Add(values...)
		text := "a secret-01234-value b secret-01999-value c secret-99999-value"
		require.Equal(t, "a [redacted] b [redacted] c secret-99999-value", r.Redact(text))
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		r := redact.New("base-secret")
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for j := range 50 {
					r.Add(fmt.Sprintf("value-%d-%d", i, j))
				}
			}()
			go func() {
				defer wg.Done()
				for range 50 {
					if got := r.Redact("x base-secret y"); got != "x [redacted] y" {
						t.Errorf("Redact = %q", got)
					}
				}
			}()
		}
		wg.Wait()
		require.Equal(t, 201, r.Len())
	})
}

// TestTokens checks Tokens against the regular expression it stands for,
// ((?i)/webhooks/|[?&]token=)[0-9a-fA-F]{40}\b replaced by "${1}[redacted]",
// on the cases that matter and on every string built from pieces that
// make and break matches.
func TestTokens(t *testing.T) {
	t.Parallel()
	// (?i) in ASCII only: Go's would also fold the Kelvin sign to k.
	re := regexp.MustCompile(`(/[wW][eE][bB][hH][oO][oO][kK][sS]/|[?&][tT][oO][kK][eE][nN]=)[0-9a-fA-F]{40}\b`)
	tok := strings.Repeat("0123456789abcdefABCD", 2)
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"/webhooks/" + tok, "/webhooks/[redacted]"},
		{"/webhooks/" + tok + "/a?x=1", "/webhooks/[redacted]/a?x=1"},
		{"GET /webhooks/" + tok + "?token=" + tok + "&token=" + tok, "GET /webhooks/[redacted]?token=[redacted]&token=[redacted]"},
		{"/webhooks/" + tok + "0", "/webhooks/" + tok + "0"},   // 41 digits: no boundary
		{"/webhooks/" + tok + "_x", "/webhooks/" + tok + "_x"}, // '_' is a word character
		{"/webhooks/" + tok + "-x", "/webhooks/[redacted]-x"},  // '-' is not
		{"/webhooks/" + tok[:39], "/webhooks/" + tok[:39]},     // too short
		{"/webhooks//webhooks/" + tok, "/webhooks//webhooks/[redacted]"},
		{"/webhooks/webhooks/" + tok, "/webhooks/webhooks/[redacted]"}, // a prefix inside a prefix
		{"xtoken=" + tok, "xtoken=" + tok},                             // token= needs ? or & before it
		{"a?token=" + tok + "é", "a?token=[redacted]é"},
		{"/webhooks/" + tok + tok, "/webhooks/" + tok + tok},
		// Fiber routes a path in any case to the webhook.
		{"/WEBHOOKS/" + tok, "/WEBHOOKS/[redacted]"},
		{"/WebHooks/" + tok + "?Token=" + tok, "/WebHooks/[redacted]?Token=[redacted]"},
		{"/webhoo\u212As/" + tok, "/webhoo\u212As/" + tok}, // the Kelvin sign is not k (nor to Fiber's routing)
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, redact.Tokens(tt.in), "%q", tt.in)
		require.Equal(t, re.ReplaceAllString(tt.in, "${1}"+redact.Marker), redact.Tokens(tt.in), "%q", tt.in)
		// AppendTokens appends the same after what dst holds, or
		// leaves dst as it was.
		got, ok := redact.AppendTokens([]byte("dst:"), tt.in)
		require.Equal(t, tt.want != tt.in, ok, "%q", tt.in)
		if ok {
			require.Equal(t, "dst:"+tt.want, string(got), "%q", tt.in)
		} else {
			require.Equal(t, "dst:", string(got), "%q", tt.in)
		}
	}
	// Every string of up to four of these pieces.
	pieces := []string{"/webhooks/", "webhooks/", "/WebHooks/", "?token=", "&TOKEN=", tok, tok[:20], "0", "_", "/", "g", "é"}
	var build func(prefix string, n int)
	build = func(prefix string, n int) {
		require.Equal(t, re.ReplaceAllString(prefix, "${1}"+redact.Marker), redact.Tokens(prefix), "%q", prefix)
		if n == 0 {
			return
		}
		for _, p := range pieces {
			build(prefix+p, n-1)
		}
	}
	build("", 4)
}

// TestAppendTokens_NoAllocation checks that AppendTokens into a buffer of
// room enough allocates nothing (the access line's path).
func TestAppendTokens_NoAllocation(t *testing.T) {
	var buf [128]byte
	in := "/webhooks/" + strings.Repeat("0123456789abcdefABCD", 2) + "/a?x=1"
	allocs := testing.AllocsPerRun(10, func() { _, _ = redact.AppendTokens(buf[:0], in) })
	require.Zero(t, allocs)
}

// TestCredentialHeader checks which header names carry credentials: the
// well-known ones, the verify schemes', the extra ones, in any case, with
// "_" for "-".
func TestCredentialHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		extra []string
		want  bool
	}{
		{"Authorization", nil, true},
		{"authorization", nil, true},
		{"PROXY_AUTHORIZATION", nil, true},
		{"x-hub-signature-256", nil, true},
		{"Svix-Signature", nil, true},
		{"Cookie", nil, true},
		{"X-Api-\u212aey", nil, true}, // the Kelvin sign folds to k
		{"X-My-Sig", []string{"x-my-sig"}, true},
		{"x_my_sig", []string{"X-My-Sig"}, true},
		{"Content-Type", nil, false},
		{"X-Customheader", []string{"X-Other"}, false},
		{"", nil, false},
		{"Authorizatio", nil, false},
		{strings.Repeat("A", 100), nil, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, redact.CredentialHeader(tt.name, tt.extra...), "%q %q", tt.name, tt.extra)
	}
}

// TestCredentialHeader_AsFolded checks CredentialHeader's comparison of
// names against its definition: strings.EqualFold of the name with "_"
// replaced by "-", for every pair of a set of names in ASCII and not (as
// an extra name), and against well-known credential headers.
func TestCredentialHeader_AsFolded(t *testing.T) {
	t.Parallel()
	names := []string{"Authorization", "authorization", "AUTHORIZATION", "proxy_authorization", "Proxy-Authorization",
		"x_hub_signature_256", "X-Api-Key", "X-Api-\u212aey", "x_api_\u212aey", "X-\u017fig", "x-sig", "X_SIG", "x_sig",
		"x-si", "x-sig-", "_", "-", "", "@", "`", "[", "{", "X-My-Sig", "x_my_sig", "X_My_Sig", "x-my_sig", "Content-Type",
		"x\u00e9-token", "X\u00c9-TOKEN", "cookie", "COOKIE", "Cookie_"}
	for _, name := range names {
		want := false
		for _, h := range names {
			if h == "" {
				continue
			}
			folded := strings.EqualFold(strings.ReplaceAll(name, "_", "-"), h)
			require.Equal(t, folded || redact.CredentialHeader(name), redact.CredentialHeader(name, h), "%q against %q", name, h)
		}
		for _, h := range []string{"Authorization", "Proxy-Authorization", "X-Hub-Signature-256", "X-Api-Key", "Cookie"} {
			want = want || strings.EqualFold(strings.ReplaceAll(name, "_", "-"), h)
		}
		require.Equal(t, want, redact.CredentialHeader(name), "%q", name)
	}
}

// TestCredentialHeader_NoAllocation: a name with "_" (as a job's
// request_headers hold them) is compared without a copy.
func TestCredentialHeader_NoAllocation(t *testing.T) {
	require.Zero(t, testing.AllocsPerRun(100, func() {
		_ = redact.CredentialHeader("x_customheader", "X-Custom-Key")
		_ = redact.CredentialHeader("proxy_authorization")
	}))
}

// TestRedactorHeaders checks Headers: credential headers become the marker
// and other values are redacted; a copy only when something changed, the
// headers themselves otherwise, never modified.
func TestRedactorHeaders(t *testing.T) {
	t.Parallel()
	r := redact.New("s3cr3t-value")
	tests := []struct {
		name  string
		in    [][2]string
		extra []string
		want  [][2]string
	}{
		{"nothing to redact", [][2]string{{"Host", "h"}, {"Accept", "*/*"}}, nil, nil},
		{"none", nil, nil, nil},
		{"credential header", [][2]string{{"Host", "h"}, {"Authorization", "Bearer x"}, {"Accept", "*/*"}}, nil,
			[][2]string{{"Host", "h"}, {"Authorization", redact.Marker}, {"Accept", "*/*"}}},
		{"extra credential header", [][2]string{{"X-Sig", "abc"}}, []string{"x-sig"}, [][2]string{{"X-Sig", redact.Marker}}},
		{"secret value", [][2]string{{"Host", "h"}, {"X-Note", "is s3cr3t-value"}}, nil,
			[][2]string{{"Host", "h"}, {"X-Note", "is " + redact.Marker}}},
		{"already the marker", [][2]string{{"Authorization", redact.Marker}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.in)
			got := r.Headers(tt.in, tt.extra...)
			require.Equal(t, orig, tt.in, "not modified")
			if tt.want == nil {
				require.Equal(t, tt.in, got)
				if len(tt.in) > 0 {
					require.Same(t, &tt.in[0], &got[0], "returned as it is")
				}
				return
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestCallerRedaction checks what a request's record redacts of the
// caller's credentials: the values of the well-known credential headers
// and of extra (the headers the webhook's verify blocks read), as sent and
// as JSON and URLs spell them; a Bearer token alone, a Basic one also
// decoded and its password alone; with the stored secrets' values still
// redacted. A value shorter than MinLen, or one of a header that is no
// credential, is kept; without any credential CallerRedaction is nil.
func TestCallerRedaction(t *testing.T) {
	t.Parallel()
	r := redact.New("stored-s3cret")
	tests := []struct {
		name    string
		headers [][2]string
		extra   []string
		text    string
		// want is the text redacted; "" when CallerRedaction is nil.
		want string
	}{
		{name: "VerifyReadHeader", headers: [][2]string{{"X-Custom-Key", `k"e\y-42`}}, extra: []string{"X-Custom-Key"},
			text: `raw k"e\y-42 json {"k":"k\"e\\y-42"} url k%22e%5Cy-42`, want: "raw [redacted] json {\"k\":\"[redacted]\"} url [redacted]"},
		{name: "ExtraAsAutomationsSeeIt", headers: [][2]string{{"x_custom_key", "custom-value-9"}}, extra: []string{"X-Custom-Key"},
			text: "got custom-value-9", want: "got [redacted]"},
		{name: "WellKnownHeader", headers: [][2]string{{"X-Api-Key", "api-key-value"}},
			text: "got api-key-value", want: "got [redacted]"},
		{name: "BearerTokenAlone", headers: [][2]string{{"Authorization", "Bearer  tok-123456"}},
			text: "auth=Bearer  tok-123456 token=tok-123456", want: "auth=[redacted] token=[redacted]"},
		{name: "BasicDecodedAndPassword", headers: [][2]string{{"Authorization", "Basic dXNlcjpwNHNzLXdvcmQ="}},
			text: "b64 dXNlcjpwNHNzLXdvcmQ= pair user:p4ss-word pass p4ss-word", want: "b64 [redacted] pair [redacted] pass [redacted]"},
		// admin:true: a password shorter than minPasswordLen is redacted
		// only as part of the pair, not wherever the word appears.
		{name: "BasicShortPassword", headers: [][2]string{{"Authorization", "Basic YWRtaW46dHJ1ZQ=="}},
			text: `{"ok":true,"auth":"admin:true","b64":"YWRtaW46dHJ1ZQ=="}`, want: `{"ok":true,"auth":"[redacted]","b64":"[redacted]"}`},
		{name: "StoredSecretsStillRedacted", headers: [][2]string{{"X-Custom-Key", "custom-value-9"}}, extra: []string{"X-Custom-Key"},
			text: "stored-s3cret custom-value-9", want: "[redacted] [redacted]"},
		{name: "ShortValueKept", headers: [][2]string{{"X-Custom-Key", "1"}, {"Authorization", "Bearer 123"}}, extra: []string{"X-Custom-Key"},
			text: "1 123 11 Bearer 123", want: "1 123 11 [redacted]"},
		{name: "OnlyShortValues", headers: [][2]string{{"X-Custom-Key", "1"}, {"Authorization", "abc"}}, extra: []string{"X-Custom-Key"}, text: "1 abc"},
		{name: "NotACredentialHeader", headers: [][2]string{{"X-Custom-Key", "custom-value-9"}}, text: "got custom-value-9"},
		{name: "NoHeaders", text: "anything"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			red := r.CallerRedaction(tt.headers, nil, tt.extra...)
			if tt.want == "" {
				require.Nil(t, red)
				return
			}
			require.NotNil(t, red)
			require.Equal(t, tt.want, red(tt.text))
			require.Equal(t, "nothing here", red("nothing here"))
		})
	}
}

// TestCallerRedaction_NoCredentialNoAllocation: a request without a
// credential header (the guide's curl) costs its record nothing for the
// caller's credentials: CallerRedaction allocates nothing and returns nil.
func TestCallerRedaction_NoCredentialNoAllocation(t *testing.T) {
	r := redact.New("stored-s3cret")
	headers := [][2]string{{"Host", "127.0.0.1:8080"}, {"User-Agent", "Go-http-client/1.1"}, {"Accept", "*/*"}, {"X-Customheader", "true"}}
	extra := []string{"X-Custom-Key"}
	allocs := testing.AllocsPerRun(100, func() {
		if r.CallerRedaction(headers, nil, extra...) != nil {
			t.Fatal("a redaction for a request without credentials")
		}
	})
	require.Zero(t, allocs)
}
