package redact_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hookhost/hookhost/host/redact"
)

// BenchmarkRedactor_Redact redacts texts holding no secret, as most are,
// with the admin token and a stored secret registered: a short log
// attribute and a request body.
func BenchmarkRedactor_Redact(b *testing.B) {
	r := redact.New(strings.Repeat("0123456789abcdef", 4), "hunter2-secret/x")
	body := `{"action":"opened","number":42,"pull_request":{"title":"Fix the thing","user":{"login":"octocat"},` +
		`"body":"This fixes the thing & more <b>bold</b>","head":{"sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e"}},` +
		`"repository":{"full_name":"octo/hello","private":false},"sender":{"login":"octocat","id":1}}`
	// A 16 KiB push payload (bench -body-bytes 16384): commit-like objects.
	body16 := "[" + strings.Repeat(`{"id":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d","message":"Fix the \"edge\" case",`+
		`"author":{"name":"Octo Cat","email":"octocat@example.com"},"added":[],"modified":["README.md"]},`, 91) + "{}]"
	for _, bb := range []struct{ name, text string }{
		{"Short", "01JF3ZQ8W5X7N2K4M6P8R0T2V4"},
		{"Body", body},
		{"Body16KiB", body16},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r.Redact(bb.text) != bb.text {
					b.Fatal("redacted")
				}
			}
		})
	}
}

// BenchmarkCallerRedaction_Build builds a record's redaction for a
// caller's headers: an ordinary API key, and hostile headers of 8 KiB and
// 1 MiB: a Bearer token of random bytes 0x80–0xff, whose URL and JSON
// forms expand it 3 and 6 times, and an X-Api-Key of many comma-joined
// pieces (a job's JoinedCallerRedaction). Its B/op is the memory a
// request's headers make the replacer take.
func BenchmarkCallerRedaction_Build(b *testing.B) {
	rnd := rand.New(rand.NewPCG(3, 4))
	type bench struct {
		name    string
		headers [][2]string
	}
	benches := []bench{{"Plain", [][2]string{{"X-Api-Key", "3f6c2a9e8b7d41c0a5e9f2b6d8c4a1e7"}}},
		{"JWT", [][2]string{{"Authorization", "Bearer " + benchJWT}}}}
	for _, size := range []int{8 << 10, 1 << 20} {
		token := make([]byte, size)
		for i := range token {
			token[i] = byte(0x80 + rnd.IntN(0x80))
		}
		var pieces strings.Builder
		for pieces.Len() < size {
			if pieces.Len() > 0 {
				pieces.WriteString(", ")
			}
			for range 4 {
				pieces.WriteByte(byte('a' + rnd.IntN(26)))
			}
		}
		benches = append(benches,
			bench{fmt.Sprintf("Bearer/%dKiB", size>>10), [][2]string{{"Authorization", "Bearer " + string(token)}}},
			bench{fmt.Sprintf("Pieces/%dKiB", size>>10), [][2]string{{"X-Api-Key", pieces.String()}}})
	}
	r := redact.New()
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r.JoinedCallerRedaction(bb.headers, nil)("x") != "x" {
					b.Fatal("redacted")
				}
			}
		})
	}
}

// benchJWT is a JWT of about 700 bytes, a Bearer token as an identity
// provider issues it.
const benchJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
	"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQeyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" +
	"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQeyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" +
	"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQeyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" +
	"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQeyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" +
	".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

// BenchmarkCallerRedaction_Common redacts records for a caller's
// ordinary credential (a 32-hex API key, a JWT Bearer token) that the
// texts do not hold, as most do not: word-like texts of 100 B, 1 KB and
// 64 KB, which the filter of pieces lets through more often the longer
// they are (review1: 2%, 21% and 100%). Then the API key's few short forms
// are searched for with strings.Index (replacer.short), the JWT's by the
// automaton.
func BenchmarkCallerRedaction_Common(b *testing.B) {
	rnd := rand.New(rand.NewPCG(9, 9))
	words := strings.Fields(`the pull request opened by octocat fixes thing more bold action number title user login ` +
		`body head sha repository full_name private sender id {"a":1} "value" 42 true null`)
	text := func(n int) string {
		var sb strings.Builder
		for sb.Len() < n {
			sb.WriteString(words[rnd.IntN(len(words))])
			sb.WriteByte(" ,:\n"[rnd.IntN(4)])
			if rnd.IntN(8) == 0 {
				fmt.Fprintf(&sb, "%x", rnd.Uint64())
			}
		}
		return sb.String()
	}
	jwt := benchJWT
	r := redact.New()
	for _, c := range []struct {
		name    string
		headers [][2]string
	}{
		{"ApiKey", [][2]string{{"X-Api-Key", "3f6c2a9e8b7d41c0a5e9f2b6d8c4a1e7"}}},
		{"JWT", [][2]string{{"Authorization", "Bearer " + jwt}}},
	} {
		red := r.CallerRedaction(c.headers, nil)
		for _, n := range []int{100, 1000, 65536} {
			texts := make([]string, 64)
			for i := range texts {
				texts[i] = text(n)
			}
			b.Run(fmt.Sprintf("%s/%d", c.name, n), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if t := texts[i%len(texts)]; red(t) != t {
						b.Fatal("redacted")
					}
					i++
				}
			})
		}
	}
}
