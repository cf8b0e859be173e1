package verify

import (
	"cmp"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookhost/hookhost/automations/kata"
)

// source is the Source of compile errors: verify blocks live in event KATA.
const source = "event"

// Bounds of tolerance_secs.
const (
	minToleranceSecs = 1
	maxToleranceSecs = 86400
)

// typeSpec describes one verify type: the keys it accepts besides type:, and
// how to build its checker from them.
type typeSpec struct {
	keys   []string
	status int
	build  func(b *block) checker
}

// typeNames lists the types in the order error messages name them.
var typeNames = []string{"basic", "bearer", "github", "gitlab", "header", "hmac", "ip_allow", "slack", "standard_webhooks", "stripe"}

// specs is the immutable table of verify types.
var specs = map[string]typeSpec{
	"github": {keys: []string{"secret", "secrets"}, build: func(b *block) checker {
		return &githubChecker{secrets: b.credentials("secret", true, rawBytes)}
	}},
	"gitlab": {keys: []string{"token", "tokens"}, build: func(b *block) checker {
		return &tokenChecker{header: gitlabHeader, tokens: b.credentials("token", true, rawBytes)}
	}},
	"stripe": {keys: []string{"secret", "secrets", "tolerance_secs"}, build: func(b *block) checker {
		return &stripeChecker{secrets: b.credentials("secret", true, rawBytes)}
	}},
	"slack": {keys: []string{"secret", "secrets", "tolerance_secs"}, build: func(b *block) checker {
		return &slackChecker{secrets: b.credentials("secret", true, rawBytes)}
	}},
	"standard_webhooks": {keys: []string{"secret", "secrets", "public_key", "public_keys", "tolerance_secs"}, build: buildStandard},
	"hmac":              {keys: []string{"header", "secret", "secrets", "algorithm", "encoding", "prefix", "timestamp_header", "signed_payload", "tolerance_secs"}, build: buildHMAC},
	"basic": {keys: []string{"username", "password", "passwords"}, build: func(b *block) checker {
		c := &basicChecker{username: b.credentials("username", true, rawBytes)}
		c.passwords = b.credentials("password", true, rawBytes)
		return c
	}},
	"bearer": {keys: []string{"token", "tokens"}, build: func(b *block) checker {
		return &tokenChecker{header: "Authorization", bearer: true, tokens: b.credentials("token", true, rawBytes)}
	}},
	"header": {keys: []string{"header", "token", "tokens"}, build: func(b *block) checker {
		c := &tokenChecker{header: b.headerName("header", true)}
		c.tokens = b.credentials("token", true, rawBytes)
		return c
	}},
	"ip_allow": {keys: []string{"cidrs"}, status: http.StatusForbidden, build: buildIPAllow},
}

// challenges are the WWW-Authenticate values of the types that have one.
var challenges = map[string]string{
	"basic":  `Basic realm="hookhost", charset="UTF-8"`,
	"bearer": `Bearer realm="hookhost"`,
}

// Compile validates the verify/<name>: blocks of an event KATA (as
// automations.Event.Verify holds them) and compiles them into verifiers, in
// order. Every problem of every block is reported at once as kata.Errors
// with Source "event"; then no verifier is returned.
//
// Compile does not resolve {{secrets.NAME}} placeholders: Verify does, on
// every request, through opts.Secret.
func Compile(blocks []*kata.Node, opts Options) ([]*Verifier, error) {
	window := opts.ReplayWindow
	if window <= 0 {
		window = DefaultReplayWindow
	}
	c := &compiler{}
	out := make([]*Verifier, 0, len(blocks))
	for _, n := range blocks {
		if n == nil {
			continue
		}
		if v := c.block(n, window); v != nil {
			v.lookup = opts.Secret
			out = append(out, v)
		}
	}
	if len(c.errs) > 0 {
		slices.SortStableFunc(c.errs, func(a, b *kata.Error) int {
			if d := cmp.Compare(a.Pos.Line, b.Pos.Line); d != 0 {
				return d
			}
			return cmp.Compare(a.Pos.Col, b.Pos.Col)
		})
		return nil, c.errs
	}
	return out, nil
}

// compiler collects the problems of all blocks.
type compiler struct {
	errs kata.Errors
}

func (c *compiler) errorf(pos kata.Pos, format string, args ...any) {
	c.errs = append(c.errs, &kata.Error{Source: source, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// block is one verify block being compiled.
type block struct {
	c       *compiler
	n       *kata.Node
	typ     string
	allowed []string // keys of the type
	kids    map[string]*kata.Node
	secrets []string
}

// block compiles one verify/<name>: block, or returns nil after reporting
// its problems.
func (c *compiler) block(n *kata.Node, window time.Duration) *Verifier {
	if n.Type() != "verify" {
		c.errorf(n.Pos, "`%s:` is not a verify block", n.Key)
		return nil
	}
	errs := len(c.errs)
	if n.Name() == "" {
		c.errorf(n.Pos, "`%s:` needs a name: `verify/<name>:`", n.Key)
	}
	if len(n.Annotations) > 0 {
		c.errorf(n.Pos, "annotations are not allowed on `%s:`", n.Key)
	}
	if n.Kind != kata.Object {
		c.errorf(n.Pos, "`%s:` must hold `type:` and the options of its type", n.Key)
		return nil
	}
	b := &block{c: c, n: n, kids: map[string]*kata.Node{}}
	typeNode := n.Child("type")
	if typeNode == nil {
		c.errorf(n.Pos, "`type:` is required in `%s:`; one of %s", n.Key, strings.Join(typeNames, ", "))
		return nil
	}
	b.typ = b.str(typeNode)
	spec, ok := specs[b.typ]
	if !ok {
		if b.typ != "" {
			c.errorf(valuePos(typeNode), "unknown verify type %q in `%s:`; expected one of %s", b.typ, n.Key, strings.Join(typeNames, ", "))
		}
		return nil
	}
	b.allowed = spec.keys
	for _, k := range n.Children {
		if k.Key == "type" {
			continue
		}
		if !slices.Contains(spec.keys, k.Key) {
			c.errorf(k.Pos, "Unexpected key `%s:` in `%s:` (type %s); expected %s", k.Key, n.Key, b.typ, keyList(spec.keys))
			continue
		}
		b.kids[k.Key] = k
	}
	v := &Verifier{key: n.Key, typ: b.typ, pos: n.Pos, window: window, status: spec.status, challenge: challenges[b.typ], check: spec.build(b)}
	if v.status == 0 {
		v.status = http.StatusUnauthorized
	}
	if t := b.kids["tolerance_secs"]; t != nil {
		v.window = time.Duration(b.int(t, minToleranceSecs, maxToleranceSecs)) * time.Second
	}
	v.secrets = b.secrets
	if len(c.errs) > errs {
		return nil
	}
	return v
}

// keyAnnotations are the annotations keyList shows with a key, as the key
// is usually written.
var keyAnnotations = map[string]string{
	"secrets": "@list", "tokens": "@list", "passwords": "@list", "public_keys": "@list",
	"cidrs": "@list", "tolerance_secs": "@int",
}

// keyList formats allowed keys for a message:
// "`secret:`, `secrets@list:` or `tolerance_secs@int:`".
func keyList(keys []string) string {
	var s strings.Builder
	for i, k := range keys {
		switch {
		case i == 0:
		case i == len(keys)-1:
			s.WriteString(" or ")
		default:
			s.WriteString(", ")
		}
		s.WriteString("`" + k + keyAnnotations[k] + ":`")
	}
	return s.String()
}

// valuePos is where a node's value starts, or the key when it has none.
func valuePos(n *kata.Node) kata.Pos {
	if n.ValuePos.Line > 0 {
		return n.ValuePos
	}
	return n.Pos
}

// annotations reports an error for every annotation of n not in allowed.
func (b *block) annotations(n *kata.Node, allowed ...string) bool {
	ok := true
	for _, a := range n.Annotations {
		if !slices.Contains(allowed, a) {
			b.c.errorf(n.Pos, "annotation @%s is not allowed on `%s:` in `%s:`", a, n.Key, b.n.Key)
			ok = false
		}
	}
	return ok
}

// str returns the trimmed inline value of n, or "" after reporting that it
// has none.
func (b *block) str(n *kata.Node) string {
	if !b.annotations(n) {
		return ""
	}
	s := strings.TrimSpace(n.Value)
	if n.Kind != kata.Scalar || s == "" {
		b.c.errorf(n.Pos, "`%s:` in `%s:` must have a value", n.Key, b.n.Key)
		return ""
	}
	return s
}

// opt returns the value of an optional key, or "".
func (b *block) opt(key string) (string, *kata.Node) {
	n := b.kids[key]
	if n == nil {
		return "", nil
	}
	return b.str(n), n
}

// int returns the whole number value of n within [lo, hi].
func (b *block) int(n *kata.Node, lo, hi int64) int64 {
	if !b.annotations(n, "int") {
		return lo
	}
	s := strings.TrimSpace(n.Value)
	v, err := strconv.ParseInt(s, 10, 64)
	if n.Kind != kata.Scalar || err != nil {
		b.c.errorf(valuePos(n), "`%s:` in `%s:` must be a whole number", n.Key, b.n.Key)
		return lo
	}
	if v < lo || v > hi {
		b.c.errorf(valuePos(n), "`%s:` in `%s:` must be between %d and %d", n.Key, b.n.Key, lo, hi)
		return lo
	}
	return v
}

// item is one value of a list key, with its position.
type item struct {
	text string
	pos  kata.Pos
}

// items returns the values of a list key: the lines of a @list text block,
// the comma-separated values of @csv, or the single inline value.
func (b *block) items(n *kata.Node) []item {
	if !b.annotations(n, "list", "csv") {
		return nil
	}
	var out []item
	switch {
	case n.Kind == kata.Object:
	case n.HasAnnotation("csv"):
		off := 0
		for _, part := range strings.Split(n.Value, ",") {
			lead := len(part) - len(strings.TrimLeft(part, " \t"))
			if s := strings.TrimSpace(part); s != "" {
				out = append(out, item{s, kata.Pos{Line: n.ValuePos.Line, Col: n.ValuePos.Col + off + lead}})
			}
			off += len(part) + 1
		}
	case n.Kind == kata.Text || n.HasAnnotation("list"):
		for i, line := range strings.Split(n.Value, "\n") {
			lead := len(line) - len(strings.TrimLeft(line, " \t"))
			if s := strings.TrimSpace(line); s != "" {
				out = append(out, item{s, kata.Pos{Line: n.ValuePos.Line + i, Col: n.ValuePos.Col + lead}})
			}
		}
	default:
		if s := strings.TrimSpace(n.Value); s != "" {
			out = append(out, item{s, n.ValuePos})
		}
	}
	if len(out) == 0 {
		b.c.errorf(n.Pos, "`%s:` in `%s:` must list at least one value", n.Key, b.n.Key)
	}
	return out
}

// credentials reads the credential key name (secret, token, password,
// username) or, when the type accepts it, its plural list form (secrets,
// tokens, passwords). decode checks and converts each value.
func (b *block) credentials(name string, required bool, decode decodeFunc) keys {
	ks := keys{decode: decode}
	one, many := b.kids[name], b.kids[name+"s"]
	switch {
	case one != nil && many != nil:
		b.c.errorf(many.Pos, "`%s:` and `%s:` cannot both be set in `%s:`; list every value under `%s@list:`", name, name+"s", b.n.Key, name+"s")
		return ks
	case one == nil && many == nil:
		if required {
			if slices.Contains(b.allowed, name+"s") {
				b.c.errorf(b.n.Pos, "`%s:` (or `%s@list:`) is required in `%s:`", name, name+"s", b.n.Key)
			} else {
				b.c.errorf(b.n.Pos, "`%s:` is required in `%s:`", name, b.n.Key)
			}
		}
		return ks
	}
	var its []item
	if one != nil {
		if s := b.str(one); s != "" {
			its = []item{{s, valuePos(one)}}
		}
	} else {
		its = b.items(many)
	}
	for _, it := range its {
		cr, ok := parseCredential(it.text)
		if !ok {
			b.c.errorf(it.pos, "`%s:` in `%s:` must be a literal value or a {{secrets.NAME}} placeholder (NAME: 1 to 64 letters, digits and underscores)", name, b.n.Key)
			continue
		}
		var key []byte
		if cr.secret == "" {
			var err error
			if key, err = decode(cr.literal); err != nil {
				b.c.errorf(it.pos, "`%s:` in `%s:` is %s", name, b.n.Key, err)
				continue
			}
		} else if !slices.Contains(b.secrets, cr.secret) {
			b.secrets = append(b.secrets, cr.secret)
		}
		ks.creds = append(ks.creds, cr)
		ks.decoded = append(ks.decoded, key)
	}
	return ks
}

// isToken reports whether s is an HTTP token (a valid header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// headerName reads a header-name key.
func (b *block) headerName(key string, required bool) string {
	s, n := b.opt(key)
	if n == nil {
		if required {
			b.c.errorf(b.n.Pos, "`%s:` is required in `%s:`", key, b.n.Key)
		}
		return ""
	}
	if s != "" && !isToken(s) {
		b.c.errorf(valuePos(n), "`%s:` in `%s:` must be an HTTP header name", key, b.n.Key)
		return ""
	}
	return s
}

func buildStandard(b *block) checker {
	c := &standardChecker{
		secrets:    b.credentials("secret", false, decodeWhsec),
		publicKeys: b.credentials("public_key", false, decodeWhpk),
	}
	if b.kids["secret"] == nil && b.kids["secrets"] == nil && b.kids["public_key"] == nil && b.kids["public_keys"] == nil {
		b.c.errorf(b.n.Pos, "`secret:` (whsec_…) or `public_key:` (whpk_…) is required in `%s:`", b.n.Key)
	}
	return c
}

// hashes are the algorithms of the hmac type.
var hashes = map[string]func() hash.Hash{"sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}

func buildHMAC(b *block) checker {
	c := &hmacChecker{header: b.headerName("header", true), alg: sha256.New}
	c.secrets = b.credentials("secret", true, rawBytes)
	if s, n := b.opt("algorithm"); s != "" {
		if h, ok := hashes[strings.ToLower(s)]; ok {
			c.alg = h
		} else {
			b.c.errorf(valuePos(n), "`algorithm:` in `%s:` must be sha1, sha256 or sha512, not %q", b.n.Key, s)
		}
	}
	c.size = c.alg().Size()
	if s, n := b.opt("encoding"); s != "" {
		switch strings.ToLower(s) {
		case "hex":
		case "base64":
			c.base64 = true
		default:
			b.c.errorf(valuePos(n), "`encoding:` in `%s:` must be hex or base64, not %q", b.n.Key, s)
		}
	}
	c.prefix, _ = b.opt("prefix")
	c.tsHeader = b.headerName("timestamp_header", false)
	layout := "{body}"
	if c.tsHeader != "" {
		layout = "{timestamp}.{body}"
	}
	s, n := b.opt("signed_payload")
	if n != nil {
		layout = s
	}
	if n == nil || s != "" {
		c.layout = b.layout(layout, n, c.tsHeader != "")
	}
	if t := b.kids["tolerance_secs"]; t != nil && b.kids["timestamp_header"] == nil {
		b.c.errorf(t.Pos, "`tolerance_secs:` in `%s:` needs `timestamp_header:`", b.n.Key)
	}
	return c
}

// layout parses a signed_payload template: {body} and {timestamp}
// placeholders between literal text.
func (b *block) layout(s string, n *kata.Node, hasTS bool) []segment {
	pos := b.n.Pos
	if n != nil {
		pos = valuePos(n)
	}
	var out []segment
	var body, ts bool
	text := func(t string) {
		if t == "" {
			return
		}
		if l := len(out); l > 0 && out[l-1].kind == segText {
			out[l-1].text += t
			return
		}
		out = append(out, segment{kind: segText, text: t})
	}
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			text(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		name := ""
		if j > 0 {
			name = s[i+1 : i+j]
		}
		if j < 0 || !isPlaceholderName(name) {
			text(s[:i+1])
			s = s[i+1:]
			continue
		}
		text(s[:i])
		switch name {
		case "body":
			body = true
			out = append(out, segment{kind: segBody})
		case "timestamp":
			ts = true
			out = append(out, segment{kind: segTimestamp})
		default:
			b.c.errorf(pos, "`signed_payload:` in `%s:` has an unknown placeholder {%s}; use {body} and {timestamp}", b.n.Key, name)
		}
		s = s[i+j+1:]
	}
	if !body {
		b.c.errorf(pos, "`signed_payload:` in `%s:` must contain {body}", b.n.Key)
	}
	switch {
	case ts && !hasTS:
		b.c.errorf(pos, "`signed_payload:` in `%s:` uses {timestamp}, which needs `timestamp_header:`", b.n.Key)
	case !ts && hasTS:
		b.c.errorf(b.kids["timestamp_header"].Pos, "`timestamp_header:` in `%s:` is not signed: add {timestamp} to `signed_payload:`", b.n.Key)
	}
	return out
}

func isPlaceholderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

func buildIPAllow(b *block) checker {
	c := &ipChecker{}
	n := b.kids["cidrs"]
	if n == nil {
		b.c.errorf(b.n.Pos, "`cidrs@list:` is required in `%s:`", b.n.Key)
		return c
	}
	for _, it := range b.items(n) {
		p, ok := parsePrefix(it.text)
		if !ok {
			b.c.errorf(it.pos, "`cidrs:` in `%s:`: %q is not an IP address or CIDR prefix", b.n.Key, it.text)
			continue
		}
		c.prefixes = append(c.prefixes, p)
	}
	return c
}

// parsePrefix reads a CIDR prefix or a single address. IPv4-mapped IPv6
// prefixes become IPv4 prefixes, since client addresses are unmapped.
func parsePrefix(s string) (netip.Prefix, bool) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}
