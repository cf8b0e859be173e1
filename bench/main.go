// Command bench is hookhost's load run: in one process and one run it
// measures a bare Fiber v2 handler, the hookhost example webhook with the
// automation run in-process (on SQLite, and on PostgreSQL with -postgres),
// the same webhook with the automation run in an extension process, and a
// durable job webhook (202s per second, then completed jobs per second, on
// SQLite and PostgreSQL), all on 127.0.0.1 with vegeta as a library, and
// reports each target's throughput as a ratio of the bare handler's.
//
//	go run ./bench -duration 5s
//	go run ./bench -duration 5s -json
//	go run ./bench -targets bare,inprocess
//
// Every attack is bounded by -duration and by -max-requests; the whole run is
// bounded by -timeout. See bench/README.md for how to read the numbers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == bareServeArg {
		if err := serveBare(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: bare handler:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run parses args, runs the load and writes the report to stdout; progress
// notes go to stderr.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := defaultOptions()
	var (
		targets = fs.String("targets", strings.Join(allTargets(), ","), "comma-separated targets to measure: "+strings.Join(allTargets(), ", "))
		asJSON  = fs.Bool("json", false, "write the report as JSON instead of a table")
		verbose = fs.Bool("v", false, "show the servers' warnings and errors on stderr")
		timeout = fs.Duration("timeout", 0, "bound on the whole run (default: 3m plus 4×(warmup+duration)+drain+idle per target and round)")
		cpuProf = fs.String("cpuprofile", "", "write a CPU profile of the load generator (this process) to this file")
	)
	fs.DurationVar(&opts.Duration, "duration", opts.Duration, "measured attack per target")
	fs.DurationVar(&opts.Warmup, "warmup", opts.Warmup, "warm-up attack per target, not measured")
	fs.IntVar(&opts.Workers, "workers", opts.Workers, "concurrent keep-alive connections (one vegeta worker each)")
	fs.Uint64Var(&opts.MaxRequests, "max-requests", opts.MaxRequests, "stop an attack after this many requests even if -duration has not passed")
	fs.StringVar(&opts.HookhostBin, "hookhost-bin", "", "prebuilt hookhost binary for the out-of-process target (default: go build ./cmd/hookhost into a temp dir)")
	fs.StringVar(&opts.Postgres, "postgres", os.Getenv("HOOKHOST_TEST_POSTGRES"), "PostgreSQL DSN for the -pg targets, each on a fresh schema (default $HOOKHOST_TEST_POSTGRES; unset: they are skipped)")
	fs.IntVar(&opts.Rounds, "rounds", opts.Rounds, "run every target this many times, interleaved, and report the medians")
	fs.DurationVar(&opts.Idle, "idle", opts.Idle, "how long the idle target measures an idle server")
	fs.StringVar(&opts.ProfileDir, "cpuprofile-dir", "", "write CPU profiles of every server and extension process into this directory (<target>.serve.pprof, <target>.ext-<pid>.pprof, bare.serve.pprof)")
	fs.IntVar(&opts.BodyBytes, "body-bytes", 0, "send every request with a JSON body of this many bytes (a webhook's payload; a GitHub push is about 7-25 KB); 0: none, as the guide's curl")
	fs.IntVar(&opts.LatencyRate, "latency-rate", opts.LatencyRate, "after each synchronous target's maximum-rate attack, measure its latency at this fixed rate (req/s) for -duration; 0: off")
	fs.DurationVar(&opts.Drain, "drain", opts.Drain, "longest wait, after a job target's attack, for its queued jobs to finish")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts.Targets = splitList(*targets)
	opts.Notef = func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	if *verbose {
		opts.ServerLog = stderr
	}
	if opts.ProfileDir != "" {
		abs, err := filepath.Abs(opts.ProfileDir)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return err
		}
		opts.ProfileDir = abs
	}
	if err := opts.validate(); err != nil {
		return err
	}

	bound := *timeout
	if bound <= 0 {
		bound = 3*time.Minute + time.Duration(opts.Rounds*len(opts.Targets))*(4*(opts.Warmup+opts.Duration)+opts.Drain+opts.Idle)
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()

	rep, err := Run(ctx, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteTable(stdout)
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// startCPUProfile writes a CPU profile to path+".serve.pprof" until the
// returned function is called; with an empty path it does nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path + ".serve.pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

// signalContext ends at SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
