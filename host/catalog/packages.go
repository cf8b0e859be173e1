package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/packages"
	"github.com/hookhost/hookhost/packages/library"
)

// packageValidator validates a package's records with the catalog's rules;
// it remembers the automations the package creates so that its webhooks
// are checked against them.
type packageValidator struct {
	c       *Catalog
	ctx     context.Context
	created map[string]*store.Automation
}

func (v packageValidator) ValidateAutomation(name, extensionID, script, policy string) error {
	if err := v.c.ValidateAutomation(name, extensionID, script, policy); err != nil {
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
	return v.c.ValidateEvent(v.ctx, kata, pending)
}

// Library returns a built-in package by name, with prompt answers from
// body ({"prompts": {...}}) when it is not empty (404 problem when there
// is no such package).
func Library(name string, body []byte) ([]byte, error) {
	pkg, err := library.Get(name)
	if err != nil {
		return nil, api.Errorf(http.StatusNotFound, "no built-in package %q (GET /api/v1/packages/library lists them)", name)
	}
	if len(body) == 0 {
		return pkg, nil
	}
	raw := append(append([]byte(`{"package":`), pkg...), append([]byte(`,"prompts":`), promptsOf(body)...)...)
	return append(raw, '}'), nil
}

// promptsOf returns the "prompts" object of an import body, or {}.
func promptsOf(raw []byte) []byte {
	var w struct {
		Prompts json.RawMessage `json:"prompts"`
	}
	if err := json.Unmarshal(raw, &w); err != nil || len(w.Prompts) == 0 {
		return []byte("{}")
	}
	return w.Prompts
}

// Import imports a package (the pasted JSON, or {"package":…,"prompts":…})
// in one transaction: everything it creates, or nothing.
func (c *Catalog) Import(ctx context.Context, raw []byte) (*api.ImportResult, error) {
	plan, err := packages.Import(raw, packages.Options{
		Version:    c.cfg.Version,
		Extensions: c.cfg.Extensions.Names(),
		BaseURL:    c.cfg.PublicURL,
		Validator:  packageValidator{c: c, ctx: ctx, created: map[string]*store.Automation{}},
		Templates:  c.cfg.Templates,
	})
	if err != nil {
		return nil, packageProblem(err)
	}
	res := plan.Result()
	out := &api.ImportResult{Package: plan.Name, Revision: plan.Revision, RecordsCreated: map[string]map[string]api.Created{}, Warnings: plan.Warnings}
	for ctxID, recs := range res.RecordsCreated {
		m := make(map[string]api.Created, len(recs))
		for uid, r := range recs {
			m[uid] = api.Created{ID: r.ID, Label: r.Label}
		}
		out.RecordsCreated[ctxID] = m
	}
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
		out.Webhooks = append(out.Webhooks, api.ImportedWebhook{UID: w.UID, ID: w.ID, Name: w.Name, URL: c.WebhookURL(w.Token), Token: w.Token})
	}
	if err := c.st.ApplyImport(ctx, sp); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, api.NewProblem(http.StatusConflict, "nothing was imported: "+err.Error()+" (packages do not replace existing records)")
		}
		return nil, err
	}
	c.Changed(ctx)
	c.log.Info("package imported", "package", plan.Name, "automations", len(plan.Automations), "webhooks", len(plan.Webhooks))
	return out, nil
}

// packageProblem turns an import's errors into a 400 problem, one item per
// problem, with the record and field it is about.
func packageProblem(err error) error {
	p := api.NewProblem(http.StatusBadRequest, "the package was not imported; nothing was created")
	var es packages.Errors
	if !errors.As(err, &es) {
		var e *packages.Error
		if errors.As(err, &e) {
			es = packages.Errors{e}
		}
	}
	if len(es) == 0 {
		return p.Add(api.ProblemItem{Field: "package", Message: err.Error()})
	}
	for _, e := range es {
		field := "package"
		if e.UID != "" {
			field = "records[" + e.UID + "]"
		}
		if e.Field != "" {
			field += "." + e.Field
		}
		var inner *api.Problem
		if e.Err != nil && errors.As(e.Err, &inner) && len(inner.Errors) > 0 {
			for _, it := range inner.Errors {
				f := field
				if e.UID != "" && it.Field != "" {
					f = "records[" + e.UID + "]." + it.Field
				}
				p.Add(api.ProblemItem{Field: f, Line: it.Line, Column: it.Column, Message: it.Message})
			}
			continue
		}
		items := api.Items(field, e)
		if e.Err != nil {
			items = api.Items(field, e.Err)
			if len(items) == 1 && items[0].Line == 0 && e.Msg != "" {
				items[0].Message = e.Msg
			}
		}
		p.Add(items...)
	}
	return p
}

// exampleEventKATA is the event KATA of the example webhook.
const exampleEventKATA = `automation/webhook:
  uri: cerb:automation:example.webhook.respond
`

// InstallExample imports the built-in webhook-example package and creates
// its webhook, once; the URL (which holds the token) is written to
// <dataDir>/example-webhook.url (0600), never to the log.
func (c *Catalog) InstallExample(ctx context.Context, dataDir string) error {
	urlFile := filepath.Join(dataDir, "example-webhook.url")
	if _, err := c.st.GetAutomation(ctx, "example.webhook.respond"); err == nil {
		if _, err := os.Stat(urlFile); err == nil {
			c.log.Info("example webhook ready", "url_file", urlFile)
		}
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	raw, err := library.Get("webhook-example")
	if err != nil {
		return err
	}
	if _, err := c.Import(ctx, raw); err != nil {
		return err
	}
	tok := NewToken()
	w := &store.Webhook{Name: "Webhook Example", EventKATA: exampleEventKATA, Enabled: true, TokenHash: TokenHash(tok)}
	if err := c.st.CreateWebhook(ctx, w); err != nil {
		return err
	}
	c.Changed(ctx)
	if err := os.WriteFile(urlFile, []byte(c.WebhookURL(tok)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", urlFile, err)
	}
	c.log.Info("example webhook created", "url_file", urlFile,
		"try", `curl -i -X POST -H "X-CustomHeader: true" "$(cat `+urlFile+`)?key=value"`)
	return nil
}
