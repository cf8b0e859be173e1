package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buildBinary builds bin/hookhost into a temp dir once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hookhost")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// syncBuffer is a bytes.Buffer safe to write from a process's output
// copier while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type e2e struct {
	bin, dir, addr, token string
	env                   []string
}

// cli runs a client command and returns its stdout.
func (e *e2e) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Dir = e.dir
	cmd.Env = e.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "hookhost %v: %s%s", args, stdout.String(), stderr.String())
	return stdout.String()
}

func TestEndToEnd_GuideExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the real binary; skipped with -short")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	e := &e2e{bin: bin, dir: dir, addr: addr}
	e.env = append(os.Environ(), "HOOKHOST_SERVER=http://"+addr, "HOOKHOST_LISTEN="+addr, "HOOKHOST_DATA_DIR="+filepath.Join(dir, "data"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve", "--log-format", "json")
	srv.Dir, srv.Env = dir, e.env
	var logs syncBuffer
	srv.Stderr = &logs
	require.NoError(t, srv.Start())
	defer func() { _ = srv.Process.Kill() }()

	// Wait for /healthz (bounded).
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "server did not start: %s", logs.String())
		time.Sleep(50 * time.Millisecond)
	}

	// The server wrote its URL where the CLI looks when nothing names the
	// server: a server on another port than 8080 is found without
	// HOOKHOST_SERVER.
	urlFile := filepath.Join(dir, "data", "server.url")
	written, err := os.ReadFile(urlFile)
	require.NoError(t, err)
	require.Equal(t, "http://"+addr+"\n", string(written))
	noServerEnv := slices.DeleteFunc(slices.Clone(e.env), func(kv string) bool { return strings.HasPrefix(kv, "HOOKHOST_SERVER=") })
	found := &e2e{bin: bin, dir: dir, addr: addr, env: noServerEnv}
	require.Contains(t, found.cli(t, "", "webhook", "list"), "ID")
	require.Regexp(t, `(?m)^server: dev \(go`, found.cli(t, "", "version"))

	// Failures exit with their status.
	notFound := exec.Command(bin, "webhook", "show", "nope")
	notFound.Dir, notFound.Env = dir, noServerEnv
	nf, err := notFound.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "%s", nf)
	require.Equal(t, exitNotFound, exitErr.ExitCode(), "%s", nf)

	// The CLI finds ./data/admin.token by itself (cwd = dir).
	pkg, err := filepath.Abs("../../testdata/packages/webhook-example.json")
	require.NoError(t, err)
	out := e.cli(t, "", "import", pkg)
	require.Contains(t, out, "example.webhook.respond")

	event := "automation/webhook:\n  uri: cerb:automation:example.webhook.respond\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "event.kata"), []byte(event), 0o600))
	out = e.cli(t, "", "webhook", "create", "--name", "Webhook Example", "--event-file", "event.kata")
	url := regexp.MustCompile(`http://\S+/webhooks/[0-9a-f]{40}`).FindString(out)
	require.NotEmpty(t, url, out)

	// The guide's curl.
	req, _ := http.NewRequest("POST", url+"?key=value", nil)
	req.Header.Set("X-CustomHeader", "true")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var got struct {
		HTTP struct {
			Method  string            `json:"method"`
			Path    string            `json:"path"`
			Headers map[string]string `json:"headers"`
			Params  map[string]string `json:"params"`
		} `json:"http"`
		Client struct {
			IP string `json:"ip"`
		} `json:"client"`
	}
	require.NoError(t, json.Unmarshal(body, &got), "%s", body)
	require.Equal(t, "POST", got.HTTP.Method)
	require.Equal(t, "", got.HTTP.Path)
	require.Equal(t, "true", got.HTTP.Headers["x_customheader"])
	require.Equal(t, addr, got.HTTP.Headers["host"])
	require.Equal(t, map[string]string{"key": "value"}, got.HTTP.Params)
	require.Equal(t, "127.0.0.1", got.Client.IP)
	require.Contains(t, string(body), "\n    \"http\": {\n", "4-space json_pretty")

	// A browser-like GET.
	breq, _ := http.NewRequest("GET", url+"?name=Joe+Customer&age=37", nil)
	breq.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")
	breq.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err = http.DefaultClient.Do(breq)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	got.HTTP.Params, got.HTTP.Headers = nil, nil
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, "GET", got.HTTP.Method)
	require.Equal(t, map[string]string{"name": "Joe Customer", "age": "37"}, got.HTTP.Params)
	require.Equal(t, "Mozilla/5.0 (X11; Linux x86_64)", got.HTTP.Headers["user_agent"])

	// The CLI sees the webhook and the runs.
	out = e.cli(t, "", "webhook", "list")
	require.Contains(t, out, "Webhook Example")
	out = e.cli(t, "", "webhook", "list", "-o", "json")
	var wl struct {
		Webhooks []struct{ ID, Name string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &wl), out)
	require.Len(t, wl.Webhooks, 1)
	require.Eventually(t, func() bool {
		return strings.Count(e.cli(t, "", "run", "list", "--webhook", wl.Webhooks[0].ID), "example.webhook.respond") == 2
	}, 10*time.Second, 100*time.Millisecond)

	// A bad event KATA is refused with its position, and the CLI exits non-zero.
	cmd := exec.Command(bin, "webhook", "create", "--name", "bad", "--event", "automation/x\n  uri: y\n")
	cmd.Dir, cmd.Env = dir, e.env
	combined, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(combined), "event_kata:1:1")

	// Graceful shutdown on SIGTERM.
	require.NoError(t, srv.Process.Signal(syscall.SIGTERM))
	waitErr := make(chan error, 1)
	go func() { waitErr <- srv.Wait() }()
	select {
	case err := <-waitErr:
		require.NoError(t, err, "exit after SIGTERM: %s", logs.String())
		_, err = os.Stat(urlFile)
		require.ErrorIs(t, err, os.ErrNotExist, "the server removes server.url when it stops")
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not stop after SIGTERM: %s", logs.String())
	}
}
