// Package oracle reads and writes the golden files recorded from the
// reference implementations hookhost is measured against (php-twig for
// templates, a real Cerb 10.4.10 for webhooks; see shared/oracle), and the
// floor lists (known differences, deliberate differences) of the tests that
// compare hookhost with them.
//
// # Golden files
//
// A golden file is a txtar archive (golang.org/x/tools/txtar syntax): a
// free-text comment, then sections introduced by "-- name --" lines. Each
// section belongs to a case and is named "<case>/<field>", for example
// "upper:unicode/template". A case's fields are consecutive. The full id of
// a case is "<area>/<case>", where area is the file name without ".txtar".
//
// Section contents are exact bytes: the writer appends one line feed to
// every content and the reader removes exactly one, so a content with or
// without a final line feed round-trips. A content that a text editor or
// the txtar syntax could damage (a carriage return, another control
// character, invalid UTF-8, trailing blanks, a line that looks like a
// section marker) is written Go-quoted (strconv.Quote) under the field name
// with ".q" appended ("output.q").
//
// The package imports no other hookhost package, so that any package's
// tests may use it.
package oracle

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// File is one golden file.
type File struct {
	// Area is the file name without its extension.
	Area string
	// Comment is the text before the first section.
	Comment string
	Cases   []*Case
}

// Case is one recorded case: named fields in file order.
type Case struct {
	Name   string
	Fields []Field
}

// Field is one section of a case.
type Field struct {
	Name string
	Data string
}

// ID is the case's full id within f ("<area>/<case>").
func (f *File) ID(c *Case) string { return f.Area + "/" + c.Name }

// Get returns the named field.
func (c *Case) Get(name string) (string, bool) {
	for _, f := range c.Fields {
		if f.Name == name {
			return f.Data, true
		}
	}
	return "", false
}

// Value returns the named field or "".
func (c *Case) Value(name string) string {
	v, _ := c.Get(name)
	return v
}

// Set replaces the named field, or appends it.
func (c *Case) Set(name, data string) {
	for i := range c.Fields {
		if c.Fields[i].Name == name {
			c.Fields[i].Data = data
			return
		}
	}
	c.Fields = append(c.Fields, Field{name, data})
}

// Delete removes the named field.
func (c *Case) Delete(name string) {
	out := c.Fields[:0]
	for _, f := range c.Fields {
		if f.Name != name {
			out = append(out, f)
		}
	}
	c.Fields = out
}

// Case returns the case with this name, or nil.
func (f *File) Case(name string) *Case {
	for _, c := range f.Cases {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Parse reads a golden file's bytes.
func Parse(area string, data []byte) (*File, error) {
	f := &File{Area: area}
	type sec struct {
		name string
		line int
		data []byte
	}
	var secs []*sec
	var comment []byte
	line := 0
	for len(data) > 0 {
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i+1], data[i+1:]
		} else {
			l, data = data, nil
		}
		line++
		if name, ok := marker(l); ok {
			secs = append(secs, &sec{name: name, line: line})
			continue
		}
		if len(secs) == 0 {
			comment = append(comment, l...)
		} else {
			s := secs[len(secs)-1]
			s.data = append(s.data, l...)
		}
	}
	f.Comment = string(comment)
	var cur *Case
	for _, s := range secs {
		i := strings.LastIndexByte(s.name, '/')
		if i <= 0 || i == len(s.name)-1 {
			return nil, fmt.Errorf("%s: line %d: section %q is not named <case>/<field>", area, s.line, s.name)
		}
		cname, field := s.name[:i], s.name[i+1:]
		content := string(s.data)
		if !strings.HasSuffix(content, "\n") {
			return nil, fmt.Errorf("%s: line %d: section %q does not end with a line feed", area, s.line, s.name)
		}
		content = content[:len(content)-1]
		if q, ok := strings.CutSuffix(field, ".q"); ok {
			u, err := strconv.Unquote(content)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: section %q: %v", area, s.line, s.name, err)
			}
			field, content = q, u
		}
		if cur == nil || cur.Name != cname {
			if f.Case(cname) != nil {
				return nil, fmt.Errorf("%s: line %d: case %q appears twice", area, s.line, cname)
			}
			cur = &Case{Name: cname}
			f.Cases = append(f.Cases, cur)
		}
		if _, dup := cur.Get(field); dup {
			return nil, fmt.Errorf("%s: line %d: case %q has two %q fields", area, s.line, cname, field)
		}
		cur.Fields = append(cur.Fields, Field{field, content})
	}
	return f, nil
}

// marker reports whether l is a "-- name --" line.
func marker(l []byte) (string, bool) {
	s := strings.TrimSuffix(string(l), "\n")
	if len(s) < 7 || !strings.HasPrefix(s, "-- ") || !strings.HasSuffix(s, " --") {
		return "", false
	}
	return strings.TrimSpace(s[3 : len(s)-3]), true
}

// Format returns the file's bytes.
func (f *File) Format() []byte {
	var b bytes.Buffer
	b.WriteString(f.Comment)
	if f.Comment != "" && !strings.HasSuffix(f.Comment, "\n") {
		b.WriteByte('\n')
	}
	for _, c := range f.Cases {
		for _, fl := range c.Fields {
			name, data := c.Name+"/"+fl.Name, fl.Data
			if NeedsQuote(data) {
				name, data = name+".q", strconv.Quote(data)
			}
			b.WriteString("-- " + name + " --\n")
			b.WriteString(data)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// NeedsQuote reports whether s must be written Go-quoted.
func NeedsQuote(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if r < 0x20 || r == 0x7f || r == '\uFEFF' || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	for _, l := range strings.Split(s, "\n") {
		if strings.HasSuffix(l, " ") || strings.HasSuffix(l, "\t") {
			return true
		}
		if _, ok := marker([]byte(l)); ok {
			return true
		}
	}
	return false
}

// ReadFile reads one golden file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(strings.TrimSuffix(filepath.Base(path), ".txtar"), b)
}

// ReadDir reads every *.txtar file of dir, in name order.
func ReadDir(dir string) ([]*File, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var files []*File
	for _, p := range paths {
		f, err := ReadFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// WriteFile writes f as <dir>/<area>.txtar.
func WriteFile(dir string, f *File) error {
	return os.WriteFile(filepath.Join(dir, f.Area+".txtar"), f.Format(), 0o644)
}

// List is a floor list: case id → a short note (the cause of a known
// difference, or the reason of a deliberate one).
type List map[string]string

// ReadList reads a list file: one case id per line, optionally followed by
// whitespace, "#" and a note. Blank lines and lines starting with "#" are
// comments. A missing file is an empty list.
func ReadList(path string) (List, error) {
	l := List{}
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, note := line, ""
		if i := strings.Index(line, " #"); i >= 0 {
			id, note = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+2:])
		} else if i := strings.Index(line, "\t#"); i >= 0 {
			id, note = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+2:])
		}
		if strings.ContainsAny(id, " \t") {
			return nil, fmt.Errorf("%s:%d: a case id has no blanks: %q", path, n, id)
		}
		if _, dup := l[id]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", path, n, id)
		}
		l[id] = note
	}
	return l, sc.Err()
}

// WriteList writes l sorted by id after header (comment lines, "# "
// prepended to each).
func WriteList(path, header string, l List) error {
	var b bytes.Buffer
	for _, h := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString(strings.TrimRight("# "+h, " ") + "\n")
	}
	ids := make([]string, 0, len(l))
	w := 0
	for id := range l {
		ids = append(ids, id)
		w = max(w, len(id))
	}
	sort.Strings(ids)
	for _, id := range ids {
		if id == "" || strings.ContainsAny(id, " \t\n#") {
			return fmt.Errorf("list %s: case id %q is empty or has blanks or #", path, id)
		}
	}
	w = min(w, 60)
	for _, id := range ids {
		note := strings.TrimSpace(strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(l[id]))
		if note == "" {
			b.WriteString(id + "\n")
			continue
		}
		fmt.Fprintf(&b, "%-*s # %s\n", w, id, note)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
