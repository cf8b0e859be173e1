package automations

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// value is a precompiled KATA value: a scalar or text block (with its
// template compiled when it has markup) or an object of child values. A
// value is immutable once compiled.
type value struct {
	key      string // output key: the KATA key without annotations (with @raw: plus the other annotations)
	node     *kata.Node
	anns     []ann
	object   bool
	children []*value
	lit      string
	litv     any // lit as an interface value, made once (not per run)
	tmpl     *templates.Template
	raw      bool
	generic  bool

	// folded holds the value's result when it depends on nothing at run
	// time (a literal scalar whose annotations are static).
	folded    bool
	konst     any
	konstKeep bool
}

// valueCompiler compiles values and records diagnostics.
type valueCompiler struct {
	env    *templates.Env
	source string
	diags  *Diagnostics
}

func (vc *valueCompiler) errorf(pos kata.Pos, format string, args ...any) {
	*vc.diags = append(*vc.diags, &Diagnostic{Source: vc.source, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// annotations validates n's annotations and returns them; unknown names are
// reported at their own column.
func (vc *valueCompiler) annotations(n *kata.Node) []ann {
	if len(n.Annotations) == 0 {
		return nil
	}
	out := make([]ann, 0, len(n.Annotations))
	col := n.Pos.Col + len(n.Key) + 1
	for _, name := range n.Annotations {
		a, ok := parseAnn(strings.ToLower(name))
		if !ok {
			vc.errorf(kata.Pos{Line: n.Pos.Line, Col: col}, "Unknown annotation: @%s", name)
		} else {
			out = append(out, a)
		}
		col += len(name) + 1
	}
	return out
}

// compile compiles node n (a parameter of a command, a rule, an input...).
// generic selects generic KATA semantics ('.' @key paths, no @optional).
func (vc *valueCompiler) compile(n *kata.Node, generic bool) *value {
	v := &value{key: n.Key, node: n, generic: generic}
	v.anns = vc.annotations(n)
	for _, a := range v.anns {
		if a == annRaw {
			v.raw = true
		}
	}
	if v.raw {
		var rest []string
		for _, name := range n.Annotations {
			if strings.ToLower(name) != "raw" {
				rest = append(rest, name)
			}
		}
		if len(rest) > 0 {
			v.key = n.Key + "@" + strings.Join(rest, ",")
		}
		if n.Kind == kata.Object {
			v.object = true
			v.folded = true
			v.konst = rawTree(n)
			v.konstKeep = true
			return v
		}
		v.lit = n.Value
		v.folded, v.konst, v.konstKeep = true, n.Value, true
		return v
	}
	if n.Kind == kata.Object {
		v.object = true
		v.children = make([]*value, 0, len(n.Children))
		for _, c := range n.Children {
			v.children = append(v.children, vc.compile(c, generic))
		}
		return v
	}
	v.lit, v.litv = n.Value, n.Value
	if templates.HasMarkup(n.Value) {
		t, err := vc.env.Compile(n.Value)
		if err != nil {
			vc.templateError(n, err)
		}
		v.tmpl = t
		return v
	}
	// Fold literal scalars whose annotations need nothing from the run;
	// a literal that Cerb could never take is refused.
	container := false
	for _, a := range v.anns {
		if a.dynamic() {
			return v
		}
		container = container || a.container()
	}
	var out any = n.Value
	keep := true
	env := &annEnv{generic: generic}
	for _, a := range v.anns {
		var err error
		if out, keep, err = a.apply(out, env, n.Value); err != nil {
			// Cerb's PHP would stop here on every run.
			vc.errorf(n.Pos, "`%s@%s:` cannot run: %s (Cerb stops with a PHP TypeError)", n.Key, strings.Join(n.Annotations, ","), err)
			return v
		}
		if !keep {
			break
		}
	}
	if container {
		return v // a list or dictionary is built afresh on every run
	}
	v.folded, v.konst, v.konstKeep = true, out, keep
	return v
}

// templateError reports a template compile error at the KATA value's
// position plus the template's own offset.
func (vc *valueCompiler) templateError(n *kata.Node, err error) {
	pos, msg := templateErrorPos(n, err)
	vc.errorf(pos, "template syntax: %s", msg)
}

// templateErrorPos places a template error in the KATA source: the value's
// position plus the template's own line:col offset.
func templateErrorPos(n *kata.Node, err error) (kata.Pos, string) {
	pos := n.ValuePos
	if pos.Line == 0 {
		pos = n.Pos
	}
	msg := err.Error()
	var te *templates.Error
	if errors.As(err, &te) {
		msg = te.Msg
		if te.Line > 0 {
			if te.Line > 1 {
				pos.Col = n.ValuePos.Col
			}
			pos.Line += te.Line - 1
			if te.Col > 0 {
				pos.Col += te.Col - 1
			}
		}
	}
	return pos, msg
}

// rawTree is an @raw object: the subtree unrendered, child keys keeping
// their annotations.
func rawTree(n *kata.Node) *dict.Map {
	m := dict.New(len(n.Children))
	for _, c := range n.Children {
		key := c.Key
		if len(c.Annotations) > 0 {
			key += "@" + strings.Join(c.Annotations, ",")
		}
		if c.Kind == kata.Object {
			m.Set(key, rawTree(c))
		} else {
			m.Set(key, c.Value)
		}
	}
	return m
}

// scriptLogger receives template runtime errors of automation commands.
type scriptLogger interface {
	scriptError(msg string)
	// templateLimit ends the run: a render went past a limit (time,
	// memory, loop, size), which is never swallowed as a scripting error.
	templateLimit(kind, msg string)
	// crash ends the run in error: a value Cerb's PHP cannot take (an
	// annotation given a list where PHP needs text stops Cerb with a
	// TypeError).
	crash(msg string)
}

// evalEnv is what evaluating a value needs.
type evalEnv struct {
	annEnv
	// log receives template runtime errors in automation commands (Cerb
	// logs them and the value becomes false). When nil, a template error is
	// returned (generic KATA is strict).
	log scriptLogger
	// ctx, when set, cancels renders (the run's context).
	ctx context.Context
}

// eval renders v with env. keep is false when @optional dropped the key.
func (v *value) eval(env *evalEnv) (out any, keep bool, err error) {
	if v.folded {
		if v.object {
			return dict.CloneValue(v.konst), true, nil
		}
		return v.konst, v.konstKeep, nil
	}
	if v.object {
		m := dict.New(len(v.children))
		for _, c := range v.children {
			cv, ckeep, err := c.eval(env)
			if err != nil {
				return nil, false, err
			}
			if ckeep {
				m.Set(c.key, c.phpArray(cv))
			}
		}
		return m, true, nil
	}
	out = v.litv
	if v.tmpl != nil {
		var s string
		var rerr error
		if env.ctx != nil {
			s, rerr = v.tmpl.RenderContext(env.ctx, env.data)
		} else {
			s, rerr = v.tmpl.Render(env.data)
		}
		if rerr != nil {
			pos, msg := templateErrorPos(v.node, rerr)
			var le *templates.LimitError
			if errors.As(rerr, &le) {
				err := fmt.Errorf("`%s:` at %s: %s", v.node.Key, pos, msg)
				if env.log != nil {
					kind := "value"
					if le.Limit == "time" || le.Limit == "canceled" {
						kind = "time"
					}
					env.log.templateLimit(kind, err.Error())
				}
				return nil, false, err
			}
			if env.log == nil {
				return nil, false, fmt.Errorf("`%s:` at %s: %s", v.node.Key, pos, msg)
			}
			env.log.scriptError(fmt.Sprintf("Scripting error at %s: %s", pos, msg))
			out = false
		} else {
			out = s
		}
	}
	keep = true
	for _, a := range v.anns {
		var err error
		if out, keep, err = a.apply(out, &env.annEnv, v.lit); err != nil {
			err = fmt.Errorf("`%s:` at %s: %w", v.node.Key, v.node.Pos, err)
			if env.log != nil {
				env.log.crash(err.Error())
			}
			return nil, false, err
		}
		if !keep {
			return nil, false, nil
		}
	}
	return out, true, nil
}

// phpArray is the value of an object key as PHP holds it: KATA keys
// 0..n-1 (in that order) make a list, as PHP arrays with those integer
// keys are (`0: a` and `1: b` json_encode as ["a","b"]).
func (v *value) phpArray(out any) any {
	if !v.object || v.raw {
		return out
	}
	if m, ok := out.(*dict.Map); ok && listLike(m) {
		l := make([]any, 0, m.Len())
		m.Range(func(_ string, x any) bool {
			l = append(l, x)
			return true
		})
		return l
	}
	return out
}

// evalString renders v and prints the result as text.
func (v *value) evalString(env *evalEnv) (string, error) {
	if v == nil {
		return "", nil
	}
	out, _, err := v.eval(env)
	if err != nil {
		return "", err
	}
	return toString(out), nil
}

// child returns the compiled child value with the given key, or nil.
func (v *value) child(key string) *value {
	if v == nil {
		return nil
	}
	for _, c := range v.children {
		if c.node.Key == key {
			return c
		}
	}
	return nil
}
