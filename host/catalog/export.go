package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/packages"
)

// ExportPackage writes the package called name back out in Cerb's format:
// its latest import's name and revision, and the records that import
// created as they are now (records deleted since are left out). Importing
// it elsewhere creates the same records; importing it here again changes
// nothing (same revision). 404 when the package was never imported.
func (c *Catalog) ExportPackage(ctx context.Context, name string) ([]byte, error) {
	imp, err := c.st.LatestImport(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.Errorf(http.StatusNotFound, "no package %q was imported (GET /api/v1/audit?kind=package lists imports)", name)
	}
	if err != nil {
		return nil, err
	}
	var res packages.Result
	if len(imp.Result) > 0 {
		if err := json.Unmarshal(imp.Result, &res); err != nil {
			return nil, fmt.Errorf("package %q: read the records of its import: %w", name, err)
		}
	}
	e := packages.Export{Name: imp.Name, Revision: int(imp.Revision)}
	for _, uid := range sortedKeys(res.RecordsCreated[contextAutomation]) {
		a, err := c.st.GetAutomation(ctx, res.RecordsCreated[contextAutomation][uid].ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		e.Automations = append(e.Automations, packages.Automation{UID: uid, Name: a.Name, ExtensionID: a.ExtensionID,
			Description: a.Description, Script: a.Script, PolicyKATA: a.PolicyKATA})
	}
	for _, uid := range sortedKeys(res.RecordsCreated[contextWebhook]) {
		w, err := c.st.GetWebhook(ctx, res.RecordsCreated[contextWebhook][uid].ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		e.Webhooks = append(e.Webhooks, packages.Webhook{UID: uid, Name: w.Name, EventKATA: w.EventKATA, Enabled: w.Enabled})
	}
	return e.JSON()
}
