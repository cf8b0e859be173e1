package pongo2

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

var reIdentifiers = regexp.MustCompile("^[a-zA-Z0-9_]+$")

var autoescape = true

func SetAutoescape(newValue bool) {
	autoescape = newValue
}

// A Context type provides constants, variables, instances or functions to a template.
//
// pongo2 automatically provides meta-information or functions through the "pongo2"-key.
// Currently, context["pongo2"] contains the following keys:
//  1. version: returns the version string
//
// Template examples for accessing items from your context:
//
//	{{ myconstant }}
//	{{ myfunc("test", 42) }}
//	{{ user.name }}
//	{{ pongo2.version }}
type Context map[string]any

func (c Context) checkForValidIdentifiers() *Error {
	for k, v := range c {
		if !reIdentifiers.MatchString(k) {
			return &Error{
				Sender:    "checkForValidIdentifiers",
				OrigError: fmt.Errorf("context-key '%s' (value: '%+v') is not a valid identifier", k, v),
			}
		}
	}
	return nil
}

// Update updates this context with the key/value-pairs from another context.
func (c Context) Update(other Context) Context {
	for k, v := range other {
		c[k] = v
	}
	return c
}

// ExecutionContext contains all data important for the current rendering state.
//
// If you're writing a custom tag, your tag's Execute()-function will
// have access to the ExecutionContext. This struct stores anything
// about the current rendering process's Context including
// the Context provided by the user (field Public).
// You can safely use the Private context to provide data to the user's
// template (like a 'forloop'-information). The Shared-context is used
// to share data between tags. All ExecutionContexts share this context.
//
// Please be careful when accessing the Public data.
// PLEASE DO NOT MODIFY THE PUBLIC CONTEXT (read-only).
//
// To create your own execution context within tags, use the
// NewChildExecutionContext(parent) function.
type ExecutionContext struct {
	template *Template

	Autoescape bool
	Public     Context
	Private    Context
	Shared     Context

	// hookhost patch (see PATCHES.md): Root is consulted after Private and
	// before Public when a variable's first part is resolved; Limits bounds
	// the render; Format, when set, prints {{ }} values.
	Root   OrderedMap
	Limits *Limits
	Format func(*Value) string
}

// Limits bounds one render (hookhost patch). A Limits value belongs to one
// render (it is not safe for concurrent use) and is shared by all the
// render's child contexts.
type Limits struct {
	// Steps is the budget of loop iterations and arrow-function calls:
	// Step spends one and fails once it goes below zero.
	Steps int64
	// MaxString caps the length of a string built with "+" (0: no cap).
	MaxString int
	// MaxBytes caps the bytes Alloc may account for (0: no cap).
	MaxBytes int64
	// MaxDepth caps the nesting of arrow-function calls (0: no cap).
	MaxDepth int
	// Deadline, when not zero, ends the render: Step (every 16 steps) and
	// Check fail once it has passed.
	Deadline time.Time
	// Done, when not nil, ends the render once it is closed (a context's
	// Done channel); it is polled where Deadline is checked.
	Done <-chan struct{}
	// State is the embedder's per-render state, for the filters and
	// functions that receive the ExecutionContext.
	State any
	// Err is the first limit the render ran into (see Fail); once it is
	// set, Step, Check and Alloc return it.
	Err error
	// Used is the number of bytes accounted for by Alloc.
	Used int64

	depth int
	ticks uint
}

// The errors Limits records; an embedder maps them to its own messages.
var (
	ErrStepLimit   = errors.New("template loop limit exceeded")
	ErrStringLimit = errors.New("string too long")
	ErrMemoryLimit = errors.New("template memory limit exceeded")
	ErrDepthLimit  = errors.New("arrow functions nested too deeply")
	ErrTimeLimit   = errors.New("template time limit exceeded")
	ErrCanceled    = errors.New("template render canceled")
)

// Fail records err as the limit the render ran into, unless an earlier one
// was recorded, and returns the recorded error. A nil Limits returns err.
func (l *Limits) Fail(err error) error {
	if l == nil {
		return err
	}
	if l.Err == nil {
		l.Err = err
	}
	return l.Err
}

// Step spends one step of the budget; every 16 steps it also checks the
// deadline and cancellation. A nil Limits never fails.
func (l *Limits) Step() error {
	if l == nil {
		return nil
	}
	if l.Err != nil {
		return l.Err
	}
	l.Steps--
	if l.Steps < 0 {
		return l.Fail(ErrStepLimit)
	}
	l.ticks++
	if l.ticks&15 == 0 {
		return l.Check()
	}
	return nil
}

// Check fails when the render has hit a limit, passed its deadline or been
// canceled. A nil Limits never fails.
func (l *Limits) Check() error {
	if l == nil {
		return nil
	}
	if l.Err != nil {
		return l.Err
	}
	if l.Done != nil {
		select {
		case <-l.Done:
			return l.Fail(ErrCanceled)
		default:
		}
	}
	if !l.Deadline.IsZero() && time.Now().After(l.Deadline) {
		return l.Fail(ErrTimeLimit)
	}
	return nil
}

// Alloc accounts for n bytes built by the render and fails once more than
// MaxBytes have been built. A nil Limits never fails.
func (l *Limits) Alloc(n int64) error {
	if l == nil {
		return nil
	}
	if l.Err != nil {
		return l.Err
	}
	l.Used += n
	if l.MaxBytes > 0 && l.Used > l.MaxBytes {
		return l.Fail(ErrMemoryLimit)
	}
	return nil
}

// enter starts an arrow-function call: it spends a step and checks the
// nesting; leave ends the call.
func (l *Limits) enter() error {
	if l == nil {
		return nil
	}
	if err := l.Step(); err != nil {
		return err
	}
	if l.MaxDepth > 0 && l.depth >= l.MaxDepth {
		return l.Fail(ErrDepthLimit)
	}
	l.depth++
	return nil
}

func (l *Limits) leave() {
	if l != nil {
		l.depth--
	}
}

// step spends one loop iteration of the budget.
func (ctx *ExecutionContext) step() error {
	return ctx.Limits.Step()
}

var pongo2MetaContext = Context{
	"version": Version,
}

func newExecutionContext(tpl *Template, ctx Context) *ExecutionContext {
	privateCtx := make(Context)

	// Make the pongo2-related funcs/vars available to the context
	privateCtx["pongo2"] = pongo2MetaContext

	return &ExecutionContext{
		template: tpl,

		Public:     ctx,
		Private:    privateCtx,
		Autoescape: autoescape,
	}
}

func NewChildExecutionContext(parent *ExecutionContext) *ExecutionContext {
	newctx := &ExecutionContext{
		template: parent.template,

		Public:     parent.Public,
		Private:    make(Context),
		Autoescape: parent.Autoescape,
		Root:       parent.Root,
		Limits:     parent.Limits,
		Format:     parent.Format,
	}
	newctx.Shared = parent.Shared

	// Copy all existing private items
	newctx.Private.Update(parent.Private)

	return newctx
}

func (ctx *ExecutionContext) Error(msg string, token *Token) *Error {
	return ctx.OrigError(errors.New(msg), token)
}

func (ctx *ExecutionContext) OrigError(err error, token *Token) *Error {
	filename := ctx.template.name
	var line, col int
	if token != nil {
		// No tokens available
		// TODO: Add location (from where?)
		filename = token.Filename
		line = token.Line
		col = token.Col
	}
	return &Error{
		Template:  ctx.template,
		Filename:  filename,
		Line:      line,
		Column:    col,
		Token:     token,
		Sender:    "execution",
		OrigError: err,
	}
}

func (ctx *ExecutionContext) Logf(format string, args ...any) {
	ctx.template.set.logf(format, args...)
}
