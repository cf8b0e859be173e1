//go:build !race

package templates

// mdRaceEnabled says whether the race detector is on.
const mdRaceEnabled = false
