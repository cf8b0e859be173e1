package yamllimit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/parser"
	"github.com/stretchr/testify/require"
)

// nestedMaps is n block mappings, each indented one space deeper.
func nestedMaps(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	return b.String()
}

// keys is a block mapping of n keys, indented by ind.
func keys(ind string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%sk%d: v\n", ind, i)
	}
	return b.String()
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		err       string // "" for none; else "line:col: message"
	}{
		{name: "manifest", src: `automations:
  - name: shop.orders
    script: |
      start:
        return:
          body: "[[[[{{{{"
webhooks:
  - name: Orders   # [[[[
    event_kata: '[[[['
    job: {max_attempts: 3, timeout_ms: 60000, nested: [[1, 2], {a: [b]}]}
secrets:
- name: A
- name: B
schedules:
  - name: x
    inputs:
      ? complex
      : 1
      "quoted key": [a, b]
`},
		{name: "sequence at its key's column, then a key", src: "a:\n- 1\n- 2\nb:\n- 3\nc: 4\n"},
		{name: "flow 100 deep", src: "x: " + strings.Repeat("[", 99) + strings.Repeat("]", 99) + "\n"},
		{name: "flow 101 deep", src: "x: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
			err: "1:103: collections nested more than 100 levels deep"},
		{name: "flow mappings", src: "x: " + strings.Repeat("{a: ", 100) + "1" + strings.Repeat("}", 100) + "\n",
			err: "1:400: collections nested more than 100 levels deep"},
		{name: "flow over several lines", src: "x: [\n" + strings.Repeat("[\n", 100) + strings.Repeat("]\n", 100) + "]\n",
			err: "100:1: collections nested more than 100 levels deep"},
		{name: "quoted and commented brackets", src: "x: '" + strings.Repeat("[", 500) + "'\ny: \"" + strings.Repeat("{", 500) + "\"\n# " + strings.Repeat("[", 500) + "\nz: |\n  " + strings.Repeat("[", 500) + "\n"},
		{name: "compact sequences 100 deep", src: strings.Repeat("- ", 100) + "x\n"},
		{name: "compact sequences 101 deep", src: strings.Repeat("- ", 101) + "x\n",
			err: "1:201: collections nested more than 100 levels deep"},
		{name: "block mappings 100 deep", src: nestedMaps(100)},
		{name: "block mappings 101 deep", src: nestedMaps(101), err: "101:101: collections nested more than 100 levels deep"},
		{name: "block and flow add up", src: nestedMaps(60) + strings.Repeat(" ", 60) + "b: " + strings.Repeat("[", 41) + strings.Repeat("]", 41) + "\n",
			err: "61:103: collections nested more than 100 levels deep"},
		{name: "1,000 keys", src: keys("", 1000)},
		{name: "1,001 keys", src: keys("", 1001), err: "1001:1: a mapping holds more than 1000 keys"},
		{name: "1,001 keys under a key", src: "top:\n" + keys("  ", 1001), err: "1002:3: a mapping holds more than 1000 keys"},
		{name: "1,000 keys in each of two mappings", src: "a:\n" + keys("  ", 1000) + "b:\n" + keys("  ", 1000)},
		{name: "1,001 keys in a sequence's item", src: "- " + strings.TrimPrefix(keys("  ", 1001), "  "), err: "1001:3: a mapping holds more than 1000 keys"},
		{name: "flow mappings are not counted", src: "x: {" + strings.Repeat("a: 1, ", 2000) + "b: 2}\n"},
		{name: "1,000 documents", src: strings.Repeat("---\nx: 1\n", 1000)},
		{name: "1,001 documents", src: strings.Repeat("---\nx: 1\n", 1001), err: "2001:1: a file holds more than 1000 documents"},
		{name: "1,000 documents ended by ...", src: strings.Repeat("x: 1\n...\n", 1000)},
		{name: "1,001 documents ended by ...", src: strings.Repeat("x: 1\n...\n", 1001), err: "2001:1: a file holds more than 1000 documents"},
		{name: "1,000 documents between --- and ...", src: strings.Repeat("---\nx: 1\n...\n", 1000)},
		{name: "1,001 documents between --- and ...", src: strings.Repeat("---\nx: 1\n...\n", 1001), err: "3001:1: a file holds more than 1000 documents"},
		{name: "1,000 documents after directives", src: strings.Repeat("%YAML 1.2\n---\nx: 1\n...\n", 1000)},
		{name: "1,001 documents after directives", src: strings.Repeat("%YAML 1.2\n---\nx: 1\n...\n", 1001), err: "4002:1: a file holds more than 1000 documents"},
		{name: "documents reset the depth", src: strings.Repeat("---\n"+nestedMaps(60), 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check([]byte(tc.src))
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.err)
			require.IsType(t, &Error{}, err)
		})
	}
}

// TestCheck_BoundsTheParse: the largest files Check lets through of each
// shape the parser is quadratic in parse (BenchmarkParse_Bounded times
// them: well under a second each, where unbounded they took seconds to
// minutes).
func TestCheck_BoundsTheParse(t *testing.T) {
	t.Parallel()
	for name, src := range boundedShapes() {
		require.NoError(t, Check([]byte(src)), name)
		_, err := parser.ParseBytes([]byte(src), 0)
		require.NoError(t, err, name)
	}
}

// boundedShapes are the largest files Check lets through of each shape
// the parser is quadratic in.
func boundedShapes() map[string]string {
	return map[string]string{
		"flow":         "x: " + strings.Repeat("[", 99) + strings.Repeat("]", 99) + "\n",
		"block":        strings.Repeat("- ", 100) + "x\n",
		"keys":         keys("", 1000),
		"documents":    strings.Repeat("---\nx: 1\n", 1000),
		"ended by ...": strings.Repeat("x: 1\n...\n", 1000),
	}
}

// BenchmarkParse_Bounded parses the largest files Check lets through
// (boundedShapes): `go test -run '^$' -bench Parse_Bounded ./internal/yamllimit/`.
func BenchmarkParse_Bounded(b *testing.B) {
	for name, src := range boundedShapes() {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := parser.ParseBytes([]byte(src), 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheck times Check on 5,000 and 40,000 of each shape: it is
// linear in its input (8x the input, about 8x the time).
func BenchmarkCheck(b *testing.B) {
	shapes := map[string]func(n int) string{
		"flow":      func(n int) string { return "x: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n" },
		"sequences": func(n int) string { return strings.Repeat("- ", n) + "x\n" },
		"keys":      func(n int) string { return keys("", n) },
		"documents": func(n int) string { return strings.Repeat("---\nx: 1\n", n) },
	}
	for name, gen := range shapes {
		for _, n := range []int{5000, 40000} {
			src := []byte(gen(n))
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				for b.Loop() {
					_ = Check(src)
				}
			})
		}
	}
}
