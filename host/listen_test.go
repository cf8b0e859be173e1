package host

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// loopbackNotice is the start of the line New logs when webhook URLs use a
// loopback host for an unspecified --listen.
const loopbackNotice = `msg="webhook URLs use a loopback address`

// TestConfig_PublicURLDefault checks the base of webhook URLs without
// --public-url: --listen's host (a loopback one for an unspecified host)
// with the port the function Listen bound.
func TestConfig_PublicURLDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		listen       string
		bound        string // the address Listen got; "" when not bound
		publicURL    string
		tls          bool
		want         string
		wantLoopback bool
	}{
		{name: "Default", listen: "127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{name: "PortZeroBound", listen: "127.0.0.1:0", bound: "127.0.0.1:40123", want: "http://127.0.0.1:40123"},
		{name: "NoHost", listen: ":8080", bound: "[::]:8080", want: "http://127.0.0.1:8080", wantLoopback: true},
		{name: "NoHostNotBound", listen: ":8080", want: "http://127.0.0.1:8080", wantLoopback: true},
		{name: "IPv4Unspecified", listen: "0.0.0.0:0", bound: "0.0.0.0:40123", want: "http://127.0.0.1:40123", wantLoopback: true},
		{name: "IPv6Unspecified", listen: "[::]:8080", tls: true, want: "https://[::1]:8080", wantLoopback: true},
		{name: "HostNameKept", listen: "localhost:0", bound: "127.0.0.1:40123", want: "http://localhost:40123"},
		{name: "PublicURLKept", listen: ":0", bound: "[::]:40123", publicURL: "https://hooks.example/", want: "https://hooks.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			c.Listen, c.PublicURL = tt.listen, tt.publicURL
			if tt.tls {
				c.TLSCert, c.TLSKey = "cert.pem", "key.pem"
			}
			if tt.bound != "" {
				addr, err := net.ResolveTCPAddr("tcp", tt.bound)
				require.NoError(t, err)
				c.bound = addr
			}
			require.NoError(t, c.resolve())
			require.Equal(t, tt.want, c.PublicURL)
			require.Equal(t, tt.wantLoopback, c.publicURLLoopback)
		})
	}
}

// TestServer_LoopbackPublicURLIsLogged checks that New says so when
// webhook URLs use a loopback host for an unspecified --listen, and how
// to give callers elsewhere a URL they reach.
func TestServer_LoopbackPublicURLIsLogged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		listen    string
		publicURL string
		wantURL   string
		wantLog   bool
	}{
		{name: "Unspecified", listen: "0.0.0.0:8080", wantURL: "http://127.0.0.1:8080", wantLog: true},
		{name: "NoHost", listen: ":8080", wantURL: "http://127.0.0.1:8080", wantLog: true},
		{name: "Loopback", listen: "127.0.0.1:8080", wantURL: "http://127.0.0.1:8080"},
		{name: "PublicURL", listen: ":8080", publicURL: "https://hooks.example", wantURL: "https://hooks.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs logBuffer
			// New does not listen: nothing is bound here.
			b := setup(t, captureLogs(&logs), func(c *Config) { c.Listen, c.PublicURL = tt.listen, tt.publicURL })
			require.Equal(t, tt.wantURL+"/webhooks/tok", b.srv.catalog.WebhookURL("tok"))
			if !tt.wantLog {
				require.NotContains(t, logs.String(), loopbackNotice)
				return
			}
			require.Contains(t, logs.String(), loopbackNotice)
			require.Contains(t, logs.String(), "--public-url sets the address they reach")
			require.Contains(t, logs.String(), "public_url="+tt.wantURL+" listen="+tt.listen)
		})
	}
}

// TestServer_ListenAndRoot binds 127.0.0.1:0 as `hookhost serve` does
// (Listen, then New) and serves: webhook URLs carry the port bound, the
// listener that serves the console redirects GET and HEAD / to it (the
// webhook-only listener answers 404), and the console's URL is logged.
func TestServer_ListenAndRoot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		adminListen string
	}{
		{name: "OneListener"},
		{name: "AdminListener", adminListen: "127.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs logBuffer
			var ln, adminLn net.Listener
			b := setup(t, captureLogs(&logs), func(c *Config) {
				c.Listen, c.AdminListen, c.PublicURL = "127.0.0.1:0", tt.adminListen, ""
				var err error
				ln, adminLn, err = Listen(c)
				require.NoError(t, err)
			})
			require.Equal(t, "http://"+ln.Addr().String()+"/webhooks/tok", b.srv.catalog.WebhookURL("tok"))

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- b.srv.Serve(ctx, ln, adminLn) }()
			stop := sync.OnceValue(func() error { cancel(); return <-done })
			t.Cleanup(func() { _ = stop() })

			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			root := func(method string, addr net.Addr) *http.Response {
				req, err := http.NewRequest(method, "http://"+addr.String()+"/", nil)
				require.NoError(t, err)
				resp, err := client.Do(req)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				return resp
			}
			console := ln
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp := root(method, ln.Addr())
				if adminLn != nil {
					require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s / on the webhook listener", method)
					resp = root(method, adminLn.Addr())
					console = adminLn
				}
				require.Equal(t, http.StatusFound, resp.StatusCode, method)
				require.Equal(t, "/console/", resp.Header.Get("Location"), method)
			}

			require.NoError(t, stop())
			require.Contains(t, logs.String(), "url=http://"+console.Addr().String()+"/console/\n")
			require.NotContains(t, logs.String(), loopbackNotice)
		})
	}
}
