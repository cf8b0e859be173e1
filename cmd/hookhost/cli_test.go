package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host"
	"github.com/hookhost/hookhost/host/api"
)

const cliTestToken = "cli-test-admin-token"

// testServer is a hookhost server on 127.0.0.1 for CLI tests.
type testServer struct {
	base, dataDir string
}

// startServer starts a server with in-process extensions on a free port
// of 127.0.0.1.
func startServer(t *testing.T) *testServer {
	t.Helper()
	cfg := host.DefaultConfig()
	cfg.DataDir, cfg.AdminToken, cfg.InProcess = t.TempDir(), cliTestToken, true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := host.New(context.Background(), cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &testServer{base: "http://" + ln.Addr().String(), dataDir: cfg.DataDir}
}

// result is what one CLI run printed and its exit status.
type result struct {
	out, err string
	code     int
}

// cli runs hookhost in-process (main's run) with stdin and args.
func cli(stdin string, args ...string) result {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return result{out.String(), errOut.String(), code}
}

// cli runs a client command against s with the admin token.
func (s *testServer) cli(stdin string, args ...string) result {
	return cli(stdin, append(args, "--server", s.base, "--token", cliTestToken)...)
}

// admin calls the admin API directly and fails the test on an error status.
func (s *testServer) admin(t *testing.T, method, path, ctype, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, s.base+"/api/v1"+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+cliTestToken)
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

// webhook creates an automation answering body and a webhook running it,
// and returns the webhook.
func (s *testServer) webhook(t *testing.T, name, job string) api.Webhook {
	t.Helper()
	a, _ := json.Marshal(map[string]string{"name": name, "extension_id": "cerb.trigger.webhook.respond",
		"script": "start:\n  log: hello from " + name + "\n  log.warn: careful\n  return:\n    body: done\n"})
	s.admin(t, "POST", "/automations", "application/json", string(a))
	event := "automation/main:\n  uri: cerb:automation:" + name + "\n" + job
	var w api.Webhook
	require.NoError(t, json.Unmarshal(s.admin(t, "POST", "/webhooks?name="+name, "text/plain", event), &w))
	return w
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.webhook(t, "exit", "")
	closed := freeAddr(t) // nothing listens there
	empty := t.TempDir()  // no admin.token, no server.url
	kata := filepath.Join(t.TempDir(), "event.kata")
	require.NoError(t, os.WriteFile(kata, []byte("automation/main:\n  uri: cerb:automation:exit\n"), 0o600))

	tests := []struct {
		name    string
		args    []string
		server  bool // add --server and --token of the test server
		want    int
		wantErr string // part of stderr
	}{
		{"OK", []string{"webhook", "list"}, true, exitOK, ""},
		{"GroupHelp", []string{"webhook"}, false, exitOK, ""},
		{"UnknownCommand", []string{"webhok", "list"}, false, exitUsage, `unknown command "webhok" for "hookhost"`},
		{"UnknownSubcommand", []string{"webhook", "lst"}, false, exitUsage, `unknown command "lst" for "hookhost webhook"; did you mean list?`},
		{"UnknownFlag", []string{"webhook", "list", "--nope"}, true, exitUsage, "unknown flag: --nope"},
		{"MissingArg", []string{"webhook", "show"}, true, exitUsage, "accepts 1 arg(s), received 0"},
		{"BadFlagValue", []string{"run", "list", "--limit", "many"}, true, exitUsage, `invalid argument "many" for --limit: want a whole number, e.g. 50`},
		{"RequiredFlag", []string{"webhook", "create", "--event", "x"}, true, exitUsage, `required flag(s) "name" not set`},
		{"EventAndEventFile", []string{"webhook", "create", "--name", "x", "--event", "x", "--event-file", kata}, true, exitUsage,
			"if any flags in the group [event event-file] are set none of the others can be"},
		{"NoEvent", []string{"webhook", "create", "--name", "x"}, true, exitUsage, "give the event KATA with --event-file"},
		{"BadOutput", []string{"webhook", "list", "-o", "yaml"}, true, exitUsage, `--output "yaml": want table or json`},
		{"UsageHint", []string{"job", "logs"}, true, exitUsage, "Run 'hookhost job logs --help' for usage."},
		{"NotFound", []string{"webhook", "show", "nope"}, true, exitNotFound, `404 Not Found: no webhook "nope"`},
		{"JobNotFound", []string{"job", "show", "nope"}, true, exitNotFound, "404 Not Found"},
		{"EventFileMissing", []string{"webhook", "create", "--name", "x", "--event-file", filepath.Join(empty, "nope.kata")}, true, exitNotFound, "--event-file: open"},
		{"Invalid", []string{"webhook", "create", "--name", "x", "--event", "automation/x\n  uri: y\n"}, true, exitFailure, "event_kata:1:1"},
		{"WrongToken", []string{"webhook", "list", "--server", s.base, "--token", "wrong"}, false, exitAuth,
			"401 Unauthorized: a valid admin token is required (Authorization: Bearer <token>)\n(called " + s.base + ", from --server, with the token from --token)"},
		{"NoToken", []string{"webhook", "list", "--server", s.base, "--data-dir", empty}, false, exitAuth, "no admin token: set --token or HOOKHOST_TOKEN"},
		{"CannotConnect", []string{"webhook", "list", "--server", "http://" + closed, "--token", "x"}, false, exitConnect,
			"cannot connect to the hookhost server at http://" + closed + " (from --server): dial tcp " + closed + ": connect: connection refused"},
		{"BadServer", []string{"webhook", "list", "--server", "ftp://x", "--token", "x"}, false, exitUsage, `server "ftp://x" (from --server): want a URL such as http://127.0.0.1:8080`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r result
			if tt.server {
				r = s.cli("", tt.args...)
			} else {
				r = cli("", tt.args...)
			}
			require.Equal(t, tt.want, r.code, "stdout: %s\nstderr: %s", r.out, r.err)
			require.Contains(t, r.err, tt.wantErr)
			if tt.want == exitUsage {
				require.Contains(t, r.err, "--help' for usage.")
			}
			for _, goism := range []string{"strconv.", "Go value", "parsing time"} {
				require.NotContains(t, r.err, goism)
			}
		})
	}
	_ = w

	// The root's help ends with the exit statuses.
	r := cli("", "--help")
	require.Equal(t, exitOK, r.code)
	require.True(t, strings.HasSuffix(r.out, exitStatusHelp), "%s", r.out)
	require.NotContains(t, cli("", "webhook", "--help").out, "Exit status:")
}

func TestFlagValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"1048576", 1048576, true},
		{"1MiB", 1 << 20, true},
		{"1MB", 1_000_000, true},
		{"512KiB", 512 << 10, true},
		{"512k", 512 << 10, true},
		{" 4 mb ", 4_000_000, true},
		{"1.5M", 3 << 19, true},
		{"10B", 10, true},
		{"1MBx", 0, false},
		{"MB", 0, false},
		{"-1MB", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseSize(tt.in)
		require.Equal(t, tt.ok, ok, "%q", tt.in)
		require.Equal(t, tt.want, got, "%q", tt.in)
	}
	// From the command line, the environment and the config file alike.
	r := cli("", "serve", "--body-limit", "1MBx")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.err, `invalid argument "1MBx" for "--body-limit" flag: want a size in bytes, e.g. 1048576, 512KiB or 4MB`)
	r = cli("", "serve", "--body-memory-per-client", "-1")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.err, `invalid argument "-1" for --body-memory-per-client: want a size in bytes`)
	var perClient = host.BodyMemoryPerClientAuto
	v := autoSizeValue{&perClient, host.BodyMemoryPerClientAuto}
	require.Empty(t, v.String(), "the default shows as none: it follows from --body-memory")
	require.NoError(t, v.Set("0"))
	require.Equal(t, "0", v.String())
	require.NoError(t, v.Set("64MiB"))
	require.Equal(t, 64<<20, perClient)
	r = cli("", "serve", "--request-timeout", "5")
	require.Contains(t, r.err, "want a duration such as 500ms, 30s, 5m or 1h")
	r = cli("", "serve", "--in-process=maybe")
	require.Contains(t, r.err, "want true or false")
	path := filepath.Join(t.TempDir(), "hookhost.yaml")
	require.NoError(t, os.WriteFile(path, []byte("body-limit: 1GB\nmax-header-bytes: lots\n"), 0o600))
	r = cli("", "config", "check", path)
	require.Equal(t, exitFailure, r.code, "%s", r.err)
	require.Contains(t, r.err, `max-header-bytes: invalid argument "lots" for "--max-header-bytes" flag: want a size in bytes`)
	require.NotContains(t, r.err, "body-limit")
	require.NotContains(t, r.err, "strconv")
}

func TestWebhookUpdate(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.webhook(t, "first", "")
	s.webhook(t, "second", "") // its automation is the new target
	get := func() api.Webhook {
		var got api.Webhook
		require.NoError(t, json.Unmarshal(s.admin(t, "GET", "/webhooks/"+w.ID, "", ""), &got))
		return got
	}
	dir := t.TempDir()
	event := filepath.Join(dir, "event.kata")
	require.NoError(t, os.WriteFile(event, []byte("automation/main:\n  uri: cerb:automation:second\n"), 0o600))
	future := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)

	r := s.cli("", "webhook", "update", w.ID, "--event-file", event, "--name", "renamed", "--debug", "--expires", future.Format(time.RFC3339))
	require.Equal(t, exitOK, r.code, r.err)
	require.Equal(t, "webhook "+w.ID+" (renamed) updated: name, event KATA, debug, expiry\n", r.out)
	got := get()
	require.Equal(t, "renamed", got.Name)
	require.Contains(t, got.EventKATA, "cerb:automation:second")
	require.True(t, got.Debug)
	require.True(t, got.Enabled)
	require.NotNil(t, got.ExpiresAt)
	require.True(t, future.Equal(*got.ExpiresAt))

	// Only what is given changes.
	r = s.cli("automation/main:\n  uri: cerb:automation:first\n", "webhook", "update", w.ID, "--event-file", "-", "--no-debug", "--no-expiry")
	require.Equal(t, exitOK, r.code, r.err)
	got = get()
	require.Equal(t, "renamed", got.Name)
	require.Contains(t, got.EventKATA, "cerb:automation:first")
	require.False(t, got.Debug)
	require.Nil(t, got.ExpiresAt)

	r = s.cli("", "webhook", "update", w.ID, "--expires", "720h", "-o", "json")
	require.Equal(t, exitOK, r.code, r.err)
	require.NoError(t, json.Unmarshal([]byte(r.out), &got), r.out)
	require.NotNil(t, got.ExpiresAt)

	tests := []struct {
		name    string
		args    []string
		want    int
		wantErr string
	}{
		{"Nothing", []string{}, exitUsage, "nothing to change"},
		{"DebugAndNoDebug", []string{"--debug", "--no-debug"}, exitUsage, "[debug no-debug]"},
		{"ExpiresAndNoExpiry", []string{"--expires", "1h", "--no-expiry"}, exitUsage, "[expires no-expiry]"},
		{"EventAndEventFile", []string{"--event", "x", "--event-file", event}, exitUsage, "[event event-file]"},
		{"BadExpiry", []string{"--expires", "tomorrow"}, exitUsage, `--expires "tomorrow": want an RFC 3339 time`},
		{"PastExpiry", []string{"--expires", "2020-01-02T00:00:00Z"}, exitFailure, "expires_at 2020-01-02T00:00:00Z is not in the future"},
		{"BadKATA", []string{"--event", "automation/x\n  uri: y\n"}, exitFailure, "event_kata:1:1"},
		{"Unknown", []string{"--name", "x", "--id", "nope"}, exitUsage, "unknown flag: --id"},
	}
	for _, tt := range tests {
		r := s.cli("", append([]string{"webhook", "update", w.ID}, tt.args...)...)
		require.Equal(t, tt.want, r.code, "%s: %s", tt.name, r.err)
		require.Contains(t, r.err, tt.wantErr, tt.name)
	}
	require.Equal(t, exitNotFound, s.cli("", "webhook", "update", "nope", "--name", "x").code)
	require.Equal(t, "renamed", get().Name, "refused updates changed nothing")
}

func TestWebhookSigningSecret(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.webhook(t, "signed", "")
	show := func(args ...string) string {
		t.Helper()
		r := s.cli("", append([]string{"webhook", "signing-secret", w.ID}, args...)...)
		require.Equal(t, exitOK, r.code, r.err)
		return r.out
	}
	first := show()
	require.Regexp(t, `^whsec_[A-Za-z0-9+/=]+\n$`, first)
	require.Equal(t, first, show(), "showing it does not change it")
	rotated := show("--rotate")
	require.NotEqual(t, first, rotated)
	require.Equal(t, rotated, show())
	var js api.SigningSecret
	require.NoError(t, json.Unmarshal([]byte(show("-o", "json")), &js))
	require.Equal(t, w.ID, js.WebhookID)
	require.Equal(t, strings.TrimSpace(rotated), js.SigningSecret)
	require.Equal(t, exitNotFound, s.cli("", "webhook", "signing-secret", "nope").code)
}

// TestJobLogsFollow follows a real job to its end.
func TestJobLogsFollow(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.webhook(t, "queued", "  job:\n    max_attempts@int: 1\n")
	resp, err := http.Post(s.base+"/webhooks/"+w.Token, "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	var ids api.JobIDs
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ids))
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Len(t, ids.JobIDs, 1)

	r := s.cli("", "job", "logs", ids.JobIDs[0], "--follow", "--interval", "100ms")
	require.Equal(t, exitOK, r.code, r.err)
	require.Contains(t, r.out, "Output   start:log:  hello from queued\nWarning  start:log.warn:  careful\n")
	require.Equal(t, 1, strings.Count(r.out, "careful"), r.out)
	require.Equal(t, "job "+ids.JobIDs[0]+" Completed\n", r.err)

	r = s.cli("", "job", "logs", ids.JobIDs[0], "-f", "--interval", "10ms")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.err, "--interval 10ms: want 100ms to 1m0s")
	require.Equal(t, exitNotFound, s.cli("", "job", "logs", "nope", "-f").code)
}

// jobScript is a fake GET /api/v1/jobs/{id}: each request answers the next
// state, the last one for ever.
type jobScript struct {
	mu    sync.Mutex
	steps []api.Job
	polls int
}

func (j *jobScript) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j.mu.Lock()
	step := j.steps[min(j.polls, len(j.steps)-1)]
	j.polls++
	j.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(step)
}

// TestJobLogsFollowPrintsEachEntryOnce drives --follow with a scripted
// server: entries arriving over several polls are printed once each, a
// stream that restarts (a new attempt) is printed again, and following
// stops at the first final state without asking again.
func TestJobLogsFollowPrintsEachEntryOnce(t *testing.T) {
	t.Parallel()
	e := func(msgs ...string) []api.LogEntry {
		out := make([]api.LogEntry, len(msgs))
		for i, m := range msgs {
			out[i] = api.LogEntry{Level: 7, Message: m}
		}
		return out
	}
	job := func(state string, out []api.LogEntry, warn []api.LogEntry) api.Job {
		return api.Job{ID: "j1", State: state, Streams: &api.Streams{Output: out, Warning: warn}}
	}
	script := &jobScript{steps: []api.Job{
		{ID: "j1", State: "Queued"},
		job("Running", e("one"), nil),
		job("Running", e("one", "two"), e("w1")),
		job("Retrying", e("one", "two"), e("w1")),
		job("Running", e("again"), e("w1")),
		job("Failed", e("again", "three"), e("w1", "w2")),
		job("Failed", e("never"), nil),
	}}
	ts := httptest.NewServer(script)
	t.Cleanup(ts.Close)

	r := cli("", "job", "logs", "j1", "--follow", "--interval", "100ms", "--server", ts.URL, "--token", "t")
	require.Equal(t, exitOK, r.code, r.err)
	require.Equal(t, "Output   -  one\nOutput   -  two\nWarning  -  w1\nOutput   -  again\nOutput   -  three\nWarning  -  w2\n", r.out)
	require.Equal(t, "job j1 Failed\n", r.err)
	script.mu.Lock()
	require.Equal(t, 6, script.polls, "one poll per state up to the final one")
	script.mu.Unlock()

	script.polls = 0
	r = cli("", "job", "logs", "j1", "-f", "--interval", "100ms", "-o", "json", "--server", ts.URL, "--token", "t")
	require.Equal(t, exitOK, r.code, r.err)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	require.Len(t, lines, 6)
	require.JSONEq(t, `{"stream":"Output","level":7,"message":"one"}`, lines[0])
}

func TestExtListTable(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.cli("", "ext", "list")
	require.Equal(t, exitOK, r.code, r.err)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	require.Regexp(t, `^NAME\s+STATE\s+VERSION\s+PIDS\s+RESTARTS\s+IN FLIGHT\s+ERROR$`, lines[0])
	require.Regexp(t, `(?m)^webhook\s+\S+\s+\S+\s+\S+\s+0\s+0\s*$`, r.out)
	r = s.cli("", "ext", "list", "-o", "json")
	var list api.ExtensionList
	require.NoError(t, json.Unmarshal([]byte(r.out), &list), r.out)
	require.NotEmpty(t, list.Extensions)
}

func TestVersion(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.cli("", "version")
	require.Equal(t, exitOK, r.code, r.err)
	require.Regexp(t, `^client: dev \(go[0-9.]+\S*\)\nserver: \S+ \(go[0-9.]+\S*\)\n$`, r.out)
	r = s.cli("", "version", "-o", "json")
	var info versionInfo
	require.NoError(t, json.Unmarshal([]byte(r.out), &info), r.out)
	require.NotNil(t, info.Server)

	// An unreachable server is reported, and the client's version shown.
	r = cli("", "version", "--server", "http://"+freeAddr(t), "--token", "x")
	require.Equal(t, exitOK, r.code, r.err)
	require.Regexp(t, `^client: dev \(go\S+\)\n$`, r.out)
	require.Contains(t, r.err, "server: unknown: cannot connect to the hookhost server at")
	r = cli("", "version", "--client", "--server", "http://"+freeAddr(t))
	require.Equal(t, exitOK, r.code, r.err)
	require.Empty(t, r.err)
}

func TestTimesShowTheirZone(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		loc  *time.Location
		want string
	}{
		{time.UTC, "2027-01-02 15:04:05 UTC"},
		{time.FixedZone("CET", 3600), "2027-01-02 16:04:05 CET"},
		{time.FixedZone("", -5*3600), "2027-01-02 10:04:05 -0500"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, formatTime(at, tt.loc))
	}
	require.Equal(t, "-", formatTime(time.Time{}, time.UTC))

	s := startServer(t)
	s.webhook(t, "zoned", "")
	r := s.cli("", "webhook", "list")
	require.Equal(t, exitOK, r.code, r.err)
	require.Regexp(t, `(?m)^\S+\s+zoned\s+true\s+-\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z+-][A-Za-z0-9+-]*\s*$`, r.out)
}

func TestAutomationApplyRoundTrip(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "respond.kata")
	require.NoError(t, os.WriteFile(script, []byte("start:\n  return:\n    body: one\n"), 0o600))
	r := s.cli("", "automation", "apply", "-f", script, "--name", "round.trip", "--description", "first")
	require.Equal(t, exitOK, r.code, r.err)

	shown := s.cli("", "automation", "show", "round.trip", "-o", "json")
	require.Equal(t, exitOK, shown.code, shown.err)
	var before api.Automation
	require.NoError(t, json.Unmarshal([]byte(shown.out), &before))

	// What show -o json printed applies as it is, and changes nothing but
	// the revision.
	file := filepath.Join(dir, "a.json")
	require.NoError(t, os.WriteFile(file, []byte(shown.out), 0o600))
	r = s.cli("", "automation", "apply", "-f", file)
	require.Equal(t, exitOK, r.code, r.err)
	require.Equal(t, "automation round.trip at revision 2\n", r.out)
	require.Equal(t, "note: "+file+": ignoring the read-only fields created_at, id, revision, updated_at (the server sets them)\n", r.err)
	var after api.Automation
	require.NoError(t, json.Unmarshal([]byte(s.cli("", "automation", "show", "round.trip", "-o", "json").out), &after))
	before.Revision, before.UpdatedAt, after.Revision, after.UpdatedAt = 0, time.Time{}, 0, time.Time{}
	require.Equal(t, before, after)

	// An edited copy, and what list -o json prints, apply too.
	edited := strings.Replace(shown.out, `"description": "first"`, `"description": "edited"`, 1)
	require.NoError(t, os.WriteFile(file, []byte(edited), 0o600))
	require.Equal(t, exitOK, s.cli("", "automation", "apply", "-f", file).code)
	listed := s.cli("", "automation", "list", "-o", "json")
	require.Contains(t, listed.out, `"description": "edited"`)
	require.NoError(t, os.WriteFile(file, []byte(listed.out), 0o600))
	r = s.cli("", "automation", "apply", "-f", file)
	require.Equal(t, exitOK, r.code, r.err)
	require.Equal(t, "automation round.trip at revision 4\n", r.out)

	// Other fields are still refused by the server.
	require.NoError(t, os.WriteFile(file, []byte(`{"name":"round.trip","scrpit":"x"}`), 0o600))
	r = s.cli("", "automation", "apply", "-f", file)
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.err, `unknown field "scrpit"`)
}

// TestServerURLFile checks that client commands find the server through
// <data dir>/server.url when --server and HOOKHOST_SERVER are not given,
// and that failures say which server was called and why.
func TestServerURLFile(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.webhook(t, "found", "")
	// The test server's data dir has its admin.token only when generated;
	// this one is given by configuration, so write one for the CLI.
	dataDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dataDir, "admin.token"), []byte(cliTestToken+"\n"), 0o600))
	require.NoError(t, api.WriteServerURL(dataDir, s.base))
	b, err := os.ReadFile(filepath.Join(dataDir, api.ServerURLFile))
	require.NoError(t, err)
	require.Equal(t, s.base+"\n", string(b))

	r := cli("", "webhook", "list", "--data-dir", dataDir)
	require.Equal(t, exitOK, r.code, r.err)
	require.Contains(t, r.out, "found")

	// --server wins over the file.
	closed := "http://" + freeAddr(t)
	r = cli("", "webhook", "list", "--data-dir", dataDir, "--server", closed)
	require.Equal(t, exitConnect, r.code)

	// A stale file is named in the error.
	require.NoError(t, api.WriteServerURL(dataDir, closed))
	r = cli("", "webhook", "list", "--data-dir", dataDir)
	require.Equal(t, exitConnect, r.code, r.err)
	require.Contains(t, r.err, "cannot connect to the hookhost server at "+closed+" (from "+filepath.Join(dataDir, api.ServerURLFile)+" (written by hookhost serve))")

	// Without the file, the default, and a 401 says where it called.
	require.NoError(t, api.RemoveServerURL(dataDir, closed))
	_, err = os.Stat(filepath.Join(dataDir, api.ServerURLFile))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, api.WriteServerURL(dataDir, s.base))
	require.NoError(t, api.RemoveServerURL(dataDir, "http://other"), "another server's file is left alone")
	require.NoError(t, os.WriteFile(filepath.Join(dataDir, "admin.token"), []byte("stale\n"), 0o600))
	r = cli("", "webhook", "list", "--data-dir", dataDir)
	require.Equal(t, exitAuth, r.code, r.err)
	require.Contains(t, r.err, "(called "+s.base+", from "+filepath.Join(dataDir, api.ServerURLFile)+" (written by hookhost serve), with the token from "+filepath.Join(dataDir, "admin.token")+")")
}

// TestLocalURL checks the base URL of webhook URLs (without --public-url)
// and of data/server.url: the configured host, the port bound, and a
// loopback host for an unspecified one.
func TestLocalURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		listen, bound   string
		tls             bool
		want            string
		wantUnspecified bool
	}{
		{name: "Loopback", listen: "127.0.0.1:28471", want: "http://127.0.0.1:28471"},
		{name: "PortZeroBound", listen: "127.0.0.1:0", bound: "127.0.0.1:41234", want: "http://127.0.0.1:41234"},
		{name: "PortZeroNotBound", listen: "127.0.0.1:0", want: "http://127.0.0.1:0"},
		{name: "NoHost", listen: ":8080", want: "http://127.0.0.1:8080", wantUnspecified: true},
		{name: "NoHostBoundDualStack", listen: ":0", bound: "[::]:41234", want: "http://127.0.0.1:41234", wantUnspecified: true},
		{name: "IPv4Unspecified", listen: "0.0.0.0:8080", bound: "0.0.0.0:8080", want: "http://127.0.0.1:8080", wantUnspecified: true},
		{name: "IPv6Unspecified", listen: "[::]:8080", tls: true, want: "https://[::1]:8080", wantUnspecified: true},
		{name: "IPv6Loopback", listen: "[::1]:9", bound: "[::1]:9", want: "http://[::1]:9"},
		{name: "HostNameKept", listen: "localhost:0", bound: "127.0.0.1:5555", want: "http://localhost:5555"},
		{name: "NoPort", listen: "hooks.internal", want: "http://hooks.internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var bound net.Addr
			if tt.bound != "" {
				addr, err := net.ResolveTCPAddr("tcp", tt.bound)
				require.NoError(t, err)
				bound = addr
			}
			got, unspecified := api.LocalURL(tt.listen, bound, tt.tls)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantUnspecified, unspecified)
		})
	}
}

// TestWebhookShow_UpstreamSubscriptions shows a webhook's subscribe block's
// state: this server does not allow private addresses, so the outbound
// guard refuses the loopback upstream and the error shows.
func TestWebhookShow_UpstreamSubscriptions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w := s.webhook(t, "upstream", "subscribe/up:\n  url: http://127.0.0.1:9/hooks\n  body:\n    url: {{webhook_url}}\n")
	var out string
	for range 1000 {
		r := s.cli("", "webhook", "show", w.ID)
		require.Equal(t, exitOK, r.code, r.err)
		if out = r.out; strings.Contains(out, "last error:") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.Regexp(t, `(?m)^upstream subscriptions:\n  subscribe/up: (pending|failed), \d+ attempts, .+\n    last error: refused by the outbound guard: .*loopback`, out)
}
