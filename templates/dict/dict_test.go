package dict

import (
	"bytes"
	"fmt"
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
	require.Equal(t, []any{10, 3, 4}, m.Values())
	require.Nil(t, (*Map)(nil).Values())
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

// TestMap_Index checks a Map across the size where it starts to keep an
// index of its keys (smallMap), and back.
func TestMap_Index(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 4, 5, smallMap, smallMap + 1, 3 * smallMap} {
		for _, hint := range []int{0, n} {
			m := New(hint)
			want := []string{}
			pos := map[string]int{}
			for i := range n {
				k := fmt.Sprintf("k%02d", i)
				pos[k] = i
				m.Set(k, i)
				want = append(want, k)
			}
			for i := range n {
				m.Set(want[i], i*10) // existing keys keep their place
			}
			require.Equal(t, want, append([]string{}, m.Keys()...), "n=%d hint=%d", n, hint)
			for i, k := range want {
				require.Equal(t, i*10, m.Value(k))
			}
			require.False(t, m.Has("none"))
			require.Equal(t, m, m.Clone(), "n=%d", n)
			// Delete every other key, from the end: the rest keep order and
			// values, and a deleted key set again goes last.
			kept := []string{}
			for i := n - 1; i >= 0; i-- {
				if i%2 == 1 {
					require.True(t, m.Delete(want[i]))
				}
			}
			for i := 0; i < n; i += 2 {
				kept = append(kept, want[i])
			}
			require.Equal(t, kept, append([]string{}, m.Keys()...))
			for _, k := range kept {
				require.Equal(t, pos[k]*10, m.Value(k))
			}
			if n > 1 {
				m.Set(want[1], "again")
				require.Equal(t, want[1], m.Keys()[m.Len()-1])
				require.Equal(t, "again", m.Value(want[1]))
			}
			m.SortKeys(func(a, b string) bool { return a > b })
			for i := 1; i < m.Len(); i++ {
				require.Greater(t, m.Keys()[i-1], m.Keys()[i])
			}
			for _, k := range kept {
				require.Equal(t, pos[k]*10, m.Value(k))
			}
		}
	}
}
