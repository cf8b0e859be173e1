//go:build !race

package console_test

// raceEnabled says whether the race detector is on.
const raceEnabled = false
