// Package heaptest measures the Go heap for tests that check what a piece
// of code keeps reachable once it is done.
package heaptest

import "runtime"

// Live returns the bytes of the process's live heap: what two collections
// keep (two, so that what a sync.Pool holds, kept for one collection in
// its victim cache, is gone too).
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
