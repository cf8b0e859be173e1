package admin

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/schedule"
)

func (a *Admin) scheduleRoutes() []route {
	return []route{
		{fiber.MethodGet, "/schedules", a.listSchedules},
		{fiber.MethodPost, "/schedules", a.createSchedule},
		{fiber.MethodGet, "/schedules/:name", a.getSchedule},
		{fiber.MethodPatch, "/schedules/:name", a.patchSchedule},
		{fiber.MethodDelete, "/schedules/:name", a.deleteSchedule},
		{fiber.MethodPost, "/schedules/:name/pause", a.pauseSchedule},
		{fiber.MethodPost, "/schedules/:name/resume", a.resumeSchedule},
		{fiber.MethodGet, "/schedules/:name/jobs", a.listScheduleJobs},
		{fiber.MethodGet, "/schedules/:name/signing-secret", a.getScheduleSecret},
		{fiber.MethodPost, "/schedules/:name/signing-secret", a.rotateScheduleSecret},
	}
}

// nextRunsShown is how many next runs GET /schedules/{name} lists.
const nextRunsShown = 5

// schedules returns the scheduler, or a 503 problem when it is not running.
func (a *Admin) schedules() (*schedule.Scheduler, error) {
	if a.cfg.Schedules == nil {
		return nil, api.NewProblem(http.StatusServiceUnavailable, "schedules are not running")
	}
	return a.cfg.Schedules, nil
}

// scheduleView is a schedule as the API shows it, its times in its time
// zone; with next, its next runs too.
func scheduleView(sc *schedule.Schedule, next int) api.Schedule {
	loc, err := schedule.LoadTimeZone(sc.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	in := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := t.In(loc)
		return &v
	}
	v := api.Schedule{Name: sc.Name, Description: sc.Description, Cron: sc.Cron, TimeZone: sc.TimeZone,
		Automation: sc.Automation, Inputs: sc.Inputs, Job: api.ScheduleJob(sc.Job), Enabled: sc.Enabled,
		MissedRuns: sc.Missed, NextRunAt: in(sc.NextRunAt), LastRunAt: in(sc.LastRunAt), LastJobID: sc.LastJobID,
		MissedCount: sc.MissedCount, Owner: sc.Owner, CreatedAt: sc.CreatedAt, UpdatedAt: sc.UpdatedAt}
	if v.Inputs == nil {
		v.Inputs = []byte("null")
	}
	if next > 0 {
		v.NextRuns = schedule.NextRuns(sc, next)
	}
	return v
}

func (a *Admin) listSchedules(c *fiber.Ctx) error {
	s, err := a.schedules()
	if err != nil {
		return err
	}
	list, err := s.List(c.UserContext())
	if err != nil {
		return err
	}
	out := api.ScheduleList{Schedules: make([]api.Schedule, 0, len(list))}
	for _, sc := range list {
		out.Schedules = append(out.Schedules, scheduleView(sc, 0))
	}
	return c.JSON(out)
}

// createSchedule saves a schedule (201 with its Location); 400 lists every
// problem, 409 names a schedule that exists.
func (a *Admin) createSchedule(c *fiber.Ctx) error {
	s, err := a.schedules()
	if err != nil {
		return err
	}
	var in api.ScheduleInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	sc, err := s.Create(c.UserContext(), &schedule.Schedule{Name: in.Name, Description: in.Description, Cron: in.Cron,
		TimeZone: in.TimeZone, Automation: in.Automation, Inputs: in.Inputs, Job: schedule.JobOptions(in.Job),
		Enabled: in.Enabled == nil || *in.Enabled, Missed: in.MissedRuns})
	if err != nil {
		return err
	}
	c.Location("/api/v1/schedules/" + sc.Name)
	return c.Status(fiber.StatusCreated).JSON(scheduleView(sc, nextRunsShown))
}

// getSchedule shows a schedule and its next runs.
func (a *Admin) getSchedule(c *fiber.Ctx) error {
	s, err := a.schedules()
	if err != nil {
		return err
	}
	sc, err := s.Get(c.UserContext(), c.Params("name"))
	if err != nil {
		return err
	}
	return c.JSON(scheduleView(sc, nextRunsShown))
}

func (a *Admin) patchSchedule(c *fiber.Ctx) error {
	s, err := a.schedules()
	if err != nil {
		return err
	}
	var in api.SchedulePatch
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p := schedule.Patch{Description: in.Description, Cron: in.Cron, TimeZone: in.TimeZone, Automation: in.Automation,
		Inputs: in.Inputs, Enabled: in.Enabled, Missed: in.MissedRuns}
	if in.Job != nil {
		o := schedule.JobOptions(*in.Job)
		p.Job = &o
	}
	if err := a.checkScheduleOwner(c, s); err != nil {
		return err
	}
	sc, err := s.Update(c.UserContext(), c.Params("name"), p)
	if err != nil {
		return err
	}
	return c.JSON(scheduleView(sc, nextRunsShown))
}

func (a *Admin) deleteSchedule(c *fiber.Ctx) error {
	s, err := a.schedules()
	if err != nil {
		return err
	}
	if err := a.checkScheduleOwner(c, s); err != nil {
		return err
	}
	if err := s.Delete(c.UserContext(), c.Params("name")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// checkScheduleOwner refuses (409 naming the file) to change a schedule
// a manifest owns, unless ?force=true.
func (a *Admin) checkScheduleOwner(c *fiber.Ctx, s *schedule.Scheduler) error {
	sc, err := s.Get(c.UserContext(), c.Params("name"))
	if err != nil {
		return err
	}
	return catalog.CheckOwner(c.UserContext(), "schedule", sc.Name, sc.Owner)
}

func (a *Admin) pauseSchedule(c *fiber.Ctx) error { return a.setScheduleEnabled(c, false) }

// resumeSchedule starts a paused schedule again from its first tick after
// now (the ticks it slept through are not run).
func (a *Admin) resumeSchedule(c *fiber.Ctx) error { return a.setScheduleEnabled(c, true) }

func (a *Admin) setScheduleEnabled(c *fiber.Ctx, enabled bool) error {
	s, err := a.schedules()
	if err != nil {
		return err
	}
	if err := a.checkScheduleOwner(c, s); err != nil {
		return err
	}
	sc, err := s.SetEnabled(c.UserContext(), c.Params("name"), enabled)
	if err != nil {
		return err
	}
	return c.JSON(scheduleView(sc, nextRunsShown))
}

// listScheduleJobs lists the jobs of a schedule, newest first (those of a
// deleted schedule too, while their records are kept).
func (a *Admin) listScheduleJobs(c *fiber.Ctx) error {
	return a.jobList(c, jobs.Filter{Schedule: c.Params("name")})
}

// getScheduleSecret shows the secret a schedule's job completion callbacks
// are signed with (made on first use).
func (a *Admin) getScheduleSecret(c *fiber.Ctx) error { return a.scheduleSecret(c, false) }

// rotateScheduleSecret makes a new callback signing secret for a schedule
// and shows it.
func (a *Admin) rotateScheduleSecret(c *fiber.Ctx) error { return a.scheduleSecret(c, true) }

func (a *Admin) scheduleSecret(c *fiber.Ctx, rotate bool) error {
	s, err := a.schedules()
	if err != nil {
		return err
	}
	q, err := a.queue()
	if err != nil {
		return err
	}
	name := c.Params("name")
	if _, err := s.Get(c.UserContext(), name); err != nil {
		return err
	}
	secret, err := q.SigningSecret(c.UserContext(), jobs.SigningKey("", jobs.ScheduleHandler(name)), rotate)
	if err != nil {
		return err
	}
	return c.JSON(api.ScheduleSigningSecret{Schedule: name, SigningSecret: secret})
}
