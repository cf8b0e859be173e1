package main

import (
	"encoding/json"
	"fmt"
	"io"
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
	JobWorkers int      `json:"job_workers"`
	Results    []Result `json:"targets"`
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
	// RatioVsSQLite is, for a -pg target, ReqPerSec / the same target's
	// ReqPerSec on SQLite in this run (0 without it).
	RatioVsSQLite float64 `json:"ratio_vs_sqlite,omitempty"`

	// Jobs are a job target's jobs once the queue drained. For a job
	// target the request figures above are durable 202s.
	Jobs *JobStats `json:"jobs,omitempty"`

	// Millisecond copies of the durations, for JSON.
	ElapsedS float64 `json:"elapsed_s"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
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
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sqliteTwin is the SQLite target a -pg target is compared with.
var sqliteTwin = map[string]string{targetInProcessPG: targetInProcess, targetJobsPG: targetJobs}

// computeRatios sets every measured result's Ratio against the bare
// handler's throughput, and the -pg targets' against SQLite.
func (rep *Report) computeRatios() {
	rep.WarmupS = rep.Warmup.Seconds()
	rep.DurationS = rep.Duration.Seconds()
	for i, r := range rep.Results {
		if twin := rep.Result(sqliteTwin[r.Target]); twin != nil && r.Skipped == "" && twin.Skipped == "" && twin.ReqPerSec > 0 {
			rep.Results[i].RatioVsSQLite = r.ReqPerSec / twin.ReqPerSec
		}
	}
	var bare float64
	for _, r := range rep.Results {
		if r.Target == targetBare && r.Skipped == "" {
			bare = r.ReqPerSec
		}
	}
	if bare == 0 {
		return
	}
	for i := range rep.Results {
		if rep.Results[i].Skipped == "" {
			rep.Results[i].Ratio = rep.Results[i].ReqPerSec / bare
		}
	}
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
	fmt.Fprintf(w, "load: POST ?key=value with X-CustomHeader: true, %d keep-alive connections, max rate, %s warm-up + %s measured per target\n",
		rep.Workers, rep.Warmup, rep.Duration)
	fmt.Fprintf(w, "machine: GOMAXPROCS=%d NumCPU=%d %s; client and servers share this process and these cores\n\n",
		rep.GOMAXPROCS, rep.NumCPU, rep.GoVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trequests\treq/s\tp50\tp99\terrors\tvs bare\t")
	for _, r := range rep.Results {
		if r.Skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t\n", r.Target)
			continue
		}
		ratio := "-"
		if r.Ratio > 0 {
			ratio = strconv.FormatFloat(r.Ratio, 'f', 2, 64) + "x"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\t%s\t\n",
			r.Target, r.Requests, r.ReqPerSec, round(r.P50), round(r.P99), r.Errors, ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rep.Results {
		switch {
		case r.Skipped != "":
			fmt.Fprintf(w, "\n%s skipped: %s", r.Target, r.Skipped)
		case r.ExtensionProcess != "":
			fmt.Fprintf(w, "\n%s: automation ran in child process %q", r.Target, r.ExtensionProcess)
		}
		if r.RatioVsSQLite > 0 {
			fmt.Fprintf(w, "\n%s: %.2fx the req/s of %s (SQLite) in this run", r.Target, r.RatioVsSQLite, sqliteTwin[r.Target])
		}
		if r.Jobs != nil {
			fmt.Fprintf(w, "\n%s: req/s are durable 202s (%d job workers); %s", r.Target, rep.JobWorkers, r.Jobs.summary())
		}
		if r.Errors > 0 {
			fmt.Fprintf(w, "\n%s: %d transport errors, %d non-200, %d wrong bodies; first: %s",
				r.Target, r.TransportErrors, r.Non200, r.BodyMismatch, r.FirstError)
		}
	}
	_, err := fmt.Fprintln(w)
	return err
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
