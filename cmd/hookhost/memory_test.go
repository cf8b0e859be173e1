package main

import (
	"runtime"
	"testing"

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
