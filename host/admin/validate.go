package admin

import (
	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

// validateRoutes check what an editor holds without saving it (the
// console checks event KATA as it is typed).
func (a *Admin) validateRoutes() []route {
	return []route{
		{fiber.MethodPost, "/webhooks/validate", a.validateEventKATA},
	}
}

// validateEventKATA checks {"event_kata"} as creating or changing a
// webhook would: 200 {"valid": true}, or the 400 problem saving would
// answer, with every problem's line and column.
func (a *Admin) validateEventKATA(c *fiber.Ctx) error {
	var in api.EventKATACheck
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := a.cat.ValidateEvent(c.UserContext(), in.EventKATA, nil); err != nil {
		return err
	}
	return c.JSON(api.Valid{Valid: true})
}
