package templates

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// TestParseQuery_Appends: parse_str's appends (a[]=) take the next index
// as PHP gives it, with explicit integer keys, negative keys and nested
// lists in between, the same as a scan of the keys at every append
// (oldParseQuery, the code before hunt2's fix) on random queries; and an
// append reads the index kept for its map instead of scanning the keys
// again (170,000 appends took 200 s of CPU).
func TestParseQuery_Appends(t *testing.T) {
	for _, tt := range []struct{ query, want string }{
		{"a[]=1&a[]=2&a[5]=x&a[]=3", `{"a":{"0":"1","1":"2","5":"x","6":"3"}}`},
		{"a[-3]=x&a[]=1", `{"a":{"-3":"x","0":"1"}}`},
		{"a[x]=1&a[]=2&a[07]=3&a[]=4", `{"a":{"x":"1","0":"2","07":"3","1":"4"}}`},
		{"a[][b]=1&a[][b]=2&a[0][]=3", `{"a":{"0":{"b":"1","0":"3"},"1":{"b":"2"}}}`},
	} {
		require.Equal(t, tt.want, jsonOf(t, parseQuery(tt.query)), tt.query)
	}
	rnd := rand.New(rand.NewPCG(7, 8))
	keys := []string{"", "", "", "0", "1", "3", "-1", "x", "07", "9"}
	for range 3000 {
		var pairs []string
		for range rnd.IntN(12) {
			k := "a"
			for range 1 + rnd.IntN(3) {
				k += "[" + keys[rnd.IntN(len(keys))] + "]"
			}
			pairs = append(pairs, k+"="+strconv.Itoa(rnd.IntN(10)))
		}
		q := strings.Join(pairs, "&")
		require.Equal(t, jsonOf(t, oldParseQuery(q)), jsonOf(t, parseQuery(q)), q)
	}

	m := dict.New(2)
	m.Set("0", "x")
	setPath(m, []string{""}, "y", map[*dict.Map]int{m: 100})
	require.Equal(t, "y", m.Value("100"), "the kept index, not a scan of the keys")
}

func jsonOf(t *testing.T, m *dict.Map) string {
	t.Helper()
	b, err := m.MarshalJSON()
	require.NoError(t, err)
	return string(b)
}

// oldParseQuery is parseQuery as it was before the kept indexes: every
// append scans its map's keys (nextIndex).
func oldParseQuery(s string) *dict.Map {
	root := dict.New(4)
	queryPaths(s, func(path []string, v string) {
		cur := root
		for i, p := range path {
			if p == "" {
				p = fmt.Sprint(nextIndex(cur))
			}
			if i == len(path)-1 {
				cur.Set(p, v)
				return
			}
			next, ok := cur.Value(p).(*dict.Map)
			if !ok {
				next = dict.New(2)
				cur.Set(p, next)
			}
			cur = next
		}
	})
	return root
}
