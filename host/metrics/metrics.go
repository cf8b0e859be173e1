// Package metrics is the server's Prometheus registry: what the request
// path observes, and gauges and counters read from the parts that own the
// numbers. Labels are bounded: webhook ids (never tokens or paths), status
// classes, and fixed sets of causes, kinds and states.
package metrics

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are the numbers the metrics read from other parts when scraped.
type Sources struct {
	// DroppedRuns counts run records not written.
	DroppedRuns func() int64
	// SkippedRuns counts run records not made because the webhook's
	// history: setting leaves them out.
	SkippedRuns func() int64
	// ExtensionRestarts counts extension process restarts since start.
	ExtensionRestarts func() int
	// PublishDropped counts events for published subscriptions dropped
	// because they came faster than the publish rate.
	PublishDropped func() int64
	// JobStates counts jobs by state, and gives the age of the oldest
	// queued job (0 when none is queued).
	JobStates func() (counts map[string]int, oldestQueued time.Duration, err error)
	// Connections gives the client connections open, closed to make room,
	// and refused.
	Connections func() (open int, shed, refused int64)
}

// Metrics holds the server's collectors.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rejected *prometheus.CounterVec
	verify   *prometheus.CounterVec
	runs     *prometheus.CounterVec
	jobEnds  *prometheus.CounterVec
	jobTime  prometheus.Histogram
	attempts prometheus.Histogram
	callback *prometheus.CounterVec
	// total adds up ObserveWebhook over every webhook, for Summary: the
	// labelled series grow with the webhooks (a scrape of 10,000 busy
	// webhooks is megabytes), the summary does not.
	total struct {
		classes [6]atomic.Uint64 // by status class; 0: other
		buckets []atomic.Uint64  // per bound of durationBounds, then +Inf; not cumulative
	}
	bounds []float64 // durationBounds
	// series holds each webhook's *webhookSeries, by webhook id.
	series sync.Map
	// runExits holds the run counter of each exit state counted so far
	// (a prometheus.Counter by exit).
	runExits  sync.Map
	jobStates func() (map[string]int, time.Duration, error)
}

// durationBounds are the upper bounds of the request duration histogram's
// buckets, in seconds.
func durationBounds() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
}

// New registers the server's collectors on a new registry.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), jobStates: src.JobStates, bounds: durationBounds()}
	m.total.buckets = make([]atomic.Uint64, len(m.bounds)+1)
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookhost_webhook_requests_total",
		Help: "Webhook requests by webhook id (empty for an unknown token) and status class of the answer.",
	}, []string{"webhook", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hookhost_webhook_request_duration_seconds",
		Help:    "Time from receiving a webhook request to answering it, by webhook id.",
		Buckets: durationBounds(),
	}, []string{"webhook"})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookhost_webhook_rejected_total",
		Help: "Webhook requests refused before their automation ran, by cause (unknown_token, disabled, expired, verify, body_size, body_memory, rate_limit, concurrency, no_handler, service_worker).",
	}, []string{"cause"})
	m.verify = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookhost_verify_failures_total",
		Help: "Requests refused by a verify block, by kind (missing, malformed, mismatch, timestamp, address).",
	}, []string{"kind"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookhost_runs_total",
		Help: "Synchronous automation runs by exit state (return, error, exit, await; none when the run did not end by itself).",
	}, []string{"exit"})
	m.jobEnds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookhost_jobs_finished_total",
		Help: "Durable jobs that ended in this process, by state (completed, failed, stopped).",
	}, []string{"state"})
	m.jobTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookhost_job_duration_seconds",
		Help:    "Time from a job's first start to its end, for jobs that ended in this process.",
		Buckets: prometheus.ExponentialBuckets(0.005, 4, 10),
	})
	m.attempts = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookhost_job_attempts",
		Help:    "Attempts a job took, for jobs that ended in this process.",
		Buckets: []float64{1, 2, 3, 5, 10, 25},
	})
	m.callback = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookhost_callback_deliveries_total",
		Help: "Job completion callback deliveries by outcome (delivered, failed, refused, stopped).",
	}, []string{"outcome"})
	m.reg.MustRegister(m.requests, m.duration, m.rejected, m.verify, m.runs, m.jobEnds, m.jobTime, m.attempts, m.callback,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.DroppedRuns != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookhost_run_records_dropped_total",
			Help: "Run records not written (the history queue was full, or the store refused them).",
		}, func() float64 { return float64(src.DroppedRuns()) }))
	}
	if src.SkippedRuns != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookhost_run_records_skipped_total",
			Help: "Run records not made because the webhook's history: setting leaves them out (record: errors, none, or sample).",
		}, func() float64 { return float64(src.SkippedRuns()) }))
	}
	if src.ExtensionRestarts != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookhost_extension_restarts_total",
			Help: "Restarts of extension processes since start (all extensions).",
		}, func() float64 { return float64(src.ExtensionRestarts()) }))
	}
	if src.PublishDropped != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookhost_subscription_events_dropped_total",
			Help: "Events for published subscriptions not delivered because they came faster than the publish rate.",
		}, func() float64 { return float64(src.PublishDropped()) }))
	}
	if src.JobStates != nil {
		m.reg.MustRegister(&jobCollector{src: src.JobStates,
			states: prometheus.NewDesc("hookhost_jobs", "Durable jobs by state (queued, running, retrying, completed, failed, stopped; all servers sharing the database).", []string{"state"}, nil),
			age:    prometheus.NewDesc("hookhost_jobs_oldest_queued_seconds", "Age of the oldest queued job (0 when none).", nil, nil)})
	}
	if src.Connections != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookhost_connections",
			Help: "Client connections open now (webhook and admin listeners).",
		}, func() float64 { open, _, _ := src.Connections(); return float64(open) }))
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookhost_connections_shed_total",
			Help: "Idle or silent connections closed to make room at the connection cap.",
		}, func() float64 { _, shed, _ := src.Connections(); return float64(shed) }))
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hookhost_connections_refused_total",
			Help: "Connections refused at the connection cap while every connection was busy.",
		}, func() float64 { _, _, refused := src.Connections(); return float64(refused) }))
	}
	return m
}

// ObserveWebhook counts one webhook request answered with status.
func (m *Metrics) ObserveWebhook(webhook string, status int, elapsed time.Duration) {
	secs := elapsed.Seconds()
	s := m.seriesOf(webhook)
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
		m.requests.WithLabelValues(webhook, strconv.Itoa(status/100)+"xx").Inc()
	} else {
		s.requests(m, webhook, class).Inc()
	}
	s.duration.Observe(secs)
	m.total.classes[class].Add(1)
	m.total.buckets[sort.SearchFloat64s(m.bounds, secs)].Add(1)
}

// classNames are the code labels of the status classes 1xx to 5xx.
var classNames = [6]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

// webhookSeries are one webhook's children of the request collectors,
// looked up once: a request then costs no label hashing. Series are never
// deleted from the collectors, so a child stays current.
type webhookSeries struct {
	duration prometheus.Observer
	// codes holds the request counter of each status class 1xx-5xx, made
	// when first counted (a class never answered has no series).
	codes [6]atomic.Pointer[prometheus.Counter]
}

// seriesOf returns the series of webhook.
func (m *Metrics) seriesOf(webhook string) *webhookSeries {
	if s, ok := m.series.Load(webhook); ok {
		return s.(*webhookSeries)
	}
	s, _ := m.series.LoadOrStore(webhook, &webhookSeries{duration: m.duration.WithLabelValues(webhook)})
	return s.(*webhookSeries)
}

// requests is the request counter of status class (1 to 5).
func (s *webhookSeries) requests(m *Metrics, webhook string, class int) prometheus.Counter {
	if c := s.codes[class].Load(); c != nil {
		return *c
	}
	c := m.requests.WithLabelValues(webhook, classNames[class])
	s.codes[class].Store(&c)
	return c
}

// Summary is the webhook traffic of every webhook added up, and the job
// counts: what the console's System page charts, without the per-webhook
// series of a scrape.
type Summary struct {
	// Requests counts the answered webhook requests by status class
	// ("2xx"; "other" for a status outside 100-599).
	Requests map[string]uint64
	// Bounds are the duration buckets' upper bounds in seconds; Cumulative
	// has one count per bound and a last one for +Inf (all requests), as
	// a Prometheus histogram's buckets.
	Bounds     []float64
	Cumulative []uint64
	// Jobs counts the jobs by state (nil without a job queue).
	Jobs map[string]int
}

// Summary reads the totals now.
func (m *Metrics) Summary() (Summary, error) {
	s := Summary{Requests: make(map[string]uint64, 6), Bounds: durationBounds(), Cumulative: make([]uint64, len(m.total.buckets))}
	for c := range m.total.classes {
		name := strconv.Itoa(c) + "xx"
		if c == 0 {
			name = "other"
		}
		s.Requests[name] = m.total.classes[c].Load()
	}
	var n uint64
	for i := range m.total.buckets {
		n += m.total.buckets[i].Load()
		s.Cumulative[i] = n
	}
	if m.jobStates != nil {
		counts, _, err := m.jobStates()
		if err != nil {
			return s, err
		}
		s.Jobs = make(map[string]int, len(counts))
		for st, n := range counts {
			s.Jobs[strings.ToLower(st)] = n
		}
	}
	return s, nil
}

// Rejected counts a webhook request refused for cause.
func (m *Metrics) Rejected(cause string) { m.rejected.WithLabelValues(cause).Inc() }

// VerifyFailed counts a request a verify block refused.
func (m *Metrics) VerifyFailed(kind string) { m.verify.WithLabelValues(kind).Inc() }

// Run counts a synchronous run by its exit state.
func (m *Metrics) Run(exit string) {
	if c, ok := m.runExits.Load(exit); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	c, _ := m.runExits.LoadOrStore(exit, m.runs.WithLabelValues(exit))
	c.(prometheus.Counter).Inc()
}

// JobFinished counts a job that ended in this process.
func (m *Metrics) JobFinished(state string, attempts int, elapsed time.Duration) {
	m.jobEnds.WithLabelValues(strings.ToLower(state)).Inc()
	m.attempts.Observe(float64(attempts))
	if elapsed > 0 {
		m.jobTime.Observe(elapsed.Seconds())
	}
}

// Callback counts a callback delivery's outcome.
func (m *Metrics) Callback(outcome string) { m.callback.WithLabelValues(outcome).Inc() }

// Registry is the registry (for tests that lint it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}

// jobCollector reads the job counts when scraped.
type jobCollector struct {
	src    func() (map[string]int, time.Duration, error)
	states *prometheus.Desc
	age    *prometheus.Desc
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.states
	ch <- c.age
}

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	counts, oldest, err := c.src()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.states, err)
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.states, prometheus.GaugeValue, float64(n), strings.ToLower(state))
	}
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, oldest.Seconds())
}
