package main

import (
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestProcsRules: the server takes every P back above half a core and
// goes back to one below 0.4 of a core; the built-in extension above
// three quarters and below 0.4; both when their goroutines wait to run.
func TestProcsRules(t *testing.T) {
	t.Parallel()
	server, extension := serverProcs(), extensionProcs()
	for _, tc := range []struct {
		name        string
		rule        procsRule
		procs, want int
		busy        float64
		wait        time.Duration
	}{
		{"server, one P, 2,000 requests a second", server, 1, 1, 0.22, 57 * time.Microsecond},
		{"server, one P, half a core", server, 1, 1, 0.5, 0},
		{"server, one P, the load generator's maximum rate", server, 1, 8, 0.63, 655 * time.Microsecond},
		{"server, all Ps, busy", server, 8, 8, 0.75, 0},
		{"server, all Ps, between the thresholds", server, 8, 8, 0.45, 0},
		{"server, all Ps, a light load again", server, 8, 1, 0.26, 49 * time.Microsecond},
		{"server, all Ps, 2,000 requests a second after a burst", server, 8, 1, 0.34, 61 * time.Microsecond},
		{"server, one P, goroutines wait", server, 1, 8, 0.2, 20 * time.Millisecond},
		{"extension, one P, idle", extension, 1, 1, 0, 0},
		{"extension, one P, a light load", extension, 1, 1, 0.5, time.Millisecond},
		{"extension, one P, busy", extension, 1, 8, 0.9, time.Millisecond},
		{"extension, one P, goroutines wait", extension, 1, 8, 0.3, 20 * time.Millisecond},
		{"extension, all Ps, busy", extension, 8, 8, 3, time.Millisecond},
		{"extension, all Ps, between the thresholds", extension, 8, 8, 0.6, 0},
		{"extension, all Ps, a light load again", extension, 8, 1, 0.2, time.Millisecond},
		{"extension, all Ps, little CPU but goroutines wait", extension, 8, 8, 0.2, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rule.next(procsState{procs: tc.procs}, 8, tc.busy, tc.wait).procs; got != tc.want {
				t.Errorf("next(%d, 8, %v, %v) = %d, want %d", tc.procs, tc.busy, tc.wait, got, tc.want)
			}
		})
	}
}

// TestProcsBackOff: a process sent to every P by its goroutines' waits on
// a busy machine, whose CPU use on every P is below the mark to go back,
// does not go back and forth every interval, whether the waits come at
// once on one P, later, or at random; its time on every P is bounded, and
// lone wait spikes 20 intervals on one P apart (5 s or more) leave it on
// one P most of the time; the back-off starts again after a way up for
// CPU.
func TestProcsBackOff(t *testing.T) {
	t.Parallel()
	server := serverProcs()
	rng := rand.New(rand.NewPCG(1, 2))
	spikes := 0
	for _, tc := range []struct {
		name     string
		waits    func(alone int) bool // whether the alone-th interval on one P waits
		everyP   float64              // the most intervals on every P, a share
		switches int                  // the most P count changes
	}{
		{"at once", func(int) bool { return true }, 1, 2*1000/(maxCalm+1) + 20},
		{"from the third interval", func(n int) bool { return n >= 3 }, 1, 2*1000/(maxCalm+1) + 20},
		{"from the sixth interval", func(n int) bool { return n >= 6 }, 1, 2*1000/(maxCalm+1) + 20},
		{"half the intervals", func(int) bool { return rng.IntN(2) == 0 }, 1, 2*1000/(maxCalm+1) + 20},
		{"three in ten", func(int) bool { return rng.IntN(10) < 3 }, 1, 2*1000/(maxCalm+1) + 20},
		{"a spike every 20 intervals on one P", func(int) bool { spikes++; return spikes%20 == 0 }, 0.1, 2*1000/20 + 2},
	} {
		s := newProcsState()
		alone, run, switches, longest, everyP := 0, 0, 0, 0, 0
		for i := range 1000 {
			var n procsState
			if s.procs == 1 {
				alone++
				// 0.23 of a core; the p90 wait 6 ms when the machine is busy.
				wait := time.Millisecond
				if tc.waits(alone) {
					wait = 6 * time.Millisecond
				}
				n = server.next(s, 2, 0.23, wait)
			} else {
				run++
				everyP++
				n = server.next(s, 2, 0.34, time.Millisecond) // calm on every P
			}
			if n.procs != s.procs {
				switches++
				if n.procs == 1 {
					if i > 200 {
						longest = max(longest, run)
					}
					run = 0
				} else {
					alone = 0
				}
			}
			s = n
		}
		require.LessOrEqual(t, switches, tc.switches, "%s: P count changes in 1000 intervals", tc.name)
		require.LessOrEqual(t, longest, maxCalm, "%s: intervals on every P at once", tc.name)
		require.LessOrEqual(t, float64(everyP)/1000, tc.everyP, "%s: share of intervals on every P", tc.name)
	}

	// Up for its CPU use (a burst), then a light load: back after one,
	// whatever need was.
	s := server.next(procsState{procs: 1, need: maxCalm, alone: 1}, 2, 0.8, 0)
	require.Equal(t, 2, s.procs)
	require.Equal(t, 1, server.next(s, 2, 0.34, 0).procs)

	// Waits within 16 intervals (4 s) of going to one P: need doubles;
	// later, it halves. Not at the start either.
	s = server.next(procsState{procs: 1, need: 2, alone: 15}, 2, 0.2, 20*time.Millisecond)
	require.Equal(t, procsState{procs: 2, need: 4, alone: 16}, s)
	s = server.next(procsState{procs: 1, need: 8, alone: 16}, 2, 0.2, 20*time.Millisecond)
	require.Equal(t, procsState{procs: 2, need: 4, alone: 17}, s)
	require.Equal(t, 1, server.next(newProcsState(), 2, 0.2, 20*time.Millisecond).need)

	// need intervals on every P, calm or not, then a calm one: back.
	s = procsState{procs: 2, need: 4}
	for i, busy := range []float64{0.34, 0.45, 0.34} {
		s = server.next(s, 2, busy, 0)
		require.Equal(t, 2, s.procs, "interval %d", i)
	}
	require.Equal(t, 1, server.next(s, 2, 0.34, 0).procs)
	require.Equal(t, 2, server.next(s, 2, 0.45, 0).procs, "not calm")
}

// TestProcsActual: the state follows the runtime's P count where the
// runtime's default set it.
func TestProcsActual(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		s      procsState
		p      int
		expect procsState
	}{
		{"one P, set here", procsState{procs: 1, need: 8, alone: 3}, 1, procsState{procs: 1, need: 8, alone: 3}},
		{"one P, the default rose", procsState{procs: 1, need: 8, alone: 3}, 4, procsState{procs: 4, need: 1, alone: 3}},
		{"every P, the default was one", procsState{procs: 2, since: 5, need: 8}, 1, procsState{procs: 1, since: 5, need: 1, alone: maxCalm}},
		{"every P, the default changed", procsState{procs: 2, since: 5, need: 8}, 4, procsState{procs: 4, since: 5, need: 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.expect, tc.s.actual(tc.p))
		})
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	// Buckets in seconds: [0,1ms) [1ms,10ms) [10ms,+Inf).
	buckets := []float64{0, 0.001, 0.01, math.Inf(1)}
	for _, tc := range []struct {
		name      string
		prev, now []uint64
		want      time.Duration
	}{
		{"no samples", []uint64{5, 5, 5}, []uint64{5, 5, 5}, 0},
		{"all short", []uint64{5, 0, 0}, []uint64{105, 0, 0}, time.Millisecond},
		{"a tenth long", []uint64{0, 0, 0}, []uint64{90, 0, 10}, 10 * time.Millisecond},
		{"mostly medium, counted since prev", []uint64{1000, 0, 0}, []uint64{1005, 95, 0}, 10 * time.Millisecond},
		{"long: the open bucket's lower bound", []uint64{0, 0, 0}, []uint64{1, 1, 98}, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &metrics.Float64Histogram{Counts: tc.now, Buckets: buckets}
			if got := percentile(tc.prev, h, 0.9); got != tc.want {
				t.Errorf("percentile = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestServe_AdaptsProcs starts the real binary: an idle server runs on
// one P, unless GOMAXPROCS is in its environment or it runs its
// automations in process, which keep the runtime's default.
func TestServe_AdaptsProcs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the real binary; skipped with -short")
	}
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: there is nothing to adapt")
	}
	bin := buildBinary(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"default", nil, nil, "1"},
		{"GOMAXPROCS set", []string{"GOMAXPROCS=2"}, nil, "2"},
		{"in process", nil, []string{"--in-process"}, strconv.Itoa(runtime.GOMAXPROCS(0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			var out syncBuffer
			cmd := exec.Command(bin, append([]string{"serve", "--data-dir", t.TempDir(), "--listen", addr, "--access-log=false"}, tc.args...)...)
			cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") }), tc.env...)
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			client := &http.Client{Timeout: 30 * time.Second}
			// Until it answers with the Ps wanted (bounded): a server busy
			// starting on a loaded machine may take every P for an interval,
			// and goes back to one once idle.
			want := "\ngo_sched_gomaxprocs_threads " + tc.want + "\n"
			var metrics string
			for range 600 {
				resp, err := client.Get("http://" + addr + "/metrics")
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						if metrics = string(b); strings.Contains(metrics, want) {
							break
						}
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
			require.NotEmpty(t, metrics, "the server did not start: %s", out.String())
			got := regexp.MustCompile(`(?m)^go_sched_gomaxprocs_threads .*$`).FindString(metrics)
			require.Equal(t, strings.TrimSpace(want), got)
		})
	}
}
