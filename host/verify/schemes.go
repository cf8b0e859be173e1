package verify

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/netip"
	"strings"
	"time"
)

// Interface guards.
var (
	_ checker = (*githubChecker)(nil)
	_ checker = (*tokenChecker)(nil)
	_ checker = (*stripeChecker)(nil)
	_ checker = (*slackChecker)(nil)
	_ checker = (*standardChecker)(nil)
	_ checker = (*hmacChecker)(nil)
	_ checker = (*basicChecker)(nil)
	_ checker = (*ipChecker)(nil)
)

// keys is a list of credentials with the key material of its literals,
// decoded at compile time.
type keys struct {
	creds   []credential
	decoded [][]byte
	decode  decodeFunc
}

func (k *keys) resolve(v *Verifier) ([][]byte, error) {
	return v.resolve(k.creds, k.decoded, k.decode)
}

// macSum is the HMAC of the concatenated parts.
func macSum(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// anyMAC reports whether one of the received MACs equals the HMAC of parts
// under one of the keys. Every pair is compared, in constant time.
func anyMAC(h func() hash.Hash, ks [][]byte, received [][]byte, parts ...[]byte) bool {
	ok := false
	for _, k := range ks {
		want := macSum(h, k, parts...)
		for _, got := range received {
			if hmac.Equal(want, got) {
				ok = true
			}
		}
	}
	return ok
}

// decodeHexMAC decodes a hex MAC of the given size.
func decodeHexMAC(s string, size int) ([]byte, bool) {
	if len(s) != 2*size {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

const sigMismatch = "signature does not match"

// githubChecker checks X-Hub-Signature-256 (GitHub).
type githubChecker struct{ secrets keys }

const githubHeader = "X-Hub-Signature-256"

func (c *githubChecker) credentialHeaders() []string { return []string{githubHeader} }

func (c *githubChecker) verify(v *Verifier, r *Request, _ time.Time) error {
	h, ok := header(r, githubHeader)
	if !ok {
		return v.missing(githubHeader)
	}
	hexSig, ok := strings.CutPrefix(h, "sha256=")
	if !ok {
		return v.malformed(githubHeader)
	}
	got, ok := decodeHexMAC(hexSig, sha256.Size)
	if !ok {
		return v.malformed(githubHeader)
	}
	ks, err := c.secrets.resolve(v)
	if err != nil {
		return err
	}
	if !anyMAC(sha256.New, ks, [][]byte{got}, r.Body) {
		return v.fail(sigMismatch)
	}
	return nil
}

// tokenChecker checks a static token in a header: gitlab (X-Gitlab-Token),
// header (a named header) and bearer (Authorization: Bearer).
type tokenChecker struct {
	header string
	bearer bool
	tokens keys
}

// gitlabHeader is GitLab's token header.
const gitlabHeader = "X-Gitlab-Token"

func (c *tokenChecker) credentialHeaders() []string { return []string{c.header} }

func (c *tokenChecker) verify(v *Verifier, r *Request, _ time.Time) error {
	h, ok := header(r, c.header)
	if !ok {
		return v.missing(c.header)
	}
	if c.bearer {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return v.malformed(c.header)
		}
		h = tok
	}
	ks, err := c.tokens.resolve(v)
	if err != nil {
		return err
	}
	if !anyTokenEqual(h, ks) {
		return v.fail("token does not match")
	}
	return nil
}

// stripeChecker checks Stripe-Signature.
type stripeChecker struct{ secrets keys }

const stripeHeader = "Stripe-Signature"

func (c *stripeChecker) credentialHeaders() []string { return []string{stripeHeader} }

// maxSignatures bounds how many signatures of one header are tried.
const maxSignatures = 16

func (c *stripeChecker) verify(v *Verifier, r *Request, now time.Time) error {
	h, ok := header(r, stripeHeader)
	if !ok {
		return v.missing(stripeHeader)
	}
	var ts string
	var sigs [][]byte
	for _, item := range strings.Split(h, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts == "" {
				ts = val
			}
		case "v1":
			if b, ok := decodeHexMAC(val, sha256.Size); ok && len(sigs) < maxSignatures {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" {
		return v.refuse(KindMalformed, "missing timestamp in Stripe-Signature header")
	}
	if _, ok := parseTimestamp(ts); !ok {
		return v.malformed(stripeHeader)
	}
	if len(sigs) == 0 {
		return v.refuse(KindMalformed, "no v1 signature in Stripe-Signature header")
	}
	ks, err := c.secrets.resolve(v)
	if err != nil {
		return err
	}
	if !anyMAC(sha256.New, ks, sigs, []byte(ts), []byte("."), r.Body) {
		return v.fail(sigMismatch)
	}
	if e := v.checkTimestamp(stripeHeader, ts, now); e != nil {
		return e
	}
	return nil
}

// slackChecker checks X-Slack-Signature and X-Slack-Request-Timestamp.
type slackChecker struct{ secrets keys }

const (
	slackSigHeader = "X-Slack-Signature"
	slackTSHeader  = "X-Slack-Request-Timestamp"
)

func (c *slackChecker) credentialHeaders() []string { return []string{slackSigHeader} }

func (c *slackChecker) verify(v *Verifier, r *Request, now time.Time) error {
	ts, ok := header(r, slackTSHeader)
	if !ok {
		return v.missing(slackTSHeader)
	}
	if _, ok := parseTimestamp(ts); !ok {
		return v.malformed(slackTSHeader)
	}
	h, ok := header(r, slackSigHeader)
	if !ok {
		return v.missing(slackSigHeader)
	}
	hexSig, ok := strings.CutPrefix(h, "v0=")
	if !ok {
		return v.malformed(slackSigHeader)
	}
	got, ok := decodeHexMAC(hexSig, sha256.Size)
	if !ok {
		return v.malformed(slackSigHeader)
	}
	ks, err := c.secrets.resolve(v)
	if err != nil {
		return err
	}
	if !anyMAC(sha256.New, ks, [][]byte{got}, []byte("v0:"), []byte(ts), []byte(":"), r.Body) {
		return v.fail(sigMismatch)
	}
	if e := v.checkTimestamp(slackTSHeader, ts, now); e != nil {
		return e
	}
	return nil
}

// standardChecker checks Standard Webhooks signatures (symmetric v1 and
// asymmetric v1a).
type standardChecker struct {
	secrets    keys // decoded whsec_ secrets
	publicKeys keys // decoded whpk_ keys
}

const (
	swIDHeader  = "webhook-id"
	swTSHeader  = "webhook-timestamp"
	swSigHeader = "webhook-signature"
)

func (c *standardChecker) credentialHeaders() []string {
	return []string{swSigHeader, "svix-signature"}
}

// swHeader reads a Standard Webhooks header, or its svix- spelling.
func swHeader(r *Request, name string) (string, bool) {
	if s, ok := header(r, name); ok {
		return s, true
	}
	return header(r, "svix-"+strings.TrimPrefix(name, "webhook-"))
}

// decodeWhsec decodes a Standard Webhooks symmetric secret.
func decodeWhsec(s string) ([]byte, error) {
	b, ok := decodeBase64(strings.TrimPrefix(strings.TrimSpace(s), "whsec_"))
	if !ok || len(b) == 0 {
		return nil, errString("not a whsec_ secret (whsec_ followed by base64)")
	}
	return b, nil
}

// decodeWhpk decodes a Standard Webhooks Ed25519 public key.
func decodeWhpk(s string) ([]byte, error) {
	b, ok := decodeBase64(strings.TrimPrefix(strings.TrimSpace(s), "whpk_"))
	if !ok || len(b) != ed25519.PublicKeySize {
		return nil, errString("not a whpk_ public key (whpk_ followed by the base64 of 32 bytes)")
	}
	return b, nil
}

// errString is a constant error text.
type errString string

func (e errString) Error() string { return string(e) }

func (c *standardChecker) verify(v *Verifier, r *Request, now time.Time) error {
	id, ok := swHeader(r, swIDHeader)
	if !ok {
		return v.missing(swIDHeader)
	}
	ts, ok := swHeader(r, swTSHeader)
	if !ok {
		return v.missing(swTSHeader)
	}
	if _, ok := parseTimestamp(ts); !ok {
		return v.malformed(swTSHeader)
	}
	h, ok := swHeader(r, swSigHeader)
	if !ok {
		return v.missing(swSigHeader)
	}
	var macs, sigs [][]byte
	for _, item := range strings.Fields(h) {
		if len(macs)+len(sigs) >= maxSignatures {
			break
		}
		ver, s, ok := strings.Cut(item, ",")
		if !ok {
			continue
		}
		b, ok := decodeBase64(s)
		if !ok {
			continue
		}
		switch {
		case ver == "v1" && len(b) == sha256.Size && len(c.secrets.creds) > 0:
			macs = append(macs, b)
		case ver == "v1a" && len(b) == ed25519.SignatureSize && len(c.publicKeys.creds) > 0:
			sigs = append(sigs, b)
		}
	}
	if len(macs)+len(sigs) == 0 {
		return v.refuse(KindMalformed, "no usable signature in webhook-signature header")
	}
	ok = false
	if len(macs) > 0 {
		ks, err := c.secrets.resolve(v)
		if err != nil {
			return err
		}
		ok = anyMAC(sha256.New, ks, macs, []byte(id), []byte("."), []byte(ts), []byte("."), r.Body)
	}
	if len(sigs) > 0 {
		pks, err := c.publicKeys.resolve(v)
		if err != nil {
			return err
		}
		msg := make([]byte, 0, len(id)+len(ts)+2+len(r.Body))
		msg = append(append(append(append(append(msg, id...), '.'), ts...), '.'), r.Body...)
		for _, pk := range pks {
			for _, sig := range sigs {
				if ed25519.Verify(ed25519.PublicKey(pk), msg, sig) {
					ok = true
				}
			}
		}
	}
	if !ok {
		return v.fail(sigMismatch)
	}
	if e := v.checkTimestamp(swTSHeader, ts, now); e != nil {
		return e
	}
	return nil
}

// segment is a piece of an hmac signed_payload layout: literal text, the
// body or the timestamp.
type segment struct {
	kind segmentKind
	text string
}

type segmentKind uint8

const (
	segText segmentKind = iota
	segBody
	segTimestamp
)

// hmacChecker checks a generic HMAC signature.
type hmacChecker struct {
	header   string
	alg      func() hash.Hash
	size     int
	base64   bool
	prefix   string
	tsHeader string
	layout   []segment
	secrets  keys
}

func (c *hmacChecker) credentialHeaders() []string { return []string{c.header} }

func (c *hmacChecker) verify(v *Verifier, r *Request, now time.Time) error {
	h, ok := header(r, c.header)
	if !ok {
		return v.missing(c.header)
	}
	s, ok := strings.CutPrefix(h, c.prefix)
	if !ok {
		return v.malformed(c.header)
	}
	var got []byte
	if c.base64 {
		got, ok = decodeBase64(s)
		ok = ok && len(got) == c.size
	} else {
		got, ok = decodeHexMAC(s, c.size)
	}
	if !ok {
		return v.malformed(c.header)
	}
	var ts string
	if c.tsHeader != "" {
		ts, ok = header(r, c.tsHeader)
		if !ok {
			return v.missing(c.tsHeader)
		}
		if _, ok := parseTimestamp(ts); !ok {
			return v.malformed(c.tsHeader)
		}
	}
	ks, err := c.secrets.resolve(v)
	if err != nil {
		return err
	}
	parts := make([][]byte, len(c.layout))
	for i, seg := range c.layout {
		switch seg.kind {
		case segBody:
			parts[i] = r.Body
		case segTimestamp:
			parts[i] = []byte(ts)
		default:
			parts[i] = []byte(seg.text)
		}
	}
	if !anyMAC(c.alg, ks, [][]byte{got}, parts...) {
		return v.fail(sigMismatch)
	}
	if c.tsHeader != "" {
		if e := v.checkTimestamp(c.tsHeader, ts, now); e != nil {
			return e
		}
	}
	return nil
}

// basicChecker checks HTTP Basic authentication.
type basicChecker struct {
	username  keys
	passwords keys
}

func (c *basicChecker) credentialHeaders() []string { return []string{"Authorization"} }

func (c *basicChecker) verify(v *Verifier, r *Request, _ time.Time) error {
	h, ok := header(r, "Authorization")
	if !ok {
		return v.missing("Authorization")
	}
	scheme, enc, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return v.malformed("Authorization")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return v.malformed("Authorization")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return v.malformed("Authorization")
	}
	users, err := c.username.resolve(v)
	if err != nil {
		return err
	}
	passes, err := c.passwords.resolve(v)
	if err != nil {
		return err
	}
	// Both comparisons always run.
	userOK := anyTokenEqual(user, users)
	passOK := anyTokenEqual(pass, passes)
	if !userOK || !passOK {
		return v.fail("credentials do not match")
	}
	return nil
}

// ipChecker checks the client address against an allow-list.
type ipChecker struct{ prefixes []netip.Prefix }

func (c *ipChecker) credentialHeaders() []string { return nil }

func (c *ipChecker) verify(v *Verifier, r *Request, _ time.Time) error {
	addr, err := netip.ParseAddr(strings.TrimSpace(r.ClientIP))
	if err != nil {
		return v.refuse(KindAddress, "client address unknown")
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range c.prefixes {
		if p.Contains(addr) {
			return nil
		}
	}
	return v.refuse(KindAddress, "client address not allowed")
}
