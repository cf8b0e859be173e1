package templates

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

// htmlToTextBoth runs the old and the new html_to_text on in with the
// given arguments and fails t when they differ.
func htmlToTextBoth(t testing.TB, in string, args ...any) {
	t.Helper()
	want, err := oldHTMLToText(in, args...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fHTMLToText(in, args...)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("html_to_text(%q, %v)\n got %q\nwant %q", in, args, got, want)
	}
}

// randomHTML is a small fragment of the tags, texts and entities that
// html_to_text treats apart, unclosed and misnested at random.
func randomHTML(r *rand.Rand) string {
	tags := []string{"div", "p", "ul", "ol", "li", "table", "tr", "td", "th", "br", "a", "b", "h1", "pre",
		"blockquote", "img", "span", "script", "head", "title", "body", "html", "hr", "meta"}
	texts := []string{"x", "hello world", " ", "  \n\t ", "\n", "a\r\nb", "0", "&amp;", "&lt;b&gt;", "&nbsp;",
		"&#133;", "&#xA0;", "\u0085", "\u00a0", "\u2000", "\u3000", "\u1680", "\xc2", "\x85", "\xe2\x80",
		"\x80", "\xff", "\t", "\r", "http://h.example/", "\x00", "\v"}
	attrs := []string{"", ` href="http://h.example/x"`, ` href="/rel"`, ` href="0"`, ` href="x"`, ` href=":bad"`,
		` src="http://h.example/i.png"`, ` src="http://h.example/i.png" alt="pic"`, ` src="/i.png"`,
		` href="http://h.example/" href="/dup"`}
	var b strings.Builder
	for range r.IntN(14) {
		switch r.IntN(4) {
		case 0, 1:
			tag := tags[r.IntN(len(tags))]
			b.WriteString("<" + tag + attrs[r.IntN(len(attrs))])
			if r.IntN(8) == 0 {
				b.WriteString("/")
			}
			b.WriteString(">")
		case 2:
			b.WriteString("</" + tags[r.IntN(len(tags))] + ">")
		default:
			b.WriteString(texts[r.IntN(len(texts))])
		}
	}
	return b.String()
}

// TestHTMLToTextMatchesOld holds html_to_text to the answers of the
// implementation it replaced, on hand-picked and on random fragments.
func TestHTMLToTextMatchesOld(t *testing.T) {
	t.Parallel()
	tests := []string{
		"",
		"plain text",
		"<ul><li>a<ul><li>b<li>c</ul><li>d</ul>",
		"<ul><li>\xc2<b>\x85</b></li><li>x</li></ul>", // NEL split across text nodes: blank
		"<ul><li>\xc2<b>\x85x</b></li><li>\xe2\x80</li></ul>",
		"<ol><li> <li>\u3000<li>\u00a0<li>y</ol>",
		"<ol><li><li>a</li></ol>",
		"<p>a<div>b<p>c</div>d",
		"<table><tr><td>a<td>b<tr><td><p>c</table>",
		`<a href="http://h.example/"><b>x</b> y</a><a href="x">x</a>`,
		"<blockquote>a\r\nb\rc<blockquote>d</blockquote></blockquote>",
		"<pre> </pre><pre>\ta\n</pre>",
		"<p> a \r\n\t b \t</p><p>a\r\rb\tc  d\v \fe\n</p><b> </b><b>\t</b>x<b>\n</b>",
		"<title>t</title><meta>x",
		"<head><title>t</title></head><body>x</body>",
		"<li>a<li>b<ul><li>c</li></ul>",
		"<div>" + strings.Repeat("<ul><li>x", 50) + "</body></html>",
		strings.Repeat("<p>x<br>", 30),
	}
	for _, in := range tests {
		for _, args := range [][]any{nil, {10}, {0}, {-1}} {
			htmlToTextBoth(t, in, args...)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		in := randomHTML(r)
		htmlToTextBoth(t, in)
		htmlToTextBoth(t, in, 1+r.IntN(20))
	}
}

// FuzzHTMLToTextMatchesOld compares the old and the new html_to_text.
func FuzzHTMLToTextMatchesOld(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		f.Add(randomHTML(r), 0)
	}
	f.Fuzz(func(t *testing.T, in string, limit int) {
		htmlToTextBoth(t, in, limit%64)
	})
}

// TestWhiteSpaceAutomaton checks that the automaton accepts the form of
// every rune unicode.IsSpace holds and no other, and that on bytes cut
// from white space forms it agrees with strings.TrimSpace.
func TestWhiteSpaceAutomaton(t *testing.T) {
	t.Parallel()
	run := func(s string) uint8 {
		st := uint8(wsRoot)
		for i := 0; i < len(s); i++ {
			st = wsStep(st, s[i])
		}
		return st
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if got := run(string(r)) == wsRoot; got != unicode.IsSpace(r) {
			t.Fatalf("automaton on %U: accepted %v, unicode.IsSpace %v", r, got, unicode.IsSpace(r))
		}
	}
	alphabet := []byte("\t\n \xc2\x85\xa0\xe1\x9a\x80\xe2\x81\x8a\x8b\x9f\xa8\xa9\xaf\xe3\xffa")
	rnd := rand.New(rand.NewPCG(5, 6))
	for range 200000 {
		b := make([]byte, rnd.IntN(8))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		if got, want := run(string(b)) == wsRoot, strings.TrimSpace(string(b)) == ""; got != want {
			t.Fatalf("automaton on %q: blank %v, strings.TrimSpace says %v", b, got, want)
		}
	}
}
