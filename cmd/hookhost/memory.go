package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// applyMemorySettings sets the process's GC percentage (GOGC) and soft
// memory limit (GOMEMLIMIT, 0: none), each unless its variable is set in
// the environment, where Go has applied it already and it wins. It also
// turns the runtime's heap profiling off: nothing in hookhost reads a heap
// profile (the load run's profiles are CPU ones), and the sampled
// allocation stacks are kept in a hash table of 1.4 MiB whose pages a
// serving process touches nearly all of.
func applyMemorySettings(gcPercent, limit int) {
	runtime.MemProfileRate = 0
	if _, ok := os.LookupEnv("GOGC"); !ok && gcPercent > 0 {
		debug.SetGCPercent(gcPercent)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok && limit > 0 {
		debug.SetMemoryLimit(int64(limit))
	}
}

// releaseStartupMemory gives back what only the process's start needed:
// the heap start-up work freed (debug.FreeOSMemory collects and returns
// every free page at once, where Go's background scavenger would take
// minutes), and the executable's pages that package initialisation and
// start-up touched (releaseExecutablePages). It is called once, when the
// process has started.
//
// It collects twice: what a sync.Pool holds survives one collection (as
// the pool's victim cache), and start-up's pools hold large buffers
// (goose's SQL parser keeps 4 MiB ones). With one collection they were
// counted live, 19 MiB against the 7 the server keeps under load, and
// the next collection's goal (twice the live heap) let the heap grow to
// 38 MiB first.
func releaseStartupMemory() {
	runtime.GC()
	debug.FreeOSMemory()
	releaseExecutablePages()
}
