package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
)

// lineWriter is a writer safe for concurrent use that hands each complete
// line to lines as it is written.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 64)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf.Next(i + 1))
		select {
		case w.lines <- strings.TrimSuffix(line, "\n"):
		default: // nobody reads that many: the test fails on what it waits for
		}
	}
}

// waitLine returns the first line written from now on that holds want;
// it fails the test when the writer is quiet for a minute (an upper
// bound, not a timing assertion).
func (w *lineWriter) waitLine(t *testing.T, want string) string {
	t.Helper()
	for {
		select {
		case l := <-w.lines:
			if strings.Contains(l, want) {
				return l
			}
		case <-time.After(time.Minute):
			t.Fatalf("no line with %q", want)
		}
	}
}

// requestServer is a test server with a webhook checking a header token.
func requestServer(t *testing.T) (*testServer, api.Webhook) {
	t.Helper()
	s := startServer(t)
	a, _ := json.Marshal(map[string]string{"name": "echo.req", "extension_id": "cerb.trigger.webhook.respond",
		"script":      "start:\n  http.request:\n    output: r\n    inputs:\n      url: http://127.0.0.1:9/never\n    on_simulate:\n      simulate.success:\n        body: simulated\n    on_error:\n      log: not sent\n  return:\n    body: echo {{request_body}} {{r.body}}\n",
		"policy_kata": "commands:\n  http.request:\n    allow@bool: yes\n"})
	s.admin(t, "POST", "/automations", "application/json", string(a))
	event := "verify/key:\n  type: header\n  header: X-Key\n  token: the-cli-key\nautomation/main:\n  uri: cerb:automation:echo.req\n"
	var w api.Webhook
	require.NoError(t, json.Unmarshal(s.admin(t, "POST", "/webhooks?name=req", "text/plain", event), &w))
	return s, w
}

// send posts body to the webhook's URL on s.
func (s *testServer) send(t *testing.T, w api.Webhook, body string, headers ...string) int {
	t.Helper()
	i := strings.Index(w.URL, "/webhooks/")
	req, err := http.NewRequest("POST", s.base+w.URL[i:], strings.NewReader(body))
	require.NoError(t, err)
	for k := 0; k+1 < len(headers); k += 2 {
		req.Header.Set(headers[k], headers[k+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestRequestCommands drives request list/show/replay/explain, dry-run
// and verify-lab against a real server.
func TestRequestCommands(t *testing.T) {
	t.Parallel()
	s, w := requestServer(t)
	require.Equal(t, http.StatusOK, s.send(t, w, "first", "X-Key", "the-cli-key"))
	require.Equal(t, http.StatusUnauthorized, s.send(t, w, "second", "X-Key", "wrong"))

	// Records are written off the request path: list until both are there.
	var all api.RunList
	for len(all.Runs) < 2 {
		r := s.cli("", "request", "list", "--webhook", w.ID, "-o", "json")
		require.Equal(t, exitOK, r.code, r.err)
		require.NoError(t, json.Unmarshal([]byte(r.out), &all))
	}
	refused, ok := all.Runs[0], all.Runs[1]
	require.Equal(t, "verify", refused.Cause)

	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string // each must be in stdout
		not  []string // none may be
		err  string
	}{
		{name: "ListByCause", args: []string{"request", "list", "--cause", "verify", "--since", "1h"}, code: exitOK,
			out: []string{"ID", "CAUSE", refused.ID, "verify/key: token does not match"}, not: []string{ok.ID}},
		{name: "ListByStatus", args: []string{"request", "list", "--status", "2xx", "--search", "first"}, code: exitOK,
			out: []string{ok.ID}, not: []string{refused.ID}},
		{name: "ListBadSince", args: []string{"request", "list", "--since", "yesterday"}, code: exitUsage,
			err: `--since "yesterday": want an RFC 3339 time (2027-01-02T15:04:05Z) or a duration (90m, 24h)`},
		{name: "ListBadStatus", args: []string{"request", "list", "--status", "9xx"}, code: exitFailure, err: "status must be a status class"},
		{name: "Show", args: []string{"request", "show", ok.ID}, code: exitOK, out: []string{`"id": "` + ok.ID + `"`, "[redacted]"},
			not: []string{"the-cli-key"}},
		{name: "Replay", args: []string{"request", "replay", ok.ID}, code: exitOK,
			out: []string{"replayed as request ", "answered 200", "echo first"}},
		{name: "Explain", args: []string{"request", "explain", refused.ID}, code: exitOK,
			out: []string{"request " + refused.ID + ": 401 (verify/key: token does not match)", "verify/key (header): unknown",
				"unknown  header X-Key: present; the record redacts its value", "note: records redact credential headers"}},
		{name: "ExplainNotFound", args: []string{"request", "explain", "0190b1a4-0000-7000-8000-000000000000"}, code: exitNotFound},
		{name: "DryRunComposed", args: []string{"dry-run", w.ID, "--header", "X-Key: the-cli-key", "--body", "hi", "--query", "a=b"}, code: exitOK,
			out: []string{"verify/key (header): pass", "handler: automation/main runs echo.req",
				"side effect: http.request (start:http.request:) not run; on_simulate: ran instead", "answered 200", "echo hi simulated"}},
		{name: "DryRunRecorded", args: []string{"dry-run", w.ID, "--record", refused.ID}, code: exitOK,
			out: []string{"verify/key (header): unknown", "echo second simulated", "note: the request of record " + refused.ID}},
		{name: "DryRunRecordAndFlags", args: []string{"dry-run", w.ID, "--record", refused.ID, "--body", "x"}, code: exitUsage,
			err: "--record takes the recorded request as it is"},
		{name: "DryRunBadHeader", args: []string{"dry-run", w.ID, "--header", "nocolon"}, code: exitUsage, err: `--header "nocolon": want Name:value`},
		{name: "DryRunBodyFileMissing", args: []string{"dry-run", w.ID, "--body-file", "/nonexistent/body"}, code: exitNotFound},
		{name: "VerifyLab", args: []string{"verify-lab", w.ID}, code: exitOK,
			out: []string{"# verify/key (header)", `curl -X POST -H 'X-Key: <the token, value #1 written in verify/key>' -H 'Content-Type: application/json' --data-binary '{"hello":"world"}' "${WEBHOOK_URL}"`},
			not: []string{"the-cli-key"}},
		{name: "VerifyLabNotFound", args: []string{"verify-lab", "nope"}, code: exitNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.cli("", tc.args...)
			require.Equal(t, tc.code, r.code, "stdout: %s\nstderr: %s", r.out, r.err)
			for _, o := range tc.out {
				require.Contains(t, r.out, o)
			}
			for _, o := range tc.not {
				require.NotContains(t, r.out, o)
			}
			require.Contains(t, r.err, tc.err)
		})
	}

	// -o json prints the API's answer.
	r := s.cli("", "dry-run", w.ID, "--body", "x", "-o", "json")
	require.Equal(t, exitOK, r.code, r.err)
	var dr api.DryRun
	require.NoError(t, json.Unmarshal([]byte(r.out), &dr))
	require.Equal(t, "automation/main", dr.Handler)
	require.Equal(t, "fail", dr.Verify[0].Verdict)
}

// TestTail prints requests as they happen, until interrupted (exit 0).
func TestTail(t *testing.T) {
	t.Parallel()
	s, w := requestServer(t)
	out, errOut := newLineWriter(), newLineWriter()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"tail", "--webhook", w.ID, "--server", s.base, "--token", cliTestToken}, strings.NewReader(""), out, errOut)
	}()
	// The stream is open once the server has it: send until a line comes.
	var line string
	for line == "" {
		require.Equal(t, http.StatusUnauthorized, s.send(t, w, "x"))
		select {
		case l := <-out.lines:
			if strings.Contains(l, "request  ") {
				line = l
			}
		case <-time.After(100 * time.Millisecond): // not an assertion: send again
		}
	}
	require.Contains(t, line, "request  401  webhook "+w.ID)
	require.Contains(t, line, "refused: verify")
	cancel()
	require.Equal(t, exitOK, <-done)

	r := cli("", "tail", "--server", s.base, "--token", "wrong")
	require.Equal(t, exitAuth, r.code, r.err)
}

// TestTail_Reconnects reads a stream that drops after one event: tail
// says so on stderr, opens it again and prints the next event.
func TestTail_Reconnects(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	conns := 0
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/api/v1/events" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		conns++
		n := conns
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		ev := fmt.Sprintf(`{"type":"job","data":{"job_id":"job-%d","state":"Running","attempt":%d,"at":"2027-01-02T15:04:05Z"}}`, n, n)
		fmt.Fprintf(w, ": hookhost events\n\nevent: job\ndata: %s\n\n", ev)
		w.(http.Flusher).Flush()
		if n > 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	out, errOut := newLineWriter(), newLineWriter()
	c := &client{base: srv.URL, from: "--server", token: "tok", tokenFrom: "--token", http: &http.Client{}, output: "table", out: out, errOut: errOut}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tailEvents(ctx, c, tailOptions{path: "/api/v1/events", retry: time.Millisecond, retryMax: 10 * time.Millisecond})
	}()
	require.Contains(t, out.waitLine(t, "job-1"), "job      Running  attempt 1  job-1")
	require.Contains(t, errOut.waitLine(t, "reconnecting"), "the event stream ended; reconnecting in 1ms")
	require.Contains(t, out.waitLine(t, "job-2"), "attempt 2")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

// TestTail_ReconnectsWhereServerURLPoints: a server that started again on
// another port wrote its new address to <data dir>/server.url; tail reads
// it again when it reconnects, unless --server named the server (review
// revops: it kept calling the address it read at start).
func TestTail_ReconnectsWhereServerURLPoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fromFile bool   // the server came from server.url
		want     string // the server of the stream after the reconnection
	}{
		{"FromServerURLFile", true, "B"},
		{"FromServerFlag", false, "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			release := make(chan struct{})
			// stream sends one event of server name, then ends the
			// stream (first) or holds it.
			stream := func(name string, w http.ResponseWriter, r *http.Request, attempt int, end bool) {
				w.Header().Set("Content-Type", "text/event-stream")
				ev := fmt.Sprintf(`{"type":"job","data":{"job_id":"job-%s","state":"Running","attempt":%d,"at":"2027-01-02T15:04:05Z"}}`, name, attempt)
				fmt.Fprintf(w, ": hookhost events\n\nevent: job\ndata: %s\n\n", ev)
				w.(http.Flusher).Flush()
				if !end {
					select {
					case <-release:
					case <-r.Context().Done():
					}
				}
			}
			b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				stream("B", w, r, 2, false)
			}))
			t.Cleanup(b.Close)
			var mu sync.Mutex
			conns := 0
			a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				conns++
				n := conns
				mu.Unlock()
				if n == 1 {
					// The server moves: its new address is in the file
					// before this stream ends.
					require.NoError(t, api.WriteServerURL(dir, b.URL))
				}
				stream("A", w, r, n, n == 1)
			}))
			t.Cleanup(a.Close)
			require.NoError(t, api.WriteServerURL(dir, a.URL))

			args := []string{"--data-dir", dir, "--token", "tok"}
			if !tt.fromFile {
				args = append(args, "--server", a.URL)
			}
			cl := &clientFlags{}
			tail := &cobra.Command{Use: "tail"}
			cl.register(tail)
			require.NoError(t, tail.ParseFlags(args))
			c, err := cl.client(tail)
			require.NoError(t, err)
			out, errOut := newLineWriter(), newLineWriter()
			c.out, c.errOut = out, errOut

			ctx, cancel := context.WithCancel(context.Background())
			// Before the servers close (cleanups run last first): their
			// Close waits for the streams.
			t.Cleanup(func() { cancel(); close(release) })
			done := make(chan error, 1)
			go func() {
				done <- tailEvents(ctx, c, tailOptions{path: "/api/v1/events", retry: time.Millisecond, retryMax: 10 * time.Millisecond})
			}()
			require.Contains(t, out.waitLine(t, "attempt 1"), "job-A")
			require.Contains(t, out.waitLine(t, "attempt 2"), "job-"+tt.want)
			if tt.fromFile {
				require.Contains(t, errOut.waitLine(t, "the server is now at"), b.URL)
			}
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
		})
	}
}
