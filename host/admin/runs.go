package admin

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/views"
)

// runRoutes serve the request records: every request to a known webhook,
// refused ones included (/runs is the same list under its older name).
func (a *Admin) runRoutes() []route {
	return []route{
		{fiber.MethodGet, "/requests", a.listRuns},
		{fiber.MethodGet, "/requests/:id", a.getRun},
		{fiber.MethodPost, "/requests/:id/replay", a.replay},
		{fiber.MethodGet, "/runs", a.listRuns},
		{fiber.MethodGet, "/runs/:id", a.getRun},
	}
}

// limitParam reads ?limit= (1 to 500; 0 when absent).
func limitParam(c *fiber.Ctx) (int, error) {
	l := c.Query("limit")
	if l == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > 500 {
		return 0, api.NewProblem(http.StatusBadRequest, "limit must be a number from 1 to 500")
	}
	return n, nil
}

// isRunID reports whether s is a run id as the API shows it: a UUID in
// its canonical form (8-4-4-4-12 hex digits).
func isRunID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

func (a *Admin) listRuns(c *fiber.Ctx) error {
	f := store.RunFilter{WebhookID: c.Query("webhook"), BeforeID: c.Query("before")}
	if f.BeforeID != "" && !isRunID(f.BeforeID) {
		return api.InvalidField("before", fmt.Sprintf("before must be a run id as this API shows it (the id of the last run of the previous page), e.g. before=0190b1a4-0000-7000-8000-0000000000bb (got %q)", f.BeforeID))
	}
	n, err := limitParam(c)
	if err != nil {
		return err
	}
	f.Limit = n
	if err := runFilters(c, &f); err != nil {
		return err
	}
	if a.cfg.Dispatch != nil {
		a.cfg.Dispatch.ReadYourRuns(c.UserContext())
	}
	page, err := a.cat.Store().ListRunsPage(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := api.RunList{Runs: make([]api.Run, 0, len(page.Runs)), NextBefore: page.NextBefore, Searched: page.Searched}
	if c.QueryBool("count") {
		n, err := a.cat.Store().CountRuns(c.UserContext(), f, api.MaxRunCount)
		if err != nil {
			return err
		}
		out.Total, out.TotalMore = &n, n > api.MaxRunCount
		if out.TotalMore {
			*out.Total = api.MaxRunCount
		}
	}
	for _, r := range page.Runs {
		out.Runs = append(out.Runs, views.Run(r, false, a.red))
	}
	return c.JSON(out)
}

func (a *Admin) getRun(c *fiber.Ctx) error {
	var (
		r   *store.Run
		err error
	)
	if a.cfg.Dispatch != nil {
		r, err = a.cfg.Dispatch.Run(c.UserContext(), c.Params("id"))
	} else {
		r, err = a.cat.Store().GetRun(c.UserContext(), c.Params("id"))
	}
	if err != nil {
		return catalog.NotFound(err, "run", c.Params("id"))
	}
	return c.JSON(views.Run(r, true, a.red))
}

// runFilters reads the list filters: ?status=4xx (a status class),
// ?cause=verify ("-": not refused), ?since= and ?until= (RFC 3339), ?q=
// (text in the stored request: headers, parameters, body; one page reads
// at most store.DefaultSearchBudget records).
func runFilters(c *fiber.Ctx, f *store.RunFilter) error {
	if st := c.Query("status"); st != "" {
		if len(st) != 3 || st[0] < '1' || st[0] > '5' || (st[1:] != "xx" && st[1:] != "XX") {
			return api.InvalidField("status", fmt.Sprintf("status must be a status class such as 2xx, 4xx or 5xx (got %q)", st))
		}
		f.StatusClass = int(st[0] - '0')
	}
	f.Cause = c.Query("cause")
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return api.InvalidField(p.name, fmt.Sprintf("%s must be an RFC 3339 time, e.g. %s=2027-01-02T15:04:05Z (got %q)", p.name, p.name, v))
			}
			*p.t = t
		}
	}
	if q := c.Query("q"); len(q) > 256 {
		return api.InvalidField("q", "q must be at most 256 bytes")
	} else {
		f.Search = q
	}
	return nil
}

// replay sends a recorded request again through its webhook's current
// configuration (limits and verify blocks skipped; credentials stay
// redacted as recorded) and answers with the new record and what the
// webhook answered.
func (a *Admin) replay(c *fiber.Ctx) error {
	res, err := a.cfg.Dispatch.Replay(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	out := api.Replay{RecordID: res.RecordID, Problem: res.Problem}
	if res.Answer != nil {
		r := &api.JobResponse{Status: res.Answer.Status, Headers: a.red.Headers(res.Answer.Headers)}
		if r.Headers == nil {
			r.Headers = [][2]string{}
		}
		if utf8.Valid(res.Answer.Body) {
			r.Body = a.red.Redact(string(res.Answer.Body))
		} else {
			r.BodyBase64 = base64.StdEncoding.EncodeToString(res.Answer.Body)
		}
		out.Response = r
	}
	if out.Problem != nil {
		p := *out.Problem
		p.Detail = a.red.Redact(p.Detail)
		out.Problem = &p
	}
	return c.JSON(out)
}
