package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
)

var automationNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// compile compiles an automation record with the server's templates and
// extension commands.
func (c *Catalog) compile(name, trigger, script, policy string) (*automations.Program, error) {
	return automations.Compile(automations.Source{Name: name, Trigger: trigger, Script: script, Policy: policy},
		automations.Options{Templates: c.cfg.Templates, Commands: c.cfg.Extensions.Commands()})
}

// ValidateAutomation checks an automation record the way saving it does:
// its name, its trigger, and its script and policy compiled together. The
// error lists every problem (a *api.Problem).
func (c *Catalog) ValidateAutomation(name, extensionID, script, policy string) error {
	p := api.Validation()
	switch {
	case name == "":
		p.Add(api.ProblemItem{Field: "name", Message: "name is required"})
	case len(name) > 255:
		p.Add(api.ProblemItem{Field: "name", Message: "name must be at most 255 characters"})
	case !automationNameRE.MatchString(name):
		p.Add(api.ProblemItem{Field: "name", Message: fmt.Sprintf("name %q must only contain letters, numbers, dashes, underscores and dots", name)})
	}
	if extensionID == "" {
		p.Add(api.ProblemItem{Field: "extension_id", Message: "extension_id is required (e.g. cerb.trigger.webhook.respond)"})
	} else if _, ok := automations.Trigger(extensionID); !ok {
		p.Add(api.ProblemItem{Field: "extension_id", Message: fmt.Sprintf("unknown trigger %q (known: %s)", extensionID, knownTriggers())})
	}
	if _, err := c.compile(name, extensionID, script, policy); err != nil {
		var ds automations.Diagnostics
		if errors.As(err, &ds) {
			for _, d := range ds {
				field := "script"
				if d.Source == "policy" {
					field = "policy_kata"
				}
				p.Add(api.ProblemItem{Field: field, Line: d.Pos.Line, Column: d.Pos.Col, Message: d.Msg})
			}
		} else {
			p.Add(api.ProblemItem{Field: "script", Message: err.Error()})
		}
	}
	return p.Err()
}

// ValidateEvent checks event KATA the way saving a webhook does: it must
// parse, its verify blocks must name secrets that are set, and every
// automation it names must exist as a webhook.respond automation (or be
// among pending, created in the same request: nil for one whose own record
// failed validation), and pass it the inputs it declares.
func (c *Catalog) ValidateEvent(ctx context.Context, text string, pending map[string]*store.Automation) error {
	return c.ValidateEventIn(ctx, text, EventContext{Automations: pending})
}

// EventContext is the state event KATA is checked against when it is
// saved with other changes (a package, a manifest apply).
type EventContext struct {
	// Automations are the automations saved with it, by name (nil for one
	// whose own record failed validation): they count as existing, in
	// this version.
	Automations map[string]*store.Automation
	// Deleted are automations deleted with it: they count as missing.
	Deleted map[string]bool
	// Secret reports whether a secret is set once the changes are made;
	// nil asks the store.
	Secret func(name string) bool
}

// ValidateEventIn is ValidateEvent against the state ec describes.
func (c *Catalog) ValidateEventIn(ctx context.Context, text string, ec EventContext) error {
	ev, err := c.CompileEvent(text)
	if err != nil {
		return api.Invalid("event_kata", err)
	}
	p := api.Validation()
	for _, v := range ev.Verifiers {
		for _, name := range v.SecretNames() {
			set := false
			if ec.Secret != nil {
				set = ec.Secret(name)
			} else if _, found, err := c.SecretValue(ctx, name); err != nil || found {
				set = true // an unreadable secret is reported where it is used
			}
			if !set {
				p.Add(api.ProblemItem{Field: "event_kata", Line: v.Pos().Line, Column: v.Pos().Col,
					Message: fmt.Sprintf("%s uses the secret %q, which is not set (PUT /api/v1/secrets/%s)", v.Key(), name, name)})
			}
		}
	}
	for _, sub := range ev.Subscriptions {
		for _, name := range sub.SecretNames() {
			set := false
			if ec.Secret != nil {
				set = ec.Secret(name)
			} else if _, found, err := c.SecretValue(ctx, name); err != nil || found {
				set = true
			}
			if !set {
				p.Add(api.ProblemItem{Field: "event_kata", Line: sub.Pos.Line, Column: sub.Pos.Col,
					Message: fmt.Sprintf("subscribe/%s: uses the secret %q, which is not set (PUT /api/v1/secrets/%s)", sub.Name, name, name)})
			}
		}
	}
	saved := map[string]*store.Automation{}
	for _, name := range ev.Automations() {
		a, ok := ec.Automations[name]
		if ok && a == nil {
			continue // created by the same package; its own record has the problems
		}
		if !ok {
			if ec.Deleted[name] {
				p.Add(api.ProblemItem{Field: "event_kata", Message: fmt.Sprintf("automation %q would be deleted", name)})
				continue
			}
			a, err = c.st.GetAutomation(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				p.Add(api.ProblemItem{Field: "event_kata", Message: fmt.Sprintf("automation %q does not exist", name)})
				continue
			}
			if err != nil {
				return err
			}
		}
		if !automations.IsWebhookTrigger(a.ExtensionID) {
			p.Add(api.ProblemItem{Field: "event_kata", Message: fmt.Sprintf("automation %q has trigger %s, not webhook.respond", name, a.ExtensionID)})
			continue
		}
		saved[name] = a
	}
	p.Add(c.checkFixedInputs(ev, saved)...)
	return p.Err()
}

// checkFixedInputs reports, for each handler whose automation is saved,
// fixed inputs the automation does not declare and required inputs without
// a default that the handler does not give: either would fail every run
// with the same error, so it is refused when the event KATA is saved.
// Automations created by the same package import are in saved too.
func (c *Catalog) checkFixedInputs(ev *Event, saved map[string]*store.Automation) []api.ProblemItem {
	var items []api.ProblemItem
	decls := map[string][]automations.InputDecl{}
	for name, a := range saved {
		prog, err := c.compile(a.Name, a.ExtensionID, a.Script, a.PolicyKATA)
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
				items = append(items, api.ProblemItem{Field: "event_kata", Line: in.Pos.Line, Column: in.Pos.Col,
					Message: fmt.Sprintf("input `%s` is not declared by automation %q (%s)", in.Name, h.Automation, declaredInputs(ds))})
			}
		}
		for _, d := range ds {
			if d.Required && !d.HasDefault && !given[d.Name] {
				items = append(items, api.ProblemItem{Field: "event_kata", Line: h.Pos.Line, Column: h.Pos.Col,
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

// checkWebhooksStillWork refuses a new version of an automation that the
// webhooks using it could not run: a trigger other than webhook.respond,
// or declared inputs that no longer match the fixed inputs a handler
// passes. Without it every request of those webhooks would answer 500.
func (c *Catalog) checkWebhooksStillWork(ctx context.Context, a *store.Automation) error {
	items, err := c.webhooksBrokenBy(ctx, map[string]*store.Automation{a.Name: a}, nil)
	if err != nil {
		return err
	}
	return api.NewProblem(http.StatusBadRequest, "the change would break webhooks that use this automation").Add(items...).Err()
}

// webhooksBrokenBy lists what changed would break in the stored webhooks
// (but those in skip, whose new event KATA is checked on its own): changed
// holds new versions of automations by name, nil for one being deleted.
// A webhook breaks when an automation it runs is deleted, loses the
// webhook.respond trigger, or declares inputs that no longer match the
// fixed inputs its handler passes.
func (c *Catalog) webhooksBrokenBy(ctx context.Context, changed map[string]*store.Automation, skip map[string]bool) ([]api.ProblemItem, error) {
	var items []api.ProblemItem
	err := c.eachEvent(ctx, func(w *store.Webhook, ev *Event) {
		if skip[w.ID] {
			return
		}
		for _, name := range ev.Automations() {
			a, ok := changed[name]
			switch {
			case !ok:
				continue
			case a == nil:
				items = append(items, api.ProblemItem{Field: "event_kata",
					Message: fmt.Sprintf("webhook %q (%s) runs automation %q, which would be deleted", w.Name, w.ID, name)})
			case !automations.IsWebhookTrigger(a.ExtensionID):
				items = append(items, api.ProblemItem{Field: "extension_id",
					Message: fmt.Sprintf("webhook %q (%s) runs automation %q, which needs the webhook.respond trigger", w.Name, w.ID, name)})
			default:
				for _, it := range c.checkFixedInputs(ev, map[string]*store.Automation{name: a}) {
					items = append(items, api.ProblemItem{Field: "script",
						Message: fmt.Sprintf("webhook %q (%s), event KATA %d:%d: %s", w.Name, w.ID, it.Line, it.Column, it.Message)})
				}
			}
		}
	})
	return items, err
}

// BrokenWebhooks lists what a set of changes would break in the stored
// webhooks it does not replace (skip, by ID): changed holds new versions
// of automations by name (nil for one deleted), and deletedSecrets the
// secrets deleted, which the webhooks' verify blocks may need.
func (c *Catalog) BrokenWebhooks(ctx context.Context, changed map[string]*store.Automation, deletedSecrets []string, skip map[string]bool) ([]api.ProblemItem, error) {
	items, err := c.webhooksBrokenBy(ctx, changed, skip)
	if err != nil || len(deletedSecrets) == 0 {
		return items, err
	}
	err = c.eachEvent(ctx, func(w *store.Webhook, ev *Event) {
		if skip[w.ID] {
			return
		}
		for _, v := range ev.Verifiers {
			for _, name := range v.SecretNames() {
				if slices.Contains(deletedSecrets, name) {
					items = append(items, api.ProblemItem{Field: "secrets",
						Message: fmt.Sprintf("webhook %q (%s) verifies requests with the secret %q, which would be deleted", w.Name, w.ID, name)})
				}
			}
		}
	})
	return items, err
}

// webhooksUsing lists the webhooks whose event KATA names automation, as
// `"name" (id)`.
func (c *Catalog) webhooksUsing(ctx context.Context, automation string) ([]string, error) {
	var out []string
	err := c.eachEvent(ctx, func(w *store.Webhook, ev *Event) {
		if slices.Contains(ev.Automations(), automation) {
			out = append(out, fmt.Sprintf("%q (%s)", w.Name, w.ID))
		}
	})
	return out, err
}

// knownTriggers lists the trigger ids automations may have, for messages.
func knownTriggers() string {
	var ids []string
	for _, t := range automations.KnownTriggers() {
		ids = append(ids, t.ID)
	}
	return strings.Join(ids, ", ")
}
