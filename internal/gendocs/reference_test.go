package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/internal/golden"
	"github.com/hookhost/hookhost/templates"
)

// referencePath is docs/reference.md seen from this package's directory.
const referencePath = "../../docs/reference.md"

func TestReferenceIsCurrent(t *testing.T) {
	t.Parallel()
	if golden.Updating() {
		require.NoError(t, write(referencePath))
	}
	got, err := os.ReadFile(referencePath)
	require.NoError(t, err)
	if want := string(render()); want != string(got) {
		t.Fatalf("docs/reference.md is stale: run `make docs` (or go test ./internal/gendocs -update) and commit it\n%s", golden.Diff(string(got), want))
	}
}

func TestReferenceListsEveryTableEntry(t *testing.T) {
	t.Parallel()
	doc := string(render())
	var want []string
	for _, tr := range automations.KnownTriggers() {
		want = append(want, "| `"+tr.ID+"` | `"+tr.Stem+"` |")
	}
	for _, c := range automations.Commands() {
		want = append(want, "`"+c.Name+":`")
	}
	for _, a := range automations.Annotations() {
		want = append(want, "| `@"+a.Name+"` |")
	}
	for _, n := range templates.FilterNames() {
		want = append(want, "| `"+n+"` |")
	}
	for _, n := range templates.FunctionNames() {
		want = append(want, "| `"+n+"` |")
	}
	for _, w := range want {
		require.Contains(t, doc, w)
	}
}

func TestTemplateDocs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		names []string
		docs  map[string]string
	}{
		{"Filters", templates.FilterNames(), filterDocs()},
		{"Functions", templates.FunctionNames(), functionDocs()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for name, d := range tc.docs {
				require.True(t, slices.Contains(tc.names, name), "%s is described but not registered in templates: remove it from templates_docs.go", name)
				require.True(t, strings.HasSuffix(d, "."), "%s: a description is a sentence", name)
			}
			for _, name := range tc.names {
				_, ok := tc.docs[name]
				require.True(t, ok, "%s has no description: add one to templates_docs.go", name)
			}
		})
	}
}

func TestCell(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a|b", `a\|b`},
		{"two\nlines", "two lines"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, cell(tc.in))
		})
	}
}
