package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

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

// ImportOptions configure ImportWith.
type ImportOptions struct {
	// Prune deletes, on an upgrade, the records of the previous revision
	// that the new one no longer has; without it they are kept (and no
	// longer part of the package), with a warning.
	Prune bool
}

// Import is ImportWith without options.
func (c *Catalog) Import(ctx context.Context, raw []byte) (*api.ImportResult, error) {
	return c.ImportWith(ctx, raw, ImportOptions{})
}

// ImportWith imports a package (the pasted JSON, or {"package":…,
// "prompts":…}) in one transaction: everything it creates, or nothing.
//
// A package imported before is compared by revision with its latest
// import: the same revision changes nothing (ImportUnchanged, with the
// records it created then); a higher one upgrades its records
// (ImportUpgrade: automations updated by name, the webhooks it created
// updated in place with their IDs and tokens, new records created, gone
// ones kept or, with Prune, deleted); a lower one is refused (409). An
// upgrade that would break a webhook is refused (400) with every reason.
func (c *Catalog) ImportWith(ctx context.Context, raw []byte, opts ImportOptions) (*api.ImportResult, error) {
	name, revision, _ := packages.Header(raw)
	var prev *store.PackageImport
	var before packages.Result
	if name != "" && store.ValidName(name) {
		p, err := c.st.LatestImport(ctx, name)
		switch {
		case err == nil:
			prev = p
			_ = json.Unmarshal(p.Result, &before)
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	if prev != nil && int64(revision) < prev.Revision {
		return nil, api.Errorf(http.StatusConflict,
			"package %q is at revision %d here; this is revision %d, an older one: nothing was imported (bump package.revision above %d to upgrade)",
			name, prev.Revision, revision, prev.Revision)
	}
	webhookIDs, err := c.packageWebhooks(ctx, before)
	if err != nil {
		return nil, err
	}
	plan, err := packages.Import(raw, packages.Options{
		Version:    c.cfg.Version,
		Extensions: c.cfg.Extensions.Names(),
		BaseURL:    c.cfg.PublicURL,
		Validator:  packageValidator{c: c, ctx: ctx, created: map[string]*store.Automation{}},
		Templates:  c.cfg.Templates,
		WebhookIDs: webhookIDs,
	})
	if err != nil {
		return nil, packageProblem(err)
	}
	out := &api.ImportResult{Package: plan.Name, Revision: plan.Revision, Action: api.ImportFirst,
		RecordsCreated: map[string]map[string]api.Created{}, Warnings: plan.Warnings}
	switch {
	case prev == nil:
		return out, c.firstImport(ctx, plan, out)
	case int64(plan.Revision) == prev.Revision:
		out.Action = api.ImportUnchanged
		out.RecordsCreated = apiRecords(before.RecordsCreated)
		if c.packageDiffers(ctx, plan, webhookIDs) {
			out.Warnings = append(out.Warnings, fmt.Sprintf(
				"the package's records differ from those revision %d imported: nothing was changed; raise package.revision to upgrade them", prev.Revision))
		}
		return out, nil
	}
	return out, c.upgrade(ctx, plan, prev, before, webhookIDs, opts, out)
}

// apiRecords turns records of a packages.Result into the API's shape.
func apiRecords(recs map[string]map[string]packages.Created) map[string]map[string]api.Created {
	out := make(map[string]map[string]api.Created, len(recs))
	for ctxID, m := range recs {
		o := make(map[string]api.Created, len(m))
		for uid, r := range m {
			o[uid] = api.Created{ID: r.ID, Label: r.Label}
		}
		out[ctxID] = o
	}
	return out
}

// addRecord adds a record to one of the result's maps.
func addRecord(m *map[string]map[string]api.Created, ctxID, uid, id, label string) {
	if *m == nil {
		*m = map[string]map[string]api.Created{}
	}
	if (*m)[ctxID] == nil {
		(*m)[ctxID] = map[string]api.Created{}
	}
	(*m)[ctxID][uid] = api.Created{ID: id, Label: label}
}

// Record types of package results.
const (
	contextAutomation = "automation"
	contextWebhook    = "webhook_listener"
)

// ContextWebhook is the record type of webhooks in an import's result
// (api.ImportResult's records maps).
const ContextWebhook = contextWebhook

// packageWebhooks returns, by uid, the IDs of the webhooks an earlier
// import created that still exist.
func (c *Catalog) packageWebhooks(ctx context.Context, before packages.Result) (map[string]string, error) {
	out := map[string]string{}
	for uid, r := range before.RecordsCreated[contextWebhook] {
		_, err := c.st.GetWebhook(ctx, r.ID)
		switch {
		case err == nil:
			out[uid] = r.ID
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return out, nil
}

// storePlan returns the import record of plan, with its result.
func storeImport(plan *packages.Plan) store.PackageImport {
	resJSON, _ := json.Marshal(plan.Result())
	return store.PackageImport{Name: plan.Name, Revision: int64(plan.Revision), Result: resJSON}
}

// newWebhook is the record of a webhook a package creates, and its entry
// in the answer (with its token, shown once).
func (c *Catalog) newWebhook(w packages.Webhook) (*store.Webhook, api.ImportedWebhook) {
	h := w.TokenSHA256()
	return &store.Webhook{ID: w.ID, Name: w.Name, EventKATA: w.EventKATA, Enabled: w.Enabled, TokenHash: h[:]},
		api.ImportedWebhook{UID: w.UID, ID: w.ID, Name: w.Name, URL: c.WebhookURL(w.Token), Token: w.Token}
}

// firstImport creates everything plan holds.
func (c *Catalog) firstImport(ctx context.Context, plan *packages.Plan, out *api.ImportResult) error {
	imp := storeImport(plan)
	cs := &store.ChangeSet{Changes: []store.Change{{Action: store.ActionImport, Package: &imp}}}
	for _, a := range plan.Automations {
		cs.Changes = append(cs.Changes, store.Change{Action: store.ActionCreate, Automation: &store.Automation{Name: a.Name,
			ExtensionID: a.ExtensionID, Description: a.Description, Script: a.Script, PolicyKATA: a.PolicyKATA}})
		addRecord(&out.RecordsCreated, contextAutomation, a.UID, a.Name, a.Name)
	}
	for _, w := range plan.Webhooks {
		rec, shown := c.newWebhook(w)
		cs.Changes = append(cs.Changes, store.Change{Action: store.ActionCreate, Webhook: rec})
		out.Webhooks = append(out.Webhooks, shown)
		addRecord(&out.RecordsCreated, contextWebhook, w.UID, w.ID, w.Name)
	}
	if err := c.Apply(ctx, cs); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return api.NewProblem(http.StatusConflict, "nothing was imported: "+err.Error()+" (a package replaces only the records it created itself)")
		}
		return err
	}
	c.log.Info("package imported", "package", plan.Name, "revision", plan.Revision, "automations", len(plan.Automations), "webhooks", len(plan.Webhooks))
	return nil
}

// packageDiffers reports whether plan's records differ from the stored
// records an import of the same revision made.
func (c *Catalog) packageDiffers(ctx context.Context, plan *packages.Plan, webhookIDs map[string]string) bool {
	for _, a := range plan.Automations {
		old, err := c.st.GetAutomation(ctx, a.Name)
		if err != nil || old.ExtensionID != a.ExtensionID || old.Description != a.Description ||
			old.Script != a.Script || old.PolicyKATA != a.PolicyKATA {
			return true
		}
	}
	for _, w := range plan.Webhooks {
		id, ok := webhookIDs[w.UID]
		if !ok {
			return true
		}
		old, err := c.st.GetWebhook(ctx, id)
		if err != nil || old.Name != w.Name || old.EventKATA != w.EventKATA || old.Enabled != w.Enabled {
			return true
		}
	}
	return false
}

// upgrade replaces the records of prev, the package's latest import, with
// those of plan, a higher revision, in one transaction.
func (c *Catalog) upgrade(ctx context.Context, plan *packages.Plan, prev *store.PackageImport, before packages.Result,
	webhookIDs map[string]string, opts ImportOptions, out *api.ImportResult) error {
	out.Action, out.PreviousRevision = api.ImportUpgrade, int(prev.Revision)
	imp := storeImport(plan)
	cs := &store.ChangeSet{Changes: []store.Change{{Action: store.ActionUpgrade, Package: &imp, IfRevision: prev.Revision}}}
	conflicts := api.NewProblem(http.StatusConflict, fmt.Sprintf("the upgrade of package %q was refused; nothing was changed", plan.Name))
	ours := map[string]bool{} // automation names the previous import created
	for _, r := range before.RecordsCreated[contextAutomation] {
		ours[r.ID] = true
	}
	changed := map[string]*store.Automation{} // for the breakage check
	inPlan := map[string]bool{}
	for _, a := range plan.Automations {
		inPlan[a.Name] = true
		rec := &store.Automation{Name: a.Name, ExtensionID: a.ExtensionID, Description: a.Description, Script: a.Script, PolicyKATA: a.PolicyKATA}
		old, err := c.st.GetAutomation(ctx, a.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			cs.Changes = append(cs.Changes, store.Change{Action: store.ActionCreate, Automation: rec})
			addRecord(&out.RecordsCreated, contextAutomation, a.UID, a.Name, a.Name)
			continue
		case err != nil:
			return err
		case !ours[a.Name]:
			conflicts.Add(api.ProblemItem{Field: "records[" + a.UID + "].name",
				Message: fmt.Sprintf("an automation named %q exists and revision %d of the package did not create it (a package replaces only the records it created)", a.Name, prev.Revision)})
			continue
		}
		if err := checkOwner(ctx, "automation", a.Name, old.Owner); err != nil {
			conflicts.Add(api.ProblemItem{Field: "records[" + a.UID + "]", Message: problemDetail(err)})
			continue
		}
		rec.Owner = old.Owner
		changed[a.Name] = rec
		cs.Changes = append(cs.Changes, store.Change{Action: store.ActionUpdate, Automation: rec, IfRevision: old.Revision})
		addRecord(&out.RecordsUpdated, contextAutomation, a.UID, a.Name, a.Name)
	}
	replaced := map[string]bool{} // webhook IDs the package updates or deletes
	inPlanHooks := map[string]bool{}
	for _, w := range plan.Webhooks {
		inPlanHooks[w.UID] = true
		id, ok := webhookIDs[w.UID]
		if !ok {
			rec, shown := c.newWebhook(w)
			cs.Changes = append(cs.Changes, store.Change{Action: store.ActionCreate, Webhook: rec})
			out.Webhooks = append(out.Webhooks, shown)
			addRecord(&out.RecordsCreated, contextWebhook, w.UID, w.ID, w.Name)
			continue
		}
		old, err := c.st.GetWebhook(ctx, id)
		if err != nil {
			return notFoundOr(err, "webhook", id)
		}
		if err := checkOwner(ctx, "webhook", id, old.Owner); err != nil {
			conflicts.Add(api.ProblemItem{Field: "records[" + w.UID + "]", Message: problemDetail(err)})
			continue
		}
		rec := *old
		rec.Name, rec.EventKATA, rec.Enabled = w.Name, w.EventKATA, w.Enabled
		replaced[id] = true
		cs.Changes = append(cs.Changes, store.Change{Action: store.ActionUpdate, Webhook: &rec, IfRevision: old.Revision})
		addRecord(&out.RecordsUpdated, contextWebhook, w.UID, id, w.Name)
	}
	// Records the new revision no longer has.
	var gone []string
	for _, uid := range sortedKeys(before.RecordsCreated[contextAutomation]) {
		r := before.RecordsCreated[contextAutomation][uid]
		if inPlan[r.ID] {
			continue
		}
		old, err := c.st.GetAutomation(ctx, r.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !opts.Prune {
			addRecord(&out.RecordsKept, contextAutomation, uid, r.ID, r.Label)
			gone = append(gone, fmt.Sprintf("automation %q", r.ID))
			continue
		}
		if err := checkOwner(ctx, "automation", r.ID, old.Owner); err != nil {
			conflicts.Add(api.ProblemItem{Field: "records[" + uid + "]", Message: problemDetail(err)})
			continue
		}
		changed[r.ID] = nil
		cs.Changes = append(cs.Changes, store.Change{Action: store.ActionDelete, Automation: &store.Automation{Name: r.ID}, IfRevision: old.Revision})
		addRecord(&out.RecordsDeleted, contextAutomation, uid, r.ID, r.Label)
	}
	for _, uid := range sortedKeys(before.RecordsCreated[contextWebhook]) {
		r := before.RecordsCreated[contextWebhook][uid]
		id, exists := webhookIDs[uid]
		if inPlanHooks[uid] || !exists {
			continue
		}
		if !opts.Prune {
			addRecord(&out.RecordsKept, contextWebhook, uid, id, r.Label)
			gone = append(gone, fmt.Sprintf("webhook %q (%s)", r.Label, id))
			continue
		}
		old, err := c.st.GetWebhook(ctx, id)
		if err != nil {
			return notFoundOr(err, "webhook", id)
		}
		if err := checkOwner(ctx, "webhook", id, old.Owner); err != nil {
			conflicts.Add(api.ProblemItem{Field: "records[" + uid + "]", Message: problemDetail(err)})
			continue
		}
		replaced[id] = true
		cs.Changes = append(cs.Changes, store.Change{Action: store.ActionDelete, Webhook: &store.Webhook{ID: id}, IfRevision: old.Revision})
		addRecord(&out.RecordsDeleted, contextWebhook, uid, id, r.Label)
	}
	if err := conflicts.Err(); err != nil {
		return err
	}
	broken, err := c.webhooksBrokenBy(ctx, changed, replaced)
	if err != nil {
		return err
	}
	if len(broken) > 0 {
		return api.NewProblem(http.StatusBadRequest, fmt.Sprintf("the upgrade of package %q to revision %d would break webhooks; nothing was changed", plan.Name, plan.Revision)).Add(broken...)
	}
	if len(gone) > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("revision %d no longer has %s: kept, and no longer part of the package (import with ?prune=true to delete them)",
			plan.Revision, strings.Join(gone, ", ")))
	}
	if err := c.Apply(ctx, cs); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return api.NewProblem(http.StatusConflict, "nothing was changed: "+err.Error()+" (a package replaces only the records it created itself)")
		}
		return err
	}
	c.log.Info("package upgraded", "package", plan.Name, "from", prev.Revision, "to", plan.Revision)
	return nil
}

// problemDetail is the detail of a problem, or the error's text.
func problemDetail(err error) string {
	var p *api.Problem
	if errors.As(err, &p) {
		return p.Detail
	}
	return err.Error()
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
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
