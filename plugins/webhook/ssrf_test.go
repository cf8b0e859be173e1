package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// fetchScript fetches the caller's url: and returns its body, or the
// error of http.request.
const fetchScript = `start:
  http.request:
    output: r
    inputs:
      url: {{url}}
    on_error:
      return:
        error: {{r.error}}
  return:
    body: {{r.body}}
`

// loopbackServer starts a server on ip (a 127.0.0.0/8 address) and counts
// its requests.
func loopbackServer(t *testing.T, ip string, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	require.NoError(t, err)
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestWebhook_PolicyNetworksStayWithTheirAutomation runs two automations
// on one extension (one HTTP client): "opener", whose policy opens
// 127.0.0.1 and 127.0.0.2, and "other", which fetches whatever URL its
// caller gives. Whatever the opener did first, the other never reaches the
// opener's networks: the guard refuses loopback addresses on this server.
func TestWebhook_PolicyNetworksStayWithTheirAutomation(t *testing.T) {
	t.Parallel()
	const (
		allowHTTP = "commands:\n  http.request:\n    allow: yes\n"
		opens     = allowHTTP + "settings:\n  http_allow_networks@list:\n    127.0.0.1/32\n    127.0.0.2/32\n"
	)
	tests := []struct {
		name   string
		opener string // the URL the opener fetches first: "redirect" or "direct"
		other  string // the URL the other fetches: "redirect" or "direct"
	}{
		{name: "RedirectThenDirect", opener: "redirect", other: "direct"},
		{name: "DirectThenDirect", opener: "direct", other: "direct"},
		{name: "DirectThenRedirect", opener: "direct", other: "redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			internal, hits := loopbackServer(t, "127.0.0.2", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "inside") })
			public, _ := loopbackServer(t, "127.0.0.1", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, internal.URL, http.StatusFound)
			})
			urls := map[string]string{"redirect": public.URL, "direct": internal.URL}
			x := newExtension(Options{})
			run := func(name, policy, url string) map[string]string {
				t.Helper()
				i := inv(name, fetchScript, policy)
				i.Inputs, _ = json.Marshal(map[string]string{"url": url})
				out, err := x.Run(context.Background(), i, nil)
				require.NoError(t, err)
				var ret map[string]string
				require.NoError(t, json.Unmarshal(out.Return, &ret), "%s", out.Return)
				return ret
			}

			require.Equal(t, map[string]string{"body": "inside"}, run("t.opener", opens, urls[tt.opener]))
			got := run("t.other", allowHTTP, urls[tt.other])
			require.Contains(t, got["error"], "refused: loopback addresses are blocked")
			require.Equal(t, int32(1), hits.Load(), "only the opener reached the internal host")
			// The opener keeps its own (pooled) access.
			require.Equal(t, map[string]string{"body": "inside"}, run("t.opener", opens, internal.URL))
		})
	}
}
