package automations

import (
	"slices"
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates/dict"
)

// Values in the dictionary are never changed in place: a deep write copies
// the containers along its path (copy-on-write), so values shared with the
// caller's inputs, with other keys, or with compiled constants stay intact.

// keyPath reads inputs key: (and delimiter:) as a path.
func keyPath(in *dict.Map) ([]string, *cmdError) {
	key := strings.TrimSpace(toString(in.Value("key")))
	if key == "" {
		return nil, cmdErrorf("inputs:key: is required.")
	}
	delim := toString(in.Value("delimiter"))
	if delim == "" {
		delim = ":"
	}
	return strings.Split(key, delim), nil
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

// withPath returns container with v stored at path, copying what it changes.
func withPath(container any, path []string, v any) any {
	if len(path) == 0 {
		return v
	}
	switch t := container.(type) {
	case *dict.Map:
		c := shallowCopy(t)
		c.Set(path[0], withPath(t.Value(path[0]), path[1:], v))
		return c
	case []any:
		if i, err := strconv.Atoi(path[0]); err == nil && i >= 0 && i <= len(t) {
			c := slices.Clone(t)
			if i == len(t) {
				c = append(c, withPath(nil, path[1:], v))
			} else {
				c[i] = withPath(t[i], path[1:], v)
			}
			return c
		}
		return withPath(listToMap(t), path, v)
	default:
		m := dict.New(1)
		m.Set(path[0], withPath(nil, path[1:], v))
		return m
	}
}

// withoutPath returns container with path removed, and whether it was there.
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
		i, err := strconv.Atoi(path[0])
		if err != nil || i < 0 || i >= len(t) {
			return container, false
		}
		if len(path) == 1 {
			return slices.Delete(slices.Clone(t), i, i+1), true
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

func (r *runner) setPath(path []string, v any) {
	r.data.Set(path[0], withPath(r.data.Value(path[0]), path[1:], v))
}

func (r *runner) getPath(path []string) any {
	v, _ := r.data.GetPath(path)
	return v
}

// varSet is var.set: write value at the key path; output is the value.
func (r *runner) varSet(n *node, in *dict.Map) (any, error) {
	path, cerr := keyPath(in)
	if cerr != nil {
		return nil, cerr
	}
	v := in.Value("value")
	if r.checkSize(n.id, v) {
		return nil, errStopped
	}
	r.setPath(path, v)
	return v, nil
}

// varPush is var.push: append value to the list at the key path (a scalar
// there becomes a list; a dictionary value is merged into a dictionary
// there); output is the new list.
func (r *runner) varPush(n *node, in *dict.Map) (any, error) {
	path, cerr := keyPath(in)
	if cerr != nil {
		return nil, cerr
	}
	v := in.Value("value")
	var out any
	switch cur := r.getPath(path).(type) {
	case nil:
		out = []any{v}
	case []any:
		out = append(slices.Clip(cur), v)
	case *dict.Map:
		c := shallowCopy(cur)
		if vm, ok := v.(*dict.Map); ok {
			vm.Range(func(k string, x any) bool {
				c.Set(k, x)
				return true
			})
		} else {
			c.Set(strconv.Itoa(c.Len()), v)
		}
		out = c
	default:
		out = []any{cur, v}
	}
	if r.checkSize(n.id, out) {
		return nil, errStopped
	}
	r.setPath(path, out)
	return out, nil
}

// varUnset is var.unset: remove one key path or a list of them; output
// reports whether anything was removed.
func (r *runner) varUnset(_ *node, in *dict.Map) (any, error) {
	var keys []string
	switch t := in.Value("key").(type) {
	case []any:
		for _, k := range t {
			keys = append(keys, toString(k))
		}
	default:
		keys = []string{toString(t)}
	}
	delim := toString(in.Value("delimiter"))
	if delim == "" {
		delim = ":"
	}
	removed := false
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		path := strings.Split(k, delim)
		if len(path) == 1 {
			if r.data.Delete(path[0]) {
				removed = true
			}
			continue
		}
		top, ok := r.data.Get(path[0])
		if !ok {
			continue
		}
		if nv, ok := withoutPath(top, path[1:]); ok {
			r.data.Set(path[0], nv)
			removed = true
		}
	}
	return removed, nil
}

// maxKataParse is the largest kata.parse input (spec §2.8).
const maxKataParse = 1_024_000

// kataParse is kata.parse: parse inputs:kata: (text, or an already built
// tree) as generic KATA rendered with inputs:dict: as placeholders.
func (r *runner) kataParse(_ *node, in *dict.Map) (any, error) {
	switch t := in.Value("kata").(type) {
	case *dict.Map:
		return t, nil
	case nil:
		return nil, cmdErrorf("inputs:kata: is required.")
	default:
		src := toString(t)
		if len(src) > maxKataParse {
			return nil, cmdErrorf("inputs:kata: must be shorter than %d characters.", maxKataParse)
		}
		doc, err := kata.Parse("kata", src)
		if err != nil {
			return nil, cmdErrorf("%s", err.Error())
		}
		var diags Diagnostics
		vc := &valueCompiler{env: r.p.env, source: "kata", diags: &diags}
		v := vc.compile(doc.Root, true)
		if len(diags) > 0 {
			return nil, cmdErrorf("%s", diags.Error())
		}
		data, _ := in.Value("dict").(*dict.Map)
		if data == nil {
			data = dict.New(0)
		}
		env := evalEnv{annEnv: annEnv{data: data, now: r.now, generic: true}}
		out, _, err := v.eval(&env)
		if err != nil {
			return nil, cmdErrorf("%s", err.Error())
		}
		return out, nil
	}
}
