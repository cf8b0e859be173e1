package heaptest

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLive: a large allocation kept reachable counts in the live heap, and
// stops counting once it is dropped.
func TestLive(t *testing.T) {
	const size = 64 << 20
	before := Live()
	b := make([]byte, size)
	b[0] = 1
	held := Live()
	runtime.KeepAlive(b)
	b = nil
	after := Live()
	require.GreaterOrEqual(t, held, before+size/2, "a kept allocation counts")
	require.Less(t, after, held-size/2, "a dropped one does not")
}
