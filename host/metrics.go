package host

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration prometheus.Histogram
	dropped  prometheus.CounterFunc
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookhost_webhook_requests_total",
		Help: "Webhook requests by HTTP status answered.",
	}, []string{"status"})
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookhost_webhook_duration_seconds",
		Help:    "Time from receiving a webhook request to answering it.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.dropped = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "hookhost_run_records_dropped_total",
		Help: "Run records not written because the history queue was full.",
	}, func() float64 { return float64(s.recorder.dropped.Load()) })
	m.reg.MustRegister(m.requests, m.duration, m.dropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hookhost_extension_restarts",
		Help: "Restarts of extension processes since start (all extensions).",
	}, func() float64 {
		n := 0
		for _, in := range s.ext.extensionsInfo() {
			n += in.Restarts
		}
		return float64(n)
	}))
	return m
}

// observe records one answered webhook request.
func (m *metrics) observe(status int, start time.Time) {
	m.requests.WithLabelValues(strconv.Itoa(status)).Inc()
	m.duration.Observe(time.Since(start).Seconds())
}

// handler serves /metrics.
func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}
