package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// Report is the outcome of one load run.
type Report struct {
	Workers    int           `json:"workers"`
	Warmup     time.Duration `json:"-"`
	Duration   time.Duration `json:"-"`
	WarmupS    float64       `json:"warmup_s"`
	DurationS  float64       `json:"duration_s"`
	GOMAXPROCS int           `json:"gomaxprocs"`
	NumCPU     int           `json:"num_cpu"`
	GoVersion  string        `json:"go_version"`
	// JobWorkers is the job workers of each hookhost target.
	JobWorkers int `json:"job_workers"`
	// BodyBytes is the size of every request's JSON body (0: none).
	BodyBytes int `json:"body_bytes,omitempty"`
	// Rounds is how many times every target ran; each figure of Results is
	// the median over the rounds (PerRound has them all).
	Rounds   int        `json:"rounds"`
	Results  []Result   `json:"targets"`
	PerRound [][]Result `json:"per_round,omitempty"`
}

// Result is one target's measured attack.
type Result struct {
	Target string `json:"target"`
	// Skipped is why the target was not measured ("" when it was).
	Skipped string `json:"skipped,omitempty"`

	// ExtensionProcess is the command line of the extension process that
	// answered (out-of-process target only).
	ExtensionProcess string `json:"extension_process,omitempty"`

	// The probe's answer.
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	BodyBytes   int    `json:"body_bytes,omitempty"`

	// Requests is every request sent in the measured attack; OK those
	// answered 200 with the expected bytes.
	Requests uint64 `json:"requests"`
	OK       uint64 `json:"ok"`
	// Errors is TransportErrors + Non200 + BodyMismatch.
	Errors          uint64 `json:"errors"`
	TransportErrors uint64 `json:"transport_errors"`
	Non200          uint64 `json:"non_200"`
	BodyMismatch    uint64 `json:"body_mismatch"`
	FirstError      string `json:"first_error,omitempty"`

	// Elapsed is from the first request sent to the last answer received.
	Elapsed time.Duration `json:"-"`
	// ReqPerSec is OK / Elapsed.
	ReqPerSec float64       `json:"req_per_s"`
	P50       time.Duration `json:"-"`
	P90       time.Duration `json:"-"`
	P99       time.Duration `json:"-"`
	Max       time.Duration `json:"-"`
	// Ratio is ReqPerSec / the bare handler's ReqPerSec (0 without it).
	Ratio float64 `json:"ratio_vs_bare,omitempty"`
	// P99vsBare is P99 / the bare handler's P99 in the same round (0
	// without it): the issue's own reading of a tail at the maximum rate,
	// where both wait in their own queues (Paced.P99vsBare compares them
	// at one offered load).
	P99vsBare float64 `json:"p99_vs_bare,omitempty"`
	// RatioVsSQLite is, for a -pg target, ReqPerSec / the same target's
	// ReqPerSec on SQLite in this run (0 without it).
	RatioVsSQLite float64 `json:"ratio_vs_sqlite,omitempty"`

	// CPUPerReq is the CPU time (user + system) of the server process and
	// its extension processes during the measured attack, divided by OK:
	// the server side's cost of one request, whatever the machine's load.
	CPUPerReq time.Duration `json:"-"`
	// CPUvsBare is CPUPerReq / the bare handler's CPUPerReq in the same
	// round.
	CPUvsBare float64 `json:"cpu_vs_bare,omitempty"`
	// DBCPUPerReq is, for a -pg target, the CPU time of every postgres
	// process on the machine during the measured attack, divided by OK:
	// PostgreSQL's share of a request, which CPUPerReq leaves out. It
	// includes the work of any other client of the same server meanwhile.
	DBCPUPerReq time.Duration `json:"-"`
	// WALRecordsPerReq and WALBytesPerReq are the WAL the PostgreSQL
	// server wrote during the measured attack (pg_stat_wal, every
	// database), divided by OK.
	WALRecordsPerReq float64 `json:"wal_records_per_req,omitempty"`
	WALBytesPerReq   float64 `json:"wal_bytes_per_req,omitempty"`
	// DBCPUPerJob, WALRecordsPerJob and WALBytesPerJob are, for the
	// jobs-pg target, PostgreSQL's CPU (as DBCPUPerReq) and WAL over the
	// measured attack and the drain after it, divided by OK (the durable
	// 202s of the attack): the queue is empty when the attack starts
	// (measureJobs waits for the warm-up's jobs) and again when the drain
	// ends, so the window holds every statement of exactly those jobs,
	// from intake to completion, and none of any other. The per-202
	// figures above count the attack alone: its intake, and whatever
	// share of the jobs the workers completed meanwhile, so a build whose
	// workers keep up better shows more PostgreSQL work per 202 for the
	// same work per job. These compare builds fairly. They also include
	// the drain's polling of the admin API (three listings every 200 ms)
	// and PostgreSQL's background processes while it idles at the end (up
	// to 200 ms), but not the listing of every job after it; zero when the
	// queue did not drain in time (and such a round is left out of the
	// median).
	DBCPUPerJob      time.Duration `json:"-"`
	WALRecordsPerJob float64       `json:"wal_records_per_job,omitempty"`
	WALBytesPerJob   float64       `json:"wal_bytes_per_job,omitempty"`
	// RSS and PSS are the peak resident and proportional set sizes of the
	// server and its extension processes together, sampled every 200 ms
	// during the measured attack (at the end, for the idle target).
	RSS uint64 `json:"rss_bytes,omitempty"`
	PSS uint64 `json:"pss_bytes,omitempty"`
	// Startup is from the server's exec to /readyz answering 200.
	Startup time.Duration `json:"-"`
	// IdleCPU is, for the idle target, the share of one core the server
	// and its extension used while idle.
	IdleCPU float64 `json:"idle_cpu_cores,omitempty"`

	// Jobs are a job target's jobs once the queue drained. For a job
	// target the request figures above are durable 202s.
	Jobs *JobStats `json:"jobs,omitempty"`

	// Paced is the latency attack at Options.LatencyRate (nil without one).
	Paced *Paced `json:"paced,omitempty"`

	// Millisecond copies of the durations, for JSON.
	ElapsedS float64 `json:"elapsed_s"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	CPUus    float64 `json:"cpu_per_req_us,omitempty"`
	DBCPUus  float64 `json:"db_cpu_per_req_us,omitempty"`
	DBJobus  float64 `json:"db_cpu_per_job_us,omitempty"`
	StartMs  float64 `json:"startup_ms,omitempty"`
}

// Paced is a target's attack at a fixed rate: its latencies at the same
// offered load as every other target's, where the maximum-rate attack's
// p99 mostly measures each target's own queue (64 connections waiting on
// a server at its capacity).
type Paced struct {
	// Rate is the offered rate, requests per second.
	Rate int `json:"rate"`
	// Achieved is the answers that were right per second; below Rate when
	// the target could not keep up (its latencies then include queueing).
	Achieved float64       `json:"achieved_per_s"`
	Errors   uint64        `json:"errors"`
	P50      time.Duration `json:"-"`
	P99      time.Duration `json:"-"`
	Max      time.Duration `json:"-"`
	// P99vsBare is P99 / the bare handler's paced P99 in the same round.
	P99vsBare float64 `json:"p99_vs_bare,omitempty"`
	// CPUPerReq is the CPU time of the server and its extension processes
	// during the attack per right answer: at a moderate rate a request
	// costs more than at the maximum (each wakes threads that a loaded
	// server finds running), and that is where a P count or a hand-off
	// between goroutines shows.
	CPUPerReq time.Duration `json:"-"`

	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	CPUus float64 `json:"cpu_per_req_us,omitempty"`
}

// pacedOf summarises a fixed-rate attack, whose server and extension
// processes used cpu meanwhile.
func pacedOf(m *measurement, rate int, cpu time.Duration) *Paced {
	p := &Paced{
		Rate:   rate,
		Errors: m.transportErr + m.non200 + m.bodyMismatch,
		P50:    m.metrics.Latencies.P50,
		P99:    m.metrics.Latencies.P99,
		Max:    m.metrics.Latencies.Max,
	}
	if el := m.metrics.Duration + m.metrics.Wait; el > 0 {
		p.Achieved = float64(m.ok) / el.Seconds()
	}
	if m.ok > 0 {
		p.CPUPerReq = cpu / time.Duration(m.ok)
	}
	p.setMillis()
	return p
}

// setMillis fills the JSON copies of the durations.
func (p *Paced) setMillis() {
	p.P50ms, p.P99ms, p.MaxMs = ms(p.P50), ms(p.P99), ms(p.Max)
	p.CPUus = float64(p.CPUPerReq) / float64(time.Microsecond)
}

// fill copies a measurement into r.
func (r *Result) fill(m *measurement) {
	r.Requests = m.metrics.Requests
	r.OK = m.ok
	r.TransportErrors = m.transportErr
	r.Non200 = m.non200
	r.BodyMismatch = m.bodyMismatch
	r.Errors = m.transportErr + m.non200 + m.bodyMismatch
	r.FirstError = m.firstError
	r.Elapsed = m.metrics.Duration + m.metrics.Wait
	if r.Elapsed > 0 {
		r.ReqPerSec = float64(m.ok) / r.Elapsed.Seconds()
	}
	r.P50 = m.metrics.Latencies.P50
	r.P90 = m.metrics.Latencies.P90
	r.P99 = m.metrics.Latencies.P99
	r.Max = m.metrics.Latencies.Max
	r.ElapsedS = r.Elapsed.Seconds()
	r.P50ms = ms(r.P50)
	r.P90ms = ms(r.P90)
	r.P99ms = ms(r.P99)
	r.MaxMs = ms(r.Max)
	if m.ok > 0 {
		r.CPUPerReq = m.cpu / time.Duration(m.ok)
		r.DBCPUPerReq = m.dbCPU / time.Duration(m.ok)
		r.WALRecordsPerReq = float64(m.wal.records) / float64(m.ok)
		r.WALBytesPerReq = float64(m.wal.bytes) / float64(m.ok)
		if m.jobsCPU > 0 || m.jobsWAL.records > 0 {
			r.DBCPUPerJob = m.jobsCPU / time.Duration(m.ok)
			r.WALRecordsPerJob = float64(m.jobsWAL.records) / float64(m.ok)
			r.WALBytesPerJob = float64(m.jobsWAL.bytes) / float64(m.ok)
		}
	}
	r.RSS, r.PSS = m.rss, m.pss
	r.setMillis()
}

// setMillis fills the JSON copies of the durations.
func (r *Result) setMillis() {
	r.ElapsedS = r.Elapsed.Seconds()
	r.P50ms, r.P90ms, r.P99ms, r.MaxMs = ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max)
	r.CPUus = float64(r.CPUPerReq) / float64(time.Microsecond)
	r.DBCPUus = float64(r.DBCPUPerReq) / float64(time.Microsecond)
	r.DBJobus = float64(r.DBCPUPerJob) / float64(time.Microsecond)
	r.StartMs = ms(r.Startup)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sqliteTwin is the SQLite target a -pg target is compared with.
var sqliteTwin = map[string]string{targetInProcessPG: targetInProcess, targetJobsPG: targetJobs}

// computeRatios sets, in one round's results, every measured result's
// Ratio and CPUvsBare against the bare handler, and the -pg targets'
// RatioVsSQLite.
func computeRatios(rs []Result) {
	find := func(t string) *Result {
		for i := range rs {
			if rs[i].Target == t && rs[i].Skipped == "" {
				return &rs[i]
			}
		}
		return nil
	}
	bare := find(targetBare)
	for i := range rs {
		r := &rs[i]
		if r.Skipped != "" {
			continue
		}
		if twin := find(sqliteTwin[r.Target]); twin != nil && twin.ReqPerSec > 0 {
			r.RatioVsSQLite = r.ReqPerSec / twin.ReqPerSec
		}
		if bare != nil && bare.ReqPerSec > 0 && r.ReqPerSec > 0 {
			r.Ratio = r.ReqPerSec / bare.ReqPerSec
		}
		if bare != nil && bare.P99 > 0 && r.P99 > 0 && r.Target != targetIdle {
			r.P99vsBare = float64(r.P99) / float64(bare.P99)
		}
		if bare != nil && bare.CPUPerReq > 0 && r.CPUPerReq > 0 {
			r.CPUvsBare = float64(r.CPUPerReq) / float64(bare.CPUPerReq)
		}
		if bare != nil && bare.Paced != nil && bare.Paced.P99 > 0 && r.Paced != nil {
			r.Paced.P99vsBare = float64(r.Paced.P99) / float64(bare.Paced.P99)
		}
	}
}

// medians folds the rounds into one result per target: every figure is the
// median over the rounds that measured it (the lower middle one for an
// even count), errors are summed, the rest comes from the first round.
func medians(rounds [][]Result) []Result {
	if len(rounds) == 0 {
		return nil
	}
	out := slices.Clone(rounds[0])
	if len(rounds) == 1 {
		return out
	}
	for i := range out {
		var all []Result
		for _, rs := range rounds {
			if i < len(rs) && rs[i].Skipped == "" {
				all = append(all, rs[i])
			}
		}
		if len(all) == 0 {
			continue
		}
		r := &out[i]
		r.Skipped = ""
		med := func(f func(*Result) float64) float64 {
			return median(all, f)
		}
		dur := func(f func(*Result) time.Duration) time.Duration {
			return time.Duration(med(func(r *Result) float64 { return float64(f(r)) }))
		}
		r.ReqPerSec = med(func(r *Result) float64 { return r.ReqPerSec })
		r.Ratio = med(func(r *Result) float64 { return r.Ratio })
		r.P99vsBare = med(func(r *Result) float64 { return r.P99vsBare })
		r.RatioVsSQLite = med(func(r *Result) float64 { return r.RatioVsSQLite })
		r.CPUvsBare = med(func(r *Result) float64 { return r.CPUvsBare })
		r.IdleCPU = med(func(r *Result) float64 { return r.IdleCPU })
		r.Requests = uint64(med(func(r *Result) float64 { return float64(r.Requests) }))
		r.OK = uint64(med(func(r *Result) float64 { return float64(r.OK) }))
		r.RSS = uint64(med(func(r *Result) float64 { return float64(r.RSS) }))
		r.PSS = uint64(med(func(r *Result) float64 { return float64(r.PSS) }))
		r.P50 = dur(func(r *Result) time.Duration { return r.P50 })
		r.P90 = dur(func(r *Result) time.Duration { return r.P90 })
		r.P99 = dur(func(r *Result) time.Duration { return r.P99 })
		r.Max = dur(func(r *Result) time.Duration { return r.Max })
		r.Elapsed = dur(func(r *Result) time.Duration { return r.Elapsed })
		r.CPUPerReq = dur(func(r *Result) time.Duration { return r.CPUPerReq })
		r.DBCPUPerReq = dur(func(r *Result) time.Duration { return r.DBCPUPerReq })
		r.WALRecordsPerReq = med(func(r *Result) float64 { return r.WALRecordsPerReq })
		r.WALBytesPerReq = med(func(r *Result) float64 { return r.WALBytesPerReq })
		// A round whose waits ran out has no per-job figures (zero): the
		// median is of the rounds that have them.
		var perJob []Result
		for _, a := range all {
			if a.DBCPUPerJob > 0 || a.WALRecordsPerJob > 0 {
				perJob = append(perJob, a)
			}
		}
		if len(perJob) > 0 {
			r.DBCPUPerJob = time.Duration(median(perJob, func(r *Result) float64 { return float64(r.DBCPUPerJob) }))
			r.WALRecordsPerJob = median(perJob, func(r *Result) float64 { return r.WALRecordsPerJob })
			r.WALBytesPerJob = median(perJob, func(r *Result) float64 { return r.WALBytesPerJob })
		} else {
			r.DBCPUPerJob, r.WALRecordsPerJob, r.WALBytesPerJob = 0, 0, 0
		}
		r.Startup = dur(func(r *Result) time.Duration { return r.Startup })
		r.Paced = pacedMedian(all)
		r.Errors, r.TransportErrors, r.Non200, r.BodyMismatch = 0, 0, 0, 0
		for _, a := range all {
			r.Errors += a.Errors
			r.TransportErrors += a.TransportErrors
			r.Non200 += a.Non200
			r.BodyMismatch += a.BodyMismatch
			if r.FirstError == "" {
				r.FirstError = a.FirstError
			}
		}
		r.setMillis()
	}
	return out
}

// median is the median of f over xs (the lower middle one for an even
// count); xs must not be empty.
func median[T any](xs []T, f func(*T) float64) float64 {
	v := make([]float64, len(xs))
	for i := range xs {
		v[i] = f(&xs[i])
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}

// pacedMedian is the median of the rounds' fixed-rate attacks, figure by
// figure, with their errors summed (nil when no round had one).
func pacedMedian(all []Result) *Paced {
	var ps []*Paced
	for i := range all {
		if all[i].Paced != nil {
			ps = append(ps, all[i].Paced)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	med := func(f func(*Paced) float64) float64 {
		return median(ps, func(p **Paced) float64 { return f(*p) })
	}
	out := &Paced{
		Rate:      ps[0].Rate,
		Achieved:  med(func(p *Paced) float64 { return p.Achieved }),
		P50:       time.Duration(med(func(p *Paced) float64 { return float64(p.P50) })),
		P99:       time.Duration(med(func(p *Paced) float64 { return float64(p.P99) })),
		Max:       time.Duration(med(func(p *Paced) float64 { return float64(p.Max) })),
		P99vsBare: med(func(p *Paced) float64 { return p.P99vsBare }),
		CPUPerReq: time.Duration(med(func(p *Paced) float64 { return float64(p.CPUPerReq) })),
	}
	for _, p := range ps {
		out.Errors += p.Errors
	}
	out.setMillis()
	return out
}

// computeRatios fills the report's JSON copies of its durations.
func (rep *Report) computeRatios() {
	rep.WarmupS = rep.Warmup.Seconds()
	rep.DurationS = rep.Duration.Seconds()
}

// Result returns the result of the named target, or nil.
func (rep *Report) Result(target string) *Result {
	for i := range rep.Results {
		if rep.Results[i].Target == target {
			return &rep.Results[i]
		}
	}
	return nil
}

// WriteTable writes the report as an aligned table.
func (rep *Report) WriteTable(w io.Writer) error {
	body := ""
	if rep.BodyBytes > 0 {
		body = fmt.Sprintf(" and a %d-byte JSON body", rep.BodyBytes)
	}
	fmt.Fprintf(w, "load: POST ?key=value with X-CustomHeader: true%s, %d keep-alive connections, max rate, %s warm-up + %s measured per target",
		body, rep.Workers, rep.Warmup, rep.Duration)
	if rep.Rounds > 1 {
		fmt.Fprintf(w, "; %d rounds, every figure the median of its rounds", rep.Rounds)
	}
	fmt.Fprintf(w, "\nmachine: GOMAXPROCS=%d NumCPU=%d %s; every server is a process of its own (hookhost serve, or the bare handler), the load comes from this one, all on these cores\n\n",
		rep.GOMAXPROCS, rep.NumCPU, rep.GoVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trequests\treq/s\tp50\tp99\tp99 vs bare\terrors\tvs bare\tcpu/req\tcpu vs bare\tRSS\tPSS\tstart\t")
	for _, r := range rep.Results {
		if r.Skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t\n", r.Target)
			continue
		}
		mem := func(b uint64) string { return dash(b > 0, fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))) }
		start := dash(r.Startup > 0, round(r.Startup).String())
		if r.Target == targetIdle {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t%s\t-\t%s\t%s\t%s\t\n",
				r.Target, fmt.Sprintf("%.2f%%core", 100*r.IdleCPU), mem(r.RSS), mem(r.PSS), start)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Target, r.Requests, r.ReqPerSec, round(r.P50), round(r.P99),
			dash(r.P99vsBare > 0, strconv.FormatFloat(r.P99vsBare, 'f', 2, 64)+"x"), r.Errors,
			dash(r.Ratio > 0, strconv.FormatFloat(r.Ratio, 'f', 2, 64)+"x"),
			micros(r.CPUPerReq),
			dash(r.CPUvsBare > 0, strconv.FormatFloat(r.CPUvsBare, 'f', 2, 64)+"x"),
			mem(r.RSS), mem(r.PSS), start)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := rep.writePaced(w); err != nil {
		return err
	}
	for _, r := range rep.Results {
		switch {
		case r.Skipped != "":
			fmt.Fprintf(w, "\n%s skipped: %s", r.Target, r.Skipped)
		case r.ExtensionProcess != "":
			fmt.Fprintf(w, "\n%s: automation ran in child process %q", r.Target, r.ExtensionProcess)
		case r.Target == targetIdle:
			fmt.Fprintf(w, "\n%s: default configuration (server + webhook extension), nothing to do for %s after one request", r.Target, r.Elapsed.Round(100*time.Millisecond))
		}
		if r.RatioVsSQLite > 0 {
			fmt.Fprintf(w, "\n%s: %.2fx the req/s of %s (SQLite) in this run", r.Target, r.RatioVsSQLite, sqliteTwin[r.Target])
		}
		if r.Jobs != nil {
			fmt.Fprintf(w, "\n%s: req/s are durable 202s (%d job workers); %s", r.Target, rep.JobWorkers, r.Jobs.summary())
		}
		if r.DBCPUPerReq > 0 || r.WALRecordsPerReq > 0 {
			fmt.Fprintf(w, "\n%s: PostgreSQL during the attack, per request: %.0fµs CPU (every postgres process), %.1f WAL records, %.0f WAL bytes (the whole server: other clients add to both)",
				r.Target, float64(r.DBCPUPerReq)/float64(time.Microsecond), r.WALRecordsPerReq, r.WALBytesPerReq)
		}
		if r.DBCPUPerJob > 0 || r.WALRecordsPerJob > 0 {
			fmt.Fprintf(w, "\n%s: PostgreSQL over the attack and the drain, per job (intake to completion; compare builds with this): %.0fµs CPU, %.1f WAL records, %.0f WAL bytes",
				r.Target, float64(r.DBCPUPerJob)/float64(time.Microsecond), r.WALRecordsPerJob, r.WALBytesPerJob)
		}
		if r.Errors > 0 {
			fmt.Fprintf(w, "\n%s: %d transport errors, %d non-200, %d wrong bodies; first: %s",
				r.Target, r.TransportErrors, r.Non200, r.BodyMismatch, r.FirstError)
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// writePaced writes the second table: every target's latencies at the
// fixed rate, when there was a latency attack.
func (rep *Report) writePaced(w io.Writer) error {
	rate := 0
	for _, r := range rep.Results {
		if r.Paced != nil {
			rate = r.Paced.Rate
			break
		}
	}
	if rate == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nlatency at a fixed %d req/s (open loop, at most %d in flight), %s per target: the same offered load for every target\n\n",
		rate, rep.Workers, rep.Duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tanswered/s\tp50\tp99\tmax\terrors\tp99 vs bare\tcpu/req\t")
	for _, r := range rep.Results {
		p := r.Paced
		if p == nil {
			continue
		}
		ratio := "-"
		if p.P99vsBare > 0 {
			ratio = strconv.FormatFloat(p.P99vsBare, 'f', 2, 64) + "x"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t\n",
			r.Target, p.Achieved, round(p.P50), round(p.P99), round(p.Max), p.Errors, ratio,
			micros(p.CPUPerReq))
	}
	return tw.Flush()
}

// dash is s, or "-" for a figure not measured (!ok).
func dash(ok bool, s string) string {
	if !ok {
		return "-"
	}
	return s
}

// micros is a CPU time a request for the tables, in whole µs.
func micros(d time.Duration) string {
	return dash(d > 0, fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)))
}

// round shortens a latency for the table.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
