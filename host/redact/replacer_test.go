package redact

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReplacer_FilterMissesNothing checks the replacer's filter against
// strings.Replacer alone: values of every length from MinLen, at every
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
			require.Equal(t, r.rep.Replace(text), r.replace(text), "values %q, text %q", values, text)
		}
	}
}
