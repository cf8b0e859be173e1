package dict

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"unicode/utf8"
)

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }

// FromGo converts an arbitrary Go value into the dict value model: maps with
// string keys become *Map (keys sorted, since Go maps have no order), slices
// become []any, integers int64, floats float64. Values already in the model
// are returned unchanged. Anything else becomes its fmt.Sprint text.
func FromGo(v any) any {
	switch t := v.(type) {
	case nil, bool, string, int64, float64, *Map:
		return v
	case []any:
		for i, e := range t {
			t[i] = FromGo(e)
		}
		return t
	case int:
		return int64(t)
	case int32:
		return int64(t)
	case uint32:
		return int64(t)
	case float32:
		return float64(t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case []string:
		l := make([]any, len(t))
		for i, s := range t {
			l[i] = s
		}
		return l
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := New(len(keys))
		for _, k := range keys {
			m.Set(k, FromGo(t[k]))
		}
		return m
	case map[string]string:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := New(len(keys))
		for _, k := range keys {
			m.Set(k, t[k])
		}
		return m
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.Bool:
		return rv.Bool()
	case reflect.String:
		return rv.String()
	case reflect.Slice, reflect.Array:
		l := make([]any, rv.Len())
		for i := range l {
			l[i] = FromGo(rv.Index(i).Interface())
		}
		return l
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			keys := rv.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			m := New(len(keys))
			for _, k := range keys {
				m.Set(k.String(), FromGo(rv.MapIndex(k).Interface()))
			}
			return m
		}
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return FromGo(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}

// ToGo converts a dict value into plain Go values (map[string]any,
// []any, ...), losing key order. It is for interfaces that need plain values.
func ToGo(v any) any {
	switch t := v.(type) {
	case *Map:
		out := make(map[string]any, t.Len())
		t.Range(func(k string, x any) bool {
			out[k] = ToGo(x)
			return true
		})
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = ToGo(x)
		}
		return out
	default:
		return v
	}
}
