package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/pgtest"
)

// pgServer is a `hookhost serve` child process on PostgreSQL.
type pgServer struct {
	name, addr string
	cmd        *exec.Cmd
	logs       *syncBuffer
	exited     chan struct{}
}

// startPGServer starts `hookhost serve` on dsn with its own data directory
// and waits for /readyz. Every server of a test shares the admin token and
// the secret key, as servers behind one load balancer must.
func startPGServer(t *testing.T, bin, dsn, secretKey, name string, workers int) *pgServer {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--log-format", "json", "--log-level", "info",
		"--listen", addr, "--database", dsn, "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--in-process", "--allow-private-requests", "--job-workers", strconv.Itoa(workers),
		"--job-rescue-after", "3s", "--job-retry-backoff", "50ms", "--job-shutdown-grace", "1s")
	cmd.Env = append(os.Environ(), "HOOKHOST_ADMIN_TOKEN=crash-admin", "HOOKHOST_SECRET_KEY="+secretKey)
	s := &pgServer{name: name, addr: addr, cmd: cmd, logs: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("logs of server %s:\n%s", name, s.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("server %s exited at start:\n%s", name, s.logs.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "server %s did not start:\n%s", name, s.logs.String())
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the server with SIGTERM (graceful) or SIGKILL and waits.
func (s *pgServer) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(sig))
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("server %s did not exit after %s", s.name, sig)
	}
}

func (s *pgServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// queue POSTs to a job webhook and returns the job id of its 202.
func (s *pgServer) queue(t *testing.T, token string, n int) string {
	t.Helper()
	resp, err := http.Post("http://"+s.addr+"/webhooks/"+token+"?n="+strconv.Itoa(n), "application/json", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", b)
	var body struct{ JobIds []string }
	require.NoError(t, json.Unmarshal(b, &body), "%s", b)
	require.Len(t, body.JobIds, 1)
	return body.JobIds[0]
}

// waitCompleted polls s until every job of ids is Completed. The deadline
// is generous: how fast jobs run is not what the test claims.
func (s *pgServer) waitCompleted(t *testing.T, ids []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		states := jobStates(t, s.addr)
		pending := map[string]int{}
		for _, id := range ids {
			if st := states[id]; st != "Completed" {
				pending[st]++
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs not Completed after %s: %v", within, pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runRecorder is the HTTP endpoint the slow automation calls: each call
// is one run of the automation for the job of ?n=, held for hold unless
// the caller goes away first (its process was killed).
type runRecorder struct {
	hold time.Duration
	mu   sync.Mutex
	runs []recordedRun
	live int
}

type recordedRun struct {
	n           string
	start, end  time.Time
	interrupted bool
}

func (r *runRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	run := recordedRun{n: req.URL.Query().Get("n"), start: time.Now()}
	r.mu.Lock()
	r.live++
	r.mu.Unlock()
	t := time.NewTimer(r.hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-req.Context().Done():
		run.interrupted = true
	}
	run.end = time.Now()
	r.mu.Lock()
	r.live--
	r.runs = append(r.runs, run)
	r.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

func (r *runRecorder) inFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live
}

func (r *runRecorder) byJob() map[string][]recordedRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]recordedRun{}
	for _, run := range r.runs {
		out[run.n] = append(out[run.n], run)
	}
	for _, runs := range out {
		sort.Slice(runs, func(i, j int) bool { return runs[i].start.Before(runs[j].start) })
	}
	return out
}

// TestScaleOut_TwoServeProcesses runs two `hookhost serve` processes, A
// and B, on one PostgreSQL schema, as behind a load balancer:
//
//   - a webhook created through A answers on B, and A's changes (disable,
//     enable, automation update, rotate, delete) show on B within a second;
//   - jobs queued through A while A runs no jobs (--job-workers 0) are
//     worked by B;
//   - A, restarted with workers, is killed with SIGKILL while it runs slow
//     jobs; B runs them again after --job-rescue-after, every 202 ends
//     Completed, and no job ever ran twice at the same time.
func TestScaleOut_TwoServeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two servers on PostgreSQL; skipped with -short")
	}
	dsn := pgtest.DSN(t, "hh_e2e_")
	bin := buildBinary(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secretKey := base64.StdEncoding.EncodeToString(key)

	// B first, so that B is River's leader for the whole test.
	b := startPGServer(t, bin, dsn, secretKey, "B", 4)
	a := startPGServer(t, bin, dsn, secretKey, "A", 0)

	// ---- the caches follow the other server ----
	automation := func(srv *pgServer, method, name, script, policy string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"name": name, "extension_id": "cerb.trigger.webhook.respond",
			"script": script, "policy_kata": policy})
		path := "/automations"
		if method == "PUT" {
			path += "/" + name
		}
		crashAdmin(t, srv.addr, method, path, "application/json", string(body))
	}
	webhook := func(srv *pgServer, name, event string) (id, token string) {
		t.Helper()
		var wh struct{ ID, Token string }
		require.NoError(t, json.Unmarshal(crashAdmin(t, srv.addr, "POST", "/webhooks?name="+name, "text/plain", event), &wh))
		return wh.ID, wh.Token
	}
	automation(a, "POST", "scale.hello", "start:\n  return:\n    body: hi\n", "")
	id, tok := webhook(a, "hello", "automation/hello:\n  uri: cerb:automation:scale.hello\n")

	status, body := b.get(t, "/webhooks/"+tok)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "hi", body)

	// withinASecond polls B from the moment A has answered.
	withinASecond := func(what, path string, want int, wantBody string) {
		t.Helper()
		require.Eventually(t, func() bool {
			status, body := b.get(t, path)
			return status == want && (wantBody == "" || body == wantBody)
		}, time.Second, 10*time.Millisecond, "B did not see %q made on A within a second", what)
	}
	crashAdmin(t, a.addr, "PATCH", "/webhooks/"+id, "application/json", `{"enabled":false}`)
	withinASecond("disable", "/webhooks/"+tok, http.StatusBadRequest, "")
	crashAdmin(t, a.addr, "PATCH", "/webhooks/"+id, "application/json", `{"enabled":true}`)
	withinASecond("enable", "/webhooks/"+tok, http.StatusOK, "hi")
	automation(a, "PUT", "scale.hello", "start:\n  return:\n    body: changed\n", "")
	withinASecond("automation update", "/webhooks/"+tok, http.StatusOK, "changed")
	var rotated struct{ Token string }
	require.NoError(t, json.Unmarshal(crashAdmin(t, a.addr, "POST", "/webhooks/"+id+"/rotate?overlap=0", "", ""), &rotated))
	withinASecond("rotate (old token)", "/webhooks/"+tok, http.StatusNotFound, "")
	status, body = b.get(t, "/webhooks/"+rotated.Token)
	require.Equal(t, http.StatusOK, status, body)
	crashAdmin(t, a.addr, "DELETE", "/webhooks/"+id, "", "")
	withinASecond("delete", "/webhooks/"+rotated.Token, http.StatusNotFound, "")

	// ---- jobs queued through A (no workers) are worked by B ----
	automation(a, "POST", "scale.fast", "start:\n  return:\n    body: fast {{request_params.n}}\n", "")
	_, fastTok := webhook(a, "fast", "automation/fast:\n  uri: cerb:automation:scale.fast\n  job:\n    max_attempts@int: 3\n")
	var fastIDs []string
	for n := range 20 {
		fastIDs = append(fastIDs, a.queue(t, fastTok, n))
	}
	b.waitCompleted(t, fastIDs, 30*time.Second)
	var fast struct {
		Response struct{ Body string } `json:"response"`
	}
	require.NoError(t, json.Unmarshal(crashAdmin(t, a.addr, "GET", "/jobs/"+fastIDs[7], "", ""), &fast))
	require.Equal(t, "fast 7", fast.Response.Body)
	a.stop(t, syscall.SIGTERM)

	// ---- A dies mid-job; B finishes its jobs, never two runs at once ----
	rec := &runRecorder{hold: time.Second}
	target := httptest.NewServer(rec)
	t.Cleanup(target.Close)
	a = startPGServer(t, bin, dsn, secretKey, "A2", 8)
	automation(a, "POST", "scale.slow",
		"start:\n  http.request:\n    output: r\n    inputs:\n      url: "+target.URL+"/work?n={{request_params.n}}\n  return:\n    body: slow {{request_params.n}}\n",
		"commands:\n  http.request:\n    allow: yes\n")
	_, slowTok := webhook(a, "slow", "automation/slow:\n  uri: cerb:automation:scale.slow\n  job:\n    max_attempts@int: 5\n")
	const slowJobs = 24
	slowIDs := make([]string, slowJobs)
	for n := range slowJobs {
		slowIDs[n] = a.queue(t, slowTok, n)
	}
	// B runs at most 4 jobs at once: with 6 runs in flight, A runs some.
	require.Eventually(t, func() bool { return rec.inFlight() >= 6 }, 20*time.Second, 5*time.Millisecond,
		"the slow jobs did not start")
	killed := time.Now()
	a.stop(t, syscall.SIGKILL)

	b.waitCompleted(t, slowIDs, 45*time.Second)
	t.Logf("all %d slow jobs Completed %s after A was killed", slowJobs, time.Since(killed).Round(time.Millisecond))

	runs := rec.byJob()
	interrupted := 0
	for n := range slowJobs {
		list := runs[strconv.Itoa(n)]
		require.NotEmpty(t, list, "job n=%d never ran", n)
		for i := 1; i < len(list); i++ {
			require.False(t, list[i].start.Before(list[i-1].end),
				"job n=%d ran twice at the same time: %+v", n, list)
		}
		last := list[len(list)-1]
		require.False(t, last.interrupted, "job n=%d: last run interrupted: %+v", n, list)
		for _, r := range list[:len(list)-1] {
			if r.interrupted {
				interrupted++
				// Rescued only after A's heartbeat went quiet.
				require.GreaterOrEqual(t, last.start.Sub(killed), 2*time.Second, "job n=%d rerun too early: %+v", n, list)
			}
		}
		var job struct {
			Attempt  int                   `json:"attempt"`
			Response struct{ Body string } `json:"response"`
		}
		require.NoError(t, json.Unmarshal(crashAdmin(t, b.addr, "GET", "/jobs/"+slowIDs[n], "", ""), &job))
		require.Equal(t, fmt.Sprintf("slow %d", n), job.Response.Body)
		if len(list) > 1 {
			require.GreaterOrEqual(t, job.Attempt, 2, "job n=%d ran %d times", n, len(list))
		}
	}
	require.GreaterOrEqual(t, interrupted, 1, "no job was running on A when it was killed")
	t.Logf("%d runs interrupted by the kill, all finished by B", interrupted)
}
