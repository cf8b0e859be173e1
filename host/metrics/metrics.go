// Package metrics is the server's Prometheus registry: what the webhook
// path observes, and gauges read from the parts that own the numbers.
package metrics

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are the numbers the metrics read from other parts.
type Sources struct {
	// DroppedRuns counts run records not written.
	DroppedRuns func() int64
	// ExtensionRestarts counts extension process restarts since start.
	ExtensionRestarts func() int
}

// Metrics holds the server's collectors.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration prometheus.Histogram
}

// New registers the server's collectors on a new registry.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookhost_webhook_requests_total",
		Help: "Webhook requests by HTTP status answered.",
	}, []string{"status"})
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookhost_webhook_duration_seconds",
		Help:    "Time from receiving a webhook request to answering it.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.DroppedRuns != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookhost_run_records_dropped_total",
			Help: "Run records not written because the history queue was full.",
		}, func() float64 { return float64(src.DroppedRuns()) }))
	}
	if src.ExtensionRestarts != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookhost_extension_restarts",
			Help: "Restarts of extension processes since start (all extensions).",
		}, func() float64 { return float64(src.ExtensionRestarts()) }))
	}
	return m
}

// ObserveWebhook counts one webhook request answered with status.
func (m *Metrics) ObserveWebhook(status int, start time.Time) {
	m.requests.WithLabelValues(strconv.Itoa(status)).Inc()
	m.duration.Observe(time.Since(start).Seconds())
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}
