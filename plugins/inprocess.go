package plugins

import (
	"context"
	"fmt"
	"runtime/debug"
)

// InProcess returns an Extension that calls ext in the calling goroutine,
// with the behaviour of the process boundary: a panic becomes an *Error with
// CodeInternal, errors other than *Error become *Error (CodeInternal, or
// CodeCanceled for context errors), Describe fills in ProtocolVersion, and a
// nil Host becomes NoHost. The host uses it to run an extension without a
// process (tests, and measuring the cost of the process hop). ext must honour
// ctx: nothing can stop a call that ignores it.
func InProcess(ext Extension) Extension { return inProcess{ext} }

type inProcess struct{ ext Extension }

var _ Extension = inProcess{}

func recovered(err *error) {
	if r := recover(); r != nil {
		*err = &Error{Code: CodeInternal, Message: fmt.Sprintf("extension panicked: %v\n%s", r, debug.Stack())}
	}
}

func (p inProcess) Describe(ctx context.Context) (d Description, err error) {
	defer recovered(&err)
	d, err = p.ext.Describe(ctx)
	if err != nil {
		return Description{}, AsError(err, CodeInternal)
	}
	if d.ProtocolVersion == 0 {
		d.ProtocolVersion = ProtocolVersion
	}
	return d, nil
}

func (p inProcess) Run(ctx context.Context, inv Invocation, host Host) (out Outcome, err error) {
	defer recovered(&err)
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	if inv.Deadline.IsZero() {
		inv.Deadline, _ = ctx.Deadline()
	}
	if host == nil {
		host = NoHost{}
	}
	inv.InputsReleased = nil // the caller's, not the extension's
	out, err = p.ext.Run(ctx, inv, host)
	if err != nil {
		return Outcome{}, AsError(err, CodeInternal)
	}
	return out, nil
}

func (p inProcess) RunCommand(ctx context.Context, call CommandCall, host Host) (out []byte, err error) {
	defer recovered(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if host == nil {
		host = NoHost{}
	}
	out, err = p.ext.RunCommand(ctx, call, host)
	if err != nil {
		return nil, AsError(err, CodeInternal)
	}
	return out, nil
}
