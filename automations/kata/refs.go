package kata

import (
	"slices"
	"strings"
)

// maxRefKeys bounds how many keys the copies made for @ref may add to one
// document, so that references nesting references cannot expand a small
// source into an exponential tree.
const maxRefKeys = 100_000

// maxRefWork bounds the steps that finding and sizing the targets of @ref
// may take in one document (a definition or child name compared, a key
// counted; a long name counts a step per 64 bytes), so that many references
// to many definitions, or to a large one, cannot take time quadratic in the
// source (20,000 uses of 20,000 definitions: 2*10^8 comparisons). A
// thousand uses of a thousand definitions take about a million.
const maxRefWork = 10_000_000

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
	if p.refWork > maxRefWork {
		return // reported once, at the use that went past it
	}
	target, cycle := p.lookupRef(name)
	switch {
	case p.overWork(n, name):
		return
	case cycle:
		p.errorf(n.ValuePos.Line, n.ValuePos.Col, "`%s:` reference `%s` refers back to itself", n.Key, name)
		return
	case target == nil:
		p.errorf(n.ValuePos.Line, n.ValuePos.Col, "`%s:` refers to unknown reference `%s`", n.Key, name)
		return
	}
	size, ok := p.countNodesUpTo(target.Children, maxRefKeys-p.refKeys)
	switch {
	case p.overWork(n, name):
		return
	case !ok:
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
		if p.refWork > maxRefWork {
			return nil, false
		}
		p.charge(path, d.Key)
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
		if t := p.lookupPath(d.Children, rest); t != nil {
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

func (p *parser) lookupPath(nodes []*Node, path string) *Node {
	for _, c := range nodes {
		if p.refWork > maxRefWork {
			return nil
		}
		p.charge(path, c.Key)
		rest, ok := cutName(path, c.Key)
		if !ok {
			continue
		}
		if rest == "" {
			return c
		}
		if t := p.lookupPath(c.Children, rest); t != nil {
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

// overWork reports whether the references took more than maxRefWork steps,
// and reports that once, at the use n of name.
func (p *parser) overWork(n *Node, name string) bool {
	if p.refWork <= maxRefWork {
		return false
	}
	if !p.refWorkShown {
		p.refWorkShown = true
		p.errorf(n.ValuePos.Line, n.ValuePos.Col, "`%s:` reference `%s`: the references of this document take more than %d steps to resolve (use fewer references or definitions)", n.Key, name, maxRefWork)
	}
	return true
}

// charge counts one comparison of a reference path with a name in
// refWork.
func (p *parser) charge(path, name string) {
	p.refWork += 1 + min(len(path), len(name))/64
}

// countNodesUpTo counts nodes and their descendants, charging each to
// refWork; it stops with false past limit.
func (p *parser) countNodesUpTo(nodes []*Node, limit int) (int, bool) {
	n := len(nodes)
	p.refWork += len(nodes)
	if n > limit {
		return n, false
	}
	for _, c := range nodes {
		k, ok := p.countNodesUpTo(c.Children, limit-n)
		n += k
		if !ok {
			return n, false
		}
	}
	return n, true
}
