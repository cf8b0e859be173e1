package main

// The executable README: TestREADME runs every shell and KATA block of
// README.md and docs/*.md (except the generated docs/reference.md) against
// real servers on 127.0.0.1, in order, as a newcomer pastes them.
//
// What a fenced block's info string and the line before it say:
//
//	```sh                  runs with bash (set -euo pipefail) in the work dir;
//	```bash                variables, exports and cd carry over to the next
//	                       block, as in one terminal
//	```sh server           a command that keeps running (a server, started in a
//	                       second terminal): run in the background until the
//	                       document ends; the next block waits until it answers
//	                       /healthz on its address
//	```kata file=NAME      written to NAME in the work dir (any language may
//	                       carry file=); a later shell block must use NAME
//	```http output         what the shell block before it prints (any language
//	                       may carry output): every non-blank line must appear
//	                       in the output, whole and in this order; "…" or "..."
//	                       in a line (with the blanks around it) matches any
//	                       text, so a table keeps its columns; lines the
//	                       block leaves out are allowed, so headers such as
//	                       Date need not be shown, but a changed value or
//	                       order fails
//	<!-- not run: why -->  on the line before a fence: the block is not run
//	                       (and its output block is not compared)
//
// A fence needs a language ("text" for plain text); a kata block needs file=,
// output or a not-run comment; other blocks (text, json) are not run.
//
// Each document gets a fresh work dir that looks like a clone (the repository's
// top-level entries linked in, bin/hookhost built from this tree) and starts
// with the server `make run` starts (the command `make -n run` prints, run
// in the work dir), so data/admin.token and data/example-webhook.url exist as
// after make run. Every address 127.0.0.1:PORT or localhost:PORT in a block is
// rewritten to a free port of this machine (the same PORT, the same free
// port), so 127.0.0.1:8080 is where that server listens; HOOKHOST_SERVER and
// HOOKHOST_LISTEN point there, as the defaults would. HOOKHOST_TOKEN is not
// set: the documents must say how to get it. A `hookhost` found on PATH fails
// (the documents say bin/hookhost). HOME is a temp dir whose .curlrc turns
// curl's progress meter off, as on a terminal. No traffic leaves 127.0.0.1:
// blocks that would reach another host are marked not run.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// mdBlock is one fenced block of a Markdown document.
type mdBlock struct {
	Line   int    // line of the opening fence (1-based)
	Lang   string // first word of the info string
	File   string // file=NAME
	Output bool   // shows what the shell block before it prints
	Server bool   // a shell block that keeps running
	NotRun string // the reason of a <!-- not run: reason --> before it
	Text   string // the content, with a final newline
}

func (b mdBlock) shell() bool {
	switch b.Lang {
	case "sh", "bash", "shell":
		return !b.Output && b.File == ""
	}
	return false
}

var (
	fenceRe  = regexp.MustCompile("^( {0,3})(`{3,}|~{3,})(.*)$")
	notRunRe = regexp.MustCompile(`^<!--\s*not run\b:?(.*?)-->$`)
	wildRe   = regexp.MustCompile(`[ \t]*(?:…|\.\.\.)[ \t]*`)
	addrRe   = regexp.MustCompile(`\b(127\.0\.0\.1|localhost):([0-9]{2,5})\b`)
)

// parseBlocks returns the fenced blocks of a Markdown document, and every
// problem with the markers (all at once, with line numbers).
func parseBlocks(src string) ([]mdBlock, error) {
	var (
		blocks   []mdBlock
		errs     []error
		prev     string // last non-blank line outside a fence
		cur      *mdBlock
		fence    string
		indent   int
		lines    = strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
		body     strings.Builder
		problemf = func(line int, format string, args ...any) {
			errs = append(errs, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...)))
		}
	)
	for i, line := range lines {
		n := i + 1
		if cur != nil {
			if t := strings.TrimSpace(line); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				cur.Text = body.String()
				blocks = append(blocks, *cur)
				cur, prev = nil, ""
				continue
			}
			for k := 0; k < indent && strings.HasPrefix(line, " "); k++ {
				line = line[1:]
			}
			body.WriteString(line)
			body.WriteByte('\n')
			continue
		}
		m := fenceRe.FindStringSubmatch(line)
		if m == nil {
			if strings.TrimSpace(line) != "" {
				prev = strings.TrimSpace(line)
			}
			continue
		}
		b := mdBlock{Line: n}
		indent, fence = len(m[1]), m[2]
		words := strings.Fields(m[3])
		if len(words) == 0 {
			problemf(n, "a fence needs a language (sh, kata, http, json, text, ...)")
		} else {
			b.Lang = words[0]
		}
		for _, w := range words[min(1, len(words)):] {
			switch {
			case w == "output":
				b.Output = true
			case w == "server":
				b.Server = true
			case strings.HasPrefix(w, "file="):
				b.File = strings.TrimPrefix(w, "file=")
				if b.File == "" || filepath.IsAbs(b.File) || strings.HasPrefix(filepath.Clean(b.File), "..") {
					problemf(n, "file=%q must name a file in the work dir", b.File)
				}
			default:
				problemf(n, "unknown word %q in the info string (want file=NAME, output or server)", w)
			}
		}
		if nr := notRunRe.FindStringSubmatch(prev); nr != nil {
			b.NotRun = strings.TrimSpace(nr[1])
			if b.NotRun == "" {
				problemf(n, "a not-run comment says why: <!-- not run: reason -->")
			}
		}
		switch {
		case b.Output && (b.File != "" || b.Server):
			problemf(n, "an output block is not a file or a server")
		case b.Server && !b.shell():
			problemf(n, "server is for shell blocks")
		case b.Lang == "kata" && b.File == "" && !b.Output && b.NotRun == "":
			problemf(n, "a kata block needs file=NAME (and a shell block that uses it), output, or <!-- not run: reason -->")
		}
		body.Reset()
		cur = &b
	}
	if cur != nil {
		problemf(cur.Line, "the fence is never closed")
	}
	// Each file is used by a shell block that runs after it, and each
	// output block follows a shell block.
	for i, b := range blocks {
		if b.File != "" && b.NotRun == "" {
			used := false
			for _, c := range blocks[i+1:] {
				if c.shell() && c.NotRun == "" && strings.Contains(c.Text, b.File) {
					used = true
					break
				}
			}
			if !used {
				problemf(b.Line, "file=%s is used by no shell block that runs after it", b.File)
			}
		}
		if b.Output && (i == 0 || !blocks[i-1].shell() || blocks[i-1].Server) {
			problemf(b.Line, "an output block follows the shell block whose output it shows")
		}
	}
	return blocks, errors.Join(errs...)
}

// matchOutput reports whether every non-blank line of want appears in got,
// whole and in order ("…" or "..." and the blanks around it matching any
// text); when not, it returns
// the first line that was not found after the previous ones.
func matchOutput(want, got string) (missing string, ok bool) {
	var gotLines []string
	for _, l := range strings.Split(got, "\n") {
		gotLines = append(gotLines, strings.TrimRight(l, " \t\r"))
	}
	at := 0
	for _, w := range strings.Split(want, "\n") {
		w = strings.TrimRight(w, " \t\r")
		if strings.TrimSpace(w) == "" {
			continue
		}
		parts := wildRe.Split(w, -1)
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re := regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
		found := false
		for at < len(gotLines) {
			at++
			if re.MatchString(gotLines[at-1]) {
				found = true
				break
			}
		}
		if !found {
			return w, false
		}
	}
	return "", true
}

func TestParseBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		want    []mdBlock
		wantErr string
	}{
		{
			name: "shell, file and output",
			src: "Save this as `event.kata`:\n\n```kata file=event.kata\nautomation/x:\n  uri: y\n```\n\n" +
				"```sh\ncat event.kata\n```\n\nprints\n\n```text output\nautomation/x:\n```\n",
			want: []mdBlock{
				{Line: 3, Lang: "kata", File: "event.kata", Text: "automation/x:\n  uri: y\n"},
				{Line: 8, Lang: "sh", Text: "cat event.kata\n"},
				{Line: 14, Lang: "text", Output: true, Text: "automation/x:\n"},
			},
		},
		{
			name: "not run, server, indented fence, longer fence",
			src: "<!-- not run: calls GitHub -->\n```sh\ncurl https://api.github.com\n```\n" +
				"1. start it:\n   ```sh server\n   bin/hookhost serve\n   ```\n````text\n```\n````\n",
			want: []mdBlock{
				{Line: 2, Lang: "sh", NotRun: "calls GitHub", Text: "curl https://api.github.com\n"},
				{Line: 6, Lang: "sh", Server: true, Text: "bin/hookhost serve\n"},
				{Line: 9, Lang: "text", Text: "```\n"},
			},
		},
		{name: "no language", src: "```\nx\n```\n", wantErr: "line 1: a fence needs a language"},
		{name: "kata without a file", src: "```kata\nx: y\n```\n", wantErr: "line 1: a kata block needs file=NAME"},
		{name: "unused file", src: "```kata file=a.kata\nx: y\n```\n```sh\necho\n```\n", wantErr: "line 1: file=a.kata is used by no shell block"},
		{name: "file used only by a block not run", src: "```kata file=a.kata\nx: y\n```\n<!-- not run: x -->\n```sh\ncat a.kata\n```\n", wantErr: "file=a.kata is used by no shell block"},
		{name: "not run without a reason", src: "<!-- not run -->\n```sh\necho\n```\n", wantErr: "line 2: a not-run comment says why"},
		{name: "unknown word", src: "```sh norun\necho\n```\n", wantErr: `unknown word "norun"`},
		{name: "output after no shell block", src: "```kata file=a\nx\n```\n```text output\nx\n```\n```sh\ncat a\n```\n", wantErr: "line 4: an output block follows the shell block"},
		{name: "file outside the work dir", src: "```kata file=../a\nx\n```\n```sh\ncat ../a\n```\n", wantErr: `file="../a" must name a file in the work dir`},
		{name: "server kata", src: "```kata server file=a\nx\n```\n```sh\ncat a\n```\n", wantErr: "server is for shell blocks"},
		{name: "unclosed", src: "```sh\necho\n", wantErr: "line 1: the fence is never closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseBlocks(tt.src)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMatchOutput(t *testing.T) {
	t.Parallel()
	got := "HTTP/1.1 200 OK\r\nDate: Sat, 05 Dec 2026 15:21:51 GMT\r\nContent-Type: application/json\r\n\r\n" +
		"{\n    \"user_agent\": \"curl/7.88.1\",\n    \"id\": \"0b9f3c0e-1\"\n}\n"
	tests := []struct {
		name, want, missing string
	}{
		{name: "subset in order", want: "HTTP/1.1 200 OK\nContent-Type: application/json\n\n{\n}\n"},
		{name: "wildcards", want: "    \"user_agent\": \"curl/…\",\n    \"id\": \"0b9f3c0e-...\"\n"},
		{name: "a wildcard takes the blanks around it", want: "Date:   …         GMT\n"},
		{name: "changed value", want: "HTTP/1.1 404 Not Found\n", missing: "HTTP/1.1 404 Not Found"},
		{name: "changed order", want: "Content-Type: application/json\nHTTP/1.1 200 OK\n", missing: "HTTP/1.1 200 OK"},
		{name: "part of a line is not the line", want: "HTTP/1.1 200\n", missing: "HTTP/1.1 200"},
		{name: "indentation counts", want: "\"id\": \"0b9f3c0e-1\"\n", missing: "\"id\": \"0b9f3c0e-1\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			missing, ok := matchOutput(tt.want, got)
			require.Equal(t, tt.missing == "", ok)
			require.Equal(t, tt.missing, missing)
		})
	}
}

// readmeSession runs the blocks of one document.
type readmeSession struct {
	t        *testing.T
	dir      string // the work dir (a newcomer's clone)
	scratch  string // scripts, outputs, the shell state
	state    string // the shell state file
	env      []string
	ports    map[string]string // port in the documents -> free port
	defAddr  string            // where 127.0.0.1:8080 listens
	servers  []*readmeServer
	lastOut  string
	ran      bool // the last shell block ran
	stats    struct{ run, servers, files, outputs, notRun int }
	doc      string
	notRunBy []string
}

type readmeServer struct {
	name string
	cmd  *exec.Cmd
	out  string // the file holding its output
	done chan struct{}
}

// blockTimeout bounds one shell block; a server gets serverStart to answer.
const (
	blockTimeout = 60 * time.Second
	serverStart  = 30 * time.Second
)

func TestREADME(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	for _, tool := range []string{"bash", "curl", "jq", "openssl", "make"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the documents' examples need %s on PATH", tool)
	}
	bin := filepath.Join(t.TempDir(), "hookhost")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Skipf("cannot build bin/hookhost, so the documents' examples cannot run: %v\n%s", err, out)
	}
	// The server make run starts, as make prints it.
	mk := exec.Command("make", "--no-print-directory", "-n", "run")
	mk.Dir = root
	mk.Env = []string{"PATH=" + os.Getenv("PATH")} // not the MAKEFLAGS of a make test around us
	out, err := mk.Output()
	require.NoError(t, err, "make -n run")
	var makeRun string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "bin/hookhost serve") {
			makeRun = l
		}
	}
	require.NotEmpty(t, makeRun, "make -n run prints no bin/hookhost serve line:\n%s", out)

	docs := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	for _, d := range more {
		if filepath.Base(d) != "reference.md" {
			docs = append(docs, filepath.Join("docs", filepath.Base(d)))
		}
	}
	for _, doc := range docs {
		t.Run(strings.TrimSuffix(doc, ".md"), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(root, doc))
			require.NoError(t, err)
			blocks, err := parseBlocks(string(src))
			require.NoError(t, err, "%s: the blocks' markers (see cmd/hookhost/readme_test.go)", doc)
			s := newReadmeSession(t, root, bin, doc)
			s.startServer("make run", makeRun)
			for _, b := range blocks {
				s.run(b)
			}
			t.Logf("%s: %d shell blocks run, %d servers, %d files written, %d outputs compared, %d blocks not run",
				doc, s.stats.run, s.stats.servers, s.stats.files, s.stats.outputs, s.stats.notRun)
			for _, r := range s.notRunBy {
				t.Log("  not run: " + r)
			}
		})
	}
}

func newReadmeSession(t *testing.T, root, bin, doc string) *readmeSession {
	t.Helper()
	s := &readmeSession{t: t, dir: t.TempDir(), scratch: t.TempDir(), ports: map[string]string{}, doc: doc}
	// A clone: the repository's top-level entries, bin/hookhost built from
	// this tree, no data/.
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	for _, e := range entries {
		if n := e.Name(); !strings.HasPrefix(n, ".") && n != "bin" && n != "data" {
			require.NoError(t, os.Symlink(filepath.Join(root, n), filepath.Join(s.dir, n)))
		}
	}
	require.NoError(t, os.Mkdir(filepath.Join(s.dir, "bin"), 0o755))
	require.NoError(t, os.Symlink(bin, filepath.Join(s.dir, "bin", "hookhost")))

	home := filepath.Join(s.scratch, "home")
	trap := filepath.Join(s.scratch, "path")
	require.NoError(t, os.MkdirAll(home, 0o700))
	require.NoError(t, os.MkdirAll(trap, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".curlrc"), []byte("silent\nshow-error\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(trap, "hookhost"),
		[]byte("#!/bin/sh\necho 'the documents say bin/hookhost, not hookhost (make install puts it on PATH)' >&2\nexit 127\n"), 0o755))

	s.defAddr = s.addr("8080")
	s.env = []string{
		"PATH=" + trap + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + s.scratch,
		"LANG=C.UTF-8",
		"HOOKHOST_SERVER=http://" + s.defAddr,
		"HOOKHOST_LISTEN=" + s.defAddr,
		"HOOKHOST_LOG_FORMAT=text",
	}
	s.state = filepath.Join(s.scratch, "state.sh")
	require.NoError(t, os.WriteFile(s.state, []byte("cd "+strconv.Quote(s.dir)+"\n"), 0o600))
	t.Cleanup(s.stopServers)
	return s
}

// addr returns the free 127.0.0.1 address that stands for port in the
// documents.
func (s *readmeSession) addr(port string) string {
	if a, ok := s.ports[port]; ok {
		return a
	}
	a := freeAddr(s.t)
	s.ports[port] = a
	return a
}

// rewrite replaces the documents' loopback addresses with the session's.
func (s *readmeSession) rewrite(text string) string {
	return addrRe.ReplaceAllStringFunc(text, func(m string) string {
		sub := addrRe.FindStringSubmatch(m)
		_, port, _ := strings.Cut(s.addr(sub[2]), ":")
		return sub[1] + ":" + port
	})
}

func (s *readmeSession) where(b mdBlock) string {
	return fmt.Sprintf("%s:%d", s.doc, b.Line)
}

func (s *readmeSession) run(b mdBlock) {
	t := s.t
	t.Helper()
	if b.NotRun != "" {
		s.stats.notRun++
		s.notRunBy = append(s.notRunBy, fmt.Sprintf("%s (%s)", s.where(b), b.NotRun))
		if b.shell() {
			s.ran = false
		}
		return
	}
	switch {
	case b.File != "":
		p := filepath.Join(s.dir, b.File)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(s.rewrite(b.Text)), 0o600))
		s.stats.files++
	case b.Output:
		if !s.ran {
			return
		}
		s.stats.outputs++
		if missing, ok := matchOutput(s.rewrite(b.Text), s.lastOut); !ok {
			t.Fatalf("%s: the output differs from the document: no line %q (in this order)\n--- the document shows:\n%s--- the block printed:\n%s",
				s.where(b), missing, s.rewrite(b.Text), s.lastOut)
		}
	case b.Server:
		s.stats.servers++
		s.startServer(s.where(b), s.rewrite(b.Text))
	case b.shell():
		s.stats.run++
		s.ran = true
		out, err := s.shell(b)
		s.lastOut = out
		if err != nil {
			t.Fatalf("%s: the block failed (%v):\n%s--- it printed:\n%s%s", s.where(b), err, b.Text, out, s.serverLogs())
		}
	}
}

// prelude saves the shell's variables and working directory when a block
// ends, for the next block to start from.
const readmePrelude = `__hh_state=%q
__hh_save() {
  local __hh_n __hh_d __hh_f
  {
    printf 'cd %%q\n' "$PWD"
    for __hh_n in $(compgen -v); do
      case $__hh_n in
        __hh_*|BASH*|EPOCH*|COMP_*|HIST*|FUNCNAME|GROUPS|DIRSTACK|PIPESTATUS|LINENO|RANDOM|SRANDOM|SECONDS|PPID|UID|EUID|SHELLOPTS|SHLVL|PWD|OLDPWD|OPTIND|OPTARG|OPTERR|IFS|PS1|PS2|PS4|_|HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE|COLUMNS|LINES|MAILCHECK) continue ;;
      esac
      __hh_d=$(declare -p "$__hh_n" 2>/dev/null) || continue
      __hh_f=${__hh_d#declare -}
      __hh_f=${__hh_f%%%% *}
      case $__hh_f in *r*) continue ;; esac
      printf '%%s\n' "$__hh_d"
    done
  } >"$__hh_state.new" && mv "$__hh_state.new" "$__hh_state"
}
source "$__hh_state"
`

// shell runs a block with bash and returns what it printed (stdout and
// stderr, as a terminal shows them).
func (s *readmeSession) shell(b mdBlock) (string, error) {
	script := fmt.Sprintf(readmePrelude, s.state) + "trap __hh_save EXIT\nset -euo pipefail\n" + s.rewrite(b.Text)
	name := filepath.Join(s.scratch, fmt.Sprintf("block-%d", b.Line))
	require.NoError(s.t, os.WriteFile(name+".sh", []byte(script), 0o600))
	out, err := os.Create(name + ".out")
	require.NoError(s.t, err)
	defer out.Close()

	ctx, cancel := context.WithTimeout(context.Background(), blockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", name+".sh")
	s.prepare(cmd, out)
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what the block left running
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("still running after %s: %w", blockTimeout, err)
	}
	printed, rerr := os.ReadFile(name + ".out")
	require.NoError(s.t, rerr)
	return string(printed), err
}

// prepare sets a block's process up: the work dir, the session's
// environment, no stdin, output to out, its own process group.
func (s *readmeSession) prepare(cmd *exec.Cmd, out *os.File) {
	cmd.Dir, cmd.Env = s.dir, s.env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cmd.Cancel != nil { // made by CommandContext: end the whole group
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	}
}

// startServer starts a command that keeps running and waits until it
// answers /healthz on the first address the command names (else where
// 127.0.0.1:8080 stands).
func (s *readmeSession) startServer(name, command string) {
	t := s.t
	t.Helper()
	addr := s.defAddr
	if m := addrRe.FindString(command); m != "" {
		addr = m
	}
	script := fmt.Sprintf(readmePrelude, s.state) + "set -euo pipefail\n" + command
	base := filepath.Join(s.scratch, fmt.Sprintf("server-%d", len(s.servers)))
	require.NoError(t, os.WriteFile(base+".sh", []byte(script), 0o600))
	out, err := os.Create(base + ".out")
	require.NoError(t, err)
	defer out.Close()
	cmd := exec.Command("bash", base+".sh")
	s.prepare(cmd, out)
	require.NoError(t, cmd.Start())
	srv := &readmeServer{name: name, cmd: cmd, out: base + ".out", done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(srv.done) }()
	s.servers = append(s.servers, srv)

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(serverStart)
	for {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-srv.done:
			t.Fatalf("%s: %q stopped before it answered on %s:\n%s", name, command, addr, readTail(srv.out))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q does not answer /healthz on %s after %s:\n%s", name, command, addr, serverStart, readTail(srv.out))
		}
	}
}

// stopServers stops every server (SIGTERM, then SIGKILL after 15 s).
func (s *readmeSession) stopServers() {
	for _, srv := range s.servers {
		_ = syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGTERM)
	}
	for _, srv := range s.servers {
		select {
		case <-srv.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL)
			<-srv.done
		}
		_ = syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL) // its extension processes
	}
}

// serverLogs is the end of each server's output, for a failure message.
func (s *readmeSession) serverLogs() string {
	var b strings.Builder
	for _, srv := range s.servers {
		fmt.Fprintf(&b, "--- server %s logged (last lines):\n%s", srv.name, readTail(srv.out))
	}
	return b.String()
}

// readTail returns the last 40 lines of a file.
func readTail(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return err.Error() + "\n"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 40 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
