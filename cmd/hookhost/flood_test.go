package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServe_SurvivesConnectionFlood starts the real binary with a file
// descriptor limit of 256 and opens 400 idle connections to it (no token,
// no bytes): the server must keep running and answer the next request (it
// used to exit 1 with "accept4: too many open files").
func TestServe_SurvivesConnectionFlood(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	addr := freeAddr(t)
	var out syncBuffer
	cmd := exec.Command("sh", "-c", `ulimit -n 256 && exec "$0" serve --data-dir "$1" --listen "$2" --in-process --access-log=false`,
		bin, t.TempDir(), addr)
	cmd.Env = append(os.Environ(), "HOOKHOST_ADMIN_TOKEN=flood-test-token")
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) (int, string, error) {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	ready := false
	for range 300 {
		if status, _, err := get("/healthz"); err == nil && status == http.StatusOK {
			ready = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.True(t, ready, "the server did not start: %s", out.String())

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range 400 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	status, _, err := get("/healthz")
	require.NoError(t, err, "the server answers during the flood: %s", out.String())
	require.Equal(t, http.StatusOK, status)
	select {
	case err := <-exited:
		t.Fatalf("the server exited (%v): %s", err, out.String())
	default:
	}
	req, err := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NotContains(t, string(b), "hookhost_connections_shed_total 0\n", "idle connections made room")
	require.True(t, strings.Contains(string(b), "hookhost_connections_shed_total"), "%s", b)
	require.NotContains(t, out.String(), "too many open files")
}
