package host

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/hookhost/hookhost/automations/kata"
)

// Problem is an RFC 9457 problem details body (application/problem+json).
type Problem struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// RunID names the run record of a failed webhook run.
	RunID string `json:"run_id,omitempty"`
	// Errors lists every validation problem, each with its position.
	Errors []ProblemItem `json:"errors,omitempty"`
}

// ProblemItem is one validation problem.
type ProblemItem struct {
	Field   string `json:"field,omitempty"`  // "script", "policy_kata", "event_kata", "records[automation_webhook].script"
	Line    int    `json:"line,omitempty"`   // 1-based
	Column  int    `json:"column,omitempty"` // 1-based
	Message string `json:"message"`
}

// Error makes *Problem an error so handlers can return it.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

// problem builds a Problem with the standard title for status.
func problem(status int, detail string) *Problem {
	return &Problem{Title: http.StatusText(status), Status: status, Detail: detail}
}

// invalid builds a 400 Problem listing the diagnostics found in field.
func invalid(field string, err error) *Problem {
	p := problem(fiber.StatusBadRequest, "validation failed")
	p.Errors = append(p.Errors, problemItems(field, err)...)
	return p
}

// problemItems turns kata/automation diagnostics (or any error) into items.
func problemItems(field string, err error) []ProblemItem {
	var kes kata.Errors
	if errors.As(err, &kes) {
		items := make([]ProblemItem, 0, len(kes))
		for _, e := range kes {
			items = append(items, ProblemItem{Field: field, Line: e.Pos.Line, Column: e.Pos.Col, Message: e.Msg})
		}
		return items
	}
	var ke *kata.Error
	if errors.As(err, &ke) {
		return []ProblemItem{{Field: field, Line: ke.Pos.Line, Column: ke.Pos.Col, Message: ke.Msg}}
	}
	return []ProblemItem{{Field: field, Message: err.Error()}}
}

// writeProblem sends p as application/problem+json.
func writeProblem(c *fiber.Ctx, p *Problem) error {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" {
		// A webhook's path holds its token, which an answer never repeats.
		p.Instance = tokenRE.ReplaceAllString(string(c.Request().URI().Path()), "${1}"+redacted)
	}
	c.Status(p.Status)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.JSON(p, "application/problem+json")
}

// errorHandler is the one place where errors become HTTP answers.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var p *Problem
	if errors.As(err, &p) {
		p.Detail = s.redact(p.Detail)
		for i := range p.Errors {
			p.Errors[i].Message = s.redact(p.Errors[i].Message)
		}
		return writeProblem(c, p)
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		if fe.Code == fiber.StatusBadRequest && msg != utils.StatusMessage(fe.Code) {
			// fasthttp's parse errors quote the raw request, which may hold
			// a webhook token or a signature: say what happened, not what
			// was sent.
			msg = "the request is not valid HTTP"
		}
		return writeProblem(c, problem(fe.Code, s.redact(msg)))
	}
	s.log.Error("request failed", "path", c.Path(), "error", err)
	return writeProblem(c, problem(fiber.StatusInternalServerError, "internal error"))
}
