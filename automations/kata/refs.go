package kata

import (
	"slices"
	"strings"
)

// maxRefKeys bounds how many keys the copies made for @ref may add to one
// document, so that references nesting references cannot expand a small
// source into an exponential tree.
const maxRefKeys = 100_000

// Reference resolution states.
const (
	refUnresolved uint8 = iota
	refResolving
	refResolved
)

// dereference removes the top-level "&name" definitions from root and
// replaces every scalar or text key annotated @ref with a copy of the node
// it names, as Cerb does at parse time.
func (p *parser) dereference(root *Node) {
	for _, c := range root.Children {
		if strings.HasPrefix(c.Key, "&") {
			p.refs = append(p.refs, c)
		}
	}
	if p.refs != nil {
		kept := make([]*Node, 0, len(root.Children)-len(p.refs))
		for _, c := range root.Children {
			if !strings.HasPrefix(c.Key, "&") {
				kept = append(kept, c)
			}
		}
		if len(kept) == 0 {
			kept = nil
		}
		root.Children = kept
		p.state = make(map[*Node]uint8, len(p.refs))
		// Resolve every definition, used or not, so that all problems show.
		for _, d := range p.refs {
			p.resolveDef(d)
		}
	} else if !slices.Contains(p.anns, "ref") {
		return // nothing to do: the common case
	}
	p.resolveTree(root)
}

func isRefUse(n *Node) bool {
	return n.Kind != Object && n.HasAnnotation("ref")
}

func (p *parser) resolveTree(n *Node) {
	for _, c := range n.Children {
		if isRefUse(c) {
			p.resolveUse(c)
			continue
		}
		p.resolveTree(c)
	}
}

func (p *parser) resolveDef(d *Node) {
	switch p.state[d] {
	case refResolving, refResolved:
		return
	}
	p.state[d] = refResolving
	if isRefUse(d) {
		p.resolveUse(d)
	} else {
		p.resolveTree(d)
	}
	p.state[d] = refResolved
}

// resolveUse replaces n (key@ref: target) by a copy of the target. The
// target's annotations take the place of "ref" among n's annotations.
func (p *parser) resolveUse(n *Node) {
	name := trimPHP(n.Value)
	target, cycle := p.lookupRef(name)
	switch {
	case cycle:
		p.errorf(n.ValuePos.Line, n.ValuePos.Col, "`%s:` reference `%s` refers back to itself", n.Key, name)
		return
	case target == nil:
		p.errorf(n.ValuePos.Line, n.ValuePos.Col, "`%s:` refers to unknown reference `%s`", n.Key, name)
		return
	}
	size := countNodes(target.Children)
	if p.refKeys+size > maxRefKeys {
		p.errorf(n.ValuePos.Line, n.ValuePos.Col, "`%s:` reference `%s` expands to more than %d keys", n.Key, name, maxRefKeys)
		return
	}
	p.refKeys += size
	at := 0
	for i, a := range n.Annotations {
		if a == "ref" {
			at = i
			break
		}
	}
	anns := make([]string, 0, len(n.Annotations)-1+len(target.Annotations))
	anns = append(anns, n.Annotations[:at]...)
	anns = append(anns, target.Annotations...)
	anns = append(anns, n.Annotations[at+1:]...)
	if len(anns) == 0 {
		anns = nil
	}
	n.Annotations = anns
	n.Kind = target.Kind
	n.Value = target.Value
	n.ValuePos = target.ValuePos
	n.Children = cloneNodes(target.Children)
}

// lookupRef finds the node a reference path names: "colors", or a child
// inside a reference with ':' or '.' separators ("options:colors"). It
// reports cycle when the path runs into a definition still being resolved.
func (p *parser) lookupRef(path string) (target *Node, cycle bool) {
	for _, d := range p.refs {
		rest, ok := cutName(path, d.Key[1:])
		if !ok {
			continue
		}
		if p.state[d] == refResolving {
			cycle = true
			continue
		}
		p.resolveDef(d)
		if rest == "" {
			return d, false
		}
		if t := lookupPath(d.Children, rest); t != nil {
			return t, false
		}
	}
	return nil, cycle
}

// cutName reports whether path is name or starts with name followed by a
// ':' or '.' separator, and returns what follows the separator.
func cutName(path, name string) (string, bool) {
	if !strings.HasPrefix(path, name) {
		return "", false
	}
	rest := path[len(name):]
	if rest == "" {
		return "", true
	}
	if rest[0] == ':' || rest[0] == '.' {
		if rest[1:] == "" {
			return "", false
		}
		return rest[1:], true
	}
	return "", false
}

func lookupPath(nodes []*Node, path string) *Node {
	for _, c := range nodes {
		rest, ok := cutName(path, c.Key)
		if !ok {
			continue
		}
		if rest == "" {
			return c
		}
		if t := lookupPath(c.Children, rest); t != nil {
			return t
		}
	}
	return nil
}

// cloneNodes deep-copies nodes so that each use of a reference owns its
// subtree. Annotation slices and strings are shared: they are never written.
func cloneNodes(nodes []*Node) []*Node {
	if len(nodes) == 0 {
		return nil
	}
	slab := make([]Node, len(nodes))
	out := make([]*Node, len(nodes))
	for i, c := range nodes {
		slab[i] = *c
		slab[i].Children = cloneNodes(c.Children)
		out[i] = &slab[i]
	}
	return out
}

// countNodes counts nodes and their descendants.
func countNodes(nodes []*Node) int {
	n := len(nodes)
	for _, c := range nodes {
		n += countNodes(c.Children)
	}
	return n
}
