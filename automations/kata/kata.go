// Package kata parses KATA, the line-based key/annotation/text language of
// Cerb automations, into an ordered tree whose nodes carry line:col
// positions. It applies no semantics beyond the syntax: annotations are kept
// as written (only @ref is resolved, at parse time), and values stay text.
//
// Parse reads KATA as Cerb 10.4's kata.php does: "\r" is dropped, lines are
// split on "\n", indentation is spaces of any width, whole lines starting
// with '#' are comments, a key line is
//
//	^(&?[a-z0-9\-_/.*]+)(@[a-z0-9,]+)?:
//
// (any case) followed by nothing (an object, or a text block when an
// annotation such as @text or @list opens one) or by an inline value kept to
// the end of the line (a block key loses its @text, as in kata.php).
// Sibling keys must differ before the '@', the name
// after the '/' of a "type/name" key is letters, digits and '_', and
// top-level "&name:" keys define references that "key@ref: name" copies.
//
// Where hookhost differs from kata.php:
//   - A line indented deeper than a key with an inline value is an error
//     ("unexpected indentation"); kata.php attaches it to the enclosing
//     object. After a text block that an empty line ended, such a line is
//     still attached to the enclosing object, as Cerb's own scripts need.
//   - Comment lines never change the structure (in kata.php a dedented
//     comment moves the following deeper keys to another object).
//   - A text block line indented less than the block's first line keeps its
//     text (kata.php cuts a fixed number of bytes from every line).
//   - A dedent to an indentation not in use puts the key where kata.php puts
//     it; the following keys at that indentation are its siblings.
//   - Unknown and circular references are errors (kata.php leaves the
//     reference name as the value), and the copies made for @ref are
//     bounded in size.
//   - Every problem is reported, with its line and column, not just the
//     first.
package kata

import (
	"fmt"
	"strings"
)

// Pos is a 1-based line and column in the source. Column counts bytes.
type Pos struct {
	Line int
	Col  int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Kind says what a Node holds.
type Kind uint8

const (
	// Object is a key with child keys (or with nothing at all: an empty object).
	Object Kind = iota
	// Scalar is a key with an inline value on the same line.
	Scalar
	// Text is a key whose value is a text block taken from the following
	// more-indented lines (opened by a block annotation such as @text).
	Text
)

// Node is one key of a KATA document.
type Node struct {
	// Key is the key as written, without annotations: "outcome/yes", "set",
	// "Content-Type". (Reference definitions "&name" never reach the tree.)
	Key string
	// Annotations in written order, without the '@': ["key", "int"].
	Annotations []string
	Kind        Kind
	// Value is the inline value or the text block (Scalar and Text).
	Value    string
	Children []*Node
	// Pos is the position of the key; ValuePos of the first character of the
	// value (for a text block, the first character of its first line).
	Pos      Pos
	ValuePos Pos
}

// Type is the part of the key before the first '/': "outcome" for
// "outcome/yes".
func (n *Node) Type() string {
	if i := strings.IndexByte(n.Key, '/'); i >= 0 {
		return n.Key[:i]
	}
	return n.Key
}

// Name is the part of the key after the first '/', or "".
func (n *Node) Name() string {
	if i := strings.IndexByte(n.Key, '/'); i >= 0 {
		return n.Key[i+1:]
	}
	return ""
}

// HasAnnotation reports whether a is among the node's annotations.
func (n *Node) HasAnnotation(a string) bool {
	for _, x := range n.Annotations {
		if x == a {
			return true
		}
	}
	return false
}

// Child returns the first child whose Key equals key, or nil.
func (n *Node) Child(key string) *Node {
	for _, c := range n.Children {
		if c.Key == key {
			return c
		}
	}
	return nil
}

// Document is a parsed KATA source: the implicit root holds the top-level keys.
type Document struct {
	// Name is the source name used in error messages ("script", "policy", ...).
	Name string
	Root *Node
}

// Error is one problem at a position in a named source. Error() reads
// "script:7:3: `set:` has a sibling with the same name".
type Error struct {
	Source string
	Pos    Pos
	Msg    string
}

func (e *Error) Error() string {
	if e.Source == "" {
		return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Source, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Errors is every problem found in one pass, in source order. It is returned
// as an error only when non-empty.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Lookup walks a path of keys separated by ':' ("start:set/a") from n and
// returns the node it names, or nil. Keys compare as written, without
// annotations.
func (n *Node) Lookup(path string) *Node {
	for n != nil {
		key, rest, more := strings.Cut(path, ":")
		n = n.Child(key)
		if !more {
			return n
		}
		path = rest
	}
	return nil
}
