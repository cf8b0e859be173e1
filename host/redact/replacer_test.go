package redact

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// stdReplacer is the strings.Replacer of the values' forms, the longest
// first: what a replacer must replace as.
func stdReplacer(values map[string]struct{}) *strings.Replacer {
	forms := map[string]struct{}{}
	for v := range values {
		for _, f := range encodings(v) {
			if len(f) >= MinLen {
				forms[f] = struct{}{}
			}
		}
	}
	sorted := slices.SortedFunc(maps.Keys(forms), func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	pairs := make([]string, 0, 2*len(sorted))
	for _, f := range sorted {
		pairs = append(pairs, f, Marker)
	}
	return strings.NewReplacer(pairs...)
}

// TestReplacer_FilterMissesNothing checks the replacer (its filter and
// automaton) against strings.Replacer of the forms, longest first: values of every length from MinLen, at every
// offset of texts, in their encodings, overlapping, and random texts.
func TestReplacer_FilterMissesNothing(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab/ %\"\\é0"
	random := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rnd.IntN(len(alphabet))])
		}
		return b.String()
	}
	for _, values := range [][]string{
		{"abcd"}, {"abcde"}, {"abcdef"}, {"abcdefg"}, {"hunter2-secret"}, {"a b/c\"d"},
		{"abcd", "a-much-longer-secret-value"}, {strings.Repeat("0123456789abcdef", 4), "s3cr3t/é"},
		{random(4), random(5), random(9)}, {random(6)}, {random(7)},
	} {
		set := map[string]struct{}{}
		for _, v := range values {
			set[v] = struct{}{}
		}
		r := newReplacer(set)
		require.NotNil(t, r)
		want := stdReplacer(set)
		var texts []string
		for _, v := range values {
			for _, f := range encodings(v) {
				for pre := range 9 {
					texts = append(texts, random(pre)+f+random(rnd.IntN(6)), random(pre)+f[:len(f)-1], f[1:]+random(pre))
				}
			}
		}
		for range 2000 {
			texts = append(texts, random(rnd.IntN(40)))
		}
		for _, text := range texts {
			require.Equal(t, want.Replace(text), r.replace(text), "values %q, text %q", values, text)
		}
	}
}

// BenchmarkCallerRedaction_LongToken: a record of a 1 MiB body of "a"s
// redacted for a caller whose Bearer token is 7,999 "a"s and a "b":
// strings.Replacer's search costs the text's length times the length of
// the key prefixes the text repeats (about 109 ms here; an open risk, see
// bench/README.md's twelfth session).
func BenchmarkCallerRedaction_LongToken(b *testing.B) {
	token := strings.Repeat("a", 7999) + "b"
	body := strings.Repeat("a", 1<<20)
	red := New().CallerRedaction([][2]string{{"Authorization", "Bearer " + token}})
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = red(body)
	}
}

// FuzzReplacer checks that no value (without brackets, which the marker
// holds) is left whole in a redacted text in any of its encodings, long
// values included (a value is repeated up to 256 times).
func FuzzReplacer(f *testing.F) {
	f.Add("secret-value", "other", uint8(0), "a secret-value and other")
	f.Add("ab/cd", "é\"x", uint8(100), strings.Repeat("ab/cd", 120)+"é\"xé\"x")
	f.Add("aaaa", "aaab", uint8(200), strings.Repeat("a", 1000)+"b")
	f.Add("0123456789abcdef/é", "\\x\"", uint8(40), "<0123456789abcdef/é>")
	f.Fuzz(func(t *testing.T, v1, v2 string, times uint8, text string) {
		if strings.ContainsAny(v1+v2, "[]") {
			return
		}
		v1 = strings.Repeat(v1, 1+int(times))
		values := map[string]struct{}{}
		for _, v := range []string{v1, v2} {
			if len(v) >= MinLen {
				values[v] = struct{}{}
			}
		}
		r := newReplacer(values)
		if r == nil {
			return
		}
		for _, in := range []string{text, text + v1 + text, v2 + v1 + v2, text + v1 + v1} {
			out := r.replace(in)
			for v := range values {
				for _, e := range encodings(v) {
					if len(e) >= MinLen && strings.Contains(out, e) {
						t.Fatalf("%q left whole in %q (from %q)", e, out, in)
					}
				}
			}
		}
	})
}
