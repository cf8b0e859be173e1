package templates

import (
	"fmt"
	"strings"
)

// This file is the Twig lexer of the front end (see translate.go). It
// follows Twig 3.6's Lexer: text, {{ }}, {% %} and {# #} with the "-" and
// "~" whitespace modifiers, the first line feed after a block tag or
// comment dropped (Cerb's trim_blocks), {% verbatim %} blocks, and the
// expression tokens inside tags (which may span lines).

type tokKind uint8

const (
	tkText tokKind = iota
	tkVarStart
	tkVarEnd
	tkBlockStart
	tkBlockEnd
	tkName
	tkNumber
	tkString
	tkOperator
	tkPunct
	tkArrow
	tkInterpStart
	tkInterpEnd
	tkVerbatim // the raw text of a verbatim block
	tkDQStart  // around a double-quoted string with interpolations
	tkDQEnd
	tkEOF
)

// pos is a 1-based line and byte column in the template source.
type pos struct{ line, col int }

type token struct {
	kind tokKind
	val  string
	num  any // int64 or float64 for tkNumber
	pos  pos
	// adjacent is true when no whitespace separates the token from the
	// previous one.
	adjacent bool
}

// twigError is a syntax error at a position of the template.
func twigError(p pos, format string, args ...any) *Error {
	return &Error{Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)}
}

// twigOperators are Twig's operators, longest first (a word operator must
// be followed by whitespace or a bracket, and not preceded by "." or "|").
var twigOperators = []string{
	"starts with", "ends with", "not in", "is not", "matches",
	"b-and", "b-xor", "b-or", "<=>",
	"and", "not", "===", "!==", "==", "!=", "<=", ">=", "//", "**", "??", "..",
	"or", "in", "is",
	"<", ">", "+", "-", "~", "*", "/", "%", "=",
}

// delims is a set of tag delimiters: Twig's for scripts, or the ones of
// Cerb's package placeholders, whose lexer is Twig's with other
// delimiters.
type delims struct {
	varOpen, varClose         string
	blockOpen, blockClose     string
	commentOpen, commentClose string
}

var (
	scriptSyntax  = &delims{"{{", "}}", "{%", "%}", "{#", "#}"}
	packageSyntax = &delims{"{{{", "}}}", "{{%", "%}}", "{{#", "#}}"}
)

type lexer struct {
	syn    *delims
	src    string
	i      int
	line   int
	col    int
	toks   []token
	trimWS int // 0, or the whitespace modifier that ends the previous tag: '-', '~' or '\n'
}

func lexTwig(src string, syn *delims) ([]token, error) {
	if syn == scriptSyntax && strings.IndexByte(src, '\r') >= 0 {
		// Twig's lexer reads every line ending as "\n" (package
		// placeholders keep the package's text as it is)
		src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	}
	l := &lexer{syn: syn, src: src, line: 1, col: 1}
	if err := l.run(); err != nil {
		return nil, err
	}
	l.toks = append(l.toks, token{kind: tkEOF, pos: pos{l.line, l.col}})
	return l.toks, nil
}

func (l *lexer) here() pos { return pos{l.line, l.col} }

// advance moves n bytes forward, counting lines.
func (l *lexer) advance(n int) {
	for k := 0; k < n && l.i < len(l.src); k++ {
		if l.src[l.i] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.i++
	}
}

const lineSpace = " \t\x00\x0B"
const allSpace = " \t\n\r\x00\x0B\f"

func (l *lexer) emitText(s string, p pos) {
	switch l.trimWS {
	case '-':
		s = strings.TrimLeft(s, allSpace)
	case '~':
		s = strings.TrimLeft(s, lineSpace)
	case '\n':
		s = strings.TrimPrefix(s, "\n")
	}
	l.trimWS = 0
	if s != "" {
		l.toks = append(l.toks, token{kind: tkText, val: s, pos: p})
	}
}

// nextTag returns the offset of the next tag opener from l.i, and which
// one it is ('{', '%' or '#'), or -1.
func (l *lexer) nextTag() (int, byte) {
	for k := l.i; ; k++ {
		j := strings.IndexByte(l.src[k:], '{')
		if j < 0 {
			return -1, 0
		}
		k += j
		rest := l.src[k:]
		switch {
		case strings.HasPrefix(rest, l.syn.varOpen):
			return k, '{'
		case strings.HasPrefix(rest, l.syn.blockOpen):
			return k, '%'
		case strings.HasPrefix(rest, l.syn.commentOpen):
			return k, '#'
		}
	}
}

// trimPrevText applies a "{{-" or "{{~" modifier to the text before it.
func (l *lexer) trimPrevText(mod byte) {
	if len(l.toks) == 0 || mod == 0 {
		return
	}
	t := &l.toks[len(l.toks)-1]
	if t.kind != tkText {
		return
	}
	if mod == '-' {
		t.val = strings.TrimRight(t.val, allSpace)
	} else {
		t.val = strings.TrimRight(t.val, lineSpace)
	}
	if t.val == "" {
		l.toks = l.toks[:len(l.toks)-1]
	}
}

func (l *lexer) run() error {
	for l.i < len(l.src) {
		start := l.here()
		k, kind := l.nextTag()
		if k < 0 {
			text := l.src[l.i:]
			l.advance(len(text))
			l.emitText(text, start)
			return nil
		}
		text := l.src[l.i:k]
		l.advance(k - l.i)
		l.emitText(text, start)
		tagPos := l.here()
		switch kind {
		case '{':
			l.advance(len(l.syn.varOpen))
		case '%':
			l.advance(len(l.syn.blockOpen))
		default:
			l.advance(len(l.syn.commentOpen))
		}
		var mod byte
		if l.i < len(l.src) && (l.src[l.i] == '-' || l.src[l.i] == '~') {
			mod = l.src[l.i]
			l.advance(1)
		}
		l.trimPrevText(mod)
		switch kind {
		case '#':
			if err := l.comment(tagPos); err != nil {
				return err
			}
		case '{':
			l.toks = append(l.toks, token{kind: tkVarStart, pos: tagPos})
			if err := l.expression(tagPos, l.syn.varClose); err != nil {
				return err
			}
		case '%':
			l.toks = append(l.toks, token{kind: tkBlockStart, pos: tagPos})
			if err := l.expression(tagPos, l.syn.blockClose); err != nil {
				return err
			}
			if err := l.verbatim(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *lexer) comment(start pos) error {
	end := strings.Index(l.src[l.i:], l.syn.commentClose)
	if end < 0 {
		return twigError(start, "unclosed comment")
	}
	body := l.src[l.i : l.i+end]
	l.advance(end + len(l.syn.commentClose))
	l.trimWS = '\n'
	if strings.HasSuffix(body, "-") {
		l.trimWS = '-'
	} else if strings.HasSuffix(body, "~") {
		l.trimWS = '~'
	}
	return nil
}

// verbatim handles {% verbatim %}: when the block just lexed is one, the
// raw text up to {% endverbatim %} becomes a tkVerbatim token.
func (l *lexer) verbatim() error {
	n := len(l.toks)
	if n < 3 || l.toks[n-3].kind != tkBlockStart || l.toks[n-2].kind != tkName || l.toks[n-1].kind != tkBlockEnd {
		return nil
	}
	name := l.toks[n-2].val
	if name != "verbatim" {
		return nil
	}
	if l.trimWS == '\n' {
		l.trimWS = 0 // Twig keeps the line feed after {% verbatim %}
	}
	start := l.here()
	for k := l.i; k < len(l.src); k++ {
		if !strings.HasPrefix(l.src[k:], l.syn.blockOpen) {
			continue
		}
		m := k + len(l.syn.blockOpen)
		var lmod byte
		if m < len(l.src) && (l.src[m] == '-' || l.src[m] == '~') {
			lmod = l.src[m]
			m++
		}
		for m < len(l.src) && strings.IndexByte(allSpace, l.src[m]) >= 0 {
			m++
		}
		if !strings.HasPrefix(l.src[m:], "end"+name) {
			continue
		}
		m += len("end" + name)
		for m < len(l.src) && strings.IndexByte(allSpace, l.src[m]) >= 0 {
			m++
		}
		var rmod byte
		if m < len(l.src) && (l.src[m] == '-' || l.src[m] == '~') {
			rmod = l.src[m]
			m++
		}
		if !strings.HasPrefix(l.src[m:], l.syn.blockClose) {
			continue
		}
		raw := l.src[l.i:k]
		switch l.trimWS {
		case '-':
			raw = strings.TrimLeft(raw, allSpace)
		case '~':
			raw = strings.TrimLeft(raw, lineSpace)
		case '\n':
			raw = strings.TrimPrefix(raw, "\n")
		}
		switch lmod {
		case '-':
			raw = strings.TrimRight(raw, allSpace)
		case '~':
			raw = strings.TrimRight(raw, lineSpace)
		}
		l.toks = append(l.toks, token{kind: tkVerbatim, val: raw, pos: start})
		l.advance(m + len(l.syn.blockClose) - l.i)
		l.trimWS = int(rmod) // and after {% endverbatim %}
		return nil
	}
	return twigError(l.toks[n-3].pos, "unclosed %q block", name)
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x7f
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// expression lexes the tokens of a {{ }} or {% %} (end is the syntax's
// varClose or blockClose), or of a "#{ }" interpolation (end is "}").
func (l *lexer) expression(start pos, end string) error {
	var brackets []byte
	var opened []pos
	adjacent := true
	for {
		if l.i >= len(l.src) {
			if end == "}" {
				return twigError(start, "unclosed string interpolation")
			}
			if end == l.syn.varClose {
				return twigError(start, "unclosed %q", l.syn.varOpen)
			}
			return twigError(start, "unclosed %q", l.syn.blockOpen)
		}
		c := l.src[l.i]
		if strings.IndexByte(allSpace, c) >= 0 {
			l.advance(1)
			adjacent = false
			continue
		}
		p := l.here()
		if len(brackets) > 0 && end != "}" && (strings.HasPrefix(l.src[l.i:], end) || strings.HasPrefix(l.src[l.i:], "-"+end)) && (end == l.syn.blockClose || brackets[len(brackets)-1] != '{') {
			return twigError(opened[len(opened)-1], "unclosed %q", string(brackets[len(brackets)-1]))
		}
		if len(brackets) == 0 {
			if end == "}" && c == '}' {
				l.toks = append(l.toks, token{kind: tkInterpEnd, pos: p})
				l.advance(1)
				return nil
			}
			if end != "}" {
				for _, mod := range []string{"-", "~", ""} {
					if strings.HasPrefix(l.src[l.i:], mod+end) {
						kind := tkVarEnd
						if end == l.syn.blockClose {
							kind = tkBlockEnd
						}
						l.toks = append(l.toks, token{kind: kind, val: end, pos: p})
						l.advance(len(mod + end))
						switch {
						case mod != "":
							l.trimWS = int(mod[0])
						case end == l.syn.blockClose:
							l.trimWS = '\n'
						}
						return nil
					}
				}
			}
		}
		tok := token{pos: p, adjacent: adjacent}
		adjacent = true
		switch {
		case strings.HasPrefix(l.src[l.i:], "=>"):
			tok.kind, tok.val = tkArrow, "=>"
			l.advance(2)
		case l.matchOperator(&tok):
		case isNameStart(c):
			k := l.i
			for k < len(l.src) && isNameChar(l.src[k]) {
				k++
			}
			tok.kind, tok.val = tkName, l.src[l.i:k]
			l.advance(k - l.i)
		case isDigit(c):
			if err := l.number(&tok); err != nil {
				return err
			}
		case strings.IndexByte("()[]{}?:.,|", c) >= 0:
			tok.kind, tok.val = tkPunct, string(c)
			switch c {
			case '(', '[', '{':
				brackets = append(brackets, c)
				opened = append(opened, p)
			case ')', ']', '}':
				if len(brackets) == 0 {
					return twigError(p, "unexpected %q", string(c))
				}
				open := brackets[len(brackets)-1]
				if open == '(' && c != ')' || open == '[' && c != ']' || open == '{' && c != '}' {
					return twigError(opened[len(opened)-1], "unclosed %q", string(open))
				}
				brackets = brackets[:len(brackets)-1]
				opened = opened[:len(opened)-1]
			}
			l.advance(1)
		case c == '\'':
			s, err := l.quoted('\'')
			if err != nil {
				return err
			}
			tok.kind, tok.val = tkString, s
		case c == '"':
			if err := l.dquoted(tok); err != nil {
				return err
			}
			continue
		default:
			return twigError(p, "unexpected character %q", string(c))
		}
		l.toks = append(l.toks, tok)
	}
}

// twigOperatorWords are the words of each operator.
var twigOperatorWords = func() [][]string {
	out := make([][]string, len(twigOperators))
	for i, op := range twigOperators {
		out[i] = strings.Fields(op)
	}
	return out
}()

func (l *lexer) matchOperator(tok *token) bool {
	letter := isNameStart(l.src[l.i])
	for n, op := range twigOperators {
		if isNameStart(op[0]) != letter || op[0] != l.src[l.i] {
			continue
		}
		if !isNameStart(op[0]) {
			if strings.HasPrefix(l.src[l.i:], op) {
				tok.kind, tok.val = tkOperator, op
				l.advance(len(op))
				return true
			}
			continue
		}
		// a word operator: not after "." or "|", words separated by any
		// whitespace, followed by whitespace or a bracket
		if n := len(l.toks); n > 0 && l.toks[n-1].kind == tkPunct && (l.toks[n-1].val == "." || l.toks[n-1].val == "|") {
			return false
		}
		k := l.i
		ok := true
		for w, word := range twigOperatorWords[n] {
			if w > 0 {
				s := k
				for k < len(l.src) && strings.IndexByte(allSpace, l.src[k]) >= 0 {
					k++
				}
				if k == s {
					ok = false
					break
				}
			}
			if !strings.HasPrefix(l.src[k:], word) {
				ok = false
				break
			}
			k += len(word)
		}
		if !ok || k >= len(l.src) || strings.IndexByte(allSpace+"()[{", l.src[k]) < 0 {
			continue
		}
		tok.kind, tok.val = tkOperator, op
		l.advance(k - l.i)
		return true
	}
	return false
}

func (l *lexer) number(tok *token) error {
	k := l.i
	for k < len(l.src) && isDigit(l.src[k]) {
		k++
	}
	isFloat := false
	if k+1 < len(l.src) && l.src[k] == '.' && isDigit(l.src[k+1]) {
		isFloat = true
		k++
		for k < len(l.src) && isDigit(l.src[k]) {
			k++
		}
	}
	if k+2 < len(l.src) && (l.src[k] == 'e' || l.src[k] == 'E') && (l.src[k+1] == '+' || l.src[k+1] == '-') && isDigit(l.src[k+2]) {
		isFloat = true
		k += 2
		for k < len(l.src) && isDigit(l.src[k]) {
			k++
		}
	}
	text := l.src[l.i:k]
	tok.kind, tok.val = tkNumber, text
	if !isFloat {
		if i, ok := parseIntText(text); ok {
			tok.num = i
		} else {
			isFloat = true
		}
	}
	if isFloat {
		f, _ := parseNumber(text)
		tok.num = f
	}
	l.advance(k - l.i)
	return nil
}

func parseIntText(s string) (int64, bool) {
	var n int64
	for i := 0; i < len(s); i++ {
		d := int64(s[i] - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// quoted lexes a single-quoted string; Twig unescapes it with PHP's
// stripcslashes.
func (l *lexer) quoted(q byte) (string, error) {
	start := l.here()
	k := l.i + 1
	for k < len(l.src) {
		switch l.src[k] {
		case '\\':
			k += 2
			continue
		case q:
			s := stripcslashes(l.src[l.i+1 : k])
			l.advance(k + 1 - l.i)
			return s, nil
		}
		k++
	}
	return "", twigError(start, "unclosed string")
}

// dquoted lexes a double-quoted string with #{ } interpolations into
// tkString tokens, or tkInterpStart ... tkInterpEnd around them.
func (l *lexer) dquoted(first token) error {
	start := l.here()
	interp := false
	for k := l.i + 1; k < len(l.src) && l.src[k] != '"'; k++ {
		if l.src[k] == '\\' {
			k++
		} else if l.src[k] == '#' && k+1 < len(l.src) && l.src[k+1] == '{' {
			interp = true
			break
		}
	}
	if interp {
		l.toks = append(l.toks, token{kind: tkDQStart, pos: start, adjacent: first.adjacent})
	}
	l.advance(1)
	var b strings.Builder
	parts := 0
	flush := func(p pos, force bool) {
		if b.Len() > 0 || force {
			t := token{kind: tkString, val: stripcslashes(b.String()), pos: p, adjacent: first.adjacent}
			l.toks = append(l.toks, t)
			parts++
			b.Reset()
		}
	}
	partPos := start
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch {
		case c == '\\' && l.i+1 < len(l.src):
			b.WriteString(l.src[l.i : l.i+2])
			l.advance(2)
		case c == '"':
			flush(partPos, parts == 0)
			if interp {
				l.toks = append(l.toks, token{kind: tkDQEnd, pos: l.here()})
			}
			l.advance(1)
			return nil
		case c == '#' && l.i+1 < len(l.src) && l.src[l.i+1] == '{':
			flush(partPos, false)
			p := l.here()
			l.toks = append(l.toks, token{kind: tkInterpStart, pos: p})
			l.advance(2)
			if err := l.expression(p, "}"); err != nil {
				return err
			}
			parts++
			partPos = l.here()
		default:
			b.WriteByte(c)
			l.advance(1)
		}
	}
	return twigError(start, "unclosed string")
}

// stripcslashes is PHP's stripcslashes: C escapes (\n, \t, \x41, \101...)
// are decoded and other backslashes dropped.
func stripcslashes(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'v':
			b.WriteByte('\v')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'x':
			v, n := 0, 0
			for n < 2 && i+1 < len(s) && isHex(s[i+1]) {
				i++
				v = v*16 + hexVal(s[i])
				n++
			}
			if n == 0 {
				b.WriteByte('x')
			} else {
				b.WriteByte(byte(v))
			}
		default:
			if c >= '0' && c <= '7' {
				v, n := int(c-'0'), 1
				for n < 3 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7' {
					i++
					v = v*8 + int(s[i]-'0')
					n++
				}
				b.WriteByte(byte(v))
			} else {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}
