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
	for _, bb := range []struct{ name, text string }{
		{"Short", "01JF3ZQ8W5X7N2K4M6P8R0T2V4"},
		{"Body", body},
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
	benches := []bench{{"Plain", [][2]string{{"X-Api-Key", "3f6c2a9e8b7d41c0a5e9f2b6d8c4a1e7"}}}}
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
				if r.JoinedCallerRedaction(bb.headers)("x") != "x" {
					b.Fatal("redacted")
				}
			}
		})
	}
}
