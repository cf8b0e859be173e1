package kata_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"a: 1\n",
		"start:\n  set:\n    a@int: 1\n  return:\n    body@text:\n      x\n      \n      y\n",
		"a@ref: b\n&b:\n  c@ref: d\n&d@list:\n  x\n",
		"a:\n\tb: 1\n  c d\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		doc, err := kata.Parse("fuzz", src)
		require.NotNil(t, doc)
		lines := strings.Split(strings.ReplaceAll(src, "\r", ""), "\n")
		within := func(p kata.Pos) bool {
			return p.Line >= 1 && p.Line <= len(lines) && p.Col >= 1 && p.Col <= len(lines[p.Line-1])+1
		}

		if err != nil {
			var errs kata.Errors
			require.True(t, errors.As(err, &errs))
			require.NotEmpty(t, errs)
			for i, e := range errs {
				require.Equal(t, "fuzz", e.Source)
				require.True(t, within(e.Pos), "error at %s: %v", e.Pos, e)
				if i > 0 {
					prev := errs[i-1].Pos
					require.True(t, prev.Line < e.Pos.Line || prev.Line == e.Pos.Line && prev.Col <= e.Pos.Col, "errors not sorted")
				}
			}
		}

		encodable := true
		var walk func(n *kata.Node)
		walk = func(n *kata.Node) {
			for _, c := range n.Children {
				require.True(t, within(c.Pos), "%q at %s", c.Key, c.Pos)
				require.Equal(t, c.Key, lines[c.Pos.Line-1][c.Pos.Col-1:c.Pos.Col-1+len(c.Key)], "key position of %q", c.Key)
				if c.Kind != kata.Object {
					require.True(t, within(c.ValuePos), "value of %q at %s", c.Key, c.ValuePos)
				} else if hasBlockAnnotation(c.Annotations) {
					encodable = false // only through @ref; see Encode
				}
				walk(c)
			}
		}
		walk(doc.Root)

		if err == nil && encodable {
			out := kata.Encode(doc.Root)
			again, err := kata.Parse("encoded", out)
			require.NoError(t, err, "encoded:\n%s", out)
			require.Equal(t, shape(doc.Root), shape(again.Root), "encoded:\n%s", out)
		}
	})
}

func hasBlockAnnotation(anns []string) bool {
	for _, a := range anns {
		switch a {
		case "base64", "bit", "bool", "csv", "date", "float", "int", "json", "list", "raw", "text", "trim":
			return true
		}
	}
	return false
}
