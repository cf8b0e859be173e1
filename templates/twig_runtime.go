package templates

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/flosch/pongo2/v6"

	"github.com/hookhost/hookhost/templates/dict"
)

// This file holds what the translated templates call: the _tw_* helper
// filters (operators and tests with Twig's PHP semantics), the _tw_*
// functions and the _tw_* tags. Every Env registers them on its own pongo2
// set (registerTwig, addHelperGlobals); templates cannot name them (the
// translation refuses the _tw_ prefix).

// helperFunc is a helper filter: in is the left operand, args the right
// operand (and test arguments).
type helperFunc func(st *state, in any, args []any) (any, error)

// helperFilters are the helper filters.
var helperFilters = map[string]helperFunc{
	"add": func(st *state, a any, b []any) (any, error) { return opAdd(st, a, first(b)) },
	"sub": func(_ *state, a any, b []any) (any, error) { return arith('-', a, first(b)) },
	"mul": func(_ *state, a any, b []any) (any, error) { return arith('*', a, first(b)) },
	"div": func(_ *state, a any, b []any) (any, error) { return opDiv(a, first(b)) },
	"idiv": func(_ *state, a any, b []any) (any, error) {
		// (int) floor(a / b)
		q, err := opDiv(a, first(b))
		if err != nil {
			return nil, err
		}
		return phpIntCast(math.Floor(toFloat(q))), nil
	},
	"mod": func(_ *state, a any, b []any) (any, error) { return opMod(a, first(b)) },
	"pow": func(_ *state, a any, b []any) (any, error) { return opPow(a, first(b)) },
	// -a and +a are a * -1 and a * 1 in PHP
	"neg": func(_ *state, a any, _ []any) (any, error) { return arith('*', a, int64(-1)) },
	"pos": func(_ *state, a any, _ []any) (any, error) { return arith('*', a, int64(1)) },
	"cat": func(st *state, a any, b []any) (any, error) {
		parts := make([]string, 0, len(b)+1)
		n := int64(0)
		for _, x := range append([]any{a}, b...) {
			s := toStr(x)
			n += int64(len(s))
			parts = append(parts, s)
		}
		if err := st.wantString(n); err != nil {
			return nil, err
		}
		return strings.Join(parts, ""), nil
	},
	"eq":       func(_ *state, a any, b []any) (any, error) { return looseEqual(a, first(b)), nil },
	"ne":       func(_ *state, a any, b []any) (any, error) { return !looseEqual(a, first(b)), nil },
	"lt":       func(_ *state, a any, b []any) (any, error) { return compare(a, first(b)) < 0, nil },
	"gt":       func(_ *state, a any, b []any) (any, error) { return compare(a, first(b)) > 0, nil },
	"le":       func(_ *state, a any, b []any) (any, error) { return compare(a, first(b)) <= 0, nil },
	"ge":       func(_ *state, a any, b []any) (any, error) { return compare(a, first(b)) >= 0, nil },
	"cmp":      func(_ *state, a any, b []any) (any, error) { return int64(compare(a, first(b))), nil },
	"same":     func(_ *state, a any, b []any) (any, error) { return strictEqual(a, first(b)), nil },
	"notsame":  func(_ *state, a any, b []any) (any, error) { return !strictEqual(a, first(b)), nil },
	"in":       func(_ *state, a any, b []any) (any, error) { return twigIn(a, first(b)), nil },
	"notin":    func(_ *state, a any, b []any) (any, error) { return !twigIn(a, first(b)), nil },
	"matches":  opMatches,
	"coalesce": func(_ *state, a any, b []any) (any, error) { return cond(a != nil, a, first(b)), nil },
	"startswith": func(_ *state, a any, b []any) (any, error) {
		s, p, ok := twoStrings(a, first(b))
		return ok && strings.HasPrefix(s, p), nil
	},
	"endswith": func(_ *state, a any, b []any) (any, error) {
		s, p, ok := twoStrings(a, first(b))
		return ok && strings.HasSuffix(s, p), nil
	},
	"bitand": func(_ *state, a any, b []any) (any, error) { return bitOp('&', a, first(b)) },
	"bitor":  func(_ *state, a any, b []any) (any, error) { return bitOp('|', a, first(b)) },
	"bitxor": func(_ *state, a any, b []any) (any, error) { return bitOp('^', a, first(b)) },
	"attr":   func(_ *state, a any, b []any) (any, error) { return fnAttribute(nil, a, first(b)) },
	"has":    func(_ *state, a any, b []any) (any, error) { return hasKey(a, first(b)), nil },
	"drop":   func(*state, any, []any) (any, error) { return nil, nil },

	// tests
	"is_empty":    func(_ *state, a any, _ []any) (any, error) { return isEmpty(a), nil },
	"is_iterable": func(_ *state, a any, _ []any) (any, error) { return isIterable(a), nil },
	"is_numeric":  func(_ *state, a any, _ []any) (any, error) { return isNumeric(a), nil },
	"is_null":     func(_ *state, a any, _ []any) (any, error) { return a == nil, nil },
	"is_defined":  func(_ *state, a any, _ []any) (any, error) { return a != nil, nil },
	"is_string":   func(_ *state, a any, _ []any) (any, error) { _, ok := a.(string); return ok, nil },
	"is_mapping":  func(_ *state, a any, _ []any) (any, error) { _, ok := a.(*dict.Map); return ok, nil },
	"is_sequence": func(_ *state, a any, _ []any) (any, error) { _, ok := a.([]any); return ok, nil },
	// Twig's even, odd and divisible by use PHP's %
	"is_even": func(_ *state, a any, _ []any) (any, error) {
		r, err := opMod(a, int64(2))
		return err == nil && r == int64(0), err
	},
	"is_odd": func(_ *state, a any, _ []any) (any, error) {
		r, err := opMod(a, int64(2))
		return err == nil && r != int64(0), err
	},
	"is_divisible": func(_ *state, a any, b []any) (any, error) {
		r, err := opMod(a, first(b))
		return err == nil && r == int64(0), err
	},
	"is_prefixed": func(_ *state, a any, b []any) (any, error) { return testPrefixed(a, b, false) },
	"is_suffixed": func(_ *state, a any, b []any) (any, error) { return testPrefixed(a, b, true) },
	"is_pattern":  func(_ *state, a any, b []any) (any, error) { return testPattern(a, b) },
	"is_record_type": func(_ *state, a any, b []any) (any, error) {
		if m, ok := a.(*dict.Map); ok {
			a = m.Value("_context")
		}
		v := contextAlias(toStr(a))
		return v != "" && anyOf(b, func(t string) bool { return contextAlias(t) == v }), nil
	},
}

func first(args []any) any {
	if len(args) > 0 {
		return args[0]
	}
	return nil
}

func cond(c bool, a, b any) any {
	if c {
		return a
	}
	return b
}

// anyOf calls f with each argument as text; a list argument gives its items.
func anyOf(args []any, f func(string) bool) bool {
	for _, a := range args {
		for _, x := range toList(a) {
			if f(toStr(x)) {
				return true
			}
		}
	}
	return false
}

// twoStrings gives a and b when both are text (Twig's starts with and
// ends with are false otherwise).
func twoStrings(a, b any) (string, string, bool) {
	s, ok1 := a.(string)
	p, ok2 := b.(string)
	return s, p, ok1 && ok2
}

func isIterable(x any) bool {
	switch x.(type) {
	case []any, *dict.Map:
		return true
	}
	return false
}

func hasKey(obj, key any) bool {
	switch t := obj.(type) {
	case *dict.Map:
		_, ok := t.Get(keyOf(key))
		return ok
	case []any:
		i, err := strconv.ParseInt(keyOf(key), 10, 64)
		return err == nil && i >= 0 && i < int64(len(t))
	}
	return false
}

// contextAlias gives the short name of a Cerb record type:
// "cerberusweb.contexts.ticket" and "Ticket" are "ticket".
func contextAlias(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"cerberusweb.contexts.", "cerb.contexts.", "contexts."} {
		if strings.HasPrefix(s, p) {
			return s[len(p):]
		}
	}
	return s
}

// --- numbers ---

func opName(op byte) string {
	if op == 'p' {
		return "**"
	}
	return string(op)
}

// arith is PHP's + - * on two values.
func arith(op byte, a, b any) (any, error) {
	x, y, err := numbers(opName(op), a, b)
	if err != nil {
		return nil, err
	}
	xi, xInt := x.(int64)
	yi, yInt := y.(int64)
	if xInt && yInt {
		switch op {
		case '+':
			if r := xi + yi; (r > xi) == (yi > 0) {
				return r, nil
			}
		case '-':
			if r := xi - yi; (r < xi) == (yi > 0) {
				return r, nil
			}
		case '*':
			if r, overflow := mulInt(xi, yi); !overflow {
				return r, nil
			}
		}
	}
	xf, yf := toFloat(x), toFloat(y)
	switch op {
	case '+':
		return xf + yf, nil
	case '-':
		return xf - yf, nil
	}
	return xf * yf, nil
}

// opAdd is PHP's +: numbers, or the union of two arrays.
func opAdd(st *state, a, b any) (any, error) {
	if isIterable(a) && isIterable(b) {
		if la, ok := a.([]any); ok {
			if lb, ok := b.([]any); ok {
				if len(lb) <= len(la) {
					return la, nil
				}
				out := make([]any, 0, len(lb))
				return append(append(out, la...), lb[len(la):]...), nil
			}
		}
		if err := st.wantItems(int64(sizeOf(a) + sizeOf(b))); err != nil {
			return nil, err
		}
		out := dict.New(sizeOf(a) + sizeOf(b))
		eachItem(a, func(k string, v any) bool { out.Set(k, v); return true })
		eachItem(b, func(k string, v any) bool {
			if _, ok := out.Get(k); !ok {
				out.Set(k, v)
			}
			return true
		})
		return phpArray(out), nil
	}
	return arith('+', a, b)
}

func opDiv(a, b any) (any, error) {
	x, y, err := numbers("/", a, b)
	if err != nil {
		return nil, err
	}
	if toFloat(y) == 0 {
		return nil, errors.New("division by zero")
	}
	xi, xInt := x.(int64)
	yi, yInt := y.(int64)
	if xInt && yInt && xi%yi == 0 && !(xi == math.MinInt64 && yi == -1) {
		return xi / yi, nil
	}
	return toFloat(x) / toFloat(y), nil
}

// opMod is PHP's %: both operands as integers.
func opMod(a, b any) (any, error) {
	x, y, err := numbers("%", a, b)
	if err != nil {
		return nil, err
	}
	d := toInt(y)
	if d == 0 {
		return nil, errors.New("modulo by zero")
	}
	if d == -1 {
		return int64(0), nil
	}
	return toInt(x) % d, nil
}

func opPow(a, b any) (any, error) {
	x, y, err := numbers("**", a, b)
	if err != nil {
		return nil, err
	}
	return phpPow(x, y), nil
}

// bitOp is PHP's & | ^: on two strings byte by byte, else on integers.
func bitOp(op byte, a, b any) (any, error) {
	sa, ok1 := a.(string)
	sb, ok2 := b.(string)
	if ok1 && ok2 {
		long, short := sa, sb
		if len(short) > len(long) {
			long, short = short, long
		}
		n := len(short)
		if op == '|' {
			n = len(long)
		}
		out := make([]byte, n)
		for i := range out {
			switch {
			case i >= len(short):
				out[i] = long[i]
			case op == '&':
				out[i] = sa[i] & sb[i]
			case op == '|':
				out[i] = sa[i] | sb[i]
			default:
				out[i] = sa[i] ^ sb[i]
			}
		}
		return string(out), nil
	}
	x, y, err := numbers(string(op), a, b)
	if err != nil {
		return nil, err
	}
	xi, yi := toInt(x), toInt(y)
	switch op {
	case '&':
		return xi & yi, nil
	case '|':
		return xi | yi, nil
	}
	return xi ^ yi, nil
}

// phpInt gives a whole float as int64 when it fits.
func phpInt(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 9e18 {
		return int64(f)
	}
	return f
}

func opMatches(st *state, a any, b []any) (any, error) {
	s := toStr(a)
	re, err := st.regexp(toStr(first(b)), len(s))
	if err != nil {
		return nil, err
	}
	if re.MatchString(s) {
		return int64(1), nil
	}
	return int64(0), nil
}

// twigIn is Twig's "in": a substring of text, or an item of a list or
// dictionary (compared loosely).
func twigIn(v, in any) bool {
	switch h := in.(type) {
	case string:
		switch v.(type) {
		case string, int64, float64:
			s := toStr(v)
			return s == "" || strings.Contains(h, s)
		}
		return false
	case []any:
		for _, x := range h {
			if looseEqual(v, x) {
				return true
			}
		}
	case *dict.Map:
		found := false
		h.Range(func(_ string, x any) bool {
			found = looseEqual(v, x)
			return !found
		})
		return found
	}
	return false
}

// strictEqual is PHP's ===.
func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !strictEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case *dict.Map:
		y, ok := b.(*dict.Map)
		if !ok || x.Len() != y.Len() {
			return false
		}
		xk, yk := x.Keys(), y.Keys()
		for i := range xk {
			if xk[i] != yk[i] || !strictEqual(x.Value(xk[i]), y.Value(yk[i])) {
				return false
			}
		}
		return true
	}
	switch b.(type) {
	case []any, *dict.Map:
		return false
	}
	return a == b
}

// --- functions ---

// helperFunctions are called as _tw_name(...).
var helperFunctions = map[string]funcDef{
	"null": {fn: func(any, ...any) (any, error) { return nil, nil }, view: true},
	"list": {fn: func(_ any, args ...any) (any, error) {
		return args, nil
	}},
	"hash": {fn: func(_ any, args ...any) (any, error) {
		m := dict.New(len(args) / 2)
		for i := 0; i+1 < len(args); i += 2 {
			m.Set(keyOf(args[i]), args[i+1])
		}
		return m, nil
	}},
}

// lookup finds a variable the way the template does: tags' variables, then
// the render's data.
func lookup(ctx *pongo2.ExecutionContext, name string) (any, bool) {
	if v, ok := ctx.Private[name]; ok {
		return v, true
	}
	if ctx.Root != nil {
		return ctx.Root.Get(name)
	}
	return nil, false
}

func ctxVar(ctx *pongo2.ExecutionContext, args ...any) (any, error) {
	v, _ := lookup(ctx, toStr(first(args)))
	return norm(v), nil
}

func ctxDefined(ctx *pongo2.ExecutionContext, args ...any) (any, error) {
	_, ok := lookup(ctx, toStr(first(args)))
	return ok, nil
}

func ctxContext(ctx *pongo2.ExecutionContext, _ ...any) (any, error) {
	m := dict.New(8)
	if root, ok := ctx.Root.(*dict.Map); ok { // Twig's context (WithTwigContext); not Cerb's dictionary
		for _, k := range root.Keys() {
			v, _ := root.Get(k)
			m.Set(k, norm(v))
		}
	}
	for k, v := range ctx.Private {
		if k != "pongo2" && !strings.HasPrefix(k, reservedPrefix) {
			m.Set(k, norm(v))
		}
	}
	st := stateOf(ctx)
	if err := st.built(m, nil, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// --- tags ---

// loopVars is Twig's loop variable.
type loopVars struct {
	index, length int
	parent        *loopVars
}

var loopKeys = []string{"index", "index0", "revindex", "revindex0", "first", "last", "length", "parent"}

func (l *loopVars) Get(k string) (any, bool) {
	switch k {
	case "index":
		return int64(l.index + 1), true
	case "index0":
		return int64(l.index), true
	case "revindex":
		return int64(l.length - l.index), true
	case "revindex0":
		return int64(l.length - l.index - 1), true
	case "first":
		return l.index == 0, true
	case "last":
		return l.index == l.length-1, true
	case "length":
		return int64(l.length), true
	case "parent":
		if l.parent == nil {
			return nil, false
		}
		m := dict.New(1)
		m.Set("loop", l.parent)
		return m, true
	}
	return nil, false
}

func (l *loopVars) Keys() []string { return loopKeys }

func (l *loopVars) Len() int { return len(loopKeys) }

type forTag struct {
	key, val string
	seq      pongo2.IEvaluator
	body     *pongo2.NodeWrapper
	els      *pongo2.NodeWrapper
	tok      *pongo2.Token
}

func (n *forTag) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	v, err := n.seq.Evaluate(ctx)
	if err != nil {
		return err
	}
	var keys []string
	var list []any
	var m *dict.Map
	switch seq := norm(v.Interface()).(type) {
	case []any:
		list = seq
	case *dict.Map:
		m, keys = seq, seq.Keys()
	}
	count := len(list) + len(keys)
	if count == 0 {
		if n.els != nil {
			return n.els.Execute(ctx, w)
		}
		return nil
	}
	child := pongo2.NewChildExecutionContext(ctx)
	loop := &loopVars{length: count}
	if p, ok := ctx.Private["loop"].(*loopVars); ok {
		loop.parent = p
	}
	child.Private["loop"] = loop
	for i := range count {
		if err := ctx.Limits.Step(); err != nil {
			return ctx.OrigError(err, n.tok)
		}
		loop.index = i
		var k, item any
		if list != nil {
			k, item = int64(i), list[i]
		} else {
			k, item = keyValue(keys[i]), m.Value(keys[i])
		}
		if n.val == "" {
			child.Private[n.key] = item
			child.Private["_key"] = k // Twig's loop key without a key variable
		} else {
			child.Private[n.key] = k
			child.Private[n.val] = item
		}
		if err := n.body.Execute(child, w); err != nil {
			return err
		}
	}
	// Twig keeps the changes to variables that existed before the loop.
	for name, v := range child.Private {
		if name == n.key || name == n.val || name == "loop" || name == "_key" {
			continue
		}
		if old, ok := ctx.Private[name]; ok {
			if !sameRef(old, v) {
				ctx.Private[name] = v
			}
		} else if ctx.Root != nil {
			if _, ok := ctx.Root.Get(name); ok {
				ctx.Private[name] = v
			}
		}
	}
	return nil
}

// sameRef avoids rewriting a variable the loop did not change.
func sameRef(a, b any) bool {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() == reflect.Ptr && rb.Kind() == reflect.Ptr {
		return ra.Pointer() == rb.Pointer()
	}
	return false
}

func parseForTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	n := &forTag{tok: start}
	k := args.MatchType(pongo2.TokenIdentifier)
	if k == nil {
		return nil, args.Error("loop variable expected", nil)
	}
	n.key = k.Val
	if args.Match(pongo2.TokenSymbol, ",") != nil {
		v := args.MatchType(pongo2.TokenIdentifier)
		if v == nil {
			return nil, args.Error("loop variable expected", nil)
		}
		n.val = v.Val
	}
	if args.Match(pongo2.TokenKeyword, "in") == nil {
		return nil, args.Error("'in' expected", nil)
	}
	seq, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	n.seq = seq
	body, _, err := doc.WrapUntilTag("_tw_forelse", "_tw_endfor")
	if err != nil {
		return nil, err
	}
	n.body = body
	if body.Endtag == "_tw_forelse" {
		if n.els, _, err = doc.WrapUntilTag("_tw_endfor"); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// captureWriter collects a captured block up to the string limit.
type captureWriter struct {
	b    strings.Builder
	max  int
	over bool
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.b.Len()+len(p) > c.max {
		c.over = true
		return 0, errCaptureFull
	}
	return c.b.Write(p)
}

func (c *captureWriter) WriteString(s string) (int, error) {
	if c.b.Len()+len(s) > c.max {
		c.over = true
		return 0, errCaptureFull
	}
	return c.b.WriteString(s)
}

var errCaptureFull = errors.New("captured text too long")

type captureTag struct {
	name string
	body *pongo2.NodeWrapper
	tok  *pongo2.Token
}

func (n *captureTag) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	w := &captureWriter{max: st.limits.String}
	if err := n.body.Execute(ctx, w); err != nil {
		return err
	}
	if w.over {
		return ctx.OrigError(st.errString(), n.tok)
	}
	s := w.b.String()
	if err := st.alloc(int64(len(s))); err != nil {
		return ctx.OrigError(err, n.tok)
	}
	ctx.Private[n.name] = s
	return nil
}

func parseCaptureTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	name := args.MatchType(pongo2.TokenIdentifier)
	if name == nil {
		return nil, args.Error("variable name expected", nil)
	}
	body, _, err := doc.WrapUntilTag("_tw_endcapture")
	if err != nil {
		return nil, err
	}
	return &captureTag{name: name.Val, body: body, tok: start}, nil
}

type doTag struct{ x pongo2.IEvaluator }

func (n *doTag) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	_, err := n.x.Evaluate(ctx)
	return err
}

func parseDoTag(_ *pongo2.Parser, _ *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	x, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	return &doTag{x: x}, nil
}

type withTag struct {
	vars pongo2.IEvaluator
	only bool
	body *pongo2.NodeWrapper
	tok  *pongo2.Token
}

func (n *withTag) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	child := pongo2.NewChildExecutionContext(ctx)
	if n.only {
		child.Private = pongo2.Context{}
		child.Root = nil
	}
	if n.vars != nil {
		v, err := n.vars.Evaluate(ctx)
		if err != nil {
			return err
		}
		m, ok := norm(v.Interface()).(*dict.Map)
		if !ok {
			return ctx.Error("variables passed to \"with\" must be a hash", n.tok)
		}
		m.Range(func(k string, v any) bool {
			child.Private[k] = v
			return true
		})
	}
	return n.body.Execute(child, w)
}

func parseWithTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	n := &withTag{tok: start}
	if args.Remaining() > 0 && args.Peek(pongo2.TokenIdentifier, "only") == nil {
		x, err := args.ParseExpression()
		if err != nil {
			return nil, err
		}
		n.vars = x
	}
	if args.Match(pongo2.TokenIdentifier, "only") != nil {
		n.only = true
	}
	body, _, err := doc.WrapUntilTag("_tw_endwith")
	if err != nil {
		return nil, err
	}
	n.body = body
	return n, nil
}

// adaptHelper turns a helper filter into a pongo2 filter of the set; see
// adaptFilter.
func adaptHelper(name string, fn helperFunc) pongo2.ContextFilterFunction {
	call := func(st *state, in any, args ...any) (any, error) { return fn(st, in, args) }
	return func(ctx *pongo2.ExecutionContext, in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		var args []any
		switch p := param.Interface().(type) {
		case pongo2.FilterArgs:
			args = make([]any, len(p))
			for i, a := range p {
				args[i] = norm(a)
			}
		case nil:
		default:
			args = []any{norm(p)}
		}
		out, err := stateOf(ctx).apply(call, false, norm(in.Interface()), args)
		if err != nil {
			return nil, &pongo2.Error{Sender: "filter:" + name, OrigError: err}
		}
		return pongo2.AsValue(out), nil
	}
}

// strFilter is _tw_str, PHP's conversion to text, which "~" applies to its
// operands: text is passed on as it is, without a new value.
func strFilter(ctx *pongo2.ExecutionContext, in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	if in.IsString() {
		return in, nil
	}
	x := in.Interface()
	s := toStr(x)
	if err := stateOf(ctx).built(s, x, nil); err != nil {
		return nil, &pongo2.Error{Sender: "filter:str", OrigError: err}
	}
	return pongo2.AsValue(s), nil
}

// registerTwig registers the helper filters and tags on set.
func registerTwig(set *pongo2.TemplateSet) error {
	if err := set.RegisterFilter(reservedPrefix+"str", strFilter); err != nil {
		return err
	}
	// json_encode followed by json_pretty (see translator.filter): its
	// errors are json_encode's.
	if err := set.RegisterFilter(reservedPrefix+"json_encode_pretty", adaptFilter("json_encode", filterDef{sfn: fJSONEncodePretty})); err != nil {
		return err
	}
	for name, fn := range helperFilters {
		if err := set.RegisterFilter(reservedPrefix+name, adaptHelper(name, fn)); err != nil {
			return err
		}
	}
	for name, parse := range map[string]pongo2.TagParser{
		"_tw_for": parseForTag, "_tw_capture": parseCaptureTag, "_tw_do": parseDoTag, "_tw_with": parseWithTag,
	} {
		if err := set.RegisterTag(name, parse); err != nil {
			return err
		}
	}
	return nil
}

// addHelperGlobals adds the helper functions to an Env's globals.
func addHelperGlobals(ctx pongo2.Context) {
	for name, def := range helperFunctions {
		ctx[reservedPrefix+name] = adaptFunction(reservedPrefix+name, def)
	}
	ctx[reservedPrefix+"var"] = pongo2.ContextFunction(ctxVar)
	ctx[reservedPrefix+"defined"] = pongo2.ContextFunction(ctxDefined)
	ctx[reservedPrefix+"context"] = pongo2.ContextFunction(ctxContext)
}

// --- Cerb names that hookhost refuses ---

// isPlatformFunction reports whether a function needs the Cerb platform
// (records, workflows, URLs, DNS...).
func isPlatformFunction(name string) bool {
	return strings.HasPrefix(name, "cerb_") || platformFunctions[name]
}

var platformFunctions = map[string]bool{
	"dns_get_record": true, "dns_host_by_ip": true,
}

// unsupportedFunctions are Twig and Cerb functions hookhost does not have.
var unsupportedFunctions = map[string]bool{
	"dump": true, "constant": true, "include": true, "source": true, "template_from_string": true,
	"block": true, "parent": true,
}

var platformFilters = map[string]bool{
	"context_name": true, "cerb_translate": true,
}
