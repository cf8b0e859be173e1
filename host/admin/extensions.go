package admin

import (
	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

func (a *Admin) extensionRoutes() []route {
	return []route{
		{fiber.MethodGet, "/extensions", a.listExtensions},
		{fiber.MethodPost, "/extensions/reload", a.reloadExtensions},
	}
}

// reloadExtensions re-scans the plugins directory: new binaries start,
// changed ones restart (runs in flight finish first), removed ones stop.
func (a *Admin) reloadExtensions(c *fiber.Ctx) error {
	res, err := a.cfg.Extensions.Reload(c.UserContext())
	if err != nil {
		// Start failures are in res.Failed and in GET /extensions.
		a.cfg.Logger.Error("extension reload", "error", err)
	}
	return c.JSON(api.ExtensionReload{Started: nonNil(res.Started), Restarted: nonNil(res.Restarted),
		Stopped: nonNil(res.Stopped), Failed: nonNil(res.Failed)})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// listExtensions serves GET /api/v1/extensions: what is loaded, its
// version, pids, restarts and runs in flight.
func (a *Admin) listExtensions(c *fiber.Ctx) error {
	return c.JSON(api.ExtensionList{Extensions: a.cfg.Extensions.Info()})
}
