package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/manifest"
)

// ---- apply ----

func newApplyCmd(cl *clientFlags) *cobra.Command {
	var dir, source string
	var dryRun, prune bool
	cmd := &cobra.Command{
		Use:   "apply -f DIR [--dry-run] [--prune]",
		Short: "Apply a directory of declarative manifests (automations, webhooks, secrets by reference)",
		Long: `Apply a directory of YAML manifests that declare automations, webhooks and
secrets (docs: README.md, "Declarative configuration"). The files are read
here, and the secrets they declare with from_env: or from_file: are read
here too; the server plans the changes, shows them (create, update with a
diff, delete, unchanged), checks every file (all problems at once, each with
its file:line:col) and applies them in one transaction, or nothing.

Records a manifest declares become its own: the admin API then refuses to
change them (409) without ?force=true. Records a manifest owned that no file
declares any more are kept unless --prune deletes them.

Records belong to the directory that applied them (its absolute path, or
--source): an apply keeps or prunes only its own. Give --source a stable
name when the directory's path changes from run to run (a CI runner's
build directory).`,
		Example: `  hookhost apply -f manifests/ --dry-run
  hookhost apply -f manifests/
  hookhost apply -f manifests/ --prune
  hookhost apply -f "$CI_PROJECT_DIR/manifests" --source shop --prune`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			in, err := readManifests(dir)
			if err != nil {
				return err
			}
			in.DryRun, in.Prune = dryRun, prune
			if source != "" {
				in.Source = source
			}
			var plan api.ManifestPlan
			if printed, err := c.call("POST", "/api/v1/manifests/apply", in, &plan); printed || err != nil {
				return withDir(err, dir)
			}
			printPlan(c.out, &plan)
			return nil
		},
	}
	cl.register(cmd)
	cmd.Flags().StringVarP(&dir, "file", "f", "", "the manifest directory (required)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show the plan; change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete the records manifests own that no file declares any more")
	cmd.Flags().StringVar(&source, "source", "", "the name the records are owned by (default: the directory's absolute path); the same name on every run keeps one source when the path changes")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// readManifests reads a manifest directory as POST /manifests/apply takes
// it: its files, and the values of the secrets it declares with a source
// (read here, where the command runs). Problems are reported with their
// positions, all at once.
func readManifests(dir string) (*api.ManifestApply, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("-f: %w", err)
	}
	if !fi.IsDir() {
		return nil, usagef("-f %s: want the manifest directory, not a file (it may hold one manifest)", dir)
	}
	files, err := manifest.ReadDir(dir)
	var unread manifest.Problems // files that could not be read
	if err != nil && !errors.As(err, &unread) {
		return nil, err
	}
	if len(unread) == 0 && !slices.ContainsFunc(mapKeys(files), func(n string) bool { return strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") }) {
		return nil, fmt.Errorf("%s holds no manifest (*.yaml or *.yml)", dir)
	}
	set, err := manifest.Parse(manifest.Files(files))
	var ps manifest.Problems
	if err != nil && !errors.As(err, &ps) {
		return nil, err
	}
	if all := append(unread, ps...); len(all) > 0 {
		slices.SortStableFunc(all, func(a, b manifest.Problem) int { return strings.Compare(a.File, b.File) })
		return nil, manifestProblems(dir, all)
	}
	// The directory's absolute path names the source of the records:
	// an apply prunes only those of its own directory.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("-f: %w", err)
	}
	in := &api.ManifestApply{Files: files, Secrets: map[string]string{}, Source: filepath.ToSlash(abs)}
	read := manifest.LocalSecrets(dir)
	var probs manifest.Problems
	for _, s := range set.Secrets {
		if !s.HasSource() {
			continue
		}
		v, err := read(s)
		if err != nil {
			probs = append(probs, manifest.Problem{Pos: s.Pos, Msg: fmt.Sprintf("secret %q: %v", s.Name, err)})
			continue
		}
		in.Secrets[s.Name] = v
	}
	if len(probs) > 0 {
		return nil, manifestProblems(dir, probs)
	}
	return in, nil
}

// manifestProblems prefixes the positions of manifest problems with the
// directory, so that they name files as the user sees them.
func manifestProblems(dir string, err error) error {
	var ps manifest.Problems
	if !errors.As(err, &ps) {
		return err
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		p.File = filepath.Join(dir, filepath.FromSlash(p.File))
		lines[i] = p.String()
	}
	return fmt.Errorf("the manifests were not applied; nothing was changed:\n  %s", strings.Join(lines, "\n  "))
}

// withDir names the files of the server's manifest problems (a 400) as
// the user does, with the directory.
func withDir(err error, dir string) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		return err
	}
	for i, it := range ae.Errors {
		if it.Field != "" && it.Line > 0 {
			ae.Errors[i].Field = filepath.Join(dir, filepath.FromSlash(it.Field))
		}
	}
	return err
}

// planSign marks an action in a printed plan.
func planSign(action string) string {
	switch action {
	case "create":
		return "+"
	case "update":
		return "~"
	case "delete":
		return "-"
	case "keep":
		return "!"
	}
	return "="
}

// printPlan prints a plan: one line per record, the diff of each update,
// a summary, and the URLs of new webhooks (shown once).
func printPlan(w io.Writer, p *api.ManifestPlan) {
	counts := map[string]int{}
	for _, c := range p.Changes {
		counts[c.Action]++
		line := fmt.Sprintf("%s %s %s", planSign(c.Action), c.Kind, c.Name)
		if c.ID != "" && c.Kind == "webhook" {
			line += " (" + c.ID + ")"
		}
		if c.File != "" {
			line += ", " + c.File
		}
		switch {
		case c.Action == "update" && len(c.Fields) > 0:
			line += ": " + strings.Join(c.Fields, ", ")
		case c.Action == "keep":
			line += ": no manifest declares it any more; kept (--prune deletes it)"
		}
		fmt.Fprintln(w, line)
		if c.Diff != "" {
			fmt.Fprintln(w, indent(c.Diff, "    "))
		}
	}
	summary := fmt.Sprintf("%d to create, %d to update, %d to delete, %d unchanged", counts["create"], counts["update"], counts["delete"], counts["unchanged"])
	if counts["keep"] > 0 {
		summary += fmt.Sprintf(", %d kept", counts["keep"])
	}
	switch {
	case p.DryRun:
		fmt.Fprintf(w, "dry run, nothing changed: %s\n", summary)
	case p.Applied:
		fmt.Fprintf(w, "applied: %s\n", strings.NewReplacer(" to create", " created", " to update", " updated", " to delete", " deleted").Replace(summary))
	default:
		fmt.Fprintf(w, "nothing to change: %s\n", summary)
	}
	for _, h := range p.Webhooks {
		fmt.Fprintf(w, "webhook %q URL (shown once): %s\n", h.Name, h.URL)
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

func mapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---- export ----

func newExportCmd(cl *clientFlags) *cobra.Command {
	var file, manifests string
	var force bool
	cmd := &cobra.Command{
		Use:   "export PACKAGE | export --manifests DIR",
		Short: "Write an imported package back out (Cerb's JSON), or the whole state as manifests",
		Long: `hookhost export PACKAGE writes the package called PACKAGE (its package.name)
as its latest import left it, in Cerb's package format, with the records it
created as they are now: importing it elsewhere creates the same records,
importing it here again changes nothing.

hookhost export --manifests DIR writes every automation, webhook and secret
(by name: values stay on the server) as a manifest directory, with scripts
and event KATA in .kata files; hookhost apply -f DIR applies it back
unchanged. DIR must be missing or empty unless --force.`,
		Example: `  hookhost export "Echo JSON" > echo.json
  hookhost export "Echo JSON" -f echo.json
  hookhost export --manifests manifests/`,
		Args: func(cmd *cobra.Command, args []string) error {
			if manifests != "" {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			if manifests != "" {
				return exportManifests(c, manifests, force)
			}
			var raw json.RawMessage
			if err := c.do("GET", "/api/v1/packages/"+url.PathEscape(args[0])+"/export", "", nil, &raw); err != nil {
				return err
			}
			if file == "" {
				_, err := c.out.Write(raw)
				return err
			}
			if err := os.WriteFile(file, raw, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(c.errOut, "wrote %s\n", file)
			return nil
		},
	}
	cl.register(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "write the package to this file (default: stdout)")
	cmd.Flags().StringVar(&manifests, "manifests", "", "write the whole state as manifests into this directory")
	cmd.Flags().BoolVar(&force, "force", false, "with --manifests: write into a directory that is not empty (files of the same name are replaced)")
	cmd.MarkFlagsMutuallyExclusive("file", "manifests")
	return cmd
}

// exportManifests writes GET /manifests/export's files into dir.
func exportManifests(c *client, dir string, force bool) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 && !force {
		return usagef("--manifests %s: the directory is not empty (its manifests would be applied with the export's); give an empty one, or --force", dir)
	}
	var exp api.ManifestExport
	if err := c.do("GET", "/api/v1/manifests/export", "", nil, &exp); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := mapKeys(exp.Files)
	for _, name := range names {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("the server sent a file name that is not a plain name: %q", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(exp.Files[name]), 0o644); err != nil {
			return err
		}
	}
	if c.output == "json" {
		b, _ := json.Marshal(names)
		return c.printJSON(b)
	}
	fmt.Fprintf(c.out, "wrote %d files to %s: %s\n", len(names), dir, strings.Join(names, ", "))
	return nil
}

// ---- audit ----

func newAuditCmd(cl *clientFlags) *cobra.Command {
	var kind, name, since string
	var limit int
	var before int64
	cmd := &cobra.Command{
		Use:   "audit [--kind K] [--name N] [--since 24h]",
		Short: "Show the audit log: who changed which automation, webhook, secret or package, and when",
		Long: `Show the audit log, newest first: every change to automations, webhooks,
secrets (names only, never values) and packages, with who made it
(token:<hash of the admin token>, manifest:<directory>/<file>, system), the action and
the revisions before and after.`,
		Example: `  hookhost audit
  hookhost audit --kind webhook --since 24h
  hookhost audit --name shop.orders`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"kind": kind, "name": name, "since": since} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			if before > 0 {
				q.Set("before", strconv.FormatInt(before, 10))
			}
			var list api.AuditList
			if printed, err := c.call("GET", "/api/v1/audit?"+q.Encode(), nil, &list); printed || err != nil {
				return err
			}
			rows := make([][]string, 0, len(list.Entries))
			for _, e := range list.Entries {
				rev := "-"
				if e.OldRevision != 0 || e.NewRevision != 0 {
					rev = fmt.Sprintf("%d→%d", e.OldRevision, e.NewRevision)
				}
				rows = append(rows, []string{fmtTime(e.At), e.Actor, e.Action, e.Kind, e.Name, orDash(e.RecordID), rev, e.Detail})
			}
			if err := c.table([]string{"TIME", "ACTOR", "ACTION", "KIND", "NAME", "ID", "REVISION", "DETAIL"}, rows); err != nil {
				return err
			}
			if list.NextBefore != 0 {
				fmt.Fprintf(c.errOut, "older entries: hookhost audit --before %d\n", list.NextBefore)
			}
			return nil
		},
	}
	cl.register(cmd)
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "only this kind: automation, webhook, secret or package")
	f.StringVar(&name, "name", "", "only this record (a name, or a webhook id)")
	f.StringVar(&since, "since", "", "only entries since an RFC 3339 time or a duration back from now (24h)")
	f.IntVar(&limit, "limit", 0, "at most this many entries (1-1000; default 100)")
	f.Int64Var(&before, "before", 0, "entries older than this id (the next page)")
	return cmd
}
