package dispatch

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// TestEncode_LargeValue: a record's JSON of a large value is what
// dict.Encode writes, allocated about twice (its pieces, then the join).
// Appended to one growing slice it was five times: a job's inputs with a
// 1 MiB body allocated 7 MB each.
func TestEncode_LargeValue(t *testing.T) {
	for _, n := range []int{0, 100, 40 << 10, 1 << 20} {
		v := dict.Of("request_body", strings.Repeat(`{"a":"xyz"},`, n/12), "n", int64(n))
		var want bytes.Buffer
		require.NoError(t, dict.Encode(&want, v, ""))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got := encode(v)
		runtime.ReadMemStats(&after)
		require.Equal(t, want.String(), string(got))
		// Besides the pieces and the join, dict.Encode's buffer, pooled,
		// which the race detector's sync.Pool often drops: grown anew,
		// up to about 128 KiB.
		require.LessOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(3*want.Len()+256<<10), "bytes allocated for %d", want.Len())
	}
}

// TestEncode_SmallValueTwoAllocations: a value written at once costs two
// allocations, the writer (which escapes) and the copy, as before pieces
// (review rev1: the pieces' slice made every small record's encoding one
// allocation more).
func TestEncode_SmallValueTwoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops dict.Encode's buffer: an allocation more")
	}
	v := dict.Of("status_code", int64(200), "body", "ok")
	var want bytes.Buffer
	require.NoError(t, dict.Encode(&want, v, ""))
	var got []byte
	allocs := testing.AllocsPerRun(100, func() { got = encode(v) })
	require.Equal(t, want.String(), string(got))
	require.LessOrEqual(t, allocs, 2.0)
}

// TestAppendJSONString_AsDictEncodes: a record's strings, escaped by the
// recorder eight bytes at a time, are the bytes dict.Encode writes, for
// random strings of printable ASCII, quotes, backslashes, control
// characters, valid and broken UTF-8 and U+2028/U+2029, at every length
// and so at every place of the eight-byte blocks, appended to a slice with
// and without room.
func TestAppendJSONString_AsDictEncodes(t *testing.T) {
	t.Parallel()
	pieces := []string{"a", "Z", " ", "~", "\x7f", "\"", "\\", "\\\"", "\n", "\r", "\t", "\x00", "\x1f", "é", "€", "𝄞",
		"\u2028", "\u2029", "\xff", "\xe2\x80", "\xf0\x9f", "\xc3", "</script>&", "abcdefgh", "0123456789"}
	rnd := rand.New(rand.NewPCG(3, 4))
	for n := range 50000 {
		var sb strings.Builder
		for range rnd.IntN(4 + n%40) {
			sb.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		s := sb.String()
		var want bytes.Buffer
		require.NoError(t, dict.Encode(&want, s, ""))
		prefix := []byte("x:")
		if n%2 == 1 {
			prefix = append(make([]byte, 0, 3), "x:"...)
		}
		require.Equal(t, "x:"+want.String(), string(appendJSONString(prefix, s)), "%q", s)
	}
}

// FuzzAppendJSONString: the recorder escapes a string as dict.Encode does.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text", `{"a":"b\"c"}`, "\x00\x1f\x7f", "é€𝄞\u2028", "\xff\xfe", "abcdefg\"hijklmn\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		if err := dict.Encode(&want, s, ""); err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != want.String() {
			t.Fatalf("appendJSONString(%q) = %q, dict.Encode %q", s, got, want.String())
		}
	})
}

// TestFinish_RecordDoesNotShareTheBody: a record's inputs hold a copy of
// the request's body (finish reads the body in place, without a string
// copy), so that the record is the same after the request's bytes change.
func TestFinish_RecordDoesNotShareTheBody(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"application/json", "text/plain", "application/x-www-form-urlencoded"} {
		p := bodyRun(4 << 10)
		p.req.Headers[len(p.req.Headers)-1][1] = ct
		r := p.finish(DefaultRunBodyLimit)
		want := bytes.Clone(r.Inputs)
		require.Contains(t, string(want), `"body":"[{\"id\":\"7fd1a60b`)
		for i := range p.req.Body {
			p.req.Body[i] = 'x'
		}
		require.Equal(t, string(want), string(r.Inputs), ct)
	}
}

// TestAppendJSONString_NoAllocations: escaping a text into room made for
// it allocates nothing, whatever its script or control bytes (review rev4:
// each run of non-ASCII or control bytes went through dict.AppendJSON, an
// allocation a word of a Cyrillic body).
func TestAppendJSONString_NoAllocations(t *testing.T) {
	for name, s := range map[string]string{
		"ascii":    strings.Repeat(`{"id":"abc","msg":"fix \"x\""} `, 50),
		"cyrillic": strings.Repeat(`{"сообщение":"исправить ошибку"} `, 50),
		"control":  strings.Repeat("a\x01", 500),
	} {
		buf := make([]byte, 0, 8*len(s)+2)
		require.Equal(t, string(dict.AppendJSON(nil, s, "")), string(appendJSONString(buf, s)), name)
		require.Zero(t, testing.AllocsPerRun(20, func() { appendJSONString(buf, s) }), name)
	}
}
