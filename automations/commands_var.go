package automations

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates/dict"
)

// Values in the dictionary are never changed in place: a deep write copies
// the containers along its path (copy-on-write), so values shared with the
// caller's inputs, with other keys, or with compiled constants stay intact.

// keyPath reads inputs key: (and delimiter:) as a path, as written (Cerb
// does not trim it).
func keyPath(in *dict.Map, delimiter bool) ([]string, *cmdError) {
	k, ok := in.Get("key")
	if !ok || k == nil {
		return nil, cmdErrorf("`inputs:key:` is required.")
	}
	switch k.(type) {
	case []any, *dict.Map, bool:
		return nil, cmdErrorf("'inputs:key:' must be a string (%s).", phpType(k))
	}
	delim := ":"
	if delimiter {
		if d := toString(in.Value("delimiter")); d != "" {
			delim = d
		}
	}
	return strings.Split(toString(k), delim), nil
}

// phpType is PHP's gettype() of a value, for Cerb's validation messages.
func phpType(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case bool:
		return "boolean"
	case int64, int:
		return "integer"
	case float64:
		return "double"
	case string:
		return "string"
	default:
		return "array"
	}
}

// shallowCopy copies m's top level.
func shallowCopy(m *dict.Map) *dict.Map {
	c := dict.New(m.Len() + 1)
	m.Range(func(k string, v any) bool {
		c.Set(k, v)
		return true
	})
	return c
}

// listToMap turns a list into a dictionary keyed "0", "1", ... (PHP arrays).
func listToMap(l []any) *dict.Map {
	m := dict.New(len(l) + 1)
	for i, v := range l {
		m.Set(strconv.Itoa(i), v)
	}
	return m
}

// isContainer reports whether v is a list or a dictionary (a PHP array).
func isContainer(v any) bool {
	switch v.(type) {
	case []any, *dict.Map:
		return true
	}
	return false
}

// withPath is Cerb's setKeyPath on a copy: it returns container with v
// stored at path, creating missing (or null) levels, copying what it
// changes. ok is false, and nothing is written, when the path runs into a
// text or number before its end.
func withPath(container any, path []string, v any) (out any, ok bool) {
	if len(path) == 0 {
		return v, true
	}
	switch t := container.(type) {
	case *dict.Map:
		cur, _ := t.Get(path[0])
		if cur != nil && !isContainer(cur) && len(path) > 1 {
			return container, false
		}
		nv, ok := withPath(cur, path[1:], v)
		if !ok {
			return container, false
		}
		c := shallowCopy(t)
		c.Set(path[0], nv)
		return c, true
	case []any:
		if i, ok := listIndex(path[0], len(t), true); ok {
			var cur any
			if i < len(t) {
				cur = t[i]
			}
			if cur != nil && !isContainer(cur) && len(path) > 1 {
				return container, false
			}
			nv, ok := withPath(cur, path[1:], v)
			if !ok {
				return container, false
			}
			c := slices.Clone(t)
			if i == len(t) {
				c = append(c, nv)
			} else {
				c[i] = nv
			}
			return c, true
		}
		return withPath(listToMap(t), path, v)
	case nil:
		nv, _ := withPath(nil, path[1:], v)
		m := dict.New(1)
		m.Set(path[0], nv)
		return m, true
	default:
		return container, false
	}
}

// withoutPath is Cerb's unsetKeyPath on a copy: container with path
// removed, and whether it was there (every level must be a list or
// dictionary).
func withoutPath(container any, path []string) (any, bool) {
	switch t := container.(type) {
	case *dict.Map:
		old, ok := t.Get(path[0])
		if !ok {
			return container, false
		}
		c := shallowCopy(t)
		if len(path) == 1 {
			c.Delete(path[0])
			return c, true
		}
		nv, removed := withoutPath(old, path[1:])
		if !removed {
			return container, false
		}
		c.Set(path[0], nv)
		return c, true
	case []any:
		i, ok := listIndex(path[0], len(t), false)
		if !ok {
			return container, false
		}
		if len(path) == 1 {
			// PHP's unset leaves a gap: the other items keep their keys.
			if i == len(t)-1 {
				return slices.Clone(t[:i]), true
			}
			m := listToMap(t)
			m.Delete(path[0])
			return m, true
		}
		nv, removed := withoutPath(t[i], path[1:])
		if !removed {
			return container, false
		}
		c := slices.Clone(t)
		c[i] = nv
		return c, true
	}
	return container, false
}

// setPath writes v, costing cost (costOf), at path in the dictionary (Cerb's
// setKeyPath), charging the run's memory budget; ok is false when the path
// runs into a text or number, stopped true when the budget ended the run
// (nothing is written then).
func (r *runner) setPath(at string, path []string, v any, cost int) (ok, stopped bool) {
	if len(path) == 1 {
		return true, r.store(at, path[0], v, cost)
	}
	cur, _ := r.data.Get(path[0])
	if cur != nil && !isContainer(cur) {
		return false, false
	}
	nv, ok := withPath(cur, path[1:], v)
	if !ok {
		return false, false
	}
	if cur == nil {
		return true, r.store(at, path[0], nv, newLevelsBytes(path[1:], cost))
	}
	return true, r.keep(at, path[0], nv, r.kept.byKey[path[0]]+r.writeDelta(cur, path[1:], cost))
}

// writePath writes v at path after the value limit, for var.set and
// var.push: the command's output is v, or false when the path runs into a
// text or number (nothing is written); errStopped when a limit ended the
// run.
func (r *runner) writePath(at string, path []string, v any) (any, error) {
	cost, over := r.sized(at, v)
	if over {
		return nil, errStopped
	}
	ok, stopped := r.setPath(at, path, v, cost)
	switch {
	case stopped:
		return nil, errStopped
	case !ok:
		return false, nil
	}
	return v, nil
}

// varSet is var.set: write value at the key path (Cerb's setKeyPath);
// the output is the value, or false when the path runs into a text or
// number (nothing is written then).
func (r *runner) varSet(n *node, in *dict.Map) (any, error) {
	path, cerr := keyPath(in, true)
	if cerr != nil {
		return nil, cerr
	}
	v, ok := in.Get("value")
	if !ok {
		return nil, cmdErrorf("`inputs:value:` is required.")
	}
	if _, isBool := v.(bool); isBool {
		return nil, cmdErrorf("'inputs:value:' must be a string or array (boolean).")
	}
	return r.writePath(n.id, path, v)
}

// pushValue is Cerb's setPush on the current value cur: a non-list
// becomes a one-item list, a dictionary value (not 0..n-1 keys) is merged
// key by key, anything else is appended at the next integer key.
func pushValue(cur, v any) any {
	var arr any
	switch t := cur.(type) {
	case []any, *dict.Map:
		arr = t
	default:
		arr = []any{cur}
	}
	if vm, ok := v.(*dict.Map); ok && !listLike(vm) {
		m, isMap := arr.(*dict.Map)
		if isMap {
			m = shallowCopy(m)
		} else {
			m = listToMap(arr.([]any))
		}
		vm.Range(func(k string, x any) bool {
			m.Set(k, x)
			return true
		})
		return m
	}
	if l, ok := v.([]any); ok && len(l) == 0 {
		return arr // an empty array merges nothing
	}
	switch t := arr.(type) {
	case []any:
		return append(slices.Clip(t), v)
	default:
		m := shallowCopy(t.(*dict.Map))
		next := int64(0)
		m.Range(func(k string, _ any) bool {
			if i, ok := dict.PHPIntKey(k); ok && i >= next {
				next = i + 1
			}
			return true
		})
		m.Set(strconv.FormatInt(next, 10), v)
		return m
	}
}

// listLike reports whether m's keys are "0".."n-1" in order (PHP's
// arrayIsIndexed).
func listLike(m *dict.Map) bool {
	if m.Len() == 0 {
		return false
	}
	for i, k := range m.Keys() {
		if k != strconv.Itoa(i) {
			return false
		}
	}
	return true
}

// varPush is var.push: append value to the array at the key path (Cerb's
// setPush, always ':' paths); the output is the new array, or false when
// the path runs into a text or number.
func (r *runner) varPush(n *node, in *dict.Map) (any, error) {
	path, cerr := keyPath(in, false)
	if cerr != nil {
		return nil, cerr
	}
	var cur any
	if len(path) > 1 {
		cur = keyPathValue(r.data, path, []any{})
	} else if cur = r.data.Value(path[0]); cur == nil {
		cur = []any{}
	}
	return r.writePath(n.id, path, pushValue(cur, in.Value("value")))
}

// varUnset is var.unset: remove one key path, or each of a list of them
// (Cerb's unsetKeyPath, ':' paths); the output says whether it was
// removed, or, for a list, is a dictionary of key → whether it was.
func (r *runner) varUnset(n *node, in *dict.Map) (any, error) {
	k, ok := in.Get("key")
	if !ok || k == nil {
		return nil, cmdErrorf("`inputs:key:` is required.")
	}
	stopped := false
	unset := func(key string) bool {
		if stopped {
			return false
		}
		path := strings.Split(key, ":")
		if len(path) == 1 {
			return r.forget(path[0])
		}
		top, ok := r.data.Get(path[0])
		if !ok {
			return false
		}
		nv, removed := withoutPath(top, path[1:])
		// Removing a list's item other than its last turns the list into
		// a dictionary, which can cost more: the budget can end the run.
		if removed && r.keep(n.id, path[0], nv, r.kept.byKey[path[0]]+r.removeDelta(top, path[1:])) {
			stopped = true
			return false
		}
		return removed
	}
	var out any
	switch t := k.(type) {
	case []any:
		m := dict.New(len(t))
		for _, key := range t {
			m.Set(toString(key), unset(toString(key)))
		}
		out = m
	case *dict.Map:
		m := dict.New(t.Len())
		t.Range(func(_ string, key any) bool {
			m.Set(toString(key), unset(toString(key)))
			return true
		})
		out = m
	case bool:
		return nil, cmdErrorf("'inputs:key:' must be a string or array (boolean).")
	default:
		out = unset(toString(t))
	}
	if stopped {
		return nil, errStopped
	}
	return out, nil
}

// maxKataParse is the largest kata.parse input (spec §2.8).
const maxKataParse = 1_024_000

// kataParse is kata.parse: parse inputs:kata: (text, or an already built
// tree) as generic KATA rendered with inputs:dict: as placeholders.
func (r *runner) kataParse(n *node, in *dict.Map) (any, error) {
	switch t := in.Value("kata").(type) {
	case *dict.Map:
		return t, nil
	case nil:
		return nil, cmdErrorf("`inputs:kata:` is required.")
	default:
		src := toString(t)
		if len(src) > maxKataParse {
			return nil, cmdErrorf("'inputs:kata:' must be no longer than %d characters.", maxKataParse)
		}
		// Errors read as Cerb's: "<error> at <node>:inputs:kata:".
		at := " at " + n.id + "inputs:kata:"
		doc, err := kata.Parse("kata", src)
		if err != nil {
			return nil, cmdErrorf("%s%s", cerbKataError(err), at)
		}
		if path, name := unknownAnnotation(doc.Root, nil); name != "" {
			return nil, cmdErrorf("[%s] Unknown annotation: @%s%s", strings.Join(path, ":"), name, at)
		}
		var diags Diagnostics
		vc := &valueCompiler{env: r.p.env, source: "kata", diags: &diags}
		v := vc.compile(doc.Root, true)
		if len(diags) > 0 {
			return nil, cmdErrorf("%s%s", diags.Error(), at)
		}
		data, _ := in.Value("dict").(*dict.Map)
		if data == nil {
			data = dict.New(0)
		}
		env := evalEnv{annEnv: annEnv{data: data, now: r.now, generic: true}}
		out, _, err := v.eval(&env)
		if err != nil {
			return nil, cmdErrorf("%s%s", err.Error(), at)
		}
		return out, nil
	}
}

// unknownAnnotation finds the first key (depth first) with an annotation
// generic KATA does not know, and returns its path.
func unknownAnnotation(n *kata.Node, path []string) ([]string, string) {
	for _, c := range n.Children {
		p := append(slices.Clip(path), c.Key)
		for _, a := range c.Annotations {
			if _, ok := parseAnn(strings.ToLower(a)); !ok {
				return p, a
			}
		}
		if c.Kind == kata.Object && !c.HasAnnotation("raw") {
			if p, a := unknownAnnotation(c, p); a != "" {
				return p, a
			}
		}
	}
	return nil, ""
}

// cerbKataError words the first KATA parse error as Cerb's kata.php does
// ("Indents may not use tabs (line 5)").
func cerbKataError(err error) string {
	var es kata.Errors
	if !errors.As(err, &es) || len(es) == 0 {
		return err.Error()
	}
	e := es[0]
	msg, line := e.Msg, e.Pos.Line
	switch {
	case msg == "indents may not use tabs":
		return fmt.Sprintf("Indents may not use tabs (line %d)", line)
	case strings.HasPrefix(msg, "unexpected syntax: "):
		text, uerr := strconv.Unquote(strings.TrimPrefix(msg, "unexpected syntax: "))
		if uerr != nil {
			text = strings.TrimPrefix(msg, "unexpected syntax: ")
		}
		return fmt.Sprintf("Unexpected syntax (line %d): %s", line, text)
	case strings.Contains(msg, "has a sibling with the same name"):
		if i := strings.Index(msg, " (first at line"); i >= 0 {
			msg = msg[:i]
		}
		return fmt.Sprintf("%s (line %d)", msg, line)
	case strings.Contains(msg, "must only contain letters, numbers, and underscores"):
		return fmt.Sprintf("%s (line %d)", msg, line)
	}
	return fmt.Sprintf("%s (line %d)", msg, line)
}
