package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/schedule"
	"github.com/hookhost/hookhost/host/store"
)

// Schedules is what manifests need of the scheduler (*schedule.Scheduler).
type Schedules interface {
	List(ctx context.Context) ([]*schedule.Schedule, error)
	Validate(ctx context.Context, sc *schedule.Schedule, automation func(ctx context.Context, name string) (*store.Automation, error)) error
	Change(action string, sc *schedule.Schedule) store.Change
	Changed()
}

// Subscriptions is what manifests need of the job queue's published
// subscriptions (*jobs.Queue).
type Subscriptions interface {
	Subscriptions(ctx context.Context) ([]*jobs.Subscription, error)
	CheckSubscription(s *jobs.Subscription) error
	SubscriptionChange(action string, s *jobs.Subscription) store.Change
	RefreshSubscribers(ctx context.Context)
}

// Extras are the parts of a server besides the catalog whose records
// manifests declare. A nil one is not running: manifests that declare its
// records are refused, and Export leaves them out.
type Extras struct {
	Schedules     Schedules
	Subscriptions Subscriptions
	// Upstream makes the upstream subscriptions of the webhooks an apply
	// creates, changes or deletes (their subscribe/<name>: blocks).
	Upstream Upstream
}

// Upstream is what manifests need of the upstream subscriptions
// (*upstream.Manager).
type Upstream interface {
	Sync(ctx context.Context, w *store.Webhook, webhookURL string, deleted bool)
}

// Schedule is a declared schedule.
type Schedule struct {
	Name        string
	Description string
	Cron        string
	TimeZone    string
	Automation  string
	// Inputs are the fixed inputs as a JSON object (nil: none).
	Inputs  json.RawMessage
	Job     schedule.JobOptions
	Enabled bool
	Missed  string
	File    string
	Pos     Pos
	// at are the positions of its fields, to place problems.
	at map[string]Pos
}

// Subscription is a declared published subscription.
type Subscription struct {
	Name string
	URL  string
	// Events are the event types (jobs.EventTypes).
	Events []string
	// Webhook names the webhook whose events only are sent ("": all).
	Webhook     string
	Description string
	File        string
	Pos         Pos
	at          map[string]Pos
}

// fieldPos is where field's value is (or the entry's position).
func fieldPos(at map[string]Pos, entry Pos, field string) Pos {
	for f := field; f != ""; {
		if p, ok := at[f]; ok {
			return p
		}
		i := strings.LastIndexByte(f, '.')
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return entry
}

// integer reads a whole-number field (0 when absent).
func (r *reader) integer(file string, kv *ast.MappingValueNode) int64 {
	if kv == nil {
		return 0
	}
	switch v := kv.Value.(type) {
	case *ast.NullNode:
		return 0
	case *ast.IntegerNode:
		if n, err := strconv.ParseInt(v.GetToken().Value, 0, 64); err == nil {
			return n
		}
	}
	r.problem(posOf(file, kv.Value), "%s: must be a whole number (got %s)", keyOf(kv), strings.TrimSpace(kv.Value.String()))
	return 0
}

func (r *reader) schedule(file string, n ast.Node) {
	at := posOf(file, n)
	fs := r.fields(file, "schedule", n, []string{"name", "description", "cron", "time_zone", "automation", "inputs", "job",
		"enabled", "missed_runs"})
	if fs == nil {
		return
	}
	sc := &Schedule{File: file, Pos: at, at: map[string]Pos{}}
	for k, kv := range fs {
		sc.at[k] = posOf(file, kv.Value)
	}
	ok := true
	text := func(dst *string, field string) {
		v, good := r.str(file, fs[field])
		if !good {
			ok = false
		}
		*dst = v
	}
	text(&sc.Name, "name")
	text(&sc.Description, "description")
	text(&sc.Cron, "cron")
	text(&sc.TimeZone, "time_zone")
	text(&sc.Automation, "automation")
	text(&sc.Missed, "missed_runs")
	if sc.Name == "" {
		r.problem(at, "name: is required")
		ok = false
	}
	if sc.Cron == "" {
		r.problem(fieldPos(sc.at, at, "cron"), "cron: is required: 5 fields (6 with seconds) or @every <duration>")
		ok = false
	}
	sc.Enabled = r.boolean(file, fs["enabled"], true)
	if kv := fs["inputs"]; kv != nil {
		switch kv.Value.(type) {
		case *ast.NullNode:
		case *ast.MappingNode, *ast.MappingValueNode:
			// An alias is shared in the decoded value but written out
			// whole by each use in the JSON: nine lines of aliases of
			// aliases made gigabytes.
			if aliases := ast.Filter(ast.AliasType, kv.Value); len(aliases) > 0 {
				r.problem(posOf(file, aliases[0]), "inputs: aliases (*name) are not supported: write the value out")
				ok = false
				break
			}
			var v any
			if err := yaml.NodeToValue(kv.Value, &v); err != nil {
				r.problem(sc.at["inputs"], "inputs: %v", err)
				ok = false
				break
			}
			b, err := json.Marshal(v)
			if err != nil {
				r.problem(sc.at["inputs"], "inputs: cannot be JSON: %v", err)
				ok = false
				break
			}
			sc.Inputs = b
		default:
			r.problem(sc.at["inputs"], "inputs: must be a mapping of the automation's inputs")
			ok = false
		}
	}
	if kv := fs["job"]; kv != nil {
		if _, null := kv.Value.(*ast.NullNode); !null {
			jfs := r.fields(file, "job", kv.Value, []string{"max_attempts", "timeout_ms", "concurrency", "callback_url"})
			if jfs == nil {
				ok = false
			}
			for k, jkv := range jfs {
				sc.at["job."+k] = posOf(file, jkv.Value)
			}
			sc.Job.MaxAttempts = int(r.integer(file, jfs["max_attempts"]))
			sc.Job.TimeoutMS = r.integer(file, jfs["timeout_ms"])
			sc.Job.Concurrency = int(r.integer(file, jfs["concurrency"]))
			v, good := r.str(file, jfs["callback_url"])
			if !good {
				ok = false
			}
			sc.Job.CallbackURL = v
		}
	}
	if ok && r.claim("schedule", sc.Name, at) {
		r.set.Schedules = append(r.set.Schedules, sc)
	}
}

func (r *reader) subscription(file string, n ast.Node) {
	at := posOf(file, n)
	fs := r.fields(file, "subscription", n, []string{"name", "url", "events", "webhook", "description"})
	if fs == nil {
		return
	}
	s := &Subscription{File: file, Pos: at, at: map[string]Pos{}}
	for k, kv := range fs {
		s.at[k] = posOf(file, kv.Value)
	}
	ok := true
	for _, f := range []struct {
		dst   *string
		field string
	}{{&s.Name, "name"}, {&s.URL, "url"}, {&s.Webhook, "webhook"}, {&s.Description, "description"}} {
		v, good := r.str(file, fs[f.field])
		if !good {
			ok = false
		}
		*f.dst = v
	}
	switch {
	case s.Name == "":
		r.problem(at, "name: is required: it identifies the subscription in the manifests")
		ok = false
	case len(s.Name) > 128 || !automationNameRE.MatchString(s.Name):
		r.problem(s.at["name"], "name %q must be 1 to 128 letters, digits, dots, dashes and underscores", s.Name)
		ok = false
	}
	if kv := fs["events"]; kv != nil {
		seq, isSeq := kv.Value.(*ast.SequenceNode)
		if !isSeq {
			r.problem(s.at["events"], "events: must be a list of event types (%s)", strings.Join(jobs.EventTypes(), ", "))
			ok = false
		} else {
			for _, it := range seq.Values {
				str, isStr := it.(*ast.StringNode)
				if !isStr {
					r.problem(posOf(file, it), "events: each event type is text")
					ok = false
					continue
				}
				s.Events = append(s.Events, str.Value)
			}
		}
	}
	if ok && r.claim("subscription", s.Name, at) {
		r.set.Subscriptions = append(r.set.Subscriptions, s)
	}
}

// autoLookup looks automations up as the apply leads to them: declared,
// deleted, or as they are.
func (p *planner) autoLookup(_ context.Context, name string) (*store.Automation, error) {
	if rec, declared := p.finalAutos[name]; declared {
		if rec == nil {
			// Declared but invalid: its own problems are reported; an
			// empty script does not compile, so it adds none.
			return &store.Automation{Name: name, ExtensionID: automations.TriggerWebhookRespond}, nil
		}
		return rec, nil
	}
	if p.deletedAutos[name] {
		return nil, nil
	}
	return p.autos[name], nil
}

// placeItems reports a validation problem at the positions of its fields.
func (p *planner) placeItems(kind, name string, at map[string]Pos, entry Pos, err error) {
	var prob *api.Problem
	if !errors.As(err, &prob) || len(prob.Errors) == 0 {
		p.problem(entry, "%s %q: %s", kind, name, problemText(err))
		return
	}
	for _, it := range prob.Errors {
		p.problem(fieldPos(at, entry, it.Field), "%s %q: %s", kind, name, it.Message)
	}
}

func (p *planner) planSchedules() {
	if p.extras.Schedules == nil {
		for _, sc := range p.set.Schedules {
			p.problem(sc.Pos, "schedule %q: schedules are not running on this server", sc.Name)
		}
		return
	}
	current, err := p.extras.Schedules.List(p.ctx)
	if err != nil {
		p.problem(Pos{}, "list the schedules: %v", err)
		return
	}
	old := map[string]*schedule.Schedule{}
	for _, sc := range current {
		old[sc.Name] = sc
	}
	declared := map[string]bool{}
	for _, d := range p.set.Schedules {
		declared[d.Name] = true
		rec := &schedule.Schedule{Name: d.Name, Description: d.Description, Cron: d.Cron, TimeZone: d.TimeZone,
			Automation: d.Automation, Inputs: d.Inputs, Job: d.Job, Enabled: d.Enabled, Missed: d.Missed, Owner: p.owner(d.File)}
		if err := p.extras.Schedules.Validate(p.ctx, rec, p.autoLookup); err != nil {
			p.placeItems("schedule", d.Name, d.at, d.Pos, err)
			continue
		}
		entry := api.ManifestChange{Kind: store.KindSchedule, Name: d.Name, File: d.File}
		o := old[d.Name]
		if o == nil {
			entry.Action = store.ActionCreate
			p.change(entry, ptr(p.extras.Schedules.Change(store.ActionCreate, rec)))
			continue
		}
		var diff strings.Builder
		field := func(name string, changed bool, was, is string) {
			if changed {
				entry.Fields = append(entry.Fields, name)
				diff.WriteString(scalarDiff(name, was, is))
			}
		}
		field("description", o.Description != rec.Description, strconv.Quote(o.Description), strconv.Quote(rec.Description))
		field("cron", o.Cron != rec.Cron, o.Cron, rec.Cron)
		field("time_zone", o.TimeZone != rec.TimeZone, o.TimeZone, rec.TimeZone)
		field("automation", o.Automation != rec.Automation, o.Automation, rec.Automation)
		field("inputs", !sameJSON(o.Inputs, rec.Inputs), jsonText(o.Inputs), jsonText(rec.Inputs))
		field("job", o.Job != rec.Job, jsonText(mustJSON(o.Job)), jsonText(mustJSON(rec.Job)))
		field("enabled", o.Enabled != rec.Enabled, strconv.FormatBool(o.Enabled), strconv.FormatBool(rec.Enabled))
		field("missed_runs", o.Missed != rec.Missed, o.Missed, rec.Missed)
		p.takeover("schedule", rec.Name, o.Owner)
		field("owner", o.Owner != rec.Owner, ownerText(o.Owner), rec.Owner)
		if len(entry.Fields) == 0 {
			entry.Action = api.ManifestUnchanged
			p.change(entry, nil)
			continue
		}
		entry.Action, entry.Diff = store.ActionUpdate, diff.String()
		p.change(entry, ptr(p.extras.Schedules.Change(store.ActionUpdate, rec)))
	}
	for _, o := range current {
		if declared[o.Name] {
			continue
		}
		if !p.ours(o.Owner) || !p.opts.Prune {
			// A schedule the apply keeps must keep its automation: it
			// would fail every tick (the admin API refuses the same delete
			// with 409).
			if rec, _ := p.autoLookup(p.ctx, o.Automation); rec == nil && p.autos[o.Automation] != nil {
				p.problem(Pos{}, "automation %q is run by schedule %q, which this apply keeps: change or delete the schedule first", o.Automation, o.Name)
			}
		}
		if !p.ours(o.Owner) {
			continue
		}
		file := catalog.ManifestFile(o.Owner)
		entry := api.ManifestChange{Kind: store.KindSchedule, Name: o.Name, File: file}
		if !p.opts.Prune {
			entry.Action = api.ManifestKeep
			p.change(entry, nil)
			p.warnings = append(p.warnings, fmt.Sprintf("schedule %q: no manifest declares it any more (%s did): kept; apply with prune to delete it", o.Name, file))
			continue
		}
		entry.Action = store.ActionDelete
		p.change(entry, ptr(p.extras.Schedules.Change(store.ActionDelete, o)))
	}
}

func (p *planner) planSubscriptions() {
	if p.extras.Subscriptions == nil {
		for _, s := range p.set.Subscriptions {
			p.problem(s.Pos, "subscription %q: the job queue is not running on this server", s.Name)
		}
		return
	}
	current, err := p.extras.Subscriptions.Subscriptions(p.ctx)
	if err != nil {
		p.problem(Pos{}, "list the subscriptions: %v", err)
		return
	}
	// The subscriptions now by name: those manifests own first; a
	// subscription without a name is found by its ID (as Export names it).
	owned, free := map[string]*jobs.Subscription{}, map[string]*jobs.Subscription{}
	for _, s := range current {
		switch {
		case isManifestOwned(s.Owner):
			owned[s.Name] = s
		case s.Name != "":
			free[s.Name] = s
		default:
			free[s.ID] = s
		}
	}
	hookIDs, hookNames := p.finalWebhookIDs()
	matched := map[string]bool{}
	for _, d := range p.set.Subscriptions {
		o := owned[d.Name]
		if o == nil {
			o = free[d.Name]
		}
		if o != nil {
			matched[o.ID] = true
		}
		rec := &jobs.Subscription{Name: d.Name, URL: d.URL, Events: slices.Clone(d.Events), Description: d.Description,
			Owner: p.owner(d.File)}
		if d.Webhook != "" {
			ids := hookIDs[d.Webhook]
			if len(ids) != 1 {
				what := "no webhook has this name"
				if len(ids) > 1 {
					what = fmt.Sprintf("%d webhooks have this name", len(ids))
				}
				p.problem(fieldPos(d.at, d.Pos, "webhook"), "subscription %q: webhook %q: %s", d.Name, d.Webhook, what)
				continue
			}
			rec.WebhookID = ids[0]
		}
		if err := p.extras.Subscriptions.CheckSubscription(rec); err != nil {
			var fe *jobs.FieldError
			if errors.As(err, &fe) {
				field := fe.Field
				if field == "webhook_id" {
					field = "webhook"
				}
				p.problem(fieldPos(d.at, d.Pos, field), "subscription %q: %s", d.Name, fe.Message)
			} else {
				p.problem(d.Pos, "subscription %q: %v", d.Name, err)
			}
			continue
		}
		entry := api.ManifestChange{Kind: store.KindSubscription, Name: d.Name, File: d.File}
		if o == nil {
			ch := p.extras.Subscriptions.SubscriptionChange(store.ActionCreate, rec)
			entry.Action, entry.ID = store.ActionCreate, rec.ID
			p.change(entry, &ch)
			continue
		}
		rec.ID = o.ID
		entry.ID = o.ID
		var diff strings.Builder
		field := func(name string, changed bool, was, is string) {
			if changed {
				entry.Fields = append(entry.Fields, name)
				diff.WriteString(scalarDiff(name, was, is))
			}
		}
		field("name", o.Name != rec.Name, orNone(o.Name), rec.Name)
		field("url", o.URL != rec.URL, o.URL, rec.URL)
		field("events", !slices.Equal(o.Events, rec.Events), strings.Join(o.Events, ", "), strings.Join(rec.Events, ", "))
		field("webhook", o.WebhookID != rec.WebhookID, orNone(hookNames[o.WebhookID]), orNone(d.Webhook))
		field("description", o.Description != rec.Description, strconv.Quote(o.Description), strconv.Quote(rec.Description))
		p.takeover("subscription", rec.Name, o.Owner)
		field("owner", o.Owner != rec.Owner, ownerText(o.Owner), rec.Owner)
		if len(entry.Fields) == 0 {
			entry.Action = api.ManifestUnchanged
			p.change(entry, nil)
			continue
		}
		entry.Action, entry.Diff = store.ActionUpdate, diff.String()
		p.change(entry, ptr(p.extras.Subscriptions.SubscriptionChange(store.ActionUpdate, rec)))
	}
	for _, o := range current {
		if matched[o.ID] || !p.ours(o.Owner) {
			continue
		}
		file := catalog.ManifestFile(o.Owner)
		entry := api.ManifestChange{Kind: store.KindSubscription, Name: o.Name, ID: o.ID, File: file}
		if !p.opts.Prune {
			entry.Action = api.ManifestKeep
			p.change(entry, nil)
			p.warnings = append(p.warnings, fmt.Sprintf("subscription %q: no manifest declares it any more (%s did): kept; apply with prune to delete it", o.Name, file))
			continue
		}
		entry.Action = store.ActionDelete
		p.change(entry, ptr(p.extras.Subscriptions.SubscriptionChange(store.ActionDelete, o)))
	}
}

// finalWebhookIDs returns the IDs of the webhooks the apply leads to, by
// name, and the names of the webhooks now, by ID.
func (p *planner) finalWebhookIDs() (ids map[string][]string, names map[string]string) {
	ids, names = map[string][]string{}, map[string]string{}
	deleted, renamed := map[string]bool{}, map[string]string{}
	for _, c := range p.changes {
		switch {
		case c.Webhook == nil:
		case c.Action == store.ActionDelete:
			deleted[c.Webhook.ID] = true
		case c.Action == store.ActionUpdate || c.Action == store.ActionRotate:
			renamed[c.Webhook.ID] = c.Webhook.Name
		}
	}
	for _, w := range p.hooks {
		names[w.ID] = w.Name
		name := w.Name
		if n, ok := renamed[w.ID]; ok {
			name = n
		}
		if !deleted[w.ID] {
			ids[name] = append(ids[name], w.ID)
		}
	}
	for _, c := range p.changes {
		if c.Webhook != nil && c.Action == store.ActionCreate {
			ids[c.Webhook.Name] = append(ids[c.Webhook.Name], c.Webhook.ID)
		}
	}
	return ids, names
}

func ptr[T any](v T) *T { return &v }

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(orNull(a), &x) != nil || json.Unmarshal(orNull(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

func jsonText(b json.RawMessage) string { return string(orNull(b)) }

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// exportSchedule is a schedule in an export.
type exportSchedule struct {
	Name        string               `yaml:"name"`
	Description string               `yaml:"description,omitempty"`
	Cron        string               `yaml:"cron"`
	TimeZone    string               `yaml:"time_zone,omitempty"`
	Automation  string               `yaml:"automation"`
	Inputs      map[string]any       `yaml:"inputs,omitempty"`
	Job         *schedule.JobOptions `yaml:"job,omitempty"`
	Enabled     *bool                `yaml:"enabled,omitempty"`
	MissedRuns  string               `yaml:"missed_runs,omitempty"`
}

// exportSubscription is a published subscription in an export.
type exportSubscription struct {
	Name        string   `yaml:"name"`
	URL         string   `yaml:"url"`
	Events      []string `yaml:"events"`
	Webhook     string   `yaml:"webhook,omitempty"`
	Description string   `yaml:"description,omitempty"`
}

// exportExtras adds the schedules and subscriptions to an export.
func (x *exporter) exportExtras(ctx context.Context, ex Extras, hookNames map[string]string) error {
	if ex.Schedules != nil {
		list, err := ex.Schedules.List(ctx)
		if err != nil {
			return err
		}
		for _, sc := range list {
			e := exportSchedule{Name: sc.Name, Description: sc.Description, Cron: sc.Cron, Automation: sc.Automation}
			if sc.TimeZone != schedule.DefaultTimeZone {
				e.TimeZone = sc.TimeZone
			}
			if len(sc.Inputs) > 0 {
				if err := json.Unmarshal(sc.Inputs, &e.Inputs); err != nil {
					return fmt.Errorf("schedule %q inputs: %w", sc.Name, err)
				}
			}
			if sc.Job != (schedule.JobOptions{}) {
				j := sc.Job
				e.Job = &j
			}
			if !sc.Enabled {
				e.Enabled = &sc.Enabled
			}
			if sc.Missed != schedule.MissedSkip {
				e.MissedRuns = sc.Missed
			}
			d := x.doc(sc.Owner, ExportSchedules)
			d.Schedules = append(d.Schedules, e)
		}
	}
	if ex.Subscriptions != nil {
		list, err := ex.Subscriptions.Subscriptions(ctx)
		if err != nil {
			return err
		}
		for _, s := range list {
			e := exportSubscription{Name: s.Name, URL: s.URL, Events: s.Events, Webhook: hookNames[s.WebhookID], Description: s.Description}
			if e.Name == "" {
				e.Name = s.ID
			}
			d := x.doc(s.Owner, ExportSubscriptions)
			d.Subscriptions = append(d.Subscriptions, e)
		}
	}
	return nil
}
