package templates

import "testing"

// TestHTMLToText holds html_to_text to the answers of Cerb's
// htmlToText gives (its code run under PHP 8.2 with libxml 2.9.14).
func TestHTMLToText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`<p>Hello <b>world</b></p><p>Second &amp; last</p>`, "Hello world\nSecond & last\n"},
		{`<ul><li>one</li><li>two</li></ul>`, "* one\n* two\n\n"},
		{`<ol><li>one</li><li> </li><li>two</li></ol>`, "1. one\n2. two\n\n"},
		{`a<br>b<br/>c`, "a\nb\nc\n"},
		{`x <a href="http://x.example/">link</a> text`, "x link <http://x.example/> text\n"},
		{`<a href="/rel">rel</a>`, "rel"},
		{`<h1>T</h1><pre>  a
 b</pre><script>x()</script>`, "T\n  a\n b\n"},
		{"<p>a\n   b\tc</p>", "a b c\n"},
	}
	for _, tt := range tests {
		got, err := fHTMLToText(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("html_to_text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
