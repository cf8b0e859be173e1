package redact_test

import (
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
