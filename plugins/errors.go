package plugins

import (
	"context"
	"errors"
)

// Code is the machine-readable kind of an Error. It survives the process
// boundary, so the host can branch on it.
type Code string

// Error codes.
const (
	// CodeScript: the automation failed (error: command, unhandled failure).
	CodeScript Code = "script"
	// CodePolicy: the policy denied a command.
	CodePolicy Code = "policy"
	// CodeCompile: the script or policy is invalid.
	CodeCompile Code = "compile"
	// CodeLimit: a limit (time, steps, value size) ended the run.
	CodeLimit Code = "limit"
	// CodeInputs: the inputs are not what the trigger or command accepts.
	CodeInputs Code = "inputs"
	// CodeNotFound: no such trigger, command, function, key or secret.
	CodeNotFound Code = "not_found"
	// CodeUnsupported: the host or extension does not provide this.
	CodeUnsupported Code = "unsupported"
	// CodeCanceled: the call's context ended.
	CodeCanceled Code = "canceled"
	// CodeHost: a host callback failed.
	CodeHost Code = "host"
	// CodeInternal: a bug, e.g. a panic in a handler.
	CodeInternal Code = "internal"
	// CodeUnavailable: the extension process is shutting down (it received
	// SIGTERM) and refused the call without starting it; the host may run
	// it again on another process.
	CodeUnavailable Code = "unavailable"
)

// Error is an error with a machine-readable code. It is the error type that
// crosses the process boundary intact.
type Error struct {
	Code    Code
	Message string
	At      string // where it happened, e.g. a node id; may be empty
}

func (e *Error) Error() string {
	if e.At != "" {
		return string(e.Code) + ": " + e.Message + " (at " + e.At + ")"
	}
	return string(e.Code) + ": " + e.Message
}

// AsError converts err into an *Error: an *Error in err's chain is returned
// as it is, context errors become CodeCanceled, anything else becomes
// fallback with err's text. It returns nil for a nil err.
func AsError(err error, fallback Code) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeCanceled, Message: err.Error()}
	}
	return &Error{Code: fallback, Message: err.Error()}
}
