package dispatch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/verify"
	"github.com/hookhost/hookhost/templates/dict"
)

// This file is the dry run (POST /api/v1/webhooks/{id}/dry-run) and the
// explanation of a verify refusal (GET /api/v1/requests/{id}/explain).
//
// A dry run takes a request through a webhook's current configuration as
// process does, with three differences: nothing is written (no request
// record, no job) and nothing is sent (the automation runs simulated:
// runner.Invocation.Simulate); what would refuse the request before its
// handler (verify blocks, the webhook disabled or expired) is reported,
// not enforced; and a job: handler runs at once, as its job would.

// dryRunRequest is the request of a dry run, and what its record (if it
// came from one) cannot show.
type dryRunRequest struct {
	req automations.HTTPRequest
	// rec describes the request for verify.Explain.
	rec verify.Recorded
	// fromRecord names the record it came from ("" when composed), and
	// recordWebhook that record's webhook.
	fromRecord, recordWebhook string
	// redCreds redacts what a dry run shows of the credentials the
	// request carries, wherever the automation echoes them (nil when it
	// carries none: redact.Redactor.CallerRedaction).
	redCreds func(string) string
}

// DryRun takes a request, recorded (in.RecordID) or composed (in.Request),
// through the current configuration of webhook id, simulated, and says
// what happens: the verify blocks' verdicts, the handler that fires, its
// rendered inputs, the secrets read (names), and the automation's answer
// with the side-effect commands that did not run. Every value in the
// answer is redacted as run records are. It returns a problem for a bad
// input or an unknown webhook or record; what the webhook would answer
// instead of the automation is the answer's Problem.
func (d *Dispatcher) DryRun(ctx context.Context, id string, in *api.DryRunInput) (*api.DryRun, error) {
	h, err := d.cat.HookByID(ctx, id)
	if err != nil {
		return nil, err
	}
	dr, err := d.dryRunRequest(ctx, in)
	if err != nil {
		return nil, err
	}
	dr.redCreds = callerRedaction(d.red, &dr.req, h.Event.CredentialHeaders)
	w := h.Webhook
	out := &api.DryRun{Verify: verifyChecks(h.Event.Verifiers, &dr.rec), Inputs: nil, Secrets: []string{},
		Log: []api.LogEntry{}, SideEffects: []api.SideEffect{}, Notes: []string{}}
	note := func(format string, args ...any) { out.Notes = append(out.Notes, fmt.Sprintf(format, args...)) }
	if dr.fromRecord != "" {
		note("the request of record %s, as recorded: its credential headers are redacted", dr.fromRecord)
		if dr.recordWebhook != w.ID {
			note("the record is of webhook %s; it runs here through webhook %s", dr.recordWebhook, w.ID)
		}
	}
	for _, v := range out.Verify {
		if !v.OK {
			note("verify blocks are reported, not enforced: a real request is refused by %s (%s)", v.Block, v.Reason)
			break
		}
	}
	if !w.Enabled {
		note("the webhook is disabled: a real request is answered 400 before any handler runs")
	}
	if w.ExpiresAt != nil && !time.Now().Before(*w.ExpiresAt) {
		note("the webhook expired at %s: a real request is answered 400 before any handler runs", w.ExpiresAt.UTC().Format(time.RFC3339))
	}

	inputs := automations.WebhookInputs(dr.req, automations.WebhookInfo{
		ID: w.ID, Name: w.Name, EventKATA: w.EventKATA, UpdatedAt: w.UpdatedAt,
	})
	if len(h.Event.Secrets) > 0 {
		if err := d.cat.InjectSecrets(ctx, inputs, h.Event.Secrets); err != nil {
			return nil, d.secretsUnavailable(w, err)
		}
	}
	handler, err := h.Event.SelectContext(ctx, inputs)
	if err != nil {
		out.Problem = d.dryProblem(http.StatusInternalServerError, "event KATA: "+err.Error(), dr)
		return out, nil
	}
	if handler == nil {
		out.Problem = d.dryProblem(http.StatusNotFound, "no enabled handler for this request", dr)
		out.Secrets = sortedNames(h.Event.Secrets)
		return out, nil
	}
	out.Handler, out.Automation = handler.Key, handler.Automation
	if handler.Inputs != nil {
		out.Inputs = encode(d.shown(dr, handler.Inputs))
		inputs.Set("inputs", handler.Inputs)
	}
	a, err := d.cat.Automation(ctx, handler.Automation)
	if err != nil {
		d.log.Error("automation lookup", "error", err)
		return nil, api.NewProblem(http.StatusServiceUnavailable, "automation lookup failed; try again")
	}
	if a == nil || !automations.IsWebhookTrigger(a.ExtensionID) {
		note("automation %q does not exist or is not a webhook.respond automation", handler.Automation)
		out.Problem = d.dryProblem(http.StatusNotFound, "no enabled handler for this request", dr)
		out.Secrets = sortedNames(h.Event.Secrets)
		return out, nil
	}
	refs := d.cat.AutomationSecrets(a)
	out.Secrets = sortedNames(h.Event.Secrets, refs)
	if handler.Job != nil {
		// As the job would run: its inputs without the event KATA's
		// secrets, with webhook_data, and the automation's secrets read
		// when it runs.
		out.Job = true
		note(`a job: handler: a real request is queued as a durable job and answered 202 {"JobIds":[...]} (or with this response when the job ends within job:wait_ms); here the job's run is simulated at once`)
		inputs.Delete(catalog.SecretsKey)
		inputs.Set("webhook_data", automations.WebhookData(w.Name, dr.req))
	}
	if len(refs) > 0 || len(h.Event.Secrets) > 0 {
		if err := d.cat.InjectSecrets(ctx, inputs, refs); err != nil {
			return nil, d.secretsUnavailable(w, err)
		}
	}

	runCtx, cancel := context.WithTimeout(ctx, d.cfg.RequestTimeout)
	res, err := d.cfg.Runner.Run(runCtx, &runner.Invocation{RunID: newRunID(), Automation: a, Inputs: inputs, Simulate: true})
	cancel()
	switch {
	case errors.Is(err, runner.ErrNotSimulated):
		return nil, api.NewProblem(http.StatusNotImplemented, err.Error())
	case errors.Is(err, runner.ErrExtensionCrashed):
		out.Problem = d.dryProblem(http.StatusBadGateway, "the extension running this automation crashed", dr)
		return out, nil
	case errors.Is(err, context.DeadlineExceeded):
		out.Problem = d.dryProblem(http.StatusGatewayTimeout, "the automation ran past its time limit", dr)
		return out, nil
	case err != nil:
		d.log.Error("dry run automation", "automation", a.Name, "error", err)
		out.Problem = d.dryProblem(http.StatusInternalServerError, err.Error(), dr)
		return out, nil
	}
	out.Log = d.dryLog(dr, res.Log)
	for _, se := range res.SideEffects {
		out.SideEffects = append(out.SideEffects, api.SideEffect{Command: se.Command, Node: se.Node, Simulated: !se.Denied, OnSimulate: se.OnSimulate})
	}
	if res.Exit == automations.ExitError {
		status := http.StatusInternalServerError
		if res.Limit == "time" {
			status = http.StatusGatewayTimeout
		}
		// The admin sees the message, as a webhook with debug on answers it.
		out.Problem = d.dryProblem(status, res.Error, dr)
		return out, nil
	}
	resp := automations.WebhookResponse(res)
	for _, warning := range resp.Warnings {
		out.Log = append(out.Log, api.LogEntry{Level: 4, Node: "return", Message: d.redactFor(dr)(warning)})
	}
	out.Response = d.dryResponse(dr, resp)
	return out, nil
}

// dryRunRequest reads the request of a dry run: a record's, or the
// composed one (checked as an HTTP request would be).
func (d *Dispatcher) dryRunRequest(ctx context.Context, in *api.DryRunInput) (*dryRunRequest, error) {
	switch {
	case in == nil || (in.RecordID == "") == (in.Request == nil):
		return nil, api.InvalidField("record_id", `give either "record_id" (a request record) or "request" (a composed request)`)
	case in.RecordID != "":
		run, err := d.Run(ctx, in.RecordID)
		if err != nil {
			return nil, catalog.NotFound(err, "request", in.RecordID)
		}
		req, cut, err := decodeRecord(run.Inputs)
		if err != nil {
			return nil, api.Errorf(http.StatusConflict, "request %q cannot be dry-run: %v", in.RecordID, err)
		}
		if cut {
			return nil, api.Errorf(http.StatusConflict, "request %q cannot be dry-run: its body was cut when it was recorded; compose the request instead", in.RecordID)
		}
		return &dryRunRequest{req: req, fromRecord: run.ID, recordWebhook: run.WebhookID,
			rec: verify.Recorded{Request: verifyRequest(req), At: run.CreatedAt, Marker: redact.Marker}}, nil
	}
	c := in.Request
	p := api.Validation()
	req := automations.HTTPRequest{Method: strings.ToUpper(strings.TrimSpace(c.Method)), Path: c.Path, Body: []byte(c.Body),
		ClientIP: strings.TrimSpace(c.ClientIP)}
	if req.Method == "" {
		req.Method = http.MethodPost
	}
	if !httpToken(req.Method) {
		p.Add(api.ProblemItem{Field: "request.method", Message: fmt.Sprintf("method %q is not an HTTP method", c.Method)})
	}
	if req.ClientIP == "" {
		req.ClientIP = "127.0.0.1"
	}
	if _, err := netip.ParseAddr(req.ClientIP); err != nil {
		p.Add(api.ProblemItem{Field: "request.client_ip", Message: fmt.Sprintf("client_ip %q is not an IP address", c.ClientIP)})
	}
	for i, h := range c.Headers {
		if !httpToken(h[0]) {
			p.Add(api.ProblemItem{Field: fmt.Sprintf("request.headers[%d]", i), Message: fmt.Sprintf("%q is not a header name", h[0])})
		}
		if strings.ContainsAny(h[1], "\r\n") {
			p.Add(api.ProblemItem{Field: fmt.Sprintf("request.headers[%d]", i), Message: "a header value cannot hold a line break"})
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	req.Headers = append([][2]string(nil), c.Headers...)
	req.Query = append([][2]string(nil), c.Query...)
	if req.Method == http.MethodPost {
		req.Form = formFields(headerValue(req.Headers, "Content-Type"), req.Body)
	}
	return &dryRunRequest{req: req, rec: verify.Recorded{Request: verifyRequest(req), At: time.Now()}}, nil
}

// verifyRequest is what verify blocks read of req.
func verifyRequest(req automations.HTTPRequest) verify.Request {
	return verify.Request{Headers: req.Headers, Body: req.Body, ClientIP: req.ClientIP}
}

// httpToken reports whether s is an HTTP token (a method or header name).
func httpToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// decodeRecord rebuilds a request from a record's stored inputs, and says
// whether its body was cut. A POST's form fields are read again from the
// stored body (credential fields redacted), as request does.
func decodeRecord(inputs []byte) (automations.HTTPRequest, bool, error) {
	v, err := dict.DecodeJSON(inputs)
	m, ok := v.(*dict.Map)
	if err != nil || !ok {
		return automations.HTTPRequest{}, false, fmt.Errorf("the record holds no request")
	}
	str := func(k string) string { s, _ := m.Value(k).(string); return s }
	req := automations.HTTPRequest{Method: str("method"), Path: str("path"), Body: []byte(str("body")), ClientIP: str("client_ip")}
	if req.Method == "" {
		return req, false, fmt.Errorf("the record holds no request method")
	}
	_, cut := m.Value("body_truncated").(bool)
	pairs := func(k string) [][2]string {
		var out [][2]string
		if hs, ok := m.Value(k).(*dict.Map); ok {
			hs.Range(func(name string, v any) bool {
				s, _ := v.(string)
				out = append(out, [2]string{name, s})
				return true
			})
		}
		return out
	}
	req.Headers, req.Query = pairs("headers"), pairs("query")
	if req.Method == http.MethodPost {
		req.Form = formFields(headerValue(req.Headers, "Content-Type"), req.Body)
	}
	return req, cut, nil
}

// verifyChecks runs every verify block on a request with verify.Explain:
// verdicts reported, not enforced.
func verifyChecks(vs []*verify.Verifier, rec *verify.Recorded) []api.VerifyCheck {
	out := make([]api.VerifyCheck, 0, len(vs))
	for _, v := range vs {
		out = append(out, verifyCheck(v.Explain(rec)))
	}
	return out
}

// verifyCheck is the API form of an explanation.
func verifyCheck(ex *verify.Explanation) api.VerifyCheck {
	c := api.VerifyCheck{Block: ex.Block, Type: ex.Type, OK: ex.Verdict == verify.VerdictPass, Verdict: ex.Verdict,
		Reason: ex.Reason, Steps: make([]api.VerifyStep, 0, len(ex.Steps))}
	for _, s := range ex.Steps {
		c.Steps = append(c.Steps, api.VerifyStep{Check: s.Check, Result: s.Result, Detail: s.Detail})
	}
	return c
}

// redactFor is the redaction of what a dry run shows: secret values, and
// the credentials the request carried (wherever the automation echoed
// them), as run records are redacted.
func (d *Dispatcher) redactFor(dr *dryRunRequest) func(string) string {
	if dr.redCreds == nil {
		return d.red.Redact
	}
	return dr.redCreds
}

// shown is v redacted for the answer.
func (d *Dispatcher) shown(dr *dryRunRequest, v any) any { return redact.Walk(v, d.redactFor(dr)) }

// dryProblem is the problem the webhook would answer, its detail redacted.
func (d *Dispatcher) dryProblem(status int, detail string, dr *dryRunRequest) *api.Problem {
	return api.NewProblem(status, d.redactFor(dr)(detail))
}

// dryLog is the run log, redacted.
func (d *Dispatcher) dryLog(dr *dryRunRequest, log []automations.LogEntry) []api.LogEntry {
	red := d.redactFor(dr)
	out := make([]api.LogEntry, 0, len(log))
	for _, e := range log {
		out = append(out, api.LogEntry{Level: e.Level, Node: e.Node, Message: red(e.Message)})
	}
	return out
}

// dryResponse is the automation's answer, redacted; a body without a
// Content-Type gets the one the webhook would send.
func (d *Dispatcher) dryResponse(dr *dryRunRequest, resp automations.Response) *api.JobResponse {
	red := d.redactFor(dr)
	r := &api.JobResponse{Status: resp.Status, Headers: make([][2]string, 0, len(resp.Headers)+1)}
	hasType := false
	for _, h := range d.red.Headers(resp.Headers) {
		hasType = hasType || strings.EqualFold(h[0], "Content-Type")
		r.Headers = append(r.Headers, [2]string{h[0], red(h[1])})
	}
	if !hasType && len(resp.Body) > 0 {
		r.Headers = append(r.Headers, [2]string{"Content-Type", inferContentType(resp.Body)})
	}
	if utf8.Valid(resp.Body) {
		r.Body = red(string(resp.Body))
	} else {
		r.BodyBase64 = base64.StdEncoding.EncodeToString(resp.Body)
	}
	return r
}

// sortedNames merges lists of names, sorted, without repeats.
func sortedNames(lists ...[]string) []string {
	out := []string{}
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Explain runs the current verify blocks of a record's webhook on the
// recorded request (verify.Explain), as far as the record allows: which
// block refused it, and why, step by step.
func (d *Dispatcher) Explain(ctx context.Context, recordID string) (*api.Explanation, error) {
	run, err := d.Run(ctx, recordID)
	if err != nil {
		return nil, catalog.NotFound(err, "request", recordID)
	}
	h, err := d.cat.HookByID(ctx, run.WebhookID)
	if err != nil {
		var p *api.Problem
		if errors.As(err, &p) && p.Status == http.StatusNotFound {
			return nil, api.Errorf(http.StatusConflict, "request %q cannot be explained: its webhook %s no longer exists", recordID, run.WebhookID)
		}
		return nil, err
	}
	req, cut, err := decodeRecord(run.Inputs)
	if err != nil {
		return nil, api.Errorf(http.StatusConflict, "request %q cannot be explained: %v", recordID, err)
	}
	out := &api.Explanation{RecordID: run.ID, WebhookID: run.WebhookID, Status: run.Status, Cause: run.Cause,
		RecordedReason: d.red.Redact(run.Error), Blocks: []api.VerifyCheck{}, Notes: []string{}}
	if run.Cause == "verify" {
		out.Block, _, _ = strings.Cut(run.Error, ": ")
	}
	out.EventChanged = h.Webhook.UpdatedAt.After(run.CreatedAt)
	if out.EventChanged {
		out.Notes = append(out.Notes, "the webhook changed after this request: the verify blocks explained are its current ones")
	}
	if run.Cause != "verify" {
		out.Notes = append(out.Notes, explainCauseNote(run))
	}
	if len(h.Event.Verifiers) == 0 {
		out.Notes = append(out.Notes, "the webhook has no verify blocks now")
	}
	out.Notes = append(out.Notes, "records redact credential headers (signatures, tokens, Authorization): what depends on their values cannot be checked from the record; the credentials tried are the ones set now")
	rec := &verify.Recorded{Request: verifyRequest(req), At: run.CreatedAt, Marker: redact.Marker, BodyCut: cut}
	out.Blocks = verifyChecks(h.Event.Verifiers, rec)
	if out.Block != "" && !slices.ContainsFunc(out.Blocks, func(c api.VerifyCheck) bool { return c.Block == out.Block }) {
		out.Notes = append(out.Notes, fmt.Sprintf("the block that refused the request, %s, is no longer in the webhook's event KATA", out.Block))
	}
	return out, nil
}

// explainCauseNote says what a record not refused by a verify block was.
func explainCauseNote(run *store.Run) string {
	switch run.Cause {
	case "":
		return "no verify block refused this request: it reached its handler"
	default:
		return fmt.Sprintf("no verify block refused this request: it was refused for %s", run.Cause)
	}
}
