package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
)

// ---- import ----

func newImportCmd(cl *clientFlags) *cobra.Command {
	var prompts []string
	var prune bool
	cmd := &cobra.Command{
		Use:   "import FILE|NAME",
		Short: "Import a Cerb-style package (a JSON file, - for stdin, or a built-in package name); a higher revision upgrades it",
		Long: `Import a Cerb-style package: a JSON file, - for stdin, or a built-in
package name. A package imported before is compared by its revision: the
same revision changes nothing, a higher one upgrades the records it created
in one transaction (webhooks keep their IDs and URLs), a lower one is
refused. Records the new revision no longer has are kept unless --prune.`,
		Example: `  hookhost import testdata/packages/webhook-example.json
  hookhost import webhook-example
  hookhost import my.json --prompt api_key=abc --prompt region=eu
  hookhost import my-v2.json --prune`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			answers := map[string]string{}
			for _, p := range prompts {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return fmt.Errorf("--prompt %q: want key=value", p)
				}
				answers[k] = v
			}
			path := "/api/v1/packages/import"
			if prune {
				path += "?prune=true"
			}
			var body []byte
			arg := args[0]
			switch {
			case arg == "-":
				if body, err = io.ReadAll(cmd.InOrStdin()); err != nil {
					return err
				}
			case fileExists(arg):
				if body, err = os.ReadFile(arg); err != nil {
					return err
				}
			case !strings.ContainsAny(arg, "/\\.") || !strings.HasSuffix(arg, ".json"):
				path += sep(path) + "name=" + url.QueryEscape(arg)
			default:
				return fmt.Errorf("no such file: %s", arg)
			}
			if len(answers) > 0 {
				w := map[string]any{"prompts": answers}
				if body != nil {
					w["package"] = json.RawMessage(body)
				}
				if body, err = json.Marshal(w); err != nil {
					return err
				}
			}
			var raw json.RawMessage
			if err := c.do("POST", path, "application/json", body, &raw); err != nil {
				return err
			}
			if c.output == "json" {
				return c.printJSON(raw)
			}
			var res api.ImportResult
			if err := json.Unmarshal(raw, &res); err != nil {
				return c.printJSON(raw)
			}
			rows := [][]string{}
			add := func(recs map[string]map[string]api.Created, what string) {
				for ctx, m := range recs {
					for uid, r := range m {
						rows = append(rows, []string{ctx, uid, r.ID, r.Label, what})
					}
				}
			}
			add(res.RecordsCreated, "created")
			add(res.RecordsUpdated, "updated")
			add(res.RecordsKept, "kept")
			add(res.RecordsDeleted, "deleted")
			// The answer's records are maps: print them in a stable order.
			slices.SortFunc(rows, func(a, b []string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
			header := []string{"TYPE", "UID", "ID", "NAME"}
			switch res.Action {
			case api.ImportUpgrade:
				fmt.Fprintf(c.out, "upgraded %s from revision %d to %d\n", res.Package, res.PreviousRevision, res.Revision)
				header = append(header, "DONE")
			case api.ImportUnchanged:
				fmt.Fprintf(c.out, "%s is already at revision %d: nothing changed\n", res.Package, res.Revision)
			default:
				fmt.Fprintf(c.out, "imported %s\n", res.Package)
			}
			if len(header) == 4 {
				for i := range rows {
					rows[i] = rows[i][:4]
				}
			}
			if err := c.table(header, rows); err != nil {
				return err
			}
			for _, w := range res.Webhooks {
				fmt.Fprintf(c.out, "webhook %q URL (shown once): %s\n", w.Name, w.URL)
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(c.out, "warning: %s\n", w)
			}
			return nil
		},
	}
	cl.register(cmd)
	cmd.Flags().StringArrayVar(&prompts, "prompt", nil, "answer a package prompt, key=value (repeatable)")
	cmd.Flags().BoolVar(&prune, "prune", false, "on an upgrade, delete the records the new revision no longer has (default: kept)")
	return cmd
}

// sep is what joins a query parameter to path: ? or &.
func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// ---- webhooks ----

func newWebhookCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Manage webhooks", Aliases: []string{"webhooks"}}
	cl.register(cmd)

	var name, eventFile, event, expires string
	var disabled, debug bool
	create := &cobra.Command{
		Use:   "create --name NAME --event-file FILE",
		Short: "Create a webhook from its event KATA; prints its URL (shown once)",
		Example: `  hookhost webhook create --name "Webhook Example" --event-file event.kata
  echo 'automation/x:
    uri: cerb:automation:example.webhook.respond' | hookhost webhook create --name X --event-file -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			kata, given, err := readKATA(cmd, event, eventFile)
			if err != nil {
				return err
			}
			if !given {
				return usagef("give the event KATA with --event-file FILE (or - for stdin) or --event TEXT")
			}
			in := map[string]any{"name": name, "event_kata": kata, "enabled": !disabled, "debug": debug}
			if expires != "" {
				t, err := parseExpiry(expires, time.Now())
				if err != nil {
					return err
				}
				in["expires_at"] = t
			}
			var w api.Webhook
			if printed, err := c.call("POST", "/api/v1/webhooks", in, &w); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "created webhook %s (%s)\nURL (shown once, keep it secret): %s\n", w.ID, w.Name, w.URL)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "webhook name (required)")
	create.Flags().StringVar(&eventFile, "event-file", "", "file holding the event KATA (- for stdin)")
	create.Flags().StringVar(&event, "event", "", "the event KATA itself")
	create.Flags().StringVar(&expires, "expires", "", "expiry: an RFC 3339 time, a date (midnight local time) or a duration from now such as 720h")
	create.Flags().BoolVar(&disabled, "disabled", false, "create it disabled")
	create.Flags().BoolVar(&debug, "debug", false, "show automation error messages to callers")
	_ = create.MarkFlagRequired("name")
	create.MarkFlagsMutuallyExclusive("event", "event-file")

	list := &cobra.Command{
		Use: "list", Short: "List webhooks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return getTable(c, "/api/v1/webhooks", []string{"ID", "NAME", "ENABLED", "EXPIRES", "UPDATED"},
				func(res api.WebhookList) [][]string {
					rows := [][]string{}
					for _, w := range res.Webhooks {
						rows = append(rows, []string{w.ID, w.Name, strconv.FormatBool(w.Enabled), fmtTimePtr(w.ExpiresAt), fmtTime(w.UpdatedAt)})
					}
					return rows
				})
		},
	}

	show := &cobra.Command{
		Use: "show ID", Short: "Show a webhook and its event KATA", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var w api.Webhook
			if printed, err := c.call("GET", "/api/v1/webhooks/"+url.PathEscape(args[0]), nil, &w); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "id:       %s\nname:     %s\nenabled:  %t\ndebug:    %t\ncreated:  %s\nupdated:  %s\n", w.ID, w.Name, w.Enabled, w.Debug, fmtTime(w.CreatedAt), fmtTime(w.UpdatedAt))
			if w.ExpiresAt != nil {
				fmt.Fprintf(c.out, "expires:  %s\n", fmtTime(*w.ExpiresAt))
			}
			if w.PreviousTokenValidUntil != nil {
				fmt.Fprintf(c.out, "previous token valid until: %s\n", fmtTime(*w.PreviousTokenValidUntil))
			}
			fmt.Fprintf(c.out, "event KATA:\n%s\n", indent(w.EventKATA, "  "))
			printUpstream(c.out, w.Subscriptions)
			return nil
		},
	}

	patch := func(use, short string, body map[string]any) *cobra.Command {
		return &cobra.Command{
			Use: use + " ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := cl.client(cmd)
				if err != nil {
					return err
				}
				if printed, err := c.call("PATCH", "/api/v1/webhooks/"+url.PathEscape(args[0]), body, nil); printed || err != nil {
					return err
				}
				fmt.Fprintf(c.out, "webhook %s %sd\n", args[0], use)
				return nil
			},
		}
	}

	var overlap string
	rotate := &cobra.Command{
		Use: "rotate ID", Short: "Give a webhook a new token; the old one works for --overlap", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			path := "/api/v1/webhooks/" + url.PathEscape(args[0]) + "/rotate"
			if overlap != "" {
				path += "?overlap=" + url.QueryEscape(overlap)
			}
			var w api.Webhook
			if printed, err := c.call("POST", path, nil, &w); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "new URL (shown once): %s\n", w.URL)
			if w.PreviousTokenValidUntil != nil {
				fmt.Fprintf(c.out, "the previous URL works until %s\n", fmtTime(*w.PreviousTokenValidUntil))
			} else {
				fmt.Fprintln(c.out, "the previous URL no longer works")
			}
			return nil
		},
	}
	rotate.Flags().StringVar(&overlap, "overlap", "", "how long the old token stays valid (e.g. 1h; 0 ends it now; default: server setting)")

	resubscribe := &cobra.Command{
		Use: "resubscribe ID BLOCK", Short: "Send a failed subscribe/BLOCK: registration upstream again, with fresh attempts",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var w api.Webhook
			path := "/api/v1/webhooks/" + url.PathEscape(args[0]) + "/subscriptions/" + url.PathEscape(args[1]) + "/retry"
			if printed, err := c.call("POST", path, nil, &w); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "subscribe/%s of webhook %s queued again (hookhost webhook show %s follows it)\n", args[1], args[0], args[0])
			return nil
		},
	}

	cmd.AddCommand(create, list, show, newWebhookUpdateCmd(cl),
		patch("enable", "Enable a webhook", map[string]any{"enabled": true}),
		patch("disable", "Disable a webhook (callers get 400)", map[string]any{"enabled": false}),
		rotate, resubscribe, newSigningSecretCmd(cl), newDeleteCmd(cl, "webhook", "ID", "Delete a webhook", "/api/v1/webhooks/"))
	return cmd
}

// readKATA reads event KATA from --event TEXT or --event-file FILE (- for
// stdin); given is false when neither was set.
func readKATA(cmd *cobra.Command, event, eventFile string) (kata string, given bool, err error) {
	switch {
	case eventFile == "-":
		b, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return "", false, fmt.Errorf("read the event KATA from stdin: %w", err)
		}
		return string(b), true, nil
	case eventFile != "":
		b, err := os.ReadFile(eventFile)
		if err != nil {
			return "", false, fmt.Errorf("--event-file: %w", err)
		}
		return string(b), true, nil
	}
	return event, cmd.Flags().Changed("event"), nil
}

// parseExpiry reads --expires: an RFC 3339 time, a date (midnight, local
// time) or a duration from now.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d).UTC().Truncate(time.Second), nil
	}
	return time.Time{}, usagef("--expires %q: want an RFC 3339 time (2027-01-02T15:04:05Z), a date (2027-01-02, midnight local time) or a duration from now (720h)", s)
}

// newWebhookUpdateCmd is `hookhost webhook update ID`: a PATCH of the
// fields given.
func newWebhookUpdateCmd(cl *clientFlags) *cobra.Command {
	var name, eventFile, event, expires string
	var debug, noDebug, noExpiry bool
	cmd := &cobra.Command{
		Use:   "update ID",
		Short: "Change a webhook's event KATA, name, debug or expiry; what is not given stays",
		Example: `  hookhost webhook update 0190b1a4-... --event-file event.kata
  hookhost webhook update 0190b1a4-... --name "Orders" --no-debug --expires 2027-01-02T00:00:00Z
  hookhost webhook update 0190b1a4-... --no-expiry`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			var in api.WebhookPatch
			changed := []string{}
			if fl.Changed("name") {
				in.Name = &name
				changed = append(changed, "name")
			}
			kata, given, err := readKATA(cmd, event, eventFile)
			if err != nil {
				return err
			}
			if given {
				in.EventKATA = &kata
				changed = append(changed, "event KATA")
			}
			if fl.Changed("debug") || noDebug {
				on := debug && !noDebug
				in.Debug = &on
				changed = append(changed, "debug")
			}
			switch {
			case noExpiry:
				in.ExpiresAt = json.RawMessage("null")
				changed = append(changed, "expiry")
			case fl.Changed("expires"):
				t, err := parseExpiry(expires, time.Now())
				if err != nil {
					return err
				}
				if in.ExpiresAt, err = json.Marshal(t); err != nil {
					return err
				}
				changed = append(changed, "expiry")
			}
			if len(changed) == 0 {
				return usagef("nothing to change: give --event-file, --event, --name, --debug, --no-debug, --expires or --no-expiry")
			}
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var w api.Webhook
			if printed, err := c.call("PATCH", "/api/v1/webhooks/"+url.PathEscape(args[0]), in, &w); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "webhook %s (%s) updated: %s\n", w.ID, w.Name, strings.Join(changed, ", "))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "new name")
	f.StringVar(&eventFile, "event-file", "", "file holding the new event KATA (- for stdin)")
	f.StringVar(&event, "event", "", "the new event KATA itself")
	f.BoolVar(&debug, "debug", false, "show automation error messages to callers")
	f.BoolVar(&noDebug, "no-debug", false, "stop showing automation error messages to callers")
	f.StringVar(&expires, "expires", "", "new expiry: an RFC 3339 time, a date (midnight local time) or a duration from now such as 720h")
	f.BoolVar(&noExpiry, "no-expiry", false, "remove the expiry")
	cmd.MarkFlagsMutuallyExclusive("event", "event-file")
	cmd.MarkFlagsMutuallyExclusive("debug", "no-debug")
	cmd.MarkFlagsMutuallyExclusive("expires", "no-expiry")
	return cmd
}

// newSigningSecretCmd is `hookhost webhook signing-secret ID`.
func newSigningSecretCmd(cl *clientFlags) *cobra.Command {
	var rotate bool
	cmd := &cobra.Command{
		Use:   "signing-secret ID",
		Short: "Show the secret a webhook's job completion callbacks are signed with; --rotate makes a new one",
		Long: `Show the secret a webhook's job completion callbacks are signed with (one is
made on first use). Each callback carries webhook-id, webhook-timestamp and
webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">
keyed with this secret. --rotate makes a new secret: callbacks sent from then
on are signed with it only. The secret is printed alone on stdout, for a
script to keep.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			method := "GET"
			if rotate {
				method = "POST"
			}
			var s api.SigningSecret
			if printed, err := c.call(method, "/api/v1/webhooks/"+url.PathEscape(args[0])+"/signing-secret", nil, &s); printed || err != nil {
				return err
			}
			if rotate {
				fmt.Fprintf(c.errOut, "new signing secret for webhook %s; callbacks are signed with it from now on\n", s.WebhookID)
			}
			_, err = fmt.Fprintln(c.out, s.SigningSecret)
			return err
		},
	}
	cmd.Flags().BoolVar(&rotate, "rotate", false, "make a new secret (the old one stops signing callbacks)")
	return cmd
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// newDeleteCmd is `<noun> delete <arg>`: it DELETEs path+<arg> and says so.
func newDeleteCmd(cl *clientFlags, noun, arg, short, path string) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use: "delete " + arg, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			p := path + url.PathEscape(args[0])
			if force {
				p += "?force=true"
			}
			if err := c.do("DELETE", p, "", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%s %s deleted\n", noun, args[0])
			return nil
		},
	}
	if noun != "webhook" {
		cmd.Flags().BoolVar(&force, "force", false, "delete even while webhooks use the "+noun)
	}
	return cmd
}

// ---- automations ----

func newAutomationCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "automation", Short: "Manage automations", Aliases: []string{"automations"}}
	cl.register(cmd)
	list := &cobra.Command{
		Use: "list", Short: "List automations", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return getTable(c, "/api/v1/automations", []string{"NAME", "TRIGGER", "REVISION", "UPDATED", "DESCRIPTION"},
				func(res api.AutomationList) [][]string {
					rows := [][]string{}
					for _, a := range res.Automations {
						rows = append(rows, []string{a.Name, a.ExtensionID, strconv.FormatInt(a.Revision, 10), fmtTime(a.UpdatedAt), a.Description})
					}
					return rows
				})
		},
	}
	show := &cobra.Command{
		Use: "show NAME", Short: "Show an automation and its script", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var a api.Automation
			if printed, err := c.call("GET", "/api/v1/automations/"+url.PathEscape(args[0]), nil, &a); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "name:        %s\ntrigger:     %s\nrevision:    %d\ndescription: %s\nscript:\n%s\n", a.Name, a.ExtensionID, a.Revision, a.Description, indent(a.Script, "  "))
			if a.PolicyKATA != "" {
				fmt.Fprintf(c.out, "policy:\n%s\n", indent(a.PolicyKATA, "  "))
			}
			return nil
		},
	}
	var file, name, trigger, desc, policyFile string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or replace automations from a JSON file (object or list) or a .kata script",
		Long: `Create or replace automations from a JSON file or a .kata script. The JSON
is an automation object, a list of them, or {"automations": [...]}: what
automation show -o json and automation list -o json print can be applied
as it is (the read-only fields id, revision, created_at and updated_at are
ignored, with a note).`,
		Example: `  hookhost automation apply -f automation.json
  hookhost automation show my.webhook -o json > a.json && $EDITOR a.json && hookhost automation apply -f a.json
  hookhost automation apply -f respond.kata --name my.webhook --policy-file policy.kata`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			var items []map[string]any
			if strings.EqualFold(filepath.Ext(file), ".kata") {
				if name == "" {
					return usagef("a .kata file needs --name")
				}
				it := map[string]any{"name": name, "extension_id": trigger, "description": desc, "script": string(b)}
				if policyFile != "" {
					p, err := os.ReadFile(policyFile)
					if err != nil {
						return err
					}
					it["policy_kata"] = string(p)
				}
				items = append(items, it)
			} else {
				var dropped []string
				if items, dropped, err = automationItems(b); err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
				if len(dropped) > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "note: %s: ignoring the read-only fields %s (the server sets them)\n", file, strings.Join(dropped, ", "))
				}
			}
			for _, it := range items {
				n, _ := it["name"].(string)
				if n == "" {
					return fmt.Errorf("%s: an automation without a name", file)
				}
				var a api.Automation
				if err := c.doJSON("PUT", "/api/v1/automations/"+url.PathEscape(n), it, &a); err != nil {
					return fmt.Errorf("automation %s: %w", n, err)
				}
				fmt.Fprintf(c.out, "automation %s at revision %d\n", a.Name, a.Revision)
			}
			return nil
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "JSON or .kata file (required)")
	apply.Flags().StringVar(&name, "name", "", "automation name (for a .kata file)")
	apply.Flags().StringVar(&trigger, "trigger", "cerb.trigger.webhook.respond", "trigger (for a .kata file)")
	apply.Flags().StringVar(&desc, "description", "", "description (for a .kata file)")
	apply.Flags().StringVar(&policyFile, "policy-file", "", "policy KATA file (for a .kata file)")
	_ = apply.MarkFlagRequired("file")
	cmd.AddCommand(list, show, apply, newDeleteCmd(cl, "automation", "NAME", "Delete an automation", "/api/v1/automations/"))
	return cmd
}

// automationItems reads the automations of a JSON file: one object, a list
// of them, or {"automations": [...]} as automation list -o json prints it.
// The read-only fields, which the server sets (id, revision, created_at,
// updated_at), are removed and returned, sorted: what show -o json prints
// applies as it is.
func automationItems(b []byte) (items []map[string]any, dropped []string, err error) {
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil, fmt.Errorf("not JSON: %w", err)
	}
	var list []any
	switch v := doc.(type) {
	case []any:
		list = v
	case map[string]any:
		if autos, ok := v["automations"].([]any); ok && len(v) == 1 {
			list = autos
		} else {
			list = []any{v}
		}
	default:
		return nil, nil, fmt.Errorf("want an automation object, a list of them, or {\"automations\": [...]}")
	}
	seen := map[string]bool{}
	for i, it := range list {
		obj, ok := it.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("item %d is not an automation object", i+1)
		}
		for _, f := range []string{"id", "revision", "created_at", "updated_at"} {
			if _, ok := obj[f]; ok {
				delete(obj, f)
				seen[f] = true
			}
		}
		items = append(items, obj)
	}
	for f := range seen {
		dropped = append(dropped, f)
	}
	slices.Sort(dropped)
	return items, dropped, nil
}

// ---- runs ----

func newRunCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "run", Short: "Inspect synchronous run history", Aliases: []string{"runs"}}
	cl.register(cmd)
	var webhook string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List recent runs", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			if webhook != "" {
				q.Set("webhook", webhook)
			}
			q.Set("limit", strconv.Itoa(limit))
			return getTable(c, "/api/v1/runs?"+q.Encode(), []string{"ID", "TIME", "AUTOMATION", "STATUS", "EXIT", "DURATION", "ERROR"},
				func(res api.RunList) [][]string {
					rows := [][]string{}
					for _, r := range res.Runs {
						rows = append(rows, []string{r.ID, fmtTime(r.CreatedAt), r.Automation, strconv.Itoa(r.Status), r.Exit,
							(time.Duration(r.DurationUS) * time.Microsecond).String(), r.Error})
					}
					return rows
				})
		},
	}
	list.Flags().StringVar(&webhook, "webhook", "", "only runs of this webhook id")
	list.Flags().IntVar(&limit, "limit", 50, "how many runs (1-500)")
	show := &cobra.Command{
		Use: "show ID", Short: "Show a run with its inputs, output and log", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return c.printGet("/api/v1/runs/" + url.PathEscape(args[0]))
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}

// ---- extensions ----

func newExtCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "ext", Short: "Extensions"}
	list := &cobra.Command{
		Use: "list", Short: "List loaded extensions", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return getTable(c, "/api/v1/extensions", []string{"NAME", "STATE", "VERSION", "PIDS", "RESTARTS", "IN FLIGHT", "ERROR"},
				func(res api.ExtensionList) [][]string {
					rows := make([][]string, 0, len(res.Extensions))
					for _, e := range res.Extensions {
						pids := make([]string, len(e.Pids))
						for i, p := range e.Pids {
							pids[i] = strconv.Itoa(p)
						}
						rows = append(rows, []string{e.Name, e.State, orDash(e.Version), orDash(strings.Join(pids, ",")),
							strconv.Itoa(e.Restarts), strconv.Itoa(e.InFlight), e.Error})
					}
					return rows
				})
		},
	}
	reload := &cobra.Command{
		Use: "reload", Short: "Re-scan the plugins directory: start new binaries, restart changed ones, stop removed ones", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var res api.ExtensionReload
			if printed, err := c.call("POST", "/api/v1/extensions/reload", nil, &res); printed || err != nil {
				return err
			}
			for _, row := range []struct {
				what  string
				names []string
			}{{"started", res.Started}, {"restarted", res.Restarted}, {"stopped", res.Stopped}, {"failed (see hookhost ext list)", res.Failed}} {
				for _, n := range row.names {
					fmt.Fprintf(c.out, "%s: %s\n", row.what, n)
				}
			}
			if len(res.Started)+len(res.Restarted)+len(res.Stopped)+len(res.Failed) == 0 {
				fmt.Fprintln(c.out, "no change")
			}
			return nil
		},
	}
	cl.register(list)
	cl.register(reload)
	cmd.AddCommand(list, reload, newExtServeCmd())
	return cmd
}

// orDash is s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printUpstream shows a webhook's upstream subscriptions (its
// subscribe/<name>: blocks): state, location and the last answer.
func printUpstream(w io.Writer, subs []api.UpstreamSubscription) {
	if len(subs) == 0 {
		return
	}
	fmt.Fprintln(w, "upstream subscriptions:")
	for _, s := range subs {
		state := s.State
		if !s.Current {
			state += " (being taken back)"
		}
		fmt.Fprintf(w, "  subscribe/%s: %s, %d attempts, %s\n", s.Block, state, s.Attempts, fmtTime(s.UpdatedAt))
		if s.Location != "" {
			fmt.Fprintf(w, "    location: %s\n", s.Location)
		}
		if s.LastStatus != 0 {
			fmt.Fprintf(w, "    last answer: %d %s\n", s.LastStatus, strings.ReplaceAll(s.LastAnswer, "\n", " "))
		}
		if s.LastError != "" {
			fmt.Fprintf(w, "    last error: %s\n", s.LastError)
		}
	}
}
