package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/packages"
	"github.com/hookhost/hookhost/packages/library"
)

// packageValidator adapts the server's save-time validation to
// packages.Validator. It remembers the automations it validated, so that a
// webhook of the same package is checked against them as if they were saved.
type packageValidator struct {
	s       *Server
	ctx     context.Context
	created map[string]*store.Automation
}

func (v packageValidator) ValidateAutomation(name, extensionID, script, policy string) error {
	if err := v.s.ValidateAutomation(name, extensionID, script, policy); err != nil {
		return err
	}
	v.created[name] = &store.Automation{Name: name, ExtensionID: extensionID, Script: script, PolicyKATA: policy}
	return nil
}

func (v packageValidator) ValidateEvent(kata string, creating []string) error {
	pending := make(map[string]*store.Automation, len(creating))
	for _, n := range creating {
		pending[n] = v.created[n] // nil when its own record failed validation
	}
	return v.s.ValidateEvent(v.ctx, kata, pending)
}

// importResult is the answer of POST /api/v1/packages/import.
type importResult struct {
	Package        string                                 `json:"package"`
	Revision       int                                    `json:"revision"`
	RecordsCreated map[string]map[string]packages.Created `json:"records_created"`
	// Webhooks lists the webhooks created with their URLs and tokens (shown
	// only here).
	Webhooks []importedWebhook `json:"webhooks,omitempty"`
	Warnings []string          `json:"warnings,omitempty"`
}

type importedWebhook struct {
	UID   string `json:"uid"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	URL   string `json:"url"`
	Token string `json:"token"`
}

// importPackage serves POST /api/v1/packages/import: the body is a package
// (or {"package": ..., "prompts": {...}}); ?name= imports a built-in package.
func (s *Server) importPackage(c *fiber.Ctx) error {
	raw := append([]byte(nil), c.Body()...)
	if name := c.Query("name"); name != "" {
		pkg, err := library.Get(name)
		if err != nil {
			return problem(fiber.StatusNotFound, fmt.Sprintf("no built-in package %q (GET /api/v1/packages/library lists them)", name))
		}
		if len(raw) > 0 {
			// Prompt answers for a library package: {"prompts": {...}}.
			raw = append(append([]byte(`{"package":`), pkg...), append([]byte(`,"prompts":`), promptsOf(raw)...)...)
			raw = append(raw, '}')
		} else {
			raw = pkg
		}
	}
	res, err := s.importRaw(c.UserContext(), raw)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(res)
}

// promptsOf extracts the "prompts" member of a JSON object, or "{}".
func promptsOf(raw []byte) []byte {
	var w struct {
		Prompts json.RawMessage `json:"prompts"`
	}
	if err := json.Unmarshal(raw, &w); err != nil || len(w.Prompts) == 0 {
		return []byte("{}")
	}
	return w.Prompts
}

func (s *Server) importRaw(ctx context.Context, raw []byte) (*importResult, error) {
	version := s.cfg.Version
	if version == "dev" {
		version = ""
	}
	plan, err := packages.Import(raw, packages.Options{
		Version:    version,
		Extensions: s.extensionNames(),
		BaseURL:    s.cfg.PublicURL,
		Validator:  packageValidator{s: s, ctx: ctx, created: map[string]*store.Automation{}},
	})
	if err != nil {
		return nil, packageProblem(err)
	}
	res := plan.Result()
	out := &importResult{Package: plan.Name, Revision: plan.Revision, RecordsCreated: res.RecordsCreated, Warnings: plan.Warnings}
	resJSON, _ := json.Marshal(res)
	sp := &store.ImportPlan{Import: store.PackageImport{Name: plan.Name, Revision: int64(plan.Revision), Result: resJSON}}
	for _, a := range plan.Automations {
		sp.Automations = append(sp.Automations, &store.Automation{Name: a.Name, ExtensionID: a.ExtensionID,
			Description: a.Description, Script: a.Script, PolicyKATA: a.PolicyKATA})
	}
	for _, w := range plan.Webhooks {
		h := w.TokenSHA256()
		sp.Webhooks = append(sp.Webhooks, &store.Webhook{ID: w.ID, Name: w.Name, EventKATA: w.EventKATA,
			Enabled: w.Enabled, TokenHash: h[:]})
		out.Webhooks = append(out.Webhooks, importedWebhook{UID: w.UID, ID: w.ID, Name: w.Name, URL: s.WebhookURL(w.Token), Token: w.Token})
	}
	if err := s.store.ApplyImport(ctx, sp); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, problem(fiber.StatusConflict, "nothing was imported: "+err.Error()+" (packages do not replace existing records)")
		}
		return nil, err
	}
	s.changed(ctx)
	s.log.Info("package imported", "package", plan.Name, "automations", len(plan.Automations), "webhooks", len(plan.Webhooks))
	return out, nil
}

// packageProblem turns package import errors into one 400 problem listing
// every problem, each under records[<uid>].<field>.
func packageProblem(err error) error {
	p := problem(fiber.StatusBadRequest, "the package was not imported; nothing was created")
	var es packages.Errors
	if !errors.As(err, &es) {
		var e *packages.Error
		if errors.As(err, &e) {
			es = packages.Errors{e}
		}
	}
	if len(es) == 0 {
		p.Errors = []ProblemItem{{Field: "package", Message: err.Error()}}
		return p
	}
	for _, e := range es {
		field := "package"
		if e.UID != "" {
			field = "records[" + e.UID + "]"
		}
		if e.Field != "" {
			field += "." + e.Field
		}
		var inner *Problem
		if e.Err != nil && errors.As(e.Err, &inner) && len(inner.Errors) > 0 {
			for _, it := range inner.Errors {
				f := field
				if e.UID != "" && it.Field != "" {
					f = "records[" + e.UID + "]." + it.Field
				}
				p.Errors = append(p.Errors, ProblemItem{Field: f, Line: it.Line, Column: it.Column, Message: it.Message})
			}
			continue
		}
		items := problemItems(field, e)
		if e.Err != nil {
			items = problemItems(field, e.Err)
			// Without a position the package's own wording reads better,
			// when it has one (render errors carry only the engine's).
			if len(items) == 1 && items[0].Line == 0 && e.Msg != "" {
				items[0].Message = e.Msg
			}
		}
		p.Errors = append(p.Errors, items...)
	}
	return p
}

// listLibrary serves GET /api/v1/packages/library.
func (s *Server) listLibrary(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"packages": library.List()})
}

// exampleEventKATA is the event KATA of the Cerb guide's webhook.
const exampleEventKATA = `automation/webhook:
  uri: cerb:automation:example.webhook.respond
`

// installExample imports the webhook-example package and creates its
// webhook, once. The URL goes to the log and to <data dir>/example-webhook.url.
func (s *Server) installExample(ctx context.Context) error {
	urlFile := filepath.Join(s.cfg.DataDir, "example-webhook.url")
	if _, err := s.store.GetAutomation(ctx, "example.webhook.respond"); err == nil {
		if b, err := os.ReadFile(urlFile); err == nil {
			s.log.Info("example webhook ready", "url", string(trimNL(b)))
		}
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	raw, err := library.Get("webhook-example")
	if err != nil {
		return err
	}
	if _, err := s.importRaw(ctx, raw); err != nil {
		return err
	}
	tok := newToken()
	w := &store.Webhook{Name: "Webhook Example", EventKATA: exampleEventKATA, Enabled: true, TokenHash: tokenHash(tok)}
	if err := s.store.CreateWebhook(ctx, w); err != nil {
		return err
	}
	s.changed(ctx)
	u := s.WebhookURL(tok)
	if err := os.WriteFile(urlFile, []byte(u+"\n"), 0o600); err != nil {
		return err
	}
	// The URL holds the webhook's token, which never goes to a log: the
	// log line says where to find it.
	s.log.Info("example webhook created", "url_file", urlFile,
		"try", `curl -i -X POST -H "X-CustomHeader: true" "$(cat `+urlFile+`)?key=value"`)
	return nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// extensionNames lists the loaded extensions (for package requirements).
func (s *Server) extensionNames() []string {
	var names []string
	for _, in := range s.ext.extensionsInfo() {
		names = append(names, in.Name)
		names = append(names, in.Commands...)
	}
	return names
}
