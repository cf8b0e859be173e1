package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	// targetErrorsOnly is outofprocess with the example's event KATA
	// keeping failed runs only (history: record: errors).
	targetErrorsOnly = "outofprocess-errors"
	targetJobs       = "jobs"
	targetJobsPG     = "jobs-pg"
	targetIdle       = "idle"
)

// allTargets lists every target in report order.
func allTargets() []string {
	return []string{targetBare, targetOutOfProcess, targetErrorsOnly, targetInProcess, targetInProcessPG, targetJobs, targetJobsPG, targetIdle}
}

// postgresTarget reports whether target runs hookhost on PostgreSQL.
func postgresTarget(target string) bool {
	return target == targetInProcessPG || target == targetJobsPG
}

// Options configure a load run.
type Options struct {
	// Targets to measure, a subset of allTargets.
	Targets []string
	// Rounds is how many times the whole sequence of targets runs; the
	// report gives each figure's median over the rounds. Default 1.
	Rounds int
	// Idle is how long the idle target measures an idle server. Default 10s.
	Idle time.Duration
	// ProfileDir, when set, gets a CPU profile of every server process
	// and extension process: <target>.serve.pprof, <target>.ext-<pid>.pprof
	// (with -r<round> after the target when Rounds > 1).
	ProfileDir string
	// ServerLog receives the servers' stderr (nil: discarded).
	ServerLog io.Writer
	// Warmup is the unmeasured attack before each measured one.
	Warmup time.Duration
	// Duration is the measured attack per target.
	Duration time.Duration
	// Workers is the number of vegeta workers, each on its own keep-alive
	// connection.
	Workers int
	// MaxRequests stops an attack early once it has sent this many.
	MaxRequests uint64
	// BodyBytes, when positive, is the size of a JSON body every request
	// carries (requestBody), as a webhook's payload: a GitHub push event
	// is about 7-25 KB. 0: none (the guide's curl).
	BodyBytes int
	// HookhostBin is a prebuilt hookhost binary for every hookhost target
	// (each runs as `hookhost serve`); "" builds one.
	HookhostBin string
	// Postgres is the DSN of a PostgreSQL database for the -pg targets
	// (each gets a fresh schema, dropped afterwards); "" skips them.
	Postgres string
	// Drain bounds the wait for a job target's queued jobs to finish after
	// its attack. Default 60s.
	Drain time.Duration
	// LatencyRate, when positive, adds to every target that answers
	// synchronously (all but the job and idle targets) a second measured
	// attack at this fixed rate (requests per second, open loop: requests
	// are sent on schedule whether or not earlier ones were answered), so
	// that latencies are compared at the same load rather than at each
	// target's own maximum. 0 leaves it out.
	LatencyRate int
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
		Rounds:      1,
		Idle:        10 * time.Second,
		LatencyRate: defaultLatencyRate,
	}
}

// defaultLatencyRate is the fixed rate of the latency attack: well under
// what every synchronous target sustains on a loaded 2-core machine (the
// slowest, outofprocess, answered about 6,500/s at 64 connections on the
// slowest day seen), so that queueing behind the target's own capacity
// does not decide its latency.
const defaultLatencyRate = 2000

// serverLog is where the servers' stderr goes.
func (o *Options) serverLog() io.Writer {
	if o.ServerLog == nil {
		return io.Discard
	}
	return o.ServerLog
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
	case o.Rounds < 0 || o.Rounds > 20:
		return fmt.Errorf("rounds %d must be between 1 and 20", o.Rounds)
	case o.Idle < 0:
		return fmt.Errorf("idle %s must not be negative", o.Idle)
	case o.LatencyRate < 0 || o.LatencyRate > 1_000_000:
		return fmt.Errorf("latency-rate %d must be between 0 (off) and 1000000", o.LatencyRate)
	}
	if o.Rounds == 0 {
		o.Rounds = 1
	}
	if o.Idle == 0 {
		o.Idle = 10 * time.Second
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
		BodyBytes:  opts.BodyBytes,
	}

	if needsHookhost(opts.Targets) && opts.HookhostBin == "" {
		dir, err := os.MkdirTemp("", "hookhost-bench-bin-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		opts.HookhostBin = filepath.Join(dir, "hookhost")
		opts.Notef("building the hookhost binary")
		if reason := buildHookhost(ctx, opts.HookhostBin); reason != "" {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, errors.New(reason)
		}
	}

	// The bare handler answers the bytes and headers the example webhook
	// answers, so capture them first from a throwaway in-process server.
	var ref *probe
	if slices.Contains(opts.Targets, targetBare) {
		opts.Notef("capturing the example webhook's answer for the bare handler")
		tgt, err := startServe(ctx, opts, "capture", "--in-process")
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

	rounds := make([][]Result, opts.Rounds)
	for round := range rounds {
		for _, name := range allTargets() {
			if !slices.Contains(opts.Targets, name) {
				continue
			}
			if opts.Rounds > 1 {
				opts.Notef("round %d of %d: %s", round+1, opts.Rounds, name)
			}
			res, err := measureTarget(ctx, opts, name, ref, round)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if res.Skipped != "" && round == 0 {
				opts.Notef("%s skipped: %s", name, res.Skipped)
			}
			rounds[round] = append(rounds[round], *res)
		}
		computeRatios(rounds[round])
	}
	rep.Rounds = opts.Rounds
	if opts.Rounds > 1 {
		rep.PerRound = rounds
	}
	rep.Results = medians(rounds)
	rep.computeRatios()
	return rep, nil
}

// needsHookhost reports whether a target runs hookhost (all but bare).
func needsHookhost(targets []string) bool {
	return slices.ContainsFunc(targets, func(t string) bool { return t != targetBare })
}

// server is a target being served on 127.0.0.1.
type server struct {
	url     string // the full URL to POST to, with ?key=value
	base    string // http://<addr> of a hookhost server ("" for bare)
	stop    func()
	proc    procTree      // the server process and its extensions
	startup time.Duration // exec to /readyz answering 200
	// postgres is the DSN of the PostgreSQL server of a -pg target ("" for
	// the others): its CPU and WAL are measured during the attack.
	postgres string
}

// profileName is the file name prefix of a target's profiles.
func profileName(opts Options, name string, round int) string {
	if opts.Rounds > 1 {
		return fmt.Sprintf("%s-r%d", name, round+1)
	}
	return name
}

// measureTarget starts one target, checks its answer, warms it up, measures
// it and stops it.
func measureTarget(ctx context.Context, opts Options, name string, ref *probe, round int) (*Result, error) {
	res := &Result{Target: name}
	var (
		srv *server
		err error
	)
	if postgresTarget(name) && opts.Postgres == "" {
		res.Skipped = "no PostgreSQL: set HOOKHOST_TEST_POSTGRES or -postgres to a DSN"
		return res, nil
	}
	pname := profileName(opts, name, round)
	switch name {
	case targetBare:
		srv, err = startBare(ctx, opts, ref)
	case targetInProcess:
		srv, err = startServe(ctx, opts, pname, "--in-process")
	case targetInProcessPG:
		srv, err = startHookhostPG(ctx, opts, pname, "--in-process")
	case targetJobs, targetJobsPG:
		return measureJobs(ctx, opts, name, pname)
	case targetIdle:
		return measureIdle(ctx, opts, pname)
	case targetOutOfProcess, targetErrorsOnly:
		if reason := checkExtServe(ctx, opts.HookhostBin); reason != "" {
			res.Skipped = reason
			return res, ctx.Err()
		}
		srv, err = startServe(ctx, opts, pname)
	}
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if name == targetErrorsOnly {
		if srv.url, err = createErrorsOnlyWebhook(ctx, srv); err != nil {
			return nil, err
		}
	}
	res.Startup = srv.startup

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
	if name == targetOutOfProcess || name == targetErrorsOnly {
		cmdline, skip := checkExtensionProcess(srv)
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
		if _, err := attack(ctx, cl, opts, srv.url, opts.Warmup, maxRate(), sameAnswer(pr.body)); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	opts.Notef("%s: measuring %s with %d connections", name, opts.Duration, opts.Workers)
	var pg *pgWatch
	if srv.postgres != "" {
		pg = watchPostgres(ctx, srv.postgres)
	}
	m, err := measuredAttack(ctx, cl, opts, srv, srv.url, sameAnswer(pr.body), pg)
	if pg != nil {
		pg.end(ctx)
	}
	if err != nil {
		return nil, err
	}
	res.fill(m)
	if opts.LatencyRate > 0 {
		// What the maximum-rate attack left (run records still queued,
		// say) is done before the paced attack's CPU is counted.
		if err := pause(ctx, time.Second); err != nil {
			return nil, err
		}
		opts.Notef("%s: latency at a fixed %d req/s for %s", name, opts.LatencyRate, opts.Duration)
		cpu0 := srv.proc.cpu()
		lm, err := attack(ctx, cl, opts, srv.url, opts.Duration, fixedRate(opts.LatencyRate), sameAnswer(pr.body))
		if err != nil {
			return nil, fmt.Errorf("latency attack: %w", err)
		}
		res.Paced = pacedOf(lm, opts.LatencyRate, srv.proc.cpu()-cpu0)
	}
	return res, nil
}

// maxRate is vegeta's "as fast as the workers go".
func maxRate() vegeta.Rate { return vegeta.Rate{Freq: 0} }

// fixedRate is perSec requests per second.
func fixedRate(perSec int) vegeta.Rate { return vegeta.Rate{Freq: perSec, Per: time.Second} }

// measuredAttack is attack for opts.Duration, plus the server's CPU time
// and peak memory meanwhile (server and extension processes together),
// and for a -pg target PostgreSQL's CPU and WAL from pg's start to the
// attack's end (pg: nil for the other targets; the caller starts it just
// before and ends it).
func measuredAttack(ctx context.Context, cl *http.Client, opts Options, srv *server, url string, want answerCheck, pg *pgWatch) (*measurement, error) {
	mem := sampleMem(srv.proc, 200*time.Millisecond)
	cpu0 := srv.proc.cpu()
	m, err := attack(ctx, cl, opts, url, opts.Duration, maxRate(), want)
	cpu1 := srv.proc.cpu()
	rss, pss := mem.end()
	if pg != nil && err == nil {
		m.dbCPU, m.wal = pg.read(ctx)
	}
	if err != nil {
		return nil, err
	}
	m.cpu, m.rss, m.pss = cpu1-cpu0, rss, pss
	return m, nil
}

// measureIdle starts hookhost in its default configuration, answers one
// request (so that the extension has run), lets it settle, and measures
// the CPU its processes use while nothing happens for opts.Idle.
func measureIdle(ctx context.Context, opts Options, pname string) (*Result, error) {
	res := &Result{Target: targetIdle}
	srv, err := startServe(ctx, opts, pname)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	res.Startup = srv.startup
	pr, err := probeTarget(ctx, opts, srv.url)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	if err := checkExampleAnswer(pr); err != nil {
		return nil, err
	}
	res.Status, res.ContentType, res.BodyBytes = pr.status, pr.header.Get("Content-Type"), len(pr.body)
	opts.Notef("%s: measuring %s of an idle server and its extension", targetIdle, opts.Idle)
	if err := pause(ctx, time.Second); err != nil { // settle
		return nil, err
	}
	cpu0, t0 := srv.proc.cpu(), time.Now()
	if err := pause(ctx, opts.Idle); err != nil {
		return nil, err
	}
	cpu1, elapsed := srv.proc.cpu(), time.Since(t0)
	res.IdleCPU = float64(cpu1-cpu0) / float64(elapsed)
	res.RSS, res.PSS = srv.proc.mem()
	res.Elapsed = elapsed
	return res, nil
}

// pause waits d, or until ctx ends (its error).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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

// request is the one request every target gets: the Cerb guide's curl,
// with a JSON body of bodyBytes bytes when that is positive.
func request(url string, bodyBytes int) vegeta.Target {
	t := vegeta.Target{Method: http.MethodPost, URL: url, Header: http.Header{"X-CustomHeader": {"true"}}}
	if bodyBytes > 0 {
		t.Body = requestBody(bodyBytes)
		t.Header.Set("Content-Type", "application/json")
	}
	return t
}

// requestBody is a JSON document of n bytes (at least 2): an array of
// commit-like objects, as a push event holds, cut and closed to size.
func requestBody(n int) []byte {
	const item = `{"id":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d","message":"Fix the \"edge\" case","author":{"name":"Octo Cat","email":"octocat@example.com"},"added":[],"modified":["README.md"]}`
	b := make([]byte, 0, n)
	b = append(b, '[')
	for len(b)+len(item)+2 <= n {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, item...)
	}
	b = append(b, ']')
	for len(b) < n {
		b = append(b[:len(b)-1], ' ', ']')
	}
	return b
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
	for r := range atk.Attack(vegeta.NewStaticTargeter(request(url, opts.BodyBytes)), hitsPacer(1), 30*time.Second, "") {
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

	// The server's (and its extensions') CPU time during the attack and
	// their peak memory, from /proc (zero where it cannot be read).
	cpu      time.Duration
	rss, pss uint64
	// For a -pg target, the CPU time of every postgres process and the
	// WAL the PostgreSQL server wrote during the attack (pgstat.go).
	dbCPU time.Duration
	wal   walStat
	// For a -pg job target whose queue drained, the same over the attack
	// and the drain after it (jobsCPU zero otherwise).
	jobsCPU time.Duration
	jobsWAL walStat
}

// attack runs one attack at rate (maxRate: as fast as opts.Workers workers
// go, each on its own connection; otherwise at most opts.Workers requests in
// flight) for du or opts.MaxRequests requests, whichever comes first, and
// checks every answer with want.
func attack(ctx context.Context, cl *http.Client, opts Options, url string, du time.Duration, rate vegeta.Rate, want answerCheck) (*measurement, error) {
	w := uint64(opts.Workers)
	atk := vegeta.NewAttacker(vegeta.Client(cl), vegeta.Workers(w), vegeta.MaxWorkers(w))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()

	m := &measurement{}
	var n uint64
	for r := range atk.Attack(vegeta.NewStaticTargeter(request(url, opts.BodyBytes)), rate, du, "") {
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

// errorsOnlyEvent is the example webhook's event KATA keeping failed runs
// and refused requests only in the run history.
const errorsOnlyEvent = "history:\n  record: errors\nautomation/webhook:\n  uri: cerb:automation:example.webhook.respond\n"

// createErrorsOnlyWebhook creates, through the admin API, a webhook that
// runs the example's automation with errorsOnlyEvent, and returns its URL
// with the load's query.
func createErrorsOnlyWebhook(ctx context.Context, srv *server) (string, error) {
	a := &adminClient{base: srv.base, cl: newClient(1)}
	defer a.cl.CloseIdleConnections()
	raw, err := a.do(ctx, "POST", "/webhooks?name=bench-errors-only", "text/plain", []byte(errorsOnlyEvent))
	if err != nil {
		return "", err
	}
	var wh struct{ Token string }
	if err := json.Unmarshal(raw, &wh); err != nil || wh.Token == "" {
		return "", fmt.Errorf("create errors-only webhook: %.200q", raw)
	}
	return srv.base + "/webhooks/" + wh.Token + query, nil
}
