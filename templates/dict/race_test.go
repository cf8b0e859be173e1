//go:build race

package dict

// raceEnabled reports a build with the race detector, which changes
// allocations.
const raceEnabled = true
