package host_test

// The Cerb oracle test: every case recorded from a real Cerb 10.4.10 by
// `make oracles` (go run ./internal/oracle/cerb) is replayed against
// hookhost through its public API only (host.New, Serve on a loopback
// listener, the admin API over HTTP), so that host/'s internals can change
// without touching this file.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookhost/hookhost/host"
	"github.com/hookhost/hookhost/host/dispatch"
	"github.com/hookhost/hookhost/internal/oracle"
)

var cerbOracleDir = filepath.Join("..", "testdata", "cerb")

const cerbKnownHeader = `Cerb oracle cases where hookhost does not yet answer what a real Cerb 10.4.10 answers.
host/cerb_oracle_test.go fails on a difference that is not listed here (a regression), and logs
listed cases that now match. Rewrite from the current results with:
  HOOKHOST_ORACLE_UPDATE=1 go test ./host -run TestCerbOracle
Format: case id # cause (want = Cerb, got = hookhost).`

const cerbDeliberateHeader = `Cerb oracle cases where hookhost answers differently on purpose (shared/DESIGN.md "Product
decisions"). Written by HOOKHOST_ORACLE_UPDATE=1 go test ./host -run TestCerbOracle from the rules in
host/cerb_oracle_test.go (cerbOracleCompare); for information: the rules, not this list, decide.`

// Defaults of the recorder (internal/oracle/cerb): the event KATA of a case
// without one, and the policy of a case without one.
const (
	cerbOracleEvent  = "automation/oracle:\n    uri: cerb:automation:{automation}\n    disabled@bool: no\n"
	cerbOraclePolicy = "commands:\n  "
	cerbOracleAdmin  = "oracle-admin-token"
	// cerbOracleWebhookName is the name of the recorder's webhook listener.
	cerbOracleWebhookName = "hookhost oracle recorder"
)

func TestCerbOracle(t *testing.T) {
	t.Parallel()
	files, err := oracle.ReadDir(cerbOracleDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no recorded cases in %s", cerbOracleDir)
	}
	known, err := oracle.ReadList(filepath.Join(cerbOracleDir, "known-differences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	h := startCerbOracleHost(t)
	type job struct {
		area, id string
		c        *oracle.Case
		setup    *cerbOracleSetup
	}
	var jobs []job
	setups := map[string]*cerbOracleSetup{}
	ids := map[string]bool{}
	for _, f := range files {
		for _, c := range f.Cases {
			id := f.ID(c)
			ids[id] = true
			// Cases with the same script, policy and event share one
			// automation and webhook.
			key := c.Value("script") + "\x00" + c.Value("policy") + "\x00" + c.Value("event")
			if _, ok := c.Get("script"); !ok {
				key = "\x00none"
			}
			st := setups[key]
			if st == nil {
				st = &cerbOracleSetup{name: fmt.Sprintf("oracle.c%d", len(setups)+1), c: c}
				setups[key] = st
			}
			jobs = append(jobs, job{f.Area, id, c, st})
		}
	}
	// Save the automations and webhooks, then send the requests, a few at
	// a time (each case has its own webhook: they do not interfere).
	all := make([]*cerbOracleSetup, 0, len(setups))
	for _, st := range setups {
		all = append(all, st)
	}
	cerbOracleEach(len(all), func(i int) { all[i].save(h) })
	answers := make([]cerbOracleAnswer, len(jobs))
	cerbOracleEach(len(jobs), func(i int) { answers[i] = h.send(jobs[i].setup, jobs[i].c) })
	floor := &oracle.Floor{Known: known, Deliberate: oracle.List{}}
	for i, j := range jobs {
		if answers[i].harness != nil {
			t.Fatalf("%s: %v", j.id, answers[i].harness)
		}
		r := cerbOracleCompare(j.c, answers[i])
		r.Area, r.ID = j.area, j.id
		if r.Deliberate != "" {
			floor.Deliberate[j.id] = r.Deliberate
		}
		floor.Add(r)
	}
	for id := range known {
		if !ids[id] && !oracle.Updating() {
			t.Errorf("listed case %s is not recorded (stale list entry)", id)
		}
	}
	floor.Check(t, "cerb oracle")
	if oracle.Updating() {
		if err := floor.WriteKnown(filepath.Join(cerbOracleDir, "known-differences.txt"), cerbKnownHeader); err != nil {
			t.Fatal(err)
		}
		if err := oracle.WriteList(filepath.Join(cerbOracleDir, "deliberate.txt"), cerbDeliberateHeader, floor.Deliberate); err != nil {
			t.Fatal(err)
		}
	}
}

// cerbOracleHost is a hookhost server on a loopback listener.
type cerbOracleHost struct {
	addr   string
	client *http.Client
}

func startCerbOracleHost(t *testing.T) *cerbOracleHost {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := host.DefaultConfig()
	cfg.Listen = ln.Addr().String()
	cfg.PublicURL = "http://" + ln.Addr().String()
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = cerbOracleAdmin
	cfg.InProcess = true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := host.New(ctx, cfg)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("serve: %v", err)
		}
	})
	return &cerbOracleHost{addr: ln.Addr().String(), client: &http.Client{Timeout: time.Minute}}
}

// cerbOracleAnswer is what hookhost did with a case.
type cerbOracleAnswer struct {
	refused string // hookhost refused the script, policy or event: its message
	resp    *oracle.Response
	err     error // the request could not be sent or read
	harness error // the test could not run the case
}

func (h *cerbOracleHost) admin(method, path string, body any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(method, "http://"+h.addr+"/api/v1"+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+cerbOracleAdmin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	return resp.StatusCode, rb, err
}

// cerbOracleWorkers is how many cases run at once.
const cerbOracleWorkers = 4

// cerbOracleEach calls fn(0..n-1), cerbOracleWorkers at a time.
func cerbOracleEach(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range cerbOracleWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// cerbOracleSetup is an automation (named name, from c's script and
// policy) and a webhook for it (c's event KATA).
type cerbOracleSetup struct {
	name    string
	c       *oracle.Case
	token   string
	refused string // hookhost refused the script, policy or event
	err     error  // the harness failed
}

// save creates the automation and the webhook through the admin API.
func (st *cerbOracleSetup) save(h *cerbOracleHost) {
	c := st.c
	st.token = "0000000000000000000000000000000000000000"
	script, ok := c.Get("script")
	if !ok {
		return // the case's request names no webhook of ours
	}
	policy, ok := c.Get("policy")
	if !ok {
		policy = cerbOraclePolicy
	}
	code, body, err := h.admin("POST", "/automations", map[string]string{
		"name": st.name, "extension_id": "cerb.trigger.webhook.respond", "script": script, "policy_kata": policy,
	})
	if err != nil {
		st.err = fmt.Errorf("create automation: %w", err)
		return
	}
	if code != http.StatusCreated {
		st.refused = fmt.Sprintf("automation (%d): %s", code, problemDetail(body))
		return
	}
	event, ok := c.Get("event")
	if !ok {
		event = cerbOracleEvent
	}
	event = strings.ReplaceAll(event, "{automation}", st.name)
	// The recorder's webhook listener is named so (internal/oracle/cerb).
	code, body, err = h.admin("POST", "/webhooks", map[string]any{"name": cerbOracleWebhookName, "event_kata": event, "enabled": true, "debug": true})
	if err != nil {
		st.err = fmt.Errorf("create webhook: %w", err)
		return
	}
	if code != http.StatusCreated {
		st.refused = fmt.Sprintf("event (%d): %s", code, problemDetail(body))
		return
	}
	var w struct{ Token string }
	if err := json.Unmarshal(body, &w); err != nil || w.Token == "" {
		st.err = fmt.Errorf("create webhook: no token in %s", body)
		return
	}
	st.token = w.Token
}

// send sends the case's request byte for byte to st's webhook.
func (h *cerbOracleHost) send(st *cerbOracleSetup, c *oracle.Case) cerbOracleAnswer {
	if st.err != nil {
		return cerbOracleAnswer{harness: st.err}
	}
	if st.refused != "" {
		return cerbOracleAnswer{refused: st.refused}
	}
	req, err := oracle.ParseRequest(c.Value("request"))
	if err != nil {
		return cerbOracleAnswer{harness: err}
	}
	resp, err := oracle.Send(h.addr, req.Raw(st.token, st.name), req.Method == "HEAD", time.Minute)
	return cerbOracleAnswer{resp: resp, err: err}
}

func problemDetail(b []byte) string {
	var p struct {
		Detail string `json:"detail"`
		Title  string `json:"title"`
		Errors []struct {
			Field        string
			Line, Column int
			Message      string
		} `json:"errors"`
	}
	if json.Unmarshal(b, &p) != nil || (p.Detail == "" && p.Title == "") {
		return string(b)
	}
	s := strings.TrimSpace(p.Title + ": " + p.Detail)
	for _, e := range p.Errors {
		s += fmt.Sprintf("; %s %d:%d: %s", e.Field, e.Line, e.Column, e.Message)
	}
	return s
}

// cerbOracleIgnored are response headers compared by no rule: the PHP
// built-in server's (Host, Connection) and transport headers. Cerb's
// X-Frame-Options: SAMEORIGIN on every answer is ignored too, unless the
// script replaced it.
var cerbOracleIgnored = map[string]bool{
	"host": true, "connection": true, "date": true, "content-length": true,
	"transfer-encoding": true, "set-cookie": true, "x-powered-by": true, "server": true,
}

// hookhostOwnHeaders are headers hookhost adds to every answer.
var hookhostOwnHeaders = map[string]bool{
	"date": true, "content-length": true, "x-content-type-options": true, "server": true, "connection": true,
	"content-type": true, "transfer-encoding": true, "x-request-id": true,
}

// cerbOracleCompare compares hookhost's answer with Cerb's recorded one.
// These DESIGN.md product decisions count as deliberate, not as
// differences:
//   - Cerb answers a failure 404 with an empty body: an `error:` exit or a
//     failed command (automation_log has the error) must answer 500
//     problem+json; an unknown token or no enabled handler 404
//     problem+json; a script, policy or event Cerb accepts but fails to
//     run may instead be refused when saved.
//   - Cerb's time limit answers 200 empty; hookhost answers 504.
//   - Without a Content-Type from the script Cerb sends PHP's
//     "Content-type: text/html; charset=UTF-8"; hookhost sends
//     application/json or text/plain (README.md): Content-Type is then not
//     compared.
//   - A map or list body prints "Array" in Cerb and JSON in hookhost.
func cerbOracleCompare(c *oracle.Case, got cerbOracleAnswer) oracle.Result {
	var r oracle.Result
	var detail strings.Builder
	fmt.Fprintf(&detail, "  request:\n%s\n", indent(c.Value("request")))
	if s, ok := c.Get("script"); ok {
		fmt.Fprintf(&detail, "  script:\n%s\n", indent(s))
	}
	if s, ok := c.Get("policy"); ok {
		fmt.Fprintf(&detail, "  policy:\n%s\n", indent(s))
	}
	if s, ok := c.Get("event"); ok {
		fmt.Fprintf(&detail, "  event:\n%s\n", indent(s))
	}
	if s, ok := c.Get("refused"); ok {
		fmt.Fprintf(&detail, "  cerb: refused to save: %s\n", s)
	} else if s, ok := c.Get("noresponse"); ok {
		fmt.Fprintf(&detail, "  cerb: no response: %s\n", s)
	} else {
		fmt.Fprintf(&detail, "  cerb: %s\n%s\n  body %q\n", c.Value("status"), indent(c.Value("headers")), c.Value("body"))
		if l, ok := c.Get("log"); ok {
			fmt.Fprintf(&detail, "  cerb log:\n%s\n", indent(l))
		}
		if l, ok := c.Get("php_log"); ok {
			fmt.Fprintf(&detail, "  cerb php log:\n%s\n", indent(l))
		}
	}
	switch {
	case got.refused != "":
		fmt.Fprintf(&detail, "  hookhost: refused: %s", got.refused)
	case got.err != nil:
		fmt.Fprintf(&detail, "  hookhost: request failed: %v", got.err)
	default:
		fmt.Fprintf(&detail, "  hookhost: %s\n%s\n  body %q", got.resp.StatusLine(), indent(oracle.FormatHeaders(got.resp.Headers)), got.resp.Body)
	}
	r.Detail = detail.String()
	r.Input = c.Value("script")
	r.Want = c.Value("body")
	if got.resp != nil {
		r.Got = string(got.resp.Body)
	}
	r.Same, r.Deliberate, r.Cause = cerbOracleVerdict(c, got)
	return r
}

func indent(s string) string {
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// cerbOracleVerdict decides: same (possibly by a deliberate rule, named),
// or different with a one-line cause.
func cerbOracleVerdict(c *oracle.Case, got cerbOracleAnswer) (same bool, deliberate, cause string) {
	cerbRefused, refusedByCerb := c.Get("refused")
	method := ""
	if req, err := oracle.ParseRequest(c.Value("request")); err == nil {
		method = req.Method
	}
	if nr, ok := c.Get("noresponse"); ok {
		if got.err != nil {
			return true, "", ""
		}
		if !cerbOracleStandardMethod(method) && got.resp != nil && got.resp.Status == 400 {
			return true, delibServerMethod, ""
		}
		return false, "", fmt.Sprintf("Cerb closes the connection without an answer (%s); hookhost answers %d", nr, got.resp.Status)
	}
	if reason := cerbOracleDeliberate(c, method, got); reason != "" {
		return true, reason, ""
	}
	switch {
	case got.err != nil:
		return false, "", "hookhost request failed: " + got.err.Error()
	case refusedByCerb && got.refused != "":
		return true, "", ""
	case refusedByCerb:
		return false, "", fmt.Sprintf("Cerb refuses to save (%s); hookhost accepts and answers %d", oracle.Short(cerbRefused, 60), got.resp.Status)
	}
	want := oracle.Response{Headers: oracle.ParseHeaders(c.Value("headers")), Body: []byte(c.Value("body"))}
	fmt.Sscanf(c.Value("status"), "%d", &want.Status)
	log := c.Value("log")
	cerbFailed := want.Status == 404 && len(want.Body) == 0
	if got.refused != "" {
		if cerbFailed {
			return true, "DESIGN: an invalid script, policy or event is refused when saved (Cerb: 404 at request time)", ""
		}
		if bytes.Contains(want.Body, []byte("<b>Fatal error</b>")) {
			return true, "DESIGN: an invalid script, policy or event is refused when saved (Cerb crashes at request time)", ""
		}
		refusal := got.refused
		if i := strings.Index(refusal, "; "); i >= 0 {
			refusal = refusal[i+2:] // the first problem says more than the title
		}
		return false, "", fmt.Sprintf("hookhost refuses to save: %s; Cerb answers %d", oracle.Short(refusal, 110), want.Status)
	}
	g := got.resp
	gotType, _ := g.Get("Content-Type")
	if bytes.Contains(want.Body, []byte("<b>Fatal error</b>")) {
		// The oracle runs with display_errors on, so a crash answers 200
		// and the error page; a production Cerb answers 500, empty.
		if g.Status >= 400 {
			return true, "DESIGN: Cerb crashes (PHP fatal error); hookhost answers a clean failure", ""
		}
		return false, "", fmt.Sprintf("Cerb crashes (PHP fatal error %s); hookhost answers %d %s", oracle.Short(fatalMessage(want.Body), 70), g.Status, oracle.Short(string(g.Body), 50))
	}
	if cerbFailed {
		isProblem := strings.HasPrefix(gotType, "application/problem+json")
		errorExit := strings.Contains(log, "level 3 ") || strings.Contains(log, "level 1 ") || hasErrorLog(log)
		switch {
		case errorExit && g.Status == 500 && isProblem:
			return true, "DESIGN: an automation ending in error answers 500 problem+json (Cerb: 404 empty)", ""
		case !errorExit && (g.Status == 404 || g.Status == 500) && isProblem:
			return true, "DESIGN: a failure answers problem+json (Cerb: 404 empty)", ""
		case errorExit:
			return false, "", fmt.Sprintf("Cerb fails (404, log %s); hookhost answers %d %s", oracle.Short(firstLine(log), 70), g.Status, oracle.Short(string(g.Body), 70))
		default:
			return false, "", fmt.Sprintf("Cerb answers 404 empty (no handler, or not runnable); hookhost answers %d %s", g.Status, oracle.Short(string(g.Body), 70))
		}
	}
	if strings.Contains(log, "timed out") {
		isProblem := strings.HasPrefix(gotType, "application/problem+json")
		switch {
		case g.Status == 504 && isProblem:
			return true, "DESIGN: a run past its time limit answers 504 (Cerb: 200 empty)", ""
		case g.Status == 500 && isProblem && bytes.Contains(g.Body, []byte("step limit")):
			return true, "DESIGN: loops are bounded by a step limit too; reaching it fails the run, 500 (Cerb: time limit, 200 empty)", ""
		}
	}
	var causes []string
	var delib []string
	if g.Status != want.Status {
		causes = append(causes, fmt.Sprintf("status want %d got %d", want.Status, g.Status))
	}
	if !bytes.Equal(g.Body, want.Body) {
		switch {
		case string(want.Body) == "Array" && len(g.Body) > 0 && (g.Body[0] == '{' || g.Body[0] == '['):
			delib = append(delib, "DESIGN: a map or list body is sent as JSON (Cerb: \"Array\")")
		case cerbOracleArrayPrinted(string(want.Body), string(g.Body)):
			delib = append(delib, delibArrayPrinted)
		case cerbOracle4ByteDropped(c.Value("script"), string(want.Body), string(g.Body)):
			delib = append(delib, delib4Byte)
		case cerbOracleUUIDForID(c.Value("script"), string(want.Body), string(g.Body)):
			delib = append(delib, delibWebhookUUID)
		case !utf8.ValidString(c.Value("request")) && len(want.Body) == 0 &&
			(bytes.Contains(g.Body, []byte(`\ufffd`)) || bytes.Contains(g.Body, []byte("\uFFFD"))):
			delib = append(delib, delibNotUTF8)
		default:
			if c, ok := oracle.JSONDiff(string(want.Body), string(g.Body)); ok {
				causes = append(causes, "body "+c)
			} else {
				causes = append(causes, "body "+oracle.Diff(string(want.Body), string(g.Body)))
			}
		}
	}
	// Content-Type.
	wantType, wantHasType := "", false
	for _, h := range want.Headers {
		if strings.EqualFold(h[0], "Content-Type") {
			wantType, wantHasType = h[1], true
			if h[0] == "Content-type" && h[1] == "text/html; charset=UTF-8" {
				wantHasType = false // PHP's default: the script set none
			}
		}
	}
	switch {
	case wantHasType && gotType != wantType:
		causes = append(causes, fmt.Sprintf("Content-Type want %q got %q", wantType, gotType))
	case !wantHasType && gotType != wantType && len(want.Body)+len(g.Body) > 0:
		delib = append(delib, "DESIGN: without a Content-Type hookhost sends application/json or text/plain (Cerb: PHP's text/html)")
	}
	// Other headers: Cerb's must be there with the same values, and
	// hookhost adds none of its own beyond hookhostOwnHeaders.
	wantVals, gotVals := headerValues(want.Headers, cerbOracleIgnored), headerValues(g.Headers, hookhostOwnHeaders)
	delete(wantVals, "content-type")
	// hookhost's sandbox policy, on every answer, besides any the script set.
	if csp := slices.DeleteFunc(gotVals["content-security-policy"], func(v string) bool { return v == dispatch.AnswerSandbox }); len(csp) > 0 {
		gotVals["content-security-policy"] = csp
	} else {
		delete(gotVals, "content-security-policy")
	}
	if xfo := wantVals["x-frame-options"]; len(xfo) == 1 && xfo[0] == "SAMEORIGIN" {
		delete(wantVals, "x-frame-options") // Cerb's own, on every answer
	}
	for k, wv := range wantVals {
		if gv := gotVals[k]; strings.Join(gv, "\x00") != strings.Join(wv, "\x00") {
			if len(gv) == 1 && len(wv) == 1 && cerbOracleArrayPrinted(wv[0], gv[0]) {
				delib = append(delib, delibArrayPrinted)
				continue
			}
			if gv == nil {
				causes = append(causes, fmt.Sprintf("header %s: %q missing", k, strings.Join(wv, ", ")))
			} else {
				causes = append(causes, fmt.Sprintf("header %s want %q got %q", k, strings.Join(wv, ", "), strings.Join(gv, ", ")))
			}
		}
	}
	for k, gv := range gotVals {
		if _, ok := wantVals[k]; !ok && !cerbOracleIgnored[k] {
			causes = append(causes, fmt.Sprintf("extra header %s: %q", k, strings.Join(gv, ", ")))
		}
	}
	if len(causes) > 0 {
		return false, "", strings.Join(causes, "; ")
	}
	return true, strings.Join(delib, "; "), ""
}

// fatalMessage extracts the message of PHP's fatal error page.
func fatalMessage(b []byte) string {
	s := string(b)
	if i := strings.Index(s, "</b>:"); i >= 0 {
		s = s[i+5:]
	}
	if i := strings.Index(s, " in "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func hasErrorLog(log string) bool {
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "level ") && !strings.HasPrefix(l, "level 7 ") && !strings.HasPrefix(l, "level 6 ") {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// headerValues groups header values by lower-cased name, skipping skip.
func headerValues(hs [][2]string, skip map[string]bool) map[string][]string {
	m := map[string][]string{}
	for _, h := range hs {
		k := strings.ToLower(h[0])
		if skip[k] {
			continue
		}
		m[k] = append(m[k], h[1])
	}
	return m
}

// Reasons of the deliberate differences decided by the rules below (each
// is a row of README.md's "Deliberate differences from Cerb").
const (
	delibMethod       = "DESIGN: every method is accepted and the automation decides (Cerb: 501 for methods other than GET and POST)"
	delibServerMethod = "DESIGN: a request whose method is not a standard upper-case token is answered by the HTTP server, 400 (Cerb's PHP server: 501 page or no answer)"
	delibArrayPrinted = "DESIGN: a map or list printed by {{ }} or given as a header value is JSON (Cerb: \"Array\")"
	delibStatusRange  = "DESIGN: a status_code outside 200..599 is refused when saved (Cerb sends it as it is)"
	delibSaveRefs     = "DESIGN: an unknown @ref, an unknown automation in the event KATA, or a templated uri: is refused when saved (Cerb skips or keeps it at request time)"
	delibTokenQuery   = "DESIGN: the token is also accepted as ?token= on /webhooks (Azure's convention; Cerb: 404)"
	delibWebhookUUID  = "DESIGN: webhook_id is the webhook's UUID (Cerb: its numeric record id)"
	delibPlatform     = "DESIGN: Cerb platform functions that need Cerb's records, workers, translations, URLs or the network are refused when saved"
	delibNotUTF8      = "DESIGN: request bytes that are not UTF-8 reach the automation as U+FFFD (its inputs cross the extension boundary as JSON); Cerb keeps the bytes and json_encode fails (empty)"
	delib4Byte        = "ORACLE: Cerb's MariaDB tables (utf8, 3 bytes) drop 4-byte characters from the saved script; hookhost keeps them"
)

// cerbOracleStandardMethod reports whether m is one of HTTP's registered
// upper-case methods.
func cerbOracleStandardMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return true
	}
	return false
}

// cerbOracleDeliberate applies the rules that decide a case from its
// request or from why hookhost refused it, before the answers are
// compared.
func cerbOracleDeliberate(c *oracle.Case, method string, got cerbOracleAnswer) string {
	status := c.Value("status")
	switch {
	case strings.HasPrefix(status, "501 ") && !cerbOracleStandardMethod(method):
		if got.resp != nil && got.resp.Status == 400 {
			return delibServerMethod
		}
	case strings.HasPrefix(status, "501 ") && method != "GET" && method != "POST":
		return delibMethod
	}
	body := c.Value("body")
	cerbFailed := (strings.HasPrefix(status, "404 ") && body == "") || strings.Contains(body, "<b>Fatal error</b>")
	if got.refused != "" && !cerbFailed { // else the rules of cerbOracleVerdict
		switch {
		case strings.Contains(got.refused, "`status_code:` must be a number from 200 to 599"):
			return delibStatusRange
		case strings.Contains(got.refused, "refers to unknown reference"),
			strings.Contains(got.refused, "must be a fixed automation name"),
			strings.Contains(got.refused, "event_kata") && strings.Contains(got.refused, "does not exist"):
			return delibSaveRefs
		case cerbOraclePlatform.MatchString(got.refused):
			return delibPlatform
		}
	}
	if strings.Contains(c.Value("request"), "?token={token}") && strings.HasPrefix(status, "404 ") &&
		body == "" && got.resp != nil && got.resp.Status == 200 {
		return delibTokenQuery
	}
	return ""
}

// cerbOraclePlatform matches hookhost's refusal of a Cerb platform filter
// or function that needs Cerb itself: its records (cerb_automation,
// cerb_has_priv, context_name), its URLs (cerb_avatar_url, cerb_url, …),
// its translations, or DNS.
var cerbOraclePlatform = regexp.MustCompile("(filter|function) (cerb_automation|cerb_avatar_image|cerb_avatar_url|cerb_calendar_time_elapsed|cerb_file_url|cerb_has_priv|cerb_record_readable|cerb_record_writeable|cerb_translate|cerb_url|context_name|dns_get_record|dns_host_by_ip)(\\(\\))? is a Cerb platform")

var cerbOracleJSONValue = `(\[.*?\]|\{.*?\})`

// cerbOracleArrayPrinted reports whether got is want with every "Array"
// (PHP's print of an array) printed as JSON instead.
func cerbOracleArrayPrinted(want, got string) bool {
	if !strings.Contains(want, "Array") {
		return false
	}
	parts := strings.Split(want, "Array")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re, err := regexp.Compile(`^(?s)` + strings.Join(parts, cerbOracleJSONValue) + `$`)
	return err == nil && re.MatchString(got)
}

// cerbOracle4ByteDropped reports whether the script holds 4-byte UTF-8
// characters and want is got without them (raw, or as JSON surrogate
// pairs).
func cerbOracle4ByteDropped(script, want, got string) bool {
	has := false
	for _, r := range script {
		if r > 0xFFFF {
			has = true
		}
	}
	if !has {
		return false
	}
	stripped := strings.Map(func(r rune) rune {
		if r > 0xFFFF {
			return -1
		}
		return r
	}, got)
	stripped = regexp.MustCompile(`\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}`).ReplaceAllString(stripped, "")
	return stripped == want
}

var cerbOracleUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// cerbOracleUUIDForID reports whether a script that shows webhook_id as
// "n" when it is numeric answers want once hookhost's UUIDs read "n".
func cerbOracleUUIDForID(script, want, got string) bool {
	return strings.Contains(script, "webhook_id is numeric ? 'n'") && cerbOracleUUID.ReplaceAllString(got, "n") == want
}
