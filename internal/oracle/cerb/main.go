// Command cerb records what a real Cerb 10.4.10 answers to webhook requests
// (shared/oracle/README.md: the Cerb oracle), into testdata/cerb/<area>.txtar.
//
//	go run ./internal/oracle/cerb                   # record new and changed cases (Cerb must be up)
//	go run ./internal/oracle/cerb -all              # re-record every case
//	go run ./internal/oracle/cerb -run 'params/'    # re-record the cases whose id matches
//	go run ./internal/oracle/cerb -list             # print the case ids, record nothing
//
// The cases come from internal/oracle/cerb/cases/<area>.txtar (written by
// hand: request, script, optional policy, event and note) and from the
// generators in gen.go (Twig expressions in a script). For each case the
// recorder saves the script as the automation "oracle.rec" through Cerb's
// REST API (as shared/oracle/cerb/oracle.sh does), points the webhook
// listener "oracle.rec" at it with the case's event KATA, sends the request
// byte for byte to /webhooks/<guid>, and records Cerb's answer: the status
// line, the header lines (without Date), the body bytes, and the
// automation_log lines written during the request (where Cerb keeps the
// message of an error). A script Cerb refuses to save is recorded as
// "refused" with Cerb's message.
//
// host/cerb_oracle_test.go sends the same bytes to hookhost and compares.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hookhost/hookhost/internal/oracle"
)

// Names of the automation and listener the recorder owns in Cerb.
const (
	automationName = "oracle.rec"
	listenerGUID   = "0racle0rec0000000000000000000000000000f1"
)

// defaultEvent is the listener's event KATA when a case has none
// ({automation} is the automation's name).
const defaultEvent = "automation/oracle:\n    uri: cerb:automation:{automation}\n    disabled@bool: no\n"

// defaultPolicy is Cerb's guide policy (oracle.sh's default).
const defaultPolicy = "commands:\n  "

type options struct {
	casesDir, out, cerbURL string
	run                    *regexp.Regexp
	all, list              bool
	mysql                  []string
}

func main() {
	var o options
	var runExpr string
	flag.StringVar(&o.casesDir, "cases", "internal/oracle/cerb/cases", "directory of the hand-written cases")
	flag.StringVar(&o.out, "out", "testdata/cerb", "directory of the golden files")
	flag.StringVar(&o.cerbURL, "url", envOr("CERB_URL", "http://127.0.0.1:8765"), "Cerb's base URL (loopback)")
	flag.StringVar(&runExpr, "run", "", "re-record only the cases whose id matches this regular expression")
	flag.BoolVar(&o.all, "all", false, "re-record every case")
	flag.BoolVar(&o.list, "list", false, "list the case ids and exit")
	flag.Parse()
	if runExpr != "" {
		o.run = regexp.MustCompile(runExpr)
	}
	o.mysql = []string{"mysql", "-h" + envOr("CERB_DB_HOST", "127.0.0.1"), "-u" + envOr("CERB_DB_USER", "root"), envOr("CERB_DB_NAME", "cerb"), "-N", "-B"}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "cerb oracle:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// inputFields are a case's inputs, in the order they are written.
var inputFields = []string{"note", "request", "script", "policy", "event"}

// outputFields are what the recorder writes.
var outputFields = []string{"refused", "noresponse", "status", "headers", "body", "log", "php_log"}

func loadCases(dir string) ([]*oracle.File, error) {
	files, err := oracle.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files = append(files, generated()...)
	sort.Slice(files, func(i, j int) bool { return files[i].Area < files[j].Area })
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.Area] {
			return nil, fmt.Errorf("area %s is defined twice", f.Area)
		}
		seen[f.Area] = true
		for _, c := range f.Cases {
			if strings.ContainsAny(c.Name, " \t#") {
				return nil, fmt.Errorf("%s: case names have no blanks or #", f.ID(c))
			}
			if _, ok := c.Get("request"); !ok {
				return nil, fmt.Errorf("%s: no request", f.ID(c))
			}
			if _, err := oracle.ParseRequest(c.Value("request")); err != nil {
				return nil, fmt.Errorf("%s: %v", f.ID(c), err)
			}
			for _, fl := range c.Fields {
				if !contains(inputFields, fl.Name) {
					return nil, fmt.Errorf("%s: unknown input field %q", f.ID(c), fl.Name)
				}
			}
		}
	}
	return files, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func run(o options) error {
	inputs, err := loadCases(o.casesDir)
	if err != nil {
		return err
	}
	if o.list {
		n := 0
		for _, f := range inputs {
			for _, c := range f.Cases {
				fmt.Println(f.ID(c))
				n++
			}
		}
		fmt.Fprintf(os.Stderr, "%d cases\n", n)
		return nil
	}
	u, err := url.Parse(o.cerbURL)
	if err != nil {
		return err
	}
	rec := &recorder{
		o:    o,
		addr: u.Host,
		rest: &rest{base: strings.TrimRight(o.cerbURL, "/"), access: envOr("CERB_ACCESS_KEY", "oracleaccesskey1"),
			secret: envOr("CERB_SECRET_KEY", "oraclesecretkey0123456789abcdef0"), client: &http.Client{Timeout: 60 * time.Second}},
	}
	rec.cerbDir = strings.TrimRight(os.Getenv("CERB_DIR"), "/")
	if rec.cerbDir == "" {
		fmt.Fprintln(os.Stderr, "cerb oracle: CERB_DIR is not set: PHP's error log (php_log) is not recorded")
	}
	if err := rec.setup(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	total, nrec := 0, 0
	start := time.Now()
	for _, in := range inputs {
		old, _ := oracle.ReadFile(filepath.Join(o.out, in.Area+".txtar"))
		out := &oracle.File{Area: in.Area, Comment: goldenComment(in)}
		for _, c := range in.Cases {
			total++
			id := in.ID(c)
			oc := &oracle.Case{Name: c.Name}
			for _, f := range inputFields {
				if v, ok := c.Get(f); ok {
					oc.Set(f, v)
				}
			}
			var prev *oracle.Case
			if old != nil {
				prev = old.Case(c.Name)
			}
			force := o.all || (o.run != nil && o.run.MatchString(id))
			if !force && prev != nil && sameInputs(prev, oc) && recorded(prev) {
				for _, f := range outputFields {
					if v, ok := prev.Get(f); ok {
						oc.Set(f, v)
					}
				}
				out.Cases = append(out.Cases, oc)
				continue
			}
			if err := rec.record(oc); err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			nrec++
			st := oc.Value("status")
			if r, ok := oc.Get("refused"); ok {
				st = "refused: " + r
			}
			if r, ok := oc.Get("noresponse"); ok {
				st = "no response: " + r
			}
			fmt.Fprintf(os.Stderr, "[%4d %5.0fs] %s: %s\n", nrec, time.Since(start).Seconds(), id, st)
			out.Cases = append(out.Cases, oc)
		}
		if err := oracle.WriteFile(o.out, out); err != nil {
			return err
		}
	}
	fmt.Printf("cerb oracle: %d cases, %d recorded now, in %s\n", total, nrec, o.out)
	return nil
}

func goldenComment(in *oracle.File) string {
	c := strings.TrimSpace(in.Comment)
	if c != "" {
		c += "\n\n"
	}
	return c + "Cerb oracle: answers of a real Cerb 10.4.10 (PHP 8.2 built-in server, shared/oracle/cerb), recorded by\n" +
		"`make oracles` (go run ./internal/oracle/cerb). Inputs: request, script, policy, event; recorded: refused,\n" +
		"status, headers (without Date), body, log (automation_log). Edit the inputs in\n" +
		"internal/oracle/cerb/cases or gen.go, then re-record; do not edit the recorded fields.\n"
}

// recorded reports whether c holds an answer.
func recorded(c *oracle.Case) bool {
	for _, f := range []string{"refused", "status", "noresponse"} {
		if _, ok := c.Get(f); ok {
			return true
		}
	}
	return false
}

func sameInputs(a, b *oracle.Case) bool {
	for _, f := range inputFields {
		x, ok1 := a.Get(f)
		y, ok2 := b.Get(f)
		if ok1 != ok2 || x != y {
			return false
		}
	}
	return true
}

type recorder struct {
	o            options
	cerbDir      string // $CERB_DIR: php-error.log, and the path hidden in PHP's messages
	addr         string
	rest         *rest
	automationID int
	listenerID   int
	event        string
	script       string
	policy       string
}

func (r *recorder) setup() error {
	id, err := r.rest.find("automation", "name", automationName)
	if err != nil {
		return fmt.Errorf("find automation: %w", err)
	}
	if id == 0 {
		if id, err = r.rest.create("automation", map[string]string{
			"name": automationName, "extension_id": "cerb.trigger.webhook.respond", "description": "hookhost oracle recorder",
			"script": "start:\n  return:\n    body: ok\n", "policy_kata": defaultPolicy,
		}); err != nil {
			return fmt.Errorf("create automation: %w", err)
		}
	}
	r.automationID = id
	if id, err = r.rest.find("webhook_listener", "guid", listenerGUID); err != nil {
		return fmt.Errorf("find listener: %w", err)
	}
	if id == 0 {
		if id, err = r.rest.create("webhook_listener", map[string]string{
			"name": "hookhost oracle recorder", "guid": listenerGUID, "automations_kata": r.eventFor(""),
		}); err != nil {
			return fmt.Errorf("create listener: %w", err)
		}
	}
	r.listenerID = id
	return nil
}

func (r *recorder) eventFor(ev string) string {
	if ev == "" {
		ev = defaultEvent
	}
	return strings.ReplaceAll(ev, "{automation}", automationName)
}

func (r *recorder) record(c *oracle.Case) error {
	script, hasScript := c.Get("script")
	if hasScript {
		policy, ok := c.Get("policy")
		if !ok {
			policy = defaultPolicy
		}
		// Always save: saving also clears Cerb's caches of the automation.
		err := r.rest.update("automation", r.automationID, map[string]string{
			"name": automationName, "extension_id": "cerb.trigger.webhook.respond", "script": script, "policy_kata": policy,
		})
		var re *restError
		switch {
		case err == nil:
			r.script, r.policy = script, policy
		case asRestError(err, &re):
			c.Set("refused", re.msg)
			return nil
		default:
			return err
		}
	}
	ev := r.eventFor(c.Value("event"))
	if ev != r.event {
		if err := r.rest.update("webhook_listener", r.listenerID, map[string]string{"automations_kata": ev}); err != nil {
			var re *restError
			if asRestError(err, &re) {
				c.Set("refused", "event: "+re.msg)
				return nil
			}
			return err
		}
		r.event = ev
	}
	req, err := oracle.ParseRequest(c.Value("request"))
	if err != nil {
		return err
	}
	lastLog, err := r.lastLogID()
	if err != nil {
		return err
	}
	phpLogStart := r.phpLogSize()
	resp, err := oracle.Send(r.addr, req.Raw(listenerGUID, automationName), req.Method == "HEAD", 60*time.Second)
	if pl := r.phpLogSince(phpLogStart); pl != "" {
		defer c.Set("php_log", pl)
	}
	if err != nil {
		// Cerb (PHP's built-in server) closed the connection without an
		// answer: that is its answer.
		c.Set("noresponse", err.Error())
		return nil
	}
	var hs [][2]string
	for _, h := range resp.Headers {
		if strings.EqualFold(h[0], "Date") {
			continue
		}
		hs = append(hs, h)
	}
	c.Set("status", resp.StatusLine())
	c.Set("headers", oracle.FormatHeaders(hs))
	body := string(resp.Body)
	if r.cerbDir != "" {
		body = strings.ReplaceAll(body, r.cerbDir, "{CERB_DIR}")
	}
	c.Set("body", body)
	logs, err := r.logsAfter(lastLog)
	if err != nil {
		return err
	}
	if logs != "" {
		c.Set("log", logs)
	}
	return nil
}

func asRestError(err error, re **restError) bool {
	e, ok := err.(*restError)
	if ok {
		*re = e
	}
	return ok
}

func (r *recorder) mysql(query string) (string, error) {
	cmd := exec.Command(r.o.mysql[0], append(r.o.mysql[1:], "-e", query)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("mysql: %v: %s", err, stderr.String())
	}
	return string(out), nil
}

func (r *recorder) lastLogID() (int, error) {
	out, err := r.mysql("SELECT COALESCE(MAX(id),0) FROM automation_log")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// logsAfter returns the automation_log lines of the recorder's automation
// written after id: "level <n> <node>: <message>".
func (r *recorder) logsAfter(id int) (string, error) {
	out, err := r.mysql(fmt.Sprintf("SELECT CONCAT('level ', log_level, ' ', automation_node, ': ', log_message) "+
		"FROM automation_log WHERE id > %d AND automation_name = '%s' ORDER BY id", id, automationName))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(out, "\n"), nil
}

func (r *recorder) phpLogPath() string {
	if r.cerbDir == "" {
		return ""
	}
	return filepath.Join(r.cerbDir, "php-error.log")
}

func (r *recorder) phpLogSize() int64 {
	st, err := os.Stat(r.phpLogPath())
	if err != nil {
		return 0
	}
	return st.Size()
}

var (
	phpLogTime = regexp.MustCompile(`^\[\d{2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}:\d{2} [A-Za-z/_]+\] `)
	phpLogPid  = regexp.MustCompile(` \(\d+\)$`)
)

// phpLogSince returns the lines PHP's error log gained after offset (Cerb's
// error handler writes warnings and Twig errors there), without their
// timestamps, process numbers and the Cerb directory.
func (r *recorder) phpLogSince(offset int64) string {
	p := r.phpLogPath()
	if p == "" {
		return ""
	}
	// The built-in server writes the log after answering: give it a moment.
	time.Sleep(20 * time.Millisecond)
	fh, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer fh.Close()
	if _, err := fh.Seek(offset, 0); err != nil {
		return ""
	}
	b, _ := io.ReadAll(fh)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		l = phpLogTime.ReplaceAllString(l, "")
		l = phpLogPid.ReplaceAllString(l, "")
		l = strings.ReplaceAll(l, r.cerbDir+"/", "")
		l = strings.ReplaceAll(l, r.cerbDir, "{CERB_DIR}")
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}
