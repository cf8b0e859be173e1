package automations

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/templates/dict"
)

// TestWebhookData_Headers: webhook_data's RequestHeader keeps each name as
// sent, a repeated one's values joined with ", " in order; and joins them
// once, not line by line. 20,000 lines of one header (120 KB, which
// --max-header-bytes admits) allocate a few megabytes; joined line by line
// they copied 800 MB (as request_headers did:
// TestRequestHeaders_RepeatedLinesLinear).
func TestWebhookData_Headers(t *testing.T) {
	wd := WebhookData("hook", HTTPRequest{Headers: [][2]string{
		{"X-A", "1"}, {"x-a", "2"}, {"X-A", "3"}, {"X-B", "b"}, {"X-A", "4"},
	}, Body: []byte("body")})
	hs := wd.Value("RequestHeader").(*dict.Map)
	require.Equal(t, "1, 3, 4", hs.Value("X-A"))
	require.Equal(t, "2", hs.Value("x-a"))
	require.Equal(t, "b", hs.Value("X-B"))
	require.Equal(t, "hook", wd.Value("WebhookName"))
	require.Equal(t, "body", wd.Value("RequestBody"))

	const n = 20000
	pairs := make([][2]string, n)
	for i := range pairs {
		pairs[i] = [2]string{"X", "ab"}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	wd = WebhookData("hook", HTTPRequest{Headers: pairs})
	runtime.ReadMemStats(&after)
	require.Equal(t, strings.Repeat("ab, ", n-1)+"ab", wd.Value("RequestHeader").(*dict.Map).Value("X"))
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "bytes allocated for %d lines", n)
}

// compactJobInputs is a job record's inputs as a durable 202 writes them
// (CompactsRequestBody): a deep copy without webhook_data's RequestBody
// when the compaction applies, else inputs itself.
func compactJobInputs(inputs *dict.Map) *dict.Map {
	if _, ok := CompactsRequestBody(inputs); !ok {
		return inputs
	}
	c := inputs.Clone()
	c.Value("webhook_data").(*dict.Map).Delete("RequestBody")
	return c
}

// TestCompactJobInputs: a job record's inputs hold the body once, and
// ExpandJobInputs gives back the inputs the run had, for every kind of
// body; a multipart body (request_body empty) keeps its RequestBody, and
// inputs stored before (with RequestBody) are read as they are. The inputs
// given are not modified: they share their values with the real inputs.
func TestCompactJobInputs(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		compacted               bool
	}{
		{"json", "application/json", `{"x":1}`, true},
		{"form", "application/x-www-form-urlencoded", "a=1&b=2", true},
		{"raw bytes", "application/octet-stream", "\x00\xff\xfe", true},
		{"multipart", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n", false},
		{"empty", "application/json", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := HTTPRequest{Method: "POST", Path: "/x", Headers: [][2]string{{"Content-Type", tt.contentType}}, Body: []byte(tt.body)}
			inputs := WebhookInputs(req, WebhookInfo{ID: "w", Name: "hook"})
			inputs.Set("webhook_data", WebhookData("hook", req))
			// What a job stored whole gave its run: the inputs after a
			// round trip through their JSON (which turns bytes that are
			// not UTF-8 into U+FFFD, compacted or not).
			whole, err := encodeJSON(inputs)
			require.NoError(t, err)
			v, err := dict.DecodeJSON(whole)
			require.NoError(t, err)
			want, err := encodeJSON(v)
			require.NoError(t, err)

			compact := compactJobInputs(inputs)
			stored, err := encodeJSON(compact)
			require.NoError(t, err)
			require.Equal(t, tt.compacted, !compact.Value("webhook_data").(*dict.Map).Has("RequestBody"))
			// The inputs it was given (which share their values with the
			// real ones) are left as they were.
			given, err := encodeJSON(inputs)
			require.NoError(t, err)
			require.Equal(t, string(whole), string(given))
			if tt.compacted {
				require.Equal(t, 1, strings.Count(string(stored), mustJSON(t, tt.body)), "%s", stored)
			}

			v, err = dict.DecodeJSON(stored)
			require.NoError(t, err)
			read := v.(*dict.Map)
			ExpandJobInputs(read)
			got, err := encodeJSON(read)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))

			// Inputs stored whole are read unchanged.
			v, err = dict.DecodeJSON(whole)
			require.NoError(t, err)
			ExpandJobInputs(v.(*dict.Map))
			got, err = encodeJSON(v)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		})
	}
}

// encodeJSON is v as dict.Encode writes it, compact.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	err := dict.Encode(&buf, v, "")
	return bytes.TrimRight(buf.Bytes(), "\n"), err
}

func mustJSON(t *testing.T, s string) string {
	t.Helper()
	b, err := encodeJSON(s)
	require.NoError(t, err)
	return string(b)
}
