package automations

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// requestHeadersMap is requestHeaders as it was written first (a map of
// lower-cased names), the reference the faster one must match.
func requestHeadersMap(pairs [][2]string) *dict.Map {
	m := dict.New(len(pairs))
	type seen struct{ name, val string }
	var groups []seen
	idx := map[string]int{}
	for _, p := range pairs {
		raw := strings.TrimLeft(p[0], " ")
		if raw == "" {
			continue
		}
		lower := strings.ToLower(raw)
		if i, ok := idx[lower]; ok {
			groups[i].val += ", " + p[1]
			continue
		}
		idx[lower] = len(groups)
		groups = append(groups, seen{name: headerName(lower), val: p[1]})
	}
	for _, g := range groups {
		if g.name == "cookie" || g.name == "proxy" {
			continue
		}
		m.Set(g.name, g.val)
	}
	return m
}

func TestRequestHeaders_SameAsReference(t *testing.T) {
	t.Parallel()
	names := []string{"Host", "host", "X-A", "x-a", "X_A", "x.a", " X-A", "  ", "", "Cookie", "PROXY", "X A",
		"X-Ä", "x-ä", "\u212a-a", "k-A", "\xff-X", "\xff-x", "ÉTÉ", "été", "ß", "SS", "Content-Type", "content-type"}
	rng := rand.New(rand.NewPCG(1, 2))
	cases := [][][2]string{nil}
	for _, n := range []int{1, 2, 5, 16, 17, 40} {
		for range 50 {
			var pairs [][2]string
			for i := range n {
				name := names[rng.IntN(len(names))]
				if rng.IntN(3) == 0 {
					name = fmt.Sprintf("X-H%02d", rng.IntN(30)) // many distinct names: past the linear search
				}
				pairs = append(pairs, [2]string{name, fmt.Sprint(i)})
			}
			cases = append(cases, pairs)
		}
	}
	for _, pairs := range cases {
		require.Equal(t, requestHeadersMap(pairs), requestHeaders(pairs, new(dict.Strings)), "%q", pairs)
	}
}

func TestCommonHeaderKey_IsTheKey(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Authorization",
		"Connection", "Content-Length", "Content-Type", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-Id"} {
		require.Equal(t, headerName(strings.ToLower(raw)), commonHeaderKey(raw), raw)
	}
	for _, raw := range []string{"host", "HOST", "user-agent", "X-Customheader", ""} {
		require.Empty(t, commonHeaderKey(raw), raw)
	}
}

// TestRequestHeaders_Allocs guards the cost of the guide's request
// headers: the map, its values' string headers (one array), and the keys
// in at most one more: here none for the common names and one for the two
// others together.
func TestRequestHeaders_Allocs(t *testing.T) {
	pairs := [][2]string{{"Host", "127.0.0.1:8080"}, {"User-Agent", "Go-http-client/1.1"}, {"Content-Length", "0"},
		{"X-Customheader", "true"}, {"X-Other.Header", "1"}, {"Accept-Encoding", "gzip"}}
	require.Equal(t, requestHeadersMap(pairs), requestHeaders(pairs, new(dict.Strings)))
	require.Equal(t, 3.0, testing.AllocsPerRun(100, func() { requestHeaders(pairs, new(dict.Strings)) }))
}

// TestWebhookInputs_Allocs guards the allocations of a webhook request's
// inputs for the guide's request (headers and query as the server passes
// them).
func TestWebhookInputs_Allocs(t *testing.T) {
	req := HTTPRequest{Method: "POST", ClientIP: "127.0.0.1",
		Headers: [][2]string{{"Host", "127.0.0.1:8080"}, {"User-Agent", "Go-http-client/1.1"}, {"Content-Length", "0"},
			{"X-Customheader", "true"}, {"Accept-Encoding", "gzip"}},
		Query: [][2]string{{"key", "value"}}}
	w := WebhookInfo{ID: "0193", Name: "Webhook Example", EventKATA: "automation/respond:\n  uri: cerb:automation:x", UpdatedAt: time.Unix(1735689600, 0)}
	require.Equal(t, "Webhook Example", WebhookInputs(req, w).Value("webhook__label"))
	require.Equal(t, 6.0, testing.AllocsPerRun(100, func() { WebhookInputs(req, w) }))
}

// TestWebhookInputs_BodyNotCopied: request_body is the request's body
// itself, not a copy of it (a body is up to --body-limit).
func TestWebhookInputs_BodyNotCopied(t *testing.T) {
	body := []byte(`{"commits":[{"id":"abc"}]}`)
	req := HTTPRequest{Method: "POST", Body: body}
	got, ok := WebhookInputs(req, WebhookInfo{}).Value("request_body").(string)
	require.True(t, ok)
	require.Equal(t, string(body), got)
	require.Same(t, &body[0], unsafe.StringData(got))
	require.Equal(t, 4.0, testing.AllocsPerRun(100, func() { WebhookInputs(req, WebhookInfo{}) }))
}

func TestParamName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"key", "key"},
		{"a_1", "a_1"},
		{"", ""},
		{"Key", "key"},
		{"a-b", "a_b"},
		{"a.b c", "abc"},
		{"ÄB", "b"},
		{"%", ""},
	} {
		require.Equal(t, tt.want, paramName(tt.in), tt.in)
	}
}

// requestParamsRegistered is requestParams with every name registered as
// PHP does (phpVars), the reference of its plain names' shortcut.
func requestParamsRegistered(query, form [][2]string) *dict.Map {
	m := dict.New(len(query) + len(form))
	for _, src := range [2][][2]string{query, form} {
		if len(src) == 0 {
			continue
		}
		vars := phpVars(src)
		for i, v := range vars.vals.Values() {
			m.Set(paramName(vars.vals.Keys()[i]), phpValue(v))
		}
	}
	return m
}

func TestRequestParams_SameAsRegistered(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b", "a1", "0", "12", "_", "", "A", "a b", "a.b", "a_b", "a[]", "a[x]", "x-y", "é", " a"}
	rng := rand.New(rand.NewPCG(3, 4))
	gen := func(n int) [][2]string {
		var pairs [][2]string
		for i := range n {
			pairs = append(pairs, [2]string{names[rng.IntN(len(names))], fmt.Sprint(i)})
		}
		return pairs
	}
	for _, n := range []int{0, 1, 2, 5, 20} {
		for range 200 {
			query, form := gen(n), gen(rng.IntN(4))
			require.Equal(t, requestParamsRegistered(query, form), requestParams(query, form, new(dict.Strings)), "%q %q", query, form)
		}
	}
}

// TestRequestHeaders_RepeatedLinesLinear: a header sent on many lines is
// joined once, not line by line. 20,000 lines of one header (120 KB, which
// --max-header-bytes admits) allocate a few hundred kilobytes; joined line
// by line they copied 800 MB (and 150,000 lines, about 24 s of CPU).
func TestRequestHeaders_RepeatedLinesLinear(t *testing.T) {
	const n = 20000
	pairs := make([][2]string, n)
	for i := range pairs {
		pairs[i] = [2]string{"X", "ab"}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := requestHeaders(pairs, new(dict.Strings))
	runtime.ReadMemStats(&after)
	require.Equal(t, strings.Repeat("ab, ", n-1)+"ab", m.Value("x"))
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "bytes allocated for %d lines", n)
}
