//go:build race

package console_test

// raceEnabled says whether the race detector is on: the scale tests'
// seeding (a C database transpiled to Go) takes minutes under it.
const raceEnabled = true
