// Package templates is hookhost's template environment: Twig, as Cerb
// writes it, on pongo2. Templates are configured the way Cerb configures
// Twig (autoescape off, missing values render empty, no access to files,
// the first line feed after a block tag dropped), with Cerb's filter and
// function names, and a compile-once cache keyed by template source.
//
// # Twig
//
// Compile parses every {{ }} and {% %} with Twig 3's grammar and translates
// it into an ordinary pongo2 template, compiled once (see translate.go):
// filter arguments |f(a, b), is / is not tests (empty, iterable, numeric,
// prefixed, suffixed, pattern, same as, defined, null, record type...),
// ternaries a ? b : c, a ? b, a ?: b and ??, array and hash literals, ~ and
// "#{}" interpolation, accessors after filters and calls, slices [1:],
// arrow functions in map, filter, reduce and sort, in, not in, starts with,
// ends with, matches, <=>, .., b-and..., line feeds inside tags, "-" and
// "~" whitespace control, elseif, for ... else with Twig's loop variable
// (loop.index, loop.first, loop.last, loop.length, loop.parent...), set,
// set ... endset, do, apply, verbatim and with, and named arguments
// (trim(side='left'), given in the order of the PHP parameters, params.go).
// Tags that read files or define macros are refused; so are the Twig tags
// Cerb's sandbox does not allow (autoescape, flush, deprecated, guard,
// types), Twig 3's removed filter and raw tags, constant(), and Cerb
// platform functions such as cerb_url() (with a message naming the
// function). A script's "\r\n" is read as "\n", as Twig's lexer does.
// Syntax errors carry the line and column in the template; runtime errors
// the position of the filter or function that failed: where PHP throws
// (a TypeError, a ValueError, Twig's RuntimeError), the render fails, and
// Cerb leaves the value empty. pongo2's |f:arg form is still accepted.
//
// Operators follow PHP 8 (php.go): + - * / % ** on numeric text compute
// numbers ("1" + "2" is 3, "12abc" counts as 12), while text that does not
// start with a number and arrays are a render error, as PHP's TypeError
// ("abc" + 1, [1] % 2, "x" is even); / gives a float unless the division is
// exact; integers overflow into floats; == < <=> compare as PHP 8's
// zend_compare (numeric text as numbers, null and booleans as booleans,
// arrays by size then item by item, whatever their order: [] == false,
// null < 0 is false); "0" is false; b-and, b-or and b-xor on two strings
// work byte by byte; -2 ** 2 is -4 as Twig compiles it; and "in" looks at
// a dictionary's values. Variables set inside a for loop keep their value
// after it only if they existed before the loop.
//
// # Data
//
// Templates read their variables from a *dict.Map. Dictionaries keep their
// insertion order everywhere: in json_encode output, in loops and in the
// keys filter. hookhost uses a small patch of pongo2 (third_party/pongo2,
// see PATCHES.md) that resolves d.key, d["key"] and d.0 on any ordered map,
// iterates it in key order, and reads the render's variables straight from
// the *dict.Map, so a render copies nothing.
//
// Loops follow Twig: {% for v in d %} gives the values of a dictionary,
// {% for k, v in d %} its keys and values, {% for i, v in list %} the index
// and the item.
//
// # Printing
//
// {{ x }} prints values the way PHP does, with one hookhost decision:
// true prints "1", false and null print nothing, floats print with PHP's
// 14 significant digits and no trailing zeros (0.1 + 0.2 prints 0.3, 1e14
// prints 1.0E+14, -0.0 prints -0), and a dictionary or list prints as
// json_encode gives it (PHP would print "Array"; json.go).
//
// json_encode is PHP's json_encode with its flags: "/" as "\/", non-ASCII
// as \uXXXX, floats with serialize_precision -1 (1.0e+100), an array as a
// JSON list when its keys are 0, 1, ... n-1 in order and as an object
// otherwise, [] for an empty one, and false (printed as nothing) when the
// value cannot be encoded (invalid UTF-8, INF).
//
// # Filters and functions
//
// Filters and functions are plain Go functions (Filter, Function) in the
// dict value model. A function call always finds the function, even when a
// variable has the same name. Arrays follow PHP (arrays.go): integer keys
// and canonical numeric text keys are one ("1" is 1, and keys gives it as
// a number), sort, filter, batch and slice(preserve_keys) keep the keys of
// the items, merge, slice and reverse renumber the integer keys, and an
// array whose keys are 0, 1, ... n-1 in order is a list. Filters that
// take text refuse an array (PHP's TypeError); filters that take an array
// refuse text. upper, lower and title use mbstring's full case mapping
// (x/text/cases); escape has Twig's html, js, css, html_attr and url
// strategies; round and number_format round as PHP (pre-rounding, halves
// away from zero); format is PHP's sprintf (sprintf.go).
//
// Dates (date.go, strtotime.go) are PHP DateTimes: a Unix time, or text
// read by a timelib-style strtotime (ISO 8601, US and European forms,
// month names, RFC 2822, zones and offsets, "@ts", relative parts such as
// "+1 day", "next monday", "first day of next month", "noon"). The date
// filter converts to its timezone argument (default UTC; false keeps the
// date's zone); date_modify and the date() function give a DateTime.
// StrToTime is exported for the automations' @date annotation.
//
// Cerb's own filters and functions (cerb.go) follow Cerb 10.4's
// _DevblocksTwigExtensions and the DevblocksPlatform helpers they call:
// most give "" for a value that is not text, str_pos and str_sub count
// bytes, truncate's length includes the separator, array_diff,
// array_intersect and array_unique keep the keys, and so on.
// kata_encode is Cerb's emitter, kata_parse reads with automations/kata.
//
// # Package placeholders
//
// Cerb packages fill their records at import with Twig on other delimiters:
// {{{ expr }}}, {{% tag %}} and {{# comment #}}, everything else (a
// script's own {{ }} and {% %} included) being text. CompilePackage and
// RenderPackage read that syntax with the same lexer (other delimiters),
// the same Twig front end, filters, functions, printing rules, sandbox and
// limits as scripts.
//
// # Sandbox
//
// Every Env has its own pongo2 template set holding its filters and tags;
// nothing is registered in pongo2's global registries, and pongo2's own
// filters are hidden from it. The translation's helpers (named _tw_*) cannot
// be named by a template in either syntax.
//
// # Limits
//
// pongo2 cannot cancel a render, so every render carries its own state and
// checks it as it goes: at every loop iteration and arrow-function call, at
// every filter and function call, and before a filter or function builds a
// large value. A render that runs into a limit fails at once with an *Error
// wrapping a *LimitError that names the limit. The limits (Limits,
// WithLimits; RenderContext adds cancellation by a context) and their
// defaults:
//
//   - Output: 16 MiB of output.
//   - String: every string a filter, function or operator builds (~, join,
//     repeat, replace, json_encode...) is at most String bytes; default:
//     Output.
//   - Items: every list and dictionary built holds at most 1,000,000 items
//     (range() stays at 100,000); values are checked before they are built,
//     so [1]|batch(50000000, 'x') fails without allocating.
//   - Value: a list or dictionary built prints (as JSON) in at most
//     max(String, 16 MiB) bytes, so values that share items ({% set a = [a,
//     a] %} in a loop) cannot grow exponentially.
//   - Memory: 128 MiB of strings, lists and dictionaries built by one render
//     in total, dropped ones included, at what they cost in Go: a list 16
//     bytes an item (32 for an item a filter makes, such as split's pieces,
//     96 for one json_decode decodes, with the decoder's scratch space), a
//     dictionary 128 bytes an entry, an arrow-function call 80 bytes.
//     Filters that build large values (split, sort, batch, json_decode,
//     parse_csv) count them before building them.
//   - Loop: 1,000,000 loop iterations and arrow-function calls.
//   - Time: 2 s of wall-clock time, checked at loop iterations, arrow calls,
//     every 64 filter and function calls, and around calls on large values.
//
// Besides, templates nest blocks and expressions at most 256 deep, arrow
// functions are called at most 64 deep, regular expressions are at most
// 16 KiB and refused when their compiled size times the length of the text
// exceeds 10^8, and division or modulo by zero is an error.
package templates

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/flosch/pongo2/v6"

	"github.com/hookhost/hookhost/templates/dict"
)

// bannedTags are the pongo2 tags a template may not use: everything that
// reads other templates or files, plus macro (unbounded recursion) and
// lorem (unbounded output).
var bannedTags = []string{"include", "import", "ssi", "extends", "block", "macro", "lorem"}

// Env compiles and caches templates. It is safe for concurrent use.
type Env struct {
	set       *pongo2.TemplateSet
	compileMu sync.Mutex // pongo2's TemplateSet writes a field on every compile
	cache     *cache
	limits    Limits
	globals   pongo2.Context // the functions, shared read-only by every render
	states    sync.Pool      // *state
	// twigContext makes the render's data Twig's context (see
	// WithTwigContext); by default it is Cerb's dictionary.
	twigContext bool
}

// Option configures an Env.
type Option func(*Env)

// WithLimits sets the limits of every render; zero fields take their
// defaults.
func WithLimits(l Limits) Option { return func(e *Env) { e.limits = l } }

// WithOutputLimit caps the size of a render's output, and of every string
// built while rendering, at n bytes (Limits.Output and Limits.String).
func WithOutputLimit(n int) Option {
	return func(e *Env) { e.limits.Output, e.limits.String = n, n }
}

// WithLoopLimit caps the loop iterations and arrow-function calls of one
// render (Limits.Loop).
func WithLoopLimit(n int64) Option { return func(e *Env) { e.limits.Loop = n } }

// WithCacheSize sets how many compiled templates the Env keeps (0 turns the
// cache off).
func WithCacheSize(n int) Option { return func(e *Env) { e.cache = newCache(n) } }

// WithTwigContext renders the data as plain Twig does: the variables are
// Twig's context, listed by _context, and a false variable reads as false.
//
// By default the data is a Cerb dictionary, as Cerb renders it: Cerb
// renders a template with an empty Twig context and reads every other
// variable from the dictionary through an undefined-variable callback
// (_DevblocksTemplateBuilder::build). So _context holds only the
// variables the template sets, and a dictionary variable whose value is
// false reads as null (the callback's false means "not found").
func WithTwigContext() Option { return func(e *Env) { e.twigContext = true } }

// New returns a ready Env.
func New(opts ...Option) *Env {
	e := &Env{}
	for _, o := range opts {
		o(e)
	}
	e.limits = e.limits.withDefaults()
	if e.cache == nil {
		e.cache = newCache(DefaultCacheSize)
	}
	set, err := newSet()
	if err != nil {
		panic("templates: " + err.Error()) // a pongo2 tag was renamed
	}
	e.set = set
	e.globals = buildGlobals()
	e.states.New = func() any { return &state{out: make([]byte, 0, 512)} }
	return e
}

// Limits returns the limits of the Env's renders, defaults filled in.
func (e *Env) Limits() Limits { return e.limits }

// Template is a compiled template. It is immutable and safe for concurrent use.
type Template struct {
	src string
	tpl *pongo2.Template
	env *Env
	tr  *translation
}

// Source returns the template's source text.
func (t *Template) Source() string { return t.src }

// Error is a template syntax or runtime error. Line and Col are 1-based and
// relative to the template source (0 when unknown). Err, when not nil, is
// the cause: a *LimitError when the render ran into a limit.
type Error struct {
	Line int
	Col  int
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HasMarkup reports whether s contains template markup ("{{", "{%" or "{#").
// Strings without markup render as themselves and need no compiling.
func HasMarkup(s string) bool {
	return strings.Contains(s, "{{") || strings.Contains(s, "{%") || strings.Contains(s, "{#")
}

// Compile parses src, or returns the cached template for the same source.
func (e *Env) Compile(src string) (*Template, error) {
	return e.compileAs(src, src, scriptSyntax)
}

func (e *Env) compileAs(key, src string, syn *delims) (*Template, error) {
	if t := e.cache.get(key); t != nil {
		return t, nil
	}
	tr, err := translate(src, syn)
	if err != nil {
		return nil, toError(err)
	}
	e.compileMu.Lock()
	pt, err := e.compile(tr.src)
	e.compileMu.Unlock()
	if err != nil {
		return nil, tr.toError(err)
	}
	t := &Template{src: src, tpl: pt, env: e, tr: tr}
	return e.cache.add(key, t), nil
}

func (e *Env) compile(src string) (pt *pongo2.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			pt, err = nil, &Error{Msg: fmt.Sprintf("template cannot be compiled: %v", r)}
		}
	}()
	return e.set.FromString(src)
}

// toError converts a pongo2 error on the translated source into an *Error
// at the Twig source's position.
func (tr *translation) toError(err error) error {
	e := toError(err)
	if tr == nil {
		return e
	}
	var te *Error
	if errors.As(e, &te) && te.Line > 0 {
		line, col := tr.position(te.Line, te.Col)
		return &Error{Line: line, Col: col, Msg: te.Msg, Err: te.Err}
	}
	return e
}

// Render executes t with data as the variables. data may be nil.
func (t *Template) Render(data *dict.Map) (string, error) {
	return t.RenderContext(context.Background(), data)
}

// RenderContext executes t with data as the variables; the render ends
// with an error naming the "canceled" limit once ctx is done. data may be
// nil.
func (t *Template) RenderContext(ctx context.Context, data *dict.Map) (out string, err error) {
	env := t.env
	st := env.states.Get().(*state)
	st.reset(&env.limits, ctx)
	defer env.putState(st)
	opts := pongo2.RenderOptions{
		Globals: env.globals,
		Limits:  &st.lim,
		Format:  formatValue,
	}
	switch {
	case data != nil && env.twigContext:
		opts.Root = data
	case data != nil:
		opts.Root = cerbDict{data}
	}
	err = t.execute(opts, st)
	if st.lim.Err != nil {
		le := st.limitError(st.lim.Err)
		e := &Error{Msg: le.Error(), Err: le}
		var te *Error
		if errors.As(err, &te) && st.limits != nil && !isOutputLimit(le) {
			e.Line, e.Col = te.Line, te.Col
		}
		return "", e
	}
	if err != nil {
		return "", err
	}
	return st.output(), nil
}

// output returns what the render wrote.
func (st *state) output() string {
	if len(st.out) == 0 {
		return st.first
	}
	return string(st.out)
}

func isOutputLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le) && le.Limit == "output"
}

func (e *Env) putState(st *state) {
	st.ctx = nil
	st.first = "" // keep no text or value of the render
	st.encoded, st.encodedFrom = "", nil
	st.pretty = prettyJSON{}
	st.lim = pongo2.Limits{}
	clear(st.weights)
	if cap(st.out) <= 64<<10 {
		e.states.Put(st)
	}
}

func (t *Template) execute(opts pongo2.RenderOptions, st *state) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Msg: fmt.Sprintf("template failed: %v", r)}
		}
	}()
	if err := t.tpl.ExecuteRoot(opts, st); err != nil {
		return t.tr.toError(err)
	}
	return nil
}

// Render compiles (or fetches from the cache) and renders src.
func (e *Env) Render(src string, data *dict.Map) (string, error) {
	return e.RenderContext(context.Background(), src, data)
}

// RenderContext is Render with a context; see Template.RenderContext.
func (e *Env) RenderContext(ctx context.Context, src string, data *dict.Map) (string, error) {
	if !HasMarkup(src) {
		return src, nil
	}
	t, err := e.Compile(src)
	if err != nil {
		return "", err
	}
	return t.RenderContext(ctx, data)
}

// noLoader refuses every file: templates never come from disk.
type noLoader struct{}

func (noLoader) Abs(base, name string) string { return name }

func (noLoader) Get(path string) (io.Reader, error) {
	return nil, errors.New("templates are not loaded from files")
}

// Write appends to the render's output up to the output limit; past it,
// the render fails.
func (st *state) Write(b []byte) (int, error) {
	if err := st.room(len(b)); err != nil {
		return 0, err
	}
	st.flushFirst()
	st.out = append(st.out, b...)
	return len(b), nil
}

// WriteString is Write for a string. The first write is only kept (in
// first) until a second one comes.
func (st *state) WriteString(s string) (int, error) {
	if err := st.room(len(s)); err != nil {
		return 0, err
	}
	if len(st.out) == 0 && st.first == "" {
		st.first = s
		return len(s), nil
	}
	st.flushFirst()
	st.out = append(st.out, s...)
	return len(s), nil
}

// flushFirst moves a first write kept as a string into out.
func (st *state) flushFirst() {
	if st.first != "" {
		st.out = append(st.out, st.first...)
		st.first = ""
	}
}

// room checks that n more bytes fit in the output. Once the output is
// full, the limit error is recorded: pongo2 ignores writers' errors, but
// the next loop iteration or filter call ends the render.
func (st *state) room(n int) error {
	if st.lim.Err != nil {
		return st.lim.Err
	}
	if len(st.out)+len(st.first)+n > st.limits.Output {
		return st.fail("output", int64(st.limits.Output))
	}
	return nil
}

// pongoNoise matches the location prefix pongo2 puts in its messages.
var pongoNoise = regexp.MustCompile(`\[Error \(where: [^)]*\)[^\]]*\] ?`)

var bannedTagMsg = regexp.MustCompile(`^Usage of tag '([^']*)' is not allowed`)
var bannedFilterMsg = regexp.MustCompile(`^Usage of filter '([^']*)' is not allowed`)

// toError converts a pongo2 error into an *Error.
func toError(err error) error {
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	var pe *pongo2.Error
	if !errors.As(err, &pe) {
		return &Error{Msg: cleanMsg(err.Error())}
	}
	msg := "template error"
	if pe.OrigError != nil {
		msg = pe.OrigError.Error()
	}
	line, col := pe.Line, pe.Column
	if line <= 0 {
		line, col = 0, 0
	}
	return &Error{Line: line, Col: col, Msg: cleanMsg(msg)}
}

func cleanMsg(msg string) string {
	msg = strings.TrimSpace(pongoNoise.ReplaceAllString(msg, ""))
	if m := bannedTagMsg.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("tag %q is not allowed (templates cannot read files or define macros)", m[1])
	}
	if m := bannedFilterMsg.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("filter %q is not allowed", m[1])
	}
	msg = strings.TrimSuffix(msg, ".")
	if r, n := utf8.DecodeRuneInString(msg); n > 0 && unicode.IsUpper(r) {
		if len(msg) > n {
			if r2, _ := utf8.DecodeRuneInString(msg[n:]); !unicode.IsUpper(r2) {
				msg = string(unicode.ToLower(r)) + msg[n:]
			}
		}
	}
	if msg == "" {
		msg = "template error"
	}
	return msg
}

// cerbDict is the render's data read as Cerb reads its dictionary from a
// template (WithTwigContext): a false value reads as null.
type cerbDict struct{ m *dict.Map }

func (d cerbDict) Get(k string) (any, bool) {
	v, ok := d.m.Get(k)
	if b, isBool := v.(bool); isBool && !b {
		return nil, ok
	}
	return v, ok
}

func (d cerbDict) Keys() []string { return d.m.Keys() }

func (d cerbDict) Len() int { return d.m.Len() }
