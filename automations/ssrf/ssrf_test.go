package ssrf_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/ssrf"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	metadata := []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}
	tests := []struct {
		addr string
		opts ssrf.Options
		kind string // "" when allowed
	}{
		{addr: "93.184.215.14"},
		{addr: "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		{addr: "8.8.8.8"},
		{addr: "127.0.0.1", kind: "loopback"},
		{addr: "127.255.255.254", kind: "loopback"},
		{addr: "::1", kind: "loopback"},
		{addr: "::ffff:127.0.0.1", kind: "loopback"},
		{addr: "64:ff9b::7f00:1", kind: "loopback"},
		{addr: "10.1.2.3", kind: "private"},
		{addr: "172.16.0.1", kind: "private"},
		{addr: "172.31.255.255", kind: "private"},
		{addr: "172.32.0.1"},
		{addr: "192.168.1.1", kind: "private"},
		{addr: "fd12:3456::1", kind: "private"},
		{addr: "fc00::1", kind: "private"},
		{addr: "169.254.1.1", kind: "link-local"},
		{addr: "fe80::1", kind: "link-local"},
		{addr: "fe80::1%eth0", kind: "link-local"},
		{addr: "169.254.169.254", kind: "cloud metadata"},
		{addr: "::ffff:169.254.169.254", kind: "cloud metadata"},
		{addr: "fd00:ec2::254", kind: "cloud metadata"},
		{addr: "100.100.100.200", kind: "cloud metadata"},
		{addr: "100.64.0.1", kind: "shared (CGNAT)"},
		{addr: "100.127.255.255", kind: "shared (CGNAT)"},
		{addr: "100.128.0.1"},
		{addr: "0.0.0.0", kind: "unspecified"},
		{addr: "::", kind: "unspecified"},
		{addr: "224.0.0.1", kind: "multicast"},
		{addr: "ff02::1", kind: "multicast"},
		{addr: "255.255.255.255", kind: "reserved"},
		{addr: "::7f00:1", kind: "reserved"},
		{addr: "::ffff:0:7f00:1", kind: "reserved"},   // IPv4-translated (SIIT)
		{addr: "64:ff9b:1::7f00:1", kind: "reserved"}, // local-use NAT64
		{addr: "64:ff9b::a9fe:a9fe", kind: "cloud metadata"},
		{addr: "64:ff9b::808:808"},
		{addr: "2002:7f00:1::1", kind: "loopback"}, // 6to4 of 127.0.0.1
		{addr: "2002:c0a8:101::1", kind: "private"},
		{addr: "2002:a9fe:a9fe::", kind: "cloud metadata"},
		{addr: "2002:808:808::1"},
		{addr: "fe80::", kind: "link-local"},
		{addr: "febf:ffff::1", kind: "link-local"},
		{addr: "fec0::1", kind: "private"}, // site-local (deprecated)
		{addr: "fc00::", kind: "private"},
		{addr: "fdff:ffff::1", kind: "private"},
		{addr: "fbff::1"},
		{addr: "::ffff:10.0.0.1", kind: "private"},
		{addr: "::ffff:0.0.0.0", kind: "unspecified"},
		{addr: "0.1.2.3", kind: "unspecified"},
		{addr: "100.63.255.255"},
		{addr: "169.254.170.2", kind: "cloud metadata"},
		{addr: "169.254.170.23", kind: "cloud metadata"},
		{addr: "fd00:ec2::23", kind: "cloud metadata"},
		{addr: "169.254.0.23", kind: "cloud metadata"},
		{addr: "168.63.129.16", kind: "cloud metadata"},
		{addr: "168.63.129.17"},
		{addr: "192.0.0.192", kind: "reserved"},
		{addr: "192.0.2.1", kind: "reserved"},
		{addr: "198.51.100.1", kind: "reserved"},
		{addr: "203.0.113.255", kind: "reserved"},
		{addr: "198.18.0.1"}, // fake-IP DNS answers from 198.18/15: open
		{addr: "198.19.255.254"},
		{addr: "192.88.99.1", kind: "reserved"},
		{addr: "2001::1", kind: "reserved"},
		{addr: "2001:10::1", kind: "reserved"},
		{addr: "2001:db8::1", kind: "reserved"},
		{addr: "100::1", kind: "reserved"},
		{addr: "2001:4860::8888"},
		// AllowPrivate opens the private kinds only.
		{addr: "127.0.0.1", opts: ssrf.Options{AllowPrivate: true}},
		{addr: "10.0.0.1", opts: ssrf.Options{AllowPrivate: true}},
		{addr: "fe80::1", opts: ssrf.Options{AllowPrivate: true}},
		{addr: "100.64.0.1", opts: ssrf.Options{AllowPrivate: true}},
		{addr: "169.254.169.254", opts: ssrf.Options{AllowPrivate: true}, kind: "cloud metadata"},
		{addr: "169.254.170.23", opts: ssrf.Options{AllowPrivate: true}, kind: "cloud metadata"},
		{addr: "169.254.0.23", opts: ssrf.Options{AllowPrivate: true}, kind: "cloud metadata"},
		{addr: "fd00:ec2::23", opts: ssrf.Options{AllowPrivate: true}, kind: "cloud metadata"},
		{addr: "192.0.2.1", opts: ssrf.Options{AllowPrivate: true}, kind: "reserved"},
		{addr: "0.0.0.0", opts: ssrf.Options{AllowPrivate: true}, kind: "unspecified"},
		{addr: "224.0.0.1", opts: ssrf.Options{AllowPrivate: true}, kind: "multicast"},
		// Allow opens what it lists, whatever its kind.
		{addr: "127.0.0.1", opts: ssrf.Options{Allow: loopback}},
		{addr: "::ffff:127.0.0.1", opts: ssrf.Options{Allow: loopback}},
		{addr: "64:ff9b::7f00:1", opts: ssrf.Options{Allow: loopback}},
		{addr: "2002:7f00:1::1", opts: ssrf.Options{Allow: loopback}},
		{addr: "2002:7f00:1::1", opts: ssrf.Options{AllowPrivate: true}},
		{addr: "::1", opts: ssrf.Options{Allow: loopback}, kind: "loopback"},
		{addr: "10.0.0.1", opts: ssrf.Options{Allow: loopback}, kind: "private"},
		{addr: "169.254.169.254", opts: ssrf.Options{Allow: metadata}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.addr, tt.opts), func(t *testing.T) {
			t.Parallel()
			err := tt.opts.Check(netip.MustParseAddr(tt.addr))
			if tt.kind == "" {
				require.NoError(t, err)
				return
			}
			var be *ssrf.BlockedError
			require.ErrorAs(t, err, &be)
			require.Equal(t, tt.kind, be.Kind)
		})
	}
}

func TestBlockedError_Message(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *ssrf.BlockedError
		want string
	}{
		{&ssrf.BlockedError{Addr: netip.MustParseAddr("127.0.0.1"), Kind: "loopback"},
			"http.request to 127.0.0.1 refused: loopback addresses are blocked (allow them with --allow-private-requests or the policy setting http_allow_networks)"},
		{&ssrf.BlockedError{Host: "localhost", Addr: netip.MustParseAddr("::1"), Kind: "loopback"},
			"http.request to localhost (::1) refused: loopback addresses are blocked (allow them with --allow-private-requests or the policy setting http_allow_networks)"},
		{&ssrf.BlockedError{Addr: netip.MustParseAddr("169.254.169.254"), Kind: "cloud metadata"},
			"http.request to 169.254.169.254 refused: cloud metadata addresses are blocked (allow them with the policy setting http_allow_networks)"},
		{&ssrf.BlockedError{Host: "0x7f.1", Addr: netip.MustParseAddr("127.0.0.1"), Kind: "loopback"},
			"http.request to 0x7f.1 (127.0.0.1) refused: loopback addresses are blocked (allow them with --allow-private-requests or the policy setting http_allow_networks)"},
		{&ssrf.BlockedError{Host: "metadata.google.internal", Kind: "cloud metadata"},
			"http.request to metadata.google.internal refused: cloud metadata addresses are blocked (allow them with the policy setting http_allow_networks)"},
		{&ssrf.BlockedError{Host: "1.2.3.4.5", Kind: ssrf.KindMalformed},
			"http.request to 1.2.3.4.5 refused: a host name made of numbers must be an IPv4 address"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.err.Error())
	}
}

// allowLoopback allows the httptest servers of this machine.
var allowLoopback = ssrf.Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

func hello(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") }

func get(t *testing.T, c *http.Client, u string) (string, error) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestClient_Loopback(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(hello))
	t.Cleanup(srv.Close)

	t.Run("RefusedByDefault", func(t *testing.T) {
		t.Parallel()
		_, err := get(t, ssrf.NewClient(ssrf.Options{}), srv.URL)
		var be *ssrf.BlockedError
		require.ErrorAs(t, err, &be)
		require.Equal(t, netip.MustParseAddr("127.0.0.1"), be.Addr)
		require.Equal(t, "loopback", be.Kind)
		require.Empty(t, be.Host)
		require.Contains(t, err.Error(), "http.request to 127.0.0.1 refused: loopback addresses are blocked (allow them with --allow-private-requests or the policy setting http_allow_networks)")
	})

	t.Run("RefusedTransport", func(t *testing.T) {
		t.Parallel()
		c := &http.Client{Transport: ssrf.NewTransport(ssrf.Options{})}
		_, err := get(t, c, srv.URL)
		var be *ssrf.BlockedError
		require.ErrorAs(t, err, &be)
	})

	t.Run("AllowedByPrefix", func(t *testing.T) {
		t.Parallel()
		got, err := get(t, ssrf.NewClient(allowLoopback), srv.URL)
		require.NoError(t, err)
		require.Equal(t, "hello", got)
	})

	t.Run("AllowedByAllowPrivate", func(t *testing.T) {
		t.Parallel()
		got, err := get(t, ssrf.NewClient(ssrf.Options{AllowPrivate: true}), srv.URL)
		require.NoError(t, err)
		require.Equal(t, "hello", got)
	})

	t.Run("HostnameResolvingToLoopback", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(srv.URL)
		require.NoError(t, err)
		u.Host = "localhost:" + u.Port()
		_, err = get(t, ssrf.NewClient(ssrf.Options{Resolver: noDNS()}), u.String())
		var be *ssrf.BlockedError
		require.ErrorAs(t, err, &be)
		require.True(t, be.Addr.IsLoopback(), "refused %v", be.Addr)
		require.Equal(t, "localhost", be.Host)
		require.Contains(t, err.Error(), "http.request to localhost (")
	})
}

func TestClient_Redirects(t *testing.T) {
	t.Parallel()
	// Only 127.0.0.1 is allowed; the redirect targets are refused before
	// any connection is attempted. The metadata name resolves to this
	// server, so that a failing guard reaches nothing else.
	only := ssrf.Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Resolver: fakeDNS(map[string][]netip.Addr{"metadata.google.internal": {netip.MustParseAddr("127.0.0.1")}})}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", hello)
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/twice", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hello", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	mux.HandleFunc("/metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("http://metadata.google.internal:%d/hello", port), http.StatusFound)
	})
	mux.HandleFunc("/other-loopback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("http://127.0.0.2:%d/hello", port), http.StatusFound)
	})

	tests := []struct {
		name string
		path string
		addr string // refused address, or "" when the request succeeds
		kind string // refused kind
		err  string
	}{
		{name: "ToAllowedAddress", path: "/twice"},
		{name: "ToCloudMetadataName", path: "/metadata", addr: "invalid IP", kind: ssrf.KindMetadata},
		{name: "ToOtherLoopbackAddress", path: "/other-loopback", addr: "127.0.0.2", kind: ssrf.KindLoopback},
		{name: "TooMany", path: "/loop", err: "stopped after 10 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := get(t, ssrf.NewClient(only), srv.URL+tt.path)
			switch {
			case tt.addr != "":
				var be *ssrf.BlockedError
				require.ErrorAs(t, err, &be)
				require.Equal(t, tt.addr, be.Addr.String())
				require.Equal(t, tt.kind, be.Kind)
			case tt.err != "":
				require.ErrorContains(t, err, tt.err)
			default:
				require.NoError(t, err)
				require.Equal(t, "hello", got)
			}
		})
	}
}

func TestClient_ResponseCap(t *testing.T) {
	t.Parallel()
	const limit = 1000
	payload := bytes.Repeat([]byte("x"), 2*limit)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(bytes.Repeat([]byte{0}, 1<<20))
	require.NoError(t, zw.Close())

	mux := http.NewServeMux()
	mux.HandleFunc("/exact", func(w http.ResponseWriter, _ *http.Request) { w.Write(payload[:limit]) })
	mux.HandleFunc("/declared", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		w.Write(payload)
	})
	mux.HandleFunc("/streamed", func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i < len(payload); i += 100 {
			w.Write(payload[i : i+100])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz.Bytes())
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	opts := allowLoopback
	opts.MaxResponseBytes = limit
	c := ssrf.NewClient(opts)

	tests := []struct {
		name    string
		path    string
		read    int  // bytes read before the error
		refused bool // refused before the body is read
	}{
		{name: "DeclaredLength", path: "/declared", refused: true},
		{name: "Streamed", path: "/streamed", read: limit},
		{name: "GzipBomb", path: "/gzip", read: limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := c.Get(srv.URL + tt.path)
			var tl *ssrf.TooLargeError
			if tt.refused {
				require.ErrorAs(t, err, &tl)
				require.Equal(t, int64(limit), tl.Limit)
				return
			}
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.ErrorAs(t, err, &tl)
			require.Len(t, b, tt.read)
			require.Equal(t, "http.request: response body exceeds the limit of 1000 bytes", err.Error())
			// The error sticks.
			_, err = resp.Body.Read(make([]byte, 1))
			require.True(t, errors.As(err, &tl))
		})
	}

	t.Run("ExactlyAtLimit", func(t *testing.T) {
		t.Parallel()
		got, err := get(t, c, srv.URL+"/exact")
		require.NoError(t, err)
		require.Len(t, got, limit)
	})

	t.Run("DefaultCap", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "http.request: response body exceeds the limit of 16 MiB", (&ssrf.TooLargeError{Limit: ssrf.DefaultMaxResponseBytes}).Error())
		got, err := get(t, ssrf.NewClient(allowLoopback), srv.URL+"/declared")
		require.NoError(t, err)
		require.Len(t, got, 2*limit)
	})
}

func TestWithAllow(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(hello))
	t.Cleanup(srv.Close)
	c := ssrf.NewClient(ssrf.Options{})
	tests := []struct {
		name    string
		allow   []netip.Prefix
		wantErr bool
	}{
		{name: "NoExtra", wantErr: true},
		{name: "OtherNetwork", allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, wantErr: true},
		{name: "Loopback", allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(ssrf.WithAllow(context.Background(), tt.allow), http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			req.Close = true
			resp, err := c.Do(req)
			if tt.wantErr {
				var be *ssrf.BlockedError
				require.ErrorAs(t, err, &be)
				return
			}
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
}
