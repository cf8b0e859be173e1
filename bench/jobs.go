package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/hookhost/hookhost/internal/pgtest"
)

// jobWorkers is the job workers of every hookhost target (hookhost's
// default), reported with the run.
const jobWorkers = 10

// benchAdminToken is the admin token of every hookhost target.
const benchAdminToken = "bench-admin-token"

// jobAutomation is the automation the job targets queue: the smallest one,
// so that the figures are the queue's, not the automation's.
const jobAutomation = "start:\n  return:\n    body: ok\n"

// jobEvent is the job targets' event KATA: a durable job, no retries.
const jobEvent = "automation/job:\n  uri: cerb:automation:bench.job\n  job:\n    max_attempts@int: 1\n"

// redactDSN hides a DSN's password for messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}

// startHookhostPG is startServe on a fresh schema of opts.Postgres.
func startHookhostPG(ctx context.Context, opts Options, pname string, args ...string) (*server, error) {
	dsn, drop, err := pgtest.Schema(ctx, opts.Postgres, "hh_bench_")
	if err != nil {
		return nil, err
	}
	srv, err := startServe(ctx, opts, pname, append([]string{"--database", dsn}, args...)...)
	if err != nil {
		drop()
		return nil, err
	}
	stop := srv.stop
	srv.stop = func() { stop(); drop() }
	srv.postgres = opts.Postgres
	return srv, nil
}

// jobAccepted checks a durable 202: {"JobIds":["<uuid>"]}.
func jobAccepted() answerCheck {
	return answerCheck{status: http.StatusAccepted, body: func(b []byte) string {
		const prefix, suffix = `{"JobIds":["`, `"]}`
		if len(b) == len(prefix)+36+len(suffix) && bytes.HasPrefix(b, []byte(prefix)) && bytes.HasSuffix(b, []byte(suffix)) {
			return ""
		}
		return fmt.Sprintf("not a 202 job answer: %.200q", b)
	}}
}

// measureJobs measures a job target: durable 202s per second while the
// server's workers run the jobs, then, once the queue has drained (or
// opts.Drain has passed), completed jobs per second and start latency, from
// the jobs' own timestamps. The warm-up's jobs finish before the measured
// attack starts, so that on PostgreSQL the work over the attack and the
// drain after it is that of the attack's jobs alone, each from its intake
// to its end (Result.DBCPUPerJob).
//
// The server runs in its default configuration (automations in the
// extension process).
func measureJobs(ctx context.Context, opts Options, name, pname string) (*Result, error) {
	res := &Result{Target: name}
	var (
		srv *server
		err error
	)
	if name == targetJobsPG {
		srv, err = startHookhostPG(ctx, opts, pname)
	} else {
		srv, err = startServe(ctx, opts, pname)
	}
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	res.Startup = srv.startup

	a := &adminClient{base: srv.base, cl: newClient(2)}
	defer a.cl.CloseIdleConnections()
	body, _ := json.Marshal(map[string]string{"name": "bench.job", "extension_id": "cerb.trigger.webhook.respond", "script": jobAutomation})
	if _, err := a.do(ctx, "POST", "/automations", "application/json", body); err != nil {
		return nil, err
	}
	raw, err := a.do(ctx, "POST", "/webhooks?name=bench-jobs", "text/plain", []byte(jobEvent))
	if err != nil {
		return nil, err
	}
	var wh struct{ Token string }
	if err := json.Unmarshal(raw, &wh); err != nil || wh.Token == "" {
		return nil, fmt.Errorf("create job webhook: %.200q", raw)
	}
	target := srv.base + "/webhooks/" + wh.Token + query

	opts.Notef("%s: probing %s", name, redactToken(target))
	pr, err := probeTarget(ctx, opts, target)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	check := jobAccepted()
	if pr.status != check.status || check.body(pr.body) != "" {
		return nil, fmt.Errorf("probe answered %d %.200q, want a 202 with JobIds", pr.status, pr.body)
	}
	res.Status, res.ContentType, res.BodyBytes = pr.status, pr.header.Get("Content-Type"), len(pr.body)

	cl := newClient(opts.Workers)
	defer cl.CloseIdleConnections()
	if opts.Warmup > 0 {
		opts.Notef("%s: warm-up %s", name, opts.Warmup)
		if _, err := attack(ctx, cl, opts, target, opts.Warmup, maxRate(), check); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	opts.Notef("%s: waiting up to %s for the probe's and warm-up's jobs to finish", name, opts.Drain)
	warmDrained, err := a.waitDrained(ctx, opts.Drain)
	if err != nil {
		return nil, err
	}

	opts.Notef("%s: measuring %s with %d connections", name, opts.Duration, opts.Workers)
	var pg *pgWatch
	if srv.postgres != "" {
		pg = watchPostgres(ctx, srv.postgres)
		defer pg.end(ctx)
	}
	attackStart := time.Now()
	m, err := measuredAttack(ctx, cl, opts, srv, target, check, pg)
	if err != nil {
		return nil, err
	}

	opts.Notef("%s: waiting up to %s for the queued jobs to finish", name, opts.Drain)
	drained, err := a.waitDrained(ctx, opts.Drain)
	if err != nil {
		return nil, err
	}
	if pg != nil {
		// Ended before the listing below, whose statements are not the
		// jobs' work.
		cpu, wal := pg.end(ctx)
		if warmDrained && drained {
			m.jobsCPU, m.jobsWAL = cpu, wal
		}
	}
	js, err := a.jobStats(ctx, drained, attackStart)
	if err != nil {
		return nil, err
	}
	res.fill(m)
	res.Jobs = js
	return res, nil
}

// adminClient calls a hookhost target's admin API.
type adminClient struct {
	base string
	cl   *http.Client
}

func (a *adminClient) do(ctx context.Context, method, path, ctype string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/api/v1"+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchAdminToken)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := a.cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %.300q", method, path, resp.StatusCode, b)
	}
	return b, nil
}

// jobRow is a job as the admin API lists it.
type jobRow struct {
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// list pages through every job (the admin API caps a page at 500). With a
// state it returns at most one job, enough to know whether there are any:
// the drain polls it every 200 ms, and reading whole pages then took about
// a tenth of the CPU the server's workers had to get through the queue.
func (a *adminClient) list(ctx context.Context, state string) ([]jobRow, error) {
	var out []jobRow
	cursor := ""
	for {
		q := url.Values{"limit": {"500"}}
		if state != "" {
			q.Set("limit", "1")
		}
		if state != "" {
			q.Set("state", state)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		b, err := a.do(ctx, "GET", "/jobs?"+q.Encode(), "", nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Jobs       []jobRow `json:"jobs"`
			NextCursor string   `json:"next_cursor"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, page.Jobs...)
		if state != "" {
			return out, nil // enough to know whether there are some
		}
		if cursor = page.NextCursor; cursor == "" {
			return out, nil
		}
	}
}

// JobStats are a job target's jobs once its queue drained.
type JobStats struct {
	// Jobs is every job queued (probe, warm-up and measured attack);
	// Completed and Unfinished split them (Unfinished: still queued or
	// running when Drain ran out; the rest ended otherwise).
	Jobs       int `json:"jobs"`
	Completed  int `json:"completed"`
	Unfinished int `json:"unfinished"`
	// Drained is false when Drain ran out before the queue was empty.
	Drained bool `json:"drained"`
	// CompletedPerSec is Completed over the time from the first start to
	// the last finish: how fast the workers got through the queue.
	CompletedPerSec float64 `json:"completed_per_s"`
	// Start latency is started_at - created_at of the completed jobs:
	// time in the queue, which grows with the backlog when jobs are
	// queued faster than they are worked.
	StartP50 time.Duration `json:"-"`
	StartP99 time.Duration `json:"-"`
	StartMax time.Duration `json:"-"`
	// Millisecond copies for JSON.
	StartP50ms float64 `json:"start_p50_ms"`
	StartP99ms float64 `json:"start_p99_ms"`
	StartMaxms float64 `json:"start_max_ms"`
}

// waitDrained waits up to within for the queue to have no job queued,
// running or retrying, and reports whether it got there.
func (a *adminClient) waitDrained(ctx context.Context, within time.Duration) (bool, error) {
	deadline := time.Now().Add(within)
	for {
		pending := 0
		for _, state := range []string{"Queued", "Running", "Retrying"} {
			l, err := a.list(ctx, state)
			if err != nil {
				return false, err
			}
			pending += len(l)
		}
		if pending == 0 {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// jobStats computes the job figures of the jobs created at or after since
// (the measured attack's: not the probe's or the warm-up's, which finished
// before it), once the queue has drained or the wait for it ran out.
func (a *adminClient) jobStats(ctx context.Context, drained bool, since time.Time) (*JobStats, error) {
	st := &JobStats{Drained: drained}
	rows, err := a.list(ctx, "")
	if err != nil {
		return nil, err
	}
	var first, last time.Time
	var waits []time.Duration
	for _, r := range rows {
		if r.CreatedAt.Before(since) {
			continue
		}
		st.Jobs++
		switch r.State {
		case "Completed":
		case "Queued", "Running", "Retrying":
			st.Unfinished++
			continue
		default:
			continue
		}
		if r.StartedAt == nil || r.FinishedAt == nil {
			continue
		}
		st.Completed++
		waits = append(waits, r.StartedAt.Sub(r.CreatedAt))
		if first.IsZero() || r.StartedAt.Before(first) {
			first = *r.StartedAt
		}
		if r.FinishedAt.After(last) {
			last = *r.FinishedAt
		}
	}
	if span := last.Sub(first); span > 0 {
		st.CompletedPerSec = float64(st.Completed) / span.Seconds()
	}
	if len(waits) > 0 {
		slices.Sort(waits)
		pct := func(p float64) time.Duration { return waits[min(len(waits)-1, int(p*float64(len(waits))))] }
		st.StartP50, st.StartP99, st.StartMax = pct(0.50), pct(0.99), waits[len(waits)-1]
		st.StartP50ms, st.StartP99ms, st.StartMaxms = ms(st.StartP50), ms(st.StartP99), ms(st.StartMax)
	}
	return st, nil
}

// jobsSummary is one line about a job target's jobs for the table.
func (st *JobStats) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d jobs, %d completed at %.0f/s, start latency p50 %s p99 %s max %s",
		st.Jobs, st.Completed, st.CompletedPerSec, round(st.StartP50), round(st.StartP99), round(st.StartMax))
	if !st.Drained {
		fmt.Fprintf(&b, "; %d still queued or running when the drain wait ran out", st.Unfinished)
	}
	return b.String()
}
