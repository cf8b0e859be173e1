package host

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/reqlog"
)

// serviceWorkerHeader is the header a browser sends when it fetches the
// script of a service worker it is registering or updating
// (`Service-Worker: script`, Service Workers §"Update").
const serviceWorkerHeader = "Service-Worker"

// refuseServiceWorker refuses, 403 problem+json, every request that
// carries a Service-Worker header: a browser fetching the script of a
// service worker. hookhost serves no service worker (the console
// registers none), and a webhook's answer must not become one: a worker
// whose scope is "/" would control every page of the origin, /console/
// among them, and read the admin token from the Authorization header of
// each console API call. Without a script the origin serves, no worker
// can be registered on it.
//
// The refusal also carries Clear-Site-Data: "storage", which unregisters
// the origin's service workers: a browser asks for a worker's script
// again only to update a worker it has, one a webhook registered on a
// version without this refusal, which would otherwise keep controlling
// /console/ after the upgrade (a failed update leaves a worker in place).
// The console's session, in the same storage, ends with it: its operator
// signs in again.
//
// It runs on every listener (the webhook port and --admin-listen's), for
// every route, after the request log, which notes the cause
// service_worker.
func refuseServiceWorker(c *fiber.Ctx) error {
	if len(c.Request().Header.Peek(serviceWorkerHeader)) == 0 {
		return c.Next()
	}
	e := reqlog.From(c)
	e.Cause, e.Reason = "service_worker", "a service worker script was asked for"
	c.Set("Clear-Site-Data", `"storage"`)
	return api.NewProblem(http.StatusForbidden,
		"hookhost serves no service worker scripts: a request with a Service-Worker header (a browser registering a worker) is refused on every path")
}
