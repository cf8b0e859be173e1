package redact_test

import (
	"fmt"
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
