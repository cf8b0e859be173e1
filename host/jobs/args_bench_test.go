package jobs

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkRunArgsEncode compares runArgs.encode with json.Marshal for
// the args of a job whose inputs hold a 16 KiB body twice.
func BenchmarkRunArgsEncode(b *testing.B) {
	a := runArgs{JobID: "0193a0e2-7f2b-7c4e-9f00-000000000001", WebhookID: "w", Handler: "automation/main", Automation: "a",
		Inputs: argBytes(strings.Repeat(`{\"id\":\"0000000000000000000000000000000000000001\",\"message\":\"Fix\"},`, 2*16384/70)), TimeoutMS: 30000}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(a); err != nil {
				b.Fatal(err)
			}
		}
	})
}
