package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/reqlog"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/verify"
)

// errNoWebhook is the answer for an unknown token or no enabled handler:
// the same 404 either way.
func errNoWebhook() error { return api.NewProblem(http.StatusNotFound, "no webhook at this URL") }

func errNoHandler() error {
	return api.NewProblem(http.StatusNotFound, "no enabled handler for this request")
}

// Answer is an HTTP answer other than a problem: an automation's response,
// or a job hand-off's 202.
type Answer struct {
	Status  int
	Headers [][2]string
	Body    []byte
}

// exchange is one request on its way through a webhook's configuration:
// what process needs, whether the request came over HTTP, as a replay or
// as a dry run.
type exchange struct {
	h     *catalog.Hook
	req   automations.HTTPRequest
	start time.Time
	entry *reqlog.Entry
	// replayOf names the record a replay repeats.
	replayOf string
	// answer is set when process ends without an error.
	answer *Answer
	// run, ans and inv hold the record that process starts, the answer it
	// sets and the run it asks for, so that they are not allocations of
	// their own.
	run pendingRun
	ans Answer
	inv runner.Invocation
	// lent is set while the runner may hold inv: from the run's start
	// until it returns without an error. A run that failed (a time-out, a
	// crash) may leave the runner's goroutines with inv, so its exchange
	// is not reused.
	lent bool
}

// exchange returns an exchange for a request over HTTP, from the
// dispatcher's pool: at 2,000 requests a second, the 900 bytes of a new
// one each were a tenth of the server's allocation. Nothing of an
// exchange outlives its request: the run's record is built from it
// (pendingRun.finish copies what it keeps) before the request is
// answered, and no string points into it.
func (d *Dispatcher) exchange() *exchange {
	if x, ok := d.exchanges.Get().(*exchange); ok {
		return x
	}
	return new(exchange)
}

// reuse puts x back into the pool when its request is answered, cleared so
// that it holds nothing alive. An exchange whose run the runner may still
// hold is left to the collector.
func (d *Dispatcher) reuse(x *exchange) {
	if x.lent {
		return
	}
	*x = exchange{}
	d.exchanges.Put(x)
}

// handle serves one webhook request over HTTP. What it did (the webhook,
// the run or job, why it was refused) is noted in the request's
// reqlog.Entry for the access log and the metrics.
func (d *Dispatcher) handle(c *fiber.Ctx) error {
	start := time.Now()
	token := c.Params("token")
	if token == "" {
		token = c.Query("token")
	}
	e := reqlog.From(c)
	if token == "" {
		return refused(e, "unknown_token", "", errNoWebhook())
	}
	ctx := c.UserContext() // a lookup among the request's user values: once
	h, err := d.cat.Webhook(ctx, token, start)
	if err != nil {
		d.log.Error("webhook lookup", "error", err)
		return api.NewProblem(http.StatusServiceUnavailable, "webhook lookup failed; try again")
	}
	if h == nil {
		return refused(e, "unknown_token", "", errNoWebhook())
	}
	e.WebhookID = h.Webhook.ID
	release, err := d.admit(c, h, start)
	if err != nil {
		return err
	}
	defer release()
	x := d.exchange()
	x.h, x.req, x.start, x.entry = h, d.request(c), start, e
	defer d.reuse(x)
	if len(h.Event.Verifiers) > 0 {
		if err := verify.VerifyAll(h.Event.Verifiers, &verify.Request{Headers: x.req.Headers, Body: x.req.Body, ClientIP: x.req.ClientIP}, start); err != nil {
			return d.refuse(c, x, err)
		}
	}
	if err := d.process(ctx, x); err != nil {
		return err
	}
	writeAnswer(c, x.answer)
	return nil
}

// process takes a request that passed the webhook's checks of the caller
// (limits, verify blocks) through its configuration: enabled and expiry,
// the handler the event KATA picks, and the automation's run or job. It
// records the request and sets x.answer, or returns the problem to answer.
func (d *Dispatcher) process(ctx context.Context, x *exchange) error {
	d.enter()
	defer d.leave()
	w := x.h.Webhook
	if !w.Enabled {
		return d.refused(x, "disabled", "", api.NewProblem(http.StatusBadRequest, "this webhook is disabled"))
	}
	if w.ExpiresAt != nil && !x.start.Before(*w.ExpiresAt) {
		return d.refused(x, "expired", "", api.NewProblem(http.StatusBadRequest, "this webhook expired at "+w.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	inputs := automations.WebhookInputs(x.req, automations.WebhookInfo{
		ID: w.ID, Name: w.Name, EventKATA: w.EventKATA, UpdatedAt: w.UpdatedAt,
	})
	// The event KATA renders with the secrets it refers to, and the
	// automation runs with those its script refers to.
	if len(x.h.Event.Secrets) > 0 {
		if err := d.cat.InjectSecrets(ctx, inputs, x.h.Event.Secrets); err != nil {
			return d.secretsUnavailable(w, err)
		}
	}
	rec := &x.run
	d.start(rec, x)
	handler, err := x.h.Event.SelectContext(ctx, inputs)
	if err != nil {
		// Rendering the saved event KATA failed for this request.
		return d.fail(w, nil, "", http.StatusInternalServerError, "event KATA: "+err.Error(), x.start, rec)
	}
	if handler == nil {
		return d.refused(x, "no_handler", "", errNoHandler())
	}
	a, err := d.cat.Automation(ctx, handler.Automation)
	if err != nil {
		d.log.Error("automation lookup", "error", err)
		return api.NewProblem(http.StatusServiceUnavailable, "automation lookup failed; try again")
	}
	if a == nil || !automations.IsWebhookTrigger(a.ExtensionID) {
		return d.refused(x, "no_handler", "", errNoHandler())
	}
	if handler.Inputs != nil {
		inputs.Set("inputs", handler.Inputs)
	}
	if handler.Job != nil {
		// A job reads its secrets when it runs: they are not stored with it.
		inputs.Delete(catalog.SecretsKey)
		return d.handOff(ctx, x, handler, a, inputs)
	}

	if refs := d.cat.AutomationSecrets(a); len(refs) > 0 || len(x.h.Event.Secrets) > 0 {
		if err := d.cat.InjectSecrets(ctx, inputs, refs); err != nil {
			return d.secretsUnavailable(w, err)
		}
	}

	runID := newRunID()
	x.entry.RunID = runID
	runCtx, cancel := d.deadlines.context(ctx, time.Now())
	x.inv = runner.Invocation{RunID: runID, Automation: a, Inputs: inputs}
	x.lent = true
	res, err := d.cfg.Runner.Run(runCtx, &x.inv)
	cancel()
	x.lent = err != nil
	rec.res = res
	switch {
	case err != nil && d.runs.Err() != nil:
		// Close cancelled the run: the server is stopping.
		return d.fail(w, a, runID, http.StatusServiceUnavailable, "the server shut down during the run: "+err.Error(), x.start, rec)
	case errors.Is(err, runner.ErrExtensionCrashed):
		return d.fail(w, a, runID, http.StatusBadGateway, "the extension running this automation crashed", x.start, rec)
	case errors.Is(err, context.DeadlineExceeded):
		return d.fail(w, a, runID, http.StatusGatewayTimeout, "the automation ran past its time limit", x.start, rec)
	case err != nil:
		d.log.Error("run automation", "automation", a.Name, "run_id", runID, "error", err)
		return d.fail(w, a, runID, http.StatusInternalServerError, err.Error(), x.start, rec)
	}
	if res.Exit == automations.ExitError {
		status := http.StatusInternalServerError
		if res.Limit == "time" {
			status = http.StatusGatewayTimeout
		}
		return d.fail(w, a, runID, status, res.Error, x.start, rec)
	}

	resp := automations.WebhookResponse(res)
	if len(resp.Warnings) > 0 {
		// A warning may quote what the automation returned, a caller's
		// credential it echoed: the server log redacts those as the record
		// does (its handler knows only the stored secrets).
		logged := callerRedaction(d.red, &x.req, x.h.Event.CredentialHeaders)
		for _, warning := range resp.Warnings {
			// An answer the automation's return could not give as it is (an
			// invalid templated status_code, a bad header): the run record
			// and the server log say why.
			res.Log = append(res.Log, automations.LogEntry{Level: 4, Node: "return", Message: warning})
			if logged != nil {
				warning = logged(warning)
			}
			d.log.Warn("webhook answer", "webhook", w.ID, "run_id", runID, "warning", warning)
		}
	}
	x.ans = Answer{Status: resp.Status, Headers: resp.Headers, Body: resp.Body}
	x.answer = &x.ans
	rec.run = store.Run{ID: runID, WebhookID: w.ID, Automation: a.Name, Revision: a.Revision,
		Status: resp.Status, Exit: string(res.Exit), DurationUS: time.Since(x.start).Microseconds(), CreatedAt: x.start}
	d.record(rec)
	return nil
}

// pending starts the record of x.
func (d *Dispatcher) pending(x *exchange) *pendingRun {
	rec := new(pendingRun)
	d.start(rec, x)
	return rec
}

// start makes rec the start of the record of x.
func (d *Dispatcher) start(rec *pendingRun, x *exchange) {
	*rec = pendingRun{req: x.req, logLimit: d.cfg.RunLogLimit, red: d.red, credentialHeaders: x.h.Event.CredentialHeaders,
		entry: x.entry, replayOf: x.replayOf, history: x.h.Event.History}
}

// AnswerSandbox is the Content-Security-Policy of every webhook answer,
// sent in addition to any policy the automation sets (a browser enforces
// each policy it gets). A page a webhook serves runs in a unique, opaque
// origin: its scripts, forms, pop-ups, dialogs and downloads work, but it
// cannot read the storage or cookies of the server's origin, register a
// service worker there, or read another answer of the server without
// CORS. Without it, a webhook's HTML page (a package's, or one echoing a
// caller's input into text/html) ran with the console's origin when the
// admin API shares the webhook port (no --admin-listen, or a proxy that
// puts both under one host): it could read the console's session
// (sessionStorage) and register a worker controlling /console/. It is
// sent on every listener, so a proxy's layout cannot undo it.
const AnswerSandbox = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"

// writeAnswer writes an automation's response. A body without a
// Content-Type gets one inferred from it (never sniffed as HTML); a
// Content-Type the script set empty is sent without a type, as Cerb's
// "Content-Type: " (not the HTTP server's default). Every answer is
// sandboxed (AnswerSandbox), and carries no header an automation cannot
// set (automations.ReservedHeader), whichever node's run made it.
func writeAnswer(c *fiber.Ctx, a *Answer) {
	c.Status(a.Status)
	hasType := false
	for _, hv := range a.Headers {
		if automations.ReservedHeader(hv[0]) {
			continue
		}
		if strings.EqualFold(hv[0], fiber.HeaderContentType) {
			hasType = true
			if strings.TrimSpace(hv[1]) == "" {
				c.Response().Header.SetNoDefaultContentType(true)
				continue
			}
		}
		c.Response().Header.Add(hv[0], hv[1])
	}
	if !hasType && len(a.Body) > 0 {
		c.Set(fiber.HeaderContentType, inferContentType(a.Body))
	}
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Response().Header.Add(fiber.HeaderContentSecurityPolicy, AnswerSandbox)
	c.Response().SetBodyRaw(a.Body)
}

// refused notes why a request was refused and returns err.
func refused(e *reqlog.Entry, cause, reason string, err error) error {
	e.Cause, e.Reason = cause, reason
	return err
}

// refused is refused for a known webhook: the request is also kept as a
// request record with its cause (the console's inspector shows it), its
// headers and body redacted as a run's are.
func (d *Dispatcher) refused(x *exchange, cause, reason string, err error) error {
	refused(x.entry, cause, reason, err)
	status := http.StatusInternalServerError
	var p *api.Problem
	if errors.As(err, &p) {
		status = p.Status
	}
	x.entry.RunID = newRunID()
	msg := reason
	if msg == "" && p != nil {
		msg = p.Detail
	}
	rec := d.pending(x)
	rec.run = store.Run{ID: x.entry.RunID, WebhookID: x.h.Webhook.ID, Status: status, Error: msg, Cause: cause,
		DurationUS: time.Since(x.start).Microseconds(), CreatedAt: x.start}
	d.recorder.record(rec)
	return err
}

// fail records a failed run and returns the answer DESIGN.md decides:
// problem+json with the run id; the message only when the webhook has
// debug on.
func (d *Dispatcher) fail(w *store.Webhook, a *store.Automation, runID string, status int, msg string, start time.Time, rec *pendingRun) error {
	if runID == "" {
		runID = newRunID()
	}
	p := api.NewProblem(status, "")
	p.RunID = runID
	switch status {
	case http.StatusGatewayTimeout:
		p.Detail = "the automation ran past its time limit"
		rec.entry.Cause = "timeout"
	case http.StatusBadGateway:
		p.Detail = "the extension running this automation failed"
		rec.entry.Cause = "crash"
	case http.StatusServiceUnavailable:
		p.Detail = "the server is shutting down; the automation did not finish: try again"
		rec.entry.Cause = "shutdown"
	default:
		p.Detail = "the automation failed"
		rec.entry.Cause = "error"
	}
	rec.entry.RunID = runID
	if w.Debug && msg != "" {
		p.Detail = msg // redacted by the error handler
	}
	rec.run = store.Run{ID: runID, WebhookID: w.ID, Status: status, Error: msg,
		DurationUS: time.Since(start).Microseconds(), CreatedAt: start}
	if a != nil {
		rec.run.Automation, rec.run.Revision = a.Name, a.Revision
	}
	if rec.res != nil {
		rec.run.Exit = string(rec.res.Exit)
	}
	d.record(rec)
	return p
}

// secretsUnavailable answers a request whose templates need stored secrets
// that cannot be read: the operator's problem, so 500 and a log line.
func (d *Dispatcher) secretsUnavailable(w *store.Webhook, err error) error {
	d.log.Error("read the secrets a webhook's templates use", "webhook", w.ID, "error", err)
	return api.NewProblem(http.StatusInternalServerError, "this webhook's secrets could not be read (see the server log)")
}

// refuse answers a request that failed its webhook's verify/* blocks: 401
// (403 for the IP allow-list) with the reason, never the expected value.
func (d *Dispatcher) refuse(c *fiber.Ctx, x *exchange, err error) error {
	var ve *verify.Error
	if errors.As(err, &ve) {
		if ve.Challenge != "" {
			c.Set(fiber.HeaderWWWAuthenticate, ve.Challenge)
		}
		if d.cfg.Metrics != nil {
			d.cfg.Metrics.VerifyFailed(ve.Kind)
		}
		return d.refused(x, "verify", ve.Error(), api.NewProblem(ve.Status, ve.Error()))
	}
	// A secret named by the event KATA is missing or unusable: the
	// operator's mistake, not the caller's.
	d.log.Error("webhook verification could not run", "webhook", x.h.Webhook.ID, "error", err)
	return api.NewProblem(http.StatusInternalServerError, "this webhook's verification could not run (see the server log)")
}

// newRunID returns a new run id: a UUIDv7 laid out as uuid.NewV7 makes
// them (48 bits of Unix milliseconds, 12 bits of sub-millisecond time that
// also count up within a tick, 62 random bits), increasing within the
// process. It is made on the stack: uuid.NewV7 and String cost two
// allocations and a lock per request.
func newRunID() string {
	var out [runIDLen]byte
	writeRunID(&out)
	return string(out[:])
}

// runIDLen is the length of a run id.
const runIDLen = 36

// writeRunID writes a new run id (newRunID) into out.
func writeRunID(out *[runIDLen]byte) {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	nano := time.Now().UnixNano()
	milli := nano / int64(time.Millisecond)
	t := milli<<12 + (nano-milli*int64(time.Millisecond))>>8
	for {
		last := lastRunTime.Load()
		next := max(t, last+1)
		if lastRunTime.CompareAndSwap(last, next) {
			t = next
			break
		}
	}
	milli, seq := t>>12, t&0xfff
	for i := range 6 {
		u[i] = byte(milli >> (40 - 8*i))
	}
	u[6] = 0x70 | byte(seq>>8)&0x0f
	u[7] = byte(seq)
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
}

// lastRunTime is the time part (milliseconds<<12 | sub-millisecond count)
// of the last run id made.
var lastRunTime atomic.Int64

// record counts a finished run and queues its record.
func (d *Dispatcher) record(rec *pendingRun) {
	if d.cfg.Metrics != nil {
		exit := rec.run.Exit
		if exit == "" {
			exit = "none" // the automation did not run to an end (crash, timeout)
		}
		d.cfg.Metrics.Run(exit)
	}
	d.recorder.record(rec)
}
