// Package admin is the admin API under /api/v1: one file per area
// (automations, webhooks, runs, jobs, schedules, subscriptions, secrets,
// packages, extensions), each registering its own routes, behind the
// bearer admin token. Handlers return errors (*api.Problem for the
// caller's mistakes); the app's one error handler writes them as
// problem+json.
package admin

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/dispatch"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/live"
	"github.com/hookhost/hookhost/host/metrics"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/host/schedule"
	"github.com/hookhost/hookhost/host/upstream"
)

// Config is what the admin API needs.
type Config struct {
	Catalog *catalog.Catalog
	// Dispatch replays recorded requests.
	Dispatch *dispatch.Dispatcher
	// Live streams what happens (GET /events).
	Live *live.Broker
	Jobs *jobs.Queue
	// Schedules runs schedules (nil: the schedule routes answer 503).
	Schedules *schedule.Scheduler
	// Upstream keeps the webhooks' upstream subscriptions (subscribe/<name>:
	// blocks); nil: none are made.
	Upstream   *upstream.Manager
	Extensions *runner.Extensions
	// Metrics gives GET /metrics/summary (nil: it answers 503).
	Metrics  *metrics.Metrics
	Redactor *redact.Redactor
	Logger   *slog.Logger
	// Token is the admin bearer token.
	Token string
	// TrustedProxies are the peers whose X-Forwarded-For is believed (for
	// the failed-authentication throttle's client addresses).
	TrustedProxies []netip.Prefix
	// Version is the server's version, shown by GET /api/v1/version
	// (empty or "dev" for a development build).
	Version string
}

// Admin serves the admin API.
type Admin struct {
	cfg  Config
	cat  *catalog.Catalog
	red  *redact.Redactor
	auth *authThrottle
	// actor names the admin token in the audit log.
	actor string
}

// New returns the admin API.
func New(cfg Config) *Admin {
	return &Admin{cfg: cfg, cat: cfg.Catalog, red: cfg.Redactor, auth: newAuthThrottle(authBurst, authEvery, authClients), actor: catalog.TokenActor(cfg.Token)}
}

// area is one part of the admin API; it lists its routes under /api/v1.
type area func(a *Admin) []route

// areas are the parts of the admin API, one file each.
var areas = []area{
	(*Admin).packageRoutes,
	(*Admin).automationRoutes,
	(*Admin).webhookRoutes,
	(*Admin).validateRoutes,
	(*Admin).runRoutes,
	(*Admin).dryRunRoutes,
	(*Admin).jobRoutes,
	(*Admin).scheduleRoutes,
	(*Admin).subscriptionRoutes,
	(*Admin).secretRoutes,
	(*Admin).secretUsageRoutes,
	(*Admin).extensionRoutes,
	(*Admin).openAPIRoutes,
	(*Admin).versionRoutes,
	(*Admin).metricsRoutes,
	(*Admin).eventRoutes,
	(*Admin).changeRoutes,
}

// Mount adds the admin API under /api/v1 to app. A request for an admin
// path with a method the path does not serve is answered 405 with an Allow
// header; an unknown path 404.
func (a *Admin) Mount(app fiber.Router) {
	r := app.Group("/api/v1", a.requireAdmin)
	table := &routeTable{}
	r.Use(table.shadowed) // the table is complete before the first request
	r.Use(table.textParams)
	r.Use(decodeContent)
	for _, area := range areas {
		for _, rt := range area(a) {
			if rt.method == fiber.MethodGet {
				r.Get(rt.path, rt.handler) // and HEAD
			} else {
				r.Add(rt.method, rt.path, rt.handler)
			}
			table.add(rt.method, rt.path)
		}
	}
	r.Use(table.notFound)
}

// requireAdmin checks the bearer admin token in constant time. Failed
// attempts are throttled per client (authThrottle): a client that failed
// too often is answered 429 with Retry-After, its token unchecked, until
// its wait is over, so guessing goes no faster than the throttle allows.
// Every method goes through the throttle and counts alike; only a CORS
// preflight (OPTIONS without an Authorization header) is not counted.
func (a *Admin) requireAdmin(c *fiber.Ctx) error {
	client, now := a.client(c), time.Now()
	if err := a.throttled(c, client, now); err != nil {
		return err
	}
	tok, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(a.cfg.Token)) == 1 {
		// The audit log names who changes what; ?force=true lets a change
		// touch what a manifest owns.
		c.SetUserContext(catalog.WithActor(c.UserContext(), catalog.Actor{ID: a.actor, Force: c.Query("force") == "true"}))
		return c.Next()
	}
	a.failed(c, client, now)
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookhost admin"`)
	return api.NewProblem(http.StatusUnauthorized, "a valid admin token is required (Authorization: Bearer <token>)")
}
