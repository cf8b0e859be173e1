package packages

import (
	"strings"
)

// Error is one problem found in a package. UID names the record ("#3" for
// the third record when it has no uid) and is empty for package-level
// problems; Field names the record field or the package setting.
type Error struct {
	UID   string
	Field string
	Msg   string
	// Err is the underlying error (from JSON decoding, the template engine
	// or the Validator), kept so callers can inspect it with errors.As.
	Err error
}

// Error formats the problem. A record field problem reads
// "record (<uid>) field <field>: <message>"; other problems read as their
// message alone.
func (e *Error) Error() string {
	msg := e.Msg
	switch {
	case msg == "" && e.Err != nil:
		msg = e.Err.Error()
	case e.Err != nil:
		msg += ": " + e.Err.Error()
	}
	if e.UID != "" && e.Field != "" {
		return "record (" + e.UID + ") field " + e.Field + ": " + msg
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in a package. It is the error type returned
// by [Import]; each problem is on its own line.
type Errors []*Error

// Error joins the problems, one a line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the problems, so errors.As can reach an underlying error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// FieldError lets a [Validator] attribute a problem to a record field other
// than the default one (for example "policy_kata" instead of "script").
type FieldError struct {
	Field string
	Err   error
}

// Error returns the message of the underlying error.
func (e *FieldError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }
