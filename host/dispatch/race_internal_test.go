//go:build race

package dispatch

// raceEnabled says whether the race detector is on: it adds allocations
// of its own, which allocation counts must not see.
const raceEnabled = true
