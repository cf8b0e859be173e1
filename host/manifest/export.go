package manifest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/catalog"
)

// Default files of records no manifest owns, in an export.
const (
	ExportAutomations = "automations.yaml"
	ExportWebhooks    = "webhooks.yaml"
	ExportSecrets     = "secrets.yaml"
	// ExportSchedules and ExportSubscriptions hold the schedules and
	// published subscriptions no manifest owns.
	ExportSchedules     = "schedules.yaml"
	ExportSubscriptions = "subscriptions.yaml"
)

// exportHeader starts every manifest Export writes.
const exportHeader = "# Written by hookhost export --manifests. Applying this directory changes\n" +
	"# nothing but the owner of records no manifest owned (they become this file's).\n"

// Export writes the catalog's automations, webhooks and secrets as a
// manifest directory, by file name: a record a manifest owns goes to that
// file, the others to automations.yaml and webhooks.yaml; secrets to
// secrets.yaml.
// Scripts, policies and event KATA go to .kata files beside them, exactly.
// Secrets are declared by name only (their values never leave the
// server): add from_env: or from_file: to manage a value from the
// manifests. Applying the directory back changes nothing but the owner of
// records no manifest owned.
func Export(ctx context.Context, cat *catalog.Catalog) (map[string]string, error) {
	return ExportAll(ctx, cat, Extras{})
}

// ExportAll is Export with the schedules and published subscriptions of
// x: those no manifest owns go to schedules.yaml and subscriptions.yaml
// (a subscription made without a name is named by its ID; its signing
// secret stays on the server).
func ExportAll(ctx context.Context, cat *catalog.Catalog, ex Extras) (map[string]string, error) {
	st := cat.Store()
	autos, err := st.ListAutomations(ctx)
	if err != nil {
		return nil, err
	}
	hooks, err := st.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	names, err := cat.SecretNames(ctx)
	if err != nil {
		return nil, err
	}
	x := &exporter{files: map[string]string{}, docs: map[string]*exportDoc{}}
	for _, a := range autos {
		e := exportAutomation{Name: a.Name, Description: a.Description}
		if a.ExtensionID != automations.TriggerWebhookRespond {
			e.ExtensionID = a.ExtensionID
		}
		e.ScriptFile = x.kata(a.Name+".script", a.Script)
		if a.PolicyKATA != "" {
			e.PolicyFile = x.kata(a.Name+".policy", a.PolicyKATA)
		}
		d := x.doc(a.Owner, ExportAutomations)
		d.Automations = append(d.Automations, e)
	}
	hookNames := map[string]string{}
	for _, w := range hooks {
		hookNames[w.ID] = w.Name
		e := exportWebhook{Name: w.Name, TokenSecret: w.TokenSecret}
		e.EventFile = x.kata(slug(w.Name)+".webhook", w.EventKATA)
		if !w.Enabled {
			e.Enabled = &w.Enabled
		}
		if w.Debug {
			e.Debug = &w.Debug
		}
		if w.ExpiresAt != nil {
			e.ExpiresAt = w.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		d := x.doc(w.Owner, ExportWebhooks)
		d.Webhooks = append(d.Webhooks, e)
	}
	// Secrets go to secrets.yaml whoever owns them: a declaration by name
	// changes no secret's owner, and their sources (from_env:, from_file:)
	// are not kept on the server.
	for _, n := range names {
		d := x.doc("", ExportSecrets)
		d.Secrets = append(d.Secrets, exportSecret{Name: n})
	}
	if err := x.exportExtras(ctx, ex, hookNames); err != nil {
		return nil, err
	}
	for file, d := range x.docs {
		b, err := yaml.MarshalWithOptions(d, yaml.Indent(2), yaml.IndentSequence(true), yaml.UseLiteralStyleIfMultiline(false))
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", file, err)
		}
		head := exportHeader
		if len(d.Secrets) > 0 {
			head += "# Secrets are declared by name: their values stay on the server. Add\n" +
				"# from_env: or from_file: to a secret to set its value from here.\n"
		}
		x.files[file] = head + string(b)
	}
	return x.files, nil
}

// exporter collects the files of an export.
type exporter struct {
	files map[string]string
	docs  map[string]*exportDoc
}

// doc returns the document of the file an owner names (def when the owner
// is not a manifest).
func (x *exporter) doc(owner, def string) *exportDoc {
	file := catalog.ManifestFile(owner)
	if file == "" {
		file = def
	}
	d := x.docs[file]
	if d == nil {
		d = &exportDoc{}
		x.docs[file] = d
	}
	return d
}

// kata writes text to a new file named base.kata (base-2.kata, ... when
// taken) and returns its name.
func (x *exporter) kata(base, text string) string {
	name := base + ".kata"
	for i := 2; ; i++ {
		if _, taken := x.files[name]; !taken {
			break
		}
		name = fmt.Sprintf("%s-%d.kata", base, i)
	}
	x.files[name] = text
	return name
}

// slugRE finds what a file name of a webhook's name keeps.
var slugRE = regexp.MustCompile(`[a-z0-9]+`)

// slug is a webhook's name as a file name: its lower-case letters and
// digits, joined by dashes ("webhook" when none).
func slug(name string) string {
	s := strings.Join(slugRE.FindAllString(strings.ToLower(name), -1), "-")
	if s == "" {
		return "webhook"
	}
	return s
}

// exportDoc is one manifest of an export.
type exportDoc struct {
	Automations   []exportAutomation   `yaml:"automations,omitempty"`
	Webhooks      []exportWebhook      `yaml:"webhooks,omitempty"`
	Secrets       []exportSecret       `yaml:"secrets,omitempty"`
	Schedules     []exportSchedule     `yaml:"schedules,omitempty"`
	Subscriptions []exportSubscription `yaml:"subscriptions,omitempty"`
}

type exportAutomation struct {
	Name        string `yaml:"name"`
	ExtensionID string `yaml:"extension_id,omitempty"`
	Description string `yaml:"description,omitempty"`
	ScriptFile  string `yaml:"script_file"`
	PolicyFile  string `yaml:"policy_kata_file,omitempty"`
}

type exportWebhook struct {
	Name        string `yaml:"name"`
	EventFile   string `yaml:"event_kata_file"`
	Enabled     *bool  `yaml:"enabled,omitempty"`
	Debug       *bool  `yaml:"debug,omitempty"`
	ExpiresAt   string `yaml:"expires_at,omitempty"`
	TokenSecret string `yaml:"token_secret,omitempty"`
}

type exportSecret struct {
	Name string `yaml:"name"`
}
