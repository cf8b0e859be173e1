package ssrf_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/ssrf"
)

// TestCheckHost is the classifier of host names, before any lookup. It
// dials nothing.
func TestCheckHost(t *testing.T) {
	t.Parallel()
	metadata := []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}
	tests := []struct {
		host string
		opts ssrf.Options
		addr string // the address host names, "" for a name
		kind string // refused kind, "" when allowed
	}{
		// Names are checked on what they resolve to, when dialled.
		{host: "example.com"},
		{host: "intranet.corp"},
		{host: "0xdeadbeef.com"},
		{host: "1.2.3.4.example"},
		{host: "123abc"},
		// Addresses in their usual forms.
		{host: "93.184.215.14", addr: "93.184.215.14"},
		{host: "127.0.0.1", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "127.0.0.1.", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "::1", addr: "::1", kind: ssrf.KindLoopback},
		{host: "[::1]", addr: "::1", kind: ssrf.KindLoopback},
		{host: "[::ffff:127.0.0.1]", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "::ffff:7f00:1", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "[0:0:0:0:0:ffff:a9fe:a9fe]", addr: "169.254.169.254", kind: ssrf.KindMetadata},
		{host: "fe80::1%eth0", addr: "fe80::1", kind: ssrf.KindLinkLocal},
		{host: "[fe80::1%eth0]", addr: "fe80::1", kind: ssrf.KindLinkLocal},
		{host: "fd00::1", addr: "fd00::1", kind: ssrf.KindPrivate},
		{host: "0.0.0.0", addr: "0.0.0.0", kind: ssrf.KindUnspecified},
		{host: "[::]", addr: "::", kind: ssrf.KindUnspecified},
		{host: "100.64.0.1", addr: "100.64.0.1", kind: ssrf.KindShared},
		{host: "100.127.1.1", addr: "100.127.1.1", kind: ssrf.KindShared},
		// The numeric forms of inet_aton.
		{host: "2130706433", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "0x7f000001", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "0X7F000001", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "017700000001", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "0x7f.1", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "127.1", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "127.0.1", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "0177.0.0.1", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "127.000.000.001", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "0x7f.0x0.0x0.0x1", addr: "127.0.0.1", kind: ssrf.KindLoopback},
		{host: "2852039166", addr: "169.254.169.254", kind: ssrf.KindMetadata},
		{host: "0xa9.0xfe.0xa9.0xfe", addr: "169.254.169.254", kind: ssrf.KindMetadata},
		{host: "0xa9fea9fe", addr: "169.254.169.254", kind: ssrf.KindMetadata},
		{host: "012.1", addr: "10.0.0.1", kind: ssrf.KindPrivate},
		{host: "167772161", addr: "10.0.0.1", kind: ssrf.KindPrivate},
		{host: "0", addr: "0.0.0.0", kind: ssrf.KindUnspecified},
		{host: "0x0", addr: "0.0.0.0", kind: ssrf.KindUnspecified},
		{host: "1681915905", addr: "100.64.0.1", kind: ssrf.KindShared},
		{host: "134744072", addr: "8.8.8.8"},
		{host: "8.8.2056", addr: "8.8.8.8"},
		// Made of numbers, but no address: refused.
		{host: "1.2.3.4.5", kind: ssrf.KindMalformed},
		{host: "09", kind: ssrf.KindMalformed},
		{host: "0x", kind: ssrf.KindMalformed},
		{host: "0x1g", kind: ""}, // not made of numbers: a name
		{host: "256.1.1.1", kind: ssrf.KindMalformed},
		{host: "1.2.65536", kind: ssrf.KindMalformed},
		{host: "4294967296", kind: ssrf.KindMalformed},
		{host: "1.2.3.0400", kind: ssrf.KindMalformed},
		// Cloud metadata names.
		{host: "metadata.google.internal", kind: ssrf.KindMetadata},
		{host: "METADATA.Google.Internal.", kind: ssrf.KindMetadata},
		{host: "metadata.goog", kind: ssrf.KindMetadata},
		{host: "metadata", kind: ssrf.KindMetadata},
		{host: "instance-data", kind: ssrf.KindMetadata},
		{host: "instance-data.ec2.internal", kind: ssrf.KindMetadata},
		{host: "metadata.tencentyun.com", kind: ssrf.KindMetadata},
		{host: "metadata.google.internal", opts: ssrf.Options{AllowPrivate: true}, kind: ssrf.KindMetadata},
		{host: "metadata.google.internal", opts: ssrf.Options{Allow: metadata}},
		{host: "metadata.example.com"},
		// Options apply to every form.
		{host: "0x7f.1", opts: ssrf.Options{AllowPrivate: true}, addr: "127.0.0.1"},
		{host: "2852039166", opts: ssrf.Options{AllowPrivate: true}, addr: "169.254.169.254", kind: ssrf.KindMetadata},
		{host: "2852039166", opts: ssrf.Options{Allow: metadata}, addr: "169.254.169.254"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.host, tt.opts), func(t *testing.T) {
			t.Parallel()
			a, err := tt.opts.CheckHost(tt.host)
			if tt.kind != "" {
				var be *ssrf.BlockedError
				require.ErrorAs(t, err, &be)
				require.Equal(t, tt.kind, be.Kind)
				if tt.addr != "" {
					require.Equal(t, tt.addr, be.Addr.String())
				} else {
					require.False(t, be.Addr.IsValid())
				}
				plain := tt.host == tt.addr || tt.host == "["+tt.addr+"]"
				if plain {
					require.Empty(t, be.Host)
				} else {
					require.Equal(t, tt.host, be.Host)
				}
				require.False(t, a.IsValid())
				return
			}
			require.NoError(t, err)
			if tt.addr == "" {
				require.False(t, a.IsValid(), "a name: %v", a)
				return
			}
			require.Equal(t, tt.addr, a.String())
		})
	}
}

// TestClient_HostForms dials every form of a loopback address at a
// loopback listener: refused by default, dialled as the address it names
// when allowed.
func TestClient_HostForms(t *testing.T) {
	t.Parallel()
	srv := serve(t, "127.0.0.1", http.HandlerFunc(hello))
	// Any lookup goes to a fake DNS that knows none of these names, so that
	// a form the guard misread could not leave the machine.
	refuse := ssrf.NewClient(ssrf.Options{Resolver: noDNS()})
	allow := ssrf.NewClient(ssrf.Options{AllowPrivate: true, Resolver: noDNS()})
	for _, host := range []string{"2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1", "127.000.000.001", "[::ffff:127.0.0.1]", "127.0.0.1."} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			u := fmt.Sprintf("http://%s:%d/", host, srv.port())
			_, err := get(t, refuse, u)
			var be *ssrf.BlockedError
			require.ErrorAs(t, err, &be)
			require.Equal(t, ssrf.KindLoopback, be.Kind)
			require.Equal(t, "127.0.0.1", be.Addr.String())

			got, err := get(t, allow, u)
			require.NoError(t, err)
			require.Equal(t, "hello", got)
		})
	}
}

// TestClient_DNS checks names on the addresses they resolve to, with a
// fake resolver whose answers are loopback addresses only.
func TestClient_DNS(t *testing.T) {
	t.Parallel()
	public := serve(t, "127.0.0.1", http.HandlerFunc(hello))
	internal := serve(t, "127.0.0.2", http.HandlerFunc(hello))
	dns := fakeDNS(map[string][]netip.Addr{
		"public.test":              {netip.MustParseAddr("127.0.0.1")},
		"intranet.test":            {netip.MustParseAddr("127.0.0.2")},
		"mixed.test":               {netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")},
		"metadata.google.internal": {netip.MustParseAddr("127.0.0.2")},
	})
	only1 := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		name string
		opts ssrf.Options
		url  string
		kind string // refused kind, "" when the request succeeds
		addr string // refused address
	}{
		{name: "Allowed", opts: ssrf.Options{Allow: only1}, url: "http://public.test:%[1]d/"},
		{name: "ResolvesToRefused", opts: ssrf.Options{Allow: only1}, url: "http://intranet.test:%[2]d/", kind: ssrf.KindLoopback, addr: "127.0.0.2"},
		{name: "ResolvesToRefusedThenAllowed", opts: ssrf.Options{Allow: only1}, url: "http://mixed.test:%[1]d/"},
		{name: "AllowPrivate", opts: ssrf.Options{AllowPrivate: true}, url: "http://intranet.test:%[2]d/"},
		{name: "MetadataNameBeforeLookup", opts: ssrf.Options{AllowPrivate: true}, url: "http://metadata.google.internal:%[2]d/", kind: ssrf.KindMetadata, addr: "invalid IP"},
		{name: "MetadataNameWhenMetadataAllowed", opts: ssrf.Options{AllowPrivate: true, Allow: []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}}, url: "http://metadata.google.internal:%[2]d/"},
		{name: "MetadataNameResolvedAndChecked", opts: ssrf.Options{Allow: []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}}, url: "http://metadata.google.internal:%[2]d/", kind: ssrf.KindLoopback, addr: "127.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Resolver = dns
			u := fmt.Sprintf(tt.url, public.port(), internal.port())
			got, err := getCtx(t, context.Background(), ssrf.NewClient(tt.opts), u, true)
			if tt.kind == "" {
				require.NoError(t, err)
				require.Equal(t, "hello", got)
				return
			}
			var be *ssrf.BlockedError
			require.ErrorAs(t, err, &be)
			require.Equal(t, tt.kind, be.Kind)
			require.Equal(t, tt.addr, be.Addr.String())
			require.NotEmpty(t, be.Host)
		})
	}
	t.Run("Unknown", func(t *testing.T) {
		t.Parallel()
		_, err := get(t, ssrf.NewClient(ssrf.Options{Resolver: dns}), "http://nowhere.test/")
		require.Error(t, err)
		var be *ssrf.BlockedError
		require.False(t, errors.As(err, &be))
	})
}
