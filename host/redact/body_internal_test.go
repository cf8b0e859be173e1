package redact

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
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
		shown, fields := BodyFields(body, "application/json")
		require.Equal(t, string(jsonBody(body)), string(shown), "%s", body)
		if v, err := dict.DecodeJSON(body); err == nil {
			var l fieldList
			l.jsonValues(v, false)
			require.Equal(t, l.values, fields, "%s", body)
		}
		if !mayNameCredential(body) {
			skipped++
		}
	}
	require.Greater(t, skipped, 1000, "documents checked without decoding")

	payload := bytes.Repeat([]byte(`{"id":"7fd1a60b","message":"Fix the \"edge\" case","author":{"name":"Octo Cat"},"modified":["README.md"]},`), 160)
	payload = append(append([]byte("["), payload[:len(payload)-1]...), ']')
	require.Zero(t, testing.AllocsPerRun(10, func() { _ = Body(payload, "application/json") }))
	require.Zero(t, testing.AllocsPerRun(10, func() { _, _ = BodyFields(payload, "application/json") }))
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

// mayNameCredentialBefore is mayNameCredential as it was before the
// anchored scan (hasCredentialWordOrEscape): every credential word compared at
// every byte that can start one. The differential tests hold the new scan
// to it.
func mayNameCredentialBefore(b []byte) bool {
	if bytes.Contains(b, []byte(`\u`)) || bytes.Contains(b, []byte("\u0130")) || bytes.Contains(b, []byte("\u212a")) {
		return true
	}
	for i := range b {
		for _, w := range credentialWords {
			if len(b)-i >= len(w) && strings.EqualFold(string(b[i:i+len(w)]), w) && ascii(string(b[i:i+len(w)])) {
				return true
			}
		}
	}
	return false
}

// TestMayNameCredential_SameAsBefore: the anchored scan answers as the
// scan that compared every word at every byte, for random texts made of
// the words' pieces in any case, their neighbours under case folding
// (@ [ ` { _ -), the escapes and the two non-ASCII letters, at every
// length and so at every place of the eight-byte blocks.
func TestMayNameCredential_SameAsBefore(t *testing.T) {
	t.Parallel()
	pieces := []string{"t", "o", "U", "|", "|u", "\\U", "k", "K", "e", "E", "n", "s", "S", "c", "C", "r", "R", "w", "W", "p", "a", "d", "g", "G",
		"i", "u", "_", "-", "@", "`", "[", "{", "\\", "\\u", "\"", " ", "\u0130", "\u212a", "\xc4", "\xe2\x84", "tok", "ToKe",
		"secr", "SeCrE", "passw", "pAssWd", "signa", "api_", "api-", "apiK", "creden", "CREDENTIA", "x", "0", "\x00", "\xff"}
	rnd := rand.New(rand.NewPCG(1, 2))
	found := 0
	for n := range 200000 {
		var b []byte
		for range rnd.IntN(12 + n%24) {
			b = append(b, pieces[rnd.IntN(len(pieces))]...)
		}
		want := mayNameCredentialBefore(b)
		require.Equal(t, want, mayNameCredential(b), "%q", b)
		if want {
			found++
		}
	}
	require.Greater(t, found, 20000, "texts with a credential word")

	// Each word at each place of a text of each length, in each case
	// pattern of its first letters, and one letter short of itself.
	for _, w := range credentialWords {
		for n := len(w); n <= 3*8+len(w); n++ {
			for at := 0; at+len(w) <= n; at++ {
				for mask := range 8 {
					b := bytes.Repeat([]byte("x"), n)
					copy(b[at:], w)
					for k := 0; k < 3 && k < len(w); k++ {
						if mask&(1<<k) != 0 && 'a' <= b[at+k] && b[at+k] <= 'z' {
							b[at+k] -= 'a' - 'A'
						}
					}
					require.True(t, mayNameCredential(b), "%q", b)
					short := append(append([]byte(nil), b[:at+len(w)-1]...), b[at+len(w):]...)
					require.Equal(t, mayNameCredentialBefore(short), mayNameCredential(short), "%q", short)
				}
			}
		}
	}
}

// TestCredentialAnchors: every credential word holds an anchor, so that
// the scan compares it where it may be.
func TestCredentialAnchors(t *testing.T) {
	t.Parallel()
	require.False(t, credentialAnchors.unanchored)
	n := 0
	for _, a := range credentialAnchors.anchors {
		for _, w := range a.words {
			require.Equal(t, string(a.pair[:]), w.word[w.offset:w.offset+2], w.word)
			n++
		}
	}
	require.Equal(t, len(credentialWords), n)
}

// FuzzMayNameCredential: the anchored scan answers as the scan that
// compared every word at every byte.
func FuzzMayNameCredential(f *testing.F) {
	for _, s := range []string{`{"token":"x"}`, `{"ToKeN":1}`, `{"\u0074oken":"x"}`, "xxxxxxxsECRet", "xxxxxxxxAPI-KEY",
		"credent\u0130al", `[{"a":{"api-key":"k"}},{"b":"password"}]`, `{"id":"7fd1","message":"edge"}`, "xxxxxxxxxxxsignaturE"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if want, got := mayNameCredentialBefore(b), mayNameCredential(b); got != want {
			t.Fatalf("mayNameCredential(%q) = %v, before %v", b, got, want)
		}
	})
}
