package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
)

// EnvCPUProfile is the variable `hookhost serve` and `hookhost ext serve`
// read to write a CPU profile of their life (see cmd/hookhost and
// plugins.Serve); the harness sets it when -cpuprofile-dir is given.
const EnvCPUProfile = "HOOKHOST_CPUPROFILE"

// bareServeArg is the first argument with which the bench binary serves
// the bare handler in a process of its own (see serveBare).
const bareServeArg = "serve-bare"

// startServe starts `hookhost serve` as a process of its own on a fresh
// data dir and a free 127.0.0.1 port, with the example imported, and waits
// until /readyz answers 200. args are more flags (--in-process,
// --database). The server's CPU and memory, and its extensions', are read
// from /proc by its pid.
func startServe(ctx context.Context, opts Options, name string, args ...string) (*server, error) {
	if opts.HookhostBin == "" {
		return nil, errors.New("no hookhost binary")
	}
	dir, err := os.MkdirTemp("", "hookhost-bench-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// The default log settings: info, JSON (stderr is a pipe), a line per
	// request (the access log), read and dropped by this process as
	// journald or a container runtime would read it; -v shows the warnings
	// and errors.
	argv := append([]string{"serve", "--listen", addr, "--data-dir", dir, "--example",
		"--job-workers", fmt.Sprint(jobWorkers)}, args...)
	cmd := exec.Command(opts.HookhostBin, argv...)
	cmd.Env = append(os.Environ(), "HOOKHOST_ADMIN_TOKEN="+benchAdminToken)
	if opts.ProfileDir != "" {
		cmd.Env = append(cmd.Env, EnvCPUProfile+"="+filepath.Join(opts.ProfileDir, name))
		cmd.Args = append(cmd.Args, "--extension-pass-env", EnvCPUProfile)
	}
	cmd.Stdout = io.Discard
	cmd.Stderr = &warnings{w: opts.serverLog()}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			opts.Notef("%s: hookhost did not stop within 20s of SIGTERM; killing it", name)
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = os.RemoveAll(dir)
	}
	base := "http://" + addr
	ready, err := waitReady(ctx, base+"/readyz", exited, 60*time.Second)
	if err != nil {
		stop()
		return nil, fmt.Errorf("hookhost serve %s: %w", strings.Join(args, " "), err)
	}
	startup := ready.Sub(t0)
	raw, err := os.ReadFile(filepath.Join(dir, "example-webhook.url"))
	if err != nil {
		stop()
		return nil, fmt.Errorf("read example webhook URL: %w", err)
	}
	u := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(u, base+"/") {
		stop()
		return nil, fmt.Errorf("example webhook URL %q is not on %s", redactToken(u), addr)
	}
	return &server{url: u + query, base: base, stop: stop, proc: procTree{pid: cmd.Process.Pid}, startup: startup}, nil
}

// waitReady polls url every 2 ms until it answers 200 and returns when it
// did, or fails when the process exits or within passes.
func waitReady(ctx context.Context, url string, exited <-chan error, within time.Duration) (time.Time, error) {
	cl := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(within)
	for {
		resp, err := cl.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		select {
		case err := <-exited:
			return time.Time{}, fmt.Errorf("exited before it was ready: %v", err)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("not ready within %s", within)
		}
	}
}

// freeAddr returns a 127.0.0.1 address with a port free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// bareAnswer is what the bare handler answers, handed to its process as
// JSON on stdin.
type bareAnswer struct {
	Status  int         `json:"status"`
	Headers [][2]string `json:"headers"`
	Body    []byte      `json:"body"`
}

// startBare serves a bare Fiber v2 handler, in a process of its own (the
// bench binary re-executed), that answers every request with ref's status,
// headers and body: the cost of HTTP alone.
func startBare(ctx context.Context, opts Options, ref *probe) (*server, error) {
	if ref == nil {
		return nil, errors.New("no reference answer to serve")
	}
	ans := bareAnswer{Status: ref.status, Body: ref.body}
	for k, vs := range ref.header {
		switch http.CanonicalHeaderKey(k) {
		case "Date", "Content-Length", "Connection", "Server", "Keep-Alive":
			continue // written by fasthttp itself
		}
		for _, v := range vs {
			ans.Headers = append(ans.Headers, [2]string{k, v})
		}
	}
	in, _ := json.Marshal(ans)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, bareServeArg)
	cmd.Env = append(os.Environ(), envBare+"=1")
	if opts.ProfileDir != "" {
		cmd.Env = append(cmd.Env, EnvCPUProfile+"="+filepath.Join(opts.ProfileDir, targetBare))
	}
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Stderr = opts.serverLog()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, out); exited <- cmd.Wait() }()
	addr := strings.TrimSpace(line)
	if err != nil || addr == "" {
		stop()
		return nil, fmt.Errorf("bare handler process did not print its address: %v", err)
	}
	base := "http://" + addr
	ready, err := waitReady(ctx, base+"/readyz", exited, 10*time.Second)
	if err != nil {
		stop()
		return nil, fmt.Errorf("bare handler: %w", err)
	}
	return &server{url: base + "/webhooks/bare" + query, stop: stop, proc: procTree{pid: cmd.Process.Pid}, startup: ready.Sub(t0)}, nil
}

// envBare marks the bench binary's own bare-handler process, so that a
// test binary re-executed for it serves instead of running the tests.
const envBare = "HOOKHOST_BENCH_BARE"

// serveBare is the bare handler's process: it reads a bareAnswer from
// stdin, serves it on 127.0.0.1:0 (every path; /readyz answers 200 for
// the harness), prints the address, and stops at SIGTERM or when stdin's
// writer is gone.
func serveBare() error {
	var ans bareAnswer
	if err := json.NewDecoder(os.Stdin).Decode(&ans); err != nil {
		return fmt.Errorf("read the answer to serve: %w", err)
	}
	stopProfile, err := startCPUProfile(os.Getenv(EnvCPUProfile))
	if err != nil {
		return err
	}
	defer stopProfile()
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
	})
	app.Get("/readyz", func(c *fiber.Ctx) error { return c.SendStatus(http.StatusOK) })
	app.All("/*", func(c *fiber.Ctx) error {
		for _, h := range ans.Headers {
			c.Set(h[0], h[1])
		}
		return c.Status(ans.Status).Send(ans.Body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	ctx, stop := signalContext()
	defer stop()
	go func() {
		<-ctx.Done()
		_ = app.ShutdownWithTimeout(5 * time.Second)
	}()
	return app.Listener(ln)
}

// warnings passes on the lines of a hookhost server's JSON log whose level
// is WARN or ERROR (and lines that are not JSON log lines, such as a
// panic's), and drops the rest: the access log's line per request.
type warnings struct {
	w    io.Writer
	part []byte // an unfinished line
}

// Write implements io.Writer (exec.Cmd calls it from one goroutine).
func (f *warnings) Write(p []byte) (int, error) {
	if f.w == io.Discard {
		return len(p), nil
	}
	f.part = append(f.part, p...)
	for {
		i := bytes.IndexByte(f.part, '\n')
		if i < 0 {
			break
		}
		line := f.part[:i+1]
		if !bytes.Contains(line, []byte(`"level":"INFO"`)) && !bytes.Contains(line, []byte(`"level":"DEBUG"`)) {
			if _, err := f.w.Write(line); err != nil {
				return 0, err
			}
		}
		f.part = f.part[i+1:]
	}
	f.part = append(f.part[:0:0], f.part...)
	return len(p), nil
}
