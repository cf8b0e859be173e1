package extensions_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hookhost/hookhost/plugins"
)

// BenchmarkRunOutOfProcessPaced is one echo run through a real extension
// process every 500 µs (2,000 a second, one at a time, as a server at a
// moderate rate): the time a run waits between them lets both processes'
// threads go idle. It reports the runs' latency percentiles.
func BenchmarkRunOutOfProcessPaced(b *testing.B) {
	e := benchManager(b)
	inv := plugins.Invocation{RunID: "bench", Automation: "bench", Revision: "1", Trigger: "test.run", Inputs: benchInputs}
	ctx := context.Background()
	const every = 500 * time.Microsecond
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	next := time.Now()
	for range b.N {
		// After a slow run the next one waits its interval too, not
		// sent at once to catch up: every run finds both processes idle.
		if now := time.Now(); next.Before(now) {
			next = now
		}
		next = next.Add(every)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		t := time.Now()
		if _, err := e.Run(ctx, inv, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.9), "p90-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
