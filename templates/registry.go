package templates

import (
	"fmt"
	"sort"

	"github.com/flosch/pongo2/v6"
)

// Func is the Go form of a Cerb filter or function: the filtered value (nil
// for functions) and the arguments, in the dict value model. A later Twig
// front end calls the same functions with several arguments.
type Func func(in any, args ...any) (any, error)

// filterDef describes one filter. With spread set, a list given as pongo2's
// single filter argument is passed as the argument list (|slice:[1, 2]
// style); otherwise the argument is passed as it is.
type filterDef struct {
	fn     Func
	spread bool
}

// filterTable and functionTable are built once at package initialization
// and never modified.
var (
	filterTable   = buildFilters()
	functionTable = buildFunctions()
	// functions is the pongo2 view of functionTable, shared by every render
	// as its read-only global context.
	functions = buildGlobals(functionTable)
)

// bannedFilters are pongo2 builtins that are refused: they can allocate
// without bound from a small template, or duplicate a Cerb filter with
// different semantics.
var bannedFilters = []string{"center", "ljust", "rjust", "stringformat", "floatformat", "urlize", "urlizetrunc", "truncatechars_html", "truncatewords_html"}

// Filter returns the Go function behind a filter name.
func Filter(name string) (Func, bool) {
	f, ok := filterTable[name]
	return f.fn, ok
}

// Function returns the Go function behind a function name. Functions ignore
// their in argument.
func Function(name string) (Func, bool) {
	f, ok := functionTable[name]
	return f, ok
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

// init registers the filters with pongo2, whose filter registry is global.
// This is the only place hookhost writes pongo2's globals.
func init() {
	registerTwig()
	for name, def := range filterTable {
		fn := adaptFilter(name, def)
		if pongo2.FilterExists(name) {
			_ = pongo2.ReplaceFilter(name, fn)
		} else {
			_ = pongo2.RegisterFilter(name, fn)
		}
	}
	// Builtins that can build large strings get a length check.
	for _, name := range []string{"add", "linebreaks", "linebreaksbr", "wordwrap"} {
		if orig, ok := builtinFilter(name); ok {
			_ = pongo2.ReplaceFilter(name, capFilter(orig))
		}
	}
}

// builtinFilter fetches a pongo2 builtin by applying it through ApplyFilter.
func builtinFilter(name string) (pongo2.FilterFunction, bool) {
	if !pongo2.FilterExists(name) {
		return nil, false
	}
	return func(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		return pongo2.ApplyFilter(name, in, param)
	}, true
}

// maxFilterString caps strings produced by filters.
const maxFilterString = DefaultOutputLimit

func capFilter(orig pongo2.FilterFunction) pongo2.FilterFunction {
	return func(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		if in.IsString() && param.IsString() && len(in.String())+len(param.String()) > maxFilterString {
			return nil, &pongo2.Error{Sender: "filter", OrigError: errTooLong}
		}
		return orig(in, param)
	}
}

var errTooLong = fmt.Errorf("string longer than %d bytes", maxFilterString)

func adaptFilter(name string, def filterDef) pongo2.FilterFunction {
	return func(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		var out any
		var err error
		if fa, ok := param.Interface().(pongo2.FilterArgs); ok {
			args := make([]any, len(fa))
			for i, a := range fa {
				args[i] = norm(a)
			}
			out, err = def.fn(norm(in.Interface()), args...)
			if err != nil {
				return nil, &pongo2.Error{Sender: "filter:" + name, OrigError: fmt.Errorf("%s: %w", name, err)}
			}
			return pongo2.AsValue(out), nil
		}
		p := norm(param.Interface())
		switch l, isList := p.([]any); {
		case p == nil:
			out, err = def.fn(norm(in.Interface()))
		case isList && def.spread:
			out, err = def.fn(norm(in.Interface()), l...)
		default:
			out, err = def.fn(norm(in.Interface()), p)
		}
		if err != nil {
			return nil, &pongo2.Error{Sender: "filter:" + name, OrigError: fmt.Errorf("%s: %w", name, err)}
		}
		return pongo2.AsValue(out), nil
	}
}

func buildGlobals(fns map[string]Func) pongo2.Context {
	ctx := make(pongo2.Context, len(fns))
	for name, fn := range fns {
		ctx[name] = adaptFunction(name, fn)
	}
	addHelperGlobals(ctx)
	return ctx
}

func adaptFunction(name string, fn Func) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		for i, a := range args {
			args[i] = norm(a)
		}
		out, err := fn(nil, args...)
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
