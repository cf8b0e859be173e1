package main

import (
	"os"
	"runtime"
	"time"
)

// The built-in extension runs on one P while it needs less than a core,
// and on all of them when its runs keep one busy (adaptProcs).
//
// With several Ps, every run the extension hands to a worker goroutine,
// and every batch of results it sends, can wake an idle P and an OS thread
// for it (wakep, startm, a futex wake), and the threads that find nothing
// to do spin looking for work first: under the guide's load that was a
// fifth of the extension's CPU. With one P the hand-offs are goroutine
// switches on one thread. But one P caps CPU-heavy automations at a core:
// when the extension is about that busy it gets every P back.
const (
	procsInterval = 250 * time.Millisecond
	// procsUp and procsDown are the extension's CPU use, in cores over the
	// last interval, above which it gets every P back, and below which it
	// goes back to one.
	procsUp   = 0.75
	procsDown = 0.4
)

// adaptProcs starts the goroutine that sets GOMAXPROCS by the process's
// CPU use, unless GOMAXPROCS is set in the environment, there is one P
// anyway, or the platform cannot tell the process's CPU time.
func adaptProcs() {
	all := runtime.GOMAXPROCS(0)
	if _, ok := os.LookupEnv("GOMAXPROCS"); ok || all <= 1 {
		return
	}
	if _, ok := processCPU(); !ok {
		return
	}
	runtime.GOMAXPROCS(1)
	go func() {
		procs := 1
		cpu, _ := processCPU()
		at := time.Now()
		t := time.NewTicker(procsInterval)
		defer t.Stop()
		for now := range t.C {
			c, _ := processCPU()
			busy := float64(c-cpu) / float64(now.Sub(at))
			cpu, at = c, now
			if p := nextProcs(procs, all, busy); p != procs {
				procs = p
				runtime.GOMAXPROCS(p)
			}
		}
	}()
}

// nextProcs is the GOMAXPROCS for the next interval: from procs (1 or
// all), with busy cores used in the last one.
func nextProcs(procs, all int, busy float64) int {
	switch {
	case procs == 1 && busy > procsUp:
		return all
	case procs > 1 && busy < procsDown:
		return 1
	}
	return procs
}
