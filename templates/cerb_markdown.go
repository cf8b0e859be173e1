package templates

import (
	"regexp"
	"strconv"
	"strings"
)

// fMarkdownToHTML is Cerb's markdown_to_html(is_untrusted=true):
// DevblocksPlatform::parseMarkdown, that is Parsedown 1.7 with line breaks
// enabled and, for untrusted text (the default), HTML escaped and unsafe
// link schemes defused. This is a port of the Parsedown constructs
// webhooks meet: ATX and setext headings, paragraphs, lists, quotes,
// rules, fenced and indented code; emphasis, code, links, images,
// autolinks, strikethrough and escapes. Raw HTML is always escaped.
func fMarkdownToHTML(in any, args ...any) (any, error) {
	safe := true
	if len(args) > 0 && args[0] != nil {
		safe = truthy(args[0])
	}
	md := &parsedown{safe: safe}
	return md.text(toStr(in)), nil
}

type parsedown struct{ safe bool }

func (p *parsedown) text(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	s = strings.Trim(s, "\n")
	return strings.Trim(p.lines(strings.Split(s, "\n")), "\n")
}

// mdBlock is a block being built: its kind and its lines.
type mdBlock struct {
	kind        string // p, h1..h6, hr, ul, ol, quote, code, fenced
	lines       []string
	items       [][]string // list items' lines
	loose       bool
	interrupted bool
	start       int    // ol start
	fence       string // fenced code: the fence
	lang        string
	closed      bool
	indent      int // list item content indent
	marker      string
}

var (
	mdRule    = regexp.MustCompile(`^([*_-])([ ]*[*_-]){2,}[ ]*$`)
	mdUL      = regexp.MustCompile(`^([*+-])[ ]+(.*)$`)
	mdOL      = regexp.MustCompile(`^([0-9]+)[.][ ]+(.*)$`)
	mdFence   = regexp.MustCompile("^(`{3,}|~{3,})[ ]*([^`]*?)[ ]*$")
	mdSetext1 = regexp.MustCompile(`^=+[ ]*$`)
	mdSetext2 = regexp.MustCompile(`^-+[ ]*$`)
)

func expandTabs(line string) string {
	if !strings.Contains(line, "\t") {
		return line
	}
	var b strings.Builder
	col := 0
	for _, r := range line {
		if r == '\t' {
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}

// lines is Parsedown's lines(): the blocks of the lines, each on its own
// line after a line feed.
func (p *parsedown) lines(lines []string) string {
	var blocks []*mdBlock
	var cur *mdBlock
	flush := func() {
		if cur != nil {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	for _, raw := range lines {
		if strings.TrimSpace(raw) == "" {
			if cur != nil {
				cur.interrupted = true
				if cur.kind == "fenced" && !cur.closed {
					cur.lines = append(cur.lines, "")
					cur.interrupted = false
				}
				if cur.kind == "code" {
					cur.lines = append(cur.lines, "")
				}
			}
			continue
		}
		line := expandTabs(raw)
		indent := len(line) - len(strings.TrimLeft(line, " "))
		text := line[indent:]
		// continuations
		if cur != nil {
			switch cur.kind {
			case "fenced":
				if !cur.closed {
					if strings.HasPrefix(text, cur.fence[:3]) && strings.TrimRight(text, string(cur.fence[0])+" ") == "" && len(strings.TrimRight(text, " ")) >= len(cur.fence) {
						cur.closed = true
						continue
					}
					cur.lines = append(cur.lines, line)
					continue
				}
			case "code":
				if indent >= 4 {
					cur.lines = append(cur.lines, line[4:])
					cur.interrupted = false
					continue
				}
			case "quote":
				if strings.HasPrefix(text, ">") {
					if cur.interrupted {
						cur.lines = append(cur.lines, "")
					}
					cur.lines = append(cur.lines, strings.TrimPrefix(strings.TrimPrefix(text, ">"), " "))
					cur.interrupted = false
					continue
				}
				if !cur.interrupted {
					cur.lines = append(cur.lines, text)
					continue
				}
			case "ul", "ol":
				if m := p.listItem(cur.kind, text); m != nil && indent < cur.indent {
					if cur.interrupted {
						cur.loose = true
						cur.items[len(cur.items)-1] = append(cur.items[len(cur.items)-1], "")
					}
					cur.items = append(cur.items, []string{m[2]})
					cur.interrupted = false
					continue
				}
				if indent >= cur.indent {
					it := &cur.items[len(cur.items)-1]
					if cur.interrupted {
						*it = append(*it, "")
						cur.interrupted = false
					}
					*it = append(*it, line[cur.indent:])
					continue
				}
				if !cur.interrupted && p.startsBlock(text, indent) == "" {
					it := &cur.items[len(cur.items)-1]
					*it = append(*it, text)
					continue
				}
			case "p":
				if !cur.interrupted {
					if mdSetext1.MatchString(text) {
						cur.kind = "h1"
						flush()
						continue
					}
					if mdSetext2.MatchString(text) {
						cur.kind = "h2"
						flush()
						continue
					}
				}
			}
		}
		switch kind := p.startsBlock(text, indent); {
		case kind == "code" && (cur == nil || cur.kind != "p" || cur.interrupted):
			flush()
			cur = &mdBlock{kind: "code", lines: []string{line[4:]}}
		case kind == "h":
			flush()
			level := 1
			for level < len(text) && text[level] == '#' {
				level++
			}
			if level > 6 {
				goto paragraph
			}
			blocks = append(blocks, &mdBlock{kind: "h" + strconv.Itoa(level), lines: []string{strings.Trim(text, "# ")}})
		case kind == "hr":
			flush()
			blocks = append(blocks, &mdBlock{kind: "hr"})
		case kind == "fenced":
			flush()
			m := mdFence.FindStringSubmatch(text)
			cur = &mdBlock{kind: "fenced", fence: m[1], lang: m[2]}
		case kind == "quote":
			flush()
			cur = &mdBlock{kind: "quote", lines: []string{strings.TrimPrefix(strings.TrimPrefix(text, ">"), " ")}}
		case kind == "ul" || kind == "ol":
			flush()
			m := p.listItem(kind, text)
			b := &mdBlock{kind: kind, items: [][]string{{m[2]}}, marker: m[1]}
			b.indent = indent + len(text) - len(m[2])
			if kind == "ol" {
				b.start, _ = strconv.Atoi(m[1])
			}
			if m[2] == "" {
				b.indent = indent + len(m[1]) + 1
			}
			cur = b
		default:
			goto paragraph
		}
		continue
	paragraph:
		if cur != nil && cur.kind == "p" && !cur.interrupted {
			cur.lines = append(cur.lines, text)
			continue
		}
		flush()
		cur = &mdBlock{kind: "p", lines: []string{text}}
	}
	flush()
	var b strings.Builder
	for _, bl := range blocks {
		b.WriteString("\n")
		b.WriteString(p.block(bl))
	}
	b.WriteString("\n")
	return b.String()
}

// listItem matches a list item of the kind; for ul the marker is
// * + or -, for ol a number and . or ).
func (p *parsedown) listItem(kind, text string) []string {
	if kind == "ul" {
		if m := mdUL.FindStringSubmatch(text); m != nil {
			return m
		}
		if len(text) == 1 && strings.ContainsAny(text, "*+-") {
			return []string{text, text, ""}
		}
		return nil
	}
	return mdOL.FindStringSubmatch(text)
}

// startsBlock says which block the line starts ("" for none).
func (p *parsedown) startsBlock(text string, indent int) string {
	if indent >= 4 {
		return "code"
	}
	switch {
	case strings.HasPrefix(text, "#") && len(text) > 1:
		return "h"
	case mdRule.MatchString(text):
		return "hr"
	case mdFence.MatchString(text) && (text[0] == '`' || text[0] == '~'):
		return "fenced"
	case strings.HasPrefix(text, ">"):
		return "quote"
	case p.listItem("ul", text) != nil:
		return "ul"
	case p.listItem("ol", text) != nil:
		return "ol"
	}
	return ""
}

func (p *parsedown) block(bl *mdBlock) string {
	switch bl.kind {
	case "p":
		return "<p>" + p.line(strings.Join(bl.lines, "\n")) + "</p>"
	case "h1", "h2", "h3", "h4", "h5", "h6":
		return "<" + bl.kind + ">" + p.line(strings.Join(bl.lines, "\n")) + "</" + bl.kind + ">"
	case "hr":
		return "<hr />"
	case "code", "fenced":
		lines := bl.lines
		for len(lines) > 0 && lines[len(lines)-1] == "" && bl.kind == "code" {
			lines = lines[:len(lines)-1]
		}
		attr := ""
		if bl.kind == "fenced" && bl.lang != "" {
			lang := bl.lang
			if i := strings.IndexAny(lang, " \t"); i >= 0 {
				lang = lang[:i]
			}
			attr = ` class="language-` + phpEscape(lang, true) + `"`
		}
		body := strings.Join(lines, "\n")
		if bl.kind == "fenced" && !bl.closed {
			body = "\n" + body // Parsedown 1.7 completes only a closed fence
		}
		return "<pre><code" + attr + ">" + phpEscape(body, false) + "</code></pre>"
	case "quote":
		return "<blockquote>" + p.lines(bl.lines) + "</blockquote>"
	case "ul", "ol":
		var b strings.Builder
		b.WriteString("<" + bl.kind)
		if bl.kind == "ol" && bl.start != 1 {
			b.WriteString(` start="` + strconv.Itoa(bl.start) + `"`)
		}
		b.WriteString(">")
		for _, it := range bl.items {
			if bl.loose && it[len(it)-1] != "" {
				it = append(it, "") // Parsedown's blockListComplete
			}
			b.WriteString("\n<li>")
			m := p.lines(it)
			hasBlank := false
			for _, l := range it {
				if l == "" {
					hasBlank = true
				}
			}
			if t := strings.TrimSpace(m); !hasBlank && strings.HasPrefix(t, "<p>") {
				t = t[3:]
				if i := strings.Index(t, "</p>"); i >= 0 {
					t = t[:i] + t[i+4:]
				}
				m = t
			}
			b.WriteString(m + "</li>")
		}
		b.WriteString("\n</" + bl.kind + ">")
		return b.String()
	}
	return ""
}

// phpEscape is PHP's htmlspecialchars as Parsedown's escape() calls it:
// quotes too (ENT_QUOTES) for attributes, not for text.
func phpEscape(s string, quotes bool) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	if quotes {
		r = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;")
	}
	return r.Replace(s)
}

var (
	mdStrongStar = regexp.MustCompile(`(?s)^\*\*((?:\\\*|[^*]|\*[^*]*\*)+?)\*\*(?:[^*]|$)`)
	mdStrongUnd  = regexp.MustCompile(`(?s)^__((?:\\_|[^_]|_[^_]*_)+?)__(?:[^_]|$)`)
	mdEmStar     = regexp.MustCompile(`(?s)^\*((?:\\\*|[^*]|\*\*[^*]+?\*\*)+?)\*(?:[^*]|$)`)
	mdEmUnd      = regexp.MustCompile(`(?s)^_((?:\\_|[^_]|__[^_]*__)+?)_(?:[^0-9A-Za-z_]|$)`)
	mdCode       = regexp.MustCompile("(?s)^(`+)[ ]*(.+?)[ ]*`")
	mdLinkDest   = regexp.MustCompile(`^[(]\s*((?:[^ ()]+|[(][^ )]+[)])+)(?:[ ]+("[^"]*"|'[^']*'))?\s*[)]`)
	mdURL        = regexp.MustCompile(`(?i)\bhttps?://[^\s<]+\b/*`)
	mdURLTag     = regexp.MustCompile(`(?i)^<(\w+://[^ >]+)>`)
	mdEmailTag   = regexp.MustCompile(`(?i)^<((mailto:)?\S+?@\S+?)>`)
	mdStrike     = regexp.MustCompile(`^~~(~*[^~].*?)~~`)
	mdEntity     = regexp.MustCompile(`^&#?\w+;`)
	mdBreak      = regexp.MustCompile(`[ ]*\n`)
)

const mdMarkers = "!\"*_&[:<>`~\\"

// line is Parsedown's line(): inline markup.
func (p *parsedown) line(text string) string {
	return p.inline(text, nil)
}

func (p *parsedown) inline(text string, nonNestable map[string]bool) string {
	var out strings.Builder
	for {
		i := strings.IndexAny(text, mdMarkers)
		if i < 0 {
			break
		}
		ex := text[i:]
		pos, extent, markup, ok := p.inlineAt(ex, text, i, nonNestable)
		if ok && pos <= i {
			out.WriteString(p.unmarked(text[:pos]))
			out.WriteString(markup)
			text = text[pos+extent:]
			continue
		}
		out.WriteString(p.unmarked(text[:i+1]))
		text = text[i+1:]
	}
	out.WriteString(p.unmarked(text))
	return out.String()
}

func (p *parsedown) unmarked(s string) string {
	s = mdBreak.ReplaceAllString(s, "<br />\n")
	return strings.ReplaceAll(s, " \n", "\n")
}

func (p *parsedown) attr(s string) string { return phpEscape(s, true) }

// safeURL is Parsedown's filterUnsafeUrlInAttribute.
func (p *parsedown) safeURL(u string) string {
	if !p.safe {
		return u
	}
	for _, ok := range []string{"http://", "https://", "ftp://", "ftps://", "mailto:", "data:image/png;base64,",
		"data:image/gif;base64,", "data:image/jpeg;base64,", "irc:", "ircs:", "git:", "ssh:", "news:", "steam:"} {
		if len(u) >= len(ok) && strings.EqualFold(u[:len(ok)], ok) {
			return u
		}
	}
	return strings.ReplaceAll(u, ":", "%3A")
}

// inlineAt tries the inline types of the marker that starts ex (text[i:]).
func (p *parsedown) inlineAt(ex, text string, i int, non map[string]bool) (pos, extent int, markup string, ok bool) {
	pos = i
	switch ex[0] {
	case '"':
		return pos, 1, "&quot;", true
	case '&':
		if !mdEntity.MatchString(ex) {
			return pos, 1, "&amp;", true
		}
	case '>':
		return pos, 1, "&gt;", true
	case '\\':
		if len(ex) > 1 && strings.IndexByte("\\`*_{}[]()>#+-.!|~", ex[1]) >= 0 {
			return pos, 2, ex[1:2], true
		}
	case '`':
		if m := mdCode.FindStringSubmatch(ex); m != nil {
			// the closing run must have the same length, not followed by `
			open := m[1]
			rest := ex[len(open):]
			for j := 0; j < len(rest); j++ {
				if strings.HasPrefix(rest[j:], open) && (j+len(open) >= len(rest) || rest[j+len(open)] != '`') && (j == 0 || rest[j-1] != '`') {
					body := strings.Trim(rest[:j], " ")
					if body == "" {
						break
					}
					body = regexp.MustCompile(`[ ]*\n`).ReplaceAllString(body, " ")
					return pos, len(open) + j + len(open), "<code>" + phpEscape(body, false) + "</code>", true
				}
			}
		}
	case '*', '_':
		if len(ex) < 2 {
			break
		}
		var m []int
		tag := ""
		if ex[1] == ex[0] {
			re := mdStrongStar
			if ex[0] == '_' {
				re = mdStrongUnd
			}
			if m = re.FindStringSubmatchIndex(ex); m != nil {
				tag = "strong"
			}
		}
		if tag == "" {
			re := mdEmStar
			if ex[0] == '_' {
				re = mdEmUnd
			}
			if m = re.FindStringSubmatchIndex(ex); m != nil {
				tag = "em"
			}
		}
		if tag != "" {
			closer := 1
			if tag == "strong" {
				closer = 2
			}
			end := m[3] + closer // without the look-ahead character

			inner := ex[m[2]:m[3]]
			return pos, end, "<" + tag + ">" + p.inline(inner, non) + "</" + tag + ">", true
		}
	case '~':
		if m := mdStrike.FindStringSubmatch(ex); m != nil {
			return pos, len(m[0]), "<del>" + p.inline(m[1], non) + "</del>", true
		}
	case '!':
		if len(ex) > 1 && ex[1] == '[' {
			if ext, label, href, title, ok := p.link(ex[1:]); ok {
				s := `<img src="` + p.attr(p.safeURL(href)) + `" alt="` + p.attr(label) + `"`
				if title != "" {
					s += ` title="` + p.attr(title) + `"`
				}
				return pos, ext + 1, s + " />", true
			}
		}
	case '[':
		if non["link"] {
			break
		}
		if ext, label, href, title, ok := p.link(ex); ok {
			inner := map[string]bool{"link": true, "url": true}
			for k := range non {
				inner[k] = true
			}
			s := `<a href="` + p.attr(p.safeURL(href)) + `"`
			if title != "" {
				s += ` title="` + p.attr(title) + `"`
			}
			return pos, ext, s + ">" + p.inline(label, inner) + "</a>", true
		}
	case ':':
		if non["url"] || len(ex) < 3 || ex[2] != '/' {
			break
		}
		if m := mdURL.FindStringIndex(text); m != nil && m[0] <= i {
			u := text[m[0]:m[1]]
			return m[0], len(u), `<a href="` + p.attr(p.safeURL(u)) + `">` + phpEscape(u, false) + "</a>", true
		}
	case '<':
		if strings.Contains(ex, ">") {
			if m := mdURLTag.FindStringSubmatch(ex); m != nil {
				return pos, len(m[0]), `<a href="` + p.attr(p.safeURL(m[1])) + `">` + phpEscape(m[1], false) + "</a>", true
			}
			if m := mdEmailTag.FindStringSubmatch(ex); m != nil {
				href := m[1]
				if m[2] == "" {
					href = "mailto:" + href
				}
				return pos, len(m[0]), `<a href="` + p.attr(p.safeURL(href)) + `">` + phpEscape(m[1], false) + "</a>", true
			}
		}
		return pos, 1, "&lt;", true
	}
	return 0, 0, "", false
}

// link reads [label](href "title") at the start of ex.
func (p *parsedown) link(ex string) (extent int, label, href, title string, ok bool) {
	depth := 0
	end := -1
	for j := 0; j < len(ex); j++ {
		switch ex[j] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				end = j
			}
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return
	}
	label = ex[1:end]
	m := mdLinkDest.FindStringSubmatch(ex[end+1:])
	if m == nil {
		return
	}
	href = m[1]
	if m[2] != "" {
		title = m[2][1 : len(m[2])-1]
	}
	return end + 1 + len(m[0]), label, href, title, true
}
