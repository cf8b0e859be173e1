package kata

import "strings"

// Encode writes the children of root back as KATA: two spaces per level,
// Scalar values inline, Text values as text blocks, one key per line and a
// final line feed. For any tree Parse returned without error,
// Parse(Encode(root)) gives the same keys, annotations, kinds, values and
// children.
//
// KATA cannot write everything a hand-built tree may hold. A Scalar value
// that is empty, spans lines or starts with whitespace is written as a text
// block (adding @text when no annotation opens one). A text block cannot
// start with whitespace or hold a line starting with a tab, an Object whose
// annotations include a block annotation (possible only through @ref) reads
// back as a text block, and a top-level key starting with '&' reads back as
// a reference definition.
func Encode(root *Node) string {
	if root == nil {
		return ""
	}
	var b strings.Builder
	b.Grow(encodedSize(root, 0))
	for _, c := range root.Children {
		encodeNode(&b, c, 0)
	}
	return b.String()
}

// String returns the document as KATA (see Encode).
func (d *Document) String() string { return Encode(d.Root) }

// inlineable reports whether v can follow "key: " on one line.
func inlineable(v string) bool {
	return v != "" && !isRegexSpace(v[0]) && strings.IndexByte(v, '\n') < 0 && strings.IndexByte(v, '\r') < 0
}

func encodedSize(n *Node, depth int) int {
	size := 0
	for _, c := range n.Children {
		size += 2*depth + len(c.Key) + len(c.Value) + 4
		for _, a := range c.Annotations {
			size += len(a) + 1
		}
		if c.Kind == Text {
			size += (2*depth + 3) * (strings.Count(c.Value, "\n") + 1)
		}
		size += encodedSize(c, depth+1)
	}
	return size
}

func writeIndent(b *strings.Builder, n int) {
	const spaces = "                                "
	for n > len(spaces) {
		b.WriteString(spaces)
		n -= len(spaces)
	}
	b.WriteString(spaces[:n])
}

func encodeNode(b *strings.Builder, n *Node, depth int) {
	writeIndent(b, 2*depth)
	b.WriteString(n.Key)
	block := n.Kind == Text || n.Kind == Scalar && !inlineable(n.Value)
	for i, a := range n.Annotations {
		if i == 0 {
			b.WriteByte('@')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(a)
	}
	if block && !hasBlockAnnotation(n.Annotations) {
		if len(n.Annotations) == 0 {
			b.WriteString("@text")
		} else {
			b.WriteString(",text")
		}
	}
	b.WriteByte(':')
	switch {
	case n.Kind == Object:
		b.WriteByte('\n')
		for _, c := range n.Children {
			encodeNode(b, c, depth+1)
		}
	case !block:
		b.WriteByte(' ')
		b.WriteString(n.Value)
		b.WriteByte('\n')
	default:
		b.WriteByte('\n')
		if n.Value == "" {
			return
		}
		v := n.Value
		for {
			line, rest, more := strings.Cut(v, "\n")
			// Blank lines keep the block's indentation so they stay inside it.
			writeIndent(b, 2*depth+2)
			b.WriteString(line)
			b.WriteByte('\n')
			if !more {
				break
			}
			v = rest
		}
	}
}
