package templates

import (
	"strings"
	"testing"
)

// hostileHTML are inputs that made html_to_text quadratic: each repeats a
// unit up to about size bytes.
func hostileHTML(size int) []struct{ name, in string } {
	rep := func(prefix, unit, suffix string) string {
		return prefix + strings.Repeat(unit, (size-len(prefix)-len(suffix))/len(unit)) + suffix
	}
	half := func(open, close string) string {
		n := size / 2 / len(open)
		return strings.Repeat(open, n) + strings.Repeat(close, (size-n*len(open))/len(close))
	}
	return []struct{ name, in string }{
		{"Div", rep("", "<div>", "x")},
		{"ListItem", rep("", "<ul><li>", "x")},
		{"Table", rep("", "<table><tr><td>", "x")},
		{"Siblings", rep("<p>", "x<br>", "</p>")},
		{"LinkText", rep(`<a href="http://h.example/">`, "<b>x", "")},
		{"EndTags", half("<i>", "</u>")},
		{"Blockquote", rep("", "<blockquote>x", "")},
	}
}

// BenchmarkHTMLToTextHostile converts 1 MiB of each hostile shape.
func BenchmarkHTMLToTextHostile(b *testing.B) {
	for _, tt := range hostileHTML(1 << 20) {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(tt.in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fHTMLToText(tt.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
