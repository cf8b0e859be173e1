package templates

import (
	"context"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// Package placeholders.
//
// A Cerb package fills its records at import with Twig run on its own
// delimiters: {{{ expr }}}, {{% tag %}} and {{# comment #}}. Everything
// else, including a script's own {{ }}, {% %} and {# #}, is text. The
// package syntax goes through the same Twig front end as scripts (only the
// lexer's delimiters differ), so placeholders have the same filters,
// functions, printing rules, sandbox and limits.

// packageKey prefixes the cache key of a template in package syntax.
const packageKey = "\x00package\x00"

// HasPackageMarkup reports whether s contains package placeholder markup
// ("{{{", "{{%" or "{{#"). Strings without it render as themselves.
func HasPackageMarkup(s string) bool {
	return strings.Contains(s, "{{{") || strings.Contains(s, "{{%") || strings.Contains(s, "{{#")
}

// CompilePackage parses src in the package placeholder syntax, or returns
// the cached template for the same source.
func (e *Env) CompilePackage(src string) (*Template, error) {
	return e.compileAs(packageKey+src, src, packageSyntax)
}

// RenderPackage compiles (or fetches from the cache) and renders src in the
// package placeholder syntax with data as the variables.
func (e *Env) RenderPackage(src string, data *dict.Map) (string, error) {
	return e.RenderPackageContext(context.Background(), src, data)
}

// RenderPackageContext is RenderPackage with a context; see
// Template.RenderContext.
func (e *Env) RenderPackageContext(ctx context.Context, src string, data *dict.Map) (string, error) {
	if !HasPackageMarkup(src) {
		return src, nil
	}
	t, err := e.CompilePackage(src)
	if err != nil {
		return "", err
	}
	return t.RenderContext(ctx, data)
}
