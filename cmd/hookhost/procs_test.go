package main

import (
	"math"
	"runtime/metrics"
	"testing"
	"time"
)

// TestServerProcs: the server takes every P back at half a core, and goes
// back to one below 0.3 of a core.
func TestServerProcs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		procs, want int
		busy        float64
		wait        time.Duration
	}{
		{"one P, 2,000 requests a second", 1, 1, 0.22, 57 * time.Microsecond},
		{"one P, the load generator's maximum rate", 1, 8, 0.63, 655 * time.Microsecond},
		{"all Ps, busy", 8, 8, 0.75, 0},
		{"all Ps, between the thresholds", 8, 8, 0.38, 0},
		{"all Ps, a light load again", 8, 1, 0.26, 49 * time.Microsecond},
		{"one P, goroutines wait", 1, 8, 0.2, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serverProcs().next(tc.procs, 8, tc.busy, tc.wait); got != tc.want {
				t.Errorf("next(%d, 8, %v, %v) = %d, want %d", tc.procs, tc.busy, tc.wait, got, tc.want)
			}
		})
	}
}

// TestExtensionProcs: the built-in extension takes every P back at three
// quarters of a core, and goes back to one below 0.4.
func TestExtensionProcs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		procs, want int
		busy        float64
		wait        time.Duration
	}{
		{"one P, idle", 1, 1, 0, 0},
		{"one P, a light load", 1, 1, 0.5, time.Millisecond},
		{"one P, busy", 1, 8, 0.9, time.Millisecond},
		{"one P, goroutines wait", 1, 8, 0.3, 20 * time.Millisecond},
		{"all Ps, busy", 8, 8, 3, time.Millisecond},
		{"all Ps, between the thresholds", 8, 8, 0.6, 0},
		{"all Ps, a light load again", 8, 1, 0.2, time.Millisecond},
		{"all Ps, little CPU but goroutines wait", 8, 8, 0.2, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := extensionProcs().next(tc.procs, 8, tc.busy, tc.wait); got != tc.want {
				t.Errorf("next(%d, 8, %v, %v) = %d, want %d", tc.procs, tc.busy, tc.wait, got, tc.want)
			}
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
