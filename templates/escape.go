package templates

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Twig's escape filter and the filters that escape first (nl2br), as
// Twig 3's EscaperExtension does them.

// fEscape is escape(strategy='html'): html (htmlspecialchars with
// ENT_QUOTES), js, css, html_attr or url. Values that are not text are
// passed on unchanged, as in Twig.
func fEscape(st *state, in any, args ...any) (any, error) {
	strategy := toStr(arg(args, 0, "html"))
	s, ok := in.(string)
	if !ok {
		switch strategy {
		case "html", "js", "css", "html_attr", "url":
			return in, nil
		}
		s = toStr(in)
	}
	// No strategy writes more than 12 bytes for one.
	if err := st.wantString(12 * int64(len(s))); err != nil {
		return nil, err
	}
	switch strategy {
	case "html":
		return htmlSpecialChars(s), nil
	case "url":
		return rawURLEncode(s), nil
	case "js":
		if !utf8.ValidString(s) {
			return nil, errors.New("the string to escape is not a valid UTF-8 string")
		}
		return escapeJS(s), nil
	case "css":
		if !utf8.ValidString(s) {
			return nil, errors.New("the string to escape is not a valid UTF-8 string")
		}
		return escapeCSS(s), nil
	case "html_attr":
		if !utf8.ValidString(s) {
			return nil, errors.New("the string to escape is not a valid UTF-8 string")
		}
		return escapeHTMLAttr(s), nil
	}
	return nil, fmt.Errorf("invalid escaping strategy %q (valid ones: html, js, url, css, and html_attr)", strategy)
}

// htmlSpecialChars is htmlspecialchars(s, ENT_QUOTES | ENT_SUBSTITUTE):
// & < > " ' as entities, invalid UTF-8 as U+FFFD.
func htmlSpecialChars(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&', '<', '>', '"', '\'':
			n++
		default:
			if s[i] >= utf8.RuneSelf {
				n++
			}
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 5*n)
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString("\uFFFD")
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#039;")
		default:
			b.WriteByte(c)
		}
		i++
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func alnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// escapeJS escapes every character but letters, digits , . and _ as \uHHHH
// (or a short escape such as \n).
func escapeJS(s string) string {
	var b strings.Builder
	for _, r := range s {
		if alnum(r) || r == ',' || r == '.' || r == '_' {
			b.WriteRune(r)
			continue
		}
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x10000 {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04X\u%04X`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			}
		}
	}
	return b.String()
}

// escapeCSS escapes every character but letters and digits as "\HEX ".
func escapeCSS(s string) string {
	var b strings.Builder
	for _, r := range s {
		if alnum(r) {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, `\%X `, r)
	}
	return b.String()
}

// escapeHTMLAttr escapes every character but letters, digits , . - and _
// as an entity (&#xHH; or &#xHHHH;, the XML ones by name).
func escapeHTMLAttr(s string) string {
	var b strings.Builder
	for _, r := range s {
		if alnum(r) || r == ',' || r == '.' || r == '-' || r == '_' {
			b.WriteRune(r)
			continue
		}
		switch {
		case r <= 0x1f && r != '\t' && r != '\n' && r != '\r', r == 0x7f:
			b.WriteString("&#xFFFD;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r < utf8.RuneSelf:
			b.WriteString("&#x")
			b.WriteByte(upperHex[r>>4])
			b.WriteByte(upperHex[r&15])
			b.WriteByte(';')
		default:
			fmt.Fprintf(&b, "&#x%04X;", r)
		}
	}
	return b.String()
}

// fNl2br is Twig's nl2br: the text HTML-escaped (the filter's pre_escape),
// then "<br />" inserted before every line break.
func fNl2br(in any, _ ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	if _, ok := in.(string); ok {
		s = htmlSpecialChars(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			b.WriteString("<br />")
			b.WriteByte(c)
			if i+1 < len(s) && (s[i+1] == '\r' || s[i+1] == '\n') && s[i+1] != c {
				b.WriteByte(s[i+1])
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

var (
	reTags    = regexp.MustCompile(`(?s)<!--.*?-->|<[^>]*>?`)
	reTagName = regexp.MustCompile(`^</?\s*([a-zA-Z0-9]+)`)
	reAllowed = regexp.MustCompile(`<([a-zA-Z0-9]+)>`)
)

// fStripTags is PHP's strip_tags(allowed): HTML and PHP tags and comments
// removed, except the tags named in allowed ("<b><i>" or a list of names).
func fStripTags(in any, args ...any) (any, error) {
	s, err := text(in)
	if err != nil {
		return nil, err
	}
	var allowed map[string]bool
	switch a := arg(args, 0, nil).(type) {
	case nil:
	case []any:
		for _, x := range a {
			if allowed == nil {
				allowed = map[string]bool{}
			}
			allowed[strings.ToLower(strings.Trim(toStr(x), "<>/ "))] = true
		}
	default:
		for _, m := range reAllowed.FindAllStringSubmatch(toStr(a), -1) {
			if allowed == nil {
				allowed = map[string]bool{}
			}
			allowed[strings.ToLower(m[1])] = true
		}
	}
	return reTags.ReplaceAllStringFunc(s, func(tag string) string {
		if allowed != nil {
			if m := reTagName.FindStringSubmatch(tag); m != nil && allowed[strings.ToLower(m[1])] {
				return tag
			}
		}
		return ""
	}), nil
}
