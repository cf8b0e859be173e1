package kata

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Parse parses src. name labels positions in errors. On failure the error is
// an Errors value holding every problem found; the Document may still be
// partially filled.
//
// Parse follows Cerb's kata.php line by line (see the package
// documentation) with one deliberate difference: a line indented deeper than
// a key that already has an inline value is rejected with
// "unexpected indentation" instead of being attached to the enclosing object.
// (After a text block that an empty line ended, such a line is still
// attached to the enclosing object, as Cerb does: Cerb's own scripts rely on
// it.)
func Parse(name string, src string) (*Document, error) {
	if strings.IndexByte(src, '\r') >= 0 {
		src = strings.ReplaceAll(src, "\r", "")
	}
	p := parser{name: name, src: src}
	// Every key takes one line, so the line count bounds the node count and
	// one slab holds every node.
	p.nodes = make([]Node, 1, strings.Count(src, "\n")+2)
	p.links = make([]link, 1, cap(p.nodes))
	if ats := strings.Count(src, "@"); ats > 0 {
		p.anns = make([]string, 0, ats+ats/2)
	}
	p.parse()
	root := p.build()
	p.dereference(root)
	doc := &Document{Name: name, Root: root}
	if len(p.errs) == 0 {
		return doc, nil
	}
	slices.SortStableFunc(p.errs, func(a, b *Error) int {
		if c := cmp.Compare(a.Pos.Line, b.Pos.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Pos.Col, b.Pos.Col)
	})
	return doc, p.errs
}

// blockAnnotations open a text block on a key with nothing after its colon.
var blockAnnotations = [...]string{"base64", "bit", "bool", "csv", "date", "float", "int", "json", "list", "raw", "text", "trim"}

// isBlockAnnotation reports whether a opens a text block. Like Cerb, the
// comparison is case-sensitive.
func isBlockAnnotation(a string) bool {
	for _, b := range blockAnnotations {
		if a == b {
			return true
		}
	}
	return false
}

func hasBlockAnnotation(anns []string) bool {
	for _, a := range anns {
		if isBlockAnnotation(a) {
			return true
		}
	}
	return false
}

// link threads the children of a node during the parse; children become
// slices only once every line is read.
type link struct {
	first, last, next int32
	count             int32
}

// level is one indentation level in use: the keys at indent belong to parent.
type level struct {
	indent int
	parent int32
}

// sibling identifies a child name under a parent in the duplicate index.
type sibling struct {
	parent int32
	name   string
}

// mapSiblingsAt is the child count from which duplicate checks use a map
// instead of a scan.
const mapSiblingsAt = 8

type parser struct {
	name  string
	src   string
	nodes []Node
	links []link
	errs  Errors

	anns     []string // backing store for every node's Annotations
	buf      []byte   // text block scratch
	siblings map[sibling]int32

	// References, filled by dereference.
	refs    []*Node
	state   map[*Node]uint8
	refKeys int // keys copied so far, bounded by maxRefKeys
	refWork int // steps taken to find and size targets, bounded by maxRefWork
	// refWorkShown is set once the error for refWork is reported.
	refWorkShown bool
}

func (p *parser) errorf(line, col int, format string, args ...any) {
	p.errs = append(p.errs, &Error{Source: p.name, Pos: Pos{line, col}, Msg: fmt.Sprintf(format, args...)})
}

// isKeyByte reports whether c may appear in a key: [a-z0-9\-_/.*], any case.
func isKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '/' || c == '.' || c == '*'
}

func isAnnotationByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ','
}

// isIndentBreaker reports whether c, found right after the leading spaces,
// is whitespace that PHP's ltrim would strip: a tab in the indentation.
func isIndentBreaker(c byte) bool {
	return c == '\t' || c == 0 || c == '\v' || c == '\n' || c == '\r'
}

// isRegexSpace is PCRE's \s without Unicode: space, \t, \n, \v, \f, \r.
func isRegexSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// isPHPSpace is the set PHP's trim strips by default.
func isPHPSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0 || c == '\v'
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isPHPSpace(s[i]) {
			return false
		}
	}
	return true
}

func trimPHP(s string) string {
	i, j := 0, len(s)
	for i < j && isPHPSpace(s[i]) {
		i++
	}
	for j > i && isPHPSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

func leadingSpaces(s string) int {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// nextLine returns the line starting at off and the offset of the next one
// (len(src)+1 after the last line).
func (p *parser) nextLine(off int) (string, int) {
	end := strings.IndexByte(p.src[off:], '\n')
	if end < 0 {
		return p.src[off:], len(p.src) + 1
	}
	return p.src[off : off+end], off + end + 1
}

func (p *parser) parse() {
	var lvBuf [16]level
	levels := append(lvBuf[:0], level{indent: 0, parent: 0})
	last := int32(0) // the root takes children like an empty key
	lastOpen := true

	lineNo := 0
	for off := 0; off <= len(p.src); {
		text, next := p.nextLine(off)
		off = next
		lineNo++
		if isBlank(text) {
			continue
		}
		ind := leadingSpaces(text)
		if isIndentBreaker(text[ind]) {
			p.errorf(lineNo, ind+1, "indents may not use tabs")
			continue
		}
		rest := text[ind:]
		if rest[0] == '#' {
			continue
		}

		// ^(&?[a-z0-9\-_/.*]+)(@[a-z0-9,]+)?:
		k := 0
		if rest[0] == '&' {
			k = 1
		}
		for k < len(rest) && isKeyByte(rest[k]) {
			k++
		}
		keyEnd := k
		annStart, annEnd := 0, 0
		if k < len(rest) && rest[k] == '@' {
			annStart = k + 1
			k++
			for k < len(rest) && isAnnotationByte(rest[k]) {
				k++
			}
			annEnd = k
		}
		if keyEnd == 0 || rest[0] == '&' && keyEnd == 1 || annStart > 0 && annEnd == annStart || k >= len(rest) || rest[k] != ':' {
			p.errorf(lineNo, ind+1, "unexpected syntax: %q", rest)
			continue
		}
		colon := k
		v := colon + 1
		for v < len(rest) && isRegexSpace(rest[v]) {
			v++
		}

		// Place the key in the tree.
		top := levels[len(levels)-1]
		switch {
		case ind > top.indent:
			switch {
			case lastOpen:
				levels = append(levels, level{indent: ind, parent: last})
			case p.nodes[last].Kind == Text:
				// A deeper line after a text block that an empty line
				// ended: Cerb attaches it to the block key's object, and
				// Cerb's own scripts rely on it.
				levels = append(levels, level{indent: ind, parent: top.parent})
			default:
				p.errorf(lineNo, ind+1, "unexpected indentation")
				levels = append(levels, level{indent: ind, parent: top.parent})
			}
		case ind < top.indent:
			// Pop the deeper levels. A dedent to an indentation not in use
			// lands, as in Cerb, in the object of the last level popped.
			popped := top
			for len(levels) > 1 && levels[len(levels)-1].indent > ind {
				popped = levels[len(levels)-1]
				levels = levels[:len(levels)-1]
			}
			if levels[len(levels)-1].indent < ind {
				levels = append(levels, level{indent: ind, parent: popped.parent})
			}
		}
		parent := levels[len(levels)-1].parent

		idx := int32(len(p.nodes))
		p.nodes = append(p.nodes, Node{Key: rest[:keyEnd], Pos: Pos{lineNo, ind + 1}})
		p.links = append(p.links, link{})
		n := &p.nodes[idx]
		if annEnd > annStart {
			n.Annotations = p.annotations(rest[annStart:annEnd])
		}
		p.checkName(n)
		p.attach(parent, idx)
		last = idx
		lastOpen = false

		switch {
		case v < len(rest):
			n.Kind = Scalar
			n.Value = rest[v:]
			n.ValuePos = Pos{lineNo, ind + v + 1}
		case hasBlockAnnotation(n.Annotations):
			n.Kind = Text
			n.ValuePos = Pos{lineNo, ind + colon + 2}
			off, lineNo = p.textBlock(n, ind, off, lineNo)
			// Cerb drops @text from a block key (it only opened the block).
			n.Annotations = slices.DeleteFunc(n.Annotations, func(a string) bool { return a == "text" })
			if len(n.Annotations) == 0 {
				n.Annotations = nil
			}
		default:
			lastOpen = true
		}
	}
}

// annotations splits a comma list as Cerb's parseCsvString does (empty items
// dropped) into the shared backing store.
func (p *parser) annotations(list string) []string {
	start := len(p.anns)
	for list != "" {
		item := list
		if i := strings.IndexByte(list, ','); i >= 0 {
			item, list = list[:i], list[i+1:]
		} else {
			list = ""
		}
		if item != "" {
			p.anns = append(p.anns, item)
		}
	}
	if len(p.anns) == start {
		return nil
	}
	return p.anns[start:len(p.anns):len(p.anns)]
}

// checkName validates the name part of a "type/name" key.
func (p *parser) checkName(n *Node) {
	i := strings.IndexByte(n.Key, '/')
	if i < 0 {
		return
	}
	name := n.Key[i+1:]
	for j := 0; j < len(name); j++ {
		c := name[j]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			p.errorf(n.Pos.Line, n.Pos.Col, "`%s:` name `%s` must only contain letters, numbers, and underscores", n.Key[:i], name)
			return
		}
	}
}

// attach links node idx under parent unless a sibling has the same key, in
// which case it reports the clash and leaves the node (and what follows
// under it) out of the tree.
func (p *parser) attach(parent, idx int32) {
	n := &p.nodes[idx]
	pl := &p.links[parent]
	if first := p.findSibling(parent, n.Key); first > 0 {
		p.errorf(n.Pos.Line, n.Pos.Col, "`%s:` has a sibling with the same name (first at line %d)", n.Key, p.nodes[first].Pos.Line)
		return
	}
	if pl.count == 0 {
		pl.first = idx
	} else {
		p.links[pl.last].next = idx
	}
	pl.last = idx
	pl.count++
	switch {
	case pl.count == mapSiblingsAt:
		if p.siblings == nil {
			p.siblings = make(map[sibling]int32)
		}
		for c := pl.first; c != 0; c = p.links[c].next {
			p.siblings[sibling{parent, p.nodes[c].Key}] = c
		}
	case pl.count > mapSiblingsAt:
		p.siblings[sibling{parent, n.Key}] = idx
	}
}

func (p *parser) findSibling(parent int32, key string) int32 {
	pl := &p.links[parent]
	if pl.count >= mapSiblingsAt {
		return p.siblings[sibling{parent, key}]
	}
	for c := pl.first; pl.count > 0 && c != 0; c = p.links[c].next {
		if p.nodes[c].Key == key {
			return c
		}
	}
	return 0
}

// textBlock reads the lines after a block key at indent ind, from offset off
// (line lineNo is the key's). It returns where the main loop resumes.
func (p *parser) textBlock(n *Node, ind, off, lineNo int) (int, int) {
	blockIndent := -1
	lines := 0
	var first string
	p.buf = p.buf[:0]
	for off <= len(p.src) {
		text, next := p.nextLine(off)
		li := leadingSpaces(text)
		if li <= ind {
			break // the main loop reads it (an empty line ends the block)
		}
		off = next
		lineNo++
		if li < len(text) && isIndentBreaker(text[li]) {
			p.errorf(lineNo, li+1, "indents may not use tabs")
			continue
		}
		if blockIndent < 0 {
			blockIndent = li
		}
		// Cerb cuts a fixed count of bytes; cutting only spaces keeps the
		// text of a less-indented later line.
		cut := min(li, blockIndent)
		if lines == 0 {
			n.ValuePos = Pos{lineNo, cut + 1}
			first = text[cut:]
		} else {
			if lines == 1 {
				p.buf = append(p.buf, first...)
			}
			p.buf = append(p.buf, '\n')
			p.buf = append(p.buf, text[cut:]...)
		}
		lines++
	}
	if lines <= 1 {
		n.Value = first
	} else {
		n.Value = string(p.buf)
	}
	return off, lineNo
}

// build turns the threaded children into slices and returns the root.
func (p *parser) build() *Node {
	total := 0
	for i := range p.links {
		total += int(p.links[i].count)
	}
	backing := make([]*Node, total)
	for i := range p.nodes {
		l := &p.links[i]
		if l.count == 0 {
			continue
		}
		kids := backing[:l.count:l.count]
		backing = backing[l.count:]
		j := 0
		for c := l.first; j < len(kids); c = p.links[c].next {
			kids[j] = &p.nodes[c]
			j++
		}
		p.nodes[i].Children = kids
	}
	return &p.nodes[0]
}
