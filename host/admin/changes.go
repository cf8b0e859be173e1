package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/manifest"
	"github.com/hookhost/hookhost/host/store"
)

// changeRoutes are the routes of the one write path's other ends: the
// audit log, package export, and declarative manifests.
func (a *Admin) changeRoutes() []route {
	return []route{
		{fiber.MethodGet, "/audit", a.listAudit},
		{fiber.MethodGet, "/packages/:name/export", a.exportPackage},
		{fiber.MethodPost, "/manifests/apply", a.applyManifests},
		{fiber.MethodGet, "/manifests/export", a.exportManifests},
	}
}

// applyManifests applies the manifest directory in the body
// (api.ManifestApply): a plan, then, unless dry_run, every change in one
// transaction. Problems of the files are one 400 listing each with its
// file, line and column; nothing is changed then.
func (a *Admin) applyManifests(c *fiber.Ctx) error {
	var in api.ManifestApply
	if err := decodeSecret(c.Body(), &in); err != nil { // the body holds secret values
		return err
	}
	if len(in.Files) == 0 {
		return api.InvalidField("files", `"files" is empty: send the manifest directory's files by name, {"files": {"hooks.yaml": "..."}}`)
	}
	if len(in.Source) > 1024 || !utf8.ValidString(in.Source) || strings.ContainsFunc(in.Source, unicode.IsControl) {
		return api.InvalidField("source", `"source" must be a directory's path: at most 1024 bytes of UTF-8 without control characters`)
	}
	by := a.actor
	if in.Source != "" {
		by += " from " + in.Source
	}
	plan, err := manifest.NewApplier(a.cat).WithExtras(a.manifestExtras()).Apply(c.UserContext(), manifest.Files(in.Files), manifest.Options{
		DryRun: in.DryRun, Prune: in.Prune, By: by, Source: in.Source, SecretValue: manifest.GivenSecrets(in.Secrets)})
	if err != nil {
		return manifestProblem(err)
	}
	return c.JSON(plan)
}

// manifestExtras are the schedules and subscriptions manifests declare,
// those that run here.
func (a *Admin) manifestExtras() manifest.Extras {
	var x manifest.Extras
	if a.cfg.Schedules != nil {
		x.Schedules = a.cfg.Schedules
	}
	if a.cfg.Jobs != nil {
		x.Subscriptions = a.cfg.Jobs
	}
	if a.cfg.Upstream != nil {
		x.Upstream = a.cfg.Upstream
	}
	return x
}

// manifestProblem turns manifest problems into a 400 problem, one item
// per problem with its file as the field.
func manifestProblem(err error) error {
	var ps manifest.Problems
	if !errors.As(err, &ps) {
		return err
	}
	p := api.NewProblem(http.StatusBadRequest, "the manifests were not applied; nothing was changed")
	for _, it := range ps {
		p.Add(api.ProblemItem{Field: it.File, Line: it.Line, Column: it.Col, Message: it.Msg})
	}
	return p
}

// exportManifests writes the current state as a manifest directory that
// applies back unchanged.
func (a *Admin) exportManifests(c *fiber.Ctx) error {
	files, err := manifest.ExportAll(c.UserContext(), a.cat, a.manifestExtras())
	if err != nil {
		return err
	}
	return c.JSON(api.ManifestExport{Files: files})
}

// listAudit lists audit entries, newest first: ?kind= (automation,
// webhook, secret, package), ?name= (a name or a record id), ?since= (an
// RFC 3339 time or a duration back from now such as 24h), ?limit= (1 to
// 1000, default 100), ?before= (the next_before of the previous page).
func (a *Admin) listAudit(c *fiber.Ctx) error {
	f := store.AuditFilter{Kind: c.Query("kind"), Name: c.Query("name")}
	switch f.Kind {
	case "", store.KindAutomation, store.KindWebhook, store.KindSecret, store.KindPackage, store.KindSchedule, store.KindSubscription:
	default:
		return api.InvalidField("kind", fmt.Sprintf("kind must be automation, webhook, secret, package, schedule or subscription (got %q)", f.Kind))
	}
	if v := c.Query("since"); v != "" {
		t, err := parseSince(v, time.Now())
		if err != nil {
			return err
		}
		f.Since = t
	}
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return api.InvalidField("before", fmt.Sprintf("before must be the next_before of the previous page, a positive number (got %q)", v))
		}
		f.BeforeID = n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxAuditLimit {
			return api.InvalidField("limit", fmt.Sprintf("limit must be a number from 1 to %d (got %q)", store.MaxAuditLimit, v))
		}
		f.Limit = n
	}
	entries, err := a.cat.Audit(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := api.AuditList{Entries: make([]api.AuditEntry, 0, len(entries))}
	for _, e := range entries {
		out.Entries = append(out.Entries, api.AuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Kind: e.Kind, Name: e.Name,
			RecordID: e.RecordID, Action: e.Action, OldRevision: e.OldRevision, NewRevision: e.NewRevision,
			Detail: a.red.Redact(e.Detail)})
	}
	limit := f.Limit
	if limit == 0 {
		limit = store.DefaultAuditLimit
	}
	if len(entries) == limit {
		out.NextBefore = entries[len(entries)-1].ID
	}
	return c.JSON(out)
}

// parseSince reads ?since=: an RFC 3339 time, or a duration back from now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, api.InvalidField("since", fmt.Sprintf("since must be an RFC 3339 time such as %s or a duration back from now such as 24h (got %q)", exampleTime, v))
}

// exportPackage writes an imported package back out in Cerb's format.
func (a *Admin) exportPackage(c *fiber.Ctx) error {
	name, err := url.PathUnescape(c.Params("name"))
	if err != nil {
		return api.InvalidField("name", fmt.Sprintf("the package name in the path is not URL-encoded text: %v", err))
	}
	raw, err := a.cat.ExportPackage(c.UserContext(), name)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(http.StatusOK).Send(raw)
}
