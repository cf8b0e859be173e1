package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/views"
	"github.com/hookhost/hookhost/templates/dict"
)

// handOff queues a run of handler as a durable job. The job is committed
// (group commit) before anything is answered; the answer is 202
// {"JobIds":["<id>"]} with Location: /webhook-jobs/<id>, or, with
// job:wait_ms, the automation's own response if the job ended in time.
func (d *Dispatcher) handOff(ctx context.Context, x *exchange, handler *automations.Handler, a *store.Automation, inputs *dict.Map) error {
	q := d.cfg.Jobs
	if q == nil {
		return api.NewProblem(http.StatusServiceUnavailable, "the job queue is not running")
	}
	w := x.h.Webhook
	opts := handler.Job
	inputs.Set("webhook_data", automations.WebhookData(w.Name, x.req))
	credHeaders := x.h.Event.CredentialHeaders
	realInputs, shown, caller := jobInputs(d.red, inputs, x.req.Headers, credHeaders)
	realInputs, err := d.cat.SealJobInputs(realInputs)
	if err != nil {
		return api.NewProblem(http.StatusInternalServerError, "encode job inputs")
	}
	id := jobs.NewJobID()
	var done <-chan *jobs.Finished
	if opts.WaitMS > 0 {
		ch, stop := q.Wait(id)
		defer stop()
		done = ch
	}
	res, err := q.EnqueueID(ctx, id, &jobs.Request{
		WebhookID: w.ID, Handler: handler.Key, Automation: a.Name,
		Inputs: realInputs, RedactedInputs: shown, CredentialHeaders: extraCredentialHeaders(credHeaders),
		Options: jobs.Options{MaxAttempts: opts.MaxAttempts, Timeout: time.Duration(opts.TimeoutMS) * time.Millisecond,
			Concurrency: opts.Concurrency, CallbackURL: opts.CallbackURL},
		IdempotencyKey: idempotencyKey(opts.IdempotencyKey, x.req.Headers),
	})
	if err != nil {
		d.log.Error("queue job", "webhook", w.ID, "automation", a.Name, "error", err)
		p := api.NewProblem(http.StatusServiceUnavailable, "the job could not be queued; try again")
		if errors.Is(err, store.ErrStorageFull) {
			p = api.NewProblem(http.StatusInsufficientStorage, "the server's storage is full; the job was not queued")
		}
		return p
	}
	e := x.entry
	e.JobID = res.JobID
	e.RunID = newRunID()
	rec := d.pending(x)
	rec.caller, rec.callerKnown = caller, true
	rec.run = store.Run{ID: e.RunID, WebhookID: w.ID, Automation: a.Name, Revision: a.Revision, Status: http.StatusAccepted,
		JobID: res.JobID, CreatedAt: x.start}
	if done != nil && !res.Duplicate {
		remaining := time.Duration(opts.WaitMS)*time.Millisecond - time.Since(x.start)
		if remaining > 0 {
			t := time.NewTimer(remaining)
			defer t.Stop()
			select {
			case f := <-done:
				ans, err := d.finished(w, f)
				x.answer = ans
				if ans != nil {
					rec.run.Status = ans.Status
				}
				var p *api.Problem
				if errors.As(err, &p) {
					rec.run.Status, rec.run.Error = p.Status, f.Error
				}
				rec.run.DurationUS = time.Since(x.start).Microseconds()
				d.recorder.record(rec)
				return err
			case <-t.C:
			case <-d.stopping:
				// The server is stopping: the job is queued (durable) and
				// runs, or runs after a restart; the caller gets its id now
				// rather than a connection closed with no answer.
			}
		}
	}
	rec.run.DurationUS = time.Since(x.start).Microseconds()
	d.recorder.record(rec)
	x.answer = accepted(res.JobID, "/webhook-jobs/")
	return nil
}

// jobInputs returns a job's inputs encoded, and the copy of them its
// records show (redacted with red, the caller's credentials in headers
// too, and compacted: automations.CompactsRequestBody), and the caller's
// redaction (red.CallerRedaction, nil when there is none), which the 202's
// run record reuses.
func jobInputs(red *redact.Redactor, inputs *dict.Map, headers [][2]string, credHeaders []string) (real, shown []byte, caller func(string) string) {
	shownInputs, fields := red.InputsFields(inputs, credHeaders...)
	if caller = red.CallerRedaction(headers, fields, credHeaders...); caller != nil {
		// The caller's credentials wherever else the inputs hold them (the
		// webhook's KATA holds a verify block's literal token), as a run
		// record's request body.
		shownInputs, _ = redact.Walk(shownInputs, caller).(*dict.Map)
	}
	real, shown = encodeJobInputs(inputs, shownInputs)
	return real, shown, caller
}

// encodeJobInputs returns a job's inputs and their shown copy (what
// redact.Redactor.Inputs made of them, with the caller's credentials
// redacted) encoded as dispatch.encode encodes them, the shown copy
// without webhook_data's RequestBody where automations.CompactsRequestBody
// says so, without making that copy.
// The two share most of their values (the shown copy shares with the
// inputs what redaction did not change, and webhook_data's RequestBody is
// request_body): each value is encoded once, and its bytes copied where it
// comes again. Encoding both whole was 3.5% of the server's CPU during a
// load of durable 202s on PostgreSQL, and a large body was encoded three
// times.
func encodeJobInputs(real, shown *dict.Map) (realJSON, shownJSON []byte) {
	var room [8]inputSpan // most inputs' shareable values: a few maps, the body
	var e inputsEncoder
	e.b = make([]byte, 0, jsonSizeHint(real)+sizeSlack)
	spans := e.object(real, 0, room[:0], true)
	realJSON, e.real = e.b, e.b
	wd, compact := automations.CompactsRequestBody(shown)
	size := jsonSizeHint(shown)
	if e.compact = compact; compact {
		size -= len(`,"RequestBody":`) + jsonSizeHint(wd.Value("RequestBody"))
	}
	e.b = make([]byte, 0, size+sizeSlack)
	e.object(shown, 0, spans, false)
	return realJSON, e.b
}

// sizeSlack is room for what jsonSizeHint leaves out (a short string's
// escapes, a number's digits).
const sizeSlack = 64

// jsonSizeHint is about the length of v's JSON, to allocate it once: a
// long string's quotes and backslashes are counted, other escapes are
// not.
func jsonSizeHint(v any) int {
	switch t := v.(type) {
	case string:
		n := len(t) + 2
		if len(t) >= 256 {
			n += strings.Count(t, `"`) + strings.Count(t, `\`)
		}
		return n
	case *dict.Map:
		n := 2
		vals := t.Values()
		for i, k := range t.Keys() {
			n += len(k) + 4 + jsonSizeHint(vals[i])
		}
		return n
	case []any:
		n := 2
		for _, x := range t {
			n += 1 + jsonSizeHint(x)
		}
		return n
	}
	return 8
}

// inputsEncoder writes a job's inputs, then their shown copy, as
// dict.Encode writes them (compact).
type inputsEncoder struct {
	b []byte
	// real is the inputs' JSON once written (the spans of their
	// shareable values, top level and webhook_data's, index it); nil
	// while they are written (the spans index b).
	real []byte
	// compact is set while the shown copy is written when its
	// webhook_data's RequestBody is left out (automations.CompactsRequestBody).
	compact bool
}

// inputSpan is where a value is in a JSON text.
type inputSpan struct {
	v        any
	from, to int
}

// minSpanLen is the shortest string the encoder copies rather than
// encodes: shorter ones cost less to encode than to look up.
const minSpanLen = 32

// shareable reports whether the encoder copies v where it comes again: a
// string of minSpanLen bytes or more, or a map (the same one, unchanged).
// Only comparable types may be shareable: the copies are found with ==,
// which panics on a slice ([]any) at run time.
func shareable(v any) bool {
	switch t := v.(type) {
	case string:
		return len(t) >= minSpanLen
	case *dict.Map:
		return true
	}
	return false
}

// object appends m (the inputs at depth 0, their webhook_data at 1),
// copying the values it finds in spans. With record, it appends the spans
// of m's shareable values to spans; it returns spans.
func (e *inputsEncoder) object(m *dict.Map, depth int, spans []inputSpan, record bool) []inputSpan {
	e.b = append(e.b, '{')
	keys, vals := m.Keys(), m.Values()
	n := 0
	for i, k := range keys {
		v := vals[i]
		if depth == 1 && e.compact && k == "RequestBody" {
			continue
		}
		if n > 0 {
			e.b = append(e.b, ',')
		}
		n++
		e.b = append(dict.AppendJSONChars(append(e.b, '"'), k), '"', ':')
		from := len(e.b)
		wd, isMap := v.(*dict.Map)
		share := shareable(v)
		switch {
		case depth == 0 && k == "webhook_data" && isMap && (record || e.compact):
			spans = e.object(wd, 1, spans, record)
		case !share || !e.copy(v, spans):
			e.b = dict.AppendJSON(e.b, v, "")
		}
		if record && share {
			spans = append(spans, inputSpan{v: v, from: from, to: len(e.b)})
		}
	}
	e.b = append(e.b, '}')
	return spans
}

// copy appends v's JSON (v is shareable) from where spans says it was
// written already, and reports whether it was.
func (e *inputsEncoder) copy(v any, spans []inputSpan) bool {
	src := e.real
	if src == nil {
		src = e.b
	}
	for _, s := range spans {
		// Both hold a string or a *dict.Map: comparable, the same string
		// compared by its pointer first.
		if s.v == v {
			e.b = append(e.b, src[s.from:s.to]...)
			return true
		}
	}
	return false
}

// extraCredentialHeaders returns the names of hs that
// redact.CredentialHeader does not know by itself (nil when there are
// none): a job keeps only those for its record's redaction
// (jobs.Request.CredentialHeaders), so that the args of a GitHub or
// bearer webhook's jobs stay as they were.
func extraCredentialHeaders(hs []string) []string {
	var out []string
	for _, h := range hs {
		if !redact.CredentialHeader(h) {
			out = append(out, h)
		}
	}
	return out
}

// accepted is 202 {"JobIds":["<id>"]} with the job's Location.
func accepted(id, locationPrefix string) *Answer {
	return &Answer{Status: http.StatusAccepted, Body: jobIDsBody(id),
		Headers: [][2]string{{fiber.HeaderLocation, locationPrefix + id}, {fiber.HeaderContentType, fiber.MIMEApplicationJSON}}}
}

// jobIDsBody is json.Marshal(api.JobIDs{JobIDs: []string{id}}): a job id
// (NewJobID's UUID, or a name like it) is written as it is, without
// encoding/json's reflection (1.3% of the server's CPU during a load of
// durable 202s on PostgreSQL); any other id goes through encoding/json.
func jobIDsBody(id string) []byte {
	const head, tail = `{"JobIds":["`, `"]}`
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			body, _ := json.Marshal(api.JobIDs{JobIDs: []string{id}})
			return body
		}
	}
	return append(append(append(make([]byte, 0, len(head)+len(id)+len(tail)), head...), id...), tail...)
}

// Accepted answers 202 {"JobIds":["<id>"]} with the job's Location.
func Accepted(c *fiber.Ctx, id, locationPrefix string) error {
	writeAnswer(c, accepted(id, locationPrefix))
	return nil
}

// finished is the answer of a wait_ms request whose job ended in time: the
// automation's response, or a problem as a failed synchronous run would.
func (d *Dispatcher) finished(w *store.Webhook, f *jobs.Finished) (*Answer, error) {
	if f.State != jobs.StateCompleted {
		status, detail := http.StatusInternalServerError, "the automation failed"
		switch {
		case f.TimedOut:
			status, detail = http.StatusGatewayTimeout, "the automation ran past its time limit"
		case f.State == jobs.StateStopped:
			status, detail = http.StatusConflict, "the job was cancelled"
		}
		if w.Debug && f.Error != "" {
			detail = f.Error
		}
		p := api.NewProblem(status, detail)
		p.RunID = f.JobID
		return nil, p
	}
	return &Answer{Status: f.Status, Headers: f.Headers, Body: f.Body}, nil
}

// idempotencyHeaders carry a delivery id: a redelivery with the same value
// for the same webhook within 24 hours gets the first job. Standard
// Webhooks and Svix, GitHub, GitLab and Shopify send one.
var idempotencyHeaders = [...]string{"Idempotency-Key", "webhook-id", "svix-id", "X-GitHub-Delivery",
	"X-Gitlab-Event-UUID", "X-Shopify-Webhook-Id"}

// idempotencyKey is the job's delivery key: the handler's own
// (job:idempotency_key:, rendered), else the first well-known delivery-id
// header; "" when there is none.
func idempotencyKey(own string, headers [][2]string) string {
	if own != "" {
		return "key:" + own
	}
	for _, name := range idempotencyHeaders {
		for _, h := range headers {
			if strings.EqualFold(h[0], name) && strings.TrimSpace(h[1]) != "" {
				return strings.ToLower(name) + ":" + strings.TrimSpace(h[1])
			}
		}
	}
	return ""
}

// jobStatus serves GET /webhook-jobs/:id, answered to the token of the
// job's webhook (Authorization: Bearer <token> or ?token=).
func (d *Dispatcher) jobStatus(c *fiber.Ctx) error {
	token, _ := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	token = strings.TrimSpace(token)
	if token == "" {
		token = c.Query("token")
	}
	ctx := c.UserContext()
	var h *catalog.Hook
	if token != "" {
		var err error
		if h, err = d.cat.Webhook(ctx, token, time.Now()); err != nil {
			d.log.Error("webhook lookup", "error", err)
			return api.NewProblem(http.StatusServiceUnavailable, "webhook lookup failed; try again")
		}
	}
	if h == nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookhost webhook"`)
		return api.NewProblem(http.StatusUnauthorized, "the webhook's token is required (Authorization: Bearer <token> or ?token=)")
	}
	if d.cfg.Jobs == nil {
		return api.NewProblem(http.StatusServiceUnavailable, "the job queue is not running")
	}
	j, err := d.cfg.Jobs.Get(ctx, c.Params("id"))
	if errors.Is(err, jobs.ErrNotFound) || (err == nil && j.WebhookID != h.Webhook.ID) {
		return api.NewProblem(http.StatusNotFound, "no such job for this webhook")
	}
	if err != nil {
		return err
	}
	return c.JSON(views.Job(j, views.JobCaller, d.red))
}
