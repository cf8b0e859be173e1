package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

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
		return nil, c.noSuchImport(ctx, name)
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

// noSuchImport is the 404 of an export of a package never imported: it
// names the packages that were (a package is exported by the name in its
// file, "Webhooks Example", not a built-in one's library name).
func (c *Catalog) noSuchImport(ctx context.Context, name string) error {
	imps, err := c.st.ListImports(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, imp := range imps {
		if q := strconv.Quote(imp.Name); !slices.Contains(names, q) {
			names = append(names, q)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return api.Errorf(http.StatusNotFound, "no package %q was imported: no package was imported yet", name)
	}
	return api.Errorf(http.StatusNotFound, "no package %q was imported; the imported ones are %s", name, strings.Join(names, ", "))
}
