package main

import (
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/hookhost/hookhost/internal/cputime"
)

// The server and its built-in extension run on one P while they use less
// than a share of a core (procsRule), and on all of them when they get
// busier (adaptProcs).
//
// With several Ps, every goroutine a process hands work to (a run to a
// worker, a batch of results to its sender, a request's answer to its
// connection) can wake an idle P and an OS thread for it (wakep, startm, a
// futex wake), and the threads that find nothing to do spin looking for
// work first: under the guide's load that was a fifth of the extension's
// CPU, and at 2,000 requests a second the server and its extension spent
// 144-154 µs of CPU a request with the server on one P against 183-194
// with it on two (bench/README.md, seventeenth session). With one P the
// hand-offs are goroutine switches on one thread. But one P caps a
// process at a core: when it is busy enough, or its goroutines wait long
// to run (the one P is saturated, or the machine is so busy that its
// thread gets less than a core and the CPU time cannot tell), it gets
// every P back: the runtime's default, which then follows the machine's
// CPUs and the process's CPU limit again (setting GOMAXPROCS stops that
// while it is one).
const (
	procsInterval = 250 * time.Millisecond
	// procsWait is how long the 90th percentile of the goroutines that
	// became ready to run in the last interval may wait for a P, at one P
	// (above, it gets every P back) and at all (to go back to one).
	// Asynchronous preemption gives a CPU-bound goroutine 10 ms.
	procsWait = 5 * time.Millisecond
)

// procsRule is a process's CPU use, in cores over the last interval,
// above which it gets every P back (up), and below which it goes back to
// one (down).
type procsRule struct{ up, down float64 }

// extensionProcs is the built-in extension's rule: its runs are most of
// its CPU, and with one P they are goroutine switches.
func extensionProcs() procsRule { return procsRule{up: 0.75, down: 0.4} }

// serverProcs is the server's rule: on a machine the load shares, the
// server on one P got 0.63-0.70 of a core at its maximum rate (a tenth
// fewer requests than on two), so it takes every P back sooner. It goes
// back to one P below 0.4 of a core: the same load costs more CPU on
// every P (thread wake-ups), so a lower mark can keep a server on them
// after a burst. At 2,000 requests a second the server used 0.30-0.34 of
// a core on two Ps and 0.22-0.24 on one, and with 0.3 it stayed on two
// for the first 1-1.5 s; a run alone takes four times as long with two
// Ps as with one (BenchmarkRunGuideAlone, host/runner). For its CPU use
// alone it would go up again only if one P cost more than every P did
// for the same load; for its goroutines' waits it may (next backs off).
func serverProcs() procsRule { return procsRule{up: 0.5, down: 0.4} }

// schedLatency is the runtime's histogram of how long goroutines waited
// to run.
const schedLatency = "/sched/latencies:seconds"

// adaptProcs starts the goroutine that sets GOMAXPROCS by the process's
// CPU use and rule, unless GOMAXPROCS is set in the environment, there is
// one P anyway, or the platform cannot tell the process's CPU time.
func adaptProcs(rule procsRule) {
	all := runtime.GOMAXPROCS(0)
	if _, ok := os.LookupEnv("GOMAXPROCS"); ok || all <= 1 {
		return
	}
	if _, ok := cputime.Process(); !ok {
		return
	}
	runtime.GOMAXPROCS(1)
	go func() {
		st := newProcsState()
		cpu, _ := cputime.Process()
		at := time.Now()
		lat := []metrics.Sample{{Name: schedLatency}}
		metrics.Read(lat)
		var prev []uint64
		if lat[0].Value.Kind() == metrics.KindFloat64Histogram {
			prev = append(prev, lat[0].Value.Float64Histogram().Counts...)
		}
		t := time.NewTicker(procsInterval)
		defer t.Stop()
		for now := range t.C {
			c, _ := cputime.Process()
			busy := float64(c-cpu) / float64(now.Sub(at))
			cpu, at = c, now
			var wait time.Duration
			if prev != nil {
				metrics.Read(lat)
				h := lat[0].Value.Float64Histogram()
				wait = percentile(prev, h, 0.9)
				copy(prev, h.Counts)
			}
			st = st.actual(runtime.GOMAXPROCS(0))
			if st.procs > 1 {
				all = st.procs // the default may have changed since the start
			}
			n := rule.next(st, all, busy, wait)
			switch {
			case n.procs == st.procs:
			case n.procs == 1:
				runtime.GOMAXPROCS(1)
			default:
				runtime.SetDefaultGOMAXPROCS()
				n = n.actual(runtime.GOMAXPROCS(0))
			}
			st = n
		}
	}()
}

// procsState is what adaptProcs keeps from one interval to the next.
type procsState struct {
	procs int // GOMAXPROCS: 1, or all
	// since counts the intervals on every P since the process went there;
	// a calm interval takes it back to one P once since reaches need (1,
	// more after quick returns to every P for waits: see next).
	since, need int
	// alone counts the intervals on one P since the process went there.
	alone int
}

// maxCalm is the back-off's bound: a process stays on every P at most
// maxCalm intervals (4 s) before a calm one takes it back, and a return
// to every P for waits within maxCalm intervals of going to one P is a
// quick one.
const maxCalm = 16

// newProcsState is the state of a process that starts on one P.
func newProcsState() procsState {
	return procsState{procs: 1, need: 1, alone: maxCalm} // the start is no quick return
}

// actual is s with the P count the runtime has, p, where the runtime's
// default set it: asked for every P, the default was one (a process
// allowed one CPU), or it changed since (the runtime follows the CPUs and
// the CPU limit). A process the default sent from one P to more, or from
// more to one, starts again with no back-off; one that stays on every P
// keeps its own.
func (s procsState) actual(p int) procsState {
	switch {
	case s.procs == 1 && p > 1:
		s.procs, s.since, s.need = p, 0, 1
	case s.procs > 1 && p == 1:
		s.procs, s.alone, s.need = 1, maxCalm, 1
	case s.procs > 1:
		s.procs = p
	}
	return s
}

// next is the state for the next interval, from s, with busy cores used
// in the last one, wait the 90th percentile of the goroutines' waits to
// run, and all the P count of every P.
//
// Going up is at once. Going back to one P takes a calm interval once
// the process has been on every P for need intervals. need is 1 after a
// way up for CPU use; after a way up for the goroutines' waits alone (CPU
// use below up) it doubles, up to maxCalm, when the waits came within
// maxCalm intervals of going to one P, and halves (down to 1) when they
// came later. On a machine busy enough, a process's one thread waits for
// a CPU though it needs less than a core; on every P the waits end and
// its CPU use, though higher, can stay below down, which would send it
// back to one P, and to the waits, in the next interval (reviews rev1-rev4
// of the twenty-first session: 0.23 of a core with 6 ms waits on one P and
// 0.34 without on two went up and down every 250 ms; waits from the third
// interval on one P, or at random, the same). Lone waits about 5 s or more
// apart on one P bring need down again; waits every 4-6 s keep a process
// that reached 16 on every P about two thirds of the time (review rev5),
// where below the old mark of 0.3 such a load stayed there all the time.
func (r procsRule) next(s procsState, all int, busy float64, wait time.Duration) procsState {
	s.need = max(s.need, 1)
	if s.procs == 1 {
		s.alone++
		switch {
		case busy > r.up:
			s.procs, s.since, s.need = all, 0, 1
		case wait > procsWait:
			if s.alone <= maxCalm {
				s.need = min(2*s.need, maxCalm)
			} else {
				s.need = max(s.need/2, 1)
			}
			s.procs, s.since = all, 0
		}
		return s
	}
	if s.since++; s.since >= s.need && busy < r.down && wait <= procsWait {
		s.procs, s.alone = 1, 0
	}
	return s
}

// percentile is the upper bound of the bucket of h where the fraction q of
// the samples counted since prev (h's counts before) falls; 0 without
// samples.
func percentile(prev []uint64, h *metrics.Float64Histogram, q float64) time.Duration {
	var total uint64
	for i, c := range h.Counts {
		total += c - prev[i]
	}
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	var n uint64
	for i, c := range h.Counts {
		if n += c - prev[i]; n > want {
			b := h.Buckets[i+1]
			if math.IsInf(b, 1) {
				b = h.Buckets[i]
			}
			return time.Duration(b * float64(time.Second))
		}
	}
	return 0 // not reached: n ends at total
}
