package main

import (
	"runtime"
	"sync"
	"testing"
	"weak"

	"github.com/stretchr/testify/require"
)

// TestApplyMemorySettings_NoHeapProfile checks that the settings turn the
// runtime's heap profiling off (0 and 0 leave GOGC and the memory limit
// as they are).
func TestApplyMemorySettings_NoHeapProfile(t *testing.T) {
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 512 * 1024 // Go's default
	applyMemorySettings(0, 0)
	require.Zero(t, runtime.MemProfileRate)
}

// TestReleaseStartupMemory_Pools checks that the release frees what a
// sync.Pool held, which one collection keeps as the pool's victim cache.
func TestReleaseStartupMemory_Pools(t *testing.T) {
	pool := &sync.Pool{}
	buf := new([]byte)
	*buf = make([]byte, 4<<20)
	held := weak.Make(&(*buf)[0])
	pool.Put(buf)
	releaseStartupMemory()
	require.Nil(t, held.Value(), "the pool's buffer is freed")
	runtime.KeepAlive(pool)
}

// TestServeDefaultGCPercent checks the GOGC defaults of the server (150)
// and of its extension (200, see host.DefaultMemorySettings), as
// `hookhost serve` applies them.
func TestServeDefaultGCPercent(t *testing.T) {
	for _, tt := range []struct{ flag, want string }{
		{"gc-percent", "150"},
		{"extension-gc-percent", "200"},
	} {
		f := newServeCmd().Flags().Lookup(tt.flag)
		require.NotNil(t, f, tt.flag)
		require.Equal(t, tt.want, f.DefValue, tt.flag)
	}
}
