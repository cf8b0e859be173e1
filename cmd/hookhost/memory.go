package main

import (
	"os"
	"runtime/debug"
)

// applyMemorySettings sets the process's GC percentage (GOGC) and soft
// memory limit (GOMEMLIMIT, 0: none), each unless its variable is set in
// the environment, where Go has applied it already and it wins.
func applyMemorySettings(gcPercent, limit int) {
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
func releaseStartupMemory() {
	debug.FreeOSMemory()
	releaseExecutablePages()
}
