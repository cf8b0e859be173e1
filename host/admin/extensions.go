package admin

import (
	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

func (a *Admin) extensionRoutes() []route {
	return []route{
		{fiber.MethodGet, "/extensions", a.listExtensions},
	}
}

// listExtensions serves GET /api/v1/extensions: what is loaded, its
// version, pids, restarts and runs in flight.
func (a *Admin) listExtensions(c *fiber.Ctx) error {
	return c.JSON(api.ExtensionList{Extensions: a.cfg.Extensions.Info()})
}
