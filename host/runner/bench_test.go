package runner_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookhost/hookhost/internal/cputime"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/webhook"
)

// TestMain serves the webhook extension when the test binary is started as
// an extension process by the benchmarks (runner.Config.Command), with
// EXT_GOGC as its GOGC when set (to measure the extension's GC setting:
// EXT_GOGC=400 go test -bench RunGuide/Out ./host/runner) and EXT_PROCS as
// its GOMAXPROCS (hookhost's extension runs on one P under a load it keeps
// below a core: EXT_PROCS=1). The benchmarks
// pass HOOKHOST_CPUPROFILE on, for a profile of the extension.
func TestMain(m *testing.M) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") == "1" && len(os.Args) > 1 && os.Args[len(os.Args)-1] == "webhook" {
		if v := os.Getenv("EXT_GOGC"); v != "" {
			n, _ := strconv.Atoi(v)
			debug.SetGCPercent(n)
		}
		if n, _ := strconv.Atoi(os.Getenv("EXT_PROCS")); n > 0 {
			runtime.GOMAXPROCS(n)
		}
		plugins.Serve(webhook.New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// guideAutomation is the automation bench/ measures: the Cerb guide's
// webhook example.
func guideAutomation(tb testing.TB) *store.Automation {
	tb.Helper()
	script, err := os.ReadFile("../../testdata/kata/cerb-guide-webhook-example.kata")
	if err != nil {
		tb.Fatal(err)
	}
	return &store.Automation{ID: 7, Name: "example.webhook.respond", ExtensionID: "cerb.trigger.webhook.respond",
		Script: string(script), Revision: 3, CreatedAt: time.Unix(1735689600, 0)}
}

// guideInvocation is the guide's curl as bench/ sends it.
func guideInvocation(a *store.Automation) *runner.Invocation {
	req := automations.HTTPRequest{
		Method: "POST",
		Headers: [][2]string{
			{"Host", "127.0.0.1:41235"},
			{"User-Agent", "Go-http-client/1.1"},
			{"Content-Length", "0"},
			{"X-Customheader", "true"},
			{"Accept-Encoding", "gzip"},
		},
		Query:    [][2]string{{"key", "value"}},
		ClientIP: "127.0.0.1",
	}
	in := automations.WebhookInputs(req, automations.WebhookInfo{ID: "0193", Name: "Webhook Example", UpdatedAt: time.Unix(1735689600, 0)})
	return &runner.Invocation{RunID: "bench", Automation: a, Inputs: in}
}

// startRunner starts the extensions, in this process or as a child
// process running this test binary (TestMain).
func startRunner(b testing.TB, inProcess bool) (*runner.Server, *runner.Extensions) {
	b.Helper()
	data, err := os.MkdirTemp("", "hrb") // short: it holds unix sockets
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(data) })
	b.Setenv("GO_WANT_HELPER_PROCESS", "1")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ext, err := runner.Start(context.Background(), runner.Config{DataDir: data, PluginsDir: filepath.Join(data, "none"),
		InProcess: inProcess, Command: []string{os.Args[0], "-test.run=^$"}, PassEnv: []string{"GO_WANT_HELPER_PROCESS", plugins.EnvCPUProfile, "EXT_GOGC", "EXT_PROCS"}, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ext.Close() })
	return runner.New(ext, nil, log), ext
}

// startGuide starts the extensions (startRunner) and runs the guide's
// automation until it is compiled and cached and the run stream is open. It
// returns the runner, the automation and the extension processes' pids.
func startGuide(b *testing.B, inProcess bool) (*runner.Server, *store.Automation, []int) {
	b.Helper()
	r, ext := startRunner(b, inProcess)
	a := guideAutomation(b)
	for range 10 {
		if res, err := r.Run(context.Background(), guideInvocation(a)); err != nil || res.Exit != automations.ExitReturn {
			b.Fatal(err, res)
		}
	}
	var pids []int
	for _, in := range ext.Info() {
		pids = append(pids, in.Pids...)
	}
	return r, a, pids
}

// runGuideParallel runs the guide's automation b.N times from the
// goroutines of b.RunParallel.
func runGuideParallel(b *testing.B, r *runner.Server, a *store.Automation) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := r.Run(context.Background(), guideInvocation(a))
			if err != nil || res.Exit != automations.ExitReturn {
				b.Error(err, res)
				return
			}
		}
	})
}

// cpuTime is the CPU time used so far by this process and the processes
// of pids.
func cpuTime(tb testing.TB, pids []int) time.Duration {
	d, ok := cputime.Process()
	if !ok {
		tb.Skip("no process CPU time here")
	}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			tb.Skip("no /proc:", err)
		}
		// The fields after the command's closing parenthesis; utime and
		// stime are the 14th and 15th of the line, in clock ticks (100 a
		// second on Linux).
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		for _, v := range f[11:13] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			d += time.Duration(n) * 10 * time.Millisecond
		}
	}
	return d
}

// go test ./host/runner -run '^$' -bench RunGuide -benchmem -benchtime 20000x
//
// BenchmarkRunGuide is the run of the guide's webhook as the server makes
// it (runner.Server.Run: the inputs dictionary in, the result out), with
// 32×GOMAXPROCS callers, like a loaded server: OutOfProcess through the
// default extension process, InProcess with --in-process. cpu-ns/op is the
// CPU of this process and of the extension process per run, which the
// machine's load moves much less than ns/op.
func BenchmarkRunGuide(b *testing.B) {
	for _, tc := range []struct {
		name      string
		inProcess bool
	}{{"OutOfProcess", false}, {"InProcess", true}} {
		b.Run(tc.name, func(b *testing.B) {
			r, a, pids := startGuide(b, tc.inProcess)
			b.ReportAllocs()
			b.SetParallelism(32)
			b.ResetTimer()
			cpu0, ctx0, w0 := cpuTime(b, pids), switches(pids), writes(pids)
			runGuideParallel(b, r, a)
			b.ReportMetric(float64(cpuTime(b, pids)-cpu0)/float64(b.N), "cpu-ns/op")
			if len(pids) > 0 {
				b.ReportMetric(float64(switches(pids)-ctx0)/float64(b.N), "ext-switches/op")
				b.ReportMetric(float64(writes(pids)-w0)/float64(b.N), "ext-writes/op")
			}
		})
	}
}

// switches is the number of context switches of the threads of the
// processes of pids so far (0 where /proc cannot tell).
func switches(pids []int) int {
	n := 0
	for _, pid := range pids {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) == 2 && strings.HasSuffix(f[0], "ctxt_switches:") {
					v, _ := strconv.Atoi(f[1])
					n += v
				}
			}
		}
	}
	return n
}

// writes is the number of write system calls of the processes of pids so
// far: for the extension, about one per message of results.
func writes(pids []int) int {
	n := 0
	for _, pid := range pids {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "syscw: "); ok {
				w, _ := strconv.Atoi(v)
				n += w
			}
		}
	}
	return n
}

// go test ./host/runner -run '^$' -bench RunGuideCallers -benchtime 60000x
//
// BenchmarkRunGuideCallers is BenchmarkRunGuide/OutOfProcess with more or
// fewer callers at once (a multiple of GOMAXPROCS, which names each), the
// extension on one P, as hookhost runs it below three quarters of a core.
// The more runs wait together, the more go in one message each way
// (ext-writes/op: the extension's write system calls a run, about one per
// message of results), and cpu-ns/op against ext-writes/op gives the two
// parts of a run's cost across the process boundary: what each message
// cycle costs (the extension woken, reading, answering, going back to
// sleep, and the server's side of it) and what each run costs however
// large its message. The extension's CPU time is read in 10 ms ticks: a
// short run (-benchtime 500x) can be off by tens of µs a run.
func BenchmarkRunGuideCallers(b *testing.B) {
	b.Setenv("EXT_PROCS", "1")
	for _, callers := range []int{2, 8, 32, 64, 256} {
		// RunParallel starts parallelism×GOMAXPROCS goroutines.
		par := max(1, callers/runtime.GOMAXPROCS(0))
		b.Run(fmt.Sprintf("callers=%d", par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			r, a, pids := startGuide(b, false)
			b.SetParallelism(par)
			b.ResetTimer()
			cpu0, w0 := cpuTime(b, pids), writes(pids)
			runGuideParallel(b, r, a)
			b.ReportMetric(float64(cpuTime(b, pids)-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(writes(pids)-w0)/float64(b.N), "ext-writes/op")
		})
	}
}

// go test ./host/runner -run '^$' -bench RunGuideAlone -benchtime 3000x
//
// BenchmarkRunGuideAlone is the latency of the guide's run when nothing
// else is going on: one run at a time, each after a pause long enough for
// both processes to go idle (the thread that runs it asleep), as at a low
// request rate. It reports the median and 99th percentile of a run's
// time; ns/op includes the pauses and means nothing here. Run it with
// GOMAXPROCS=1 in the environment for the server's P count below half a
// core (hookhost's default there; the extension always runs on one P
// here).
func BenchmarkRunGuideAlone(b *testing.B) {
	b.Setenv("EXT_PROCS", "1")
	for _, tc := range []struct {
		name      string
		inProcess bool
	}{{"OutOfProcess", false}, {"InProcess", true}} {
		b.Run(tc.name, func(b *testing.B) {
			r, a, _ := startGuide(b, tc.inProcess)
			ctx := context.Background()
			took := make([]time.Duration, 0, b.N)
			for b.Loop() {
				inv := guideInvocation(a)
				t0 := time.Now()
				res, err := r.Run(ctx, inv)
				took = append(took, time.Since(t0))
				if err != nil || res.Exit != automations.ExitReturn {
					b.Fatal(err, res)
				}
				time.Sleep(500 * time.Microsecond)
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2]), "p50-ns")
			b.ReportMetric(float64(took[len(took)*99/100]), "p99-ns")
		})
	}
}
