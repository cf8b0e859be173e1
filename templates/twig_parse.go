package templates

import (
	"strings"
)

// This file parses the Twig tokens into a small syntax tree, with Twig
// 3.6's expression grammar (ExpressionParser: operator precedences,
// postfix subscripts and filters, tests, the conditional operators, arrow
// functions as arguments) and the tags Cerb's sandbox allows.

// --- expressions ---

type expr interface{ at() pos }

type (
	litExpr struct {
		p   pos
		val any // string, int64, float64, bool or nil
	}
	nameExpr struct {
		p        pos
		name     string
		internal bool // a name made by the translation
	}
	// getExpr is obj.key (dot) or obj[key].
	getExpr struct {
		p   pos
		obj expr
		key expr
		dot bool
	}
	sliceExpr struct {
		p                  pos
		obj, start, length expr // length may be nil
	}
	filterExpr struct {
		p      pos
		obj    expr
		name   string
		args   []expr
		names  []string // the names of named arguments ("" for positional ones); nil when none is named
		django bool     // |name:arg (pongo2 style, one argument)
		helper bool     // a _tw_ helper filter the parser made
	}
	callExpr struct {
		p     pos
		name  string
		args  []expr
		names []string // see filterExpr
	}
	unaryExpr struct {
		p  pos
		op string
		x  expr
	}
	binaryExpr struct {
		p    pos
		op   string
		l, r expr
	}
	testExpr struct {
		p    pos
		x    expr
		name string
		args []expr
		not  bool
	}
	condExpr struct {
		p          pos
		c, th, els expr
	}
	arrayExpr struct {
		p     pos
		items []expr
	}
	hashExpr struct {
		p          pos
		keys, vals []expr
	}
	arrowExpr struct {
		p      pos
		params []string
		body   expr
	}
	// concatExpr is a double-quoted string with interpolations.
	concatExpr struct {
		p     pos
		parts []expr
	}
)

func (e *litExpr) at() pos    { return e.p }
func (e *nameExpr) at() pos   { return e.p }
func (e *getExpr) at() pos    { return e.p }
func (e *sliceExpr) at() pos  { return e.p }
func (e *filterExpr) at() pos { return e.p }
func (e *callExpr) at() pos   { return e.p }
func (e *unaryExpr) at() pos  { return e.p }
func (e *binaryExpr) at() pos { return e.p }
func (e *testExpr) at() pos   { return e.p }
func (e *condExpr) at() pos   { return e.p }
func (e *arrayExpr) at() pos  { return e.p }
func (e *hashExpr) at() pos   { return e.p }
func (e *arrowExpr) at() pos  { return e.p }
func (e *concatExpr) at() pos { return e.p }

// --- statements ---

type node interface{}

type (
	textNode  struct{ text string }
	printNode struct {
		p pos
		x expr
	}
	rawNode struct{ text string } // verbatim
	ifNode  struct {
		p      pos
		conds  []expr
		bodies [][]node
		els    []node
	}
	forNode struct {
		p        pos
		key, val string
		seq      expr
		body     []node
		els      []node
	}
	setNode struct {
		p     pos
		names []string
		vals  []expr
	}
	captureNode struct {
		p    pos
		name string
		body []node
	}
	doNode struct {
		p pos
		x expr
	}
	applyNode struct {
		p       pos
		filters []*filterExpr // obj is nil
		body    []node
	}
	withNode struct {
		p    pos
		vars expr // may be nil
		only bool
		body []node
	}
)

// --- operators ---

type binOp struct {
	prec  int
	right bool
}

var binaryOps = map[string]binOp{
	"or": {10, false}, "and": {15, false},
	"b-or": {16, false}, "b-xor": {17, false}, "b-and": {18, false},
	"==": {20, false}, "!=": {20, false}, "===": {20, false}, "!==": {20, false}, "<=>": {20, false},
	"<": {20, false}, ">": {20, false}, ">=": {20, false}, "<=": {20, false},
	"not in": {20, false}, "in": {20, false}, "matches": {20, false},
	"starts with": {20, false}, "ends with": {20, false},
	"..": {25, false}, "+": {30, false}, "-": {30, false}, "~": {40, false},
	"*": {60, false}, "/": {60, false}, "//": {60, false}, "%": {60, false},
	"is": {100, false}, "is not": {100, false},
	"**": {200, true}, "??": {300, true},
}

var unaryOps = map[string]int{"not": 50, "-": 500, "+": 500}

// twoWordTests are the tests whose name is two words.
var twoWordTests = map[string]string{"same": "as", "divisible": "by", "record": "type"}

type parser struct {
	syn  *delims
	toks []token
	i    int
	// depth counts the nested bodies and expressions being parsed.
	depth int
	// noDjango is set while the "then" part of a ternary is parsed, where
	// ":" ends the part instead of starting a pongo2-style filter argument.
	noDjango bool
	loops    int
}

// maxNesting bounds the nesting of blocks and expressions in a template,
// so that no template can exhaust the stack of the parser, the translation
// or the render.
const maxNesting = 256

func parseTwig(src string, syn *delims) ([]node, error) {
	toks, err := lexTwig(src, syn)
	if err != nil {
		return nil, err
	}
	p := &parser{syn: syn, toks: toks}
	body, end, err := p.parseBody()
	if err != nil {
		return nil, err
	}
	if end != nil {
		return nil, twigError(end.pos, "unexpected tag %q", end.val)
	}
	return body, nil
}

func (p *parser) cur() *token { return &p.toks[p.i] }

func (p *parser) peek(n int) *token {
	if p.i+n < len(p.toks) {
		return &p.toks[p.i+n]
	}
	return &p.toks[len(p.toks)-1]
}

func (p *parser) next() *token {
	t := &p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) is(kind tokKind, val string) bool {
	t := p.cur()
	return t.kind == kind && t.val == val
}

func (p *parser) accept(kind tokKind, val string) bool {
	if p.is(kind, val) {
		p.next()
		return true
	}
	return false
}

func describe(t *token) string {
	switch t.kind {
	case tkEOF:
		return "end of template"
	case tkString:
		return "string"
	case tkDQStart:
		return "string"
	case tkInterpEnd:
		return `"}"`
	}
	return "\"" + t.val + "\""
}

func (p *parser) expect(kind tokKind, val, what string) (*token, error) {
	if !p.is(kind, val) {
		return nil, twigError(p.cur().pos, "expected %s, found %s", what, describe(p.cur()))
	}
	return p.next(), nil
}

// endTag is a block tag that ends a body: its name token.
type endTag = token

// parseBody parses nodes until EOF or a block tag the caller handles
// (elseif, else, endif, endfor, endset, ...), returned as end with the
// parser positioned after the tag name.
func (p *parser) parseBody() ([]node, *endTag, error) {
	if err := p.enter(); err != nil {
		return nil, nil, err
	}
	defer p.leave()
	var body []node
	for {
		t := p.cur()
		switch t.kind {
		case tkEOF:
			return body, nil, nil
		case tkText:
			body = append(body, &textNode{text: t.val})
			p.next()
		case tkVerbatim:
			body = append(body, &rawNode{text: t.val})
			p.next()
		case tkVarStart:
			p.next()
			x, err := p.parseExpr(0)
			if err != nil {
				return nil, nil, err
			}
			if p.cur().kind != tkVarEnd {
				return nil, nil, twigError(p.cur().pos, "unexpected %s, expected %q", describe(p.cur()), p.syn.varClose)
			}
			p.next()
			body = append(body, &printNode{p: t.pos, x: x})
		case tkBlockStart:
			p.next()
			name := p.cur()
			if name.kind != tkName {
				if name.kind == tkBlockEnd {
					return nil, nil, twigError(name.pos, "a block must start with a tag name")
				}
				return nil, nil, twigError(name.pos, "a block must start with a tag name, found %s", describe(name))
			}
			switch name.val {
			case "elseif", "else", "endif", "endfor", "endset", "endapply", "endwith", "endverbatim":
				p.next()
				return body, name, nil
			}
			n, err := p.parseTag(name)
			if err != nil {
				return nil, nil, err
			}
			if n != nil {
				body = append(body, n)
			}
		default:
			return nil, nil, twigError(t.pos, "unexpected %s", describe(t))
		}
	}
}

func (p *parser) blockEnd() error {
	if p.cur().kind != tkBlockEnd {
		return twigError(p.cur().pos, "unexpected %s, expected %q", describe(p.cur()), p.syn.blockClose)
	}
	p.next()
	return nil
}

// sandboxedTwigTags are Twig 3 tags that Cerb's sandbox refuses.
var sandboxedTwigTags = map[string]bool{"autoescape": true, "flush": true, "deprecated": true, "guard": true, "types": true}

// bannedTwigTags read other templates or define macros.
var bannedTwigTags = map[string]bool{
	"include": true, "import": true, "from": true, "extends": true, "block": true, "embed": true,
	"macro": true, "use": true, "ssi": true, "lorem": true, "sandbox": true, "source": true,
}

func (p *parser) parseTag(name *token) (node, error) {
	start := name.pos
	switch name.val {
	case "if":
		p.next()
		return p.parseIf(start)
	case "for":
		p.next()
		return p.parseFor(start)
	case "set":
		p.next()
		return p.parseSet(start)
	case "do":
		p.next()
		x, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		return &doNode{p: start, x: x}, p.blockEnd()
	case "apply":
		p.next()
		return p.parseApply(start, name.val)
	case "with":
		p.next()
		return p.parseWith(start)
	case "verbatim":
		p.next()
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
		if p.cur().kind == tkVerbatim {
			t := p.next()
			return &rawNode{text: t.val}, nil
		}
		return nil, twigError(start, "unclosed %q block", name.val)
	}
	if bannedTwigTags[name.val] {
		return nil, twigError(start, "tag %q is not allowed (templates cannot read files or define macros)", name.val)
	}
	if sandboxedTwigTags[name.val] {
		return nil, twigError(start, "tag %q is not allowed (Cerb's sandbox allows apply, do, for, if, set, verbatim and with)", name.val)
	}
	return nil, twigError(start, "unknown tag %q", name.val)
}

func (p *parser) parseIf(start pos) (node, error) {
	n := &ifNode{p: start}
	cond, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	for {
		body, end, err := p.parseBody()
		if err != nil {
			return nil, err
		}
		if end == nil {
			return nil, twigError(start, "unclosed \"if\" (expected \"endif\")")
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end.val {
		case "elseif":
			if cond, err = p.parseExpr(0); err != nil {
				return nil, err
			}
			if err := p.blockEnd(); err != nil {
				return nil, err
			}
			continue
		case "else":
			if err := p.blockEnd(); err != nil {
				return nil, err
			}
			els, end2, err := p.parseBody()
			if err != nil {
				return nil, err
			}
			if end2 == nil || end2.val != "endif" {
				return nil, unexpectedEnd(end2, start, "endif")
			}
			n.els = els
			return n, p.blockEnd()
		case "endif":
			return n, p.blockEnd()
		default:
			return nil, unexpectedEnd(end, start, "endif")
		}
	}
}

func unexpectedEnd(end *endTag, start pos, want string) error {
	if end == nil {
		return twigError(start, "unclosed block (expected %q)", want)
	}
	return twigError(end.pos, "unexpected tag %q (expected %q)", end.val, want)
}

func (p *parser) name(what string) (*token, error) {
	t := p.cur()
	if t.kind != tkName {
		return nil, twigError(t.pos, "expected %s, found %s", what, describe(t))
	}
	return p.next(), nil
}

func (p *parser) parseFor(start pos) (node, error) {
	n := &forNode{p: start}
	k, err := p.name("a loop variable")
	if err != nil {
		return nil, err
	}
	n.key = k.val
	if p.accept(tkPunct, ",") {
		v, err := p.name("a loop variable")
		if err != nil {
			return nil, err
		}
		n.val = v.val
	}
	if _, err := p.expect(tkOperator, "in", `"in"`); err != nil {
		return nil, err
	}
	if n.seq, err = p.parseExpr(0); err != nil {
		return nil, err
	}
	if p.is(tkName, "if") {
		return nil, twigError(p.cur().pos, `"for ... if" is not supported in Twig 3; use the "filter" filter`)
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	p.loops++
	defer func() { p.loops-- }()
	body, end, err := p.parseBody()
	if err != nil {
		return nil, err
	}
	n.body = body
	if end != nil && end.val == "else" {
		if err := p.blockEnd(); err != nil {
			return nil, err
		}
		if n.els, end, err = p.parseBody(); err != nil {
			return nil, err
		}
	}
	if end == nil || end.val != "endfor" {
		return nil, unexpectedEnd(end, start, "endfor")
	}
	return n, p.blockEnd()
}

func (p *parser) parseSet(start pos) (node, error) {
	var names []string
	for {
		t, err := p.name("a variable name")
		if err != nil {
			return nil, err
		}
		names = append(names, t.val)
		if !p.accept(tkPunct, ",") {
			break
		}
	}
	if p.accept(tkOperator, "=") {
		n := &setNode{p: start, names: names}
		for {
			x, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, x)
			if !p.accept(tkPunct, ",") {
				break
			}
		}
		if len(n.vals) != len(names) {
			return nil, twigError(start, "when you set several variables, you must give as many values as names")
		}
		return n, p.blockEnd()
	}
	if len(names) > 1 {
		return nil, twigError(start, "when using set with a block, you cannot have a multi-target")
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	body, end, err := p.parseBody()
	if err != nil {
		return nil, err
	}
	if end == nil || end.val != "endset" {
		return nil, unexpectedEnd(end, start, "endset")
	}
	return &captureNode{p: start, name: names[0], body: body}, p.blockEnd()
}

func (p *parser) parseApply(start pos, tag string) (node, error) {
	n := &applyNode{p: start}
	for {
		t, err := p.name("a filter name")
		if err != nil {
			return nil, err
		}
		f := &filterExpr{p: t.pos, name: t.val}
		if p.is(tkPunct, "(") {
			if f.args, f.names, err = p.parseArgs(); err != nil {
				return nil, err
			}
			if err := arrowsIn(f.args, f.names, arrowFilters[f.name]); err != nil {
				return nil, err
			}
		}
		n.filters = append(n.filters, f)
		if !p.accept(tkPunct, "|") {
			break
		}
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	body, end, err := p.parseBody()
	if err != nil {
		return nil, err
	}
	if end == nil || end.val != "end"+tag {
		return nil, unexpectedEnd(end, start, "end"+tag)
	}
	n.body = body
	return n, p.blockEnd()
}

func (p *parser) parseWith(start pos) (node, error) {
	n := &withNode{p: start}
	if p.cur().kind != tkBlockEnd && !p.is(tkName, "only") {
		x, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		n.vars = x
	}
	if p.accept(tkName, "only") {
		n.only = true
	}
	if err := p.blockEnd(); err != nil {
		return nil, err
	}
	body, end, err := p.parseBody()
	if err != nil {
		return nil, err
	}
	if end == nil || end.val != "endwith" {
		return nil, unexpectedEnd(end, start, "endwith")
	}
	n.body = body
	return n, p.blockEnd()
}

// --- expressions ---

// enter starts a nested body or expression; leave ends it.
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxNesting {
		return twigError(p.cur().pos, "template nesting limit exceeded: blocks and expressions nested more than %d deep", maxNesting)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseExpr(prec int) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.cur()
		if t.kind != tkOperator {
			break
		}
		op, ok := binaryOps[t.val]
		if !ok || op.prec < prec {
			break
		}
		p.next()
		if t.val == "is" || t.val == "is not" {
			if x, err = p.parseTest(x, t); err != nil {
				return nil, err
			}
			continue
		}
		next := op.prec + 1
		if op.right {
			next = op.prec
		}
		r, err := p.parseExpr(next)
		if err != nil {
			return nil, err
		}
		x = &binaryExpr{p: t.pos, op: t.val, l: x, r: r}
	}
	if prec == 0 {
		return p.conditional(x)
	}
	return x, nil
}

func (p *parser) conditional(x expr) (expr, error) {
	for p.is(tkPunct, "?") {
		q := p.next()
		c := &condExpr{p: q.pos, c: x}
		if p.accept(tkPunct, ":") {
			c.th = x
			e, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			c.els = e
		} else {
			saved := p.noDjango
			p.noDjango = true
			th, err := p.parseExpr(0)
			p.noDjango = saved
			if err != nil {
				return nil, err
			}
			c.th = th
			if p.accept(tkPunct, ":") {
				e, err := p.parseExpr(0)
				if err != nil {
					return nil, err
				}
				c.els = e
			} else {
				c.els = &litExpr{p: q.pos, val: ""}
			}
		}
		x = c
	}
	return x, nil
}

func (p *parser) primary() (expr, error) {
	t := p.cur()
	if t.kind == tkOperator {
		if prec, ok := unaryOps[t.val]; ok {
			p.next()
			x, err := p.parseExpr(prec)
			if err != nil {
				return nil, err
			}
			return p.postfix(&unaryExpr{p: t.pos, op: t.val, x: x})
		}
	}
	if t.kind == tkPunct && t.val == "(" {
		p.next()
		saved := p.noDjango
		p.noDjango = false
		x, err := p.parseExpr(0)
		p.noDjango = saved
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tkPunct, ")", `")" to close the parenthesis`); err != nil {
			return nil, err
		}
		return p.postfix(x)
	}
	return p.primaryExpr()
}

func (p *parser) primaryExpr() (expr, error) {
	t := p.cur()
	var x expr
	switch t.kind {
	case tkName:
		p.next()
		switch t.val {
		case "true", "TRUE":
			x = &litExpr{p: t.pos, val: true}
		case "false", "FALSE":
			x = &litExpr{p: t.pos, val: false}
		case "none", "NONE", "null", "NULL":
			x = &litExpr{p: t.pos, val: nil}
		default:
			if p.is(tkPunct, "(") {
				args, names, err := p.parseArgs()
				if err != nil {
					return nil, err
				}
				if err := arrowsIn(args, names, false); err != nil {
					return nil, err
				}
				x = &callExpr{p: t.pos, name: t.val, args: args, names: names}
			} else {
				x = &nameExpr{p: t.pos, name: t.val}
			}
		}
	case tkNumber:
		p.next()
		x = &litExpr{p: t.pos, val: t.num}
	case tkString, tkDQStart:
		s, err := p.parseString()
		if err != nil {
			return nil, err
		}
		x = s
	case tkOperator:
		// a word operator used as a name ("matches", "in"...)
		if isNameStart(t.val[0]) && !strings.Contains(t.val, " ") {
			p.next()
			x = &nameExpr{p: t.pos, name: t.val}
			break
		}
		return nil, twigError(t.pos, "unexpected operator %q", t.val)
	case tkPunct:
		switch t.val {
		case "[":
			a, err := p.parseArray()
			if err != nil {
				return nil, err
			}
			x = a
		case "{":
			h, err := p.parseHash()
			if err != nil {
				return nil, err
			}
			x = h
		default:
			return nil, twigError(t.pos, "unexpected %s", describe(t))
		}
	case tkArrow:
		return nil, twigError(t.pos, "an arrow function is only allowed as an argument")
	default:
		return nil, twigError(t.pos, "expected an expression, found %s", describe(t))
	}
	return p.postfix(x)
}

func (p *parser) parseString() (expr, error) {
	t := p.next()
	if t.kind == tkString {
		return &litExpr{p: t.pos, val: t.val}, nil
	}
	c := &concatExpr{p: t.pos}
	for {
		switch u := p.next(); u.kind {
		case tkString:
			c.parts = append(c.parts, &litExpr{p: u.pos, val: u.val})
		case tkInterpStart:
			x, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if p.cur().kind != tkInterpEnd {
				return nil, twigError(p.cur().pos, "unexpected %s in string interpolation", describe(p.cur()))
			}
			p.next()
			c.parts = append(c.parts, x)
		case tkDQEnd:
			return c, nil
		default:
			return nil, twigError(u.pos, "unexpected %s in a string", describe(u))
		}
	}
}

func (p *parser) parseArray() (expr, error) {
	open := p.next()
	a := &arrayExpr{p: open.pos}
	saved := p.noDjango
	p.noDjango = false
	defer func() { p.noDjango = saved }()
	for !p.is(tkPunct, "]") {
		if len(a.items) > 0 {
			if _, err := p.expect(tkPunct, ",", `"," or "]"`); err != nil {
				return nil, err
			}
			if p.is(tkPunct, "]") {
				break
			}
		}
		x, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		a.items = append(a.items, x)
	}
	p.next()
	return a, nil
}

func (p *parser) parseHash() (expr, error) {
	open := p.next()
	h := &hashExpr{p: open.pos}
	saved := p.noDjango
	p.noDjango = false
	defer func() { p.noDjango = saved }()
	for !p.is(tkPunct, "}") {
		if len(h.keys) > 0 {
			if _, err := p.expect(tkPunct, ",", `"," or "}"`); err != nil {
				return nil, err
			}
			if p.is(tkPunct, "}") {
				break
			}
		}
		t := p.cur()
		var key expr
		switch {
		case t.kind == tkString:
			p.next()
			key = &litExpr{p: t.pos, val: t.val}
		case t.kind == tkNumber:
			p.next()
			key = &litExpr{p: t.pos, val: t.num}
		case t.kind == tkName || t.kind == tkOperator && isNameStart(t.val[0]) && !strings.Contains(t.val, " "):
			p.next()
			key = &litExpr{p: t.pos, val: t.val}
			if !p.is(tkPunct, ":") { // {name} is {name: name}
				h.keys = append(h.keys, key)
				h.vals = append(h.vals, &nameExpr{p: t.pos, name: t.val})
				continue
			}
		case t.kind == tkPunct && t.val == "(":
			x, err := p.primary()
			if err != nil {
				return nil, err
			}
			key = x
		default:
			return nil, twigError(t.pos, "a hash key must be a quoted string, a number, a name, or an expression in parentheses, found %s", describe(t))
		}
		if _, err := p.expect(tkPunct, ":", `":" after a hash key`); err != nil {
			return nil, err
		}
		v, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		h.keys = append(h.keys, key)
		h.vals = append(h.vals, v)
	}
	p.next()
	return h, nil
}

// parseArgs parses "(a, b, ...)"; arrow functions are allowed, and named
// arguments (name=value) after the positional ones: names gives their
// names ("" for a positional argument), nil when none is named.
func (p *parser) parseArgs() (args []expr, names []string, err error) {
	p.next() // (
	saved := p.noDjango
	p.noDjango = false
	defer func() { p.noDjango = saved }()
	args = []expr{}
	for !p.is(tkPunct, ")") {
		if len(args) > 0 {
			if _, err := p.expect(tkPunct, ",", `"," or ")"`); err != nil {
				return nil, nil, err
			}
			if p.is(tkPunct, ")") {
				break
			}
		}
		name := ""
		if p.cur().kind == tkName && p.peek(1).kind == tkOperator && p.peek(1).val == "=" {
			name = p.cur().val
			for _, n := range names {
				if n == name {
					return nil, nil, twigError(p.cur().pos, "argument %q is defined twice", name)
				}
			}
			if names == nil {
				names = make([]string, len(args))
			}
			p.next()
			p.next()
		} else if names != nil {
			return nil, nil, twigError(p.cur().pos, "positional arguments cannot be used after named arguments")
		} else if p.cur().kind == tkName && p.peek(1).kind == tkPunct && p.peek(1).val == ":" {
			return nil, nil, twigError(p.cur().pos, "named arguments are written name=value")
		}
		var x expr
		if x, err = p.arrow(); x == nil && err == nil {
			x, err = p.parseExpr(0)
		}
		if err != nil {
			return nil, nil, err
		}
		args = append(args, x)
		if names != nil {
			names = append(names, name)
		}
	}
	p.next()
	return args, names, nil
}

// arrowFilters are the filters whose first argument (named arrow) is an
// arrow function; no other argument of a filter, function or test may be
// one. Twig compiles an arrow function anywhere among the arguments and
// fails when the filter uses it as a value; refusing it here makes that
// mistake a line:col when the template is saved.
var arrowFilters = map[string]bool{"map": true, "filter": true, "reduce": true, "sort": true}

// arrowsIn refuses an arrow function among args (named by names, nil when
// none is) except as the first, or the argument named arrow, when first
// is set.
func arrowsIn(args []expr, names []string, first bool) error {
	for i, a := range args {
		if _, ok := a.(*arrowExpr); !ok {
			continue
		}
		named := names != nil && names[i] != ""
		if first && ((!named && i == 0) || (named && names[i] == "arrow")) {
			continue
		}
		return twigError(a.at(), "an arrow function is only allowed as the first argument of map, filter, reduce and sort")
	}
	return nil
}

// arrow parses "x => body" or "(x, y) => body" when the tokens ahead are one.
func (p *parser) arrow() (expr, error) {
	start := p.cur()
	var params []string
	n := 0
	switch {
	case start.kind == tkName && p.peek(1).kind == tkArrow:
		params = []string{start.val}
		n = 2
	case start.kind == tkPunct && start.val == "(":
		k := 1
		for {
			t := p.peek(k)
			if t.kind == tkPunct && t.val == ")" && len(params) == 0 {
				break
			}
			if t.kind != tkName {
				return nil, nil
			}
			params = append(params, t.val)
			k++
			if u := p.peek(k); u.kind == tkPunct && u.val == "," {
				k++
				continue
			}
			break
		}
		if t := p.peek(k); t.kind != tkPunct || t.val != ")" {
			return nil, nil
		}
		if p.peek(k+1).kind != tkArrow {
			return nil, nil
		}
		n = k + 2
	default:
		return nil, nil
	}
	arrowTok := p.peek(n - 1)
	for range n {
		p.next()
	}
	body, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	return &arrowExpr{p: arrowTok.pos, params: params, body: body}, nil
}

func (p *parser) postfix(x expr) (expr, error) {
	for {
		t := p.cur()
		if t.kind != tkPunct {
			return x, nil
		}
		switch t.val {
		case ".":
			p.next()
			k := p.cur()
			var key expr
			switch {
			case k.kind == tkName || k.kind == tkOperator && isNameStart(k.val[0]) && !strings.Contains(k.val, " "):
				key = &litExpr{p: k.pos, val: k.val}
			case k.kind == tkNumber:
				if i, ok := k.num.(int64); ok {
					key = &litExpr{p: k.pos, val: i}
				} else {
					key = &litExpr{p: k.pos, val: k.val}
				}
			default:
				return nil, twigError(k.pos, "expected an attribute name after \".\", found %s", describe(k))
			}
			p.next()
			if p.is(tkPunct, "(") {
				// a method call: the data has no objects, so Twig (without
				// strict_variables) gives null
				if _, _, err := p.parseArgs(); err != nil {
					return nil, err
				}
				x = &filterExpr{p: k.pos, obj: x, name: reservedPrefix + "drop", helper: true}
				continue
			}
			x = &getExpr{p: k.pos, obj: x, key: key, dot: true}
		case "[":
			p.next()
			saved := p.noDjango
			p.noDjango = false
			var start expr
			slice := false
			if p.is(tkPunct, ":") {
				slice = true
				start = &litExpr{p: t.pos, val: int64(0)}
			} else {
				s, err := p.parseExpr(0)
				if err != nil {
					p.noDjango = saved
					return nil, err
				}
				start = s
			}
			if p.accept(tkPunct, ":") {
				slice = true
			}
			var length expr
			if slice && !p.is(tkPunct, "]") {
				l, err := p.parseExpr(0)
				if err != nil {
					p.noDjango = saved
					return nil, err
				}
				length = l
			}
			p.noDjango = saved
			if _, err := p.expect(tkPunct, "]", `"]"`); err != nil {
				return nil, err
			}
			if slice {
				x = &sliceExpr{p: t.pos, obj: x, start: start, length: length}
			} else {
				x = &getExpr{p: t.pos, obj: x, key: start}
			}
		case "|":
			p.next()
			nt, err := p.name("a filter name")
			if err != nil {
				return nil, err
			}
			f := &filterExpr{p: nt.pos, obj: x, name: nt.val}
			switch {
			case p.is(tkPunct, "("):
				if f.args, f.names, err = p.parseArgs(); err != nil {
					return nil, err
				}
				if err := arrowsIn(f.args, f.names, arrowFilters[f.name]); err != nil {
					return nil, err
				}
			case p.is(tkPunct, ":") && p.cur().adjacent && !p.noDjango:
				// pongo2 style |name:arg, kept for compatibility
				p.next()
				a, err := p.djangoArg()
				if err != nil {
					return nil, err
				}
				f.args, f.django = []expr{a}, true
			}
			x = f
		default:
			return x, nil
		}
	}
}

// djangoArg is the argument of |name:arg: a literal or a variable with
// attributes and subscripts.
func (p *parser) djangoArg() (expr, error) {
	t := p.cur()
	var x expr
	switch t.kind {
	case tkNumber:
		p.next()
		return &litExpr{p: t.pos, val: t.num}, nil
	case tkString:
		p.next()
		return &litExpr{p: t.pos, val: t.val}, nil
	case tkName:
		p.next()
		switch t.val {
		case "true":
			return &litExpr{p: t.pos, val: true}, nil
		case "false":
			return &litExpr{p: t.pos, val: false}, nil
		}
		x = &nameExpr{p: t.pos, name: t.val}
	default:
		return nil, twigError(t.pos, "expected a filter argument, found %s", describe(t))
	}
	for {
		switch {
		case p.is(tkPunct, "."):
			p.next()
			k := p.cur()
			if k.kind != tkName && k.kind != tkNumber {
				return nil, twigError(k.pos, "expected an attribute name after \".\", found %s", describe(k))
			}
			p.next()
			var key any = k.val
			if i, ok := k.num.(int64); ok {
				key = i
			}
			x = &getExpr{p: k.pos, obj: x, key: &litExpr{p: k.pos, val: key}, dot: true}
		case p.is(tkPunct, "["):
			o := p.next()
			k, err := p.parseExpr(0)
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tkPunct, "]", `"]"`); err != nil {
				return nil, err
			}
			x = &getExpr{p: o.pos, obj: x, key: k}
		default:
			return x, nil
		}
	}
}

func (p *parser) parseTest(x expr, op *token) (expr, error) {
	t, err := p.name("a test name")
	if err != nil {
		return nil, err
	}
	name := t.val
	if second, ok := twoWordTests[name]; ok && p.is(tkName, second) {
		p.next()
		name += " " + second
	}
	te := &testExpr{p: t.pos, x: x, name: name, not: op.val == "is not"}
	switch {
	case p.is(tkPunct, "("):
		var names []string
		if te.args, names, err = p.parseArgs(); err != nil {
			return nil, err
		}
		if err := arrowsIn(te.args, names, false); err != nil {
			return nil, err
		}
		if names != nil {
			return nil, twigError(t.pos, "named arguments are not supported in tests")
		}
	case testTakesArg[name]:
		a, err := p.primaryExpr()
		if err != nil {
			return nil, err
		}
		te.args = []expr{a}
	}
	return te, nil
}

// testTakesArg are the tests with a mandatory argument, which may be given
// without parentheses (x is same as y).
var testTakesArg = map[string]bool{"same as": true, "divisible by": true, "sameas": true}
