package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// query is the query string of every request (the Cerb guide's curl).
const query = "?key=value"

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
// `... ext serve ...` process of srv that ran it. It returns that process's
// command line, or why the target did not run out of process. When /proc
// cannot tell, it returns neither and the target is measured anyway.
func checkExtensionProcess(srv *server) (cmdline, skip string) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return "", ""
	}
	for _, c := range srv.proc.children() {
		if strings.Contains(c, " ext serve") {
			return c, ""
		}
	}
	return "", "no `ext serve` child process of hookhost serve was found " +
		"(the server ran the automation in-process)"
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
