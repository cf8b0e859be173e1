package templates

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// TestVObjectParams_AsBefore: the parameter state machine with builders
// gives what it gave a byte at a time (oldVObjectParams) on random ASCII
// parameter texts of keys, values, quotes, escapes and separators; past
// ASCII it keeps the bytes, where the old one did not.
func TestVObjectParams_AsBefore(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 9))
	const alphabet = `ab=;"\\x=;`
	for range 20000 {
		b := make([]byte, rnd.IntN(24))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		s := string(b)
		require.Equal(t, jsonOf(t, oldVObjectParams(s)), jsonOf(t, vobjectParams(s)), "%q", s)
	}
	// Bytes past ASCII are kept as they are, as PHP's string appends keep
	// them: the old machine appended string(c) of each byte, which turned
	// "é" into "Ã©" (review3).
	for _, tt := range []struct{ in, want string }{
		{"CN=é", `{"CN":"é"}`},
		{`CN="é;x"`, `{"CN":"é;x"}`},
		{`CN=\é`, `{"CN":"é"}`},
		{"é=1", `{"é":"1"}`},
	} {
		require.Equal(t, tt.want, jsonOf(t, vobjectParams(tt.in)), "%q", tt.in)
	}
}

// TestVObject_LongInputsLinear: a long parameter key, a long value and a
// line folded many times are built once (hunt2: grown a byte or a fold at
// a time, 600,000 bytes of key took 47 s of CPU and 349,000 folds 14 s):
// bytes allocated stay a small multiple of the input, where the old way
// copied n²/2. The functions are measured alone: fnVObjectParse's regexp
// split of the lines allocates several times more under -race.
func TestVObject_LongInputsLinear(t *testing.T) {
	const n = 100000
	long := strings.Repeat("a", n)
	folds := []string{"BEGIN:A", "X:"}
	for range n {
		folds = append(folds, " x")
	}
	folds = append(folds, "END:A")
	for _, tt := range []struct {
		name  string
		input int
		run   func(t *testing.T)
	}{
		{"ParamKey", n, func(t *testing.T) {
			require.Equal(t, 1, vobjectParams(long).Len())
		}},
		{"ParamValue", n, func(t *testing.T) {
			require.Equal(t, long, vobjectParams("k="+long).Value("k"))
		}},
		{"Folded", 3 * n, func(t *testing.T) {
			i, root := 0, vobjectNode()
			vobjectExtract(folds, &i, root, 0)
			a := root.Value("children").(*dict.Map).Value("A").([]any)[0].(*dict.Map)
			props := a.Value("props").(*dict.Map)
			require.Equal(t, strings.Repeat("x", n), props.Value("X").([]any)[0].(*dict.Map).Value("value"))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			tt.run(t)
			runtime.ReadMemStats(&after)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32*tt.input), "bytes allocated for %d input bytes", tt.input)
		})
	}
}

// oldVObjectParams is vobjectParams as it was: the key and the value grown
// a byte at a time.
func oldVObjectParams(s string) *dict.Map {
	out := dict.New(2)
	state, key, cur, haveCur := "KEY", "", "", false
	appendCur := func(c byte) {
		if haveCur && cur != "" {
			out.Set(cur, toStr(out.Value(cur))+string(c))
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case "KEY":
			switch c {
			case '=':
				out.Set(key, "")
				cur, haveCur, key, state = key, true, "", "VALUE"
			case ';':
				out.Set(key, "")
				cur, haveCur, key = "", false, ""
			default:
				key += string(c)
			}
		case "VALUE":
			switch c {
			case ';':
				cur, haveCur, state = "", false, "KEY"
			case '"':
				state = "QUOTED_VALUE"
			case '\\':
				state = "ESCAPE_VALUE"
			default:
				appendCur(c)
			}
		case "QUOTED_VALUE":
			switch c {
			case '"':
				state = "VALUE"
			case '\\':
				state = "QUOTED_ESCAPE_VALUE"
			default:
				appendCur(c)
			}
		case "ESCAPE_VALUE":
			appendCur(c)
			state = "VALUE"
		case "QUOTED_ESCAPE_VALUE":
			appendCur(c)
			state = "QUOTED_VALUE"
		}
	}
	if state == "KEY" && key != "" {
		out.Set(key, "")
	}
	return out
}
