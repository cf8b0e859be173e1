package packages

import (
	"fmt"
	"strings"

	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// hasPackageMarkup reports whether s holds a package placeholder, tag or
// comment; only such strings are rendered at import.
func hasPackageMarkup(s string) bool {
	return strings.Contains(s, "{{{") || strings.Contains(s, "{{%") || strings.Contains(s, "{{#")
}

// renderer renders package strings with one import's values. It is not
// safe for concurrent use: the importer adds values between renders.
type renderer struct {
	env  *templates.Env
	vars map[string]any
}

// newRenderer returns a renderer without values. Import sets its Env to
// Options.Templates; without one, the first render makes a new Env.
func newRenderer() (*renderer, error) {
	return &renderer{vars: map[string]any{}}, nil
}

// render renders s when it holds package markup ({{{ }}}, {{% %}} or
// {{# #}}), and returns it unchanged otherwise. Package placeholders are
// Twig on other delimiters, rendered by the templates package as scripts
// are (same filters, functions, printing rules, sandbox and limits).
func (r *renderer) render(s string) (string, error) {
	if !hasPackageMarkup(s) {
		return s, nil
	}
	if r.env == nil {
		r.env = templates.New()
	}
	data, _ := dict.FromGo(r.vars).(*dict.Map)
	out, err := r.env.RenderPackage(s, data)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	return out, nil
}
