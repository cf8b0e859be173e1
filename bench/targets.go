package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host"
)

// query is the query string of every request (the Cerb guide's curl).
const query = "?key=value"

// startBare serves a bare Fiber v2 handler on 127.0.0.1 that answers every
// request with ref's status, headers and body: the cost of HTTP alone.
func startBare(ref *probe) (*server, error) {
	if ref == nil {
		return nil, errors.New("no reference answer to serve")
	}
	type pair struct{ k, v string }
	var hdrs []pair
	for k, vs := range ref.header {
		switch http.CanonicalHeaderKey(k) {
		case "Date", "Content-Length", "Connection", "Server", "Keep-Alive":
			continue // written by fasthttp itself
		}
		for _, v := range vs {
			hdrs = append(hdrs, pair{k, v})
		}
	}
	slices.SortFunc(hdrs, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	status, body := ref.status, ref.body

	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
	})
	app.All("/*", func(c *fiber.Ctx) error {
		for _, h := range hdrs {
			c.Set(h.k, h.v)
		}
		return c.Status(status).Send(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = app.Listener(ln)
	}()
	return &server{
		url: "http://" + ln.Addr().String() + "/webhooks/bare" + query,
		stop: func() {
			_ = app.ShutdownWithTimeout(5 * time.Second)
			<-done
		},
	}, nil
}

// startHookhost starts a hookhost server with the example webhook on a
// fresh data dir and 127.0.0.1:0. extCmd is host.Config's ExtensionCommand
// (nil for the default); database is host.Config's Database ("" for SQLite
// in the data dir).
func startHookhost(ctx context.Context, opts Options, inProcess bool, extCmd []string, database string) (*server, error) {
	dir, err := os.MkdirTemp("", "hookhost-bench-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	addr := ln.Addr().String()
	cfg := host.DefaultConfig()
	cfg.Listen, cfg.PublicURL, cfg.DataDir, cfg.AdminToken = addr, "http://"+addr, dir, "bench-admin-token"
	cfg.InProcess, cfg.ExtensionCommand, cfg.Database, cfg.Example, cfg.Logger = inProcess, extCmd, database, true, opts.Logger
	cfg.Jobs.Workers = jobWorkers
	srv, err := host.New(ctx, cfg)
	if err != nil {
		_ = ln.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	cleanup := func() {
		_ = srv.Close()
		_ = os.RemoveAll(dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "example-webhook.url"))
	if err != nil {
		_ = ln.Close()
		cleanup()
		return nil, fmt.Errorf("read example webhook URL: %w", err)
	}
	u := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(u, "http://"+addr+"/") {
		_ = ln.Close()
		cleanup()
		return nil, fmt.Errorf("example webhook URL %q is not on %s", redactToken(u), addr)
	}

	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln, nil) }()
	return &server{
		url:  u + query,
		base: "http://" + addr,
		stop: func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				opts.Notef("hookhost did not shut down within 15s; closing it")
			}
			cleanup()
		},
	}, nil
}

// startOutOfProcess starts hookhost with InProcess false and the built-in
// extensions run as `<hookhost binary> ext serve <name>`. It returns a skip
// reason instead of a server when that path does not exist yet.
func startOutOfProcess(ctx context.Context, opts Options) (srv *server, skip string, err error) {
	bin := opts.HookhostBin
	removeBin := func() {}
	if bin == "" {
		dir, err := os.MkdirTemp("", "hookhost-bench-bin-")
		if err != nil {
			return nil, "", err
		}
		removeBin = func() { _ = os.RemoveAll(dir) }
		bin = filepath.Join(dir, "hookhost")
		opts.Notef("%s: building the hookhost binary", targetOutOfProcess)
		if reason := buildHookhost(ctx, bin); reason != "" {
			removeBin()
			return nil, reason, ctx.Err()
		}
	}
	if reason := checkExtServe(ctx, bin); reason != "" {
		removeBin()
		return nil, reason, ctx.Err()
	}
	srv, err = startHookhost(ctx, opts, false, []string{bin, "ext", "serve"}, "")
	if err != nil {
		removeBin()
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return nil, "host.New with InProcess false failed: " + err.Error(), nil
	}
	stop := srv.stop
	srv.stop = func() { stop(); removeBin() }
	return srv, "", nil
}

// buildHookhost builds ./cmd/hookhost of the module in the working
// directory into bin. It returns why it could not, or "".
func buildHookhost(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "cannot find the hookhost module to build cmd/hookhost (run from the repository or pass -hookhost-bin)"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/hookhost")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Sprintf("go build ./cmd/hookhost failed: %v: %s", err, firstLines(out, 5))
	}
	return ""
}

// checkExtServe reports whether bin has the hidden `ext serve` command:
// cobra prints the help of `ext serve` if it exists, else the help of
// `ext`.
func checkExtServe(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "ext", "serve", "--help").CombinedOutput()
	if !bytes.Contains(out, []byte("ext serve")) {
		return "the hookhost binary has no `ext serve` command yet"
	}
	return ""
}

// checkExtensionProcess looks, after a webhook call, for the child
// `... ext serve ...` process that ran it. It returns that process's
// command line, or why the target did not run out of process. When /proc
// cannot tell, it returns neither and the target is measured anyway.
func checkExtensionProcess() (cmdline, skip string) {
	cmds, err := childCommands(os.Getpid())
	if err != nil {
		return "", ""
	}
	for _, c := range cmds {
		if strings.Contains(c, " ext serve") {
			return c, ""
		}
	}
	return "", "host.New accepted InProcess false but no `ext serve` child process was started " +
		"(the server still runs automations in-process; the extension runner is not wired yet)"
}

// childCommands lists the command lines of pid's children from /proc.
func childCommands(pid int) ([]string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var cmds []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmds = append(cmds, strings.TrimSpace(string(bytes.ReplaceAll(cl, []byte{0}, []byte{' '}))))
	}
	return cmds, nil
}

// exampleAnswer is the JSON the Cerb guide's example automation returns.
type exampleAnswer struct {
	HTTP struct {
		Method  string         `json:"method"`
		Path    string         `json:"path"`
		Headers map[string]any `json:"headers"`
		Params  map[string]any `json:"params"`
	} `json:"http"`
	Client struct {
		IP string `json:"ip"`
	} `json:"client"`
}

// checkExampleAnswer checks that p is the example webhook's answer to the
// bench request: 200, application/json, a 4-space pretty JSON echo of the
// request.
func checkExampleAnswer(p *probe) error {
	if p.status != http.StatusOK {
		return fmt.Errorf("answered %d, want 200: %s", p.status, firstLines(p.body, 3))
	}
	if ct := p.header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	if !bytes.HasPrefix(p.body, []byte("{\n    \"http\": {\n        \"method\": \"POST\",")) {
		return fmt.Errorf("body is not the example's 4-space pretty JSON: %s", firstLines(p.body, 3))
	}
	var a exampleAnswer
	if err := json.Unmarshal(p.body, &a); err != nil {
		return fmt.Errorf("body is not the example's JSON: %w", err)
	}
	var problems []string
	check := func(what string, got any, want string) {
		if got != want {
			problems = append(problems, fmt.Sprintf("%s %#v, want %q", what, got, want))
		}
	}
	check("http.method", a.HTTP.Method, "POST")
	check("http.path", a.HTTP.Path, "")
	check("http.params.key", a.HTTP.Params["key"], "value")
	check("http.headers.x_customheader", a.HTTP.Headers["x_customheader"], "true")
	check("client.ip", a.Client.IP, "127.0.0.1")
	if _, ok := a.HTTP.Headers["x_vegeta_seq"]; ok {
		problems = append(problems, "http.headers echoes x_vegeta_seq")
	}
	if len(problems) > 0 {
		return fmt.Errorf("unexpected answer: %s", strings.Join(problems, "; "))
	}
	return nil
}

// firstLines returns at most n lines of b, for error messages.
func firstLines(b []byte, n int) string {
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}

// redactToken shortens the webhook token in a URL for notes and errors.
func redactToken(u string) string {
	const marker = "/webhooks/"
	i := strings.Index(u, marker)
	if i < 0 {
		return u
	}
	rest := u[i+len(marker):]
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	if end <= 8 {
		return u
	}
	return u[:i+len(marker)] + rest[:6] + "…" + rest[end:]
}
