package templates

import (
	"fmt"
	"sort"

	"github.com/flosch/pongo2/v6"
)

// Func is the Go form of a Cerb filter or function: the filtered value (nil
// for functions) and the arguments, in the dict value model.
type Func func(in any, args ...any) (any, error)

// stateFunc is a filter or function that needs the render's state: one
// that checks a limit before it builds a large value.
type stateFunc func(st *state, in any, args ...any) (any, error)

// filterDef describes one filter. With spread set, a list given as pongo2's
// single filter argument is passed as the argument list (|slice:[1, 2]
// style); otherwise the argument is passed as it is. A view filter returns
// its input or a part of it, so its result needs no size check.
type filterDef struct {
	fn     Func
	sfn    stateFunc
	spread bool
	view   bool
}

func (d filterDef) call(st *state, in any, args ...any) (any, error) {
	if d.sfn != nil {
		return d.sfn(st, in, args...)
	}
	return d.fn(in, args...)
}

// Filter and function tables: built once when the package is initialized
// and never modified. Every Env registers them on its own pongo2 set.
var (
	filterTable   = buildFilters()
	functionTable = buildFunctions()
)

// bannedFilters are pongo2 builtins that are refused with a message of
// their own: they can allocate without bound from a small template, or
// duplicate a Cerb filter with different semantics. (No pongo2 builtin
// filter is reachable: an Env's set hides them all.)
var bannedFilters = []string{"center", "ljust", "rjust", "stringformat", "floatformat", "urlize", "urlizetrunc", "truncatechars_html", "truncatewords_html"}

// Filter returns the Go function behind a filter name. Called outside a
// render, it applies the default limits.
func Filter(name string) (Func, bool) {
	f, ok := filterTable[name]
	if !ok {
		return nil, false
	}
	return func(in any, args ...any) (any, error) { return f.call(newState(), in, args...) }, true
}

// Function returns the Go function behind a function name. Functions ignore
// their in argument. Called outside a render, it applies the default limits.
func Function(name string) (Func, bool) {
	f, ok := functionTable[name]
	if !ok {
		return nil, false
	}
	return func(in any, args ...any) (any, error) { return f.call(newState(), nil, args...) }, true
}

// FilterNames lists the registered filter names, sorted.
func FilterNames() []string { return sortedNames(filterTable) }

// FunctionNames lists the registered function names, sorted.
func FunctionNames() []string { return sortedNames(functionTable) }

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// newSet returns the pongo2 template set of an Env: hookhost's filters,
// the helper filters and tags of the Twig translation, no pongo2 builtin
// filter, and the tags that read files or define macros banned. Nothing
// is registered in pongo2's global registries.
func newSet() (*pongo2.TemplateSet, error) {
	set := pongo2.NewSet("hookhost", noLoader{})
	if err := set.HideGlobalFilters(); err != nil {
		return nil, err
	}
	for name, def := range filterTable {
		if err := set.RegisterFilter(name, adaptFilter(name, def)); err != nil {
			return nil, err
		}
	}
	if err := registerTwig(set); err != nil {
		return nil, err
	}
	for _, t := range bannedTags {
		if err := set.BanTag(t); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// adaptFilter turns a filter into a pongo2 filter of the set: it converts
// the arguments, checks the deadline, and checks and accounts for the
// value the filter builds.
func adaptFilter(name string, def filterDef) pongo2.ContextFilterFunction {
	call := def.call // bound once: a method value allocates
	return func(ctx *pongo2.ExecutionContext, in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		st := stateOf(ctx)
		x := norm(in.Interface())
		var args []any
		if fa, ok := param.Interface().(pongo2.FilterArgs); ok {
			args = make([]any, len(fa))
			for i, a := range fa {
				args[i] = norm(a)
			}
		} else {
			p := norm(param.Interface())
			switch l, isList := p.([]any); {
			case p == nil:
			case isList && def.spread:
				args = l
			default:
				args = []any{p}
			}
		}
		out, err := st.apply(call, def.view, x, args)
		if err != nil {
			return nil, &pongo2.Error{Sender: "filter:" + name, OrigError: fmt.Errorf("%s: %w", name, err)}
		}
		return pongo2.AsValue(out), nil
	}
}

// apply calls fn on in and args within the render's limits.
func (st *state) apply(fn stateFunc, view bool, in any, args []any) (any, error) {
	size := sizeOf(in)
	for _, a := range args {
		size = max(size, sizeOf(a))
	}
	if err := st.tick(size); err != nil {
		return nil, err
	}
	st.applied++
	outer := st.prepaid // a filter called by an arrow function of fn
	st.prepaid = 0
	out, err := fn(st, in, args...)
	paid := st.prepaid
	st.prepaid = outer
	if err != nil {
		return nil, st.limitError(err)
	}
	if !view {
		if err := st.builtPaid(out, in, args, paid); err != nil {
			return nil, err
		}
	}
	if size > bigValue {
		if err := st.lim.Check(); err != nil {
			return nil, st.limitError(err)
		}
	}
	return out, nil
}

// funcDef describes one function; see filterDef.
type funcDef struct {
	fn   Func
	sfn  stateFunc
	cfn  ctxFunc // a function that reads the render's variables
	view bool
}

// ctxFunc is a function that reads the render's variables.
type ctxFunc func(ctx *pongo2.ExecutionContext, st *state, args ...any) (any, error)

func (d funcDef) call(st *state, _ any, args ...any) (any, error) {
	if d.sfn != nil {
		return d.sfn(st, nil, args...)
	}
	if d.fn == nil {
		return nil, nil // a ctxFunc called outside a render
	}
	return d.fn(nil, args...)
}

// buildGlobals returns the functions of an Env, as the read-only global
// context of its renders.
func buildGlobals() pongo2.Context {
	ctx := make(pongo2.Context, len(functionTable)+8)
	for name, def := range functionTable {
		ctx[name] = adaptFunction(name, def)
	}
	addHelperGlobals(ctx)
	return ctx
}

func adaptFunction(name string, def funcDef) pongo2.ContextFunction {
	call := def.call // bound once: a method value allocates
	return func(ctx *pongo2.ExecutionContext, args ...any) (any, error) {
		for i, a := range args {
			args[i] = norm(a)
		}
		c := call
		if def.cfn != nil {
			c = func(st *state, _ any, args ...any) (any, error) { return def.cfn(ctx, st, args...) }
		}
		out, err := stateOf(ctx).apply(c, def.view, nil, args)
		if err != nil {
			return nil, fmt.Errorf("%s(): %w", name, err)
		}
		return out, nil
	}
}

// arg returns args[i], or def when it is missing or nil.
func arg(args []any, i int, def any) any {
	if i < len(args) && args[i] != nil {
		return args[i]
	}
	return def
}
