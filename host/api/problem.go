package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookhost/hookhost/automations/kata"
)

// ProblemType is the media type of problem answers.
const ProblemType = "application/problem+json"

// Problem is an RFC 9457 problem details body (application/problem+json).
// It is also the error every handler returns: the server's one error
// handler turns it (and any other error) into the answer.
type Problem struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// RunID names the run record of a failed webhook run (or the job).
	RunID string `json:"run_id,omitempty"`
	// Errors lists every validation problem, each with its position.
	Errors []ProblemItem `json:"errors,omitempty"`
}

// ProblemItem is one validation problem.
type ProblemItem struct {
	// Field names what is wrong as the request spells it: "script",
	// "policy_kata", "event_kata", "records[automation_webhook].script".
	Field   string `json:"field,omitempty"`
	Line    int    `json:"line,omitempty"`   // 1-based
	Column  int    `json:"column,omitempty"` // 1-based
	Message string `json:"message"`
}

// Error makes *Problem an error so handlers can return it.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Title)
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	for _, it := range p.Errors {
		b.WriteString("\n  ")
		if it.Field != "" {
			b.WriteString(it.Field)
			if it.Line > 0 {
				fmt.Fprintf(&b, ":%d:%d", it.Line, it.Column)
			}
			b.WriteString(": ")
		}
		b.WriteString(it.Message)
	}
	return b.String()
}

// Add appends items and returns p.
func (p *Problem) Add(items ...ProblemItem) *Problem {
	p.Errors = append(p.Errors, items...)
	return p
}

// Err returns p when it lists problems, else nil: validation collects
// items into a Problem and returns p.Err().
func (p *Problem) Err() error {
	if len(p.Errors) == 0 {
		return nil
	}
	return p
}

// NewProblem builds a Problem with the standard title for status.
func NewProblem(status int, detail string) *Problem {
	return &Problem{Title: http.StatusText(status), Status: status, Detail: detail}
}

// Errorf is NewProblem with a formatted detail.
func Errorf(status int, format string, args ...any) *Problem {
	return NewProblem(status, fmt.Sprintf(format, args...))
}

// Validation returns an empty 400 "validation failed" Problem to collect
// items into.
func Validation() *Problem { return NewProblem(http.StatusBadRequest, "validation failed") }

// Invalid builds a 400 Problem listing the diagnostics found in field.
func Invalid(field string, err error) *Problem {
	return Validation().Add(Items(field, err)...)
}

// InvalidField builds a 400 Problem with one message about field.
func InvalidField(field, msg string) *Problem {
	return Validation().Add(ProblemItem{Field: field, Message: msg})
}

// Items turns KATA diagnostics (or any error) into problem items of field.
func Items(field string, err error) []ProblemItem {
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
	var p *Problem
	if errors.As(err, &p) && len(p.Errors) > 0 {
		return p.Errors
	}
	return []ProblemItem{{Field: field, Message: err.Error()}}
}
