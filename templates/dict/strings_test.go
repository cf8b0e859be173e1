package dict

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStrings checks that a value boxed by Strings is the value Go's
// conversion makes: equal to it, of type string for type switches,
// reflect, fmt and the dictionary's JSON, and intact after collections
// once nothing else refers to its string, across several chunks.
func TestStrings(t *testing.T) {
	t.Parallel()
	const n = 3 * maxStrings
	var b Strings
	vals := make([]any, n)
	for i := range vals {
		vals[i] = b.Box(strings.Repeat(string(rune('a'+i%26)), i%40))
	}
	runtime.GC()
	runtime.GC()
	m := New(n)
	for i, v := range vals {
		want := strings.Repeat(string(rune('a'+i%26)), i%40)
		require.Equal(t, any(want), v)
		require.True(t, v == any(want))
		s, ok := v.(string)
		require.True(t, ok)
		require.Equal(t, want, s)
		require.Equal(t, reflect.String, reflect.TypeOf(v).Kind())
		require.Equal(t, want, reflect.ValueOf(v).String())
		require.Equal(t, want, fmt.Sprint(v))
		m.Set(fmt.Sprint(i), v)
	}
	j, err := json.Marshal(m)
	require.NoError(t, err)
	require.Contains(t, string(j), `"3":"ddd"`)
}

// TestStrings_Allocs: a chunk's allocation serves firstStrings values.
func TestStrings_Allocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		var b Strings
		for range firstStrings {
			_ = b.Box("value")
		}
	})
	require.Equal(t, 1.0, allocs)
}
