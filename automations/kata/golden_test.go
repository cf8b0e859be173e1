package kata_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/internal/golden"
)

// dump renders a parse result for the golden files: one line per node with
// the key position, the key and its annotations, and the value (quoted) with
// its position; "=" marks an inline value, "|" a text block.
func dump(doc *kata.Document, err error) string {
	var b strings.Builder
	if err != nil {
		b.WriteString(err.Error())
		b.WriteByte('\n')
		return b.String()
	}
	var walk func(n *kata.Node, depth int)
	walk = func(n *kata.Node, depth int) {
		for _, c := range n.Children {
			fmt.Fprintf(&b, "%-7s %s%s", c.Pos, strings.Repeat("  ", depth), c.Key)
			if len(c.Annotations) > 0 {
				fmt.Fprintf(&b, " @%s", strings.Join(c.Annotations, ","))
			}
			switch c.Kind {
			case kata.Object:
				if len(c.Children) == 0 {
					b.WriteString(" {}")
				}
			case kata.Scalar:
				fmt.Fprintf(&b, " = %q (%s)", c.Value, c.ValuePos)
			case kata.Text:
				fmt.Fprintf(&b, " | %q (%s)", c.Value, c.ValuePos)
			}
			b.WriteByte('\n')
			walk(c, depth+1)
		}
	}
	walk(doc.Root, 0)
	if b.Len() == 0 {
		b.WriteString("(empty)\n")
	}
	return b.String()
}

// TestGolden parses every testdata/kata/<case>.kata and compares the dump
// of the result with <case>.golden. Cases named error-* must fail to parse;
// every other case must round-trip through Encode.
func TestGolden(t *testing.T) {
	t.Parallel()
	golden.Run(t, "../../testdata/kata/*.kata", func(t *testing.T, f *golden.File) golden.Got {
		src, _ := f.Section("input")
		doc, perr := kata.Parse(f.Name, src)
		// Error cases start with "error-"; everything else parses.
		require.Equal(t, strings.HasPrefix(f.Name, "error-"), perr != nil, "error: %v", perr)
		if perr == nil {
			requireRoundTrip(t, doc)
		}
		return golden.Got{"want": dump(doc, perr)}
	})
}

// requireRoundTrip checks that Encode writes a tree that parses back equal.
func requireRoundTrip(t *testing.T, doc *kata.Document) {
	t.Helper()
	out := doc.String()
	again, err := kata.Parse("encoded", out)
	require.NoError(t, err, "encoded:\n%s", out)
	require.Equal(t, shape(doc.Root), shape(again.Root), "encoded:\n%s", out)
}

// shape is a node without positions, for comparing trees.
type shapeNode struct {
	Key         string
	Annotations []string
	Kind        kata.Kind
	Value       string
	Children    []shapeNode
}

func shape(n *kata.Node) shapeNode {
	s := shapeNode{Key: n.Key, Annotations: n.Annotations, Kind: n.Kind, Value: n.Value}
	for _, c := range n.Children {
		s.Children = append(s.Children, shape(c))
	}
	return s
}
