//go:build race

package templates

// mdRaceEnabled says whether the race detector is on: it drops sync.Pool
// items, so every regexp match allocates its machine anew and allocation
// counts mean nothing.
const mdRaceEnabled = true
