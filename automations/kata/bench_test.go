package kata_test

import (
	"os"
	"strings"
	"testing"

	"github.com/hookhost/hookhost/automations/kata"
)

// guideWebhookExample returns the Cerb guide's webhook example, the script bench/
// measures, from the repository's shared testdata
// (testdata/kata/cerb-guide-webhook-example.kata).
func guideWebhookExample(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("../../testdata/kata/cerb-guide-webhook-example.kata")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// corpusScript returns the first corpus script whose line count is closest
// to lines.
func corpusScript(b *testing.B, lines int) corpusEntry {
	b.Helper()
	var best corpusEntry
	bestDiff := -1
	for _, e := range readCorpus(b) {
		d := strings.Count(e.Script, "\n") + 1 - lines
		if d < 0 {
			d = -d
		}
		if _, err := kata.Parse("script", e.Script); err == nil && (bestDiff < 0 || d < bestDiff) {
			best, bestDiff = e, d
		}
	}
	return best
}

func BenchmarkParse(b *testing.B) {
	script50 := corpusScript(b, 50)
	cases := []struct {
		name string
		src  string
	}{
		{name: "GuideWebhookExample", src: guideWebhookExample(b)},
		{name: "Corpus50Lines", src: script50.Script},
	}
	b.Logf("Corpus50Lines: %s (%d lines, %d bytes)", script50.Source, strings.Count(script50.Script, "\n")+1, len(script50.Script))
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := kata.Parse("script", c.src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	doc, err := kata.Parse("script", corpusScript(b, 50).Script)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = kata.Encode(doc.Root)
	}
}
