package dict

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEncode_LongStringsInPieces: Encode writes a long string in pieces and
// gives the same text as AppendJSON, whose buffer holds it whole, for
// strings whose characters, valid or not, fall across every piece
// boundary; and it does not grow its buffer to the string's size.
func TestEncode_LongStringsInPieces(t *testing.T) {
	pieces := []string{"a", "\"", "\\", "\n", "\x01", "é", "€", "𝄞", "\u2028", "\xe2\x82", "\xf0\x9d", "\x80", "\xff", "\xc3"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 60 {
		var sb strings.Builder
		// Fill up to a boundary, then random characters over it.
		sb.WriteString(strings.Repeat("x", encodeChunk-8+rng.IntN(8)))
		for sb.Len() < 2*encodeChunk+16 {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := sb.String()
		if round%2 == 1 {
			s = strings.Repeat("\x80", encodeChunk+rng.IntN(8)) + s // long runs of continuation bytes
		}
		v := Of("k", s, "l", []any{s, "short"})
		var buf bytes.Buffer
		require.NoError(t, Encode(&buf, v, ""))
		require.Equal(t, string(AppendJSON(nil, v, "")), strings.TrimSuffix(buf.String(), "\n"), "round %d", round)
	}

	long := strings.Repeat(`{"a":"xyz"},`, 100_000) // 1.2 MB, a third of it escaped
	w := countingWriter{}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, Encode(&w, long, ""))
	runtime.ReadMemStats(&after)
	require.Equal(t, len(AppendJSON(nil, long, "")), w.n)
	// The pieces' buffer: about two chunks (before, the string's whole
	// escaped size and its doublings, 4.5 MB).
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(512<<10))
}

// countingWriter counts what is written to it.
type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}
