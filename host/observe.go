package host

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/live"
	"github.com/hookhost/hookhost/host/reqlog"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/views"
)

// requestLog is the first middleware of both apps: a request id, the
// access log line (unless --access-log=false) and the webhook metrics.
func (s *Server) requestLog() fiber.Handler { return reqlog.New(s.reqlogConfig()) }

// reqlogConfig is the request log's configuration: the middleware's, and
// that of the requests the server refuses before the middleware runs.
func (s *Server) reqlogConfig() reqlog.Config {
	cfg := reqlog.Config{Observe: func(c *fiber.Ctx, e *reqlog.Entry, status int, elapsed time.Duration) {
		// Fiber routes /webhooks in any case (ASCII) to the webhooks.
		if p := c.Path(); len(p) < len("/webhooks") || !strings.EqualFold(p[:len("/webhooks")], "/webhooks") {
			return
		}
		s.metrics.ObserveWebhook(e.WebhookID, status, elapsed)
		switch e.Cause {
		case "", "error", "timeout", "crash", "shutdown":
		default:
			s.metrics.Rejected(e.Cause)
			s.publishRejected(c, e, status)
		}
	}}
	if s.cfg.AccessLog {
		cfg.Logger = s.log
	}
	return cfg
}

// observeJob turns the job queue's events into metrics: jobs ended by
// state, their attempts and time from first start to end, and callback
// deliveries by outcome.
func (s *Server) observeJob() func(jobs.Event) {
	var mu sync.Mutex
	started := map[string]time.Time{} // first start of the jobs running here
	return func(ev jobs.Event) {
		if ev.Kind == jobs.EventStarted || ev.Kind == jobs.EventFinished {
			s.live.Publish(&live.Event{Type: "job", Data: api.JobEvent{JobID: ev.JobID, State: strings.ToLower(string(ev.State)), Attempt: ev.Attempt, At: ev.At}})
		}
		switch ev.Kind {
		case jobs.EventStarted:
			mu.Lock()
			if _, ok := started[ev.JobID]; !ok {
				started[ev.JobID] = ev.At
			}
			mu.Unlock()
		case jobs.EventFinished:
			mu.Lock()
			t0, ok := started[ev.JobID]
			delete(started, ev.JobID)
			mu.Unlock()
			var elapsed time.Duration
			if ok {
				elapsed = ev.At.Sub(t0)
			}
			s.metrics.JobFinished(string(ev.State), ev.Attempt, elapsed)
		case jobs.EventCallback:
			s.metrics.Callback(ev.Outcome)
		}
	}
}

// jobStates reads the job counts for the metrics.
func (s *Server) jobStates() (map[string]int, time.Duration, error) {
	if s.jobs == nil {
		return nil, 0, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, age, err := s.jobs.Counts(ctx)
	out := make(map[string]int, len(counts))
	for st, n := range counts {
		out[string(st)] = n
	}
	return out, age, err
}

// maxWatchers bounds the event streams open at once (GET /api/v1/events).
const maxWatchers = 64

// publishRecords hands request records just written to the live event
// stream, as the API shows them in a list.
func (s *Server) publishRecords(runs []*store.Run) {
	if s.live.Watchers() == 0 {
		return
	}
	for _, r := range runs {
		s.live.Publish(&live.Event{Type: "request", WebhookID: r.WebhookID, Data: views.Run(r, false, s.redactor)})
	}
}
