package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/views"
)

func (a *Admin) automationRoutes() []route {
	return []route{
		{fiber.MethodGet, "/automations", a.listAutomations},
		{fiber.MethodPost, "/automations", a.createAutomation},
		{fiber.MethodGet, "/automations/:name", a.getAutomation},
		{fiber.MethodPut, "/automations/:name", a.putAutomation},
		{fiber.MethodDelete, "/automations/:name", a.deleteAutomation},
	}
}

func (a *Admin) listAutomations(c *fiber.Ctx) error {
	as, err := a.cat.ListAutomations(c.UserContext())
	if err != nil {
		return err
	}
	out := api.AutomationList{Automations: make([]api.Automation, 0, len(as))}
	for _, x := range as {
		out.Automations = append(out.Automations, views.Automation(x))
	}
	return c.JSON(out)
}

func automationRecord(in api.AutomationInput) *store.Automation {
	return &store.Automation{Name: in.Name, ExtensionID: in.ExtensionID, Description: in.Description, Script: in.Script, PolicyKATA: in.PolicyKATA}
}

func (a *Admin) createAutomation(c *fiber.Ctx) error {
	var in api.AutomationInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	rec := automationRecord(in)
	if err := a.cat.CreateAutomation(c.UserContext(), rec); err != nil {
		return err
	}
	c.Location("/api/v1/automations/" + url.PathEscape(rec.Name))
	return c.Status(fiber.StatusCreated).JSON(views.Automation(rec))
}

func (a *Admin) getAutomation(c *fiber.Ctx) error {
	rec, err := a.cat.GetAutomation(c.UserContext(), c.Params("name"))
	if err != nil {
		return err
	}
	return c.JSON(views.Automation(rec))
}

// putAutomation replaces an automation, or creates it when it does not exist.
func (a *Admin) putAutomation(c *fiber.Ctx) error {
	var in api.AutomationInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	name := c.Params("name")
	if in.Name == "" {
		in.Name = name
	}
	if in.Name != name {
		return api.NewProblem(http.StatusBadRequest, fmt.Sprintf("the body's name %q differs from the URL's %q (renaming is not supported)", in.Name, name))
	}
	rec := automationRecord(in)
	created, err := a.cat.PutAutomation(c.UserContext(), rec)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(views.Automation(rec))
}

func (a *Admin) deleteAutomation(c *fiber.Ctx) error {
	name, force := c.Params("name"), c.Query("force") == "true"
	if !force && a.cfg.Schedules != nil {
		// A schedule whose automation is gone would fail every tick.
		all, err := a.cfg.Schedules.List(c.UserContext())
		if err != nil {
			return err
		}
		var users []string
		for _, sc := range all {
			if sc.Automation == name {
				users = append(users, sc.Name)
			}
		}
		if len(users) > 0 {
			return api.Errorf(fiber.StatusConflict, "automation %q is used by schedules %s; change them first or delete with ?force=true", name, strings.Join(users, ", "))
		}
	}
	if err := a.cat.DeleteAutomation(c.UserContext(), name, force); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
