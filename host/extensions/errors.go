package extensions

import (
	"errors"
	"fmt"
)

// Sentinel errors, for branching with errors.Is.
var (
	// ErrCrashed: the extension process died (or was killed as hung) while
	// it held the run. The server answers 502; a job is retried.
	ErrCrashed = errors.New("extensions: extension process crashed")
	// ErrNotFound: no extension provides the trigger or command.
	ErrNotFound = errors.New("extensions: no extension provides it")
	// ErrChecksum: a third-party binary does not match its checksum and was
	// refused.
	ErrChecksum = errors.New("extensions: checksum mismatch")
	// ErrClosed: the manager is closed.
	ErrClosed = errors.New("extensions: manager closed")
	// ErrStartTimeout: an extension process did not complete its handshake
	// and Describe within StartTimeout (a wrapper script that forks instead
	// of exec-ing the extension, a binary that is not an extension); it was
	// killed with its process group.
	ErrStartTimeout = errors.New("extensions: extension did not start in time")
)

// RunError is how a Run or RunCommand through the manager failed. Err is
// ErrCrashed, ErrClosed, context.DeadlineExceeded (the run's deadline
// passed: 504), context.Canceled, a *StartError (the extension could not be
// started) or the extension's own *plugins.Error; match it with errors.Is
// and errors.As.
type RunError struct {
	Extension string // extension name
	Pid       int    // process that held the call, 0 if none
	Err       error
}

func (e *RunError) Error() string {
	if e.Pid != 0 {
		return fmt.Sprintf("extension %q (pid %d): %v", e.Extension, e.Pid, e.Err)
	}
	return fmt.Sprintf("extension %q: %v", e.Extension, e.Err)
}

// Unwrap returns Err.
func (e *RunError) Unwrap() error { return e.Err }

// StartError is why an extension could not be started: a missing binary, a
// checksum mismatch (wraps ErrChecksum), a wrong handshake, no handshake in
// time (wraps ErrStartTimeout), a failed Describe.
type StartError struct {
	Extension string
	Path      string // the binary
	Err       error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("start extension %q (%s): %v", e.Extension, e.Path, e.Err)
}

// Unwrap returns Err.
func (e *StartError) Unwrap() error { return e.Err }
