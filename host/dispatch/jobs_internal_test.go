package dispatch

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/store"
)

// TestWebhookData_Headers: webhook_data's RequestHeader keeps each name as
// sent, a repeated one's values joined with ", " in order; and joins them
// once, not line by line. 20,000 lines of one header (120 KB, which
// --max-header-bytes admits) allocate a few megabytes; joined line by line
// they copied 800 MB (as request_headers did: TestRequestHeaders_RepeatedLinesLinear).
func TestWebhookData_Headers(t *testing.T) {
	w := &store.Webhook{Name: "hook"}
	wd := webhookData(w, automations.HTTPRequest{Headers: [][2]string{
		{"X-A", "1"}, {"x-a", "2"}, {"X-A", "3"}, {"X-B", "b"}, {"X-A", "4"},
	}, Body: []byte("body")})
	hs := wd.Value("RequestHeader").(interface{ Value(string) any })
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
	wd = webhookData(w, automations.HTTPRequest{Headers: pairs})
	runtime.ReadMemStats(&after)
	require.Equal(t, strings.Repeat("ab, ", n-1)+"ab", wd.Value("RequestHeader").(interface{ Value(string) any }).Value("X"))
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "bytes allocated for %d lines", n)
}
