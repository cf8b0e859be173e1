package oracle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// jnode is a JSON value with object key order kept.
type jnode struct {
	kind byte // '{', '[', 's' string, 'n' number, 'b' bool, 'z' null
	keys []string
	vals []*jnode
	text string // the string, the number's text, "true"/"false"
}

func parseJSON(s string) (*jnode, bool) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	n, err := readJNode(d)
	if err != nil {
		return nil, false
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, false
	}
	return n, true
}

func readJNode(d *json.Decoder) (*jnode, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := t.(type) {
	case json.Delim:
		n := &jnode{kind: byte(v)}
		for d.More() {
			if v == '{' {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, kt.(string))
			}
			c, err := readJNode(d)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, c)
		}
		if _, err := d.Token(); err != nil {
			return nil, err
		}
		return n, nil
	case string:
		return &jnode{kind: 's', text: v}, nil
	case json.Number:
		return &jnode{kind: 'n', text: v.String()}, nil
	case bool:
		return &jnode{kind: 'b', text: fmt.Sprint(v)}, nil
	default:
		return &jnode{kind: 'z'}, nil
	}
}

func (n *jnode) String() string {
	var b bytes.Buffer
	n.write(&b)
	return b.String()
}

func (n *jnode) write(b *bytes.Buffer) {
	switch n.kind {
	case '{':
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			n.vals[i].write(b)
		}
		b.WriteByte('}')
	case '[':
		b.WriteByte('[')
		for i, v := range n.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			v.write(b)
		}
		b.WriteByte(']')
	case 's':
		sb, _ := json.Marshal(n.text)
		b.Write(sb)
	case 'z':
		b.WriteString("null")
	default:
		b.WriteString(n.text)
	}
}

// firstDiff returns the path of the first difference between a and b, and
// the two values there.
func firstDiff(path string, a, b *jnode) (string, *jnode, *jnode, bool) {
	if a.kind != b.kind || a.text != b.text || len(a.vals) != len(b.vals) {
		if a.kind == b.kind && (a.kind == '{' || a.kind == '[') {
			// Same kind, different sizes: look for a differing member first.
			n := min(len(a.vals), len(b.vals))
			for i := 0; i < n; i++ {
				if a.kind == '{' && a.keys[i] != b.keys[i] {
					return path, a, b, true
				}
				if p, x, y, ok := firstDiff(childPath(path, a, i), a.vals[i], b.vals[i]); ok {
					return p, x, y, true
				}
			}
		}
		return path, a, b, true
	}
	for i := range a.vals {
		if a.kind == '{' && a.keys[i] != b.keys[i] {
			return path, a, b, true
		}
		if p, x, y, ok := firstDiff(childPath(path, a, i), a.vals[i], b.vals[i]); ok {
			return p, x, y, true
		}
	}
	return "", nil, nil, false
}

func childPath(path string, n *jnode, i int) string {
	if n.kind == '{' {
		return path + "." + n.keys[i]
	}
	return fmt.Sprintf("%s[%d]", path, i)
}

// JSONDiff compares two JSON texts as data (object key order matters,
// string escaping does not). ok is false when either is not JSON. When
// they are equal as data, cause says so (the difference is in the
// encoding: escapes, spacing); else it names the first differing path.
func JSONDiff(want, got string) (cause string, ok bool) {
	a, ok1 := parseJSON(want)
	b, ok2 := parseJSON(got)
	if !ok1 || !ok2 {
		return "", false
	}
	p, x, y, differ := firstDiff("$", a, b)
	if !differ {
		return "same JSON data, different encoding: " + Diff(want, got), true
	}
	return fmt.Sprintf("JSON %s: want %s got %s", p, Short(x.String(), 70), Short(y.String(), 70)), true
}
