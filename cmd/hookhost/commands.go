package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
)

// ---- import ----

func newImportCmd(cl *clientFlags) *cobra.Command {
	var prompts []string
	cmd := &cobra.Command{
		Use:   "import FILE|NAME",
		Short: "Import a Cerb-style package (a JSON file, - for stdin, or a built-in package name)",
		Example: `  hookhost import testdata/packages/webhook-example.json
  hookhost import webhook-example
  hookhost import my.json --prompt api_key=abc --prompt region=eu`,
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
				path += "?name=" + url.QueryEscape(arg)
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
			for ctx, recs := range res.RecordsCreated {
				for uid, r := range recs {
					rows = append(rows, []string{ctx, uid, r.ID, r.Label})
				}
			}
			fmt.Fprintf(c.out, "imported %s\n", res.Package)
			if err := c.table([]string{"TYPE", "UID", "ID", "NAME"}, rows); err != nil {
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
	return cmd
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
			kata := event
			switch {
			case eventFile == "-":
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				kata = string(b)
			case eventFile != "":
				b, err := os.ReadFile(eventFile)
				if err != nil {
					return err
				}
				kata = string(b)
			}
			if kata == "" {
				return fmt.Errorf("give the event KATA with --event-file FILE (or - for stdin) or --event TEXT")
			}
			in := map[string]any{"name": name, "event_kata": kata, "enabled": !disabled, "debug": debug}
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return fmt.Errorf("--expires %q: want RFC 3339, e.g. 2027-01-02T15:04:05Z", expires)
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
	create.Flags().StringVar(&expires, "expires", "", "expiry time (RFC 3339)")
	create.Flags().BoolVar(&disabled, "disabled", false, "create it disabled")
	create.Flags().BoolVar(&debug, "debug", false, "show automation error messages to callers")
	_ = create.MarkFlagRequired("name")

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
						exp := "-"
						if w.ExpiresAt != nil {
							exp = fmtTime(*w.ExpiresAt)
						}
						rows = append(rows, []string{w.ID, w.Name, strconv.FormatBool(w.Enabled), exp, fmtTime(w.UpdatedAt)})
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

	cmd.AddCommand(create, list, show,
		patch("enable", "Enable a webhook", map[string]any{"enabled": true}),
		patch("disable", "Disable a webhook (callers get 400)", map[string]any{"enabled": false}),
		rotate, newDeleteCmd(cl, "webhook", "ID", "Delete a webhook", "/api/v1/webhooks/"))
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
		Example: `  hookhost automation apply -f automation.json
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
					return fmt.Errorf("a .kata file needs --name")
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
				trimmed := strings.TrimSpace(string(b))
				if strings.HasPrefix(trimmed, "[") {
					err = json.Unmarshal(b, &items)
				} else {
					var one map[string]any
					err = json.Unmarshal(b, &one)
					items = append(items, one)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", file, err)
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
			return c.printGet("/api/v1/extensions")
		},
	}
	cl.register(list)
	cmd.AddCommand(list, newExtServeCmd())
	return cmd
}
