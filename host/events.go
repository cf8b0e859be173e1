package host

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/dispatch"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/reqlog"
	"github.com/hookhost/hookhost/host/schedule"
)

// startSchedules starts the scheduler over the job queue (every server
// sharing the database runs one; each tick still queues one job). It
// stops before the queue: closers run in reverse.
func (s *Server) startSchedules(ctx context.Context) error {
	sc, err := schedule.New(schedule.Config{DB: s.store.DB(), Dialect: s.store.Dialect(), Queue: s.jobs,
		Automations: s.catalog, Redactor: s.redactor, Commands: s.ext.Commands, Logger: s.log})
	if err != nil {
		return fmt.Errorf("schedules: %w", err)
	}
	sc.Start(ctx)
	s.schedules = sc
	s.closers = append(s.closers, sc.Close)
	return nil
}

// publishRejected publishes a webhook.request.rejected event for a request
// to a known webhook that was refused before any automation ran (e.Cause
// is one of the access log's refusals). Events nobody subscribed to cost
// nothing; dropped ones (past the publish rate) are counted by the queue.
func (s *Server) publishRejected(c *fiber.Ctx, e *reqlog.Entry, status int) {
	if e.WebhookID == "" || s.jobs == nil {
		return
	}
	_ = s.jobs.Publish(jobs.Publication{Type: jobs.EventWebhookRequestRejected, WebhookID: e.WebhookID,
		Data: jobs.RejectedRequest{WebhookID: e.WebhookID, RequestID: e.ID, Status: status, Cause: e.Cause,
			Reason: e.Reason, Method: c.Method(), ClientIP: dispatch.ClientIP(c, s.cfg.TrustedProxies)}})
}
