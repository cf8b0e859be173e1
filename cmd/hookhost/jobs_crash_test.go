package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// crashServer is a `hookhost serve` child process.
type crashServer struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func startCrashServer(t *testing.T, bin, dir, addr string, env ...string) *crashServer {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--log-format", "json", "--log-level", "info")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOOKHOST_LISTEN="+addr, "HOOKHOST_DATA_DIR="+filepath.Join(dir, "data"),
		"HOOKHOST_ADMIN_TOKEN=crash-admin", "HOOKHOST_IN_PROCESS=1",
		"HOOKHOST_JOB_RESCUE_AFTER=2s", "HOOKHOST_JOB_RETRY_BACKOFF=50ms", "HOOKHOST_JOB_SHUTDOWN_GRACE=1s")
	cmd.Env = append(cmd.Env, env...) // the last value of a key wins
	logs := &bytes.Buffer{}
	cmd.Stderr = logs
	require.NoError(t, cmd.Start())
	s := &crashServer{cmd: cmd, logs: logs}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return s
		}
		require.True(t, time.Now().Before(deadline), "server did not start")
		time.Sleep(20 * time.Millisecond)
	}
}

func crashAdmin(t *testing.T, addr, method, path, ctype, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+"/api/v1"+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer crash-admin")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	return b
}

// TestJobs_CrashRecovery fires 500 concurrent job requests, SIGKILLs the
// server in the middle, restarts it on the same data directory, and checks
// that every request that got a 202 ends Completed.
func TestJobs_CrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it; skipped with -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	srv := startCrashServer(t, bin, dir, addr)

	script := "start:\n  return:\n    body: done\n"
	a, _ := json.Marshal(map[string]string{"name": "example.deploy", "extension_id": "cerb.trigger.webhook.respond", "script": script})
	crashAdmin(t, addr, "POST", "/automations", "application/json", string(a))
	event := "automation/deploy:\n  uri: cerb:automation:example.deploy\n  job:\n    max_attempts@int: 5\n"
	var wh struct{ Token string }
	require.NoError(t, json.Unmarshal(crashAdmin(t, addr, "POST", "/webhooks?name=crash", "text/plain", event), &wh))

	const total = 500
	var (
		mu       sync.Mutex
		accepted []string
		failed   int
		wg       sync.WaitGroup
		killOnce sync.Once
	)
	client := &http.Client{Timeout: 10 * time.Second}
	work := make(chan int)
	for range 50 {
		wg.Go(func() {
			for range work {
				resp, err := client.Post("http://"+addr+"/webhooks/"+wh.Token, "application/json", strings.NewReader(`{"n":1}`))
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var body struct{ JobIds []string }
				mu.Lock()
				if resp.StatusCode == http.StatusAccepted && json.Unmarshal(b, &body) == nil && len(body.JobIds) == 1 {
					accepted = append(accepted, body.JobIds[0])
				} else {
					failed++
				}
				n := len(accepted)
				mu.Unlock()
				if n == total/2 {
					killOnce.Do(func() { _ = srv.cmd.Process.Signal(syscall.SIGKILL) })
				}
			}
		})
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	killOnce.Do(func() { _ = srv.cmd.Process.Signal(syscall.SIGKILL) })
	_ = srv.cmd.Wait()
	t.Logf("%d accepted, %d failed before or at the kill", len(accepted), failed)
	require.GreaterOrEqual(t, len(accepted), total/2)

	// Restart on the same data directory with the default rescue window
	// (1m): the jobs the dead process left running are queued again at
	// start-up, not after the window (they used to wait about 78 s).
	restarted := time.Now()
	srv2 := startCrashServer(t, bin, dir, addr, "HOOKHOST_JOB_RESCUE_AFTER=1m")
	want := map[string]bool{}
	for _, id := range accepted {
		want[id] = true
	}
	deadline := time.Now().Add(50 * time.Second) // below the rescue window and its scheduler's delay
	for {
		states := jobStates(t, addr)
		pending := 0
		for id := range want {
			if states[id] != "Completed" {
				pending++
			}
		}
		if pending == 0 {
			// Every 202 is a job. A job can exist without its 202 only when
			// the kill came between the commit and the answer: such a
			// request is among the failed ones.
			require.GreaterOrEqual(t, len(states), len(accepted))
			require.LessOrEqual(t, len(states)-len(accepted), failed, "jobs queued without a request")
			t.Logf("%d jobs, %d accepted, all accepted jobs Completed %s after the restart", len(states), len(accepted), time.Since(restarted).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted jobs not Completed: %v\nlogs after restart:\n%s", pending, len(want), summary(states), srv2.logs.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func summary(states map[string]string) string {
	n := map[string]int{}
	for _, s := range states {
		n[s]++
	}
	return fmt.Sprint(n)
}

// jobStates lists every job of the server at addr by id, through the
// admin API's pages.
func jobStates(t *testing.T, addr string) map[string]string {
	t.Helper()
	states := map[string]string{}
	cursor := ""
	for {
		q := url.Values{"limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Jobs []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"jobs"`
			NextCursor string `json:"next_cursor"`
		}
		require.NoError(t, json.Unmarshal(crashAdmin(t, addr, "GET", "/jobs?"+q.Encode(), "", ""), &page))
		for _, j := range page.Jobs {
			states[j.ID] = j.State
		}
		if cursor = page.NextCursor; cursor == "" {
			return states
		}
	}
}
