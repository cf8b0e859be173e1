package automations

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates"
)

// Program is a compiled automation: the validated node tree with every
// template precompiled, the policy and the limits. A Program is immutable and
// safe for concurrent use by any number of Run calls.
type Program struct {
	name   string
	start  []*node
	inputs []*inputDecl
	policy *policy
	limits Limits
	// ownTime reports a time limit set by the options or the policy; the
	// default one applies only to runs whose caller sets no deadline.
	ownTime bool
	env     *templates.Env
	// dataRoom is how many keys beyond the inputs a run's dictionary
	// has room for from the start (newKeys).
	dataRoom int
	// runners holds the *runner of finished runs for the next ones.
	runners sync.Pool
}

// Name is the automation name the program was compiled from.
func (p *Program) Name() string { return p.name }

// InputDecl describes one input the script declares in its `inputs:` block.
type InputDecl struct {
	Name       string
	Kind       string // text, array, record or records
	Required   bool
	HasDefault bool
}

// Inputs lists the script's declared inputs, in order.
func (p *Program) Inputs() []InputDecl {
	out := make([]InputDecl, len(p.inputs))
	for i, d := range p.inputs {
		out[i] = InputDecl{Name: d.name, Kind: d.kind, Required: d.required, HasDefault: d.def != nil}
	}
	return out
}

// Limits are the effective limits of a run (defaults filled in, the policy's
// time limit applied).
func (p *Program) Limits() Limits { return p.limits }

// DefaultLimits fills the zero fields of l with the defaults.
func DefaultLimits(l Limits) Limits {
	if l.Time <= 0 {
		l.Time = defaultTimeLimit
	}
	if l.Steps <= 0 {
		l.Steps = defaultSteps
	}
	if l.ValueBytes <= 0 {
		l.ValueBytes = defaultValueBytes
	}
	if l.RunBytes <= 0 {
		l.RunBytes = defaultRunBytes
	}
	if l.LogBytes <= 0 {
		l.LogBytes = defaultLogBytes
	}
	return l
}

// compiler holds the state of one Compile call.
type compiler struct {
	env       *templates.Env
	diags     Diagnostics
	webhook   bool
	extension map[string]bool
	vc        *valueCompiler
	// simulating is the command whose on_simulate: block is being
	// compiled (the innermost one), nil outside such a block.
	simulating *node
}

// Compile parses and validates src (script and policy) and returns the
// program. Every problem is reported at once: the error is Diagnostics, each
// with its Source ("script" or "policy") and line:col. opts.Templates is
// required.
func Compile(src Source, opts Options) (*Program, error) {
	if opts.Templates == nil {
		return nil, errors.New("automations: compile: Options.Templates is required")
	}
	c := &compiler{
		env:       opts.Templates,
		webhook:   src.Trigger == "" || IsWebhookTrigger(src.Trigger),
		extension: make(map[string]bool, len(opts.Commands)),
	}
	for _, name := range opts.Commands {
		c.extension[name] = true
	}
	c.vc = &valueCompiler{env: c.env, source: "script", diags: &c.diags}
	p := &Program{name: src.Name, env: c.env, limits: DefaultLimits(opts.Limits)}

	doc, err := kata.Parse("script", src.Script)
	if err != nil {
		c.addParseError("script", err)
	}
	if doc != nil && doc.Root != nil {
		p.start, p.inputs = c.compileScript(doc.Root)
		c.checkSyntax(c.vc, doc.Root, false)
	}
	if strings.TrimSpace(src.Policy) != "" {
		pdoc, err := kata.Parse("policy", src.Policy)
		if err != nil {
			c.addParseError("policy", err)
		}
		if pdoc != nil && pdoc.Root != nil {
			p.policy = c.compilePolicy(pdoc.Root)
			c.checkSyntax(&valueCompiler{env: c.env, source: "policy", diags: &c.diags}, pdoc.Root, false)
		}
	}
	if p.policy == nil {
		p.policy = &policy{}
	}
	p.ownTime = opts.Limits.Time > 0
	if p.policy.timeLimit > 0 {
		p.limits.Time = p.policy.timeLimit
		p.ownTime = true
	}
	if len(c.diags) > 0 {
		sortDiagnostics(c.diags)
		return nil, c.diags
	}
	p.dataRoom = newKeys(p.start, 0)
	if len(p.inputs) > 0 {
		p.dataRoom++
	}
	p.dataRoom = min(p.dataRoom, maxDataRoom)
	return p, nil
}

// maxDataRoom is the most room a run's dictionary is given for keys its
// script adds (past it, the dictionary grows as it goes).
const maxDataRoom = 8

// newKeys estimates how many top-level keys nodes may add to a run's
// dictionary: the keys of set:, two for repeat:'s variables, one for the
// other commands but return:, error: and log:. It is only a
// capacity hint; it stops counting past maxDataRoom.
func newKeys(nodes []*node, n int) int {
	for _, nd := range nodes {
		if n > maxDataRoom {
			return n
		}
		switch {
		case nd.name == "set" && nd.val != nil:
			n += len(nd.val.children)
		case nd.kind == kRepeat:
			n += 2 // its as: variables
		case nd.kind == kCommand && nd.name != "return" && nd.name != "error" && nd.name != "log":
			n++
		}
		n = newKeys(nd.onSuccess, n)
		n = newKeys(nd.onError, n)
		n = newKeys(nd.onSimulate, n)
		n = newKeys(nd.body, n)
		n = newKeys(nd.outcomes, n)
	}
	return n
}

// addParseError records a kata.Parse failure.
func (c *compiler) addParseError(source string, err error) {
	var es kata.Errors
	var e *kata.Error
	switch {
	case errors.As(err, &es):
		for _, x := range es {
			if x.Source == "" {
				x.Source = source
			}
			c.diags = append(c.diags, x)
		}
	case errors.As(err, &e):
		if e.Source == "" {
			e.Source = source
		}
		c.diags = append(c.diags, e)
	default:
		c.diags = append(c.diags, &Diagnostic{Source: source, Pos: kata.Pos{Line: 1, Col: 1}, Msg: err.Error()})
	}
}

// sortDiagnostics orders diagnostics by source (script first), line, column.
func sortDiagnostics(ds Diagnostics) {
	rank := func(s string) int {
		switch s {
		case "script":
			return 0
		case "policy":
			return 1
		}
		return 2
	}
	less := func(a, b *Diagnostic) bool {
		if rank(a.Source) != rank(b.Source) {
			return rank(a.Source) < rank(b.Source)
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Col < b.Pos.Col
	}
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && less(ds[j], ds[j-1]); j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

func (c *compiler) errorf(pos kata.Pos, format string, args ...any) {
	c.vc.errorf(pos, format, args...)
}

// compileScript validates the top level (spec §2.1).
func (c *compiler) compileScript(root *kata.Node) ([]*node, []*inputDecl) {
	var start []*node
	var inputs []*inputDecl
	found := false
	for _, top := range root.Children {
		switch top.Key {
		case "start":
			found = true
			if len(top.Annotations) > 0 {
				c.errorf(top.Pos, "Annotations are not allowed on `start:`")
			}
			if top.Kind != kata.Object {
				c.errorf(top.Pos, "`start:` must hold commands")
				continue
			}
			start = c.compileBlock(top, "start:")
		case "inputs":
			inputs = c.compileInputs(top)
		default:
			c.errorf(top.Pos, "Unexpected command `%s:`. Expected `start:`", top.Key)
		}
	}
	if !found {
		c.errorf(kata.Pos{Line: 1, Col: 1}, "No `start:` node was found")
	}
	return start, inputs
}

// compileBlock compiles the commands under parent (start:, then:, do:,
// on_success:, on_error:). prefix is the parent's node id.
func (c *compiler) compileBlock(parent *kata.Node, prefix string) []*node {
	if parent.Kind != kata.Object {
		c.errorf(parent.Pos, "`%s` must hold commands", prefix)
		return nil
	}
	nodes := make([]*node, 0, len(parent.Children))
	for _, k := range parent.Children {
		if n := c.compileNode(k, prefix); n != nil {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// command returns the table entry that the command type t of a script
// names: a command hookhost runs, else a command an extension provides,
// else nil.
func (c *compiler) command(t string) *commandDef {
	if d := lookupCommand(t); d != nil && d.Supported {
		return d
	}
	if c.extension[t] {
		return &extensionCommand
	}
	return nil
}

// compileNode compiles one command or flow node.
func (c *compiler) compileNode(k *kata.Node, prefix string) *node {
	id := prefix + k.Key + ":"
	t := k.Type()
	if d := lookupCommand(t); d != nil && d.refused != "" {
		c.errorf(k.Pos, "`%s:` %s (`%s`)", t, d.refused, id)
		return nil
	}
	def := c.command(t)
	if def == nil {
		c.errorf(k.Pos, "Unexpected command `%s`", id)
		return nil
	}
	n := &node{kind: def.flow, cmd: def, id: id, name: t, pos: k.Pos}
	if len(k.Annotations) > 0 && !(def.keyAnnotation && len(k.Annotations) == 1 && k.Annotations[0] == "key") {
		c.errorf(k.Pos, "Annotations other than `return@key` are not allowed on commands (`%s`)", id)
	}
	switch def.flow {
	case kDecision:
		c.compileDecision(n, k)
	case kOutcome:
		c.compileOutcome(n, k)
	case kRepeat:
		c.compileRepeat(n, k)
	case kWhile:
		c.compileWhile(n, k)
	default:
		if def.compile != nil {
			def.compile(c, n, k)
		} else {
			c.compileAction(n, k)
		}
	}
	return n
}

// compileAction compiles a FormAction command: inputs:, output:, uri: and
// on_*: checked against the command's table entry.
func (c *compiler) compileAction(n *node, k *kata.Node) {
	def := n.cmd
	if k.Kind != kata.Object {
		c.errorf(k.Pos, "`%s` must hold its parameters (inputs:, output:, ...)", n.id)
		return
	}
	for _, p := range k.Children {
		switch p.Key {
		case "inputs":
			n.inputs = c.vc.compile(p, false)
			if p.Kind == kata.Object && !p.HasAnnotation("raw") && def.Inputs != nil {
				for _, in := range p.Children {
					switch pi := def.input(in.Key); {
					case pi == nil:
						c.errorf(in.Pos, "Unknown input `%s:` for `%s`; expected one of: %s", in.Key, n.id, def.inputNames())
					case pi.Refused != "":
						c.errorf(in.Pos, "`%s:` %s (`%s`)", in.Key, pi.Refused, n.id)
					}
				}
				for _, pi := range def.Inputs {
					if pi.Required && p.Child(pi.Name) == nil {
						c.errorf(p.Pos, "`inputs:%s:` is required for `%s`", pi.Name, n.id)
					}
				}
			}
		case "output":
			if p.Kind == kata.Object || strings.TrimSpace(p.Value) == "" {
				c.errorf(p.Pos, "`output:` must be a key name")
				continue
			}
			n.output = c.vc.compile(p, false)
		case "uri":
			if !def.URI {
				c.errorf(p.Pos, "Unexpected key `%s:` in `%s`", p.Key, n.id)
				continue
			}
			n.uri = c.vc.compile(p, false)
		case "on_success":
			n.onSuccess = c.compileBlock(p, n.id+"on_success:")
			n.hasOnSuccess = true
		case "on_error":
			n.onError = c.compileBlock(p, n.id+"on_error:")
			n.hasOnError = true
		case "on_simulate":
			n.onSimulate, n.simulateErr = c.compileSimulate(n, p)
			n.hasOnSimulate = true
		default:
			c.errorf(p.Pos, "Unexpected key `%s:` in `%s`", p.Key, n.id)
		}
	}
	if def.OutputRequired && n.output == nil {
		c.errorf(k.Pos, "`output:` is required for `%s`", n.id)
	}
	if def.URI && n.uri == nil {
		c.errorf(k.Pos, "`uri:` is required for `%s`", n.id)
	}
	if n.inputs == nil && slices.ContainsFunc(def.Inputs, func(p ParamInfo) bool { return p.Required }) {
		c.errorf(k.Pos, "`inputs:` is required for `%s`", n.id)
	}
}

// compileSimulate compiles the on_simulate: block of n, run instead of n
// in a simulated run (a dry run). Before dry runs existed hookhost accepted
// these blocks unchecked, so a problem in one does not refuse the script:
// it is returned as text, and a simulated run logs it instead of running
// the block. An empty block runs nothing.
func (c *compiler) compileSimulate(n *node, k *kata.Node) ([]*node, string) {
	if k.Kind != kata.Object && strings.TrimSpace(k.Value) == "" {
		return nil, ""
	}
	diags := c.vc.diags
	mark := len(*diags)
	outer := c.simulating
	c.simulating = n
	nodes := c.compileBlock(k, n.id+"on_simulate:")
	c.simulating = outer
	if len(*diags) == mark {
		return nodes, ""
	}
	mine := (*diags)[mark:]
	sortDiagnostics(mine)
	msg := mine[0].Error()
	if len(mine) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(mine)-1)
	}
	*diags = (*diags)[:mark]
	return nil, msg
}

// compileSimulated compiles simulate.success: and simulate.error:, which
// only an on_simulate: block may hold (Cerb fails them at run time
// elsewhere; hookhost refuses them when the script is saved).
func compileSimulated(c *compiler, n *node, k *kata.Node) {
	if c.simulating == nil {
		c.errorf(k.Pos, "The `%s:` command must occur within `on_simulate:` (`%s`)", n.name, n.id)
		return
	}
	n.simulateOf = c.simulating
	n.val = c.vc.compile(k, false)
}

func (c *compiler) compileDecision(n *node, k *kata.Node) {
	if k.Kind != kata.Object {
		c.errorf(k.Pos, "`%s` must hold `outcome:` nodes", n.id)
		return
	}
	for _, o := range k.Children {
		if o.Type() != "outcome" {
			c.errorf(o.Pos, "Unexpected command `%s%s:`. Expected `outcome:`", n.id, o.Key)
			continue
		}
		on := &node{kind: kOutcome, cmd: lookupCommand("outcome"), id: n.id + o.Key + ":", name: "outcome", pos: o.Pos}
		if len(o.Annotations) > 0 {
			c.errorf(o.Pos, "Annotations other than `return@key` are not allowed on commands (`%s`)", on.id)
		}
		c.compileOutcome(on, o)
		n.outcomes = append(n.outcomes, on)
	}
}

func (c *compiler) compileOutcome(n *node, k *kata.Node) {
	if k.Kind != kata.Object {
		c.errorf(k.Pos, "`%s` must hold `if:` and `then:`", n.id)
		return
	}
	for _, p := range k.Children {
		switch p.Key {
		case "if":
			n.cond = c.vc.compile(p, false)
		case "then":
			n.body = c.compileBlock(p, n.id+"then:")
		default:
			c.errorf(p.Pos, "Unexpected key `%s:` in `%s`; expected %s", p.Key, n.id, n.cmd.expectedKeys())
		}
	}
}

func (c *compiler) compileRepeat(n *node, k *kata.Node) {
	if k.Kind != kata.Object {
		c.errorf(k.Pos, "`%s` requires `each:`, `as:` and `do:`", n.id)
		return
	}
	var hasDo bool
	for _, p := range k.Children {
		switch p.Key {
		case "each":
			n.each = c.vc.compile(p, false)
		case "as":
			if p.Kind == kata.Object {
				c.errorf(p.Pos, "as: must be a string.")
				continue
			}
			n.as = c.vc.compile(p, false)
		case "do":
			hasDo = true
			n.body = c.compileBlock(p, n.id+"do:")
		default:
			c.errorf(p.Pos, "Unexpected key `%s:` in `%s`; expected %s", p.Key, n.id, n.cmd.expectedKeys())
		}
	}
	if n.each == nil {
		c.errorf(k.Pos, "each: is required (`%s`)", n.id)
	}
	if n.as == nil && k.Child("as") == nil {
		c.errorf(k.Pos, "as: is required. (`%s`)", n.id)
	}
	if !hasDo {
		c.errorf(k.Pos, "do: is required (`%s`)", n.id)
	}
}

func (c *compiler) compileWhile(n *node, k *kata.Node) {
	if k.Kind != kata.Object {
		c.errorf(k.Pos, "`%s` requires `if:` and `do:`", n.id)
		return
	}
	var hasDo bool
	for _, p := range k.Children {
		switch p.Key {
		case "if":
			n.cond = c.vc.compile(p, false)
		case "do":
			hasDo = true
			n.body = c.compileBlock(p, n.id+"do:")
		default:
			c.errorf(p.Pos, "Unexpected key `%s:` in `%s`; expected %s", p.Key, n.id, n.cmd.expectedKeys())
		}
	}
	if n.cond == nil {
		c.errorf(k.Pos, "if: is required (`%s`)", n.id)
	}
	if !hasDo {
		c.errorf(k.Pos, "do: is required (`%s`)", n.id)
	}
}

// String describes the program for debugging.
func (p *Program) String() string {
	return fmt.Sprintf("automation %q (%d top-level nodes)", p.name, len(p.start))
}

// checkSyntax reports template syntax errors in the values hookhost does
// not compile: under @raw and in on_simulate: blocks. Cerb checks the
// Twig syntax of every value of a script and policy that holds "{{" or
// "{%" when it is saved (kata.php validate), rendered or not. Errors that
// only say hookhost lacks a filter, function or construct are left to the
// renderer that would need it.
func (c *compiler) checkSyntax(vc *valueCompiler, n *kata.Node, unchecked bool) {
	for _, ch := range n.Children {
		un := unchecked || ch.HasAnnotation("raw") || ch.Key == "on_simulate"
		if ch.Kind != kata.Object {
			if un && (strings.Contains(ch.Value, "{{") || strings.Contains(ch.Value, "{%")) {
				if _, err := c.env.Compile(ch.Value); err != nil && !hookhostLimit(err) {
					vc.templateError(ch, err)
				}
			}
			continue
		}
		c.checkSyntax(vc, ch, un)
	}
}

// hookhostLimit reports whether a template compile error is about what
// hookhost's template engine lacks rather than invalid Twig.
func hookhostLimit(err error) bool {
	msg := err.Error()
	for _, s := range [...]string{"not available in hookhost", "not supported", "unknown filter", "unknown function", "unknown test", "unknown tag"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
