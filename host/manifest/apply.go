package manifest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/internal/sqlbind"
)

// Applier applies manifests to a catalog. It is safe for concurrent use:
// the applies of one Applier take turns, and those of other processes
// (servers on one PostgreSQL database) are serialised by the manifest
// revision every apply that writes swaps in the store: an apply planned
// against a revision that changed meanwhile is planned again
// (maxReplans), then refused (409, ErrRevisionConflict).
type Applier struct {
	cat    *catalog.Catalog
	extras Extras
	mu     *sync.Mutex // serialises this process's applies
}

// NewApplier returns an Applier over cat (and no schedules or
// subscriptions: WithExtras).
func NewApplier(cat *catalog.Catalog) *Applier { return &Applier{cat: cat, mu: &sync.Mutex{}} }

// WithExtras returns the Applier applying schedules and subscriptions too.
func (a *Applier) WithExtras(x Extras) *Applier { return &Applier{cat: a.cat, extras: x, mu: a.mu} }

// ErrRevisionConflict means an apply was planned against a state that
// changed before it was written (another apply, an admin API change):
// nothing was written; planning again may succeed. Other conflicts (a
// token or a name taken) are not it: the same plan would fail again.
var ErrRevisionConflict = errors.New("manifest: a record changed since the apply was planned")

// revisionError is a 409 problem that is ErrRevisionConflict.
type revisionError struct{ err error }

func (e revisionError) Error() string   { return e.err.Error() }
func (e revisionError) Unwrap() []error { return []error{e.err, ErrRevisionConflict} }

// Options configure an apply.
type Options struct {
	// DryRun plans and validates without changing anything.
	DryRun bool
	// Prune deletes the records manifests own that no file declares any
	// more; without it they are kept (plan action keep).
	Prune bool
	// By says who applies, for the audit log ("token:…", "watch of DIR").
	By string
	// Source names the directory applied (the watched directory's
	// absolute path, what hookhost apply -f sends): the records are owned
	// by "manifest:<source>/<file>" (catalog.ManifestOwner), and only
	// those of this source are kept or pruned when no file declares them
	// any more. A record of another source that a file declares is taken
	// over. Without a source the records are "manifest:<file>", as before
	// sources were recorded: such records are pruned only by applies
	// without a source, and adopted by the first source that declares them.
	Source string
	// SecretValue returns the value of a declared secret that has a
	// source (from_env:, from_file:). Nil refuses every such secret.
	SecretValue func(s *Secret) (string, error)
}

// LocalSecrets reads secrets where the manifests say, relative to dir:
// from the process's environment, or from a file (losing one trailing
// newline, as hookhost secret set does).
func LocalSecrets(dir string) func(s *Secret) (string, error) {
	return func(s *Secret) (string, error) {
		switch {
		case s.FromEnv != "":
			v, ok := os.LookupEnv(s.FromEnv)
			if !ok {
				return "", fmt.Errorf("the environment variable %s (from_env:) is not set", s.FromEnv)
			}
			return v, nil
		case s.FromFile != "":
			p := s.FromFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, filepath.FromSlash(p))
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return "", fmt.Errorf("from_file: %w", err)
			}
			return string(trimNewline(b)), nil
		}
		return "", errors.New("the secret has no source")
	}
}

// GivenSecrets reads secrets from values sent by a client (POST
// /api/v1/manifests/apply): the server never reads its own environment or
// files for a request.
func GivenSecrets(values map[string]string) func(s *Secret) (string, error) {
	return func(s *Secret) (string, error) {
		v, ok := values[s.Name]
		if !ok {
			return "", errors.New("its value was not sent (hookhost apply reads from_env: and from_file: where it runs, and sends the values)")
		}
		return v, nil
	}
}

// trimNewline drops one trailing "\n" or "\r\n".
func trimNewline(b []byte) []byte {
	if b, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		return bytes.TrimSuffix(b, []byte("\r"))
	}
	return b
}

// Apply reads the manifests of src, plans their changes against the
// catalog, validates the state they lead to (every problem at once, with
// its position: Problems), and unless opts.DryRun writes every change in
// one transaction. The answer lists every record with its action.
func (a *Applier) Apply(ctx context.Context, src Source, opts Options) (*api.ManifestPlan, error) {
	set, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return a.ApplySet(ctx, set, opts)
}

// maxReplans bounds the plans of an apply that meets another apply (or
// an admin API change) made meanwhile.
const maxReplans = 3

// ApplySet is Apply of manifests already read.
func (a *Applier) ApplySet(ctx context.Context, set *Set, opts Options) (*api.ManifestPlan, error) {
	if a.mu != nil {
		a.mu.Lock()
		defer a.mu.Unlock()
	}
	var out *api.ManifestPlan
	var err error
	for range maxReplans {
		out, err = a.applySet(ctx, set, opts)
		if !errors.Is(err, ErrRevisionConflict) || ctx.Err() != nil {
			break
		}
	}
	return out, err
}

// applySet plans and applies once.
func (a *Applier) applySet(ctx context.Context, set *Set, opts Options) (*api.ManifestPlan, error) {
	p, err := newPlanner(ctx, a.cat, set, opts)
	if err != nil {
		return nil, err
	}
	p.extras = a.extras
	p.plan()
	if len(p.probs) > 0 {
		return nil, p.probs
	}
	out := p.result()
	if opts.DryRun || len(p.changes) == 0 {
		return out, nil
	}
	cs := &store.ChangeSet{Changes: p.changes}
	if err := a.cat.Apply(ctx, cs); err != nil {
		var prob *api.Problem
		if errors.As(err, &prob) && prob.Status == http.StatusConflict {
			return nil, revisionError{err}
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, api.NewProblem(http.StatusConflict, "nothing was applied: "+err.Error()+" (a webhook's token or an automation's name is taken)")
		}
		return nil, err
	}
	out.Applied = true
	if a.extras.Schedules != nil {
		a.extras.Schedules.Changed()
	}
	if a.extras.Subscriptions != nil {
		a.extras.Subscriptions.RefreshSubscribers(ctx)
	}
	for i, c := range out.Changes {
		if w := p.created[c.Kind+"\x00"+c.Name]; w != nil {
			out.Changes[i].ID = w.ID
		}
	}
	for _, nw := range p.newHooks {
		out.Webhooks = append(out.Webhooks, api.ImportedWebhook{ID: nw.rec.ID, Name: nw.rec.Name, URL: a.cat.WebhookURL(nw.token), Token: nw.token})
	}
	if a.extras.Upstream != nil {
		a.syncUpstream(ctx, p)
	}
	return out, nil
}

// syncUpstream brings the upstream subscriptions of the webhooks an apply
// changed in line: with their URL when the apply made it (a creation, a
// new pinned token).
func (a *Applier) syncUpstream(ctx context.Context, p *planner) {
	tokens := map[string]string{}
	for _, nw := range p.newHooks {
		tokens[nw.rec.ID] = nw.token
	}
	for _, c := range p.changes {
		w := c.Webhook
		if w == nil {
			continue
		}
		if c.Action == store.ActionDelete {
			a.extras.Upstream.Sync(ctx, w, "", true)
			continue
		}
		tok := tokens[w.ID]
		if tok == "" && w.TokenSecret != "" && (c.Action == store.ActionCreate || c.Action == store.ActionRotate) {
			if v, ok := p.values[w.TokenSecret]; ok {
				tok = v
			} else if v, found, err := a.cat.SecretValue(ctx, w.TokenSecret); err == nil && found {
				tok = v
			}
		}
		hookURL := ""
		if tok != "" {
			hookURL = a.cat.WebhookURL(tok)
		}
		a.extras.Upstream.Sync(ctx, w, hookURL, false)
	}
}

// newHook is a webhook created with a generated token, shown once.
type newHook struct {
	rec   *store.Webhook
	token string
}

// planner computes one apply.
type planner struct {
	ctx    context.Context
	cat    *catalog.Catalog
	set    *Set
	opts   Options
	extras Extras

	probs    Problems
	entries  []api.ManifestChange
	changes  []store.Change
	warnings []string
	created  map[string]*store.Webhook // by kind+name, to fill in IDs
	newHooks []newHook

	// The state now.
	autos        map[string]*store.Automation
	hooks        []*store.Webhook
	secretSet    map[string]bool
	secretOwners map[string]string
	source       string // the apply's source (Options.Source)

	// The state the apply leads to.
	values         map[string]string            // declared secrets' values
	unresolved     map[string]bool              // declared secrets whose value could not be read
	finalSecrets   map[string]bool              // secrets set afterwards
	deletedSecrets []string                     // secrets deleted
	finalAutos     map[string]*store.Automation // declared automations (nil: invalid)
	changedAutos   map[string]*store.Automation // updated (nil: deleted)
	autoDecl       map[string]Pos               // where changed automations are declared
	deletedAutos   map[string]bool
	handled        map[string]bool // webhook IDs the manifests declare or delete

	// The manifest revision the plan was made against.
	revision    []byte
	hadRevision bool
}

func newPlanner(ctx context.Context, cat *catalog.Catalog, set *Set, opts Options) (*planner, error) {
	st := cat.Store()
	p := &planner{ctx: ctx, cat: cat, set: set, opts: opts, source: cleanSource(opts.Source), created: map[string]*store.Webhook{},
		autos: map[string]*store.Automation{}, secretSet: map[string]bool{}, values: map[string]string{}, unresolved: map[string]bool{},
		finalSecrets: map[string]bool{}, finalAutos: map[string]*store.Automation{}, changedAutos: map[string]*store.Automation{},
		autoDecl: map[string]Pos{}, deletedAutos: map[string]bool{}, handled: map[string]bool{}}
	autos, err := st.ListAutomations(ctx)
	if err != nil {
		return nil, err
	}
	for _, x := range autos {
		p.autos[x.Name] = x
	}
	if p.hooks, err = st.ListWebhooks(ctx); err != nil {
		return nil, err
	}
	names, err := cat.SecretNames(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		p.secretSet[n], p.finalSecrets[n] = true, true
	}
	if p.secretOwners, err = st.SecretOwners(ctx); err != nil {
		return nil, err
	}
	if p.revision, p.hadRevision, err = st.KVGet(ctx, revisionNS, revisionKey, time.Now()); err != nil {
		return nil, err
	}
	return p, nil
}

// The manifest revision: a value in the store's key-value table that every
// apply that writes swaps for a new one in its transaction, if it is still
// the one its plan read (else store.ErrRevision: planned again).
const (
	revisionNS   = "manifests"
	revisionKey  = "revision"
	revisionKind = "manifests"
)

// revisionChange is the change of a plan that swaps the manifest
// revision, so that two applies planned against one state cannot both be
// written (both creating a webhook with a generated token, say).
func (p *planner) revisionChange() store.Change {
	next := uuid.NewString()
	prev, had := p.revision, p.hadRevision
	postgres := p.cat.Store().Dialect() == "postgres"
	q := func(query string) string {
		if !postgres {
			return query
		}
		return sqlbind.Dollar(query)
	}
	write := func(ctx context.Context, tx *sql.Tx) error {
		var res sql.Result
		var err error
		if had {
			// On PostgreSQL a concurrent swap holds the row: this waits
			// for it, then finds the value changed.
			res, err = tx.ExecContext(ctx, q(`UPDATE kv SET value = ? WHERE ns = ? AND key = ? AND value = ?`), []byte(next), revisionNS, revisionKey, prev)
		} else {
			res, err = tx.ExecContext(ctx, q(`INSERT INTO kv (ns, key, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`), revisionNS, revisionKey, []byte(next))
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("manifest revision: %w", store.ErrRevision)
		}
		return nil
	}
	return store.Change{Action: store.ActionUpdate, Detail: p.detail(),
		Record: &store.RecordChange{Kind: revisionKind, Name: revisionKey, RecordID: next, Write: write}}
}

func (p *planner) problem(at Pos, format string, args ...any) {
	p.probs = append(p.probs, Problem{Pos: at, Msg: fmt.Sprintf(format, args...)})
}

// owner is the owner a manifest file of the apply's source gives its
// records.
func (p *planner) owner(file string) string { return catalog.ManifestOwner(p.source, file) }

// takeover warns when the apply takes a record (kind, name) over from
// another directory's manifests (owner): that directory's next apply
// takes it back, and a prune from here deletes it while the other still
// declares it; a watched directory applies again only when its files
// change, or at its periodic re-apply (review revowner).
func (p *planner) takeover(kind, name, owner string) {
	if !isManifestOwned(owner) || p.ours(owner) {
		return
	}
	src := catalog.ManifestSource(owner)
	if src == "" {
		return // an owner from before sources: adopted, as documented
	}
	p.warnings = append(p.warnings, fmt.Sprintf("%s %q: owned by %s; this apply takes it over from that directory (its next apply takes it back; a prune from here deletes it while that directory still declares it)", kind, name, owner))
}

// isManifestOwned reports whether an owner is a manifest.
func isManifestOwned(o string) bool { return strings.HasPrefix(o, store.OwnerManifest) }

// ours reports whether an owner is a manifest of the apply's source:
// what it keeps or prunes when no file declares it any more.
func (p *planner) ours(o string) bool {
	return isManifestOwned(o) && catalog.ManifestSource(o) == p.source
}

// cleanSource is the source an apply names: "/"-separated, without a
// trailing "/" or ".." ("" stays "").
func cleanSource(s string) string {
	if s == "" {
		return ""
	}
	return path.Clean(s)
}

// change records a change of the plan.
func (p *planner) change(entry api.ManifestChange, ch *store.Change) {
	p.entries = append(p.entries, entry)
	if ch != nil {
		ch.Actor = p.owner(entry.File)
		ch.Detail = p.detail()
		p.changes = append(p.changes, *ch)
	}
}

// detail is the audit log's note on every change.
func (p *planner) detail() string {
	if p.opts.By == "" {
		return "manifest apply"
	}
	return "manifest apply by " + p.opts.By
}

// plan fills the planner: declared secrets, orphaned secrets, declared
// automations, orphaned automations, declared webhooks, orphaned
// webhooks, then what the changes would break elsewhere.
func (p *planner) plan() {
	p.planSecrets()
	p.planAutomations()
	p.planWebhooks()
	p.planSchedules()
	p.planSubscriptions()
	if len(p.probs) == 0 {
		p.checkOthers()
	}
	// Secrets, automations, webhooks, schedules and subscriptions are
	// written in that order, the deletions last, in the reverse order.
	rank := func(c store.Change) int {
		kind := 0
		switch {
		case c.Automation != nil:
			kind = 1
		case c.Webhook != nil:
			kind = 2
		case c.Record != nil && c.Record.Kind == store.KindSchedule:
			kind = 3
		case c.Record != nil:
			kind = 4
		}
		if c.Action == store.ActionDelete {
			return 10 - kind
		}
		return kind
	}
	slices.SortStableFunc(p.changes, func(a, b store.Change) int { return rank(a) - rank(b) })
	if len(p.changes) > 0 {
		// First: a stale plan fails on it, not on a name or token taken;
		// on PostgreSQL it holds the row until the apply ends.
		p.changes = append([]store.Change{p.revisionChange()}, p.changes...)
	}
}

// result is the plan's answer.
func (p *planner) result() *api.ManifestPlan {
	kindRank := map[string]int{store.KindSecret: 0, store.KindAutomation: 1, store.KindWebhook: 2, store.KindSchedule: 3,
		store.KindSubscription: 4}
	slices.SortStableFunc(p.entries, func(a, b api.ManifestChange) int {
		if d := kindRank[a.Kind] - kindRank[b.Kind]; d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	if p.entries == nil {
		p.entries = []api.ManifestChange{}
	}
	return &api.ManifestPlan{DryRun: p.opts.DryRun, Changes: p.entries, Warnings: p.warnings}
}

func (p *planner) planSecrets() {
	declared := map[string]bool{}
	for _, s := range p.set.Secrets {
		declared[s.Name] = true
		entry := api.ManifestChange{Kind: store.KindSecret, Name: s.Name, File: s.File, Action: api.ManifestUnchanged}
		if !s.HasSource() {
			if !p.secretSet[s.Name] {
				p.problem(s.Pos, "secret %q is not set: set it (hookhost secret set %s), or give it from_env: or from_file:", s.Name, s.Name)
				continue
			}
			p.change(entry, nil)
			continue
		}
		if p.opts.SecretValue == nil {
			p.problem(s.Pos, "secret %q: values cannot be read here", s.Name)
			p.finalSecrets[s.Name], p.unresolved[s.Name] = true, true
			continue
		}
		v, err := p.opts.SecretValue(s)
		if err != nil {
			p.problem(s.Pos, "secret %q: %v", s.Name, err)
			// Declared: what uses it is not refused for it again.
			p.finalSecrets[s.Name], p.unresolved[s.Name] = true, true
			continue
		}
		p.values[s.Name], p.finalSecrets[s.Name] = v, true
		sealed, err := p.cat.SealSecret(s.Name, []byte(v))
		if err != nil {
			p.problem(s.Pos, "secret %q: %s", s.Name, problemText(err))
			continue
		}
		want := p.owner(s.File)
		if p.secretSet[s.Name] {
			old, _, err := p.cat.SecretValue(p.ctx, s.Name)
			if err != nil {
				// An unreadable value is replaced.
				old = "\x00unreadable"
			}
			if old != v {
				entry.Fields = append(entry.Fields, "value")
			}
			if o := p.secretOwners[s.Name]; o != want {
				p.takeover("secret", s.Name, o)
				entry.Fields = append(entry.Fields, "owner")
				entry.Diff = scalarDiff("owner", ownerText(o), want)
			}
			if len(entry.Fields) == 0 {
				p.change(entry, nil)
				continue
			}
			entry.Action = store.ActionUpdate
		} else {
			entry.Action = store.ActionCreate
		}
		p.change(entry, &store.Change{Action: store.ActionPut, Secret: &store.Secret{Name: s.Name, Sealed: sealed, Owner: want}})
	}
	for _, name := range sortedKeys(p.secretOwners) {
		o := p.secretOwners[name]
		if declared[name] || !p.ours(o) {
			continue
		}
		file := catalog.ManifestFile(o)
		entry := api.ManifestChange{Kind: store.KindSecret, Name: name, File: file}
		if !p.opts.Prune {
			entry.Action = api.ManifestKeep
			p.change(entry, nil)
			p.warnings = append(p.warnings, fmt.Sprintf("secret %q: no manifest declares it any more (%s did): kept; apply with prune to delete it", name, file))
			continue
		}
		entry.Action = store.ActionDelete
		delete(p.finalSecrets, name)
		p.deletedSecrets = append(p.deletedSecrets, name)
		p.change(entry, &store.Change{Action: store.ActionDelete, Secret: &store.Secret{Name: name}})
	}
}

func (p *planner) planAutomations() {
	declared := map[string]bool{}
	for _, a := range p.set.Automations {
		declared[a.Name] = true
		p.finalAutos[a.Name] = nil
		if err := p.cat.ValidateAutomation(a.Name, a.ExtensionID, a.Script, a.PolicyKATA); err != nil {
			p.placeAutomation(a, err)
			continue
		}
		rec := &store.Automation{Name: a.Name, ExtensionID: a.ExtensionID, Description: a.Description,
			Script: a.Script, PolicyKATA: a.PolicyKATA, Owner: p.owner(a.File)}
		p.finalAutos[a.Name] = rec
		entry := api.ManifestChange{Kind: store.KindAutomation, Name: a.Name, File: a.File}
		old, exists := p.autos[a.Name]
		if !exists {
			entry.Action = store.ActionCreate
			p.change(entry, &store.Change{Action: store.ActionCreate, Automation: rec})
			continue
		}
		var d strings.Builder
		field := func(name string, changed bool, diff string) {
			if changed {
				entry.Fields = append(entry.Fields, name)
				d.WriteString(diff)
			}
		}
		field("extension_id", old.ExtensionID != rec.ExtensionID, scalarDiff("extension_id", old.ExtensionID, rec.ExtensionID))
		field("description", old.Description != rec.Description, scalarDiff("description", strconv.Quote(old.Description), strconv.Quote(rec.Description)))
		field("script", old.Script != rec.Script, unified(a.Name+" script", old.Script, rec.Script))
		field("policy_kata", old.PolicyKATA != rec.PolicyKATA, unified(a.Name+" policy_kata", old.PolicyKATA, rec.PolicyKATA))
		p.takeover("automation", a.Name, old.Owner)
		field("owner", old.Owner != rec.Owner, scalarDiff("owner", ownerText(old.Owner), rec.Owner))
		if len(entry.Fields) == 0 {
			entry.Action = api.ManifestUnchanged
			p.change(entry, nil)
			continue
		}
		entry.Action, entry.Diff = store.ActionUpdate, d.String()
		if old.ExtensionID != rec.ExtensionID || old.Script != rec.Script || old.PolicyKATA != rec.PolicyKATA {
			p.changedAutos[a.Name], p.autoDecl[a.Name] = rec, a.Pos
		}
		p.change(entry, &store.Change{Action: store.ActionUpdate, Automation: rec, IfRevision: old.Revision})
	}
	for _, name := range sortedKeys(p.autos) {
		old := p.autos[name]
		if declared[name] || !p.ours(old.Owner) {
			continue
		}
		file := catalog.ManifestFile(old.Owner)
		entry := api.ManifestChange{Kind: store.KindAutomation, Name: name, File: file}
		if !p.opts.Prune {
			entry.Action = api.ManifestKeep
			p.change(entry, nil)
			p.warnings = append(p.warnings, fmt.Sprintf("automation %q: no manifest declares it any more (%s did): kept; apply with prune to delete it", name, file))
			continue
		}
		entry.Action = store.ActionDelete
		p.deletedAutos[name] = true
		p.changedAutos[name], p.autoDecl[name] = nil, Pos{File: file}
		p.change(entry, &store.Change{Action: store.ActionDelete, Automation: &store.Automation{Name: name}, IfRevision: old.Revision})
	}
}

// placeAutomation reports a validation problem of a declared automation at
// its position.
func (p *planner) placeAutomation(a *Automation, err error) {
	var prob *api.Problem
	if !errors.As(err, &prob) || len(prob.Errors) == 0 {
		p.problem(a.Pos, "automation %q: %v", a.Name, err)
		return
	}
	for _, it := range prob.Errors {
		switch it.Field {
		case "script":
			at, prefix := a.script.pos(it.Line, it.Column)
			p.problem(at, "automation %q script: %s%s", a.Name, prefix, it.Message)
		case "policy_kata":
			at, prefix := a.policy.pos(it.Line, it.Column)
			p.problem(at, "automation %q policy_kata: %s%s", a.Name, prefix, it.Message)
		default:
			p.problem(a.Pos, "automation %q %s: %s", a.Name, it.Field, it.Message)
		}
	}
}

func (p *planner) planWebhooks() {
	// The webhooks now, by name: those manifests own first.
	owned, free := map[string]*store.Webhook{}, map[string][]*store.Webhook{}
	for _, w := range p.hooks {
		if isManifestOwned(w.Owner) {
			if _, dup := owned[w.Name]; !dup {
				owned[w.Name] = w
			}
			continue
		}
		free[w.Name] = append(free[w.Name], w)
	}
	ec := catalog.EventContext{Automations: p.finalAutos, Deleted: p.deletedAutos, Secret: func(n string) bool { return p.finalSecrets[n] }}
	// A webhook manifests own that no declaration names any more is an
	// orphan: pruned, or kept; or renamed, when a new declaration pins its
	// token.
	declared := map[string]bool{}
	for _, w := range p.set.Webhooks {
		declared[w.Name] = true
	}
	orphan := func(h *store.Webhook) bool {
		return p.ours(h.Owner) && (!declared[h.Name] || owned[h.Name] != h)
	}
	byHash := map[string]*store.Webhook{}
	for _, h := range p.hooks {
		byHash[string(h.TokenHash)] = h
	}
	pinnedBy := map[string]*Webhook{}
	matched := map[string]bool{}
	for _, w := range p.set.Webhooks {
		old := owned[w.Name]
		if old == nil {
			switch same := free[w.Name]; len(same) {
			case 0:
			case 1:
				old = same[0] // adopted
			default:
				ids := make([]string, len(same))
				for i, x := range same {
					ids[i] = x.ID
				}
				p.problem(w.Pos, "webhook %q: %d webhooks have this name (%s): rename or delete all but one, so that the manifest names one",
					w.Name, len(same), strings.Join(ids, ", "))
				continue
			}
		}
		if old != nil {
			matched[old.ID], p.handled[old.ID] = true, true
		}
		if err := p.cat.ValidateEventIn(p.ctx, w.EventKATA, ec); err != nil {
			p.placeWebhook(w, err)
			continue
		}
		hash, pinned, ok := p.token(w)
		if !ok {
			continue
		}
		if pinned {
			if other := pinnedBy[string(hash)]; other != nil {
				p.problem(w.tokenPos, "webhook %q: token_secret %q holds the token webhook %q (%s) pins: two webhooks cannot have one token",
					w.Name, w.TokenSecret, other.Name, other.Pos)
				continue
			}
			pinnedBy[string(hash)] = w
			if h := byHash[string(hash)]; h != nil && (old == nil || h.ID != old.ID) {
				if old == nil && orphan(h) && !matched[h.ID] && p.opts.Prune {
					// Renamed: the webhook keeps its ID and token.
					old = h
					matched[h.ID], p.handled[h.ID] = true, true
				} else {
					p.problem(w.tokenPos, "webhook %q: token_secret %q holds the token of webhook %q (%s), %s",
						w.Name, w.TokenSecret, h.Name, h.ID, p.tokenHolder(h, orphan(h)))
					continue
				}
			}
		}
		p.planWebhook(w, old, hash, pinned)
	}
	for _, old := range p.hooks {
		if matched[old.ID] || !p.ours(old.Owner) {
			continue
		}
		file := catalog.ManifestFile(old.Owner)
		entry := api.ManifestChange{Kind: store.KindWebhook, Name: old.Name, ID: old.ID, File: file}
		if !p.opts.Prune {
			entry.Action = api.ManifestKeep
			p.change(entry, nil)
			p.warnings = append(p.warnings, fmt.Sprintf("webhook %q (%s): no manifest declares it any more (%s did): kept; apply with prune to delete it", old.Name, old.ID, file))
			continue
		}
		entry.Action = store.ActionDelete
		p.handled[old.ID] = true
		p.change(entry, &store.Change{Action: store.ActionDelete, Webhook: &store.Webhook{ID: old.ID}, IfRevision: old.Revision})
	}
}

// tokenHolder says what to do about a webhook holding the token a
// declaration pins.
func (p *planner) tokenHolder(h *store.Webhook, orphan bool) string {
	switch {
	case orphan && !p.opts.Prune:
		return fmt.Sprintf("which no manifest declares any more (%s did) and is kept: apply with prune to rename it, or rename it back", catalog.ManifestFile(h.Owner))
	case isManifestOwned(h.Owner):
		return fmt.Sprintf("which %s declares: two webhooks cannot have one token", catalog.ManifestPath(h.Owner))
	default:
		return "made through the admin API: two webhooks cannot have one token; delete it, or give the manifest its name to adopt it"
	}
}

// token returns the token hash a declared webhook pins (pinned), or nil
// for a generated token.
func (p *planner) token(w *Webhook) (hash []byte, pinned, ok bool) {
	if w.TokenSecret == "" {
		return nil, false, true
	}
	if p.unresolved[w.TokenSecret] {
		return nil, false, false // its declaration has the problem
	}
	if !p.finalSecrets[w.TokenSecret] {
		p.problem(w.tokenPos, "webhook %q: token_secret %q is not set: declare it under secrets: with from_env: or from_file:, or set it (hookhost secret set %s)",
			w.Name, w.TokenSecret, w.TokenSecret)
		return nil, false, false
	}
	v, declared := p.values[w.TokenSecret]
	if !declared {
		var found bool
		var err error
		if v, found, err = p.cat.SecretValue(p.ctx, w.TokenSecret); err != nil || !found {
			p.problem(w.tokenPos, "webhook %q: token_secret %q cannot be read", w.Name, w.TokenSecret)
			return nil, false, false
		}
	}
	if !tokenRE.MatchString(v) {
		p.problem(w.tokenPos, "webhook %q: the value of token_secret %q cannot be a token: it must be 20 to 128 letters, digits, '-', '_', '.' or '~' (openssl rand -hex 20 makes one)",
			w.Name, w.TokenSecret)
		return nil, false, false
	}
	return catalog.TokenHash(v), true, true
}

// planWebhook plans a declared webhook against old (nil: none yet).
func (p *planner) planWebhook(w *Webhook, old *store.Webhook, hash []byte, pinned bool) {
	entry := api.ManifestChange{Kind: store.KindWebhook, Name: w.Name, File: w.File}
	if old == nil {
		// Its ID is chosen here, so that subscriptions can name it.
		rec := &store.Webhook{ID: uuid.NewString(), Name: w.Name, EventKATA: w.EventKATA, Enabled: w.Enabled, Debug: w.Debug,
			ExpiresAt: w.ExpiresAt, Owner: p.owner(w.File), TokenSecret: w.TokenSecret, TokenHash: hash}
		if w.ExpiresAt != nil && !w.ExpiresAt.After(time.Now()) {
			p.problem(w.Pos, "webhook %q: expires_at %s is not in the future", w.Name, w.ExpiresAt.Format(time.RFC3339))
			return
		}
		if !pinned {
			if p.opts.DryRun {
				rec.TokenHash = catalog.TokenHash(catalog.NewToken()) // never shown
			} else {
				tok := catalog.NewToken()
				rec.TokenHash = catalog.TokenHash(tok)
				p.newHooks = append(p.newHooks, newHook{rec: rec, token: tok})
			}
		}
		entry.Action = store.ActionCreate
		p.created[store.KindWebhook+"\x00"+w.Name] = rec
		p.change(entry, &store.Change{Action: store.ActionCreate, Webhook: rec})
		return
	}
	entry.ID = old.ID
	rec := *old
	rec.Name, rec.EventKATA, rec.Enabled, rec.Debug, rec.ExpiresAt = w.Name, w.EventKATA, w.Enabled, w.Debug, w.ExpiresAt
	rec.Owner, rec.TokenSecret = p.owner(w.File), w.TokenSecret
	action := store.ActionUpdate
	if pinned && !bytes.Equal(hash, old.TokenHash) {
		rec.TokenHash, rec.PrevTokenHash, rec.PrevTokenExpiresAt = hash, nil, nil
		action = store.ActionRotate
	}
	var d strings.Builder
	field := func(name string, changed bool, diff string) {
		if changed {
			entry.Fields = append(entry.Fields, name)
			d.WriteString(diff)
		}
	}
	field("name", old.Name != rec.Name, scalarDiff("name", strconv.Quote(old.Name), strconv.Quote(rec.Name)))
	field("event_kata", old.EventKATA != rec.EventKATA, unified(w.Name+" event_kata", old.EventKATA, rec.EventKATA))
	field("enabled", old.Enabled != rec.Enabled, scalarDiff("enabled", strconv.FormatBool(old.Enabled), strconv.FormatBool(rec.Enabled)))
	field("debug", old.Debug != rec.Debug, scalarDiff("debug", strconv.FormatBool(old.Debug), strconv.FormatBool(rec.Debug)))
	field("expires_at", !sameTime(old.ExpiresAt, rec.ExpiresAt), scalarDiff("expires_at", timeText(old.ExpiresAt), timeText(rec.ExpiresAt)))
	field("token_secret", old.TokenSecret != rec.TokenSecret, scalarDiff("token_secret", orNone(old.TokenSecret), orNone(rec.TokenSecret)))
	field("token", action == store.ActionRotate, "")
	p.takeover("webhook", rec.Name, old.Owner)
	field("owner", old.Owner != rec.Owner, scalarDiff("owner", ownerText(old.Owner), rec.Owner))
	if len(entry.Fields) == 0 {
		entry.Action = api.ManifestUnchanged
		p.change(entry, nil)
		return
	}
	if !sameTime(old.ExpiresAt, rec.ExpiresAt) && rec.ExpiresAt != nil && !rec.ExpiresAt.After(time.Now()) {
		p.problem(w.Pos, "webhook %q: expires_at %s is not in the future", w.Name, rec.ExpiresAt.Format(time.RFC3339))
		return
	}
	entry.Action, entry.Diff = store.ActionUpdate, d.String()
	p.change(entry, &store.Change{Action: action, Webhook: &rec, IfRevision: old.Revision})
}

// placeWebhook reports a validation problem of a declared webhook's event
// KATA at its position.
func (p *planner) placeWebhook(w *Webhook, err error) {
	var prob *api.Problem
	if !errors.As(err, &prob) || len(prob.Errors) == 0 {
		p.problem(w.Pos, "webhook %q: %v", w.Name, err)
		return
	}
	for _, it := range prob.Errors {
		at, prefix := w.event.pos(it.Line, it.Column)
		p.problem(at, "webhook %q event_kata: %s%s", w.Name, prefix, it.Message)
	}
}

// checkOthers refuses changes that would break webhooks the manifests do
// not declare: an automation they run changed or deleted, a secret their
// verify blocks use deleted.
func (p *planner) checkOthers() {
	for _, name := range sortedKeys(p.changedAutos) {
		items, err := p.cat.BrokenWebhooks(p.ctx, map[string]*store.Automation{name: p.changedAutos[name]}, nil, p.handled)
		if err != nil {
			p.problem(p.autoDecl[name], "%v", err)
			continue
		}
		for _, it := range items {
			p.problem(p.autoDecl[name], "automation %q: the change would break a webhook this apply does not declare (the admin API's or another directory's): %s", name, it.Message)
		}
	}
	if len(p.deletedSecrets) == 0 {
		return
	}
	items, err := p.cat.BrokenWebhooks(p.ctx, nil, p.deletedSecrets, p.handled)
	if err != nil {
		p.problem(Pos{}, "%v", err)
		return
	}
	for _, it := range items {
		file := ""
		for _, s := range p.deletedSecrets {
			if strings.Contains(it.Message, strconv.Quote(s)) {
				file = catalog.ManifestFile(p.secretOwners[s])
			}
		}
		p.problem(Pos{File: file}, "pruning a secret would break a webhook this apply does not declare (the admin API's or another directory's): %s", it.Message)
	}
}

// problemText is a problem's detail and items, or an error's text.
func problemText(err error) string {
	var prob *api.Problem
	if !errors.As(err, &prob) {
		return err.Error()
	}
	var parts []string
	for _, it := range prob.Errors {
		parts = append(parts, it.Message)
	}
	if len(parts) == 0 {
		return prob.Detail
	}
	return strings.Join(parts, "; ")
}

func ownerText(o string) string {
	if o == "" {
		return "(admin API)"
	}
	return o
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func timeText(t *time.Time) string {
	if t == nil {
		return "null"
	}
	return t.UTC().Format(time.RFC3339)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
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
