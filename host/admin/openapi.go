package admin

import (
	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

func (a *Admin) openAPIRoutes() []route {
	return []route{
		{fiber.MethodGet, "/openapi.json", a.openAPI},
	}
}

// openAPI serves the OpenAPI document of the API.
func (a *Admin) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(api.OpenAPI())
}
