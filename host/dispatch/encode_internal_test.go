package dispatch

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// TestEncode_LargeValue: a record's JSON of a large value is what
// dict.Encode writes, allocated about twice (its pieces, then the join).
// Appended to one growing slice it was five times: a job's inputs with a
// 1 MiB body allocated 7 MB each.
func TestEncode_LargeValue(t *testing.T) {
	for _, n := range []int{0, 100, 40 << 10, 1 << 20} {
		v := dict.Of("request_body", strings.Repeat(`{"a":"xyz"},`, n/12), "n", int64(n))
		var want bytes.Buffer
		require.NoError(t, dict.Encode(&want, v, ""))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got := encode(v)
		runtime.ReadMemStats(&after)
		require.Equal(t, want.String(), string(got))
		// Besides the pieces and the join, dict.Encode's buffer, pooled,
		// which the race detector's sync.Pool often drops: grown anew,
		// up to about 128 KiB.
		require.LessOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(3*want.Len()+256<<10), "bytes allocated for %d", want.Len())
	}
}

// TestEncode_SmallValueTwoAllocations: a value written at once costs two
// allocations, the writer (which escapes) and the copy, as before pieces
// (review rev1: the pieces' slice made every small record's encoding one
// allocation more).
func TestEncode_SmallValueTwoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops dict.Encode's buffer: an allocation more")
	}
	v := dict.Of("status_code", int64(200), "body", "ok")
	var want bytes.Buffer
	require.NoError(t, dict.Encode(&want, v, ""))
	var got []byte
	allocs := testing.AllocsPerRun(100, func() { got = encode(v) })
	require.Equal(t, want.String(), string(got))
	require.LessOrEqual(t, allocs, 2.0)
}
