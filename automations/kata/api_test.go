package kata_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
)

func TestParseResult(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		src     string
		wantErr string // "" for success
	}{
		{name: "Empty", src: ""},
		{name: "Valid", src: "a: 1\n"},
		{name: "OneError", src: "a b\n", wantErr: `script:1:1: unexpected syntax: "a b"`},
		{
			name:    "ErrorsSortedByPosition",
			src:     "a@ref: nope\n  b: 1\nc d\n",
			wantErr: "script:1:8: `a:` refers to unknown reference `nope`\nscript:2:3: unexpected indentation\nscript:3:1: unexpected syntax: \"c d\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			doc, err := kata.Parse("script", tt.src)
			require.NotNil(t, doc)
			require.NotNil(t, doc.Root)
			require.Equal(t, "script", doc.Name)
			if tt.wantErr == "" {
				require.NoError(t, err) // a nil interface, not a typed nil Errors
				return
			}
			require.EqualError(t, err, tt.wantErr)
			var errs kata.Errors
			require.True(t, errors.As(err, &errs))
			require.NotEmpty(t, errs)
			for _, e := range errs {
				require.Equal(t, "script", e.Source)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()

	e := &kata.Error{Source: "script", Pos: kata.Pos{Line: 7, Col: 3}, Msg: "`set:` has a sibling with the same name (first at line 3)"}
	require.Equal(t, "script:7:3: `set:` has a sibling with the same name (first at line 3)", e.Error())
	e.Source = ""
	require.Equal(t, "7:3: `set:` has a sibling with the same name (first at line 3)", e.Error())
}

func TestLookup(t *testing.T) {
	t.Parallel()

	doc, err := kata.Parse("script", "start:\n  set/a:\n    x@int: 1\n  return:\n    body@text:\n      hi\n")
	require.NoError(t, err)

	tests := []struct {
		path     string
		wantKey  string
		wantLine int
	}{
		{path: "start", wantKey: "start", wantLine: 1},
		{path: "start:set/a:x", wantKey: "x", wantLine: 3},
		{path: "start:return:body", wantKey: "body", wantLine: 5},
		{path: "start:nope"},
		{path: "start:return:body:deeper"},
		{path: ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()

			n := doc.Root.Lookup(tt.path)
			if tt.wantKey == "" {
				require.Nil(t, n)
				return
			}
			require.NotNil(t, n)
			require.Equal(t, tt.wantKey, n.Key)
			require.Equal(t, tt.wantLine, n.Pos.Line)
		})
	}
	require.Equal(t, "set", doc.Root.Lookup("start:set/a").Type())
	require.Equal(t, "a", doc.Root.Lookup("start:set/a").Name())
}

func TestEncode(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		root *kata.Node
		want string
	}{
		{name: "Nil"},
		{name: "Empty", root: &kata.Node{}},
		{
			// Cerb's testKataEmit, for the string parts.
			name: "CerbEmit",
			root: &kata.Node{Children: []*kata.Node{
				{Key: "object", Children: []*kata.Node{
					{Key: "string", Kind: kata.Scalar, Value: "Cerb"},
					{Key: "list_string", Annotations: []string{"list"}, Kind: kata.Text, Value: "red\ngreen\nblue"},
					{Key: "text", Kind: kata.Scalar, Value: "This has\nlinefeeds in it\nso we should see\na text block"},
					{Key: "nested_object", Children: []*kata.Node{
						{Key: "more_nested", Children: []*kata.Node{
							{Key: "string", Kind: kata.Scalar, Value: "Cerb"},
						}},
					}},
				}},
			}},
			want: "object:\n  string: Cerb\n  list_string@list:\n    red\n    green\n    blue\n" +
				"  text@text:\n    This has\n    linefeeds in it\n    so we should see\n    a text block\n" +
				"  nested_object:\n    more_nested:\n      string: Cerb\n",
		},
		{
			// Cerb's testKataEmitEmptyKey.
			name: "EmptyStringIsEmptyTextBlock",
			root: &kata.Node{Children: []*kata.Node{{Key: "blank", Kind: kata.Scalar, Value: ""}}},
			want: "blank@text:\n",
		},
		{
			name: "ScalarWithLeadingSpaceKeepsAnnotations",
			root: &kata.Node{Children: []*kata.Node{{Key: "a", Annotations: []string{"key"}, Kind: kata.Scalar, Value: " x"}}},
			want: "a@key,text:\n   x\n",
		},
		{
			name: "TextBlockBlankLinesStayInside",
			root: &kata.Node{Children: []*kata.Node{{Key: "a", Annotations: []string{"text"}, Kind: kata.Text, Value: "x\n\ny\n"}}},
			want: "a@text:\n  x\n  \n  y\n  \n",
		},
		{
			name: "EmptyObject",
			root: &kata.Node{Children: []*kata.Node{{Key: "a", Annotations: []string{"optional"}}}},
			want: "a@optional:\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := kata.Encode(tt.root)
			require.Equal(t, tt.want, got)
			_, err := kata.Parse("encoded", got)
			require.NoError(t, err)
		})
	}
}

func TestReferenceExpansionIsBounded(t *testing.T) {
	t.Parallel()

	// Each level uses the next one ten times: 10^8 keys if fully expanded.
	var b strings.Builder
	b.WriteString("root@ref: l0\n")
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&b, "&l%d:\n", i)
		for j := 0; j < 10; j++ {
			fmt.Fprintf(&b, "  k%d@ref: l%d\n", j, i+1)
		}
	}
	b.WriteString("&l8: leaf\n")

	_, err := kata.Parse("script", b.String())
	require.ErrorContains(t, err, "expands to more than 100000 keys")
}

func ExampleParse() {
	doc, err := kata.Parse("script", `start:
  return:
    status_code: 200
    body@text:
      Hello
      world
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	body := doc.Root.Lookup("start:return:body")
	fmt.Printf("%s %v %q at %s, value at %s\n", body.Key, body.Annotations, body.Value, body.Pos, body.ValuePos)
	// Output: body [] "Hello\nworld" at 4:5, value at 5:7
}

func ExampleParse_errors() {
	_, err := kata.Parse("script", "start:\n  set:\n    a: 1\n  set:\n    b: 2\n\tbad: tab\n")
	fmt.Println(err)
	// Output:
	// script:4:3: `set:` has a sibling with the same name (first at line 2)
	// script:6:1: indents may not use tabs
}

func ExampleEncode() {
	doc, _ := kata.Parse("script", "a:\n    b@int:   42\n    c@text:\n        x\n        y\n")
	fmt.Print(kata.Encode(doc.Root))
	// Output:
	// a:
	//   b@int: 42
	//   c@text:
	//     x
	//     y
}
