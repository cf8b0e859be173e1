package templates

import (
	"regexp"
	"sort"
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
//
// Its cost is linear (n·log n at worst) in its input: markdown_to_html runs
// on request bodies, so it never scans the rest of the text for each
// marker (mdInline) and blocks nest at most mdMaxDepth levels.
func fMarkdownToHTML(in any, args ...any) (any, error) {
	safe := true
	if len(args) > 0 && args[0] != nil {
		safe = truthy(args[0])
	}
	md := &parsedown{safe: safe}
	return md.text(toStr(in)), nil
}

// mdMaxDepth bounds how deep blocks nest: a quote or a list item is parsed
// again as lines, one level deeper. Parsedown has no bound (PHP runs out of
// stack or memory first); here, at mdMaxDepth levels a line that would open
// another quote or list opens a paragraph instead, so its markers stay text
// ("> > x" at the bottom renders "<p>&gt; &gt; x</p>"). Markdown written by
// people nests a handful of levels; the bound only changes inputs that
// nest deeper than 32 levels, which used to cost time and memory quadratic
// in their depth, and a stack overflow (a crash) at about 100,000 levels.
const mdMaxDepth = 32

type parsedown struct{ safe bool }

func (p *parsedown) text(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	s = strings.Trim(s, "\n")
	var b strings.Builder
	p.lines(&b, strings.Split(s, "\n"), 0)
	return strings.Trim(b.String(), "\n")
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

// lines is Parsedown's lines(): it writes the blocks of the lines to w,
// each on its own line after a line feed. depth is how many quotes and list
// items enclose the lines (see mdMaxDepth).
func (p *parsedown) lines(w *strings.Builder, lines []string, depth int) {
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
				if !cur.interrupted && p.startsBlock(text, indent, depth) == "" {
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
		switch kind := p.startsBlock(text, indent, depth); {
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
	for _, bl := range blocks {
		w.WriteString("\n")
		p.block(w, bl, depth)
	}
	w.WriteString("\n")
}

// listItem matches a list item of the kind: for ul ^([*+-])[ ]+(.*)$
// (or the marker alone), for ol ^([0-9]+)[.][ ]+(.*)$; lines hold no line
// feed, so (.*)$ is the rest of the line. It is written out rather than a
// regexp because nested lists run it over the same long line at every
// level.
func (p *parsedown) listItem(kind, text string) []string {
	n := 0
	if kind == "ul" {
		if text == "" || strings.IndexByte("*+-", text[0]) < 0 {
			return nil
		}
		if len(text) == 1 {
			return []string{text, text, ""}
		}
		n = 1
	} else {
		for n < len(text) && '0' <= text[n] && text[n] <= '9' {
			n++
		}
		if n == 0 || n == len(text) || text[n] != '.' {
			return nil
		}
	}
	rest := text[n:]
	if kind == "ol" {
		rest = rest[1:]
	}
	item := strings.TrimLeft(rest, " ")
	if len(item) == len(rest) {
		return nil
	}
	return []string{text, text[:n], item}
}

// startsBlock says which block the line starts ("" for none); at
// mdMaxDepth, no quote or list.
func (p *parsedown) startsBlock(text string, indent, depth int) string {
	if indent >= 4 {
		return "code"
	}
	nests := depth < mdMaxDepth
	switch {
	case strings.HasPrefix(text, "#") && len(text) > 1:
		return "h"
	case mdRule.MatchString(text):
		return "hr"
	case mdFence.MatchString(text) && (text[0] == '`' || text[0] == '~'):
		return "fenced"
	case nests && strings.HasPrefix(text, ">"):
		return "quote"
	case nests && p.listItem("ul", text) != nil:
		return "ul"
	case nests && p.listItem("ol", text) != nil:
		return "ol"
	}
	return ""
}

// block writes the block to w; depth is that of the lines it came from.
func (p *parsedown) block(w *strings.Builder, bl *mdBlock, depth int) {
	switch bl.kind {
	case "p":
		w.WriteString("<p>")
		p.inline(w, strings.Join(bl.lines, "\n"), nil, 0)
		w.WriteString("</p>")
	case "h1", "h2", "h3", "h4", "h5", "h6":
		w.WriteString("<" + bl.kind + ">")
		p.inline(w, strings.Join(bl.lines, "\n"), nil, 0)
		w.WriteString("</" + bl.kind + ">")
	case "hr":
		w.WriteString("<hr />")
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
		w.WriteString("<pre><code" + attr + ">" + phpEscape(body, false) + "</code></pre>")
	case "quote":
		w.WriteString("<blockquote>")
		p.lines(w, bl.lines, depth+1)
		w.WriteString("</blockquote>")
	case "ul", "ol":
		w.WriteString("<" + bl.kind)
		if bl.kind == "ol" && bl.start != 1 {
			w.WriteString(` start="` + strconv.Itoa(bl.start) + `"`)
		}
		w.WriteString(">")
		var item strings.Builder
		for _, it := range bl.items {
			if bl.loose && it[len(it)-1] != "" {
				it = append(it, "") // Parsedown's blockListComplete
			}
			w.WriteString("\n<li>")
			item.Reset()
			p.lines(&item, it, depth+1)
			m := item.String()
			hasBlank := false
			for _, l := range it {
				if l == "" {
					hasBlank = true
				}
			}
			if t := strings.TrimSpace(m); !hasBlank && strings.HasPrefix(t, "<p>") {
				t = t[3:]
				if i := strings.Index(t, "</p>"); i >= 0 {
					w.WriteString(t[:i])
					t = t[i+4:]
				}
				m = t
			}
			w.WriteString(m)
			w.WriteString("</li>")
		}
		w.WriteString("\n</" + bl.kind + ">")
	}
}

// phpEscape is PHP's htmlspecialchars as Parsedown's escape() calls it:
// quotes too (ENT_QUOTES) for attributes, not for text.
func phpEscape(s string, quotes bool) string {
	if quotes {
		return mdEscapeQuotes.Replace(s)
	}
	return mdEscape.Replace(s)
}

// The replacers of phpEscape (a strings.Replacer is safe for concurrent use).
var (
	mdEscape       = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	mdEscapeQuotes = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;")
)

var (
	mdStrongStar = regexp.MustCompile(`(?s)^\*\*((?:\\\*|[^*]|\*[^*]*\*)+?)\*\*(?:[^*]|$)`)
	mdStrongUnd  = regexp.MustCompile(`(?s)^__((?:\\_|[^_]|_[^_]*_)+?)__(?:[^_]|$)`)
	mdEmStar     = regexp.MustCompile(`(?s)^\*((?:\\\*|[^*]|\*\*[^*]+?\*\*)+?)\*(?:[^*]|$)`)
	mdEmUnd      = regexp.MustCompile(`(?s)^_((?:\\_|[^_]|__[^_]*__)+?)_(?:[^0-9A-Za-z_]|$)`)
	mdLinkDest   = regexp.MustCompile(`^[(]\s*((?:[^ ()]+|[(][^ )]+[)])+)(?:[ ]+("[^"]*"|'[^']*'))?\s*[)]`)
	mdURLAt      = regexp.MustCompile(`(?i)^https?://[^\s<]+\b/*`) // Parsedown's \bhttps?:[\/]{2}[^\s<]+\b\/*, anchored

	mdURLTag   = regexp.MustCompile(`(?i)^<(\w+://[^ >]+)>`)
	mdEmailTag = regexp.MustCompile(`(?i)^<((mailto:)?\S+?@\S+?)>`)
	mdStrike   = regexp.MustCompile(`^~~(~*[^~].*?)~~`)
	mdEntity   = regexp.MustCompile(`^&#?\w+;`)
	mdBreak    = regexp.MustCompile(`[ ]*\n`)
)

const mdMarkers = "!\"*_&[:<>`~\\"

// mdInline is one text being rendered as inline markup, with the indexes
// that let every marker be tried in time independent of the text after it
// (Parsedown scans the rest of the text for many markers: a text of n '['
// cost n²). Each index is built on first use, in one pass over s.
type mdInline struct {
	s     string
	depth int     // how many emphases, strikethroughs and links enclose s
	close []int32 // close[i]-1: the ']' that closes the '[' at i (0: none)
	dest  []int32 // dest[i]: the farthest end of a link destination from i
	ticks []mdRun // backtick runs, in order
	byLen map[int32][]int32
	tick  int // the run of the last backtick asked about

	gt, at, gtAt, ws, tagEnd mdNext
}

// mdRun is a maximal run of backticks.
type mdRun struct{ start, end int32 }

// mdNext caches where the next byte of a set is, for questions asked at
// non-decreasing positions: it scans each byte at most once.
type mdNext struct{ from, at int }

// index is the first index at or after from of a byte in set (len(s) if
// none).
func (c *mdNext) index(s string, from int, set string) int {
	if from >= len(s) {
		return len(s)
	}
	if c.at > 0 && from >= c.from && from <= c.at-1 {
		return c.at - 1
	}
	i := strings.IndexAny(s[from:], set)
	if i < 0 {
		i = len(s) - from
	}
	c.from, c.at = from, from+i+1
	return from + i
}

// closing is the index of the ']' that closes the '[' at i, or -1.
func (x *mdInline) closing(i int) int {
	if x.close == nil {
		x.close = make([]int32, len(x.s))
		var open []int32
		for j := 0; j < len(x.s); j++ {
			switch x.s[j] {
			case '[':
				open = append(open, int32(j))
			case ']':
				if len(open) > 0 {
					x.close[open[len(open)-1]] = int32(j + 1)
					open = open[:len(open)-1]
				}
			}
		}
	}
	return int(x.close[i]) - 1
}

// destEnd is the farthest end of what mdLinkDest's group 1,
// (?:[^ ()]+|[(][^ )]+[)])+, can match from i (i itself if nothing).
func (x *mdInline) destEnd(i int) int {
	n := len(x.s)
	if x.dest == nil {
		x.dest = make([]int32, n+1)
		x.dest[n] = int32(n)
		runEnd, groupEnd := n, n // next ' ', '(' or ')'; next ' ' or ')'
		for j := n - 1; j >= 0; j-- {
			switch c := x.s[j]; c {
			case ' ', ')':
				x.dest[j] = int32(j)
			case '(':
				if f := groupEnd; f < n && x.s[f] == ')' && f > j+1 {
					x.dest[j] = x.dest[f+1]
				} else {
					x.dest[j] = int32(j)
				}
			default:
				x.dest[j] = x.dest[runEnd]
			}
			switch x.s[j] {
			case ' ', ')':
				runEnd, groupEnd = j, j
			case '(':
				runEnd = j
			}
		}
	}
	return int(x.dest[i])
}

// spaceEnd is the first index at or after i that is not \s ([\t\n\f\r ]).
func (x *mdInline) spaceEnd(i int) int {
	for i < len(x.s) && strings.IndexByte("\t\n\f\r ", x.s[i]) >= 0 {
		i++
	}
	return i
}

// destWindow says whether mdLinkDest can match at i (where a '(' is) and
// bounds where its match ends: the match is that of s[i:end]. A match is
// "(", spaces, a destination (no ' '; its possible ends are at most
// destEnd, and only destEnd is followed by a ' '), then either \s* ")" or
// spaces, a quoted title, \s* and ")". Matching it only then makes every
// '[' cost the link it renders, not the text after it.
func (x *mdInline) destWindow(i int) (end int, ok bool) {
	s, n := x.s, len(x.s)
	d := x.destEnd(x.spaceEnd(i + 1))
	w := x.spaceEnd(d)
	ok = w < n && s[w] == ')'
	end = max(d, w) + 1
	if d < n && s[d] == ' ' {
		q := d
		for q < n && s[q] == ' ' {
			q++
		}
		if q < n && (s[q] == '"' || s[q] == '\'') {
			if e := strings.IndexByte(s[q+1:], s[q]); e >= 0 {
				if t := x.spaceEnd(q + 1 + e + 1); t < n && s[t] == ')' {
					ok, end = true, max(end, t+1)
				}
			}
		}
	}
	return min(end, n), ok
}

// code is Parsedown's inlineCode at i (a '`'): the run of backticks from i
// opens, the next run of as many closes; it returns the closing run's
// start, or -1. mdCode's (`+)[ ]*(.+?)[ ]*` finds the whole run only if a
// backtick follows it, and otherwise no code.
func (x *mdInline) code(i int) (r, closer int) {
	if x.ticks == nil {
		x.byLen = map[int32][]int32{}
		for j := 0; j < len(x.s); {
			if x.s[j] != '`' {
				j++
				continue
			}
			k := j
			for k < len(x.s) && x.s[k] == '`' {
				k++
			}
			x.byLen[int32(k-j)] = append(x.byLen[int32(k-j)], int32(len(x.ticks)))
			x.ticks = append(x.ticks, mdRun{int32(j), int32(k)})
			j = k
		}
	}
	for int(x.ticks[x.tick].end) <= i {
		x.tick++
	}
	r = int(x.ticks[x.tick].end) - i
	same := x.byLen[int32(r)]
	k := sort.Search(len(same), func(k int) bool { return int(same[k]) > x.tick })
	if k == len(same) {
		return r, -1
	}
	return r, int(x.ticks[same[k]].start)
}

// inline is Parsedown's line(): it writes the inline markup of text to w.
// non names the inline types not to look for (inside a link's text); depth
// is how many emphases, strikethroughs and links enclose text: like
// blocks, they nest at most mdMaxDepth levels, below which '*', '_' and
// '~' are text ("**"*n + "x" + "**"*n nested n levels, each scanning the
// rest of the text: quadratic).
func (p *parsedown) inline(w *strings.Builder, text string, non map[string]bool, depth int) {
	x := &mdInline{s: text, depth: depth}
	ctx := 0 // Parsedown's $text starts here
	for {
		k := strings.IndexAny(text[ctx:], mdMarkers)
		if k < 0 {
			break
		}
		i := ctx + k
		pos, extent, markup, ok := p.inlineAt(x, ctx, i, non)
		if ok && pos <= i {
			p.unmarked(w, text[ctx:pos])
			w.WriteString(markup)
			ctx = pos + extent
			continue
		}
		p.unmarked(w, text[ctx:i+1])
		ctx = i + 1
	}
	p.unmarked(w, text[ctx:])
}

// inlineString is inline into a string.
func (p *parsedown) inlineString(text string, non map[string]bool, depth int) string {
	var b strings.Builder
	p.inline(&b, text, non, depth)
	return b.String()
}

// unmarked is Parsedown's unmarkedText with line breaks enabled: spaces
// before a line feed go, and the line feed becomes "<br />\n".
func (p *parsedown) unmarked(w *strings.Builder, s string) {
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			w.WriteString(s)
			return
		}
		w.WriteString(strings.TrimRight(s[:i], " "))
		w.WriteString("<br />\n")
		s = s[i+1:]
	}
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

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// inlineAt tries the inline types of the marker at x.s[i]; Parsedown's
// context (the text not yet rendered) starts at ctx. pos is where the
// markup starts (before i for a URL), extent how many bytes it replaces.
func (p *parsedown) inlineAt(x *mdInline, ctx, i int, non map[string]bool) (pos, extent int, markup string, ok bool) {
	text := x.s
	ex := text[i:]
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
		r, c := x.code(i)
		if c < 0 {
			break
		}
		body := strings.Trim(text[i+r:c], " ")
		if body == "" {
			break
		}
		body = mdBreak.ReplaceAllString(body, " ")
		return pos, c + r - i, "<code>" + phpEscape(body, false) + "</code>", true
	case '*', '_':
		if len(ex) < 2 || x.depth >= mdMaxDepth {
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
			return pos, end, "<" + tag + ">" + p.inlineString(inner, non, x.depth+1) + "</" + tag + ">", true
		}
	case '~':
		if x.depth >= mdMaxDepth {
			break
		}
		if m := mdStrike.FindStringSubmatch(ex); m != nil {
			return pos, len(m[0]), "<del>" + p.inlineString(m[1], non, x.depth+1) + "</del>", true
		}
	case '!':
		if len(ex) > 1 && ex[1] == '[' {
			if ext, label, href, title, ok := p.link(x, i+1); ok {
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
		if ext, label, href, title, ok := p.link(x, i); ok {
			inner := map[string]bool{"link": true, "url": true}
			for k := range non {
				inner[k] = true
			}
			s := `<a href="` + p.attr(p.safeURL(href)) + `"`
			if title != "" {
				s += ` title="` + p.attr(title) + `"`
			}
			return pos, ext, s + ">" + p.inlineString(label, inner, x.depth+1) + "</a>", true
		}
	case ':':
		if non["url"] || len(ex) < 3 || ex[2] != '/' {
			break
		}
		// Parsedown matches \bhttps?://… anywhere in the context and takes
		// the match if it starts at or before i. No ':' precedes i in the
		// context, so the match can only start 4 ("http"), 5 ("https") or
		// 6 ("httpſ": (?i) folds s and ſ) bytes before i.
		for _, back := range [...]int{6, 5, 4} {
			m0 := i - back
			if m0 < ctx || m0 > ctx && isWordByte(text[m0-1]) {
				continue
			}
			if m := mdURLAt.FindStringIndex(text[m0:]); m != nil {
				u := text[m0 : m0+m[1]]
				return m0, len(u), `<a href="` + p.attr(p.safeURL(u)) + `">` + phpEscape(u, false) + "</a>", true
			}
		}
	case '<':
		// mdURLTag's match ends at the first ' ' or '>' after i, and
		// mdEmailTag's within the run of non-spaces from i, after an '@'
		// that a '>' follows; the regexps run only where they can match.
		n := len(text)
		if x.gt.index(text, i, ">") == n {
			return pos, 1, "&lt;", true
		}
		if e := x.tagEnd.index(text, i+1, " >"); e < n && text[e] == '>' {
			if m := mdURLTag.FindStringSubmatch(text[i : e+1]); m != nil {
				return pos, len(m[0]), `<a href="` + p.attr(p.safeURL(m[1])) + `">` + phpEscape(m[1], false) + "</a>", true
			}
		}
		ws := x.ws.index(text, i+1, "\t\n\f\r ")
		if a := x.at.index(text, i+2, "@"); a < ws && x.gtAt.index(text, a+2, ">") < ws {
			if m := mdEmailTag.FindStringSubmatch(text[i:ws]); m != nil {
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

// link reads [label](href "title") at x.s[i], a '['; extent counts from i.
func (p *parsedown) link(x *mdInline, i int) (extent int, label, href, title string, ok bool) {
	end := x.closing(i)
	if end < 0 || end+1 >= len(x.s) || x.s[end+1] != '(' {
		return
	}
	label = x.s[i+1 : end]
	w, can := x.destWindow(end + 1)
	if !can {
		return
	}
	m := mdLinkDest.FindStringSubmatch(x.s[end+1 : w])
	if m == nil {
		return
	}
	href = m[1]
	if m[2] != "" {
		title = m[2][1 : len(m[2])-1]
	}
	return end + 1 + len(m[0]) - i, label, href, title, true
}
