package automations

import (
	"errors"
	"fmt"
	"strings"

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
	env    *templates.Env
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
		webhook:   src.Trigger == "" || src.Trigger == TriggerWebhookRespond || src.Trigger == TriggerWebhookRespondStem,
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
	}
	if strings.TrimSpace(src.Policy) != "" {
		pdoc, err := kata.Parse("policy", src.Policy)
		if err != nil {
			c.addParseError("policy", err)
		}
		if pdoc != nil && pdoc.Root != nil {
			p.policy = c.compilePolicy(pdoc.Root)
		}
	}
	if p.policy == nil {
		p.policy = &policy{}
	}
	if p.policy.timeLimit > 0 {
		p.limits.Time = p.policy.timeLimit
	}
	if len(c.diags) > 0 {
		sortDiagnostics(c.diags)
		return nil, c.diags
	}
	return p, nil
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

// commandKind maps a command type to its kind; ok is false for unknown
// commands.
func (c *compiler) commandKind(t string) (nodeKind, bool) {
	switch t {
	case "decision":
		return kDecision, true
	case "outcome":
		return kOutcome, true
	case "repeat":
		return kRepeat, true
	case "while":
		return kWhile, true
	case "return":
		return kReturn, true
	case "error":
		return kError, true
	case "await":
		return kAwait, true
	case "set":
		return kSet, true
	case "var.set":
		return kVarSet, true
	case "var.push":
		return kVarPush, true
	case "var.unset":
		return kVarUnset, true
	case "var.expand":
		return kVarExpand, true
	case "log", "log.warn", "log.error", "log.alert":
		return kLog, true
	case "kata.parse":
		return kKataParse, true
	case "http.request":
		return kHTTP, true
	case "function":
		return kFunction, true
	case "storage.get":
		return kStorageGet, true
	case "storage.set":
		return kStorageSet, true
	case "storage.delete":
		return kStorageDelete, true
	}
	if c.extension[t] {
		return kExtension, true
	}
	return 0, false
}

// knownCommand reports whether t names a command of this compile.
func (c *compiler) knownCommand(t string) bool {
	_, ok := c.commandKind(t)
	return ok
}

// compileNode compiles one command or flow node.
func (c *compiler) compileNode(k *kata.Node, prefix string) *node {
	id := prefix + k.Key + ":"
	t := k.Type()
	kind, ok := c.commandKind(t)
	if !ok {
		c.errorf(k.Pos, "Unexpected command `%s`", id)
		return nil
	}
	n := &node{kind: kind, id: id, name: t, pos: k.Pos}
	if len(k.Annotations) > 0 {
		if kind == kReturn && len(k.Annotations) == 1 && k.Annotations[0] == "key" {
			n.retKey = true
		} else {
			c.errorf(k.Pos, "Annotations other than `return@key` are not allowed on commands (`%s`)", id)
		}
	}
	switch kind {
	case kDecision:
		c.compileDecision(n, k)
	case kOutcome:
		c.compileOutcome(n, k)
	case kRepeat:
		c.compileRepeat(n, k)
	case kWhile:
		c.compileWhile(n, k)
	case kReturn:
		n.val = c.vc.compile(k, false)
	case kAwait:
		if c.webhook {
			c.errorf(k.Pos, "`await:` is not supported by the webhook.respond trigger (`%s`)", id)
		}
		n.val = c.vc.compile(k, false)
	case kError:
		n.val = c.vc.compile(k, false)
	case kSet:
		if k.Kind != kata.Object {
			c.errorf(k.Pos, "`%s` must hold the keys to set", id)
			return n
		}
		n.val = c.vc.compile(k, false)
	case kLog:
		if k.Kind == kata.Object {
			c.errorf(k.Pos, "`%s` must have a message", id)
			return n
		}
		n.val = c.vc.compile(k, false)
		n.level = logLevel(t)
	case kVarExpand:
		// Cerb loads lazy record keys; hookhost has none, so it is a no-op.
	default:
		c.compileAction(n, k)
	}
	return n
}

func logLevel(t string) int {
	switch t {
	case "log.warn":
		return 4
	case "log.error":
		return 3
	case "log.alert":
		return 1
	}
	return 7
}

// actionSpec says which parameters an action takes.
type actionSpec struct {
	inputs       []string // allowed keys under inputs: (nil: any)
	required     []string // required keys under inputs:
	uri          bool
	outputNeeded bool
}

func actionSpecFor(kind nodeKind) actionSpec {
	switch kind {
	case kHTTP:
		return actionSpec{inputs: []string{"url", "method", "headers", "body", "timeout"}, required: []string{"url"}, outputNeeded: true}
	case kKataParse:
		return actionSpec{inputs: []string{"kata", "dict", "schema"}, required: []string{"kata"}, outputNeeded: true}
	case kVarSet:
		return actionSpec{inputs: []string{"key", "value", "delimiter"}, required: []string{"key"}}
	case kVarPush:
		return actionSpec{inputs: []string{"key", "value", "delimiter"}, required: []string{"key"}}
	case kVarUnset:
		return actionSpec{inputs: []string{"key", "delimiter"}, required: []string{"key"}}
	case kStorageGet:
		return actionSpec{inputs: []string{"key", "default"}, required: []string{"key"}}
	case kStorageSet:
		return actionSpec{inputs: []string{"key", "value", "expires"}, required: []string{"key"}}
	case kStorageDelete:
		return actionSpec{inputs: []string{"key"}, required: []string{"key"}}
	case kFunction:
		return actionSpec{uri: true}
	}
	return actionSpec{}
}

// compileAction compiles a command with inputs:/output:/on_*: parameters.
func (c *compiler) compileAction(n *node, k *kata.Node) {
	spec := actionSpecFor(n.kind)
	n.sideEffect = n.kind == kHTTP || n.kind == kFunction || n.kind == kStorageGet ||
		n.kind == kStorageSet || n.kind == kStorageDelete || n.kind == kExtension
	if k.Kind != kata.Object {
		c.errorf(k.Pos, "`%s` must hold its parameters (inputs:, output:, ...)", n.id)
		return
	}
	for _, p := range k.Children {
		switch p.Key {
		case "inputs":
			n.inputs = c.vc.compile(p, false)
			if p.Kind == kata.Object && !p.HasAnnotation("raw") && spec.inputs != nil {
				for _, in := range p.Children {
					if n.kind == kHTTP && in.Key == "authentication" {
						c.errorf(in.Pos, "`authentication:` (Cerb connected accounts) is not supported; send credentials with `headers:` instead (`%s`)", n.id)
						continue
					}
					if n.kind == kHTTP && in.Key == "response" {
						continue // Cerb's response options (e.g. as a resource) are accepted and ignored.
					}
					if !contains(spec.inputs, in.Key) {
						c.errorf(in.Pos, "Unknown input `%s:` for `%s`; expected one of: %s", in.Key, n.id, strings.Join(spec.inputs, ", "))
					}
				}
				for _, req := range spec.required {
					if p.Child(req) == nil {
						c.errorf(p.Pos, "`inputs:%s:` is required for `%s`", req, n.id)
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
			if !spec.uri {
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
			// Webhooks never simulate: accepted and ignored.
		default:
			c.errorf(p.Pos, "Unexpected key `%s:` in `%s`", p.Key, n.id)
		}
	}
	if spec.outputNeeded && n.output == nil {
		c.errorf(k.Pos, "`output:` is required for `%s`", n.id)
	}
	if spec.uri && n.uri == nil {
		c.errorf(k.Pos, "`uri:` is required for `%s`", n.id)
	}
	if spec.required != nil && n.inputs == nil {
		c.errorf(k.Pos, "`inputs:` is required for `%s`", n.id)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
		on := &node{kind: kOutcome, id: n.id + o.Key + ":", name: "outcome", pos: o.Pos}
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
			c.errorf(p.Pos, "Unexpected key `%s:` in `%s`; expected `if:` or `then:`", p.Key, n.id)
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
			c.errorf(p.Pos, "Unexpected key `%s:` in `%s`; expected `each:`, `as:` or `do:`", p.Key, n.id)
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
			c.errorf(p.Pos, "Unexpected key `%s:` in `%s`; expected `if:` or `do:`", p.Key, n.id)
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
