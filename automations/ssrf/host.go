package ssrf

import (
	"net/netip"
	"strconv"
	"strings"
)

// CheckHost checks the host of a URL or a dial address before any lookup
// and returns the address it names, if any:
//
//   - an IP address ("10.0.0.1", "::1", "[::1]", "fe80::1%eth0",
//     "::ffff:127.0.0.1") is checked with Check and returned;
//   - the IPv4 forms of inet_aton, which some resolvers (glibc's) accept as
//     addresses and Go's does not ("2130706433", "0x7f.1", "0177.0.0.1",
//     "127.1"), are read as the address they name, checked and returned;
//     a name made only of numbers that is none of them ("1.2.3.4.5",
//     "09") is refused (KindMalformed);
//   - a cloud metadata name ("metadata.google.internal") is refused,
//     unless Allow opens a cloud metadata address;
//   - any other name returns the zero Addr and nil: the addresses it
//     resolves to are checked when they are dialled.
//
// A refusal is a *BlockedError whose Host is host.
func (o Options) CheckHost(host string) (netip.Addr, error) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(h); err == nil {
		if err := o.Check(a); err != nil {
			return netip.Addr{}, named(err, host)
		}
		return a, nil
	}
	name := strings.ToLower(strings.TrimSuffix(h, "."))
	if a, numeric, ok := parseIPv4Legacy(name); numeric {
		if !ok {
			return netip.Addr{}, &BlockedError{Host: host, Kind: KindMalformed}
		}
		if err := o.Check(a); err != nil {
			return netip.Addr{}, named(err, host)
		}
		return a, nil
	}
	if metadataHost(name) && !o.allowsMetadata() {
		return netip.Addr{}, &BlockedError{Host: host, Kind: KindMetadata}
	}
	return netip.Addr{}, nil
}

// named sets the Host of a *BlockedError to host when host is not the
// refused address's plain form.
func named(err error, host string) error {
	if be, ok := err.(*BlockedError); ok && host != be.Addr.String() && host != "["+be.Addr.String()+"]" {
		be.Host = host
	}
	return err
}

// metadataHost reports the names cloud providers give their instance
// metadata services. They resolve to a cloud metadata address, refused when
// dialled anyway; refusing the names too keeps a resolver that answers
// something else for them (a split-horizon DNS, a proxy) out of the way.
func metadataHost(name string) bool {
	switch name {
	case "metadata.google.internal", "metadata.goog", "metadata", // GCP (and its short name)
		"instance-data", "instance-data.ec2.internal", // AWS
		"metadata.tencentyun.com": // Tencent Cloud
		return true
	}
	return false
}

// allowsMetadata reports whether Allow opens any cloud metadata address, in
// which case the metadata names are checked on what they resolve to.
func (o Options) allowsMetadata() bool {
	for _, r := range blocked {
		if r.kind != KindMetadata {
			continue
		}
		for _, p := range o.Allow {
			if p.Overlaps(r.prefix) {
				return true
			}
		}
	}
	return false
}

// parseIPv4Legacy reads s as inet_aton(3) does: one to four parts
// separated by dots, each decimal, octal (leading 0) or hexadecimal
// (leading 0x); the last part fills the bytes the others leave
// ("127.1" is 127.0.0.1, "2130706433" is 127.0.0.1). numeric reports that
// every part is made of digits (with an optional 0x), so that s is not a
// DNS name; ok that it is a valid address.
func parseIPv4Legacy(s string) (a netip.Addr, numeric, ok bool) {
	if s == "" {
		return netip.Addr{}, false, false
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if !numericPart(p) {
			return netip.Addr{}, false, false
		}
	}
	if len(parts) > 4 {
		return netip.Addr{}, true, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base, digits := 10, p
		switch {
		case strings.HasPrefix(p, "0x"):
			base, digits = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		if digits == "" {
			return netip.Addr{}, true, false
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return netip.Addr{}, true, false
		}
		vals[i] = v
	}
	last := len(vals) - 1
	var n uint64
	for i, v := range vals[:last] {
		if v > 0xff {
			return netip.Addr{}, true, false
		}
		n |= v << (24 - 8*i)
	}
	if vals[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, true, false
	}
	n |= vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true, true
}

// numericPart reports whether p is digits, or 0x and hexadecimal digits.
func numericPart(p string) bool {
	if p == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(p, "0x"); ok {
		for _, c := range rest {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
