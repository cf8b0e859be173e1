package templates

import (
	"strings"
	"testing"

	"github.com/hookhost/hookhost/internal/golden"
)

// TestGolden renders testdata/templates/*.txtar: the "template" section with
// the "data.json" section as variables must give the "output" section (or,
// for an "error" section, that error). go test ./templates -run Golden
// -update rewrites the expected sections.
func TestGolden(t *testing.T) {
	t.Parallel()
	env := New()
	corpus := golden.Corpus{Glob: "testdata/templates/*.txtar", Outputs: []string{"output", "error"}}
	corpus.Run(t, func(t *testing.T, f *golden.File) golden.Got {
		raw, _ := f.Section("data.json")
		data := mustData(t, orDefault(raw, "{}"))
		out, err := env.Render(f.Text("template"), data)
		if err != nil {
			return golden.Got{"error": err.Error() + "\n"}
		}
		return golden.Got{"output": out + "\n"}
	})
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
