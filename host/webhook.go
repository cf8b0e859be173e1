package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/verify"
	"github.com/hookhost/hookhost/templates/dict"
)

// handleWebhook serves ANY /webhooks/:token[/*] (and /webhooks?token=): it
// finds the webhook, picks the handler from its event KATA, runs the
// automation and answers with what the automation returned.
func (s *Server) handleWebhook(c *fiber.Ctx) error {
	start := time.Now()
	err := s.serveWebhook(c, start)
	s.metrics.observe(c.Response().StatusCode(), start)
	return err
}

func (s *Server) serveWebhook(c *fiber.Ctx, start time.Time) error {
	token := c.Params("token")
	if token == "" {
		token = c.Query("token")
	}
	if token == "" {
		return writeProblem(c, problem(fiber.StatusNotFound, "no webhook at this URL"))
	}
	ctx := c.UserContext()
	h, err := s.cache.webhook(ctx, token, start)
	if err != nil {
		s.log.Error("webhook lookup", "error", err)
		return writeProblem(c, problem(fiber.StatusServiceUnavailable, "webhook lookup failed; try again"))
	}
	if h == nil {
		return writeProblem(c, problem(fiber.StatusNotFound, "no webhook at this URL"))
	}
	w := h.w
	if !w.Enabled {
		return writeProblem(c, problem(fiber.StatusBadRequest, "this webhook is disabled"))
	}
	if w.ExpiresAt != nil && !start.Before(*w.ExpiresAt) {
		return writeProblem(c, problem(fiber.StatusBadRequest, "this webhook expired at "+w.ExpiresAt.UTC().Format(time.RFC3339)))
	}

	release, ok, err := s.admit(c, h, start)
	if !ok {
		return err
	}
	defer release()

	req := s.requestFromFiber(c)
	if len(h.verify) > 0 {
		if err := verify.VerifyAll(h.verify, &verify.Request{Headers: req.Headers, Body: req.Body, ClientIP: req.ClientIP}, start); err != nil {
			return s.refuse(c, w, err)
		}
	}
	inputs := automations.WebhookInputs(req, automations.WebhookInfo{
		ID: w.ID, Name: w.Name, EventKATA: w.EventKATA, UpdatedAt: w.UpdatedAt,
	})
	// The event KATA renders with the secrets it refers to, and the
	// automation runs with those its script refers to.
	if len(h.secrets) > 0 {
		if err := s.injectSecrets(ctx, inputs, h.secrets); err != nil {
			return s.secretsUnavailable(c, w, err)
		}
	}
	handler, err := h.event.Select(inputs)
	if err != nil {
		// Rendering the saved event KATA failed for this request.
		return s.answerFailure(c, w, nil, "", fiber.StatusInternalServerError, "event KATA: "+err.Error(), start, &req, nil)
	}
	if handler == nil {
		return writeProblem(c, problem(fiber.StatusNotFound, "no enabled handler for this request"))
	}
	a, err := s.cache.automation(ctx, handler.Automation)
	if err != nil {
		s.log.Error("automation lookup", "error", err)
		return writeProblem(c, problem(fiber.StatusServiceUnavailable, "automation lookup failed; try again"))
	}
	if a == nil || !isWebhookTrigger(a.ExtensionID) {
		return writeProblem(c, problem(fiber.StatusNotFound, "no enabled handler for this request"))
	}
	if handler.Inputs != nil {
		inputs.Set("inputs", handler.Inputs)
	}
	if handler.Job != nil {
		// A job reads its secrets when it runs: they are not stored with it.
		inputs.Delete(secretsKey)
		return s.dispatchJob(c, w, handler, a, inputs, req, start)
	}

	if refs := s.cache.automationSecrets(a); len(refs) > 0 || len(h.secrets) > 0 {
		if err := s.injectSecrets(ctx, inputs, refs); err != nil {
			return s.secretsUnavailable(c, w, err)
		}
	}

	runID := newRunID()
	runCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	res, err := s.runner.Run(runCtx, &Invocation{RunID: runID, Automation: a, Inputs: inputs})
	cancel()
	switch {
	case errors.Is(err, errExtensionCrashed):
		return s.answerFailure(c, w, a, runID, fiber.StatusBadGateway, "the extension running this automation crashed", start, &req, res)
	case errors.Is(err, context.DeadlineExceeded):
		return s.answerFailure(c, w, a, runID, fiber.StatusGatewayTimeout, "the automation ran past its time limit", start, &req, res)
	case err != nil:
		s.log.Error("run automation", "automation", a.Name, "run_id", runID, "error", err)
		return s.answerFailure(c, w, a, runID, fiber.StatusInternalServerError, err.Error(), start, &req, res)
	}
	if res.Exit == automations.ExitError {
		status := fiber.StatusInternalServerError
		if res.Limit == "time" {
			status = fiber.StatusGatewayTimeout
		}
		return s.answerFailure(c, w, a, runID, status, res.Error, start, &req, res)
	}

	resp := automations.WebhookResponse(res)
	c.Status(resp.Status)
	hasType := false
	for _, hv := range resp.Headers {
		if strings.EqualFold(hv[0], fiber.HeaderContentType) {
			hasType = true
		}
		c.Response().Header.Add(hv[0], hv[1])
	}
	if !hasType && len(resp.Body) > 0 {
		c.Set(fiber.HeaderContentType, inferContentType(resp.Body))
	}
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Response().SetBodyRaw(resp.Body)
	s.recorder.record(&pendingRun{
		run: store.Run{ID: runID, WebhookID: w.ID, Automation: a.Name, Revision: a.Revision,
			Status: resp.Status, Exit: string(res.Exit), DurationUS: time.Since(start).Microseconds(), CreatedAt: start},
		req: req, res: res, logLimit: s.cfg.RunLogLimit, redact: s.redact,
	})
	return nil
}

// answerFailure answers a failed run as DESIGN.md decides (problem+json with
// the run id; the message only when the webhook has debug on) and records it.
func (s *Server) answerFailure(c *fiber.Ctx, w *store.Webhook, a *store.Automation, runID string, status int, msg string, start time.Time, req *automations.HTTPRequest, res *automations.Result) error {
	if runID == "" {
		runID = newRunID()
	}
	p := problem(status, "")
	p.RunID = runID
	switch status {
	case fiber.StatusGatewayTimeout:
		p.Detail = "the automation ran past its time limit"
	case fiber.StatusBadGateway:
		p.Detail = "the extension running this automation failed"
	default:
		p.Detail = "the automation failed"
	}
	if w.Debug && msg != "" {
		p.Detail = s.redact(msg)
	}
	run := store.Run{ID: runID, WebhookID: w.ID, Status: status, Error: msg,
		DurationUS: time.Since(start).Microseconds(), CreatedAt: start}
	if a != nil {
		run.Automation, run.Revision = a.Name, a.Revision
	}
	if res != nil {
		run.Exit = string(res.Exit)
	}
	s.recorder.record(&pendingRun{run: run, req: *req, res: res, logLimit: s.cfg.RunLogLimit, redact: s.redact})
	return writeProblem(c, p)
}

// secretsUnavailable answers a request whose templates need stored secrets
// that cannot be read: the operator's problem, so 500 and a log line.
func (s *Server) secretsUnavailable(c *fiber.Ctx, w *store.Webhook, err error) error {
	s.log.Error("read the secrets a webhook's templates use", "webhook", w.ID, "error", err)
	return writeProblem(c, problem(fiber.StatusInternalServerError, "this webhook's secrets could not be read (see the server log)"))
}

// refuse answers a request that failed its webhook's verify/* blocks: 401
// (403 for the IP allow-list) with the reason, never the expected value.
func (s *Server) refuse(c *fiber.Ctx, w *store.Webhook, err error) error {
	var ve *verify.Error
	if errors.As(err, &ve) {
		if ve.Challenge != "" {
			c.Set(fiber.HeaderWWWAuthenticate, ve.Challenge)
		}
		return writeProblem(c, problem(ve.Status, ve.Error()))
	}
	// A secret named by the event KATA is missing or unusable: the
	// operator's mistake, not the caller's.
	s.log.Error("webhook verification could not run", "webhook", w.ID, "error", err)
	return writeProblem(c, problem(fiber.StatusInternalServerError, "this webhook's verification could not run (see the server log)"))
}

func isWebhookTrigger(id string) bool {
	return id == automations.TriggerWebhookRespond || id == automations.TriggerWebhookRespondStem
}

func newRunID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// requestFromFiber copies what the automation needs out of Fiber's reused
// buffers (every string here is a copy).
func (s *Server) requestFromFiber(c *fiber.Ctx) automations.HTTPRequest {
	fr := c.Request()
	req := automations.HTTPRequest{
		Method: string(fr.Header.Method()),
		Path:   strings.TrimRight(string([]byte(c.Params("*"))), "/"),
		Body:   bytes.Clone(fr.Body()),
	}
	req.Headers = make([][2]string, 0, fr.Header.Len())
	fr.Header.VisitAll(func(k, v []byte) {
		req.Headers = append(req.Headers, [2]string{string(k), string(v)})
	})
	qa := fr.URI().QueryArgs()
	if qa.Len() > 0 {
		req.Query = make([][2]string, 0, qa.Len())
		qa.VisitAll(func(k, v []byte) {
			if string(k) == "token" && c.Params("token") == "" {
				return // the token itself is not a parameter
			}
			req.Query = append(req.Query, [2]string{string(k), string(v)})
		})
	}
	ct := string(fr.Header.ContentType())
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
		fr.PostArgs().VisitAll(func(k, v []byte) {
			req.Form = append(req.Form, [2]string{string(k), string(v)})
		})
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		if mf, err := c.MultipartForm(); err == nil {
			for k, vs := range mf.Value {
				for _, v := range vs {
					req.Form = append(req.Form, [2]string{k, v})
				}
			}
		}
	}
	req.ClientIP = s.clientIP(c)
	return req
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For entry that is not itself a trusted proxy.
func (s *Server) clientIP(c *fiber.Ctx) string {
	peer := c.Context().RemoteIP().String()
	if len(s.cfg.TrustedProxies) == 0 {
		return peer
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !s.trusted(addr) {
		return peer
	}
	xff := string(c.Request().Header.Peek(fiber.HeaderXForwardedFor))
	parts := strings.Split(xff, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		p := strings.TrimSpace(parts[i])
		a, err := netip.ParseAddr(p)
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.String()
		}
		peer = a.String()
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// inferContentType picks a type for a body the automation sent without one:
// JSON for a JSON object or array, plain text otherwise (never sniffed HTML).
func inferContentType(body []byte) string {
	b := bytes.TrimSpace(body)
	if len(b) > 1 && (b[0] == '{' || b[0] == '[') && json.Valid(b) {
		return fiber.MIMEApplicationJSON
	}
	return fiber.MIMETextPlainCharsetUTF8
}

// pendingRun is a run record whose JSON fields the recorder fills in off the
// hot path.
type pendingRun struct {
	run      store.Run
	req      automations.HTTPRequest
	res      *automations.Result
	logLimit int
	// redact removes secret values and tokens from every string of the
	// record (nil: nothing to remove).
	redact func(string) string
}

// isSecretHeader reports request headers whose values never reach a record.
func isSecretHeader(name string) bool {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
		"x-hub-signature", "x-hub-signature-256", "x-gitlab-token", "x-gitea-signature", "x-gogs-signature",
		"stripe-signature", "x-slack-signature", "webhook-signature", "svix-signature", "x-signature",
		"x-shopify-hmac-sha256", "x-twilio-signature", "x-line-signature", "x-webhook-signature",
		"x-auth-token", "x-access-token", "x-webhook-token":
		return true
	}
	return false
}

const redacted = "[redacted]"

func (p *pendingRun) finish() *store.Run {
	red := p.redact
	if red == nil {
		red = func(s string) string { return s }
	}
	r := &p.run
	in := dict.New(6)
	in.Set("method", p.req.Method)
	in.Set("path", red(p.req.Path))
	hs := dict.New(len(p.req.Headers))
	for _, h := range p.req.Headers {
		v := h[1]
		if isSecretHeader(h[0]) {
			v = redacted
		}
		hs.Set(h[0], red(v))
	}
	in.Set("headers", hs)
	q := dict.New(len(p.req.Query))
	for _, kv := range p.req.Query {
		v := kv[1]
		if isSecretParam(kv[0]) {
			v = redacted
		}
		q.Set(kv[0], red(v))
	}
	in.Set("query", q)
	in.Set("body", red(string(p.req.Body)))
	in.Set("client_ip", p.req.ClientIP)
	r.Inputs, _ = jsonBytes(in)
	if p.res != nil {
		if p.res.Return != nil {
			r.Output, _ = jsonBytes(redactStrings(p.res.Return, red))
		}
		if r.Error == "" {
			r.Error = p.res.Error
		}
		r.Log = encodeLog(p.res.Log, p.logLimit, red)
	}
	r.Error = red(r.Error)
	return r
}

// redactStrings returns v (a dictionary value) with every string, key or
// value, passed through red. It never breaks the structure, unlike
// redacting encoded JSON would (a secret such as "true" must not turn JSON
// into something else). Parts with nothing to redact are returned as they
// are, not copied: redaction usually changes nothing.
func redactStrings(v any, red func(string) string) any {
	out, _ := redactCopy(v, red)
	return out
}

// redactCopy is redactStrings, also reporting whether anything changed.
func redactCopy(v any, red func(string) string) (any, bool) {
	switch t := v.(type) {
	case string:
		r := red(t)
		return r, r != t
	case *dict.Map:
		var out *dict.Map
		i := 0
		t.Range(func(k string, x any) bool {
			rk := red(k)
			rx, changed := redactCopy(x, red)
			if out == nil && (changed || rk != k) {
				// The first change: copy the entries before it as they are.
				out = dict.New(t.Len())
				j := 0
				t.Range(func(k0 string, x0 any) bool {
					if j == i {
						return false
					}
					out.Set(k0, x0)
					j++
					return true
				})
			}
			if out != nil {
				out.Set(rk, rx)
			}
			i++
			return true
		})
		if out == nil {
			return t, false
		}
		return out, true
	case []any:
		var out []any
		for i, x := range t {
			rx, changed := redactCopy(x, red)
			if changed && out == nil {
				out = slices.Clone(t)
			}
			if out != nil {
				out[i] = rx
			}
		}
		if out == nil {
			return t, false
		}
		return out, true
	}
	return v, false
}

// encodeLog encodes log entries as JSON, dropping entries past limit bytes.
func encodeLog(entries []automations.LogEntry, limit int, red func(string) string) []byte {
	if len(entries) == 0 {
		return nil
	}
	l := make([]any, 0, len(entries))
	size := 0
	for _, e := range entries {
		size += len(e.Message) + len(e.Node) + 32
		if size > limit {
			l = append(l, dict.Of("level", int64(3), "node", "", "message", "log truncated"))
			break
		}
		l = append(l, dict.Of("level", int64(e.Level), "node", e.Node, "message", red(e.Message)))
	}
	b, _ := jsonBytes(l)
	return b
}

// jsonBytes encodes a dict value compactly.
func jsonBytes(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := dict.Encode(&buf, v, ""); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return buf.Bytes(), nil
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
