package verify

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/netip"
	"strings"
	"time"
)

// Recorded is a request as its record keeps it, for Explain: credential
// headers are kept with their value replaced (Marker), and the body may be
// cut.
type Recorded struct {
	Request
	// At is when the request arrived: signed timestamps are checked
	// against it.
	At time.Time
	// Marker is what replaced the value of a redacted header ("[redacted]"):
	// such a header was present, but its value is not known.
	Marker string
	// BodyCut reports that the record keeps only the start of the body.
	BodyCut bool
}

// Verdicts of an Explanation.
const (
	VerdictPass    = "pass"    // the block passes the recorded request
	VerdictFail    = "fail"    // the block refuses it (Reason says why)
	VerdictUnknown = "unknown" // the record cannot show which (Reason says what is missing)
)

// Results of a Step.
const (
	StepOK      = "ok"      // the check passes
	StepFailed  = "failed"  // the check refuses the request
	StepUnknown = "unknown" // the record cannot show it
	StepInfo    = "info"    // what the block holds or does, no verdict
)

// Explanation is what a verify block makes of a recorded request, step by
// step (Verifier.Explain). It never holds a credential, a signature or an
// expected value: credentials are named (secret github_hook, value #2
// written in verify/x), signatures only counted and matched.
type Explanation struct {
	Block string // "verify/github"
	Type  string // "github"
	// Verdict is VerdictPass, VerdictFail or VerdictUnknown.
	Verdict string
	// Reason is the refusal as Verify words it (VerdictFail), or what the
	// record cannot show (VerdictUnknown); "" for VerdictPass.
	Reason string
	Steps  []Step
}

// Step is one check of an Explanation.
type Step struct {
	Check  string // what is checked: "header X-Hub-Signature-256"
	Result string // StepOK, StepFailed, StepUnknown or StepInfo
	Detail string
}

// Explain runs the block on a recorded request as far as the record
// allows, and says at each step what it found: which header it read (and
// the spellings it tried), whether it was there, a timestamp's skew
// against the window at the time the request arrived, how many signatures
// and credentials were tried and which credential matches. What a record
// cannot show is a step with StepUnknown: the value of a credential header
// (records redact it), or a signature over a body the record cut.
// Credentials are those of now, which may differ from when the request
// arrived.
func (v *Verifier) Explain(r *Recorded) *Explanation {
	e := &explainer{v: v, r: r, out: &Explanation{Block: v.key, Type: v.typ}}
	v.check.explain(e)
	switch {
	case e.out.Verdict != "":
	case e.unknown != "":
		e.out.Verdict, e.out.Reason = VerdictUnknown, e.unknown
	default:
		e.out.Verdict = VerdictPass
	}
	return e.out
}

// explainer collects the steps of one Explain.
type explainer struct {
	v       *Verifier
	r       *Recorded
	out     *Explanation
	unknown string // the first thing the record cannot show
}

func (e *explainer) step(check, result, detail string) {
	e.out.Steps = append(e.out.Steps, Step{Check: check, Result: result, Detail: detail})
}

func (e *explainer) ok(check, detail string)   { e.step(check, StepOK, detail) }
func (e *explainer) info(check, detail string) { e.step(check, StepInfo, detail) }

// fail records the refusal: reason as Verify words it.
func (e *explainer) fail(check, reason, detail string) {
	e.step(check, StepFailed, detail)
	if e.out.Verdict == "" {
		e.out.Verdict, e.out.Reason = VerdictFail, reason
	}
}

// cannot records what the record cannot show.
func (e *explainer) cannot(check, detail string) {
	e.step(check, StepUnknown, detail)
	if e.unknown == "" {
		e.unknown = detail
	}
}

// header states of explainer.header.
const (
	hMissing = iota
	hRedacted
	hPresent
)

// header looks for a header under its name and then its other spellings,
// as Verify does, and records the step: missing (a refusal), present with
// its value redacted, or present.
func (e *explainer) header(name string, spellings ...string) (string, int) {
	names := append([]string{name}, spellings...)
	check := "header " + name
	tried := ""
	if len(spellings) > 0 {
		tried = " (tried " + strings.Join(names, ", then ") + ")"
	}
	for _, n := range names {
		val, ok := header(&e.r.Request, n)
		if !ok {
			continue
		}
		where := ""
		if n != name {
			where = " as " + n
		}
		if e.r.Marker != "" && val == e.r.Marker {
			e.cannot(check, "present"+where+tried+"; the record redacts its value (it carries the credential), so it cannot be read")
			return "", hRedacted
		}
		e.ok(check, "present"+where+tried)
		return val, hPresent
	}
	e.fail(check, "missing "+name+" header", "not in the request"+tried)
	return "", hMissing
}

// timestamp checks a signed timestamp against the window, at the time the
// request arrived. It returns false when the request is refused.
func (e *explainer) timestamp(headerName, ts string) bool {
	check := "timestamp " + headerName
	sec, ok := parseTimestamp(ts)
	if !ok {
		e.fail(check, "malformed "+headerName+" header", fmt.Sprintf("%q is not Unix seconds", ts))
		return false
	}
	window := int64(e.v.window / time.Second)
	skew := e.r.At.Unix() - sec
	when := fmt.Sprintf("%s (%s)", ts, time.Unix(sec, 0).UTC().Format(time.RFC3339))
	switch {
	case skew > window:
		e.fail(check, fmt.Sprintf("timestamp outside the %ds window", window),
			fmt.Sprintf("%s is %ds before the request arrived; the window is ±%ds (a replay, a delayed delivery, or the sender's clock)", when, skew, window))
		return false
	case -skew > window:
		e.fail(check, fmt.Sprintf("timestamp outside the %ds window", window),
			fmt.Sprintf("%s is %ds after the request arrived; the window is ±%ds (the sender's clock is ahead)", when, -skew, window))
		return false
	}
	e.ok(check, fmt.Sprintf("%s is %ds from when the request arrived, within the ±%ds window", when, skew, window))
	return true
}

// labeled is a resolved credential with its label.
type labeled struct {
	key   []byte
	label string
}

// keys lists the credentials of k (what: "secret", "token", ...): which are
// set now. It returns those that are set; none (a step saying so) when no
// credential can be used, in which case Verify fails on the server's side
// (500), not as a refusal.
func (e *explainer) keys(what string, k *keys) []labeled {
	var out []labeled
	var names []string
	for i, c := range k.creds {
		label := e.v.credLabel(c, i)
		b, set, err := k.one(e.v, i)
		switch {
		case err != nil:
			names = append(names, label+" (unusable: "+strings.TrimPrefix(err.Error(), e.v.key+": ")+")")
		case set:
			out = append(out, labeled{b, label})
			names = append(names, label+" (set)")
		default:
			names = append(names, label+" (not set)")
		}
	}
	check := what + "s"
	detail := fmt.Sprintf("%d listed: %s", len(k.creds), strings.Join(names, ", "))
	if len(out) == 0 {
		e.cannot(check, detail+"; with none usable the request is answered 500 (the server's problem), not refused")
		return nil
	}
	e.info(check, detail+fmt.Sprintf("; %d tried now", len(out)))
	return out
}

// bodyWhole reports whether the record keeps the whole body; when not, it
// records that the signature cannot be recomputed.
func (e *explainer) bodyWhole(check string) bool {
	if !e.r.BodyCut {
		return true
	}
	e.cannot(check, "the record keeps only the start of the body, so the signature over it cannot be recomputed")
	return false
}

// match reports which credential signs parts to one of the received MACs.
func (e *explainer) match(check string, h func() hash.Hash, ks []labeled, received [][]byte, parts ...[]byte) bool {
	for i, k := range ks {
		want := macSum(h, k.key, parts...)
		for _, got := range received {
			if hmac.Equal(want, got) {
				e.matched(check, ks, i)
				return true
			}
		}
	}
	e.fail(check, sigMismatch, fmt.Sprintf("%s; the body, or the secret the sender signs with, differs", tried(len(received), "signature", len(ks))))
	return false
}

// matched records that credential i of ks matches.
func (e *explainer) matched(check string, ks []labeled, i int) {
	detail := "matches " + ks[i].label
	if len(ks) > 1 {
		detail += fmt.Sprintf(" (#%d of the %d set)", i+1, len(ks))
	}
	if i > 0 {
		detail += "; the sender does not use the first one listed"
	}
	e.ok(check, detail)
}

// tried says how many received values were tried against how many
// credentials.
func tried(received int, what string, creds int) string {
	return fmt.Sprintf("%d %s%s received, tried against %d credential%s set now: none matches", received, what, plural(received), creds, plural(creds))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (c *githubChecker) explain(e *explainer) {
	val, st := e.header(githubHeader)
	if st == hMissing {
		return
	}
	var got []byte
	if st == hPresent {
		hexSig, ok := strings.CutPrefix(val, "sha256=")
		if ok {
			got, ok = decodeHexMAC(hexSig, sha256.Size)
		}
		if !ok {
			e.fail("format of "+githubHeader, "malformed "+githubHeader+" header", "want sha256=<64 hex digits>")
			return
		}
		e.ok("format of "+githubHeader, "sha256=<64 hex digits>")
	}
	ks := e.keys("secret", &c.secrets)
	if ks == nil {
		return
	}
	check := "signature (HMAC-SHA256 of the body)"
	switch {
	case got == nil:
		e.cannot(check, "cannot be checked: the record redacts "+githubHeader)
	case e.bodyWhole(check):
		e.match(check, sha256.New, ks, [][]byte{got}, e.r.Body)
	}
}

func (c *tokenChecker) explain(e *explainer) {
	val, st := e.header(c.header)
	if st == hMissing {
		return
	}
	if st == hPresent && c.bearer {
		scheme, tok, ok := strings.Cut(val, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			e.fail("scheme", "malformed "+c.header+" header", "want Bearer <token>")
			return
		}
		e.ok("scheme", "Bearer")
		val = tok
	}
	ks := e.keys("token", &c.tokens)
	if ks == nil {
		return
	}
	if st != hPresent {
		e.cannot("token", "cannot be compared: the record redacts "+c.header)
		return
	}
	for i, k := range ks {
		if tokenEqual(val, k.key) {
			e.matched("token", ks, i)
			return
		}
	}
	e.fail("token", "token does not match", tried(1, "token", len(ks)))
}

func (c *stripeChecker) explain(e *explainer) {
	val, st := e.header(stripeHeader)
	if st == hMissing {
		return
	}
	var ts string
	var sigs [][]byte
	if st == hPresent {
		n := 0
		for _, item := range strings.Split(val, ",") {
			k, x, ok := strings.Cut(strings.TrimSpace(item), "=")
			switch {
			case !ok:
			case k == "t" && ts == "":
				ts = x
			case k == "v1":
				n++
				if b, ok := decodeHexMAC(x, sha256.Size); ok && len(sigs) < maxSignatures {
					sigs = append(sigs, b)
				}
			}
		}
		switch _, tsOK := parseTimestamp(ts); {
		case ts == "":
			e.fail("timestamp t=", "missing timestamp in Stripe-Signature header", "no t= in Stripe-Signature")
			return
		case !tsOK:
			e.fail("timestamp t=", "malformed "+stripeHeader+" header", fmt.Sprintf("t=%q is not Unix seconds", ts))
			return
		case len(sigs) == 0:
			e.fail("signatures v1=", "no v1 signature in Stripe-Signature header", fmt.Sprintf("%d v1= item%s, none 64 hex digits", n, plural(n)))
			return
		}
		e.ok("signatures v1=", fmt.Sprintf("%d usable (at most %d are tried)", len(sigs), maxSignatures))
	} else {
		e.cannot("timestamp t= and signatures v1=", "inside Stripe-Signature, which the record redacts")
	}
	ks := e.keys("secret", &c.secrets)
	if ks == nil {
		return
	}
	check := `signature (HMAC-SHA256 of "<t>.<body>")`
	if sigs == nil {
		e.cannot(check, "cannot be checked: the record redacts "+stripeHeader)
		return
	}
	if !e.bodyWhole(check) {
		e.timestamp(stripeHeader, ts)
		return
	}
	if e.match(check, sha256.New, ks, sigs, []byte(ts), []byte("."), e.r.Body) {
		e.timestamp(stripeHeader, ts)
	}
}

func (c *slackChecker) explain(e *explainer) {
	ts, st := e.header(slackTSHeader)
	if st == hMissing {
		return
	}
	if st == hPresent {
		if _, ok := parseTimestamp(ts); !ok {
			e.fail("timestamp "+slackTSHeader, "malformed "+slackTSHeader+" header", fmt.Sprintf("%q is not Unix seconds", ts))
			return
		}
	}
	val, sst := e.header(slackSigHeader)
	if sst == hMissing {
		return
	}
	var got []byte
	if sst == hPresent {
		hexSig, ok := strings.CutPrefix(val, "v0=")
		if ok {
			got, ok = decodeHexMAC(hexSig, sha256.Size)
		}
		if !ok {
			e.fail("format of "+slackSigHeader, "malformed "+slackSigHeader+" header", "want v0=<64 hex digits>")
			return
		}
	}
	ks := e.keys("secret", &c.secrets)
	if ks == nil {
		return
	}
	check := `signature (HMAC-SHA256 of "v0:<timestamp>:<body>")`
	switch {
	case got == nil || st != hPresent:
		e.cannot(check, "cannot be checked: the record redacts "+slackSigHeader)
	case !e.bodyWhole(check):
	case !e.match(check, sha256.New, ks, [][]byte{got}, []byte("v0:"), []byte(ts), []byte(":"), e.r.Body):
		return
	}
	if st == hPresent {
		e.timestamp(slackTSHeader, ts)
	}
}

func (c *standardChecker) explain(e *explainer) {
	id, ist := e.header(swIDHeader, "svix-id")
	if ist == hMissing {
		return
	}
	ts, tst := e.header(swTSHeader, "svix-timestamp")
	if tst == hMissing {
		return
	}
	if tst == hPresent {
		if _, ok := parseTimestamp(ts); !ok {
			e.fail("timestamp "+swTSHeader, "malformed "+swTSHeader+" header", fmt.Sprintf("%q is not Unix seconds", ts))
			return
		}
	}
	val, sst := e.header(swSigHeader, "svix-signature")
	if sst == hMissing {
		return
	}
	var macs, sigs [][]byte
	if sst == hPresent {
		items := strings.Fields(val)
		for _, item := range items {
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
			e.fail("signatures", "no usable signature in webhook-signature header",
				fmt.Sprintf("%d item%s, none a v1 (HMAC, with a secret listed) or v1a (Ed25519, with a public key listed) signature", len(items), plural(len(items))))
			return
		}
		e.ok("signatures", fmt.Sprintf("%d v1 and %d v1a usable (at most %d are tried)", len(macs), len(sigs), maxSignatures))
	}
	var ks, pks []labeled
	if len(c.secrets.creds) > 0 {
		ks = e.keys("secret", &c.secrets)
	}
	if len(c.publicKeys.creds) > 0 {
		pks = e.keys("public key", &c.publicKeys)
	}
	if ks == nil && pks == nil {
		return
	}
	check := `signature (of "<id>.<timestamp>.<body>")`
	switch {
	case sst != hPresent || ist != hPresent || tst != hPresent:
		e.cannot(check, "cannot be checked: the record redacts a header it needs")
	case !e.bodyWhole(check):
	default:
		msg := []byte(id + "." + ts + ".")
		msg = append(msg, e.r.Body...)
		if !e.standardMatch(check, ks, pks, macs, sigs, msg) {
			return
		}
	}
	if tst == hPresent {
		e.timestamp(swTSHeader, ts)
	}
}

// standardMatch reports which secret or public key signs msg.
func (e *explainer) standardMatch(check string, ks, pks []labeled, macs, sigs [][]byte, msg []byte) bool {
	if len(macs) > 0 {
		for i, k := range ks {
			want := macSum(sha256.New, k.key, msg)
			for _, got := range macs {
				if hmac.Equal(want, got) {
					e.matched(check, ks, i)
					return true
				}
			}
		}
	}
	if len(sigs) > 0 {
		for i, pk := range pks {
			for _, sig := range sigs {
				if ed25519.Verify(ed25519.PublicKey(pk.key), msg, sig) {
					e.matched(check, pks, i)
					return true
				}
			}
		}
	}
	e.fail(check, sigMismatch, tried(len(macs)+len(sigs), "signature", len(ks)+len(pks)))
	return false
}

func (c *hmacChecker) explain(e *explainer) {
	val, st := e.header(c.header)
	if st == hMissing {
		return
	}
	var got []byte
	if st == hPresent {
		s, ok := strings.CutPrefix(val, c.prefix)
		if ok {
			if c.base64 {
				got, ok = decodeBase64(s)
				ok = ok && len(got) == c.size
			} else {
				got, ok = decodeHexMAC(s, c.size)
			}
		}
		if !ok {
			e.fail("format of "+c.header, "malformed "+c.header+" header", fmt.Sprintf("want %q followed by the %s of %d bytes", c.prefix, c.encodingName(), c.size))
			return
		}
	}
	var ts string
	tst := hPresent
	if c.tsHeader != "" {
		if ts, tst = e.header(c.tsHeader); tst == hMissing {
			return
		}
		if _, ok := parseTimestamp(ts); tst == hPresent && !ok {
			e.fail("timestamp "+c.tsHeader, "malformed "+c.tsHeader+" header", fmt.Sprintf("%q is not Unix seconds", ts))
			return
		}
	}
	ks := e.keys("secret", &c.secrets)
	if ks == nil {
		return
	}
	parts := make([][]byte, len(c.layout))
	var layout strings.Builder
	for i, seg := range c.layout {
		switch seg.kind {
		case segBody:
			parts[i] = e.r.Body
			layout.WriteString("{body}")
		case segTimestamp:
			parts[i] = []byte(ts)
			layout.WriteString("{timestamp}")
		default:
			parts[i] = []byte(seg.text)
			layout.WriteString(seg.text)
		}
	}
	check := fmt.Sprintf("signature (HMAC of %q)", layout.String())
	switch {
	case got == nil || tst != hPresent:
		e.cannot(check, "cannot be checked: the record redacts a header it needs")
	case !e.bodyWhole(check):
	case !e.match(check, c.alg, ks, [][]byte{got}, parts...):
		return
	}
	if c.tsHeader != "" && tst == hPresent {
		e.timestamp(c.tsHeader, ts)
	}
}

func (c *basicChecker) explain(e *explainer) {
	val, st := e.header("Authorization")
	if st == hMissing {
		return
	}
	var user, pass string
	if st == hPresent {
		scheme, enc, ok := strings.Cut(val, " ")
		var raw []byte
		if ok && strings.EqualFold(scheme, "Basic") {
			var err error
			raw, err = base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
			ok = err == nil
		} else {
			ok = false
		}
		if ok {
			user, pass, ok = strings.Cut(string(raw), ":")
		}
		if !ok {
			e.fail("scheme", "malformed Authorization header", "want Basic <base64 of username:password>")
			return
		}
		e.ok("scheme", "Basic")
	}
	users := e.keys("username", &c.username)
	passes := e.keys("password", &c.passwords)
	if users == nil || passes == nil {
		return
	}
	if st != hPresent {
		e.cannot("credentials", "cannot be compared: the record redacts Authorization")
		return
	}
	ui, pi := -1, -1
	for i, k := range users {
		if tokenEqual(user, k.key) {
			ui = i
		}
	}
	for i, k := range passes {
		if tokenEqual(pass, k.key) {
			pi = i
		}
	}
	switch {
	case ui < 0 && pi < 0:
		e.fail("credentials", "credentials do not match", "neither the username nor the password matches")
	case ui < 0:
		e.fail("credentials", "credentials do not match", "the password matches, the username does not")
	case pi < 0:
		e.fail("credentials", "credentials do not match", "the username matches, the password does not")
	default:
		e.matched("credentials", passes, pi)
	}
}

func (c *ipChecker) explain(e *explainer) {
	var list []string
	for _, p := range c.prefixes {
		list = append(list, p.String())
	}
	allowed := strings.Join(list, ", ")
	addr, err := netip.ParseAddr(strings.TrimSpace(e.r.ClientIP))
	if err != nil {
		e.fail("client address", "client address unknown", fmt.Sprintf("%q is not an address", e.r.ClientIP))
		return
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range c.prefixes {
		if p.Contains(addr) {
			e.ok("client address", fmt.Sprintf("%s is in %s", addr, p))
			return
		}
	}
	e.fail("client address", "client address not allowed",
		fmt.Sprintf("%s is in none of %s (behind a proxy, is it in --trusted-proxies?)", addr, allowed))
}
