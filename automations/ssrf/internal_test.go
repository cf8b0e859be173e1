package ssrf

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTransport_NoProxy(t *testing.T) {
	t.Parallel()
	tr := NewTransport(Options{})
	require.Nil(t, tr.base.Proxy)
	ctx := WithAllow(context.Background(), []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	require.Nil(t, tr.transportFor(ctx).Proxy)
	require.NotSame(t, tr.base, tr.transportFor(ctx))
	require.Same(t, tr.transportFor(ctx), tr.transportFor(ctx))
}

func TestAllowFrom(t *testing.T) {
	t.Parallel()
	p := netip.MustParsePrefix
	tests := []struct {
		name  string
		allow []netip.Prefix
		key   string
	}{
		{name: "None"},
		{name: "Empty", allow: []netip.Prefix{}},
		{name: "One", allow: []netip.Prefix{p("10.0.0.0/8")}, key: "10.0.0.0/8"},
		{name: "Masked", allow: []netip.Prefix{p("10.1.2.3/8")}, key: "10.0.0.0/8"},
		{name: "SortedAndCompacted", allow: []netip.Prefix{p("192.168.0.0/16"), p("10.0.0.0/8"), p("10.0.0.0/8"), p("10.0.0.0/16")},
			key: "10.0.0.0/8,10.0.0.0/16,192.168.0.0/16"},
		{name: "IPv6", allow: []netip.Prefix{p("fd00::/8"), p("127.0.0.2/32")}, key: "127.0.0.2/32,fd00::/8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, key := allowFrom(WithAllow(context.Background(), tt.allow))
			require.Equal(t, tt.key, key)
		})
	}
}

func TestParseIPv4Legacy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in          string
		want        string
		numeric, ok bool
	}{
		{in: "1.2.3.4", want: "1.2.3.4", numeric: true, ok: true},
		{in: "16909060", want: "1.2.3.4", numeric: true, ok: true},
		{in: "1.131844", want: "1.2.3.4", numeric: true, ok: true},
		{in: "1.2.772", want: "1.2.3.4", numeric: true, ok: true},
		{in: "0x01.0x02.0x03.0x04", want: "1.2.3.4", numeric: true, ok: true},
		{in: "01.02.03.04", want: "1.2.3.4", numeric: true, ok: true},
		{in: "0xffffffff", want: "255.255.255.255", numeric: true, ok: true},
		{in: "0", want: "0.0.0.0", numeric: true, ok: true},
		{in: "08", numeric: true},
		{in: "0x100000000", numeric: true},
		{in: "1.16777216", numeric: true},
		{in: "1.2.3.4.5", numeric: true},
		{in: "0x", numeric: true},
		{in: ""},
		{in: "1..2"},
		{in: "a.b"},
		{in: "1.2.3.x"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			a, numeric, ok := parseIPv4Legacy(tt.in)
			require.Equal(t, tt.numeric, numeric)
			require.Equal(t, tt.ok, ok)
			if tt.ok {
				require.Equal(t, tt.want, a.String())
			}
		})
	}
}
