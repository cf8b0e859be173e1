package templates

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden output in testdata/templates")

// TestGolden renders testdata/templates/*.txtar: the "template" file with the
// "data.json" file as variables must give the "output" file (or, for an
// "error" file, that error). go test ./templates -run Golden -update
// rewrites the expected files.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/templates/*.txtar")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	env := New()
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			ar := parseTxtar(string(raw))
			sections := map[string]string{}
			for _, f := range ar.files {
				sections[f.name] = f.data
			}
			src := strings.TrimSuffix(sections["template"], "\n")
			data := mustData(t, orDefault(sections["data.json"], "{}"))
			out, rerr := env.Render(src, data)
			got, name := out+"\n", "output"
			if rerr != nil {
				got, name = rerr.Error()+"\n", "error"
			}
			if *update {
				var keep []txtarFile
				for _, f := range ar.files {
					if f.name != "output" && f.name != "error" {
						keep = append(keep, f)
					}
				}
				ar.files = append(keep, txtarFile{name, got})
				require.NoError(t, os.WriteFile(file, []byte(ar.format()), 0o644))
				return
			}
			want, ok := sections[name]
			require.True(t, ok, "%s: rendering gave %s %q; run with -update", file, name, got)
			require.Equal(t, want, got)
		})
	}
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// txtar is the golang.org/x/tools/txtar format: a comment, then files
// introduced by "-- name --" lines.
type txtar struct {
	comment string
	files   []txtarFile
}

type txtarFile struct{ name, data string }

func parseTxtar(s string) txtar {
	var ar txtar
	cur := -1
	for _, line := range strings.SplitAfter(s, "\n") {
		trimmed := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			ar.files = append(ar.files, txtarFile{name: strings.TrimSpace(trimmed[3 : len(trimmed)-3])})
			cur = len(ar.files) - 1
			continue
		}
		if cur < 0 {
			ar.comment += line
		} else {
			ar.files[cur].data += line
		}
	}
	return ar
}

func (ar txtar) format() string {
	var b strings.Builder
	b.WriteString(ar.comment)
	for _, f := range ar.files {
		b.WriteString("-- " + f.name + " --\n")
		b.WriteString(f.data)
		if f.data != "" && !strings.HasSuffix(f.data, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}
