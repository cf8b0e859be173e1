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
// set ... endset, do, apply, verbatim and with. Tags that read files or
// define macros are refused, and so are Cerb platform functions such as
// cerb_url() (with a message naming the function). Syntax errors carry the
// line and column in the template; runtime errors the position of the
// filter or function that failed. pongo2's |f:arg form is still accepted.
//
// Operators follow PHP: + - * / % on numeric text compute numbers
// ("1" + "2" is 3, other text counts as its leading number or 0), / gives a
// float unless the division is exact, == and < compare numeric text as
// numbers, "0" is false, and "in" looks at a dictionary's values. Variables
// set inside a for loop keep their value after it only if they existed
// before the loop.
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
// 14 significant digits and no trailing zeros (0.1 + 0.2 prints 0.3), and a
// dictionary or list prints as its compact JSON (PHP would print "Array").
//
// # Filters and functions
//
// Filters and functions are plain Go functions (Filter, Function) in the
// dict value model. A function call always finds the function, even when a
// variable has the same name. Where hookhost differs from Cerb: filter and
// sort keep a list a list (PHP keeps the old indexes), and kata_encode is a
// small emitter of its own.
//
// # Limits
//
// pongo2 cannot cancel a render. A render is bounded by the output cap
// (WithOutputLimit, 16 MiB by default), a loop budget (WithLoopLimit,
// 1,000,000 iterations by default), a cap on strings built by filters and "~"
// (the output cap), and range(), which yields at most 100,000 items.
package templates

import (
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

// Default limits.
const (
	DefaultOutputLimit = 16 << 20
	DefaultLoopLimit   = 1_000_000
	DefaultCacheSize   = 10_000
	// MaxRange is the largest number of items range() returns.
	MaxRange = 100_000
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
	outLimit  int
	loopLimit int64
}

// Option configures an Env.
type Option func(*Env)

// WithOutputLimit caps the size of a render's output (and of strings built
// while rendering) at n bytes.
func WithOutputLimit(n int) Option { return func(e *Env) { e.outLimit = n } }

// WithLoopLimit caps the number of loop iterations of one render.
func WithLoopLimit(n int64) Option { return func(e *Env) { e.loopLimit = n } }

// WithCacheSize sets how many compiled templates the Env keeps (0 turns the
// cache off).
func WithCacheSize(n int) Option { return func(e *Env) { e.cache = newCache(n) } }

// New returns a ready Env.
func New(opts ...Option) *Env {
	e := &Env{
		set:       pongo2.NewSet("hookhost", noLoader{}),
		outLimit:  DefaultOutputLimit,
		loopLimit: DefaultLoopLimit,
	}
	for _, t := range bannedTags {
		if err := e.set.BanTag(t); err != nil {
			panic("templates: " + err.Error()) // a pongo2 tag was renamed
		}
	}
	for _, f := range bannedFilters {
		if err := e.set.BanFilter(f); err != nil {
			panic("templates: " + err.Error())
		}
	}
	for _, o := range opts {
		o(e)
	}
	if e.cache == nil {
		e.cache = newCache(DefaultCacheSize)
	}
	return e
}

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
// relative to the template source (0 when unknown).
type Error struct {
	Line int
	Col  int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg)
}

// HasMarkup reports whether s contains template markup ("{{", "{%" or "{#").
// Strings without markup render as themselves and need no compiling.
func HasMarkup(s string) bool {
	return strings.Contains(s, "{{") || strings.Contains(s, "{%") || strings.Contains(s, "{#")
}

// Compile parses src, or returns the cached template for the same source.
func (e *Env) Compile(src string) (*Template, error) {
	if t := e.cache.get(src); t != nil {
		return t, nil
	}
	tr, err := translate(src)
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
	return e.cache.add(src, t), nil
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
		return &Error{Line: line, Col: col, Msg: te.Msg}
	}
	return e
}

// Render executes t with data as the variables. data may be nil.
func (t *Template) Render(data *dict.Map) (out string, err error) {
	w := getWriter(t.env.outLimit)
	defer putWriter(w)
	w.limits.Steps = t.env.loopLimit
	w.limits.MaxString = t.env.outLimit
	opts := pongo2.RenderOptions{
		Globals: functions,
		Limits:  &w.limits,
		Format:  formatValue,
	}
	if data != nil {
		opts.Root = data
	}
	if err := t.execute(opts, w); err != nil {
		if w.over {
			return "", w.overError()
		}
		return "", err
	}
	if w.over {
		return "", w.overError()
	}
	return string(w.buf), nil
}

func (t *Template) execute(opts pongo2.RenderOptions, w *capWriter) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Msg: fmt.Sprintf("template failed: %v", r)}
		}
	}()
	if err := t.tpl.ExecuteRoot(opts, w); err != nil {
		return t.tr.toError(err)
	}
	return nil
}

// Render compiles (or fetches from the cache) and renders src.
func (e *Env) Render(src string, data *dict.Map) (string, error) {
	if !HasMarkup(src) {
		return src, nil
	}
	t, err := e.Compile(src)
	if err != nil {
		return "", err
	}
	return t.Render(data)
}

// noLoader refuses every file: templates never come from disk.
type noLoader struct{}

func (noLoader) Abs(base, name string) string { return name }

func (noLoader) Get(path string) (io.Reader, error) {
	return nil, errors.New("templates are not loaded from files")
}

// capWriter collects output up to a limit.
type capWriter struct {
	buf    []byte
	limit  int
	over   bool
	limits pongo2.Limits
}

var writerPool = sync.Pool{New: func() any { return &capWriter{buf: make([]byte, 0, 512)} }}

func getWriter(limit int) *capWriter {
	w := writerPool.Get().(*capWriter)
	w.buf, w.limit, w.over = w.buf[:0], limit, false
	return w
}

func putWriter(w *capWriter) {
	if cap(w.buf) <= 64<<10 {
		writerPool.Put(w)
	}
}

func (w *capWriter) Write(b []byte) (int, error) {
	if w.over {
		return 0, errOutput
	}
	if len(w.buf)+len(b) > w.limit {
		w.overflow()
		return 0, errOutput
	}
	w.buf = append(w.buf, b...)
	return len(b), nil
}

func (w *capWriter) WriteString(s string) (int, error) {
	if w.over {
		return 0, errOutput
	}
	if len(w.buf)+len(s) > w.limit {
		w.overflow()
		return 0, errOutput
	}
	w.buf = append(w.buf, s...)
	return len(s), nil
}

// overflow marks the output as too long and spends the loop budget, so that
// the next loop iteration ends the render.
func (w *capWriter) overflow() {
	w.over = true
	w.limits.Steps = -1 << 40
}

func (w *capWriter) overError() error {
	return &Error{Msg: fmt.Sprintf("template output exceeds %d bytes", w.limit)}
}

var errOutput = errors.New("template output limit reached")

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
