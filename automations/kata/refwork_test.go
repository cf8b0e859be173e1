package kata_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
)

// refShapes are documents whose references took time quadratic in their
// size to resolve: finding each use's definition compared it with every
// definition before it, a child path with every sibling before it, and
// sizing a target for the key bound counted all of it again at every use.
func refShapes(n int) map[string]string {
	var defs, uses, wide, many, paths strings.Builder
	for i := range n {
		fmt.Fprintf(&defs, "&d%d:\n  x: 1\n", i)
		fmt.Fprintf(&uses, "  u%d@ref: d%d\n", i, i)
		fmt.Fprintf(&wide, "  k%d: v\n", i)
		fmt.Fprintf(&many, "  m%d@ref: big\n", i)
		fmt.Fprintf(&paths, "  p%d@ref: big:k%d\n", i, n-1)
	}
	return map[string]string{
		// n uses of n definitions, each found at its own place.
		"definitions": defs.String() + "start:\n" + uses.String(),
		// A definition of n keys, used n times (past the key bound after
		// the first uses).
		"large target": "&big:\n" + wide.String() + "start:\n" + many.String(),
		// n uses of the last of a definition's n children.
		"child paths": "&big:\n" + wide.String() + "start:\n" + paths.String(),
	}
}

func TestReferenceWorkIsBounded(t *testing.T) {
	t.Parallel()
	for name, src := range refShapes(30000) {
		t.Run(name, func(t *testing.T) {
			_, err := kata.Parse("script", src)
			require.Error(t, err)
			require.Regexp(t, "take more than 10000000 steps to resolve|expands to more than 100000 keys", err.Error())
		})
	}
}

// TestReferenceWork_Ordinary: a thousand uses of a thousand definitions,
// and of the children of one, resolve within the bound.
func TestReferenceWork_Ordinary(t *testing.T) {
	t.Parallel()
	for name, src := range refShapes(1000) {
		if name == "large target" {
			continue // 1,000 copies of 1,000 keys: past the key bound
		}
		t.Run(name, func(t *testing.T) {
			doc, err := kata.Parse("script", src)
			require.NoError(t, err)
			require.Len(t, doc.Root.Children[0].Children, 1000)
		})
	}
}
