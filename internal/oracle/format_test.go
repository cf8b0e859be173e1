package oracle

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatRoundTrip(t *testing.T) {
	t.Parallel()
	contents := []string{
		"", "a", "a\n", "a\n\n", "\n", "x\r\ny", "tab\there", "trailing ", "-- x --", "a\n-- b/c --\nd",
		"\xff", "é ü 日本", "{{ a }}\n{% if b %}\n", "\x00", "\"quoted\"", `\n`, "\ufeff",
	}
	f := &File{Area: "t", Comment: "comment line\n"}
	for i, s := range contents {
		f.Cases = append(f.Cases, &Case{Name: "c" + string(rune('a'+i)) + ":x(1,2)", Fields: []Field{{"template", s}, {"output", s + s}}})
	}
	b := f.Format()
	g, err := Parse("t", b)
	require.NoError(t, err)
	require.Equal(t, f, g)
	require.Equal(t, b, g.Format())
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"no field":     "-- abc --\nx\n",
		"duplicate":    "-- a/x --\n1\n-- a/x --\n2\n",
		"split case":   "-- a/x --\n1\n-- b/x --\n2\n-- a/y --\n3\n",
		"bad quote":    "-- a/x.q --\nnot quoted\n",
		"no final eol": "-- a/x --\nabc",
	} {
		_, err := Parse("t", []byte(in))
		require.Error(t, err, name)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "l.txt")
	l := List{"a/b(1,2)": "x", "a/c": "", "b/d": "cause  with   spaces"}
	require.NoError(t, WriteList(p, "header\nsecond", l))
	g, err := ReadList(p)
	require.NoError(t, err)
	require.Equal(t, List{"a/b(1,2)": "x", "a/c": "", "b/d": "cause  with   spaces"}, g)
	require.Error(t, WriteList(p, "", List{"a b": ""}))
}

func TestDiff(t *testing.T) {
	t.Parallel()
	require.Equal(t, `want "a" got "b"`, Diff("a", "b"))
	long := `{"method":"GET","path":"a\/b","headers":{"host":"127.0.0.1:8765"}}`
	got := `{"method":"GET","path":"a/b","headers":{"host":"127.0.0.1:8765"}}`
	require.Equal(t, `at byte 25 want …"\"method\":\"GET\",\"path\":\"a\\/b\",\"headers\":{\"host\":\"127.0.0.1:87"… got …"\"method\":\"GET\",\"path\":\"a/b\",\"headers\":{\"host\":\"127.0.0.1:876"…`, Diff(long, got))
}

func TestJSONDiff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ want, got, cause string }{
		{`{"a":"x\/y"}`, `{"a":"x/y"}`, `same JSON data, different encoding: want "{\"a\":\"x\\/y\"}" got "{\"a\":\"x/y\"}"`},
		{`{"a":{"b":[1,2]}}`, `{"a":{"b":[1,3]}}`, `JSON $.a.b[1]: want "2" got "3"`},
		{`{"a":1,"b":2}`, `{"b":2,"a":1}`, `JSON $: want "{\"a\":1,\"b\":2}" got "{\"b\":2,\"a\":1}"`},
		{`{"e":[]}`, `{"e":{}}`, `JSON $.e: want "[]" got "{}"`},
		{`{"h":{"a":"1"}}`, `{"h":{"a":"1","c":"2"}}`, `JSON $.h: want "{\"a\":\"1\"}" got "{\"a\":\"1\",\"c\":\"2\"}"`},
	} {
		c, ok := JSONDiff(tc.want, tc.got)
		require.True(t, ok)
		require.Equal(t, tc.cause, c)
	}
	_, ok := JSONDiff(`x`, `{}`)
	require.False(t, ok)
}
