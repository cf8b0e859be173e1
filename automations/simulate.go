package automations

import (
	"fmt"

	"github.com/hookhost/hookhost/templates/dict"
)

// simJump is what simulate.success: or simulate.error: did: the command
// whose on_simulate: block they are in gets value as its output and runs
// its on_success: (ok) or on_error:. Until that command takes it, the
// nodes in between end as a run that ended does.
type simJump struct {
	target *node
	ok     bool
	value  any
}

// simulates reports whether a simulated run stands in for the action
// command n (Runtime.Simulate).
func (r *runner) simulates(n *node) bool {
	return r.rt.Simulate && (n.cmd.Policy || n.hasOnSimulate)
}

// simulate stands in for the action command n in a simulated run, its
// inputs and output name rendered (see Runtime.Simulate). It returns true
// when the run has ended (or a simulate.* command of an enclosing
// command's on_simulate: jumped).
func (r *runner) simulate(n *node, in *dict.Map, outName string) bool {
	if n.cmd.Policy {
		if cerr := r.checkPolicy(n, in, outName); cerr != nil {
			r.sideEffect(SideEffect{Command: n.name, Node: n.id, Denied: true})
			return r.handle(n, outName, nil, cerr)
		}
	}
	r.sideEffect(SideEffect{Command: n.name, Node: n.id, OnSimulate: n.hasOnSimulate})
	first := r.firstSimulation(n)
	switch {
	case !n.hasOnSimulate:
		if first {
			r.log(6, n.id, fmt.Sprintf("simulated: `%s:` did not run, and it has no `on_simulate:`; its output is not set", n.name))
		}
		return false
	case n.simulateErr != "":
		if first {
			r.log(4, n.id, fmt.Sprintf("simulated: `%s:` did not run, and its `on_simulate:` cannot run: %s", n.name, n.simulateErr))
		}
		return false
	}
	if first {
		r.log(6, n.id, fmt.Sprintf("simulated: `%s:` did not run; its `on_simulate:` ran instead", n.name))
	}
	ended := r.exec(n.onSimulate)
	j := r.jump
	if j == nil || j.target != n {
		return ended
	}
	r.jump = nil
	if r.done {
		return true
	}
	if outName != "" {
		v := j.value
		if v == nil {
			v = dict.New(0)
		}
		if r.storeValue(n.id, outName, v) {
			return true
		}
	}
	switch {
	case j.ok && n.hasOnSuccess:
		return r.exec(n.onSuccess)
	case !j.ok && n.hasOnError:
		return r.exec(n.onError)
	}
	return false
}

// simulated runs simulate.success: (ok) or simulate.error: n: the command
// whose on_simulate: holds n takes its rendered value as output and goes
// on from there. It returns true so that the nodes in between stop.
func (r *runner) simulated(n *node, ok bool) bool {
	v := r.eval(n.val)
	if r.done {
		return true
	}
	r.jump = &simJump{target: n.simulateOf, ok: ok, value: v}
	return true
}

// firstSimulation reports whether n is simulated for the first time in
// this run: the log says so once per command, not once per pass of a loop.
func (r *runner) firstSimulation(n *node) bool {
	if r.simulatedNodes == nil {
		r.simulatedNodes = map[*node]bool{}
	}
	if r.simulatedNodes[n] {
		return false
	}
	r.simulatedNodes[n] = true
	return true
}

// sideEffect notes a command a simulated run did not run, up to
// MaxSideEffects.
func (r *runner) sideEffect(se SideEffect) {
	switch {
	case len(r.res.SideEffects) < MaxSideEffects:
		r.res.SideEffects = append(r.res.SideEffects, se)
	case !r.sideEffectsFull:
		r.sideEffectsFull = true
		r.log(4, se.Node, fmt.Sprintf("more than %d simulated commands; later ones are not listed", MaxSideEffects))
	}
}
