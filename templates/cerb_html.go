package templates

import (
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// fHTMLToText is Cerb's html_to_text(truncate=50000): the text of an HTML
// fragment as Cerb's string service writes it (htmlToText: libxml's
// HTML parser, then a walk that ends blocks with line feeds, lists
// items with "* " or "1. ", links as "label <href>"). A value that is
// not text gives "". Its time and memory grow linearly with the input
// and its stack does not grow with the depth of the tags.
func fHTMLToText(in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	limit := 50000
	if len(args) > 0 && args[0] != nil {
		limit = int(toInt(args[0]))
	}
	s = strings.ReplaceAll(s, "&nbsp;", "")
	return htmlToText(parseLibxmlHTML(s), limit), nil
}

// hnode is a node of the tree libxml's HTML parser builds: an element
// (tag set) or text. idx is its index in parent.children; blank maps a
// state of the white-space automaton (wsRoot …) before its text content
// to the state after it.
type hnode struct {
	tag      string
	text     string
	attrs    map[string]string
	parent   *hnode
	children []*hnode
	idx      int
	blank    [wsStates]uint8
}

func (n *hnode) add(c *hnode) {
	c.parent = n
	c.idx = len(n.children)
	n.children = append(n.children, c)
}

// textContent is the text of n's descendants in document order, gathered
// without recursion.
func (n *hnode) textContent() string {
	if n.tag == "" {
		return n.text
	}
	var b strings.Builder
	stack := []*hnode{n}
	for len(stack) > 0 {
		m := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if m.tag == "" {
			b.WriteString(m.text)
			continue
		}
		for i := len(m.children) - 1; i >= 0; i-- {
			stack = append(stack, m.children[i])
		}
	}
	return b.String()
}

// isBlank reports whether strings.TrimSpace(n.textContent()) == "", from
// the summary summarize computed.
func (n *hnode) isBlank() bool { return n.blank[wsRoot] == wsRoot }

// The white-space automaton reads bytes and accepts (ends in wsRoot)
// exactly the strings that decode, rune by rune as strings.TrimSpace
// decodes them, into runes unicode.IsSpace holds: the ASCII spaces and the
// UTF-8 forms of U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029,
// U+202F, U+205F and U+3000. A state other than wsRoot and wsDead is the
// prefix of such a form read so far (an invalid or cut form is U+FFFD, not
// a space). It lets a node's blankness be composed from its children's, so
// a split form such as "\xc2" + "\x85" is judged as the joined text is.
const (
	wsRoot = iota
	wsDead
	wsC2
	wsE1
	wsE19A
	wsE2
	wsE280
	wsE281
	wsE3
	wsE380
	wsStates
)

func wsStep(st uint8, c byte) uint8 {
	switch st {
	case wsRoot:
		switch c {
		case '\t', '\n', '\v', '\f', '\r', ' ':
			return wsRoot
		case 0xC2:
			return wsC2
		case 0xE1:
			return wsE1
		case 0xE2:
			return wsE2
		case 0xE3:
			return wsE3
		}
	case wsC2:
		if c == 0x85 || c == 0xA0 {
			return wsRoot
		}
	case wsE1:
		if c == 0x9A {
			return wsE19A
		}
	case wsE2:
		switch c {
		case 0x80:
			return wsE280
		case 0x81:
			return wsE281
		}
	case wsE280:
		if c >= 0x80 && c <= 0x8A || c == 0xA8 || c == 0xA9 || c == 0xAF {
			return wsRoot
		}
	case wsE281:
		if c == 0x9F {
			return wsRoot
		}
	case wsE3:
		if c == 0x80 {
			return wsE380
		}
	case wsE19A, wsE380:
		if c == 0x80 {
			return wsRoot
		}
	}
	return wsDead
}

// summarize fills in n.blank from n's text or from its children's
// summaries, which must be filled in already.
func (n *hnode) summarize() {
	for st := range n.blank {
		n.blank[st] = uint8(st)
	}
	if n.tag == "" {
		for st := range n.blank {
			s := uint8(st)
			for j := 0; j < len(n.text) && s != wsDead; j++ {
				s = wsStep(s, n.text[j])
			}
			n.blank[st] = s
		}
		return
	}
	for _, c := range n.children {
		for st := range n.blank {
			n.blank[st] = c.blank[n.blank[st]]
		}
	}
}

var (
	htmlVoid = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
		"input": true, "link": true, "meta": true, "param": true, "source": true, "track": true, "wbr": true}
	// htmlClosesP are the start tags that end an open <p> (libxml's
	// htmlAutoClose table).
	htmlClosesP = map[string]bool{"p": true, "div": true, "ul": true, "ol": true, "dl": true, "pre": true, "table": true,
		"blockquote": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true,
		"form": true, "address": true, "center": true, "fieldset": true, "menu": true, "dir": true, "listing": true, "xmp": true}
	htmlHeadOnly = map[string]bool{"title": true, "meta": true, "link": true, "base": true}
)

// parseLibxmlHTML builds the body of an HTML fragment roughly as libxml2's
// HTML parser does: text before any element opens an implied <p>, block
// start tags close an open <p>, an <li> closes the open <li>, end tags
// close up to their element, void elements hold nothing. It counts the
// open elements by tag and keeps the open li, ul and ol elements on a
// stack, so each tag costs constant time plus the elements it closes; the
// summary of an element is filled in when it closes.
func parseLibxmlHTML(s string) *hnode {
	body := &hnode{tag: "body"}
	cur := body
	open := map[string]int{}
	var lists []*hnode // the open li, ul and ol elements, innermost last
	isList := func(tag string) bool { return tag == "li" || tag == "ul" || tag == "ol" }
	push := func(n *hnode) {
		cur = n
		open[n.tag]++
		if isList(n.tag) {
			lists = append(lists, n)
		}
	}
	pop := func() *hnode {
		n := cur
		n.summarize() // its children are closed
		cur = n.parent
		open[n.tag]--
		if isList(n.tag) {
			lists = lists[:len(lists)-1]
		}
		return n
	}
	closeTo := func(tag string) {
		if open[tag] == 0 {
			return
		}
		for pop().tag != tag {
		}
	}
	started := false
	z := html.NewTokenizer(strings.NewReader(s))
	inHead := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			for cur != body {
				pop()
			}
			return body
		case html.TextToken:
			t := string(z.Text())
			if inHead {
				continue
			}
			if !started {
				if strings.TrimSpace(t) == "" {
					continue
				}
				p := &hnode{tag: "p"}
				body.add(p)
				push(p)
				started = true
			}
			n := &hnode{text: t}
			n.summarize()
			cur.add(n)
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			switch tag {
			case "html", "body":
				continue
			case "head":
				inHead = tt == html.StartTagToken
				continue
			}
			if !started && htmlHeadOnly[tag] {
				if tag == "title" && tt == html.StartTagToken {
					inHead = true
				}
				continue
			}
			inHead = false
			started = true
			if htmlClosesP[tag] {
				closeTo("p")
			}
			if k := len(lists); tag == "li" && k > 0 && lists[k-1].tag == "li" {
				for li := lists[k-1]; pop() != li; {
				}
			}
			n := &hnode{tag: tag}
			if hasAttr {
				n.attrs = map[string]string{}
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, dup := n.attrs[string(k)]; !dup {
					n.attrs[string(k)] = string(v)
				}
			}
			cur.add(n)
			if htmlVoid[tag] || tt != html.StartTagToken {
				n.summarize()
			} else {
				push(n)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if tag == "head" || tag == "title" {
				inHead = false
				continue
			}
			closeTo(tag)
		}
	}
}

// htmlCollapseSpace turns each run of spaces, tabs, CRs and LFs in s into
// one space: what Cerb's three replacements on a text node come to
// ("/[ \t]*[\r\n][ \t]*/" by "\n", then tabs and LFs by spaces, then
// "/ +/" by one space).
func htmlCollapseSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	var b strings.Builder // unused until s changes
	changed := false
	for i := 0; i < len(s); {
		if !isSpace(s[i]) {
			if changed {
				b.WriteByte(s[i])
			}
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		if !changed && (j-i > 1 || s[i] != ' ') {
			changed = true
			b.Grow(len(s))
			b.WriteString(s[:i])
		}
		if changed {
			b.WriteByte(' ')
		}
		i = j
	}
	if !changed {
		return s
	}
	return b.String()
}

// htmlFrame is an element whose children htmlToText is converting: i is
// the next child; in a list, item counts the items written and itemOpen
// is set while an item's line is unfinished.
type htmlFrame struct {
	n        *hnode
	i, item  int
	itemOpen bool
}

// htmlToText is Cerb's _recurseNodeToText run over the children of body,
// with a stack of frames in place of the recursion so that the depth of
// the tree does not grow the goroutine's stack. A node is skipped once the
// text is longer than limit (when limit > 0).
func htmlToText(body *hnode, limit int) string {
	var b strings.Builder
	endLine := func() {
		if s := b.String(); s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	stack := []htmlFrame{{n: body}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		list := f.n.tag == "ol" || f.n.tag == "ul"
		if f.itemOpen {
			b.WriteByte('\n')
			f.itemOpen = false
		}
		if f.i == len(f.n.children) {
			switch f.n.tag {
			case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "ul":
				b.WriteByte('\n')
			}
			stack = stack[:len(stack)-1]
			continue
		}
		n := f.n.children[f.i]
		f.i++
		if list {
			if n.tag != "li" || n.isBlank() {
				continue
			}
			f.item++
			if f.n.tag == "ol" {
				b.WriteString(strconv.Itoa(f.item) + ". ")
			} else {
				b.WriteString("* ")
			}
			f.itemOpen = true
		}
		if limit > 0 && b.Len() > limit {
			continue
		}
		if n.tag == "" {
			if n.parent != nil && n.parent.tag == "pre" {
				b.WriteString(n.text)
				continue
			}
			t := htmlCollapseSpace(n.text)
			if n.idx == 0 {
				t = strings.TrimLeft(t, " \t\n\r\x00\x0B")
			}
			if n.idx == len(n.parent.children)-1 {
				t = strings.TrimRight(t, " \t\n\r\x00\x0B")
			}
			b.WriteString(t)
			continue
		}
		switch n.tag {
		case "a":
			label := strings.Trim(n.textContent(), " \t\n\r\x00\x0B")
			href := n.attrs["href"]
			if label == "" || label == "0" || href == "" || href == "0" {
				continue
			}
			if label == href {
				b.WriteString(href)
				continue
			}
			u, err := url.Parse(href)
			if err != nil {
				continue
			}
			if u.Host != "" && u.Scheme != "" {
				b.WriteString(label + " <" + href + ">")
			} else {
				b.WriteString(label)
			}
		case "br":
			b.WriteByte('\n')
		case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6":
			endLine()
			stack = append(stack, htmlFrame{n: n})
		case "pre":
			endLine()
			t := n.textContent()
			if strings.TrimSpace(t) == "" {
				continue
			}
			b.WriteString(t + "\n")
		case "ol", "ul":
			endLine()
			stack = append(stack, htmlFrame{n: n})
		case "blockquote":
			t := n.textContent()
			if t != "" {
				lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(t, "\r\n", "\n"), "\r", "\n"), "\n")
				for i := range lines {
					lines[i] = "> " + lines[i]
				}
				b.WriteString(strings.Join(lines, "\n"))
			}
			b.WriteByte('\n')
		case "head", "script", "style":
		case "img":
			src := n.attrs["src"]
			u, err := url.Parse(src)
			if err != nil || src == "" {
				continue
			}
			if u.Host != "" && u.Scheme != "" {
				alt := n.attrs["alt"]
				if alt == "" || alt == "0" {
					alt = src
				}
				b.WriteString("[Image " + alt + "]")
			}
		default:
			stack = append(stack, htmlFrame{n: n})
		}
	}
	return b.String()
}
