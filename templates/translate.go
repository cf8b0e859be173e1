package templates

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Twig front end.
//
// Cerb writes templates in Twig. Compile parses every {{ }} and {% %} with
// Twig's grammar (twig_lex.go, twig_parse.go) and translates the tree into
// the source of an ordinary pongo2 template, compiled once and cached:
//
//   - What pongo2 has stays as it is: variables, a.b, a[k], filters, if/elif,
//     set, function calls, and, or, not.
//   - Twig's operators with PHP semantics become hookhost helper filters
//     named _tw_* applied to the left operand: a + b is (a)|_tw_add:b,
//     a ~ b is (a)|_tw_cat:b, x is empty is (x)|_tw_is_empty, and so on.
//   - Array and hash literals become the functions _tw_list(...) and
//     _tw_hash(k, v, ...); null is _tw_null().
//   - Twig filter arguments |f(a, b), filters after a parenthesized
//     expression, the conditional a ? b : c, arrow functions (v, k) => ... and
//     string escapes are small patches of the vendored pongo2 (see
//     third_party/pongo2/PATCHES.md).
//   - for, set ... endset, do and with are pongo2 tags registered by this
//     package (_tw_for, _tw_capture, _tw_do, _tw_with), with Twig's loop
//     variable and scoping.
//   - Whitespace control ("-", "~") and Cerb's trim_blocks (the first line
//     feed after a block tag is dropped) are applied to the text while
//     translating, because pongo2's TrimBlocks option is not safe for
//     concurrent renders.
//
// The translation keeps a map from positions in the pongo2 source back to
// the Twig source, so that errors report the template's own line:column.

// reservedPrefix starts the names of the helpers; templates may not use it.
const reservedPrefix = "_tw_"

// frag is an emitted pongo2 expression.
type frag struct {
	s     string
	marks []mark
	atom  bool // a literal or variable path: can take |filter and be a :param
	lit   bool // a literal
	str   bool // known to be text
}

// mark maps an offset of the pongo2 source to a Twig position.
type mark struct {
	off int
	p   pos
}

type translator struct {
	b     strings.Builder
	marks []mark
	tmp   int
	loops int
	depth int // of the expression being translated
}

// translation is a template translated to pongo2.
type translation struct {
	src   string
	marks []mark
	lines []int // offsets of the lines of src
}

func translate(src string, syn *delims) (*translation, error) {
	nodes, err := parseTwig(src, syn)
	if err != nil {
		return nil, err
	}
	t := &translator{}
	if err := t.body(nodes); err != nil {
		return nil, err
	}
	out := t.b.String()
	tr := &translation{src: out, marks: t.marks, lines: []int{0}}
	for i := 0; i < len(out); i++ {
		if out[i] == '\n' {
			tr.lines = append(tr.lines, i+1)
		}
	}
	sort.SliceStable(tr.marks, func(i, j int) bool { return tr.marks[i].off < tr.marks[j].off })
	return tr, nil
}

// position maps a line:col of the pongo2 source to the Twig source.
func (tr *translation) position(line, col int) (int, int) {
	if line <= 0 || line > len(tr.lines) {
		return 0, 0
	}
	off := tr.lines[line-1] + col - 1
	i := sort.Search(len(tr.marks), func(i int) bool { return tr.marks[i].off > off }) - 1
	if i < 0 {
		return 0, 0
	}
	return tr.marks[i].p.line, tr.marks[i].p.col
}

func (t *translator) write(s string) { t.b.WriteString(s) }

func (t *translator) mark(p pos) { t.marks = append(t.marks, mark{t.b.Len(), p}) }

func (t *translator) writeFrag(f frag) {
	base := t.b.Len()
	for _, m := range f.marks {
		t.marks = append(t.marks, mark{base + m.off, m.p})
	}
	t.b.WriteString(f.s)
}

func (t *translator) temp() string {
	t.tmp++
	return reservedPrefix + "t" + strconv.Itoa(t.tmp)
}

func (t *translator) body(nodes []node) error {
	for _, n := range nodes {
		if err := t.node(n); err != nil {
			return err
		}
	}
	return nil
}

func (t *translator) text(s string) {
	// pongo2 would read "{{", "{%" and "{#" as tags (package placeholders
	// leave them in the text), and a "{" at the end as the start of the
	// next tag.
	for {
		i := strings.IndexByte(s, '{')
		for i >= 0 && i+1 < len(s) && strings.IndexByte("{%#", s[i+1]) < 0 {
			j := strings.IndexByte(s[i+1:], '{')
			if j < 0 {
				i = -1
				break
			}
			i += j + 1
		}
		if i < 0 {
			t.write(s)
			return
		}
		t.write(s[:i])
		t.write(`{{ "{" }}`)
		s = s[i+1:]
	}
}

func (t *translator) tag(p pos, parts ...any) error {
	t.mark(p)
	t.write("{% ")
	for _, x := range parts {
		switch v := x.(type) {
		case string:
			t.write(v)
		case expr:
			f, err := t.expr(v)
			if err != nil {
				return err
			}
			t.writeFrag(f)
		}
	}
	t.write(" %}")
	return nil
}

func (t *translator) node(n node) error {
	switch n := n.(type) {
	case *textNode:
		t.text(n.text)
	case *rawNode:
		if n.text != "" {
			t.write("{{ ")
			t.write(quote(n.text))
			t.write(" }}")
		}
	case *printNode:
		f, err := t.expr(n.x)
		if err != nil {
			return err
		}
		t.mark(n.p)
		t.write("{{ ")
		t.writeFrag(f)
		t.write(" }}")
	case *ifNode:
		for i, c := range n.conds {
			kw := "if "
			if i > 0 {
				kw = "elif "
			}
			if err := t.tag(c.at(), kw, c); err != nil {
				return err
			}
			if err := t.body(n.bodies[i]); err != nil {
				return err
			}
		}
		if n.els != nil {
			t.write("{% else %}")
			if err := t.body(n.els); err != nil {
				return err
			}
		}
		t.write("{% endif %}")
	case *forNode:
		for _, v := range []string{n.key, n.val} {
			if v != "" {
				if err := checkName(v, n.p); err != nil {
					return err
				}
			}
		}
		vars := n.key
		if n.val != "" {
			vars += ", " + n.val
		}
		if err := t.tag(n.p, "_tw_for ", vars, " in ", n.seq); err != nil {
			return err
		}
		t.loops++
		err := t.body(n.body)
		t.loops--
		if err != nil {
			return err
		}
		if n.els != nil {
			t.write("{% _tw_forelse %}")
			if err := t.body(n.els); err != nil {
				return err
			}
		}
		t.write("{% _tw_endfor %}")
	case *setNode:
		for _, name := range n.names {
			if err := checkName(name, n.p); err != nil {
				return err
			}
		}
		if len(n.names) == 1 {
			return t.tag(n.p, "set ", n.names[0], " = ", n.vals[0])
		}
		temps := make([]string, len(n.names))
		for i, v := range n.vals {
			temps[i] = t.temp()
			if err := t.tag(n.p, "set ", temps[i], " = ", v); err != nil {
				return err
			}
		}
		for i, name := range n.names {
			t.write("{% set " + name + " = " + temps[i] + " %}")
		}
	case *captureNode:
		if err := checkName(n.name, n.p); err != nil {
			return err
		}
		t.mark(n.p)
		t.write("{% _tw_capture " + n.name + " %}")
		if err := t.body(n.body); err != nil {
			return err
		}
		t.write("{% _tw_endcapture %}")
	case *doNode:
		return t.tag(n.p, "_tw_do ", n.x)
	case *applyNode:
		name := t.temp()
		t.mark(n.p)
		t.write("{% _tw_capture " + name + " %}")
		if err := t.body(n.body); err != nil {
			return err
		}
		t.write("{% _tw_endcapture %}")
		var x expr = &nameExpr{p: n.p, name: name, internal: true}
		for _, f := range n.filters {
			g := *f
			g.obj = x
			x = &g
		}
		f, err := t.expr(x)
		if err != nil {
			return err
		}
		t.write("{{ ")
		t.writeFrag(f)
		t.write(" }}")
	case *withNode:
		t.mark(n.p)
		parts := []any{"_tw_with "}
		if n.vars != nil {
			parts = append(parts, n.vars)
		}
		if n.only {
			parts = append(parts, " only")
		}
		if err := t.tag(n.p, parts...); err != nil {
			return err
		}
		if err := t.body(n.body); err != nil {
			return err
		}
		t.write("{% _tw_endwith %}")
	default:
		return fmt.Errorf("templates: unknown node %T", n)
	}
	return nil
}

// pongoKeywords cannot be pongo2 variable names.
var pongoKeywords = map[string]bool{"in": true, "and": true, "or": true, "not": true, "true": true, "false": true, "as": true, "export": true}

// identOK reports whether a name can be written as a pongo2 identifier.
func identOK(s string) bool {
	if s == "" || pongoKeywords[s] || !(s[0] == '_' || s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkName checks a name that a tag assigns.
func checkName(name string, p pos) error {
	if strings.HasPrefix(name, reservedPrefix) {
		return twigError(p, "names starting with %q are reserved", reservedPrefix)
	}
	if !identOK(name) {
		return twigError(p, "%q cannot be used as a variable name", name)
	}
	return nil
}

// quote writes s as a pongo2 string literal.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// cat concatenates strings and frags into a frag.
func cat(parts ...any) frag {
	var f frag
	var b strings.Builder
	for _, x := range parts {
		switch v := x.(type) {
		case string:
			b.WriteString(v)
		case frag:
			for _, m := range v.marks {
				f.marks = append(f.marks, mark{b.Len() + m.off, m.p})
			}
			b.WriteString(v.s)
		case pos:
			f.marks = append(f.marks, mark{b.Len(), v})
		}
	}
	f.s = b.String()
	return f
}

// operand returns f in a form that can be followed by |filter.
func operand(f frag) frag {
	if f.atom {
		return f
	}
	return cat("(", f, ")")
}

func atom(f frag) frag { f.atom = true; return f }

// helper applies helper filter name to x with the arguments.
func (t *translator) helper(p pos, name string, x frag, args ...frag) frag {
	f := cat(operand(x), "|", p, name)
	switch {
	case len(args) == 1 && args[0].atom && !strings.HasPrefix(args[0].s, "-"):
		f = cat(f, ":", args[0])
	case len(args) > 0:
		parts := []any{f, "("}
		for i, a := range args {
			if i > 0 {
				parts = append(parts, ", ")
			}
			parts = append(parts, a)
		}
		f = cat(append(parts, ")")...)
	}
	return cat("(", f, ")")
}

func (t *translator) exprs(xs []expr) ([]frag, error) {
	out := make([]frag, len(xs))
	for i, x := range xs {
		f, err := t.expr(x)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

func joinArgs(name string, p pos, args []frag) frag {
	parts := []any{p, name, "("}
	for i, a := range args {
		if i > 0 {
			parts = append(parts, ", ")
		}
		parts = append(parts, a)
	}
	return atom(cat(append(parts, ")")...))
}

func literal(v any) frag {
	switch x := v.(type) {
	case nil:
		return atom(cat(reservedPrefix + "null()"))
	case bool:
		if x {
			return frag{s: "true", atom: true, lit: true}
		}
		return frag{s: "false", atom: true, lit: true}
	case string:
		return frag{s: quote(x), atom: true, lit: true, str: true}
	case int64:
		if x < 0 {
			return frag{s: "(" + strconv.FormatInt(x, 10) + ")"}
		}
		return frag{s: strconv.FormatInt(x, 10), atom: true, lit: true}
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		if math.Signbit(x) {
			return frag{s: "(" + s + ")"}
		}
		return frag{s: s, atom: true, lit: true}
	}
	panic(fmt.Sprintf("templates: literal %T", v))
}

// binaryHelpers are the helper filters of the binary operators.
var binaryHelpers = map[string]string{
	"+": "add", "-": "sub", "*": "mul", "/": "div", "//": "idiv", "%": "mod", "**": "pow",
	"~": "cat", "==": "eq", "!=": "ne", "===": "same", "!==": "notsame", "<": "lt", ">": "gt", "<=": "le", ">=": "ge",
	"<=>": "cmp", "in": "in", "not in": "notin", "matches": "matches", "starts with": "startswith",
	"ends with": "endswith", "??": "coalesce", "b-and": "bitand", "b-or": "bitor", "b-xor": "bitxor",
}

func (t *translator) expr(x expr) (frag, error) {
	// Left-associative chains (a ~ b ~ c ..., a|f|g ...) are parsed in a
	// loop but nest in the tree: the depth is checked here too.
	t.depth++
	defer func() { t.depth-- }()
	if t.depth > 2*maxNesting {
		return frag{}, twigError(x.at(), "template nesting limit exceeded: expressions nested more than %d deep", 2*maxNesting)
	}
	switch e := x.(type) {
	case *litExpr:
		return literal(e.val), nil
	case *nameExpr:
		if strings.HasPrefix(e.name, reservedPrefix) && !e.internal {
			return frag{}, twigError(e.p, "names starting with %q are reserved", reservedPrefix)
		}
		if e.name == "_context" {
			return atom(cat(e.p, reservedPrefix+"context()")), nil
		}
		if !identOK(e.name) {
			return atom(cat(e.p, reservedPrefix+"var(", quote(e.name), ")")), nil
		}
		return atom(cat(e.p, e.name)), nil
	case *getExpr:
		obj, err := t.expr(e.obj)
		if err != nil {
			return frag{}, err
		}
		key, err := t.expr(e.key)
		if err != nil {
			return frag{}, err
		}
		if obj.atom && !obj.lit {
			if lit, ok := e.key.(*litExpr); ok && e.dot {
				switch k := lit.val.(type) {
				case string:
					if identOK(k) {
						return atom(cat(obj, ".", e.p, k)), nil
					}
				case int64:
					if k >= 0 {
						return atom(cat(obj, ".", e.p, strconv.FormatInt(k, 10))), nil
					}
				}
			}
			return atom(cat(obj, "[", e.p, key, "]")), nil
		}
		return t.helper(e.p, reservedPrefix+"attr", obj, key), nil
	case *sliceExpr:
		obj, err := t.expr(e.obj)
		if err != nil {
			return frag{}, err
		}
		args := []expr{e.start}
		if e.length != nil {
			args = append(args, e.length)
		}
		fa, err := t.exprs(args)
		if err != nil {
			return frag{}, err
		}
		return cat("(", operand(obj), "|", e.p, "slice(", joinFrags(fa), "))"), nil
	case *filterExpr:
		return t.filter(e)
	case *callExpr:
		return t.call(e)
	case *unaryExpr:
		if lit, ok := e.x.(*litExpr); ok && e.op == "-" {
			switch v := lit.val.(type) {
			case int64:
				return literal(-v), nil
			case float64:
				return literal(-v), nil
			}
		}
		f, err := t.expr(e.x)
		if err != nil {
			return frag{}, err
		}
		switch e.op {
		case "not":
			return cat("(not ", operand(f), ")"), nil
		case "-":
			return t.helper(e.p, reservedPrefix+"neg", f), nil
		default:
			return t.helper(e.p, reservedPrefix+"pos", f), nil
		}
	case *binaryExpr:
		if u, ok := e.l.(*unaryExpr); ok && e.op == "**" {
			// Twig compiles -2 ** 2 (and (-2) ** 2) to PHP's (-2 ** 2),
			// where ** binds tighter than the sign: -(2 ** 2).
			return t.expr(&unaryExpr{p: u.p, op: u.op, x: &binaryExpr{p: e.p, op: e.op, l: u.x, r: e.r}})
		}
		l, err := t.expr(e.l)
		if err != nil {
			return frag{}, err
		}
		r, err := t.expr(e.r)
		if err != nil {
			return frag{}, err
		}
		switch e.op {
		case "and", "or":
			return cat("(", operand(l), " ", e.op, " ", operand(r), ")"), nil
		case "..":
			return joinArgs("range", e.p, []frag{l, r}), nil
		}
		if e.op == "~" {
			return t.concat(e.p, l, r), nil
		}
		h, ok := binaryHelpers[e.op]
		if !ok {
			return frag{}, twigError(e.p, "operator %q is not supported", e.op)
		}
		return t.helper(e.p, reservedPrefix+h, l, r), nil
	case *testExpr:
		return t.test(e)
	case *condExpr:
		c, err := t.expr(e.c)
		if err != nil {
			return frag{}, err
		}
		th, err := t.expr(e.th)
		if err != nil {
			return frag{}, err
		}
		els, err := t.expr(e.els)
		if err != nil {
			return frag{}, err
		}
		return cat("(", operand(c), " ? ", operand(th), " : ", operand(els), ")"), nil
	case *arrayExpr:
		items, err := t.exprs(e.items)
		if err != nil {
			return frag{}, err
		}
		return joinArgs(reservedPrefix+"list", e.p, items), nil
	case *hashExpr:
		var args []frag
		for i, k := range e.keys {
			kf, err := t.expr(k)
			if err != nil {
				return frag{}, err
			}
			vf, err := t.expr(e.vals[i])
			if err != nil {
				return frag{}, err
			}
			args = append(args, kf, vf)
		}
		return joinArgs(reservedPrefix+"hash", e.p, args), nil
	case *arrowExpr:
		for _, p := range e.params {
			if err := checkName(p, e.p); err != nil {
				return frag{}, err
			}
		}
		body, err := t.expr(e.body)
		if err != nil {
			return frag{}, err
		}
		return cat("((", strings.Join(e.params, ", "), ") => ", operand(body), ")"), nil
	case *concatExpr:
		parts, err := t.exprs(e.parts)
		if err != nil {
			return frag{}, err
		}
		if len(parts) == 1 {
			return t.concat(e.p, parts[0]), nil
		}
		return t.concat(e.p, parts...), nil
	}
	return frag{}, fmt.Errorf("templates: unknown expression %T", x)
}

func joinFrags(fs []frag) frag {
	parts := make([]any, 0, 2*len(fs))
	for i, f := range fs {
		if i > 0 {
			parts = append(parts, ", ")
		}
		parts = append(parts, f)
	}
	return cat(parts...)
}

func (t *translator) filter(e *filterExpr) (frag, error) {
	if enc, ok := e.obj.(*filterExpr); ok && plainFilter(e, "json_pretty") && plainFilter(enc, "json_encode") {
		// x|json_encode|json_pretty: the json_encode writes the pretty
		// text for the json_pretty after it (fJSONEncodePretty).
		obj, err := t.expr(enc.obj)
		if err != nil {
			return frag{}, err
		}
		f := cat("(", operand(obj), "|", enc.p, reservedPrefix+"json_encode_pretty)")
		return cat("(", f, "|", e.p, "json_pretty)"), nil
	}
	obj, err := t.expr(e.obj)
	if err != nil {
		return frag{}, err
	}
	if e.helper {
		return t.helper(e.p, e.name, obj), nil
	}
	if _, ok := filterTable[e.name]; !ok {
		if slices.Contains(bannedFilters, e.name) {
			return frag{}, twigError(e.p, "filter %q is not allowed", e.name)
		}
		if platformFilters[e.name] {
			return frag{}, twigError(e.p, "filter %s is a Cerb platform filter and is not available in hookhost", e.name)
		}
		return frag{}, twigError(e.p, "unknown filter %q", e.name)
	}
	params, named := filterParams[e.name]
	argExprs, err := orderArgs("filter", e.name, params, named, e.p, e.args, e.names)
	if err != nil {
		return frag{}, err
	}
	args, err := t.exprs(argExprs)
	if err != nil {
		return frag{}, err
	}
	f := cat(operand(obj), "|", e.p, e.name)
	switch {
	case e.django:
		f = cat(f, ":", args[0])
	case len(args) > 0:
		f = cat(f, "(", joinFrags(args), ")")
	}
	return cat("(", f, ")"), nil
}

// plainFilter reports whether e is filter name written without arguments.
func plainFilter(e *filterExpr, name string) bool {
	return e.name == name && len(e.args) == 0 && !e.django && !e.helper
}

func (t *translator) call(e *callExpr) (frag, error) {
	if _, ok := functionTable[e.name]; !ok {
		if isPlatformFunction(e.name) {
			return frag{}, twigError(e.p, "function %s() is a Cerb platform function and is not available in hookhost", e.name)
		}
		if unsupportedFunctions[e.name] {
			return frag{}, twigError(e.p, "function %s() is not available in hookhost", e.name)
		}
		return frag{}, twigError(e.p, "unknown function %q", e.name)
	}
	params, named := functionParams[e.name]
	argExprs, err := orderArgs("function", e.name, params, named, e.p, e.args, e.names)
	if err != nil {
		return frag{}, err
	}
	args, err := t.exprs(argExprs)
	if err != nil {
		return frag{}, err
	}
	return joinArgs(e.name, e.p, args), nil
}

// testHelpers maps Twig and Cerb tests to helper filters.
var testHelpers = map[string]string{
	"empty": "is_empty", "iterable": "is_iterable", "numeric": "is_numeric", "null": "is_null", "none": "is_null",
	"prefixed": "is_prefixed", "suffixed": "is_suffixed", "pattern": "is_pattern", "same as": "same", "sameas": "same",
	"record type": "is_record_type", "even": "is_even", "odd": "is_odd", "divisible by": "is_divisible",
	"defined": "is_defined", "string": "is_string", "mapping": "is_mapping", "sequence": "is_sequence",
}

func (t *translator) test(e *testExpr) (frag, error) {
	x, err := t.expr(e.x)
	if err != nil {
		return frag{}, err
	}
	h, ok := testHelpers[e.name]
	if !ok {
		return frag{}, twigError(e.p, "unknown test %q", e.name)
	}
	args, err := t.exprs(e.args)
	if err != nil {
		return frag{}, err
	}
	var f frag
	switch {
	case e.name == "defined":
		f, err = t.defined(e, x)
		if err != nil {
			return frag{}, err
		}
	default:
		f = t.helper(e.p, reservedPrefix+h, x, args...)
	}
	if e.not {
		return cat("(not ", f, ")"), nil
	}
	return f, nil
}

// defined tests whether the variable or the last key of a path exists.
func (t *translator) defined(e *testExpr, x frag) (frag, error) {
	switch v := e.x.(type) {
	case *nameExpr:
		return atom(cat(e.p, reservedPrefix+"defined(", quote(v.name), ")")), nil
	case *getExpr:
		obj, err := t.expr(v.obj)
		if err != nil {
			return frag{}, err
		}
		key, err := t.expr(v.key)
		if err != nil {
			return frag{}, err
		}
		return t.helper(e.p, reservedPrefix+"has", obj, key), nil
	}
	return t.helper(e.p, reservedPrefix+"is_defined", x), nil
}

// concat joins operands as text with pongo2's "+", which checks the
// render's string cap. Operands that are not known to be text go through
// _tw_str (PHP's string conversion).
func (t *translator) concat(p pos, parts ...frag) frag {
	out := []any{"("}
	for i, f := range parts {
		if i > 0 {
			out = append(out, " + ")
		}
		if !f.str {
			f = cat(operand(f), "|", p, reservedPrefix+"str")
		}
		out = append(out, f)
	}
	if len(parts) == 1 {
		out = append(out, ` + ""`)
	}
	r := cat(append(out, ")")...)
	r.str = true
	return r
}
