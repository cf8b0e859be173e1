package templates

// The implementation of html_to_text before it was made linear (commit
// 033988f), kept as the oracle of the differential tests: the new code
// must give the same text for every input.

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

func oldHTMLToText(in any, args ...any) (any, error) {
	s, ok := cerbText(in)
	if !ok {
		return "", nil
	}
	limit := 50000
	if len(args) > 0 && args[0] != nil {
		limit = int(toInt(args[0]))
	}
	s = strings.ReplaceAll(s, "&nbsp;", "")
	var b strings.Builder
	for _, n := range oldParseLibxmlHTML(s).children {
		oldHTMLNodeToText(n, &b, limit)
	}
	return b.String(), nil
}

// oldHnode is a node of the tree libxml's HTML parser builds: an element
// (tag set) or text.
type oldHnode struct {
	tag      string
	text     string
	attrs    map[string]string
	parent   *oldHnode
	children []*oldHnode
}

func (n *oldHnode) add(c *oldHnode) {
	c.parent = n
	n.children = append(n.children, c)
}

func (n *oldHnode) textContent() string {
	if n.tag == "" {
		return n.text
	}
	var b strings.Builder
	for _, c := range n.children {
		b.WriteString(c.textContent())
	}
	return b.String()
}

func (n *oldHnode) sibling(d int) *oldHnode {
	if n.parent == nil {
		return nil
	}
	for i, c := range n.parent.children {
		if c == n {
			if j := i + d; j >= 0 && j < len(n.parent.children) {
				return n.parent.children[j]
			}
			return nil
		}
	}
	return nil
}

// oldParseLibxmlHTML builds the body of an HTML fragment roughly as libxml2's
// HTML parser does: text before any element opens an implied <p>, block
// start tags close an open <p>, an <li> closes the open <li>, end tags
// close up to their element, void elements hold nothing.
func oldParseLibxmlHTML(s string) *oldHnode {
	body := &oldHnode{tag: "body"}
	cur := body
	started := false
	z := html.NewTokenizer(strings.NewReader(s))
	closeTo := func(tag string) bool {
		for n := cur; n != body; n = n.parent {
			if n.tag == tag {
				cur = n.parent
				return true
			}
		}
		return false
	}
	inHead := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
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
				p := &oldHnode{tag: "p"}
				body.add(p)
				cur, started = p, true
			}
			cur.add(&oldHnode{text: t})
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
			if tag == "li" {
				for n := cur; n != body && n.tag != "ul" && n.tag != "ol"; n = n.parent {
					if n.tag == "li" {
						cur = n.parent
						break
					}
				}
			}
			n := &oldHnode{tag: tag, attrs: map[string]string{}}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, dup := n.attrs[string(k)]; !dup {
					n.attrs[string(k)] = string(v)
				}
			}
			cur.add(n)
			if !htmlVoid[tag] && tt == html.StartTagToken {
				cur = n
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

var (
	oldHTMLInlineNL  = regexp.MustCompile(`[ \t]*[\r\n][ \t]*`)
	oldHTMLManySpace = regexp.MustCompile(` +`)
)

// oldHTMLNodeToText is Cerb's _recurseNodeToText.
func oldHTMLNodeToText(n *oldHnode, b *strings.Builder, limit int) {
	if limit > 0 && b.Len() > limit {
		return
	}
	endLine := func() {
		if s := b.String(); s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	if n.tag == "" {
		if n.parent != nil && n.parent.tag == "pre" {
			b.WriteString(n.text)
			return
		}
		t := oldHTMLInlineNL.ReplaceAllString(n.text, "\n")
		t = strings.NewReplacer("\t", " ", "\n", " ").Replace(t)
		t = oldHTMLManySpace.ReplaceAllString(t, " ")
		if n.sibling(-1) == nil {
			t = strings.TrimLeft(t, " \t\n\r\x00\x0B")
		}
		if n.sibling(1) == nil {
			t = strings.TrimRight(t, " \t\n\r\x00\x0B")
		}
		b.WriteString(t)
		return
	}
	switch n.tag {
	case "a":
		label := strings.Trim(n.textContent(), " \t\n\r\x00\x0B")
		href := n.attrs["href"]
		if label == "" || label == "0" || href == "" || href == "0" {
			return
		}
		if label == href {
			b.WriteString(href)
			return
		}
		u, err := url.Parse(href)
		if err != nil {
			return
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
		for _, c := range n.children {
			oldHTMLNodeToText(c, b, limit)
		}
		b.WriteByte('\n')
	case "pre":
		endLine()
		t := n.textContent()
		if strings.TrimSpace(t) == "" {
			return
		}
		b.WriteString(t + "\n")
	case "ol", "ul":
		endLine()
		i := 1
		for _, c := range n.children {
			if c.tag != "li" || strings.TrimSpace(c.textContent()) == "" {
				continue
			}
			if n.tag == "ol" {
				b.WriteString(strconv.Itoa(i) + ". ")
				i++
			} else {
				b.WriteString("* ")
			}
			oldHTMLNodeToText(c, b, limit)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
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
			return
		}
		if u.Host != "" && u.Scheme != "" {
			alt := n.attrs["alt"]
			if alt == "" || alt == "0" {
				alt = src
			}
			b.WriteString("[Image " + alt + "]")
		}
	default:
		for _, c := range n.children {
			oldHTMLNodeToText(c, b, limit)
		}
	}
}
