package dict

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMap_OrderAndJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		indent string
		want   string
	}{
		{"KeepsOrder", `{"b":1,"a":{"z":true,"y":null},"c":[1,2.5,"x"]}`, "", `{"b":1,"a":{"z":true,"y":null},"c":[1,2.5,"x"]}`},
		{"NoHTMLEscapeNoSlashEscape", `{"u":"http://x/<a>&"}`, "", `{"u":"http://x/<a>&"}`},
		{"EmptyObjectIsBraces", `{"e":{},"l":[]}`, "", `{"e":{},"l":[]}`},
		{"Pretty4Spaces", `{"a":{"b":1},"c":[]}`, "    ", "{\n    \"a\": {\n        \"b\": 1\n    },\n    \"c\": []\n}"},
		{"ControlChars", `{"s":"a\nb\u0001\"\\"}`, "", `{"s":"a\nb\u0001\"\\"}`},
		{"UTF8Kept", `{"s":"héllo ✓"}`, "", `{"s":"héllo ✓"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := DecodeJSON([]byte(tt.in))
			require.NoError(t, err)
			var buf bytes.Buffer
			require.NoError(t, Encode(&buf, v, tt.indent))
			require.Equal(t, tt.want, buf.String())
		})
	}
}

func TestMap_SetDeleteKeepsPositions(t *testing.T) {
	t.Parallel()
	m := Of("a", 1, "b", 2, "c", 3)
	m.Set("a", 10)
	require.Equal(t, []string{"a", "b", "c"}, m.Keys())
	require.True(t, m.Delete("b"))
	require.False(t, m.Delete("b"))
	m.Set("b", 4)
	require.Equal(t, []string{"a", "c", "b"}, m.Keys())
	v, ok := m.GetPath([]string{"a"})
	require.True(t, ok)
	require.Equal(t, 10, v)
	c := Of("x", Of("y", []any{"z"})).Clone()
	got, ok := c.GetPath([]string{"x", "y", "0"})
	require.True(t, ok)
	require.Equal(t, "z", got)
}

func TestDecodeJSON_Errors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `{`, `{"a":1} x`, `[1,]`} {
		_, err := DecodeJSON([]byte(in))
		require.Error(t, err, in)
	}
	var m Map
	require.Error(t, m.UnmarshalJSON([]byte(`[1]`)))
}

func TestPHPIntKey(t *testing.T) {
	tests := []struct {
		k    string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"5", 5, true}, {"-3", -3, true}, {"9223372036854775807", 9223372036854775807, true},
		{"", 0, false}, {"05", 0, false}, {"-0", 0, false}, {"+5", 0, false}, {"5.0", 0, false}, {" 5", 0, false},
		{"-", 0, false}, {"9223372036854775808", 0, false}, {"a", 0, false},
	}
	for _, tt := range tests {
		n, ok := PHPIntKey(tt.k)
		if ok != tt.ok || (ok && n != tt.want) {
			t.Errorf("PHPIntKey(%q) = %d, %v; want %d, %v", tt.k, n, ok, tt.want, tt.ok)
		}
	}
}
