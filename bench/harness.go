package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Target names, in report order.
const (
	targetBare         = "bare"
	targetInProcess    = "inprocess"
	targetInProcessPG  = "inprocess-pg"
	targetOutOfProcess = "outofprocess"
	targetJobs         = "jobs"
	targetJobsPG       = "jobs-pg"
)

// allTargets lists every target in report order.
func allTargets() []string {
	return []string{targetBare, targetInProcess, targetInProcessPG, targetOutOfProcess, targetJobs, targetJobsPG}
}

// postgresTarget reports whether target runs hookhost on PostgreSQL.
func postgresTarget(target string) bool {
	return target == targetInProcessPG || target == targetJobsPG
}

// Options configure a load run.
type Options struct {
	// Targets to measure, a subset of bare, inprocess, outofprocess.
	Targets []string
	// Warmup is the unmeasured attack before each measured one.
	Warmup time.Duration
	// Duration is the measured attack per target.
	Duration time.Duration
	// Workers is the number of vegeta workers, each on its own keep-alive
	// connection.
	Workers int
	// MaxRequests stops an attack early once it has sent this many.
	MaxRequests uint64
	// HookhostBin is a prebuilt hookhost binary for the out-of-process
	// target; "" builds one.
	HookhostBin string
	// Postgres is the DSN of a PostgreSQL database for the -pg targets
	// (each gets a fresh schema, dropped afterwards); "" skips them.
	Postgres string
	// Drain bounds the wait for a job target's queued jobs to finish after
	// its attack. Default 60s.
	Drain time.Duration
	// Logger receives the servers' logs.
	Logger *slog.Logger
	// Notef reports progress and skipped targets (may be nil).
	Notef func(format string, args ...any)
}

func defaultOptions() Options {
	return Options{
		Targets:     allTargets(),
		Warmup:      time.Second,
		Duration:    5 * time.Second,
		Workers:     64,
		MaxRequests: 5_000_000,
		Drain:       time.Minute,
	}
}

func (o *Options) validate() error {
	if len(o.Targets) == 0 {
		return errors.New("no targets")
	}
	for _, t := range o.Targets {
		if !slices.Contains(allTargets(), t) {
			return fmt.Errorf("unknown target %q (want one of %v)", t, allTargets())
		}
	}
	switch {
	case o.Duration <= 0:
		return fmt.Errorf("duration %s must be positive", o.Duration)
	case o.Warmup < 0:
		return fmt.Errorf("warmup %s must not be negative", o.Warmup)
	case o.Workers <= 0 || o.Workers > 4096:
		return fmt.Errorf("workers %d must be between 1 and 4096", o.Workers)
	case o.MaxRequests == 0:
		return errors.New("max-requests must be positive")
	case o.Drain < 0:
		return fmt.Errorf("drain %s must not be negative", o.Drain)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Notef == nil {
		o.Notef = func(string, ...any) {}
	}
	return nil
}

// Run measures the selected targets one after another (only one server is
// up at a time) and returns the report. A target that cannot run (the
// out-of-process one without `ext serve`, the -pg ones without
// Options.Postgres) is reported as skipped with the reason; a target that
// answers wrongly fails the run.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	rep := &Report{
		Workers:    opts.Workers,
		Warmup:     opts.Warmup,
		Duration:   opts.Duration,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		JobWorkers: jobWorkers,
	}

	// The bare handler answers the bytes and headers the example webhook
	// answers, so capture them first from a throwaway in-process server.
	var ref *probe
	if slices.Contains(opts.Targets, targetBare) {
		opts.Notef("capturing the example webhook's answer for the bare handler")
		tgt, err := startHookhost(ctx, opts, true, nil, "")
		if err != nil {
			return nil, fmt.Errorf("start in-process hookhost: %w", err)
		}
		ref, err = probeTarget(ctx, opts, tgt.url)
		tgt.stop()
		if err != nil {
			return nil, fmt.Errorf("probe example webhook: %w", err)
		}
		if err := checkExampleAnswer(ref); err != nil {
			return nil, fmt.Errorf("example webhook: %w", err)
		}
	}

	for _, name := range allTargets() {
		if !slices.Contains(opts.Targets, name) {
			continue
		}
		res, err := measureTarget(ctx, opts, name, ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if res.Skipped != "" {
			opts.Notef("%s skipped: %s", name, res.Skipped)
		}
		rep.Results = append(rep.Results, *res)
	}
	rep.computeRatios()
	return rep, nil
}

// server is a target being served on 127.0.0.1.
type server struct {
	url  string // the full URL to POST to, with ?key=value
	base string // http://<addr> of a hookhost server ("" for bare)
	stop func()
}

// measureTarget starts one target, checks its answer, warms it up, measures
// it and stops it.
func measureTarget(ctx context.Context, opts Options, name string, ref *probe) (*Result, error) {
	res := &Result{Target: name}
	var (
		srv *server
		err error
	)
	if postgresTarget(name) && opts.Postgres == "" {
		res.Skipped = "no PostgreSQL: set HOOKHOST_TEST_POSTGRES or -postgres to a DSN"
		return res, nil
	}
	switch name {
	case targetBare:
		srv, err = startBare(ref)
	case targetInProcess:
		srv, err = startHookhost(ctx, opts, true, nil, "")
	case targetInProcessPG:
		srv, err = startHookhostPG(ctx, opts)
	case targetJobs, targetJobsPG:
		return measureJobs(ctx, opts, name)
	case targetOutOfProcess:
		var skip string
		srv, skip, err = startOutOfProcess(ctx, opts)
		if skip != "" {
			res.Skipped = skip
			return res, nil
		}
	}
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	opts.Notef("%s: probing %s", name, redactToken(srv.url))
	pr, err := probeTarget(ctx, opts, srv.url)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	if err := checkExampleAnswer(pr); err != nil {
		return nil, err
	}
	if name == targetBare && !bytes.Equal(pr.body, ref.body) {
		return nil, errors.New("bare handler answers other bytes than the example webhook")
	}
	if name == targetOutOfProcess {
		cmdline, skip := checkExtensionProcess()
		if skip != "" {
			res.Skipped = skip
			return res, nil
		}
		res.ExtensionProcess = cmdline
	}
	res.Status = pr.status
	res.ContentType = pr.header.Get("Content-Type")
	res.BodyBytes = len(pr.body)

	cl := newClient(opts.Workers)
	defer cl.CloseIdleConnections()
	if opts.Warmup > 0 {
		opts.Notef("%s: warm-up %s", name, opts.Warmup)
		if _, err := attack(ctx, cl, opts, srv.url, opts.Warmup, sameAnswer(pr.body)); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	opts.Notef("%s: measuring %s with %d connections", name, opts.Duration, opts.Workers)
	m, err := attack(ctx, cl, opts, srv.url, opts.Duration, sameAnswer(pr.body))
	if err != nil {
		return nil, err
	}
	res.fill(m)
	return res, nil
}

// answerCheck tells whether an answer is the one expected: "" when it is,
// else what is wrong.
type answerCheck struct {
	status int
	body   func([]byte) string
}

// sameAnswer expects a 200 with exactly want.
func sameAnswer(want []byte) answerCheck {
	return answerCheck{status: http.StatusOK, body: func(b []byte) string {
		if bytes.Equal(b, want) {
			return ""
		}
		return fmt.Sprintf("body differs: %.200q", b)
	}}
}

// probe is one answer of a target.
type probe struct {
	status int
	header http.Header
	body   []byte
}

// request is the one request every target gets: the Cerb guide's curl.
func request(url string) vegeta.Target {
	return vegeta.Target{Method: http.MethodPost, URL: url, Header: http.Header{"X-CustomHeader": {"true"}}}
}

// probeTarget sends the request once, through vegeta like the load, so that
// the answer has the same request headers echoed as under load.
func probeTarget(ctx context.Context, opts Options, url string) (*probe, error) {
	cl := newClient(1)
	defer cl.CloseIdleConnections()
	atk := vegeta.NewAttacker(vegeta.Client(cl), vegeta.Workers(1), vegeta.MaxWorkers(1))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var got *vegeta.Result
	for r := range atk.Attack(vegeta.NewStaticTargeter(request(url)), hitsPacer(1), 30*time.Second, "") {
		got = r
	}
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case got == nil:
		return nil, errors.New("no answer")
	case got.Code == 0:
		return nil, fmt.Errorf("request failed: %s", got.Error)
	}
	return &probe{status: int(got.Code), header: got.Headers, body: got.Body}, nil
}

// hitsPacer sends as fast as it can and stops after n hits.
type hitsPacer uint64

var _ vegeta.Pacer = hitsPacer(0)

// Pace implements vegeta.Pacer.
func (p hitsPacer) Pace(_ time.Duration, hits uint64) (time.Duration, bool) {
	return 0, hits >= uint64(p)
}

// Rate implements vegeta.Pacer: unbounded.
func (p hitsPacer) Rate(time.Duration) float64 { return 0 }

// measurement is one attack's outcome.
type measurement struct {
	metrics      vegeta.Metrics
	ok           uint64 // the expected status and body
	transportErr uint64 // no HTTP answer (refused, reset, timeout)
	non200       uint64 // another status than the expected one
	bodyMismatch uint64 // the expected status with another body
	firstError   string
}

// attack runs one attack at maximum rate with opts.Workers workers for du or
// opts.MaxRequests requests, whichever comes first, and checks every answer
// with want.
func attack(ctx context.Context, cl *http.Client, opts Options, url string, du time.Duration, want answerCheck) (*measurement, error) {
	w := uint64(opts.Workers)
	atk := vegeta.NewAttacker(vegeta.Client(cl), vegeta.Workers(w), vegeta.MaxWorkers(w))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()

	m := &measurement{}
	var n uint64
	for r := range atk.Attack(vegeta.NewStaticTargeter(request(url)), vegeta.Rate{Freq: 0}, du, "") {
		n++
		if n == opts.MaxRequests {
			atk.Stop()
		}
		switch {
		case r.Code == 0:
			m.transportErr++
		case int(r.Code) != want.status:
			m.non200++
			if m.firstError == "" && r.Error == "" {
				m.firstError = fmt.Sprintf("status %d: %.200q", r.Code, r.Body)
			}
		default:
			if msg := want.body(r.Body); msg != "" {
				m.bodyMismatch++
				if m.firstError == "" {
					m.firstError = msg
				}
			} else {
				m.ok++
			}
		}
		if r.Error != "" && m.firstError == "" {
			m.firstError = r.Error
		}
		r.Body = nil // the metrics need no body
		m.metrics.Add(r)
	}
	m.metrics.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// newClient returns a keep-alive HTTP/1.1 client with at most conns
// connections, no proxy, and no redirects followed.
func newClient(conns int) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{
		Transport:     dropSeqHeader{tr},
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dropSeqHeader removes the X-Vegeta-Seq header vegeta adds to every
// request: the example webhook echoes request headers, so the header would
// make every answer different (and longer than the bare handler's).
type dropSeqHeader struct{ *http.Transport }

// RoundTrip implements http.RoundTripper on a copy of req without the header.
func (d dropSeqHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	r := *req
	r.Header = req.Header.Clone()
	r.Header.Del("X-Vegeta-Seq")
	return d.Transport.RoundTrip(&r)
}
