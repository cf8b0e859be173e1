// Package ssrf guards the outgoing requests of automations (http.request)
// and of the host (job completion callbacks) against server-side request
// forgery: connections to loopback, private, link-local, shared (CGNAT),
// unspecified, multicast, reserved and cloud metadata addresses are
// refused unless allowed.
//
// The check runs when a connection is dialled, on the address DNS resolved
// to, so a public name that resolves to 127.0.0.1 is refused, and so is
// every redirect to a refused address (each redirect dials anew). Host
// names are checked before any lookup too (CheckHost): the numeric IPv4
// forms some resolvers accept (2130706433, 0x7f.1, 0177.0.0.1) are read as
// the address they name, and cloud metadata names are refused. Proxies
// from the environment are not used, since a proxy would dial on our
// behalf.
//
// A Transport keeps one connection pool per allow-list (see WithAllow), so
// a connection dialled under one automation's policy is never reused by a
// request that may not dial it.
//
//	client := ssrf.NewClient(ssrf.Options{})
//	resp, err := client.Do(req)
//	var blocked *ssrf.BlockedError
//	if errors.As(err, &blocked) { ... }
package ssrf

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxResponseBytes = 16 << 20
	DefaultTimeout          = 30 * time.Second
	// MaxRedirects is how many redirects NewClient follows.
	MaxRedirects = 10
)

// Options configure the guard.
type Options struct {
	// AllowPrivate allows loopback, private (RFC 1918, fc00::/7, fec0::/10),
	// link-local and shared (100.64.0.0/10) addresses. Unspecified,
	// multicast, reserved and cloud metadata addresses stay refused unless
	// Allow lists them. Optional. Default: false.
	AllowPrivate bool
	// Allow lists prefixes that are always allowed, whatever their kind.
	// Optional.
	Allow []netip.Prefix
	// MaxResponseBytes caps the (decompressed) response body that NewClient
	// reads; reading past it fails with a *TooLargeError. Optional.
	// Default: DefaultMaxResponseBytes (16 MiB). Negative means no cap.
	MaxResponseBytes int64
	// Timeout bounds a whole request of NewClient, redirects and body
	// included. Optional. Default: DefaultTimeout (30s).
	Timeout time.Duration
	// Resolver looks host names up; the guard checks the addresses it
	// answers. Optional. Default: net.DefaultResolver.
	Resolver *net.Resolver
}

// Kinds of refused addresses (BlockedError.Kind).
const (
	KindLoopback    = "loopback"
	KindPrivate     = "private"
	KindLinkLocal   = "link-local"
	KindShared      = "shared (CGNAT)"
	KindUnspecified = "unspecified"
	KindMulticast   = "multicast"
	KindReserved    = "reserved"
	KindMetadata    = "cloud metadata"
	// KindMalformed is a host name made of numbers that is not an IPv4
	// address in any form (1.2.3.4.5, 0x1g, 09): resolvers disagree on
	// what it names.
	KindMalformed = "malformed numeric"
)

// BlockedError is a connection refused by the guard.
type BlockedError struct {
	// Host is the name that was dialled, when it is not Addr itself
	// ("localhost", "0x7f.1", "metadata.google.internal"), else "".
	Host string
	// Addr is the refused address; the zero Addr when a name was refused
	// before any lookup (a cloud metadata name, a malformed numeric host).
	Addr netip.Addr
	// Kind says what kind of address it is: one of the Kind constants.
	Kind string
}

func (e *BlockedError) Error() string {
	to := e.Host
	switch {
	case !e.Addr.IsValid():
	case e.Host != "":
		to = e.Host + " (" + e.Addr.String() + ")"
	default:
		to = e.Addr.String()
	}
	if e.Kind == KindMalformed {
		return fmt.Sprintf("http.request to %s refused: a host name made of numbers must be an IPv4 address", to)
	}
	hint := "allow them with the policy setting http_allow_networks"
	if e.Private() {
		hint = "allow them with --allow-private-requests or the policy setting http_allow_networks"
	}
	return fmt.Sprintf("http.request to %s refused: %s addresses are blocked (%s)", to, e.Kind, hint)
}

// Private reports whether Options.AllowPrivate (the server's
// --allow-private-requests) would have allowed the refused address.
func (e *BlockedError) Private() bool { return privateKind(e.Kind) }

// TooLargeError is a response body over Options.MaxResponseBytes.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("http.request: response body exceeds the limit of %s", formatBytes(e.Limit))
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// rangeKind is one blocked range.
type rangeKind struct {
	prefix netip.Prefix
	kind   string
}

// blocked lists the refused ranges, most specific first: the first match
// names the kind. It is read only.
var blocked = []rangeKind{
	{netip.MustParsePrefix("169.254.169.254/32"), KindMetadata}, // AWS, GCP, Azure, OpenStack, …
	{netip.MustParsePrefix("169.254.170.2/32"), KindMetadata},   // AWS ECS task metadata
	{netip.MustParsePrefix("100.100.100.200/32"), KindMetadata}, // Alibaba Cloud
	{netip.MustParsePrefix("fd00:ec2::254/128"), KindMetadata},  // AWS IMDS over IPv6
	{netip.MustParsePrefix("169.254.170.23/32"), KindMetadata},  // AWS EKS Pod Identity Agent (credentials)
	{netip.MustParsePrefix("fd00:ec2::23/128"), KindMetadata},   // the same over IPv6
	{netip.MustParsePrefix("169.254.0.23/32"), KindMetadata},    // Tencent Cloud (metadata.tencentyun.com)
	{netip.MustParsePrefix("168.63.129.16/32"), KindMetadata},   // Azure WireServer, a platform endpoint in a public range
	{netip.MustParsePrefix("0.0.0.0/8"), KindUnspecified},
	{netip.MustParsePrefix("::/128"), KindUnspecified},
	{netip.MustParsePrefix("127.0.0.0/8"), KindLoopback},
	{netip.MustParsePrefix("::1/128"), KindLoopback},
	{netip.MustParsePrefix("10.0.0.0/8"), KindPrivate},
	{netip.MustParsePrefix("172.16.0.0/12"), KindPrivate},
	{netip.MustParsePrefix("192.168.0.0/16"), KindPrivate},
	{netip.MustParsePrefix("fc00::/7"), KindPrivate},
	{netip.MustParsePrefix("fec0::/10"), KindPrivate}, // site-local (deprecated, RFC 3879)
	{netip.MustParsePrefix("169.254.0.0/16"), KindLinkLocal},
	{netip.MustParsePrefix("fe80::/10"), KindLinkLocal},
	{netip.MustParsePrefix("100.64.0.0/10"), KindShared},
	{netip.MustParsePrefix("224.0.0.0/4"), KindMulticast},
	{netip.MustParsePrefix("ff00::/8"), KindMulticast},
	{netip.MustParsePrefix("240.0.0.0/4"), KindReserved},     // and 255.255.255.255
	{netip.MustParsePrefix("::/96"), KindReserved},           // IPv4-compatible IPv6
	{netip.MustParsePrefix("::ffff:0:0:0/96"), KindReserved}, // IPv4-translated (SIIT)
	{netip.MustParsePrefix("64:ff9b:1::/48"), KindReserved},  // local-use NAT64 (RFC 8215)
	// Not globally reachable (IANA's special-purpose registries): no
	// webhook receiver is there. A policy's http_allow_networks opens them
	// for its automation. 198.18.0.0/15 (benchmarking) stays open: the
	// fake-IP DNS of proxies (Clash, Surge, sing-box) answers every name
	// from it, and refusing it would refuse every request of a server
	// behind one, callbacks and deliveries included.
	{netip.MustParsePrefix("192.0.0.0/24"), KindReserved},    // IETF protocol assignments
	{netip.MustParsePrefix("192.0.2.0/24"), KindReserved},    // TEST-NET-1
	{netip.MustParsePrefix("198.51.100.0/24"), KindReserved}, // TEST-NET-2
	{netip.MustParsePrefix("203.0.113.0/24"), KindReserved},  // TEST-NET-3
	{netip.MustParsePrefix("192.88.99.0/24"), KindReserved},  // 6to4 relay anycast (deprecated, RFC 7526)
	{netip.MustParsePrefix("2001::/32"), KindReserved},       // Teredo, whose address can encode an internal IPv4 one
	{netip.MustParsePrefix("2001:10::/28"), KindReserved},    // ORCHID (deprecated)
	{netip.MustParsePrefix("2001:db8::/32"), KindReserved},   // documentation
	{netip.MustParsePrefix("100::/64"), KindReserved},        // discard-only
}

// privateKind reports the kinds Options.AllowPrivate allows.
func privateKind(kind string) bool {
	switch kind {
	case KindLoopback, KindPrivate, KindLinkLocal, KindShared:
		return true
	}
	return false
}

// embeddedIPv4 returns the IPv4 address an IPv6 address reaches through a
// translator: the last 32 bits of the well-known NAT64 prefix
// 64:ff9b::/96, or bits 16-47 of a 6to4 address (2002::/16).
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case [12]byte(b[:12]) == [12]byte{0x00, 0x64, 0xff, 0x9b}:
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case b[0] == 0x20 && b[1] == 0x02:
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// Check returns a *BlockedError when the guard refuses connections to addr,
// else nil. IPv4-mapped, NAT64 and 6to4 IPv6 addresses are checked as the
// IPv4 address they reach.
func (o Options) Check(addr netip.Addr) error {
	addr = addr.WithZone("")
	if o.allowed(addr) || o.allowed(addr.Unmap()) {
		return nil
	}
	target := addr.Unmap()
	if v4, ok := embeddedIPv4(target); ok {
		if o.allowed(v4) {
			return nil
		}
		target = v4
	}
	for _, r := range blocked {
		if r.prefix.Contains(target) {
			if o.AllowPrivate && privateKind(r.kind) {
				return nil
			}
			return &BlockedError{Addr: addr.Unmap(), Kind: r.kind}
		}
	}
	return nil
}

// allowed reports whether Allow lists a.
func (o Options) allowed(a netip.Addr) bool {
	for _, p := range o.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
