package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMain serves the bare handler when the harness re-executes the test
// binary for it (startBare).
func TestMain(m *testing.M) {
	if os.Getenv(envBare) == "1" {
		if err := serveBare(); err != nil {
			os.Stderr.WriteString("bench: bare handler: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// The hookhost binary the tests' servers run, built once.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  string
)

// hookhostBin builds cmd/hookhost once for every test of the package.
func hookhostBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookhost-bench-test-")
		if err != nil {
			binErr = err.Error()
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "hookhost")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		binErr = buildHookhost(ctx, binPath)
	})
	if binErr != "" {
		t.Fatal(binErr)
	}
	return binPath
}

// seedOptions is a short load run: it checks the harness and the answers,
// not the speed (no timing thresholds here; see make bench).
func seedOptions(t *testing.T, targets ...string) Options {
	t.Helper()
	return Options{
		Targets:     targets,
		Warmup:      100 * time.Millisecond,
		Duration:    300 * time.Millisecond,
		Workers:     4,
		MaxRequests: 100_000,
		Postgres:    os.Getenv("HOOKHOST_TEST_POSTGRES"),
		Drain:       time.Minute,
		Idle:        300 * time.Millisecond,
		LatencyRate: 200,
		HookhostBin: hookhostBin(t),
		Notef:       t.Logf,
	}
}

func TestRun_Seed(t *testing.T) {
	t.Parallel()
	targets := allTargets()
	if testing.Short() {
		targets = []string{targetBare, targetInProcess}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, seedOptions(t, targets...))
	require.NoError(t, err)
	require.Len(t, rep.Results, len(targets))

	for _, r := range rep.Results {
		if r.Skipped != "" {
			if postgresTarget(r.Target) {
				require.Empty(t, os.Getenv("HOOKHOST_TEST_POSTGRES"), "%s skipped with a DSN: %s", r.Target, r.Skipped)
			} else {
				require.Contains(t, []string{targetOutOfProcess, targetErrorsOnly}, r.Target, "only the out-of-process and -pg targets may be skipped")
			}
			t.Logf("%s skipped: %s", r.Target, r.Skipped)
			continue
		}
		require.Positive(t, r.Startup, r.Target)
		if r.Target == targetIdle {
			require.Equal(t, http.StatusOK, r.Status)
			require.GreaterOrEqual(t, r.IdleCPU, 0.0)
			continue
		}
		require.Equal(t, "application/json", r.ContentType, r.Target)
		if runtime.GOOS == "linux" {
			require.Positive(t, r.RSS, r.Target)
			require.Positive(t, r.PSS, r.Target)
		}
		if r.Target == targetJobs || r.Target == targetJobsPG {
			require.Nil(t, r.Paced, "%s: job targets get no latency attack", r.Target)
		} else {
			require.NotNil(t, r.Paced, "%s: no latency attack", r.Target)
			require.Equal(t, 200, r.Paced.Rate, r.Target)
			require.Zero(t, r.Paced.Errors, r.Target)
			require.Positive(t, r.Paced.Achieved, r.Target)
			require.Positive(t, r.Paced.P50, r.Target)
			require.GreaterOrEqual(t, r.Paced.P99, r.Paced.P50, r.Target)
			require.Positive(t, r.Paced.P99vsBare, r.Target)
		}
		if r.Target == targetJobs || r.Target == targetJobsPG {
			require.Equal(t, http.StatusAccepted, r.Status, r.Target)
			require.NotNil(t, r.Jobs, r.Target)
			require.True(t, r.Jobs.Drained, r.Target)
			require.Equal(t, r.Jobs.Jobs, r.Jobs.Completed, r.Target)
			require.GreaterOrEqual(t, uint64(r.Jobs.Jobs), r.OK, r.Target)
			require.Positive(t, r.Jobs.CompletedPerSec, r.Target)
		} else {
			require.Equal(t, http.StatusOK, r.Status, r.Target)
		}
		require.Positive(t, r.Requests, r.Target)
		require.Zero(t, r.Errors, "%s: %s", r.Target, r.FirstError)
		require.Equal(t, r.Requests, r.OK, r.Target)
		require.Positive(t, r.ReqPerSec, r.Target)
		require.Positive(t, r.Ratio, r.Target)
		require.InDelta(t, float64(r.P99)/float64(rep.Result(targetBare).P99), r.P99vsBare, 1e-9, r.Target)
		if (r.Target == targetOutOfProcess || r.Target == targetErrorsOnly) && runtime.GOOS == "linux" {
			require.Contains(t, r.ExtensionProcess, " ext serve", "the automation must run in a child process")
		}
	}
	require.InDelta(t, 1.0, rep.Result(targetBare).Ratio, 1e-9)
	require.InDelta(t, 1.0, rep.Result(targetBare).Paced.P99vsBare, 1e-9)

	var table bytes.Buffer
	require.NoError(t, rep.WriteTable(&table))
	for _, r := range rep.Results {
		require.Contains(t, table.String(), r.Target)
	}
	require.Contains(t, table.String(), "vs bare")
	require.Contains(t, table.String(), "p99 vs bare")
	require.Contains(t, table.String(), "latency at a fixed 200 req/s")
	t.Logf("\n%s", table.String())
}

func TestCLI_JSON(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := run([]string{"-duration", "300ms", "-warmup", "100ms", "-workers", "4", "-targets", "bare,inprocess", "-json", "-hookhost-bin", hookhostBin(t)}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())

	var rep struct {
		Workers int `json:"workers"`
		Targets []struct {
			Target    string  `json:"target"`
			Status    int     `json:"status"`
			Requests  uint64  `json:"requests"`
			Errors    uint64  `json:"errors"`
			ReqPerSec float64 `json:"req_per_s"`
			P50ms     float64 `json:"p50_ms"`
			P99ms     float64 `json:"p99_ms"`
			Ratio     float64 `json:"ratio_vs_bare"`
		} `json:"targets"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), stdout.String())
	require.Equal(t, 4, rep.Workers)
	require.Len(t, rep.Targets, 2)
	for i, name := range []string{targetBare, targetInProcess} {
		got := rep.Targets[i]
		require.Equal(t, name, got.Target)
		require.Equal(t, http.StatusOK, got.Status)
		require.Positive(t, got.Requests)
		require.Zero(t, got.Errors)
		require.Positive(t, got.ReqPerSec)
		require.Positive(t, got.P99ms)
		require.Positive(t, got.Ratio)
	}
}

func TestCLI_BadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"UnknownTarget", []string{"-targets", "bare,nginx"}, `unknown target "nginx"`},
		{"NoTargets", []string{"-targets", ","}, "no targets"},
		{"ZeroDuration", []string{"-duration", "0s"}, "must be positive"},
		{"ZeroWorkers", []string{"-workers", "0"}, "workers 0"},
		{"ExtraArgs", []string{"now"}, "unexpected arguments"},
		{"NegativeLatencyRate", []string{"-latency-rate", "-1"}, "latency-rate -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, stdout.String())
		})
	}
}

func TestCheckExampleAnswer(t *testing.T) {
	t.Parallel()
	good := "{\n    \"http\": {\n        \"method\": \"POST\",\n        \"path\": \"\",\n" +
		"        \"headers\": {\n            \"x_customheader\": \"true\"\n        },\n" +
		"        \"params\": {\n            \"key\": \"value\"\n        }\n    },\n" +
		"    \"client\": {\n        \"ip\": \"127.0.0.1\"\n    }\n}"
	hdr := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name string
		p    probe
		want string // "" for no error
	}{
		{"Good", probe{200, hdr, []byte(good)}, ""},
		{"Status", probe{502, hdr, []byte(good)}, "answered 502"},
		{"ContentType", probe{200, http.Header{"Content-Type": {"text/plain"}}, []byte(good)}, "Content-Type"},
		{"NotPretty", probe{200, hdr, []byte(`{"http":{"method":"POST"}}`)}, "pretty JSON"},
		{"WrongParam", probe{200, hdr, []byte(strings.Replace(good, `"value"`, `"other"`, 1))}, "http.params.key"},
		{"SeqEchoed", probe{200, hdr, []byte(strings.Replace(good, `"x_customheader": "true"`, `"x_customheader": "true", "x_vegeta_seq": "1"`, 1))}, "x_vegeta_seq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkExampleAnswer(&tt.p)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestRedactToken(t *testing.T) {
	t.Parallel()
	tok := strings.Repeat("ab", 20)
	require.Equal(t, "http://127.0.0.1:1/webhooks/ababab…?key=value", redactToken("http://127.0.0.1:1/webhooks/"+tok+"?key=value"))
	require.Equal(t, "http://127.0.0.1:1/webhooks/bare?key=value", redactToken("http://127.0.0.1:1/webhooks/bare?key=value"))
}

func TestHitsPacer(t *testing.T) {
	t.Parallel()
	p := hitsPacer(2)
	for hits, wantStop := range []bool{false, false, true, true} {
		wait, stop := p.Pace(time.Hour, uint64(hits))
		require.Zero(t, wait)
		require.Equal(t, wantStop, stop, "hits=%d", hits)
	}
}

func TestMedians(t *testing.T) {
	t.Parallel()
	round := func(bare, out float64, cpu time.Duration, errs uint64) []Result {
		rs := []Result{
			{Target: targetBare, ReqPerSec: bare, CPUPerReq: 20 * time.Microsecond, P99: time.Millisecond,
				Paced: &Paced{Rate: 100, P99: time.Millisecond}},
			{Target: targetOutOfProcess, ReqPerSec: out, CPUPerReq: cpu, Errors: errs, P99: cpu * 8,
				Paced: &Paced{Rate: 100, P99: cpu * 10, Errors: errs, CPUPerReq: 2 * cpu}},
			{Target: targetInProcessPG, Skipped: "no PostgreSQL"},
		}
		computeRatios(rs)
		return rs
	}
	got := medians([][]Result{
		round(1000, 500, 200*time.Microsecond, 0),
		round(2000, 500, 100*time.Microsecond, 1),
		round(1000, 100, 400*time.Microsecond, 2),
	})
	require.Len(t, got, 3)
	require.Equal(t, 1000.0, got[0].ReqPerSec)
	require.Equal(t, 500.0, got[1].ReqPerSec)
	require.InDelta(t, 0.25, got[1].Ratio, 1e-9, "the median of the rounds' ratios (0.5, 0.25, 0.1)")
	require.Equal(t, 200*time.Microsecond, got[1].CPUPerReq)
	require.InDelta(t, 10.0, got[1].CPUvsBare, 1e-9)
	require.InDelta(t, 1.6, got[1].P99vsBare, 1e-9, "the median of the rounds' p99 ratios (1.6, 0.8, 3.2)")
	require.Equal(t, uint64(3), got[1].Errors, "errors add up")
	require.Equal(t, 2*time.Millisecond, got[1].Paced.P99, "the median of the paced p99s")
	require.InDelta(t, 2.0, got[1].Paced.P99vsBare, 1e-9)
	require.Equal(t, uint64(3), got[1].Paced.Errors, "paced errors add up")
	require.Equal(t, 400*time.Microsecond, got[1].Paced.CPUPerReq, "the median of the paced CPU a request")
	require.InDelta(t, 400.0, got[1].Paced.CPUus, 1e-9)
	require.Nil(t, got[2].Paced)
	require.NotEmpty(t, got[2].Skipped)
}

// TestPacedOf: the fixed-rate attack's CPU a request is the processes'
// CPU over the right answers, none without any.
func TestPacedOf(t *testing.T) {
	t.Parallel()
	m := &measurement{ok: 400, non200: 2}
	m.metrics.Duration = 2 * time.Second
	p := pacedOf(m, 200, 60*time.Millisecond)
	require.Equal(t, 150*time.Microsecond, p.CPUPerReq)
	require.InDelta(t, 150.0, p.CPUus, 1e-9)
	require.InDelta(t, 200.0, p.Achieved, 1e-9)
	require.Equal(t, uint64(2), p.Errors)
	require.Zero(t, pacedOf(&measurement{}, 200, time.Second).CPUPerReq)
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"DropsInfo", []string{`{"level":"INFO","msg":"request"}` + "\n"}, ""},
		{"DropsDebug", []string{`{"level":"DEBUG","msg":"x"}` + "\n"}, ""},
		{"KeepsWarnAndError", []string{`{"level":"WARN","msg":"a"}` + "\n" + `{"level":"INFO","msg":"b"}` + "\n" + `{"level":"ERROR","msg":"c"}` + "\n"},
			`{"level":"WARN","msg":"a"}` + "\n" + `{"level":"ERROR","msg":"c"}` + "\n"},
		{"KeepsOtherLines", []string{"panic: boom\n"}, "panic: boom\n"},
		{"LineAcrossWrites", []string{`{"level":"WA`, `RN","msg":"a"}` + "\n" + `{"level":"IN`, `FO"}` + "\n"}, `{"level":"WARN","msg":"a"}` + "\n"},
		{"UnfinishedLineHeld", []string{`{"level":"WARN"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			w := &warnings{w: &out}
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				require.NoError(t, err)
				require.Equal(t, len(s), n)
			}
			require.Equal(t, tt.want, out.String())
		})
	}
}

// TestPostgresFigures checks PostgreSQL's per-request and per-job figures
// of a -pg target: computed from the measurement (per job only when the
// attack and drain were measured), folded into medians over rounds, and
// written under the table; a target without them writes none.
func TestPostgresFigures(t *testing.T) {
	t.Parallel()
	type pg struct {
		cpu            time.Duration
		records, bytes int64
	}
	result := func(ok uint64, attack, jobs pg) Result {
		r := Result{Target: targetJobsPG}
		m := &measurement{ok: ok, dbCPU: attack.cpu, wal: walStat{records: attack.records, bytes: attack.bytes},
			jobsCPU: jobs.cpu, jobsWAL: walStat{records: jobs.records, bytes: jobs.bytes}}
		m.metrics.Requests = ok
		r.fill(m)
		return r
	}
	const reqLine, jobLine = "PostgreSQL during the attack", "PostgreSQL over the attack and the drain"
	tests := []struct {
		name        string
		rounds      []Result
		wantCPU     time.Duration
		wantRecs    float64
		wantJobCPU  time.Duration
		wantJobRecs float64
		wantLines   []string // none: no PostgreSQL line is wanted
	}{
		{"one round", []Result{result(1000, pg{500 * time.Millisecond, 40000, 12_000_000}, pg{900 * time.Millisecond, 50000, 14_000_000})},
			500 * time.Microsecond, 40, 900 * time.Microsecond, 50, []string{
				"jobs-pg: PostgreSQL during the attack, per request: 500µs CPU (every postgres process), 40.0 WAL records, 12000 WAL bytes",
				"jobs-pg: PostgreSQL over the attack and the drain, per job (intake to completion; compare builds with this): 900µs CPU, 50.0 WAL records, 14000 WAL bytes"}},
		{"median of three", []Result{result(1000, pg{300 * time.Millisecond, 30000, 1}, pg{700 * time.Millisecond, 31000, 1}),
			result(1000, pg{900 * time.Millisecond, 50000, 1}, pg{600 * time.Millisecond, 33000, 1}),
			result(1000, pg{400 * time.Millisecond, 45000, 1}, pg{800 * time.Millisecond, 32000, 1})},
			400 * time.Microsecond, 45, 700 * time.Microsecond, 32, []string{"400µs CPU", "700µs CPU, 32.0 WAL records"}},
		{"a round not drained is left out of the per-job median", []Result{result(1000, pg{300 * time.Millisecond, 30000, 1}, pg{700 * time.Millisecond, 31000, 1}),
			result(1000, pg{900 * time.Millisecond, 50000, 1}, pg{}),
			result(1000, pg{400 * time.Millisecond, 45000, 1}, pg{})},
			400 * time.Microsecond, 45, 700 * time.Microsecond, 31, []string{"400µs CPU", "700µs CPU, 31.0 WAL records"}},
		{"attack only (not drained)", []Result{result(1000, pg{500 * time.Millisecond, 40000, 1}, pg{})},
			500 * time.Microsecond, 40, 0, 0, []string{reqLine}},
		{"not measured", []Result{result(1000, pg{}, pg{})}, 0, 0, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rounds := make([][]Result, len(tt.rounds))
			for i, r := range tt.rounds {
				rounds[i] = []Result{r}
			}
			got := medians(rounds)[0]
			require.Equal(t, tt.wantCPU, got.DBCPUPerReq)
			require.InDelta(t, tt.wantRecs, got.WALRecordsPerReq, 1e-9)
			require.Equal(t, tt.wantJobCPU, got.DBCPUPerJob)
			require.InDelta(t, tt.wantJobRecs, got.WALRecordsPerJob, 1e-9)
			var b strings.Builder
			require.NoError(t, (&Report{Results: []Result{got}}).WriteTable(&b))
			for _, line := range tt.wantLines {
				require.Contains(t, b.String(), line)
			}
			if len(tt.wantLines) == 0 {
				require.NotContains(t, b.String(), reqLine)
			}
			if tt.wantJobCPU == 0 {
				require.NotContains(t, b.String(), jobLine)
			}
		})
	}
}

// TestPgSampler checks that the sampler counts the CPU of the processes
// of its name: this test's own, while it keeps a core busy.
func TestPgSampler(t *testing.T) {
	t.Parallel()
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skip("no /proc")
	}
	s := samplePostgres(strings.TrimSpace(string(comm)), 10*time.Millisecond)
	cpu0, ok := procCPU(os.Getpid()) // at or after s's first sample
	require.True(t, ok)
	// Busy until this process used 100 ms more CPU than at from, as /proc
	// counts it.
	busy := func(from time.Duration) {
		for {
			if cpu, _ := procCPU(os.Getpid()); cpu-from >= 100*time.Millisecond {
				return
			}
		}
	}
	busy(cpu0)
	// A reading on the way (the attack's end) counts as far as it goes, and
	// sampling goes on after it (the drain).
	mid := s.total()
	require.GreaterOrEqual(t, mid, 100*time.Millisecond)
	cpu1, _ := procCPU(os.Getpid())
	busy(cpu1)
	require.GreaterOrEqual(t, s.end(), mid+100*time.Millisecond)
}

// TestRequestBody: the -body-bytes body is valid JSON of exactly the size
// asked for.
func TestRequestBody(t *testing.T) {
	for _, n := range []int{2, 3, 100, 200, 16 << 10, 65537} {
		b := requestBody(n)
		if len(b) != n || !json.Valid(b) {
			t.Fatalf("requestBody(%d): %d bytes, valid %v: %.80q", n, len(b), json.Valid(b), b)
		}
	}
}
