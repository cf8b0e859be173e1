package templates

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestMarkdownToHTML holds markdown_to_html to answers recorded from
// Parsedown 1.7.4 configured as Cerb configures it
// (testdata/parsedown.json).
func TestMarkdownToHTML(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "parsedown.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []struct{ In, Want string }
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	for _, c := range golden.Cases {
		got, err := fMarkdownToHTML(c.In)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.Want {
			t.Errorf("markdown_to_html(%q)\n got %q\nwant %q", c.In, got, c.Want)
		}
	}
	// is_untrusted=false keeps link schemes
	if got, _ := fMarkdownToHTML("[x](javascript:y)", false); got != `<p><a href="javascript:y">x</a></p>` {
		t.Errorf("trusted link: %q", got)
	}
}
