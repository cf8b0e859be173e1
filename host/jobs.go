package host

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/templates/dict"
)

// jobsRuntime is the server's durable job queue (host/jobs).
type jobsRuntime struct {
	q *jobs.Queue
}

// initJobs migrates and starts the durable job queue on the store's
// database; Close stops it (running jobs get JobShutdownGrace).
func (s *Server) initJobs(ctx context.Context) error {
	cfg := jobs.Config{
		DB:                s.store.DB(),
		Dialect:           s.store.Dialect(),
		Runner:            jobRunner{s: s},
		Workers:           s.cfg.JobWorkers,
		FetchPollInterval: s.cfg.JobPollInterval,
		RescueAfter:       s.cfg.JobRescueAfter,
		ShutdownGrace:     s.cfg.JobShutdownGrace,
		Retention:         s.cfg.JobRetention,
		RetryBackoff:      s.cfg.JobRetryBackoff,
		BatchDelay:        s.cfg.JobBatchDelay,
		Logger:            s.log,
	}
	if cfg.Dialect == jobs.DialectPostgres {
		cfg.DatabaseURL = s.cfg.Database
	}
	q, err := jobs.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	if err := q.Start(ctx); err != nil {
		_ = q.Close()
		return fmt.Errorf("job queue: %w", err)
	}
	s.jobs = &jobsRuntime{q: q}
	s.closers = append(s.closers, q.Close)
	return nil
}

// jobQueue is the running queue (nil before initJobs).
func (s *Server) jobQueue() *jobs.Queue {
	if s.jobs == nil {
		return nil
	}
	return s.jobs.q
}

// ---- running a job ----

// jobRunner runs job attempts through the server's runner, like a
// synchronous run: the automation is looked up by name at run time, in the
// server's cache like a synchronous run (invalidated on every change, across
// instances on PostgreSQL), so a job reads no automation row from the
// database; the outcome records the revision that ran.
type jobRunner struct{ s *Server }

var _ jobs.Runner = jobRunner{}

func (r jobRunner) RunJob(ctx context.Context, at *jobs.Attempt) (*jobs.Outcome, error) {
	a, err := r.s.cache.automation(ctx, at.Automation)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (a == nil || !isWebhookTrigger(a.ExtensionID))) {
		return &jobs.Outcome{Failed: true, Error: fmt.Sprintf("automation %q no longer exists", at.Automation)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load automation %q: %w", at.Automation, err)
	}
	stored, err := r.s.openJobInputs(at.Inputs)
	if err != nil {
		return &jobs.Outcome{Revision: a.Revision, Failed: true, Error: "the job's inputs cannot be unsealed with this server's secret key"}, nil
	}
	v, err := dict.DecodeJSON(stored)
	inputs, ok := v.(*dict.Map)
	if err != nil || !ok {
		return &jobs.Outcome{Revision: a.Revision, Failed: true, Error: "the job's inputs are not a JSON object"}, nil
	}
	// Secrets are not stored with a job: they are read when it runs.
	if err := r.s.injectSecrets(ctx, inputs, r.s.cache.automationSecrets(a)); err != nil {
		return nil, fmt.Errorf("read the secrets of automation %q: %w", a.Name, err)
	}
	res, err := r.s.runner.Run(ctx, &Invocation{RunID: at.JobID, Automation: a, Inputs: inputs})
	out := &jobs.Outcome{Revision: a.Revision}
	if res != nil {
		out.Log = jobLog(res.Log, r.s.redact)
	}
	if err != nil {
		return out, err
	}
	resp := automations.WebhookResponse(res)
	for _, w := range resp.Warnings {
		out.Log = append(out.Log, jobs.LogEntry{Level: 4, Message: w})
	}
	out.Status, out.Headers, out.Body = resp.Status, resp.Headers, resp.Body
	// The record keeps the output redacted; the response (Body) is the
	// automation's answer to its caller, redacted only where admins see it.
	if res.Return != nil {
		out.Output, _ = jsonBytes(r.s.redactValue(res.Return))
	}
	if res.Exit == automations.ExitError {
		out.Failed, out.Error = true, r.s.redact(res.Error)
		if out.Error == "" {
			out.Error = "the automation ended in error"
		}
	}
	return out, nil
}

// jobLog converts a run log for the job record, redacting every message.
func jobLog(l []automations.LogEntry, redact func(string) string) []jobs.LogEntry {
	out := make([]jobs.LogEntry, 0, len(l))
	for _, e := range l {
		out = append(out, jobs.LogEntry{Level: e.Level, Node: e.Node, Message: redact(e.Message)})
	}
	return out
}

// ---- hand-off ----

// dispatchJob queues a run of handler as a durable job. The job is
// committed (group commit) before anything is answered; the answer is 202
// {"JobIds":["<id>"]} with Location: /webhook-jobs/<id>, or, with
// job:wait_ms, the automation's own response if the job ended in time.
func (s *Server) dispatchJob(c *fiber.Ctx, w *store.Webhook, handler *automations.Handler, a *store.Automation,
	inputs *dict.Map, req automations.HTTPRequest, start time.Time) error {
	q := s.jobQueue()
	if q == nil {
		return writeProblem(c, problem(fiber.StatusServiceUnavailable, "the job queue is not running"))
	}
	opts := handler.Job
	inputs.Set("webhook_data", webhookData(w, req))
	realInputs, err := jsonBytes(inputs)
	if err == nil {
		realInputs, err = s.sealJobInputs(realInputs)
	}
	if err != nil {
		return writeProblem(c, problem(fiber.StatusInternalServerError, "encode job inputs"))
	}
	shown, err := jsonBytes(s.redactValue(redactInputs(inputs)))
	if err != nil {
		return writeProblem(c, problem(fiber.StatusInternalServerError, "encode job inputs"))
	}
	id := jobs.NewJobID()
	var done <-chan *jobs.Finished
	if opts.WaitMS > 0 {
		ch, stop := q.Wait(id)
		defer stop()
		done = ch
	}
	res, err := q.EnqueueID(c.UserContext(), id, &jobs.Request{
		WebhookID: w.ID, Handler: handler.Key, Automation: a.Name,
		Inputs: realInputs, RedactedInputs: shown,
		Options: jobs.Options{MaxAttempts: opts.MaxAttempts, Timeout: time.Duration(opts.TimeoutMS) * time.Millisecond,
			Concurrency: opts.Concurrency, CallbackURL: opts.CallbackURL},
		IdempotencyKey: idempotencyKey(req.Headers),
	})
	if err != nil {
		s.log.Error("queue job", "webhook", w.ID, "automation", a.Name, "error", err)
		c.Set(fiber.HeaderRetryAfter, "1")
		return writeProblem(c, problem(fiber.StatusServiceUnavailable, "the job could not be queued; try again"))
	}
	if done != nil && !res.Duplicate {
		remaining := time.Duration(opts.WaitMS)*time.Millisecond - time.Since(start)
		if remaining > 0 {
			t := time.NewTimer(remaining)
			defer t.Stop()
			select {
			case f := <-done:
				return s.answerFinishedJob(c, w, f)
			case <-t.C:
			}
		}
	}
	return acceptedJob(c, res.JobID, "/webhook-jobs/")
}

// acceptedJob answers 202 {"JobIds":["<id>"]} with the job's Location.
func acceptedJob(c *fiber.Ctx, id, locationPrefix string) error {
	c.Status(fiber.StatusAccepted)
	c.Set(fiber.HeaderLocation, locationPrefix+id)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.SendString(`{"JobIds":["` + id + `"]}`)
}

// answerFinishedJob answers a wait_ms request whose job ended in time: the
// automation's response, or a problem as a failed synchronous run would.
func (s *Server) answerFinishedJob(c *fiber.Ctx, w *store.Webhook, f *jobs.Finished) error {
	if f.State != jobs.StateCompleted {
		status, detail := fiber.StatusInternalServerError, "the automation failed"
		switch {
		case f.TimedOut:
			status, detail = fiber.StatusGatewayTimeout, "the automation ran past its time limit"
		case f.State == jobs.StateStopped:
			status, detail = fiber.StatusConflict, "the job was cancelled"
		}
		if w.Debug && f.Error != "" {
			detail = s.redact(f.Error)
		}
		p := problem(status, detail)
		p.RunID = f.JobID
		return writeProblem(c, p)
	}
	c.Status(f.Status)
	hasType := false
	for _, hv := range f.Headers {
		if strings.EqualFold(hv[0], fiber.HeaderContentType) {
			hasType = true
		}
		c.Response().Header.Add(hv[0], hv[1])
	}
	if !hasType && len(f.Body) > 0 {
		c.Set(fiber.HeaderContentType, inferContentType(f.Body))
	}
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Response().SetBodyRaw(f.Body)
	return nil
}

// webhookData is Azure Automation's WebhookData: the webhook's name, the
// request headers with their original names, and the body.
func webhookData(w *store.Webhook, req automations.HTTPRequest) *dict.Map {
	hs := dict.New(len(req.Headers))
	for _, h := range req.Headers {
		if old, ok := hs.Get(h[0]); ok {
			hs.Set(h[0], old.(string)+", "+h[1])
			continue
		}
		hs.Set(h[0], h[1])
	}
	return dict.Of("WebhookName", w.Name, "RequestHeader", hs, "RequestBody", string(req.Body))
}

// idempotencyHeaders carry a delivery id: a redelivery with the same value
// for the same webhook within 24 hours gets the first job.
var idempotencyHeaders = [...]string{"Idempotency-Key", "webhook-id", "X-GitHub-Delivery"}

func idempotencyKey(headers [][2]string) string {
	for _, name := range idempotencyHeaders {
		for _, h := range headers {
			if strings.EqualFold(h[0], name) && strings.TrimSpace(h[1]) != "" {
				return strings.ToLower(name) + ":" + strings.TrimSpace(h[1])
			}
		}
	}
	return ""
}

// redactInputs returns a copy of a job's inputs for display: secret and
// signature headers (request_headers and webhook_data.RequestHeader) and
// secret-looking parameters are replaced by "[redacted]". The automation
// gets the real values.
func redactInputs(in *dict.Map) *dict.Map {
	out := in.Clone()
	if hs, ok := out.Value("request_headers").(*dict.Map); ok {
		hs.Range(func(k string, _ any) bool {
			if isSecretHeader(strings.ReplaceAll(k, "_", "-")) {
				hs.Set(k, redacted)
			}
			return true
		})
	}
	if ps, ok := out.Value("request_params").(*dict.Map); ok {
		ps.Range(func(k string, _ any) bool {
			if isSecretParam(k) {
				ps.Set(k, redacted)
			}
			return true
		})
	}
	if wd, ok := out.Value("webhook_data").(*dict.Map); ok {
		if hs, ok := wd.Value("RequestHeader").(*dict.Map); ok {
			hs.Range(func(k string, _ any) bool {
				if isSecretHeader(k) {
					hs.Set(k, redacted)
				}
				return true
			})
		}
	}
	return out
}

func isSecretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"token", "secret", "password", "signature", "api_key", "apikey"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// ---- admin API ----

// mountJobs adds the job routes of the admin API.
func (s *Server) mountJobs(api fiber.Router) {
	api.Get("/jobs", s.listJobs)
	api.Get("/jobs/:id", s.getJob)
	api.Get("/jobs/:id/logs", s.getJobLogs)
	api.Post("/jobs/:id/cancel", s.cancelJob)
	api.Post("/jobs/:id/retry", s.retryJob)
	api.Post("/webhooks/:id/signing-secret", s.rotateSigningSecret)
}

// jobView is a job as the APIs show it.
type jobView struct {
	ID          string          `json:"id"`
	State       jobs.State      `json:"state"`
	WebhookID   string          `json:"webhook_id,omitempty"`
	Handler     string          `json:"handler,omitempty"`
	Automation  string          `json:"automation,omitempty"`
	Revision    int64           `json:"revision,omitempty"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at"`
	FinishedAt  *time.Time      `json:"finished_at"`
	Error       string          `json:"error,omitempty"`
	RetryOf     string          `json:"retry_of,omitempty"`
	CallbackURL string          `json:"callback_url,omitempty"`
	Inputs      json.RawMessage `json:"inputs,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
	Response    *jobResponse    `json:"response,omitempty"`
	Streams     *jobs.Streams   `json:"streams,omitempty"`
}

// jobResponse is the automation's HTTP answer of a finished job. Body is
// text when it is UTF-8, else BodyBase64.
type jobResponse struct {
	Status     int         `json:"status"`
	Headers    [][2]string `json:"headers"`
	Body       string      `json:"body,omitempty"`
	BodyBase64 string      `json:"body_base64,omitempty"`
}

// view levels: a list row, the caller's status resource, the admin detail.
const (
	viewRow = iota
	viewCaller
	viewFull
)

// viewJob shows j at level. Admin levels pass every stored string through
// redact (records written before a secret was set may hold its value); the
// caller's level shows the automation's response as the caller would have
// received it.
func viewJob(j *jobs.Job, level int, redact func(string) string) jobView {
	v := jobView{ID: j.ID, State: j.State, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
	if level != viewCaller {
		v.WebhookID, v.Handler, v.Automation, v.Revision = j.WebhookID, j.Handler, j.Automation, j.Revision
		v.Error, v.RetryOf = redact(j.Error), j.RetryOf
	}
	if level == viewRow {
		return v
	}
	if j.State.Final() && j.Status != 0 {
		r := &jobResponse{Status: j.Status, Headers: j.Headers}
		if r.Headers == nil {
			r.Headers = [][2]string{}
		}
		if utf8.Valid(j.Body) {
			r.Body = string(j.Body)
		} else {
			r.BodyBase64 = base64.StdEncoding.EncodeToString(j.Body)
		}
		v.Response = r
	}
	if level == viewFull {
		v.CallbackURL, v.Inputs, v.Output = redact(j.CallbackURL), redactRawJSON(j.Inputs, redact), redactRawJSON(j.Output, redact)
		if r := v.Response; r != nil {
			r.Headers = redactHeaders(r.Headers, redact)
			r.Body = redact(r.Body)
		}
		st := jobs.SplitStreams(redactJobLog(j.Log, redact))
		v.Streams = &st
	}
	return v
}

// redactJobLog returns a copy of a job's log with every message redacted.
func redactJobLog(l []jobs.LogEntry, redact func(string) string) []jobs.LogEntry {
	out := make([]jobs.LogEntry, len(l))
	for i, e := range l {
		e.Message = redact(e.Message)
		out[i] = e
	}
	return out
}

// redactHeaders returns headers with signature and credential headers
// replaced by "[redacted]" and the others redacted.
func redactHeaders(hs [][2]string, redact func(string) string) [][2]string {
	out := make([][2]string, len(hs))
	for i, h := range hs {
		if isSecretHeader(h[0]) {
			h[1] = redacted
		}
		out[i] = [2]string{h[0], redact(h[1])}
	}
	return out
}

func (s *Server) listJobs(c *fiber.Ctx) error {
	q := s.jobQueue()
	f := jobs.Filter{WebhookID: c.Query("webhook"), Cursor: c.Query("cursor")}
	if st := c.Query("state"); st != "" {
		state, ok := jobs.ParseState(st)
		if !ok {
			return problem(fiber.StatusBadRequest, "state must be one of Queued, Running, Retrying, Completed, Failed, Stopped")
		}
		f.State = state
	}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return problem(fiber.StatusBadRequest, "limit must be a number from 1 to 500")
		}
		f.Limit = n
	}
	list, next, err := q.List(c.UserContext(), f)
	if errors.Is(err, jobs.ErrBadCursor) {
		return problem(fiber.StatusBadRequest, "cursor is not one this API returned")
	}
	if err != nil {
		return err
	}
	out := make([]jobView, 0, len(list))
	for _, j := range list {
		out = append(out, viewJob(j, viewRow, s.redact))
	}
	return c.JSON(fiber.Map{"jobs": out, "next_cursor": next})
}

func jobNotFound(err error, id string) error {
	if errors.Is(err, jobs.ErrNotFound) {
		return problem(fiber.StatusNotFound, fmt.Sprintf("no job %q", id))
	}
	return err
}

func (s *Server) getJob(c *fiber.Ctx) error {
	j, err := s.jobQueue().Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return jobNotFound(err, c.Params("id"))
	}
	return c.JSON(viewJob(j, viewFull, s.redact))
}

func (s *Server) getJobLogs(c *fiber.Ctx) error {
	j, err := s.jobQueue().Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return jobNotFound(err, c.Params("id"))
	}
	return c.JSON(jobs.SplitStreams(redactJobLog(j.Log, s.redact)))
}

func (s *Server) cancelJob(c *fiber.Ctx) error {
	j, err := s.jobQueue().Cancel(c.UserContext(), c.Params("id"), 5*time.Second)
	if errors.Is(err, jobs.ErrFinished) {
		return problem(fiber.StatusConflict, fmt.Sprintf("job %q has already ended (%s)", j.ID, j.State))
	}
	if err != nil {
		return jobNotFound(err, c.Params("id"))
	}
	return c.JSON(viewJob(j, viewFull, s.redact))
}

func (s *Server) retryJob(c *fiber.Ctx) error {
	res, err := s.jobQueue().Retry(c.UserContext(), c.Params("id"))
	switch {
	case errors.Is(err, jobs.ErrNotFinished):
		return problem(fiber.StatusConflict, "the job has not ended yet; cancel it first")
	case errors.Is(err, jobs.ErrInputsGone):
		return problem(fiber.StatusGone, "the job's inputs are no longer kept (job retention); it cannot be retried")
	case err != nil:
		return jobNotFound(err, c.Params("id"))
	}
	return acceptedJob(c, res.JobID, "/api/v1/jobs/")
}

// rotateSigningSecret makes a new callback signing secret for a webhook and
// shows it (the only time it is shown).
func (s *Server) rotateSigningSecret(c *fiber.Ctx) error {
	id := c.Params("id")
	if _, err := s.store.GetWebhook(c.UserContext(), id); err != nil {
		return notFound(err, "webhook", id)
	}
	secret, err := s.jobQueue().SigningSecret(c.UserContext(), id, true)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"webhook_id": id, "signing_secret": secret})
}

// ---- caller's status resource ----

// mountJobStatus adds GET /webhook-jobs/:id, answered to the token of the
// job's webhook (Authorization: Bearer <token> or ?token=).
func (s *Server) mountJobStatus(app *fiber.App) {
	app.Get("/webhook-jobs/:id", s.jobStatus)
}

func (s *Server) jobStatus(c *fiber.Ctx) error {
	token, _ := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	token = strings.TrimSpace(token)
	if token == "" {
		token = c.Query("token")
	}
	ctx := c.UserContext()
	var h *hook
	if token != "" {
		var err error
		if h, err = s.cache.webhook(ctx, token, time.Now()); err != nil {
			s.log.Error("webhook lookup", "error", err)
			return writeProblem(c, problem(fiber.StatusServiceUnavailable, "webhook lookup failed; try again"))
		}
	}
	if h == nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookhost webhook"`)
		return writeProblem(c, problem(fiber.StatusUnauthorized, "the webhook's token is required (Authorization: Bearer <token> or ?token=)"))
	}
	j, err := s.jobQueue().Get(ctx, c.Params("id"))
	if errors.Is(err, jobs.ErrNotFound) || (err == nil && j.WebhookID != h.w.ID) {
		return writeProblem(c, problem(fiber.StatusNotFound, "no such job for this webhook"))
	}
	if err != nil {
		return err
	}
	return c.JSON(viewJob(j, viewCaller, s.redact))
}
