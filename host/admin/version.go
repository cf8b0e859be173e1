package admin

import (
	"runtime"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

func (a *Admin) versionRoutes() []route {
	return []route{
		{fiber.MethodGet, "/version", a.version},
	}
}

// version serves GET /api/v1/version: the server's version and the Go
// release it was built with.
func (a *Admin) version(c *fiber.Ctx) error {
	v := a.cfg.Version
	if v == "" {
		v = "dev"
	}
	return c.JSON(api.Version{Version: v, GoVersion: runtime.Version()})
}
