package admin

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/dispatch"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/views"
)

func (a *Admin) jobRoutes() []route {
	return []route{
		{fiber.MethodGet, "/jobs", a.listJobs},
		{fiber.MethodGet, "/jobs/:id", a.getJob},
		{fiber.MethodGet, "/jobs/:id/logs", a.getJobLogs},
		{fiber.MethodPost, "/jobs/:id/cancel", a.cancelJob},
		{fiber.MethodPost, "/jobs/:id/retry", a.retryJob},
		{fiber.MethodGet, "/webhooks/:id/signing-secret", a.getSigningSecret},
		{fiber.MethodPost, "/webhooks/:id/signing-secret", a.rotateSigningSecret},
	}
}

// queue returns the job queue, or a 503 problem when it is not running.
func (a *Admin) queue() (*jobs.Queue, error) {
	if a.cfg.Jobs == nil {
		return nil, api.NewProblem(http.StatusServiceUnavailable, "the job queue is not running")
	}
	return a.cfg.Jobs, nil
}

func jobNotFound(err error, id string) error {
	if errors.Is(err, jobs.ErrNotFound) {
		return api.Errorf(http.StatusNotFound, "no job %q", id)
	}
	return err
}

func (a *Admin) listJobs(c *fiber.Ctx) error {
	return a.jobList(c, jobs.Filter{WebhookID: c.Query("webhook")})
}

// jobList answers a page of the jobs f selects, with the request's state,
// cursor and limit parameters added to it.
func (a *Admin) jobList(c *fiber.Ctx, f jobs.Filter) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	f.Cursor = c.Query("cursor")
	if st := c.Query("state"); st != "" {
		state, ok := jobs.ParseState(st)
		if !ok {
			return api.NewProblem(http.StatusBadRequest, "state must be one of Queued, Running, Retrying, Completed, Failed, Stopped")
		}
		f.State = state
	}
	if f.Limit, err = limitParam(c); err != nil {
		return err
	}
	list, next, err := q.List(c.UserContext(), f)
	if errors.Is(err, jobs.ErrBadCursor) {
		return api.NewProblem(http.StatusBadRequest, "cursor is not one this API returned")
	}
	if err != nil {
		return err
	}
	out := api.JobList{Jobs: make([]api.Job, 0, len(list)), NextCursor: next}
	for _, j := range list {
		out.Jobs = append(out.Jobs, views.Job(j, views.JobRow, a.red))
	}
	return c.JSON(out)
}

func (a *Admin) getJob(c *fiber.Ctx) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	j, err := q.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return jobNotFound(err, c.Params("id"))
	}
	return c.JSON(views.Job(j, views.JobFull, a.red))
}

func (a *Admin) getJobLogs(c *fiber.Ctx) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	j, err := q.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return jobNotFound(err, c.Params("id"))
	}
	return c.JSON(views.Streams(j.Log, a.red))
}

func (a *Admin) cancelJob(c *fiber.Ctx) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	j, err := q.Cancel(c.UserContext(), c.Params("id"), 5*time.Second)
	if errors.Is(err, jobs.ErrFinished) {
		return api.NewProblem(http.StatusConflict, fmt.Sprintf("job %q has already ended (%s)", j.ID, j.State))
	}
	if err != nil {
		return jobNotFound(err, c.Params("id"))
	}
	return c.JSON(views.Job(j, views.JobFull, a.red))
}

func (a *Admin) retryJob(c *fiber.Ctx) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	res, err := q.Retry(c.UserContext(), c.Params("id"))
	switch {
	case errors.Is(err, jobs.ErrNotFinished):
		return api.NewProblem(http.StatusConflict, "the job has not ended yet; cancel it first")
	case errors.Is(err, jobs.ErrInputsGone):
		return api.NewProblem(http.StatusGone, "the job's inputs are no longer kept (job retention); it cannot be retried")
	case errors.Is(err, jobs.ErrArgsUnreadable):
		return api.NewProblem(http.StatusConflict, "the job's stored arguments could not be read (the job failed for it); it cannot be retried")
	case err != nil:
		return jobNotFound(err, c.Params("id"))
	}
	return dispatch.Accepted(c, res.JobID, "/api/v1/jobs/")
}

// getSigningSecret shows the secret a webhook's job completion callbacks
// are signed with (made on first use).
func (a *Admin) getSigningSecret(c *fiber.Ctx) error { return a.signingSecret(c, false) }

// rotateSigningSecret makes a new callback signing secret for a webhook and
// shows it; callbacks signed with the old one stop verifying.
func (a *Admin) rotateSigningSecret(c *fiber.Ctx) error { return a.signingSecret(c, true) }

func (a *Admin) signingSecret(c *fiber.Ctx, rotate bool) error {
	q, err := a.queue()
	if err != nil {
		return err
	}
	id := c.Params("id")
	if _, err := a.cat.GetWebhook(c.UserContext(), id); err != nil {
		return err
	}
	secret, err := q.SigningSecret(c.UserContext(), id, rotate)
	if err != nil {
		return err
	}
	return c.JSON(api.SigningSecret{WebhookID: id, SigningSecret: secret})
}
