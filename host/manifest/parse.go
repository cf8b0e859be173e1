package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/internal/suggest"
	"github.com/hookhost/hookhost/internal/yamllimit"
)

// Pos is a position in a file of a manifest directory (Line and Col are
// 1-based; 0 when unknown).
type Pos struct {
	File      string
	Line, Col int
}

// String is "file:line:col" (or less, when unknown).
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Problem is one problem of a manifest directory, at its position.
type Problem struct {
	Pos
	Msg string
}

// String is "file:line:col: message".
func (p Problem) String() string { return p.Pos.String() + ": " + p.Msg }

// Problems is every problem found: the error of Parse and of an apply
// that validation refuses. Nothing is applied while there is one.
type Problems []Problem

// Error lists the problems, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Set is what a manifest directory declares.
type Set struct {
	Automations []*Automation
	Webhooks    []*Webhook
	Secrets     []*Secret
	// Schedules and Subscriptions are the declared schedules and
	// published subscriptions.
	Schedules     []*Schedule
	Subscriptions []*Subscription
	// files are the files the manifests name (script_file, ...), read or
	// not.
	files []string
}

// Automation is a declared automation.
type Automation struct {
	Name        string
	ExtensionID string
	Description string
	Script      string
	PolicyKATA  string
	// File is the manifest that declares it; Pos is its entry there.
	File string
	Pos  Pos
	// script and policy say where the texts are, to place their problems.
	script, policy text
}

// Webhook is a declared webhook.
type Webhook struct {
	Name      string
	EventKATA string
	Enabled   bool
	Debug     bool
	ExpiresAt *time.Time
	// TokenSecret names the secret holding the token ("" to generate one).
	TokenSecret string
	File        string
	Pos         Pos
	event       text
	tokenPos    Pos
}

// Secret is a declared secret: its source, never its value.
type Secret struct {
	Name string
	// FromEnv names an environment variable; FromFile a file (relative to
	// the directory, or absolute). Both empty: the secret is set elsewhere
	// and must exist.
	FromEnv, FromFile string
	File              string
	Pos               Pos
}

// HasSource reports whether the manifests give the secret's value.
func (s *Secret) HasSource() bool { return s.FromEnv != "" || s.FromFile != "" }

// text is where a KATA text of a manifest lies, to turn a line:col of the
// text into a position of a file.
type text struct {
	// at is the position of the text's first line and column. For a
	// block scalar (|) of the YAML file, col is the block's indentation
	// plus one; for a .kata file, 1:1.
	at Pos
	// scalar is set for a text written as a one-line YAML scalar: its
	// problems are placed at the scalar, with the text's line:col in
	// their message.
	scalar bool
}

// pos returns the file position of line:col of the text (1-based; 0 for
// unknown) and a prefix for the message when the position is not exact.
func (t text) pos(line, col int) (Pos, string) {
	if line == 0 {
		return t.at, ""
	}
	if t.scalar {
		return t.at, fmt.Sprintf("(line %d, column %d of the text) ", line, col)
	}
	p := Pos{File: t.at.File, Line: t.at.Line + line - 1, Col: col}
	if col > 0 {
		p.Col = t.at.Col + col - 1
	}
	return p, ""
}

// Patterns of names.
var (
	automationNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	// tokenRE is what a pinned token may hold: URL-safe characters.
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{20,128}$`)
)

// reader reads a manifest directory.
type reader struct {
	src   Source
	set   *Set
	probs Problems
	// seen remembers where each name was declared, by kind.
	seen map[string]Pos
}

func (r *reader) problem(p Pos, format string, args ...any) {
	r.probs = append(r.probs, Problem{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// Parse reads every manifest of src and the files they name. It returns
// what they declare and, when there are any, every problem (Problems); the
// Set is then incomplete.
func Parse(src Source) (*Set, error) {
	r := &reader{src: src, set: &Set{}, seen: map[string]Pos{}}
	names, err := src.Manifests()
	if err != nil {
		return nil, fmt.Errorf("list the manifests: %w", err)
	}
	for _, name := range names {
		r.file(name)
	}
	if len(r.probs) > 0 {
		return r.set, r.probs
	}
	return r.set, nil
}

// file reads one manifest.
func (r *reader) file(name string) {
	at := Pos{File: name}
	if !store.ValidName(name) || len(name) > 200 {
		r.problem(at, "the file name must be UTF-8 text of at most 200 bytes")
		return
	}
	data, err := r.src.ReadFile(name)
	if err != nil {
		r.problem(at, "%v", err)
		return
	}
	// The parser is quadratic in nesting, keys of a mapping and documents:
	// bound them first.
	if err := yamllimit.Check(data); err != nil {
		var le *yamllimit.Error
		if errors.As(err, &le) {
			r.problem(Pos{File: name, Line: le.Line, Col: le.Col}, "%s", le.Msg)
			return
		}
		r.problem(at, "%v", err)
		return
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		r.yamlError(name, err)
		return
	}
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		r.document(name, doc.Body)
	}
}

// yamlPosRE reads go-yaml's "[line:col] message" error form.
var yamlPosRE = regexp.MustCompile(`^\[(\d+):(\d+)\] (.*)$`)

// yamlError reports a YAML syntax error at its position.
func (r *reader) yamlError(file string, err error) {
	msg := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	if m := yamlPosRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		r.problem(Pos{File: file, Line: line, Col: col}, "%s", m[3])
		return
	}
	r.problem(Pos{File: file}, "%s", msg)
}

// posOf is the position of a node.
func posOf(file string, n ast.Node) Pos {
	tk := n.GetToken()
	if mv, ok := n.(*ast.MappingValueNode); ok {
		tk = mv.Key.GetToken()
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		tk = m.Values[0].Key.GetToken()
	}
	if tk == nil || tk.Position == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: tk.Position.Line, Col: tk.Position.Column}
}

// pairs returns the key-value pairs of a mapping node, or false.
func pairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	}
	return nil, false
}

// keyOf is the text of a mapping key.
func keyOf(kv *ast.MappingValueNode) string {
	if s, ok := kv.Key.(*ast.StringNode); ok {
		return s.Value
	}
	return strings.TrimSpace(kv.Key.String())
}

// document reads one YAML document: a mapping of automations, webhooks
// and secrets.
func (r *reader) document(file string, body ast.Node) {
	kvs, ok := pairs(body)
	if !ok {
		r.problem(posOf(file, body), "a manifest is a mapping with the lists automations:, webhooks:, secrets:, schedules: and subscriptions:")
		return
	}
	seen := map[string]bool{}
	for _, kv := range kvs {
		key, at := keyOf(kv), posOf(file, kv)
		if seen[key] {
			r.problem(at, "%s: is given twice in this document", key)
			continue
		}
		seen[key] = true
		var entry func(file string, n ast.Node)
		switch key {
		case "automations":
			entry = r.automation
		case "webhooks":
			entry = r.webhook
		case "secrets":
			entry = r.secret
		case "schedules":
			entry = r.schedule
		case "subscriptions":
			entry = r.subscription
		default:
			r.problem(at, "unknown key %q%s (a manifest holds automations:, webhooks:, secrets:, schedules: and subscriptions:)", key,
				suggest.Hint(key, []string{"automations", "webhooks", "secrets", "schedules", "subscriptions"}))
			continue
		}
		switch v := kv.Value.(type) {
		case *ast.NullNode:
		case *ast.SequenceNode:
			for _, it := range v.Values {
				entry(file, it)
			}
		default:
			r.problem(posOf(file, kv.Value), "%s: must be a list (each item starting with -)", key)
		}
	}
}

// fields reads the fields of a list item: a mapping whose keys are in
// known. It reports unknown and repeated keys.
func (r *reader) fields(file, what string, n ast.Node, known []string) map[string]*ast.MappingValueNode {
	kvs, ok := pairs(n)
	if !ok {
		r.problem(posOf(file, n), "each item of %ss: must be a mapping (name: ..., and its other fields)", what)
		return nil
	}
	out := map[string]*ast.MappingValueNode{}
	for _, kv := range kvs {
		key := keyOf(kv)
		switch {
		case !slices.Contains(known, key):
			r.problem(posOf(file, kv), "unknown field %q of %s%s (its fields: %s)", key, what, suggest.Hint(key, known), strings.Join(known, ", "))
		case out[key] != nil:
			r.problem(posOf(file, kv), "field %q is given twice", key)
		default:
			out[key] = kv
		}
	}
	return out
}

// str reads a text field; ok is false after a problem.
func (r *reader) str(file string, kv *ast.MappingValueNode) (string, bool) {
	if kv == nil {
		return "", true
	}
	switch v := kv.Value.(type) {
	case *ast.NullNode:
		return "", true
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	}
	r.problem(posOf(file, kv.Value), "%s: must be text", keyOf(kv))
	return "", false
}

// boolean reads a true/false field; def when absent.
func (r *reader) boolean(file string, kv *ast.MappingValueNode, def bool) bool {
	if kv == nil {
		return def
	}
	if b, ok := kv.Value.(*ast.BoolNode); ok {
		return b.Value
	}
	if _, ok := kv.Value.(*ast.NullNode); ok {
		return def
	}
	r.problem(posOf(file, kv.Value), "%s: must be true or false (got %s)", keyOf(kv), strings.TrimSpace(kv.Value.String()))
	return def
}

// kataText reads a KATA text given inline (field) or in a file
// (field+"_file"); where tells where its lines are.
func (r *reader) kataText(file string, fs map[string]*ast.MappingValueNode, field string, required bool, at Pos) (string, text, bool) {
	inline, fromFile := fs[field], fs[field+"_file"]
	switch {
	case inline != nil && fromFile != nil:
		r.problem(posOf(file, fromFile), "give %s: or %s_file:, not both", field, field)
		return "", text{}, false
	case fromFile != nil:
		name, ok := r.str(file, fromFile)
		if !ok {
			return "", text{}, false
		}
		vpos := posOf(file, fromFile.Value)
		if name == "" {
			r.problem(vpos, "%s_file: names no file", field)
			return "", text{}, false
		}
		r.set.files = append(r.set.files, name)
		b, err := r.src.ReadFile(name)
		if err != nil {
			r.problem(vpos, "%s_file: %v", field, err)
			return "", text{}, false
		}
		if !utf8.Valid(b) {
			r.problem(Pos{File: name}, "%s_file: the file is not UTF-8 text", field)
			return "", text{}, false
		}
		return string(b), text{at: Pos{File: name, Line: 1, Col: 1}}, true
	case inline != nil:
		s, ok := r.str(file, inline)
		if !ok {
			return "", text{}, false
		}
		if lit, isLit := inline.Value.(*ast.LiteralNode); isLit {
			return s, r.blockText(file, lit), true
		}
		return s, text{at: posOf(file, inline.Value), scalar: true}, true
	case required:
		r.problem(at, "%s: (or %s_file:) is required", field, field)
		return "", text{}, false
	}
	return "", text{at: at, scalar: true}, true
}

// blockText locates the lines of a block scalar (| or >): they start on
// the line after its indicator, at the block's indentation.
func (r *reader) blockText(file string, lit *ast.LiteralNode) text {
	line := 0
	if tk := lit.Start; tk != nil && tk.Position != nil {
		line = tk.Position.Line + 1
	}
	indent := 0
	if v := lit.Value; v != nil {
		indent = blockIndent(v.GetToken())
	}
	return text{at: Pos{File: file, Line: line, Col: indent + 1}}
}

// blockIndent is the indentation of a block scalar's content: that of its
// first line that is not blank, in the token's source text.
func blockIndent(tk *token.Token) int {
	if tk == nil {
		return 0
	}
	for _, l := range strings.Split(tk.Origin, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		return len(l) - len(strings.TrimLeft(l, " "))
	}
	return 0
}

// claim records that kind name is declared at p, reporting a second
// declaration.
func (r *reader) claim(kind, name string, p Pos) bool {
	key := kind + "\x00" + name
	if first, dup := r.seen[key]; dup {
		r.problem(p, "%s %q is declared twice: first at %s", kind, name, first)
		return false
	}
	r.seen[key] = p
	return true
}

func (r *reader) automation(file string, n ast.Node) {
	at := posOf(file, n)
	fs := r.fields(file, "automation", n, []string{"name", "extension_id", "description", "script", "script_file", "policy_kata", "policy_kata_file"})
	if fs == nil {
		return
	}
	a := &Automation{File: file, Pos: at, ExtensionID: automations.TriggerWebhookRespond}
	ok := true
	var good bool
	if a.Name, good = r.str(file, fs["name"]); !good {
		ok = false
	}
	switch {
	case !good:
	case a.Name == "":
		r.problem(at, "name: is required")
		ok = false
	case len(a.Name) > 255 || !automationNameRE.MatchString(a.Name):
		r.problem(posOf(file, fs["name"].Value), "name %q must be 1 to 255 letters, digits, dots, dashes and underscores", a.Name)
		ok = false
	}
	if fs["extension_id"] != nil {
		if a.ExtensionID, good = r.str(file, fs["extension_id"]); !good {
			ok = false
		}
	}
	if a.Description, good = r.str(file, fs["description"]); !good {
		ok = false
	}
	if a.Script, a.script, good = r.kataText(file, fs, "script", true, at); !good {
		ok = false
	}
	if a.PolicyKATA, a.policy, good = r.kataText(file, fs, "policy_kata", false, at); !good {
		ok = false
	}
	if ok && r.claim("automation", a.Name, at) {
		r.set.Automations = append(r.set.Automations, a)
	}
}

func (r *reader) webhook(file string, n ast.Node) {
	at := posOf(file, n)
	fs := r.fields(file, "webhook", n, []string{"name", "event_kata", "event_kata_file", "enabled", "debug", "expires_at", "token_secret"})
	if fs == nil {
		return
	}
	w := &Webhook{File: file, Pos: at}
	ok := true
	var good bool
	if w.Name, good = r.str(file, fs["name"]); !good {
		ok = false
	}
	switch {
	case !good:
	case strings.TrimSpace(w.Name) == "":
		r.problem(at, "name: is required")
		ok = false
	case utf8.RuneCountInString(w.Name) > 255 || !store.ValidName(w.Name):
		r.problem(posOf(file, fs["name"].Value), "name must be 1 to 255 characters of UTF-8 text without NUL")
		ok = false
	}
	if w.EventKATA, w.event, good = r.kataText(file, fs, "event_kata", true, at); !good {
		ok = false
	}
	w.Enabled = r.boolean(file, fs["enabled"], true)
	w.Debug = r.boolean(file, fs["debug"], false)
	if kv := fs["expires_at"]; kv != nil {
		if _, null := kv.Value.(*ast.NullNode); !null {
			s, _ := r.str(file, kv)
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				r.problem(posOf(file, kv.Value), "expires_at: must be an RFC 3339 time such as 2027-01-02T15:04:05Z, or null for never (got %q)", s)
				ok = false
			} else {
				t = t.UTC().Truncate(time.Microsecond) // what the store keeps
				w.ExpiresAt = &t
			}
		}
	}
	if kv := fs["token_secret"]; kv != nil {
		w.TokenSecret, good = r.str(file, kv)
		w.tokenPos = posOf(file, kv.Value)
		if good && w.TokenSecret != "" && !secrets.ValidName(w.TokenSecret) {
			r.problem(w.tokenPos, "token_secret: %q is not a secret name: %s", w.TokenSecret, secrets.ErrInvalidName)
			ok = false
		}
	}
	if ok && r.claim("webhook", w.Name, at) {
		r.set.Webhooks = append(r.set.Webhooks, w)
	}
}

func (r *reader) secret(file string, n ast.Node) {
	at := posOf(file, n)
	fs := r.fields(file, "secret", n, []string{"name", "from_env", "from_file"})
	if fs == nil {
		return
	}
	s := &Secret{File: file, Pos: at}
	name, ok := r.str(file, fs["name"])
	s.Name = name
	switch {
	case !ok:
	case name == "":
		r.problem(at, "name: is required")
		ok = false
	case !secrets.ValidName(name):
		r.problem(posOf(file, fs["name"].Value), "secret name %q is invalid: %s", name, secrets.ErrInvalidName)
		ok = false
	}
	var good bool
	if s.FromEnv, good = r.str(file, fs["from_env"]); !good {
		ok = false
	}
	if s.FromFile, good = r.str(file, fs["from_file"]); !good {
		ok = false
	}
	if s.FromEnv != "" && s.FromFile != "" {
		r.problem(posOf(file, fs["from_file"]), "give from_env: or from_file:, not both")
		ok = false
	}
	if ok && r.claim("secret", s.Name, at) {
		r.set.Secrets = append(r.set.Secrets, s)
	}
}
