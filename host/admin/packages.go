package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/packages/library"
)

func (a *Admin) packageRoutes() []route {
	return []route{
		{fiber.MethodPost, "/packages/import", a.importPackage},
		{fiber.MethodGet, "/packages/library", a.listLibrary},
	}
}

// importPackage imports the package in the body ({"package":…,"prompts":…}
// is accepted too), or, with ?name=, a built-in package (the body then
// holds only the prompts): 201 for a first import, 200 for an upgrade or
// the same revision again (?prune=true deletes, on an upgrade, the records
// the new revision no longer has).
func (a *Admin) importPackage(c *fiber.Ctx) error {
	raw := append([]byte(nil), c.Body()...)
	if len(bytes.TrimSpace(raw)) > 0 && !json.Valid(raw) {
		// Say where the syntax breaks (line and column) before the package
		// is read.
		var v json.RawMessage
		if err := decodeBody(raw, &v); err != nil {
			var p *api.Problem
			if errors.As(err, &p) {
				for i := range p.Errors {
					p.Errors[i].Field = "package" // as the package's other problems name it
				}
			}
			return err
		}
	}
	if name := c.Query("name"); name != "" {
		var err error
		if raw, err = catalog.Library(name, raw); err != nil {
			return err
		}
	}
	res, err := a.cat.ImportWith(c.UserContext(), raw, catalog.ImportOptions{Prune: c.Query("prune") == "true"})
	if err != nil {
		return err
	}
	a.syncImported(c.UserContext(), res)
	if res.Action != api.ImportFirst {
		return c.JSON(res) // an upgrade, or the same revision again
	}
	return c.Status(fiber.StatusCreated).JSON(res)
}

func (a *Admin) listLibrary(c *fiber.Ctx) error {
	return c.JSON(api.LibraryList{Packages: library.List()})
}

// syncImported makes the upstream subscriptions of the webhooks an import
// created (with their URL, shown once), changed or deleted.
func (a *Admin) syncImported(ctx context.Context, res *api.ImportResult) {
	if a.cfg.Upstream == nil {
		return
	}
	for _, w := range res.Webhooks {
		if rec, err := a.cat.GetWebhook(ctx, w.ID); err == nil {
			a.syncUpstream(ctx, rec, w.URL, false)
		}
	}
	for _, r := range res.RecordsUpdated[catalog.ContextWebhook] {
		if rec, err := a.cat.GetWebhook(ctx, r.ID); err == nil {
			a.syncUpstream(ctx, rec, "", false)
		}
	}
	for _, r := range res.RecordsDeleted[catalog.ContextWebhook] {
		a.syncUpstream(ctx, &store.Webhook{ID: r.ID}, "", true)
	}
}
