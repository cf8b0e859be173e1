package cputime

import (
	"runtime"
	"testing"
)

func TestProcessGrows(t *testing.T) {
	before, ok := Process()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("Process reports no CPU time on linux")
		}
		t.Skip("no process CPU time on", runtime.GOOS)
	}
	// Spin until the process's CPU time moves: it must, since this loop
	// uses CPU and nothing else ends it.
	x := 0
	for {
		for i := range 1 << 20 {
			x += i
		}
		after, _ := Process()
		if after < before {
			t.Fatalf("CPU time went back: %v then %v", before, after)
		}
		if after > before {
			break
		}
	}
	_ = x
}
