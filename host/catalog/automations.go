package catalog

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
)

// NotFound turns store.ErrNotFound into a 404 problem naming the record;
// other errors are returned as they are.
func NotFound(err error, kind, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return api.Errorf(http.StatusNotFound, "no %s %q", kind, id)
	}
	return err
}

// ListAutomations lists the automations by name.
func (c *Catalog) ListAutomations(ctx context.Context) ([]*store.Automation, error) {
	return c.st.ListAutomations(ctx)
}

// GetAutomation reads one automation (404 problem when unknown).
func (c *Catalog) GetAutomation(ctx context.Context, name string) (*store.Automation, error) {
	a, err := c.st.GetAutomation(ctx, name)
	if err != nil {
		return nil, NotFound(err, "automation", name)
	}
	return a, nil
}

// CreateAutomation validates and creates an automation (409 when the name
// is taken).
func (c *Catalog) CreateAutomation(ctx context.Context, a *store.Automation) error {
	if err := c.ValidateAutomation(a.Name, a.ExtensionID, a.Script, a.PolicyKATA); err != nil {
		return err
	}
	if err := c.apply(ctx, store.Change{Action: store.ActionCreate, Automation: a}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return api.Errorf(http.StatusConflict, "an automation named %q already exists", a.Name)
		}
		return err
	}
	return nil
}

// PutAutomation replaces an automation, or creates it when it does not
// exist (created reports which). A change that would break the webhooks
// using it is refused, and so is a change to one a manifest owns (409)
// unless the actor forces it; the owner stays.
func (c *Catalog) PutAutomation(ctx context.Context, a *store.Automation) (created bool, err error) {
	if err := c.ValidateAutomation(a.Name, a.ExtensionID, a.Script, a.PolicyKATA); err != nil {
		return false, err
	}
	old, err := c.st.GetAutomation(ctx, a.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := c.apply(ctx, store.Change{Action: store.ActionCreate, Automation: a}); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return false, api.Errorf(http.StatusConflict, "an automation named %q was created meanwhile; retry", a.Name)
			}
			return false, err
		}
		return true, nil
	case err != nil:
		return false, err
	}
	if err := checkOwner(ctx, "automation", a.Name, old.Owner); err != nil {
		return false, err
	}
	if err := c.checkWebhooksStillWork(ctx, a); err != nil {
		return false, err
	}
	a.Owner = old.Owner
	if err := c.apply(ctx, store.Change{Action: store.ActionUpdate, Automation: a, IfRevision: old.Revision}); err != nil {
		return false, notFoundOr(err, "automation", a.Name)
	}
	return false, nil
}

// DeleteAutomation deletes an automation. Unless force, it refuses (409)
// to delete one that webhooks use, or one a manifest owns.
func (c *Catalog) DeleteAutomation(ctx context.Context, name string, force bool) error {
	old, err := c.GetAutomation(ctx, name)
	if err != nil {
		return err
	}
	if !force {
		if err := checkOwner(ctx, "automation", name, old.Owner); err != nil {
			return err
		}
		users, err := c.webhooksUsing(ctx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return api.Errorf(http.StatusConflict, "automation %q is used by webhooks %s; change them first or delete with ?force=true", name, strings.Join(users, ", "))
		}
	}
	err = c.apply(ctx, store.Change{Action: store.ActionDelete, Automation: &store.Automation{Name: name}, IfRevision: old.Revision})
	return notFoundOr(err, "automation", name)
}
