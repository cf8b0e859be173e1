package automations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookhost/hookhost/templates/dict"
)

// runner is the state of one Run.
type runner struct {
	p        *Program
	ctx      context.Context
	rt       Runtime
	data     *dict.Map
	env      evalEnv
	res      *Result
	now      func() time.Time
	start    time.Time
	deadline time.Time
	steps    int
	kept     keptBytes // what the run's writes keep (Limits.RunBytes)
	logBytes int
	logFull  bool
	done     bool
	cur      string // id of the node being run (for log lines)
	// jump is set by simulate.success:/simulate.error: until the command
	// whose on_simulate: holds them takes it.
	jump            *simJump
	sideEffectsFull bool
	simulatedNodes  map[*node]bool
}

// cmdError is a command failure that on_error: can catch. extra holds
// fields merged into the output next to "error" (http.request's response).
type cmdError struct {
	msg   string
	extra *dict.Map
}

func (e *cmdError) Error() string { return e.msg }

func cmdErrorf(format string, args ...any) *cmdError {
	return &cmdError{msg: fmt.Sprintf(format, args...)}
}

// noOutput is the result of a command that leaves its output: key as it
// is (var.expand).
type noOutput struct{}

// errStopped reports that a limit ended the run inside a command.
var errStopped = errors.New("run stopped")

// Run interprets the program. inputs is the trigger's dictionary (for
// webhooks the keys of WebhookInputs); the handler's fixed inputs, if any,
// are under the key "inputs" and are checked against the script's inputs:
// declarations. inputs is not modified. Run honours ctx between nodes and
// inside http.request, enforces the limits, and never panics: an internal
// failure ends the run in ExitError.
func (p *Program) Run(ctx context.Context, inputs *dict.Map, rt Runtime) *Result {
	return p.run(ctx, inputs, rt, false)
}

// RunOwned is Run for a caller that gives inputs up: the run's dictionary
// is inputs itself rather than a copy, so the run modifies it and the
// Result may hold it (through the values the script returns). The caller
// must not read or keep inputs after the call; it is for inputs decoded
// for this run alone (an extension's decoded Invocation.Inputs).
func (p *Program) RunOwned(ctx context.Context, inputs *dict.Map, rt Runtime) *Result {
	return p.run(ctx, inputs, rt, true)
}

// run is Run, on inputs itself when own is set.
func (p *Program) run(ctx context.Context, inputs *dict.Map, rt Runtime, own bool) (res *Result) {
	if ctx == nil {
		ctx = context.Background()
	}
	res = &Result{Exit: ExitExit}
	// The runner is reused: nothing keeps it past the run (the Result
	// holds none of it), and it goes back to the pool emptied.
	r, _ := p.runners.Get().(*runner)
	if r == nil {
		r = new(runner)
	}
	r.p, r.ctx, r.rt, r.res, r.now = p, ctx, rt, res, rt.Now
	if r.now == nil {
		r.now = time.Now
	}
	defer func() {
		if v := recover(); v != nil {
			res.Exit = ExitError
			res.Return = nil
			res.Error = fmt.Sprintf("internal error: %v", v)
			res.ErrorAt = r.cur
		}
		res.Steps = r.steps
		byKey := r.kept.pooled()
		*r = runner{}
		r.kept.byKey = byKey
		p.runners.Put(r)
	}()
	r.start = time.Now()
	r.deadline = runDeadline(ctx, r.start, p.limits.Time, p.ownTime)
	if own && inputs != nil {
		r.data = inputs
	} else {
		r.data = dict.New(inputs.Len() + p.dataRoom)
		inputs.Range(func(k string, v any) bool {
			r.data.Set(k, v)
			return true
		})
	}
	r.env = evalEnv{annEnv: annEnv{data: r.data, now: r.now}, log: r, ctx: ctx}
	if len(p.inputs) > 0 || r.data.Has("inputs") {
		given, _ := r.data.Value("inputs").(*dict.Map)
		if raw := r.data.Value("inputs"); raw != nil && given == nil {
			r.fail("", "the automation's inputs must be a dictionary")
			return res
		}
		validated, err := r.validateInputs(given)
		if err != nil {
			r.fail("", err.Error())
			return res
		}
		r.data.Set("inputs", validated)
	}
	r.exec(p.start)
	return res
}

// exec runs nodes in order. It returns true when the run has ended.
func (r *runner) exec(nodes []*node) bool {
	for _, n := range nodes {
		// A limit hit while evaluating a command's values (a template
		// limit) ends the run even when the command itself goes on.
		if r.activate(n) || r.run(n) || r.done {
			return true
		}
	}
	return false
}

// activate counts a node activation and checks the limits and ctx. It
// returns true when the run must stop.
func (r *runner) activate(n *node) bool {
	r.cur = n.id
	r.steps++
	if r.steps > r.p.limits.Steps {
		r.limit("steps", n.id, fmt.Sprintf("step limit of %d node activations reached", r.p.limits.Steps))
		return true
	}
	return r.checkTime(n.id)
}

// checkTime ends the run when the time limit passed or ctx is done.
func (r *runner) checkTime(at string) bool {
	if err := r.ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			r.limit("time", at, fmt.Sprintf("execution timed out after %dms (the caller's deadline)", time.Since(r.start).Milliseconds()))
		} else {
			r.limit("", at, "execution cancelled: "+err.Error())
		}
		return true
	}
	if time.Now().After(r.deadline) {
		r.limit("time", at, fmt.Sprintf("execution timed out after %dms", r.p.limits.Time.Milliseconds()))
		return true
	}
	return false
}

// limit ends the run because a limit was hit.
func (r *runner) limit(kind, at, msg string) {
	if r.done {
		return
	}
	r.done = true
	r.res.Exit = ExitError
	r.res.Return = nil
	r.res.Error = msg
	r.res.ErrorAt = at
	r.res.Limit = kind
}

// fail ends the run in the error state.
func (r *runner) fail(at, msg string) bool {
	if r.done {
		return true
	}
	r.done = true
	r.res.Exit = ExitError
	r.res.Error = msg
	r.res.ErrorAt = at
	return true
}

// scriptError logs a template runtime error; the value becomes false.
func (r *runner) scriptError(msg string) {
	r.log(3, r.cur, msg)
}

// crash ends the run at the current node: a value Cerb cannot take.
func (r *runner) crash(msg string) {
	r.fail(r.cur, msg)
}

// templateLimit ends the run at the current node: a render went past one
// of the template limits.
func (r *runner) templateLimit(kind, msg string) {
	r.limit(kind, r.cur, msg)
}

// log appends to the run log, up to the log size limit.
func (r *runner) log(level int, at, msg string) {
	if r.logFull {
		return
	}
	size := len(msg) + len(at) + 8
	if r.logBytes+size > r.p.limits.LogBytes {
		r.logFull = true
		r.res.Log = append(r.res.Log, LogEntry{Level: 4, Node: at, Message: fmt.Sprintf("log limit of %d bytes reached; later entries dropped", r.p.limits.LogBytes)})
		return
	}
	r.logBytes += size
	r.res.Log = append(r.res.Log, LogEntry{Level: level, Node: at, Message: msg})
}

// checkSize ends the run when v is larger than the value limit.
func (r *runner) checkSize(at string, v any) bool {
	_, over := r.sized(at, v)
	return over
}

// run performs one activated node. It returns true when the run has ended.
func (r *runner) run(n *node) bool {
	switch n.kind {
	case kDecision:
		for _, o := range n.outcomes {
			if o.cond == nil || truthy(r.eval(o.cond)) {
				if r.activate(o) {
					return true
				}
				return r.exec(o.body)
			}
		}
		return false
	case kOutcome:
		if n.cond == nil || truthy(r.eval(n.cond)) {
			return r.exec(n.body)
		}
		return false
	case kRepeat:
		return r.repeat(n)
	case kWhile:
		return r.while(n)
	default:
		if n.cmd.exec != nil {
			return n.cmd.exec(r, n)
		}
		return r.action(n)
	}
}

// eval renders v in the automation dictionary (template errors are logged).
func (r *runner) eval(v *value) any {
	if v == nil {
		return nil
	}
	out, _, _ := v.eval(&r.env)
	return out
}

// asReturn makes a return value a dictionary ({"": v} for a scalar).
func asReturn(v any) *dict.Map {
	if m, ok := v.(*dict.Map); ok {
		return m
	}
	if v == nil {
		return dict.New(0)
	}
	return dict.Of("", v)
}

func (r *runner) doReturn(n *node) bool {
	v := r.eval(n.val)
	if r.done || r.checkSize(n.id, v) {
		return true
	}
	r.done = true
	r.res.Exit = ExitReturn
	r.res.Return = asReturn(v)
	return true
}

func (r *runner) doError(n *node) bool {
	v := r.eval(n.val)
	if r.done {
		return true
	}
	msg := ""
	var extra *dict.Map
	switch t := v.(type) {
	case *dict.Map:
		msg = toString(t.Value("_message"))
		if t.Len() > 0 {
			extra = dict.New(t.Len())
			t.Range(func(k string, x any) bool {
				if k != "_message" {
					extra.Set(k, x)
				}
				return true
			})
			if extra.Len() == 0 {
				extra = nil
			}
		}
	default:
		msg = toString(t)
	}
	if strings.TrimSpace(msg) == "" {
		msg = "An unexpected error occurred."
	}
	r.fail(n.id, msg)
	r.res.Return = extra
	return true
}

func (r *runner) set(n *node) bool {
	for _, c := range n.val.children {
		v, keep, _ := c.eval(&r.env)
		if r.done {
			return true
		}
		if !keep {
			continue
		}
		if r.storeValue(n.id, c.key, c.phpArray(v)) {
			return true
		}
	}
	return false
}

// repeat runs n as Cerb's RepeatNode does. `as:` must be text: "item"
// sets item and item__index, "k, v" sets the key and the value (an empty
// name is not set); no name, or more than two, runs nothing. `each:` that
// is not a list or dictionary runs nothing. The as variables are removed
// afterwards.
func (r *runner) repeat(n *node) bool {
	each := r.eval(n.each)
	asv := r.eval(n.as)
	if r.done {
		return true
	}
	as, isText := asv.(string)
	switch {
	case asv == nil:
		return r.fail(n.id, "`as:` is required.")
	case !isText:
		return r.fail(n.id, "`as:` must be a string.")
	}
	var keyName, valName string
	if as != "" {
		names := strings.Split(as, ",")
		for i := range names {
			names[i] = phpTrim(names[i])
		}
		switch len(names) {
		case 1:
			keyName, valName = names[0]+"__index", names[0]
		case 2:
			keyName, valName = names[0], names[1]
		}
	}
	if valName == "" {
		return false
	}
	pass := func(k, v any) bool {
		if keyName != "" && r.store(n.id, keyName, k, costOf(k, 0)) {
			return true
		}
		return r.store(n.id, valName, v, costOf(v, r.p.limits.RunBytes)) || r.exec(n.body)
	}
	ended := false
	switch t := each.(type) {
	case []any:
		for i, v := range t {
			if i > 0 && r.activate(n) {
				return true
			}
			if pass(int64(i), v) {
				ended = true
				break
			}
		}
	case *dict.Map:
		first := true
		t.Range(func(k string, v any) bool {
			if !first && r.activate(n) {
				ended = true
				return false
			}
			first = false
			var key any = k
			if i, ok := dict.PHPIntKey(k); ok {
				key = i // PHP array keys that look like integers are integers
			}
			if pass(key, v) {
				ended = true
				return false
			}
			return true
		})
	}
	if ended {
		return true
	}
	if keyName != "" {
		r.forget(keyName)
	}
	r.forget(valName)
	return false
}

// while runs n as Cerb's WhileNode does: `if:` is evaluated before every
// command of `do:` (the node is activated again each time a child
// returns), so the loop ends as soon as it turns false, even mid-body; a
// `do:` without commands ends the loop after one true check.
func (r *runner) while(n *node) bool {
	for first := true; ; {
		for i := 0; i == 0 || i < len(n.body); i++ {
			if !first && r.activate(n) {
				return true
			}
			first = false
			ok, ended := r.whileCond(n)
			if ended {
				return true
			}
			if !ok || len(n.body) == 0 {
				return false
			}
			c := n.body[i]
			if r.activate(c) || r.run(c) || r.done {
				return true
			}
		}
	}
}

// whileCond evaluates while's `if:`: text goes through toBool, a boolean
// is used as it is, anything else (or nothing) fails the run.
func (r *runner) whileCond(n *node) (ok, ended bool) {
	v := r.eval(n.cond)
	if r.done {
		return false, true
	}
	switch t := v.(type) {
	case bool:
		return t, false
	case string:
		return toBool(t), false
	case nil:
		return false, r.fail(n.id, "`if:` is required.")
	default:
		return false, r.fail(n.id, "`if:` must be a boolean `true` or `false`.")
	}
}

// action runs a command that takes inputs:/output: and may have
// on_success:/on_error: (spec §2.5).
func (r *runner) action(n *node) bool {
	var in *dict.Map
	if n.inputs != nil {
		switch t := r.eval(n.inputs).(type) {
		case *dict.Map:
			in = t
		case nil:
		default:
			return r.handle(n, "", nil, cmdErrorf("inputs: must be a dictionary"))
		}
	}
	if in == nil {
		in = dict.New(0)
	}
	outName := ""
	if n.output != nil {
		outName = strings.TrimSpace(toString(r.eval(n.output)))
	}
	if r.done {
		return true // a value Cerb cannot take ended the run
	}
	if r.simulates(n) {
		return r.simulate(n, in, outName)
	}
	if n.cmd.Policy {
		if cerr := r.checkPolicy(n, in, outName); cerr != nil {
			return r.handle(n, outName, nil, cerr)
		}
	}
	out, err := n.cmd.run(r, n, in)
	return r.handle(n, outName, out, err)
}

// handle finishes a command: store output, run on_success:/on_error:, or
// end the run on an unhandled failure.
func (r *runner) handle(n *node, outName string, out any, err error) bool {
	if r.done || errors.Is(err, errStopped) {
		return true
	}
	if err != nil {
		var ce *cmdError
		msg := err.Error()
		if errors.As(err, &ce) {
			msg = ce.msg
		}
		if !n.hasOnError {
			return r.fail(n.id, msg)
		}
		if outName != "" {
			// Cerb: the command's results (http.request's response and
			// url), then error.
			em := dict.New(1)
			if ce != nil && ce.extra != nil {
				ce.extra.Range(func(k string, v any) bool {
					em.Set(k, v)
					return true
				})
			}
			em.Set("error", msg)
			if r.store(n.id, outName, em, costOf(em, r.p.limits.RunBytes)) {
				return true
			}
		}
		r.log(3, n.id, msg)
		return r.exec(n.onError)
	}
	if _, none := out.(noOutput); outName != "" && !none {
		if r.storeValue(n.id, outName, out) {
			return true
		}
	}
	if n.hasOnSuccess {
		return r.exec(n.onSuccess)
	}
	return false
}

// checkPolicy applies the policy to a side-effect command (spec §6).
func (r *runner) checkPolicy(n *node, in *dict.Map, outName string) *cmdError {
	data := dict.New(4)
	data.Set("node", dict.Of("id", n.id, "type", n.name))
	data.Set("inputs", in)
	data.Set("output", outName)
	if n.cmd.URI {
		data.Set("uri", toString(r.eval(n.uri)))
	}
	if r.p.policy.allows(n.name, data, &r.env) {
		return nil
	}
	if n.cmd.deny != "" {
		return &cmdError{msg: n.cmd.deny}
	}
	return cmdErrorf("The automation policy does not allow this command (%s).", n.name)
}

// runDeadline is when a run started at start must end: after limit when
// the policy (or the options) set it (own), else at the caller's deadline
// (a webhook's request timeout, a job attempt's timeout_ms), else after the
// default limit. The caller's deadline is enforced besides, through ctx:
// the earlier one ends the run.
func runDeadline(ctx context.Context, start time.Time, limit time.Duration, own bool) time.Time {
	if d, ok := ctx.Deadline(); ok && !own {
		return d
	}
	return start.Add(limit)
}
