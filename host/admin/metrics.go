package admin

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
)

// metricsRoutes serve the metrics' summary (the console's System page);
// /metrics itself is mounted beside the API.
func (a *Admin) metricsRoutes() []route {
	return []route{
		{fiber.MethodGet, "/metrics/summary", a.metricsSummary},
	}
}

// metricsSummary serves GET /api/v1/metrics/summary.
func (a *Admin) metricsSummary(c *fiber.Ctx) error {
	if a.cfg.Metrics == nil {
		return api.NewProblem(http.StatusServiceUnavailable, "metrics are not collected")
	}
	s, err := a.cfg.Metrics.Summary()
	if err != nil {
		return err
	}
	return c.JSON(api.MetricsSummary{Requests: s.Requests, DurationBounds: s.Bounds, DurationCumulative: s.Cumulative, Jobs: s.Jobs})
}
