//go:build !race

package dispatch

// raceEnabled says whether the race detector is on.
const raceEnabled = false
