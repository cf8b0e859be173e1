package dict

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestDecodeJSON_Values(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want any
	}{
		{`1`, int64(1)},
		{`-0`, int64(0)},
		{`1.5`, 1.5},
		{`1e3`, 1000.0},
		{`9223372036854775808`, 9223372036854775808.0},
		{`"a\"b\\c\/d\u00e9\ud83d\ude00\n"`, "a\"b\\c/dé😀\n"},
		{`"\ud800"`, "\ufffd"},
		{`[true,false,null,[]]`, []any{true, false, nil, []any{}}},
		{` { "b" : 1 , "a" : { } , "b" : 2 } `, Of("b", int64(2), "a", New(0))},
	}
	for _, tt := range tests {
		got, err := DecodeJSON([]byte(tt.in))
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{``, ` `, `{`, `[1,]`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `-`, `1e`, `"\x"`, "\"a\x01\"", `tru`, `nul`, `[1 2]`, `{"a":1,}`, `"\u12"`, `1 2`} {
		_, err := DecodeJSON([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

// FuzzDecodeJSON checks the decoder against encoding/json: the same inputs
// are accepted, and accepted values re-encode to the same JSON.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",{"b":null}],"c":true}`, `"\u00e9"`, `[]`, `-1.5e-3`, `{"":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeJSON(b)
		var ref any
		refErr := json.Unmarshal(b, &ref)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("DecodeJSON err=%v, encoding/json err=%v for %q", err, refErr, b)
		}
		if err != nil {
			return
		}
		var a, c bytes.Buffer
		require.NoError(t, Encode(&a, got, ""))
		require.NoError(t, Encode(&c, FromGo(ref), ""))
		var ga, gc any
		if err := json.Unmarshal(a.Bytes(), &ga); err != nil {
			t.Fatalf("re-encoded JSON is invalid: %s: %v", a.Bytes(), err)
		}
		require.NoError(t, json.Unmarshal(c.Bytes(), &gc))
		require.Equal(t, gc, ga, "same value as encoding/json for %q", b)
	})
}

func BenchmarkDecodeJSON(b *testing.B) {
	in := []byte(`{"request_method":"POST","request_path":"","request_headers":{"host":"127.0.0.1:8080","user_agent":"curl/7.88.1","accept":"*/*","x_customheader":"true","content_type":"application/json"},"request_params":{"key":"value"},"request_body":"{\"a\":1}","request_client_ip":"127.0.0.1","webhook_id":"0193","webhook_name":"Webhook Example"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeJSON(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecodeJSON_Containers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"RepeatedKeyFirstPlaceLastValue", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{"RepeatedKeyLarge", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"a":0}`, `{"a":0,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}`},
		{"Nested", `{"l":[1,[2,{"x":[3,4]}],{"y":{}}],"m":{"n":[]},"z":"s"}`, `{"l":[1,[2,{"x":[3,4]}],{"y":{}}],"m":{"n":[]},"z":"s"}`},
		{"EscapedAndPlainStrings", `["a\/b","c","\u00e9",{"k\n":"v"}]`, `["a/b","c","é",{"k\n":"v"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, decode := range []func(string) (any, error){
				func(s string) (any, error) { return DecodeJSON([]byte(s)) },
				DecodeJSONString,
			} {
				v, err := decode(tt.in)
				require.NoError(t, err)
				var b bytes.Buffer
				require.NoError(t, Encode(&b, v, ""))
				require.Equal(t, tt.want, b.String())
			}
		})
	}
}

// TestDecodeJSONString_SharesText checks that DecodeJSONString does not
// copy its text: a string without escapes lies in it, text that is not
// JSON is not copied (measured: not in parallel).
func TestDecodeJSONString_SharesText(t *testing.T) {
	in := `{"k":["plain","esc\n"]}`
	v, err := DecodeJSONString(in)
	require.NoError(t, err)
	l := v.(*Map).Value("k").([]any)
	plain, esc := l[0].(string), l[1].(string)
	base := uintptr(unsafe.Pointer(unsafe.StringData(in)))
	within := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return p >= base && p+uintptr(len(s)) <= base+uintptr(len(in))
	}
	require.True(t, within(plain), "an unescaped string shares the text")
	require.False(t, within(esc), "an escaped string is built")
	require.Equal(t, "esc\n", esc)

	csv := strings.Repeat("id,name\n", 1000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = DecodeJSONString(csv)
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(len(csv)/4), "CSV text copied")
}

// TestDecodeJSON_ScratchDoubles checks the bytes decoding a long array
// allocates: its list and the decoder's scratch list, which doubles as it
// grows (less than 4 slots an item), not the five times its length append
// allocates (about 100 bytes an item in all). The items, true, are not
// boxed; n, a power of two, fills the scratch list. It measures the
// process's allocations, so it does not run in parallel.
func TestDecodeJSON_ScratchDoubles(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocations")
	}
	const n = 1 << 17
	in := "[" + strings.Repeat("true,", n-1) + "true]"
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v, err := DecodeJSONString(in)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Len(t, v, n)
	perItem := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("%.1f bytes allocated an item", perItem)
	require.Less(t, perItem, float64(16+4*16), "a slot and less than four of scratch")
}

// TestReplaceInvalid: replaceInvalid gives what string([]rune(s)) gives,
// on random bytes around multi-byte characters.
func TestReplaceInvalid(t *testing.T) {
	pieces := []string{"a", "é", "€", "𝄞", "\xe2\x82", "\xf0\x9d", "\x80", "\xff", "\xc3", "\xed\xa0\x80"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := sb.String()
		if got, want := replaceInvalid(s), string([]rune(s)); got != want {
			t.Fatalf("replaceInvalid(%q) = %q, want %q", s, got, want)
		}
	}
}
