package host

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/verify"
)

// mountAdmin adds the admin API under /api/v1 to app.
func (s *Server) mountAdmin(app *fiber.App) {
	api := app.Group("/api/v1", s.requireAdmin)
	api.Post("/packages/import", s.importPackage)
	api.Get("/packages/library", s.listLibrary)

	api.Get("/automations", s.listAutomations)
	api.Post("/automations", s.createAutomation)
	api.Get("/automations/:name", s.getAutomation)
	api.Put("/automations/:name", s.putAutomation)
	api.Delete("/automations/:name", s.deleteAutomation)

	api.Get("/webhooks", s.listWebhooks)
	api.Post("/webhooks", s.createWebhook)
	api.Get("/webhooks/:id", s.getWebhook)
	api.Patch("/webhooks/:id", s.patchWebhook)
	api.Delete("/webhooks/:id", s.deleteWebhook)
	api.Post("/webhooks/:id/rotate", s.rotateWebhook)

	api.Get("/runs", s.listRuns)
	api.Get("/runs/:id", s.getRun)

	s.mountJobs(api)
	s.mountSecrets(api)

	api.Get("/extensions", s.listExtensions)

	api.Get("/openapi.json", s.openAPI)
	api.Use(func(c *fiber.Ctx) error {
		return writeProblem(c, problem(fiber.StatusNotFound, "no such admin API route: "+c.Method()+" "+c.Path()))
	})
}

// requireAdmin checks the bearer admin token in constant time.
func (s *Server) requireAdmin(c *fiber.Ctx) error {
	now := time.Now()
	ip := s.clientIP(c)
	if wait := s.authFailures.blocked(ip, now); wait > 0 {
		return tooMany(c, wait, "too many failed admin authentications from this address; wait and retry")
	}
	auth := c.Get(fiber.HeaderAuthorization)
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.adminToken)) != 1 {
		s.authFailures.fail(ip, now)
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookhost admin"`)
		return writeProblem(c, problem(fiber.StatusUnauthorized, "a valid admin token is required (Authorization: Bearer <token>)"))
	}
	return c.Next()
}

// ---- automations ----

type automationView struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	ExtensionID string    `json:"extension_id"`
	Description string    `json:"description"`
	Script      string    `json:"script"`
	PolicyKATA  string    `json:"policy_kata"`
	Revision    int64     `json:"revision"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func viewAutomation(a *store.Automation) automationView {
	return automationView{a.ID, a.Name, a.ExtensionID, a.Description, a.Script, a.PolicyKATA, a.Revision, a.CreatedAt, a.UpdatedAt}
}

type automationInput struct {
	Name        string `json:"name"`
	ExtensionID string `json:"extension_id"`
	Description string `json:"description"`
	Script      string `json:"script"`
	PolicyKATA  string `json:"policy_kata"`
}

var automationNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// knownTrigger reports the extension ids automations may have.
func knownTrigger(id string) bool {
	switch id {
	case automations.TriggerWebhookRespond, automations.TriggerWebhookRespondStem,
		TriggerFunction, "automation.function":
		return true
	}
	return false
}

// ValidateAutomation checks an automation record the way saving it does:
// its name, its trigger, and its script and policy compiled together. The
// error lists every problem (a *Problem).
func (s *Server) ValidateAutomation(name, extensionID, script, policy string) error {
	p := problem(fiber.StatusBadRequest, "validation failed")
	switch {
	case name == "":
		p.Errors = append(p.Errors, ProblemItem{Field: "name", Message: "name is required"})
	case len(name) > 255:
		p.Errors = append(p.Errors, ProblemItem{Field: "name", Message: "name must be at most 255 characters"})
	case !automationNameRE.MatchString(name):
		p.Errors = append(p.Errors, ProblemItem{Field: "name", Message: fmt.Sprintf("name %q must only contain letters, numbers, dashes, underscores and dots", name)})
	}
	if extensionID == "" {
		p.Errors = append(p.Errors, ProblemItem{Field: "extension_id", Message: "extension_id is required (e.g. cerb.trigger.webhook.respond)"})
	} else if !knownTrigger(extensionID) {
		p.Errors = append(p.Errors, ProblemItem{Field: "extension_id", Message: fmt.Sprintf("unknown trigger %q (known: cerb.trigger.webhook.respond, cerb.trigger.automation.function)", extensionID)})
	}
	if _, err := automations.Compile(automations.Source{Name: name, Trigger: extensionID, Script: script, Policy: policy},
		automations.Options{Templates: s.tpl, Commands: s.ext.commands()}); err != nil {
		var ds automations.Diagnostics
		if errors.As(err, &ds) {
			for _, d := range ds {
				field := "script"
				if d.Source == "policy" {
					field = "policy_kata"
				}
				p.Errors = append(p.Errors, ProblemItem{Field: field, Line: d.Pos.Line, Column: d.Pos.Col, Message: d.Msg})
			}
		} else {
			p.Errors = append(p.Errors, ProblemItem{Field: "script", Message: err.Error()})
		}
	}
	if len(p.Errors) > 0 {
		return p
	}
	return nil
}

// ValidateEvent checks event KATA the way saving a webhook does: it must
// parse, and every automation it names must exist as a webhook.respond
// automation (or be among pending, created in the same request: nil for
// one whose own record failed validation), and pass it the inputs it
// declares.
func (s *Server) ValidateEvent(ctx context.Context, kata string, pending map[string]*store.Automation) error {
	ev, err := automations.ParseEvent(kata, s.tpl)
	if err != nil {
		return invalid("event_kata", err)
	}
	p := problem(fiber.StatusBadRequest, "validation failed")
	vs, err := verify.Compile(ev.Verify, verify.Options{})
	if err != nil {
		p.Errors = append(p.Errors, problemItems("event_kata", err)...)
	}
	for _, v := range vs {
		for _, name := range v.SecretNames() {
			if _, found, err := s.secret(name); err == nil && !found {
				p.Errors = append(p.Errors, ProblemItem{Field: "event_kata", Line: v.Pos().Line, Column: v.Pos().Col,
					Message: fmt.Sprintf("%s uses the secret %q, which is not set (PUT /api/v1/secrets/%s)", v.Key(), name, name)})
			}
		}
	}
	saved := map[string]*store.Automation{}
	for _, name := range ev.Automations() {
		var trigger string
		pa, ok := pending[name]
		if ok {
			if pa == nil {
				continue // created by the same package; its own record has the problems
			}
			trigger = pa.ExtensionID
			saved[name] = pa
		} else {
			a, err := s.store.GetAutomation(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				p.Errors = append(p.Errors, ProblemItem{Field: "event_kata", Message: fmt.Sprintf("automation %q does not exist", name)})
				continue
			}
			if err != nil {
				return err
			}
			trigger = a.ExtensionID
			saved[name] = a
		}
		if !isWebhookTrigger(trigger) {
			p.Errors = append(p.Errors, ProblemItem{Field: "event_kata", Message: fmt.Sprintf("automation %q has trigger %s, not webhook.respond", name, trigger)})
			delete(saved, name)
		}
	}
	p.Errors = append(p.Errors, s.checkFixedInputs(ev, saved)...)
	if len(p.Errors) > 0 {
		return p
	}
	return nil
}

// checkFixedInputs reports, for each handler whose automation is saved,
// fixed inputs the automation does not declare and required inputs without
// a default that the handler does not give: either would fail every run
// with the same error, so it is refused when the event KATA is saved.
// Automations created by the same package import are in saved too.
func (s *Server) checkFixedInputs(ev *automations.Event, saved map[string]*store.Automation) []ProblemItem {
	var items []ProblemItem
	decls := map[string][]automations.InputDecl{}
	for name, a := range saved {
		prog, err := automations.Compile(automations.Source{Name: a.Name, Trigger: a.ExtensionID, Script: a.Script, Policy: a.PolicyKATA},
			automations.Options{Templates: s.tpl, Commands: s.ext.commands()})
		if err != nil {
			continue // saved before a change of the rules; its runs report it
		}
		decls[name] = prog.Inputs()
	}
	for _, h := range ev.Handlers() {
		ds, ok := decls[h.Automation]
		if !ok {
			continue
		}
		given := map[string]bool{}
		for _, in := range h.Inputs {
			given[in.Name] = true
			if !slices.ContainsFunc(ds, func(d automations.InputDecl) bool { return d.Name == in.Name }) {
				items = append(items, ProblemItem{Field: "event_kata", Line: in.Pos.Line, Column: in.Pos.Col,
					Message: fmt.Sprintf("input `%s` is not declared by automation %q (%s)", in.Name, h.Automation, declaredInputs(ds))})
			}
		}
		for _, d := range ds {
			if d.Required && !d.HasDefault && !given[d.Name] {
				items = append(items, ProblemItem{Field: "event_kata", Line: h.Pos.Line, Column: h.Pos.Col,
					Message: fmt.Sprintf("`%s:` does not give input `%s`, which automation %q requires", h.Key, d.Name, h.Automation)})
			}
		}
	}
	return items
}

// declaredInputs describes an automation's inputs for an error message.
func declaredInputs(ds []automations.InputDecl) string {
	if len(ds) == 0 {
		return "it declares no inputs"
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	return "it declares " + strings.Join(names, ", ")
}

func (s *Server) listAutomations(c *fiber.Ctx) error {
	as, err := s.store.ListAutomations(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]automationView, 0, len(as))
	for _, a := range as {
		out = append(out, viewAutomation(a))
	}
	return c.JSON(fiber.Map{"automations": out})
}

func decodeJSON(c *fiber.Ctx, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(c.Body())))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem(fiber.StatusBadRequest, "invalid JSON body: "+err.Error())
	}
	return nil
}

func (s *Server) createAutomation(c *fiber.Ctx) error {
	var in automationInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.ValidateAutomation(in.Name, in.ExtensionID, in.Script, in.PolicyKATA); err != nil {
		return err
	}
	a := &store.Automation{Name: in.Name, ExtensionID: in.ExtensionID, Description: in.Description, Script: in.Script, PolicyKATA: in.PolicyKATA}
	if err := s.store.CreateAutomation(c.UserContext(), a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return problem(fiber.StatusConflict, fmt.Sprintf("an automation named %q already exists", in.Name))
		}
		return err
	}
	s.changed(c.UserContext())
	c.Location("/api/v1/automations/" + url.PathEscape(a.Name))
	return c.Status(fiber.StatusCreated).JSON(viewAutomation(a))
}

func (s *Server) getAutomation(c *fiber.Ctx) error {
	a, err := s.store.GetAutomation(c.UserContext(), c.Params("name"))
	if err != nil {
		return notFound(err, "automation", c.Params("name"))
	}
	return c.JSON(viewAutomation(a))
}

// putAutomation replaces an automation, or creates it when it does not exist.
func (s *Server) putAutomation(c *fiber.Ctx) error {
	var in automationInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	name := c.Params("name")
	if in.Name == "" {
		in.Name = name
	}
	if in.Name != name {
		return problem(fiber.StatusBadRequest, fmt.Sprintf("the body's name %q differs from the URL's %q (renaming is not supported)", in.Name, name))
	}
	if err := s.ValidateAutomation(in.Name, in.ExtensionID, in.Script, in.PolicyKATA); err != nil {
		return err
	}
	a := &store.Automation{Name: in.Name, ExtensionID: in.ExtensionID, Description: in.Description, Script: in.Script, PolicyKATA: in.PolicyKATA}
	if err := s.checkWebhooksStillWork(c.UserContext(), a); err != nil {
		return err
	}
	status := fiber.StatusOK
	err := s.store.UpdateAutomation(c.UserContext(), a)
	if errors.Is(err, store.ErrNotFound) {
		status = fiber.StatusCreated
		err = s.store.CreateAutomation(c.UserContext(), a)
	}
	if err != nil {
		return err
	}
	s.changed(c.UserContext())
	return c.Status(status).JSON(viewAutomation(a))
}

// checkWebhooksStillWork refuses a new version of an automation that the
// webhooks using it could not run: a trigger other than webhook.respond,
// or declared inputs that no longer match the fixed inputs a handler
// passes. Without it every request of those webhooks would answer 500.
func (s *Server) checkWebhooksStillWork(ctx context.Context, a *store.Automation) error {
	ws, err := s.store.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	p := problem(fiber.StatusBadRequest, "the change would break webhooks that use this automation")
	for _, w := range ws {
		ev, err := automations.ParseEvent(w.EventKATA, s.tpl)
		if err != nil || !slices.Contains(ev.Automations(), a.Name) {
			continue
		}
		if !isWebhookTrigger(a.ExtensionID) {
			p.Errors = append(p.Errors, ProblemItem{Field: "extension_id",
				Message: fmt.Sprintf("webhook %q (%s) runs this automation, which needs the webhook.respond trigger", w.Name, w.ID)})
			continue
		}
		for _, it := range s.checkFixedInputs(ev, map[string]*store.Automation{a.Name: a}) {
			p.Errors = append(p.Errors, ProblemItem{Field: "script",
				Message: fmt.Sprintf("webhook %q (%s), event KATA %d:%d: %s", w.Name, w.ID, it.Line, it.Column, it.Message)})
		}
	}
	if len(p.Errors) > 0 {
		return p
	}
	return nil
}

func (s *Server) deleteAutomation(c *fiber.Ctx) error {
	name := c.Params("name")
	if c.Query("force") != "true" {
		users, err := s.webhooksUsing(c, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return problem(fiber.StatusConflict, fmt.Sprintf("automation %q is used by webhooks %s; change them first or delete with ?force=true", name, strings.Join(users, ", ")))
		}
	}
	if err := s.store.DeleteAutomation(c.UserContext(), name); err != nil {
		return notFound(err, "automation", name)
	}
	s.changed(c.UserContext())
	return c.SendStatus(fiber.StatusNoContent)
}

// webhooksUsing lists the ids of webhooks whose event KATA names automation.
func (s *Server) webhooksUsing(c *fiber.Ctx, automation string) ([]string, error) {
	ws, err := s.store.ListWebhooks(c.UserContext())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range ws {
		ev, err := automations.ParseEvent(w.EventKATA, s.tpl)
		if err != nil {
			continue
		}
		for _, n := range ev.Automations() {
			if n == automation {
				out = append(out, fmt.Sprintf("%q (%s)", w.Name, w.ID))
				break
			}
		}
	}
	return out, nil
}

func notFound(err error, kind, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return problem(fiber.StatusNotFound, fmt.Sprintf("no %s %q", kind, id))
	}
	return err
}

// ---- webhooks ----

type webhookView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	EventKATA string     `json:"event_kata"`
	Enabled   bool       `json:"enabled"`
	Debug     bool       `json:"debug"`
	ExpiresAt *time.Time `json:"expires_at"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// PreviousTokenValidUntil is set while a rotated token still works.
	PreviousTokenValidUntil *time.Time `json:"previous_token_valid_until,omitempty"`
	// URL and Token are shown only when the token is created or rotated.
	URL   string `json:"url,omitempty"`
	Token string `json:"token,omitempty"`
}

func viewWebhook(w *store.Webhook) webhookView {
	v := webhookView{ID: w.ID, Name: w.Name, EventKATA: w.EventKATA, Enabled: w.Enabled, Debug: w.Debug,
		ExpiresAt: w.ExpiresAt, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	if w.PrevTokenExpiresAt != nil && time.Now().Before(*w.PrevTokenExpiresAt) {
		v.PreviousTokenValidUntil = w.PrevTokenExpiresAt
	}
	return v
}

// WebhookURL is the public URL of a webhook token.
func (s *Server) WebhookURL(token string) string {
	return s.cfg.PublicURL + "/webhooks/" + token
}

type webhookInput struct {
	Name      string     `json:"name"`
	EventKATA string     `json:"event_kata"`
	Enabled   *bool      `json:"enabled"`
	Debug     bool       `json:"debug"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

func (s *Server) createWebhook(c *fiber.Ctx) error {
	var in webhookInput
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), "text/plain") {
		in.Name = c.Query("name")
		in.EventKATA = string(c.Body())
		if e := c.Query("enabled"); e != "" {
			b, err := strconv.ParseBool(e)
			if err != nil {
				return problem(fiber.StatusBadRequest, "enabled must be true or false")
			}
			in.Enabled = &b
		}
		in.Debug = c.Query("debug") == "true"
	} else if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Name) == "" {
		return invalidField("name", "name is required (JSON \"name\", or ?name= with a text/plain body)")
	}
	if len(in.Name) > 255 {
		return invalidField("name", "name must be at most 255 characters")
	}
	if err := s.ValidateEvent(c.UserContext(), in.EventKATA, nil); err != nil {
		return err
	}
	tok := newToken()
	w := &store.Webhook{Name: in.Name, EventKATA: in.EventKATA, Enabled: in.Enabled == nil || *in.Enabled,
		Debug: in.Debug, ExpiresAt: in.ExpiresAt, TokenHash: tokenHash(tok)}
	if err := s.store.CreateWebhook(c.UserContext(), w); err != nil {
		return err
	}
	s.changed(c.UserContext())
	v := viewWebhook(w)
	v.Token, v.URL = tok, s.WebhookURL(tok)
	c.Location("/api/v1/webhooks/" + w.ID)
	return c.Status(fiber.StatusCreated).JSON(v)
}

func invalidField(field, msg string) *Problem {
	p := problem(fiber.StatusBadRequest, "validation failed")
	p.Errors = []ProblemItem{{Field: field, Message: msg}}
	return p
}

func (s *Server) listWebhooks(c *fiber.Ctx) error {
	ws, err := s.store.ListWebhooks(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]webhookView, 0, len(ws))
	for _, w := range ws {
		out = append(out, viewWebhook(w))
	}
	return c.JSON(fiber.Map{"webhooks": out})
}

func (s *Server) getWebhook(c *fiber.Ctx) error {
	w, err := s.store.GetWebhook(c.UserContext(), c.Params("id"))
	if err != nil {
		return notFound(err, "webhook", c.Params("id"))
	}
	return c.JSON(viewWebhook(w))
}

// patchWebhook changes the fields present in the JSON body; "expires_at":
// null clears the expiry.
func (s *Server) patchWebhook(c *fiber.Ctx) error {
	id := c.Params("id")
	w, err := s.store.GetWebhook(c.UserContext(), id)
	if err != nil {
		return notFound(err, "webhook", id)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(c.Body(), &raw); err != nil {
		return problem(fiber.StatusBadRequest, "invalid JSON body: "+err.Error())
	}
	for k, v := range raw {
		var err error
		switch k {
		case "name":
			err = json.Unmarshal(v, &w.Name)
			if err == nil && (strings.TrimSpace(w.Name) == "" || len(w.Name) > 255) {
				return invalidField("name", "name must be 1 to 255 characters")
			}
		case "event_kata":
			err = json.Unmarshal(v, &w.EventKATA)
			if err == nil {
				if verr := s.ValidateEvent(c.UserContext(), w.EventKATA, nil); verr != nil {
					return verr
				}
			}
		case "enabled":
			err = json.Unmarshal(v, &w.Enabled)
		case "debug":
			err = json.Unmarshal(v, &w.Debug)
		case "expires_at":
			w.ExpiresAt = nil
			if string(v) != "null" {
				var t time.Time
				err = json.Unmarshal(v, &t)
				w.ExpiresAt = &t
			}
		default:
			return problem(fiber.StatusBadRequest, fmt.Sprintf("unknown field %q (known: name, event_kata, enabled, debug, expires_at)", k))
		}
		if err != nil {
			return problem(fiber.StatusBadRequest, fmt.Sprintf("field %q: %v", k, err))
		}
	}
	if err := s.store.UpdateWebhook(c.UserContext(), w); err != nil {
		return notFound(err, "webhook", id)
	}
	s.changed(c.UserContext())
	return c.JSON(viewWebhook(w))
}

func (s *Server) deleteWebhook(c *fiber.Ctx) error {
	if err := s.store.DeleteWebhook(c.UserContext(), c.Params("id")); err != nil {
		return notFound(err, "webhook", c.Params("id"))
	}
	s.changed(c.UserContext())
	return c.SendStatus(fiber.StatusNoContent)
}

// rotateWebhook gives the webhook a new token. The old one keeps working
// for ?overlap= (a Go duration such as 1h; default from the config; 0 ends
// it at once).
func (s *Server) rotateWebhook(c *fiber.Ctx) error {
	id := c.Params("id")
	w, err := s.store.GetWebhook(c.UserContext(), id)
	if err != nil {
		return notFound(err, "webhook", id)
	}
	overlap := s.cfg.RotateOverlap
	if o := c.Query("overlap"); o != "" {
		d, err := time.ParseDuration(o)
		if err != nil || d < 0 {
			return problem(fiber.StatusBadRequest, fmt.Sprintf("overlap %q is not a duration such as 30m or 24h", o))
		}
		overlap = d
	}
	tok := newToken()
	w.PrevTokenHash, w.PrevTokenExpiresAt = nil, nil
	if overlap > 0 {
		until := time.Now().Add(overlap).UTC()
		w.PrevTokenHash, w.PrevTokenExpiresAt = w.TokenHash, &until
	}
	w.TokenHash = tokenHash(tok)
	if err := s.store.UpdateWebhook(c.UserContext(), w); err != nil {
		return err
	}
	s.changed(c.UserContext())
	v := viewWebhook(w)
	v.Token, v.URL = tok, s.WebhookURL(tok)
	return c.JSON(v)
}

// ---- runs ----

type runView struct {
	ID         string          `json:"id"`
	WebhookID  string          `json:"webhook_id"`
	Automation string          `json:"automation"`
	Revision   int64           `json:"revision"`
	Status     int             `json:"status"`
	Exit       string          `json:"exit"`
	Error      string          `json:"error,omitempty"`
	DurationUS int64           `json:"duration_us"`
	CreatedAt  time.Time       `json:"created_at"`
	Inputs     json.RawMessage `json:"inputs,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Log        json.RawMessage `json:"log,omitempty"`
}

// viewRun shows a run record. Every stored string goes through redact:
// records are redacted when written, and again when shown for runs
// recorded before a secret was set.
func viewRun(r *store.Run, full bool, redact func(string) string) runView {
	v := runView{ID: r.ID, WebhookID: r.WebhookID, Automation: r.Automation, Revision: r.Revision, Status: r.Status,
		Exit: r.Exit, Error: redact(r.Error), DurationUS: r.DurationUS, CreatedAt: r.CreatedAt}
	if full {
		v.Inputs = rawOrNil(redactRawJSON(r.Inputs, redact))
		v.Output = rawOrNil(redactRawJSON(r.Output, redact))
		v.Log = rawOrNil(redactRawJSON(r.Log, redact))
	}
	return v
}

func rawOrNil(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

func (s *Server) listRuns(c *fiber.Ctx) error {
	f := store.RunFilter{WebhookID: c.Query("webhook"), BeforeID: c.Query("before")}
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return problem(fiber.StatusBadRequest, "limit must be a number from 1 to 500")
		}
		f.Limit = n
	}
	rs, err := s.store.ListRuns(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := make([]runView, 0, len(rs))
	for _, r := range rs {
		out = append(out, viewRun(r, false, s.redact))
	}
	return c.JSON(fiber.Map{"runs": out})
}

func (s *Server) getRun(c *fiber.Ctx) error {
	r, err := s.store.GetRun(c.UserContext(), c.Params("id"))
	if err != nil {
		return notFound(err, "run", c.Params("id"))
	}
	return c.JSON(viewRun(r, true, s.redact))
}

// listExtensions serves GET /api/v1/extensions: what is loaded, its
// version, pids, restarts and runs in flight.
func (s *Server) listExtensions(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"extensions": s.ext.extensionsInfo()})
}
