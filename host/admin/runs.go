package admin

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/views"
)

func (a *Admin) runRoutes() []route {
	return []route{
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
	rs, err := a.cat.Store().ListRuns(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := api.RunList{Runs: make([]api.Run, 0, len(rs))}
	for _, r := range rs {
		out.Runs = append(out.Runs, views.Run(r, false, a.red))
	}
	return c.JSON(out)
}

func (a *Admin) getRun(c *fiber.Ctx) error {
	r, err := a.cat.Store().GetRun(c.UserContext(), c.Params("id"))
	if err != nil {
		return catalog.NotFound(err, "run", c.Params("id"))
	}
	return c.JSON(views.Run(r, true, a.red))
}
