package templates

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// Cerb's xml_* functions work on PHP SimpleXMLElement objects. Here
// xml_decode gives the dictionary json_encode(SimpleXMLElement) gives, and
// the render remembers which element each such dictionary stands for
// (state.xml), so that xml_tag, xml_attr, xml_attrs, xml_xpath_ns,
// xml_xpath and xml_encode can answer as Cerb does within the render.

// xmlNode is an XML element.
type xmlNode struct {
	prefix, local string
	space         string // resolved namespace URI
	attrs         []xml.Attr
	content       []any // string or *xmlNode, in document order
	parent        *xmlNode
	ns            map[string]string // namespaces declared here (prefix → URI)
	xpathNS       map[string]string // registered for XPath (xml_xpath_ns)
}

func (n *xmlNode) name() string {
	if n.prefix != "" {
		return n.prefix + ":" + n.local
	}
	return n.local
}

func (n *xmlNode) children() []*xmlNode {
	var out []*xmlNode
	for _, c := range n.content {
		if e, ok := c.(*xmlNode); ok {
			out = append(out, e)
		}
	}
	return out
}

// text is SimpleXMLElement::__toString: the element's own text.
func (n *xmlNode) text() string {
	var b strings.Builder
	for _, c := range n.content {
		if s, ok := c.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

func (n *xmlNode) lookupNS(prefix string) (string, bool) {
	for e := n; e != nil; e = e.parent {
		if u, ok := e.ns[prefix]; ok {
			return u, true
		}
	}
	return "", prefix == ""
}

// parseXMLDoc reads a document as simplexml_load_string does: well-formed
// or nothing.
func parseXMLDoc(text string) (*xmlNode, error) {
	d := xml.NewDecoder(strings.NewReader(text))
	var root, cur *xmlNode
	depth := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			if root == nil || cur != nil {
				return nil, errors.New("premature end of data")
			}
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if cur == nil && root != nil {
				return nil, errors.New("extra content at the end of the document")
			}
			depth++
			if depth > 200 {
				return nil, errors.New("xml too deep")
			}
			n := &xmlNode{prefix: t.Name.Space, local: t.Name.Local, parent: cur, ns: map[string]string{}}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					n.ns[""] = a.Value
				case a.Name.Space == "xmlns":
					n.ns[a.Name.Local] = a.Value
				}
				n.attrs = append(n.attrs, a)
			}
			n.space, _ = n.lookupNS(n.prefix)
			if cur == nil {
				root = n
			} else {
				cur.content = append(cur.content, n)
			}
			cur = n
		case xml.EndElement:
			if cur == nil || t.Name.Local != cur.local || t.Name.Space != cur.prefix {
				return nil, errors.New("mismatched end tag")
			}
			cur = cur.parent
			depth--
		case xml.CharData:
			if cur != nil {
				cur.content = append(cur.content, string(t))
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, errors.New("content outside the root element")
			}
		}
	}
}

// value is the element as json_encode(SimpleXMLElement) shows it: a child
// that is only text is that text; otherwise a dictionary of
// "@attributes" and children by name (repeated names as lists), and the
// text as "0" when there are no children. The root is always a
// dictionary. Every dictionary is remembered as standing for its element.
func (st *state) xmlValue(n *xmlNode, root bool) any {
	m := dict.New(4)
	if len(n.attrs) > 0 {
		attrs := dict.New(len(n.attrs))
		for _, a := range n.attrs {
			if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
				continue
			}
			attrs.Set(a.Name.Local, a.Value)
		}
		if attrs.Len() > 0 {
			m.Set("@attributes", attrs)
		}
	}
	children := n.children()
	for _, c := range children {
		if c.space != n.space && c.prefix != "" {
			continue // SimpleXML lists children of the element's namespace only
		}
		v := st.xmlValue(c, false)
		if old, ok := m.Get(c.local); ok {
			if l, isList := old.([]any); isList {
				m.Set(c.local, append(l, v))
			} else {
				m.Set(c.local, []any{old, v})
			}
		} else {
			m.Set(c.local, v)
		}
	}
	s := strings.TrimSpace(n.text())
	if len(children) == 0 {
		if m.Len() == 0 && !root {
			return s
		}
		if s != "" {
			m.Set("0", s)
		}
	}
	if st.xml == nil {
		st.xml = map[*dict.Map]*xmlNode{}
	}
	st.xml[m] = n
	return m
}

// fnXMLDecode is xml_decode(text, namespaces): the document's root
// element (see xmlValue); false when the text is not well-formed XML.
func fnXMLDecode(st *state, _ any, args ...any) (any, error) {
	text := toStr(arg(args, 0, ""))
	items := int64(strings.Count(text, "<"))
	if err := st.wantItems(items); err != nil {
		return nil, err
	}
	if err := st.alloc(int64(len(text)) + items*entryBytes); err != nil {
		return nil, err
	}
	root, err := parseXMLDoc(text)
	if err != nil {
		return false, nil
	}
	if ns, ok := arg(args, 1, nil).(*dict.Map); ok {
		root.xpathNS = map[string]string{}
		ns.Range(func(k string, v any) bool {
			root.xpathNS[k] = toStr(v)
			return true
		})
	}
	return st.xmlValue(root, true), nil
}

// xmlOf is the element a value stands for.
func (st *state) xmlOf(v any) *xmlNode {
	if m, ok := v.(*dict.Map); ok && st.xml != nil {
		return st.xml[m]
	}
	return nil
}

// fnXMLTag is xml_tag(xml): the element's name; false for another value.
func fnXMLTag(st *state, _ any, args ...any) (any, error) {
	n := st.xmlOf(arg(args, 0, nil))
	if n == nil {
		return false, nil
	}
	return n.local, nil
}

// fnXMLAttr is xml_attr(xml, name, default).
func fnXMLAttr(st *state, _ any, args ...any) (any, error) {
	n := st.xmlOf(arg(args, 0, nil))
	if n == nil {
		return false, nil
	}
	name := toStr(arg(args, 1, ""))
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, nil
		}
	}
	return arg(args, 2, nil), nil
}

// fnXMLAttrs is xml_attrs(xml): the element's attributes (of no
// namespace) by name.
func fnXMLAttrs(st *state, _ any, args ...any) (any, error) {
	n := st.xmlOf(arg(args, 0, nil))
	if n == nil {
		return false, nil
	}
	m := dict.New(len(n.attrs))
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local != "xmlns" {
			m.Set(a.Name.Local, a.Value)
		}
	}
	return m, nil
}

// fnXMLXPathNS is xml_xpath_ns(xml, prefix, uri): the element, with the
// prefix registered for its XPath queries.
func fnXMLXPathNS(st *state, _ any, args ...any) (any, error) {
	x := arg(args, 0, nil)
	n := st.xmlOf(x)
	if n == nil {
		return false, nil
	}
	if n.xpathNS == nil {
		n.xpathNS = map[string]string{}
	}
	n.xpathNS[toStr(arg(args, 1, ""))] = toStr(arg(args, 2, ""))
	return x, nil
}

// fnXMLXPath is xml_xpath(xml, path, element): the elements an XPath
// location path selects from the element (as xmlValue shows them), or
// the one at index element. An element that holds only text is that
// text (as a SimpleXMLElement prints); the others are dictionaries that
// stand for their elements. Paths of element steps are supported: / and
// //, names with namespace prefixes, *, . and .., and [n] positions.
func fnXMLXPath(st *state, _ any, args ...any) (any, error) {
	n := st.xmlOf(arg(args, 0, nil))
	if n == nil {
		return false, nil
	}
	nodes, ok := xpathSelect(n, toStr(arg(args, 1, "")))
	if !ok {
		return false, nil
	}
	out := make([]any, len(nodes))
	for i, e := range nodes {
		out[i] = st.xmlValue(e, false) // an element of text only prints as its text
	}
	if el := arg(args, 2, nil); el != nil {
		i := toInt(el)
		if i >= 0 && i < int64(len(out)) {
			return out[i], nil
		}
	}
	return out, nil
}

func xpathSelect(ctx *xmlNode, path string) ([]*xmlNode, bool) {
	path = strings.TrimSpace(path)
	if path == "" {
		return nil, false
	}
	root := ctx
	for root.parent != nil {
		root = root.parent
	}
	nsFor := func(prefix string) (string, bool) {
		for e := ctx; e != nil; e = e.parent {
			if u, ok := e.xpathNS[prefix]; ok {
				return u, true
			}
		}
		return ctx.lookupNS(prefix)
	}
	// the document node is a virtual parent of the root
	doc := &xmlNode{content: []any{root}}
	cur := []*xmlNode{ctx}
	rest := path
	if strings.HasPrefix(path, "/") {
		cur = []*xmlNode{doc}
		rest = path[1:] // "//x" leaves "/x": a descendant step
	}
	for rest != "" {
		descendant := false
		if strings.HasPrefix(rest, "/") {
			descendant = true
			rest = rest[1:]
		}
		step := rest
		if i := strings.Index(rest, "/"); i >= 0 {
			step, rest = rest[:i], rest[i+1:]
			if rest == "" {
				return nil, false
			}
		} else {
			rest = ""
		}
		pos := 0
		if i := strings.IndexByte(step, '['); i >= 0 && strings.HasSuffix(step, "]") {
			p, err := strconv.Atoi(step[i+1 : len(step)-1])
			if err != nil || p < 1 {
				return nil, false
			}
			step, pos = step[:i], p
		}
		var next []*xmlNode
		seen := map[*xmlNode]bool{}
		addAll := func(l []*xmlNode) {
			for _, e := range l {
				if !seen[e] {
					seen[e] = true
					next = append(next, e)
				}
			}
		}
		for _, c := range cur {
			bases := []*xmlNode{c}
			if descendant {
				bases = append(bases, descendants(c)...)
			}
			for _, b := range bases {
				switch step {
				case ".":
					addAll([]*xmlNode{b})
				case "..":
					if b.parent != nil {
						addAll([]*xmlNode{b.parent})
					}
				default:
					var matched []*xmlNode
					prefix, local, hasPrefix := strings.Cut(step, ":")
					if !hasPrefix {
						prefix, local = "", step
					}
					uri := ""
					if hasPrefix {
						u, ok := nsFor(prefix)
						if !ok {
							return nil, false
						}
						uri = u
					}
					for _, e := range b.children() {
						if (local == "*" || e.local == local) && (local == "*" && !hasPrefix || e.space == uri) {
							matched = append(matched, e)
						}
					}
					if pos > 0 {
						if pos <= len(matched) {
							matched = matched[pos-1 : pos]
						} else {
							matched = nil
						}
					}
					addAll(matched)
				}
			}
		}
		cur = next
	}
	for _, c := range cur {
		if c == doc {
			return []*xmlNode{root}, true
		}
	}
	return cur, true
}

func descendants(n *xmlNode) []*xmlNode {
	var out []*xmlNode
	for _, c := range n.children() {
		out = append(out, c)
		out = append(out, descendants(c)...)
	}
	return out
}

// fnXMLEncode is xml_encode(xml): SimpleXMLElement::asXML, the document
// (with an XML declaration) for the root element, the element alone
// otherwise.
func fnXMLEncode(st *state, _ any, args ...any) (any, error) {
	n := st.xmlOf(arg(args, 0, nil))
	if n == nil {
		return false, nil
	}
	var b strings.Builder
	if n.parent == nil {
		b.WriteString("<?xml version=\"1.0\"?>\n")
	}
	writeXML(&b, n)
	if n.parent == nil {
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func writeXML(b *strings.Builder, n *xmlNode) {
	b.WriteString("<" + n.name())
	for _, a := range n.attrs {
		name := a.Name.Local
		if a.Name.Space != "" {
			name = a.Name.Space + ":" + name
		}
		b.WriteString(" " + name + `="` + strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;").Replace(a.Value) + `"`)
	}
	if len(n.content) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	for _, c := range n.content {
		switch t := c.(type) {
		case string:
			b.WriteString(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(t))
		case *xmlNode:
			writeXML(b, t)
		}
	}
	b.WriteString("</" + n.name() + ">")
}
