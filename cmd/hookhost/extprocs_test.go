package main

import "testing"

func TestNextProcs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		procs, want int
		busy        float64
	}{
		{"one P, idle", 1, 1, 0},
		{"one P, a light load", 1, 1, 0.5},
		{"one P, busy", 1, 8, 0.9},
		{"all Ps, busy", 8, 8, 3},
		{"all Ps, between the thresholds", 8, 8, 0.6},
		{"all Ps, a light load again", 8, 1, 0.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextProcs(tc.procs, 8, tc.busy); got != tc.want {
				t.Errorf("nextProcs(%d, 8, %v) = %d, want %d", tc.procs, tc.busy, got, tc.want)
			}
		})
	}
}
