package packages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// member is one key of a JSON object, in document order.
type member struct {
	Key   string
	Value json.RawMessage
}

// errNotObject is returned by decodeObject for any JSON value other than an
// object.
var errNotObject = errors.New("not an object")

// decodeObject splits a JSON object into its members in document order and
// refuses duplicate keys. raw must be valid JSON.
func decodeObject(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{Key: key, Value: v})
	}
	return out, nil
}

// decodeArray splits a JSON array into its elements. raw must be valid JSON.
func decodeArray(raw json.RawMessage) ([]json.RawMessage, bool) {
	var out []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &out) != nil {
		return nil, false
	}
	return out, true
}

// isNull reports whether raw is the JSON null.
func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// jsonKind names the kind of a JSON value for messages.
func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// decodeString decodes a JSON string.
func decodeString(raw json.RawMessage) (string, error) {
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("must be a string, not %s", jsonKind(raw))
	}
	return s, nil
}

// decodeStringList decodes a JSON array of strings.
func decodeStringList(raw json.RawMessage) ([]string, error) {
	var out []string
	if isNull(raw) || json.Unmarshal(raw, &out) != nil {
		return nil, errors.New("must be an array of strings")
	}
	return out, nil
}

// scalarText returns the text of a JSON string, number or boolean; numbers
// keep their source spelling.
func scalarText(raw json.RawMessage) (string, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "", false
	}
	switch t[0] {
	case '"':
		var s string
		return s, json.Unmarshal(t, &s) == nil
	case '{', '[', 'n':
		return "", false
	}
	return string(t), true
}

// decodeInt decodes a JSON integer (a number or a numeric string).
func decodeInt(raw json.RawMessage) (int, error) {
	s, ok := scalarText(raw)
	if ok {
		if n, err := strconv.Atoi(s); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("must be an integer, not %s", jsonKind(raw))
}

// jsonSyntaxError adds the line and column to a JSON syntax error.
func jsonSyntaxError(raw []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	line, col := 1, 1
	// Offset counts the offending byte too.
	for _, c := range raw[:max(0, min(int(se.Offset)-1, len(raw)))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%w (line %d, column %d)", err, line, col)
}

// duplicateKey finds the first object key that appears twice in the same
// object anywhere in raw (valid JSON), and describes it with its path and
// position: `duplicate key "name" in records[1] (line 9, column 7)`. It
// returns "" when keys are unique.
func duplicateKey(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		object bool
		seen   map[string]bool
		key    string // the current member's key (objects)
		index  int    // the current element's index (arrays)
		path   string
	}
	var stack []*frame
	// child is the path of the value about to start in the top frame.
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.object {
			if f.path == "" {
				return f.key
			}
			return f.path + "." + f.key
		}
		return fmt.Sprintf("%s[%d]", f.path, f.index)
	}
	expectKey := func() bool {
		return len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].key == ""
	}
	// valueDone ends a value in the top frame.
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.object {
			f.key = ""
		} else {
			f.index++
		}
	}
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &frame{object: t == '{', seen: map[string]bool{}, path: child()})
			case '}', ']':
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		case string:
			if expectKey() {
				f := stack[len(stack)-1]
				if f.seen[t] {
					line, col := position(raw, keyStart(raw, int(before)))
					where := ""
					if f.path != "" {
						where = " in " + f.path
					}
					return fmt.Sprintf("duplicate key %q%s (line %d, column %d): each key may appear once in an object", t, where, line, col)
				}
				f.seen[t] = true
				f.key = t
				continue
			}
		}
		valueDone()
	}
}

// keyStart returns the offset of the opening quote of the key that follows
// offset (the decoder's offset before reading the key: it may stand on the
// separator).
func keyStart(raw []byte, offset int) int {
	for i := offset; i < len(raw); i++ {
		if raw[i] == '"' {
			return i
		}
	}
	return offset
}

// position is the 1-based line and column of offset in raw.
func position(raw []byte, offset int) (line, col int) {
	line, col = 1, 1
	for _, c := range raw[:min(offset, len(raw))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
