// Package yamllimit refuses YAML documents whose shape makes
// github.com/goccy/go-yaml's parser slow or memory-hungry, before they are
// handed to it.
//
// The parser (v1.19.2) costs time and memory quadratic in three measures of
// a file: its nesting depth (each level copies its parent's path string:
// 100,000 nested "[" took 58 s and gigabytes), the number of keys of one
// block mapping (each key recurses and copies the keys after it: 10,000 keys
// 1.1 s, 100,000 over a minute) and the number of documents ("---"). Check
// reads the file with the parser's own scanner, which is linear, and bounds
// the three; below the bounds the parse costs about what its size does.
package yamllimit

import (
	"fmt"
	"io"

	"github.com/goccy/go-yaml/scanner"
	"github.com/goccy/go-yaml/token"
)

// The bounds. Hand-written configuration and manifests use a few levels, a
// few dozen keys in a mapping and a few documents in a file.
const (
	// MaxDepth bounds the nesting of collections: block mappings and
	// sequences (by indentation, "- - -" included) and flow ones ([ {).
	MaxDepth = 100
	// MaxKeys bounds the keys of one block mapping.
	MaxKeys = 1000
	// MaxDocuments bounds the documents of one file.
	MaxDocuments = 1000
)

// Error is a bound a file exceeds, at the 1-based line and column of the
// token that exceeds it.
type Error struct {
	Line, Col int
	Msg       string
}

// Error is "line:col: message".
func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// block is one open block collection: a mapping or a sequence whose
// entries start at col.
type block struct {
	col  int
	seq  bool
	keys int
}

// Check returns an *Error when src nests deeper than MaxDepth, holds a
// block mapping of more than MaxKeys keys or more than MaxDocuments
// documents; nil otherwise. It does not report syntax errors: the parser
// does.
func Check(src []byte) error {
	var s scanner.Scanner
	s.Init(string(src))
	var (
		blocks []block
		flow   int // open [ and {
		docs   int
		open   bool // a document has started and not ended
		// directiveLine is the line of the latest directive (0: none).
		directiveLine int
		prev          *token.Token // the last token that is not a comment
	)
	tooDeep := func(tk *token.Token) error {
		if len(blocks)+flow <= MaxDepth {
			return nil
		}
		return errorAt(tk, "collections nested more than %d levels deep", MaxDepth)
	}
	// entry places a block entry (a key or a "-") starting at tk.
	entry := func(tk *token.Token, seq bool) error {
		col := tk.Position.Column
		for len(blocks) > 0 && blocks[len(blocks)-1].col > col {
			blocks = blocks[:len(blocks)-1]
		}
		// A key after a sequence written at its parent key's column
		// ("key:\n- a\nnext: b") ends the sequence.
		if !seq && len(blocks) > 0 && blocks[len(blocks)-1].col == col && blocks[len(blocks)-1].seq {
			blocks = blocks[:len(blocks)-1]
		}
		if n := len(blocks); n > 0 && blocks[n-1].col == col && blocks[n-1].seq == seq {
			top := &blocks[n-1]
			top.keys++
			if !seq && top.keys > MaxKeys {
				return errorAt(tk, "a mapping holds more than %d keys", MaxKeys)
			}
			return nil
		}
		blocks = append(blocks, block{col: col, seq: seq, keys: 1})
		return tooDeep(tk)
	}
	for {
		tks, scanErr := s.Scan()
		if scanErr == io.EOF {
			return nil
		}
		for _, tk := range tks {
			if tk == nil || tk.Position == nil {
				continue
			}
			var err error
			// A document starts at "---", or at the first token after the
			// file's start or a "..." (which ends one: "x: 1\n...\n"
			// repeated is as many documents, and the parser's time grows
			// with their square as with "---"'s).
			// A directive's line (%YAML 1.2) belongs to the document its
			// "---" starts: it starts none of its own.
			switch {
			case tk.Type == token.CommentType:
				continue
			case tk.Type == token.DirectiveType:
				directiveLine = tk.Position.Line
				continue
			case tk.Position.Line == directiveLine:
				continue
			case tk.Type == token.DocumentHeaderType:
				open = false
			}
			if !open && tk.Type != token.DocumentEndType {
				docs++
				if docs > MaxDocuments {
					return errorAt(tk, "a file holds more than %d documents", MaxDocuments)
				}
				open = true
			}
			switch tk.Type {
			case token.DocumentHeaderType:
				blocks, flow = blocks[:0], 0
			case token.DocumentEndType:
				blocks, flow, open = blocks[:0], 0, false
			case token.SequenceStartType, token.MappingStartType:
				flow++
				err = tooDeep(tk)
			case token.SequenceEndType, token.MappingEndType:
				flow = max(flow-1, 0)
			case token.SequenceEntryType:
				if flow == 0 {
					err = entry(tk, true)
				}
			case token.MappingKeyType: // "? key"
				if flow == 0 {
					err = entry(tk, false)
				}
			case token.MappingValueType: // the ":" after an implicit key
				if flow == 0 && prev != nil && prev.Type != token.MappingKeyType && prev.Position.Line == tk.Position.Line {
					err = entry(prev, false)
				}
			}
			if err != nil {
				return err
			}
			prev = tk
		}
	}
}

func errorAt(tk *token.Token, format string, args ...any) *Error {
	return &Error{Line: tk.Position.Line, Col: tk.Position.Column, Msg: fmt.Sprintf(format, args...)}
}
