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
	if err := c.st.CreateAutomation(ctx, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return api.Errorf(http.StatusConflict, "an automation named %q already exists", a.Name)
		}
		return err
	}
	c.Changed(ctx)
	return nil
}

// PutAutomation replaces an automation, or creates it when it does not
// exist (created reports which). A change that would break the webhooks
// using it is refused.
func (c *Catalog) PutAutomation(ctx context.Context, a *store.Automation) (created bool, err error) {
	if err := c.ValidateAutomation(a.Name, a.ExtensionID, a.Script, a.PolicyKATA); err != nil {
		return false, err
	}
	if err := c.checkWebhooksStillWork(ctx, a); err != nil {
		return false, err
	}
	err = c.st.UpdateAutomation(ctx, a)
	if errors.Is(err, store.ErrNotFound) {
		created = true
		err = c.st.CreateAutomation(ctx, a)
	}
	if err != nil {
		return false, err
	}
	c.Changed(ctx)
	return created, nil
}

// DeleteAutomation deletes an automation. Unless force, it refuses (409)
// to delete one that webhooks use.
func (c *Catalog) DeleteAutomation(ctx context.Context, name string, force bool) error {
	if !force {
		users, err := c.webhooksUsing(ctx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return api.Errorf(http.StatusConflict, "automation %q is used by webhooks %s; change them first or delete with ?force=true", name, strings.Join(users, ", "))
		}
	}
	if err := c.st.DeleteAutomation(ctx, name); err != nil {
		return NotFound(err, "automation", name)
	}
	c.Changed(ctx)
	return nil
}
