package packages

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// hasPackageMarkup reports whether s holds a package placeholder, tag or
// comment; only such strings are rendered at import.
func hasPackageMarkup(s string) bool {
	return strings.Contains(s, "{{{") || strings.Contains(s, "{{%") || strings.Contains(s, "{{#")
}

// translate turns a string in the package syntax into a pongo2 template:
// {{{ x }}} becomes {{ x }}, {{% t %}} becomes {% t %}, {{# c #}} is dropped,
// and every "{" of the remaining text that pongo2 could read as the start of
// a tag is written as {% templatetag openbrace %}, so the text comes out
// unchanged.
func translate(s string) (string, error) {
	var b strings.Builder
	lit := 0 // start of the pending literal text
	flush := func(end int) {
		text := s[lit:end]
		for i := 0; i < len(text); i++ {
			c := text[i]
			if c == '{' && (i+1 == len(text) || strings.IndexByte("{%#\x01", text[i+1]) >= 0) {
				b.WriteString("{% templatetag openbrace %}")
				continue
			}
			if c == 0x01 {
				// pongo2's lexer reads U+0001 as the end of its input.
				b.WriteString("{{ " + sohVar + " }}")
				continue
			}
			b.WriteByte(c)
		}
	}
	for i := 0; i < len(s); {
		if !strings.HasPrefix(s[i:], "{{") || i+2 >= len(s) {
			i++
			continue
		}
		var open, closing string
		switch s[i+2] {
		case '{':
			open, closing = "{{", "}}}"
		case '%':
			open, closing = "{%", "%}}"
		case '#':
			open, closing = "", "#}}"
		default:
			i++
			continue
		}
		flush(i)
		var end int
		if open == "" {
			end = strings.Index(s[i+3:], closing)
			if end >= 0 {
				end += i + 3
			}
		} else {
			end = scanTag(s, i+3, closing)
		}
		if end < 0 {
			return "", fmt.Errorf("%q at offset %d is not closed with %q", s[i:i+3], i, closing)
		}
		if open != "" {
			inner := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s[i+3 : end])
			b.WriteString(open)
			b.WriteString(inner)
			b.WriteString(closing[:2])
		}
		i = end + len(closing)
		lit = i
	}
	flush(len(s))
	return b.String(), nil
}

// scanTag returns the offset of closing in s, searching from start and
// skipping quoted strings and bracketed expressions as Twig's lexer does, or
// -1 when the tag is not closed.
func scanTag(s string, start int, closing string) int {
	depth := 0
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			if i >= len(s) {
				return -1
			}
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			if depth > 0 {
				depth--
			}
		case depth == 0 && strings.HasPrefix(s[i:], closing):
			return i
		case c == '{':
			depth++
		case c == '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return -1
}

// sohVar is the template variable holding U+0001, which pongo2 cannot read
// in a template. Prompt and placeholder keys starting with "__" are reserved
// for such variables.
const sohVar = "__soh"

// renderer renders package strings with one import's values. It is not
// safe for concurrent use (pongo2's TemplateSet is not).
type renderer struct {
	set  *pongo2.TemplateSet
	vars pongo2.Context
}

// noLoader is the template loader of the private set: it has no templates.
type noLoader struct{}

func (noLoader) Abs(base, name string) string { return name }

func (noLoader) Get(path string) (io.Reader, error) {
	return nil, fmt.Errorf("template %q not found", path)
}

func newRenderer() (*renderer, error) {
	set := pongo2.NewSet("package", noLoader{})
	// Banned tags read templates or files, or can recurse or grow without
	// bound; banned filters can allocate without bound from a small width
	// or format.
	for _, t := range []string{"include", "import", "extends", "ssi", "macro", "lorem"} {
		if err := set.BanTag(t); err != nil {
			return nil, err
		}
	}
	for _, f := range []string{"center", "ljust", "rjust", "stringformat"} {
		if err := set.BanFilter(f); err != nil {
			return nil, err
		}
	}
	return &renderer{set: set, vars: pongo2.Context{sohVar: "\x01"}}, nil
}

// render renders s when it holds package markup, and returns it unchanged
// otherwise.
func (r *renderer) render(s string) (out string, err error) {
	if !hasPackageMarkup(s) {
		return s, nil
	}
	src, err := translate(s)
	if err != nil {
		return "", err
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = "", fmt.Errorf("template: %v", p)
		}
	}()
	tpl, err := r.set.FromString("{% autoescape off %}" + src + "{% endautoescape %}")
	if err != nil {
		return "", templateError(err)
	}
	out, err = tpl.Execute(r.vars)
	if err != nil {
		return "", templateError(err)
	}
	return out, nil
}

// templateError rewrites a pongo2 error without its positions, which refer
// to the translated source rather than the package's.
func templateError(err error) error {
	var pe *pongo2.Error
	if !errors.As(err, &pe) || pe.OrigError == nil {
		return fmt.Errorf("template: %w", err)
	}
	msg := strings.TrimSuffix(pe.OrigError.Error(), ".")
	if pe.Token != nil && pe.Token.Val != "" {
		msg += fmt.Sprintf(" (near %q)", pe.Token.Val)
	}
	return fmt.Errorf("template: %s", msg)
}
