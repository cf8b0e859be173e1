package host

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/store"
)

// errorHandler is the one place where errors become HTTP answers: a
// *api.Problem as it is, a Fiber error with its status, anything else as a
// logged 500. Every answer is problem+json, redacted: no secret value,
// admin token or webhook token reaches a caller through an error.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var p *api.Problem
	switch {
	case errors.As(err, &p):
		red := *p
		red.Detail = s.redactor.Redact(p.Detail)
		red.Errors = make([]api.ProblemItem, len(p.Errors))
		for i, it := range p.Errors {
			it.Message = s.redactor.Redact(it.Message)
			red.Errors[i] = it
		}
		p = &red
	default:
		var fe *fiber.Error
		if errors.As(err, &fe) {
			msg := fe.Message
			if fe.Code == fiber.StatusBadRequest && msg != utils.StatusMessage(fe.Code) {
				// fasthttp's parse errors quote the raw request, which may hold
				// a webhook token or a signature: say what happened, not what
				// was sent.
				msg = "the request is not valid HTTP"
			}
			p = api.NewProblem(fe.Code, s.redactor.Redact(msg))
		} else {
			switch {
			case errors.Is(err, store.ErrStorageFull):
				s.log.Error("request failed: the disk is full", "path", c.Path(), "error", err)
				p = api.NewProblem(http.StatusInsufficientStorage, "the server's storage is full; nothing was changed")
			case errors.Is(err, store.ErrInvalid):
				p = api.NewProblem(http.StatusBadRequest, "a name or id holds bytes it may not (NUL or invalid UTF-8)")
			default:
				s.log.Error("request failed", "path", c.Path(), "error", err)
				p = api.NewProblem(http.StatusInternalServerError, "internal error")
			}
		}
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" {
		// A webhook's path holds its token, which an answer never repeats.
		p.Instance = redact.Tokens(string(c.Request().URI().Path()))
	}
	c.Status(p.Status)
	return c.JSON(p, api.ProblemType)
}
