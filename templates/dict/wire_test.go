package dict

import (
	"bytes"
	"encoding/json"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// viaJSON is what a value is after a trip through JSON.
func viaJSON(t *testing.T, v any) any {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Encode(&b, v, ""))
	got, err := DecodeJSON(b.Bytes())
	require.NoError(t, err, "%s", b.Bytes())
	return got
}

// TestWire_SameAsJSON checks that the wire form carries what a trip
// through JSON would.
func TestWire_SameAsJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
	}{
		{"Null", nil},
		{"Bools", []any{true, false}},
		{"Ints", []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), 7}},
		{"Floats", []any{0.5, -2.25, 3.0, -0.0, 1e15, 1e14, 1e300, math.NaN(), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64}},
		{"JSONNumbers", []any{json.Number("12"), json.Number("1.0"), json.Number("1e2"), json.Number("99999999999999999999")}},
		{"Strings", []any{"", "plain", "é ✓ 😀", "a\nb\"\\\u2028", "\xff", "a\xc3", "\xed\xa0\x80", "\uFFFD"}},
		{"InvalidKey", Of("\xffk", "v", "ok", "\xfe")},
		{"Nested", Of("l", []any{Of(), []any{}, []any(nil), (*Map)(nil)}, "m", Of("x", Of("y", []any{int64(1), "z"})))},
		{"GoTypes", Of("strs", []string{"a", "b"}, "map", map[string]any{"b": 1, "a": 2.5}, "i32", int32(4))},
		{"Large", func() *Map {
			m := New(0)
			for i := range 40 {
				m.Set(string(rune('A'+i)), i)
			}
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := viaJSON(t, tt.v)
			b := AppendWire(nil, tt.v, false)
			got, err := DecodeWire(b)
			require.NoError(t, err)
			require.Equal(t, want, got)
			got, err = DecodeWireShared(b)
			require.NoError(t, err)
			require.Equal(t, want, got, "shared")
		})
	}
}

func TestWire_RawBody(t *testing.T) {
	t.Parallel()
	m := Of("status_code", int64(200), "body", "\xff\x00bin", "headers", Of("x", "\xff"))
	got, err := DecodeWire(AppendWire(nil, m, true))
	require.NoError(t, err)
	require.Equal(t, Of("status_code", int64(200), "body", "\xff\x00bin", "headers", Of("x", "\uFFFD")), got)
	// Not a dictionary: nothing is raw.
	got, err = DecodeWire(AppendWire(nil, []any{"\xff"}, true))
	require.NoError(t, err)
	require.Equal(t, []any{"\uFFFD"}, got)
}

// TestWire_Malformed checks that every cut of a valid wire form, and some
// broken ones, fail without panicking.
func TestWire_Malformed(t *testing.T) {
	t.Parallel()
	full := AppendWire(nil, Of("a", []any{int64(300), 1.5, "s", true, nil, Of("k", false)}), false)
	for n := range len(full) {
		_, err := DecodeWire(full[:n])
		require.Error(t, err, "cut at %d", n)
	}
	for _, b := range [][]byte{
		[]byte("x"),
		[]byte("nn"),
		[]byte("s\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"),
		[]byte("l\x05n"),
		[]byte("i\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"),
		bytes.Repeat([]byte("l\x01"), maxDepth+2),
	} {
		_, err := DecodeWire(b)
		require.Error(t, err, "%q", b)
	}
}

// TestWire_ManyStrings checks strings past several chunks of boxed
// headers (Strings): each keeps its own value, whether the decoder
// copies its input or shares it, and after a collection.
func TestWire_ManyStrings(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, firstStrings - 1, firstStrings, firstStrings + 1, 3 * maxStrings} {
		l := make([]any, n)
		m := New(n)
		for i := range n {
			s := strings.Repeat("x", i%5) + strconv.Itoa(i)
			l[i] = s
			m.Set("k"+strconv.Itoa(i), s)
		}
		want := Of("list", l, "map", m, "empty", "")
		b := AppendWire(nil, want, false)
		got, err := DecodeWire(b)
		require.NoError(t, err)
		runtime.GC()
		require.Equal(t, want, got, "n=%d", n)
		got, err = DecodeWireShared(b)
		require.NoError(t, err)
		require.Equal(t, want, got, "n=%d shared", n)
	}
}

// TestDecodeWire_Allocs guards Strings.Box: a dictionary of strings takes
// one allocation for the map and one for its strings' headers, not one
// per string.
func TestDecodeWire_Allocs(t *testing.T) {
	in := AppendWire(nil, Of("a", "x", "b", "y", "c", "z", "d", ""), false)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := DecodeWireShared(in); err != nil {
			t.Fatal(err)
		}
	})
	require.Equal(t, 2.0, allocs)
}

func FuzzDecodeWire(f *testing.F) {
	f.Add(AppendWire(nil, Of("a", []any{int64(1), "x", 2.5, Of()}), false))
	f.Add([]byte("m\x01\x01kn"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeWire(b)
		if err != nil {
			return
		}
		// What decodes encodes back to a form that decodes the same.
		again, err := DecodeWire(AppendWire(nil, v, false))
		if err != nil {
			t.Fatalf("re-encoded %#v does not decode: %v", v, err)
		}
		_ = again
	})
}

func BenchmarkDecodeWire(b *testing.B) {
	v, err := DecodeJSON([]byte(`{"request_method":"POST","request_path":"","request_headers":{"host":"127.0.0.1:8080","user_agent":"curl/7.88.1","accept":"*/*","x_customheader":"true","content_type":"application/json"},"request_params":{"key":"value"},"request_body":"{\"a\":1}","request_client_ip":"127.0.0.1","webhook_id":"0193","webhook_name":"Webhook Example"}`))
	if err != nil {
		b.Fatal(err)
	}
	in := AppendWire(nil, v, false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeWire(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWireSize_Bounds(t *testing.T) {
	t.Parallel()
	long := string(bytes.Repeat([]byte("x"), 200))
	for _, v := range []any{nil, "", "abc", long, Of(), Of("k", []any{"x", Of("y", true)}, "body", "\xff"), []any(nil), Of(long, long)} {
		require.Equal(t, WireSize(v), len(AppendWire(nil, v, true)), "%#v", v)
	}
	for _, v := range []any{int64(5), int64(-1 << 62), 2.5, 3.0, []any{int64(1), 1.5}} {
		require.GreaterOrEqual(t, WireSize(v), len(AppendWire(nil, v, false)), "%#v", v)
	}
}

// TestDecodeWire_RepeatedKeys: a forged map that has a key twice decodes as
// Set would store it: the first position, the last value.
func TestDecodeWire_RepeatedKeys(t *testing.T) {
	t.Parallel()
	many := func(keys ...string) []byte {
		b := []byte{wireMap, byte(len(keys))}
		for i, k := range keys {
			b = append(b, byte(len(k)))
			b = append(b, k...)
			b = append(b, wireFalse)
			if i == len(keys)-1 {
				b[len(b)-1] = wireTrue // the last value differs
			}
		}
		return b
	}
	var twenty []string
	for i := range 20 {
		twenty = append(twenty, string(rune('a'+i)))
	}
	for _, tc := range []struct {
		name string
		keys []string
		want *Map
	}{
		{"Twice", []string{"k", "j", "k"}, Of("k", true, "j", false)},
		{"SameBit", []string{"axb", "ayb", "axb"}, Of("axb", true, "ayb", false)},
		{"SameBitOtherKeys", []string{"axb", "ayb", "azb"}, Of("axb", false, "ayb", false, "azb", true)},
		{"Indexed", append(slices.Clone(twenty), "b"), func() *Map {
			m := New(0)
			for _, k := range twenty {
				m.Set(k, false)
			}
			m.Set("b", true)
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeWire(many(tc.keys...))
			require.NoError(t, err)
			require.Equal(t, tc.want.Keys(), got.(*Map).Keys())
			for _, k := range tc.want.Keys() {
				w, _ := tc.want.Get(k)
				g, _ := got.(*Map).Get(k)
				require.Equal(t, w, g, k)
			}
		})
	}
}
