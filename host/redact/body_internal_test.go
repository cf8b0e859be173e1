package redact

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBody_SkipsDecodingWithoutCredentialNames: a JSON body redacts as it
// did when every one was decoded, for random documents whose names are
// and are not credential-like, in any case, escaped (\u), or spelled with
// the two characters that lower-case to ASCII letters (İ, K); and one
// whose names cannot be a credential's comes back without being decoded
// (no allocation: decoding a 16 KiB payload allocated about 60 KB).
func TestBody_SkipsDecodingWithoutCredentialNames(t *testing.T) {
	names := []string{"id", "message", "author", "Token", "access_TOKEN", "pass", "passWORD", "api-key", "apiKey",
		`\u0074oken`, "to\u212Aen", "credent\u0130al", "secreT", "sig", "signature_v2", "credentials", "tok", "en"}
	values := []string{`"x"`, `1`, `true`, `null`, `"token"`, `"Kelvin \u212A"`, `[]`, `{}`}
	rnd := rand.New(rand.NewPCG(7, 8))
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth > 3 || rnd.IntN(3) == 0 {
			return values[rnd.IntN(len(values))]
		}
		var b strings.Builder
		if rnd.IntN(2) == 0 {
			b.WriteByte('[')
			for i := range rnd.IntN(4) {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(gen(depth + 1))
			}
			b.WriteByte(']')
			return b.String()
		}
		b.WriteByte('{')
		for i := range rnd.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + names[rnd.IntN(len(names))] + `":` + gen(depth+1))
		}
		b.WriteByte('}')
		return b.String()
	}
	skipped := 0
	for range 20000 {
		body := []byte(gen(0))
		require.Equal(t, string(jsonBody(body)), string(Body(body, "application/json")), "%s", body)
		if !mayNameCredential(body) {
			skipped++
		}
	}
	require.Greater(t, skipped, 1000, "documents checked without decoding")

	payload := bytes.Repeat([]byte(`{"id":"7fd1a60b","message":"Fix the \"edge\" case","author":{"name":"Octo Cat"},"modified":["README.md"]},`), 160)
	payload = append(append([]byte("["), payload[:len(payload)-1]...), ']')
	require.Zero(t, testing.AllocsPerRun(10, func() { _ = Body(payload, "application/json") }))
}

// BenchmarkBody_JSON records a 16 KiB JSON payload without credential
// names (a push event's commits).
func BenchmarkBody_JSON(b *testing.B) {
	payload := bytes.Repeat([]byte(`{"id":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d","message":"Fix the \"edge\" case","author":{"name":"Octo Cat","email":"octocat@example.com"},"added":[],"modified":["README.md"]},`), 90)
	payload = append(append([]byte("["), payload[:len(payload)-1]...), ']')
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Body(payload, "application/json")
	}
}

// FuzzBodyPrecheck: a JSON body recorded without decoding it, because no
// field name in it can be a credential's (mayNameCredential), is exactly
// what decoding and marking it gives: the pre-check never lets a
// credential through.
func FuzzBodyPrecheck(f *testing.F) {
	for _, s := range []string{`{"token":"x"}`, `{"ToKeN":1}`, `{"\u0074oken":"x"}`, "{\"to\u212Aen\":\"x\"}",
		"{\"credent\u0130al\":\"x\"}", `[{"a":{"api-key":"k"}},{"b":"password"}]`, `{"id":"7fd1","message":"edge"}`, `not json`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !mayNameCredential(b) {
			if got := jsonBody(b); !bytes.Equal(got, b) {
				t.Fatalf("the pre-check passed %q, which decoding changes to %q", b, got)
			}
		}
	})
}
