package verify

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hookhost/hookhost/automations/kata"
)

// DefaultReplayWindow is how far a signed timestamp may be from the current
// time when neither Options.ReplayWindow nor tolerance_secs says otherwise.
const DefaultReplayWindow = 5 * time.Minute

// ErrSecretUnavailable is wrapped by the errors of Verify when a stored
// secret named by a {{secrets.NAME}} placeholder is not set, cannot be used
// (a Standard Webhooks secret that is not base64, say) or could not be
// looked up. It is a server-side failure, not a refusal of the request.
var ErrSecretUnavailable = errors.New("secret unavailable")

// Options configure Compile.
type Options struct {
	// Secret resolves a {{secrets.NAME}} placeholder to the secret's value.
	// It is called on every Verify (never by Compile), so a rotated secret
	// takes effect at once. found is false when the secret is not set.
	// Optional: without it, placeholders fail at verify time.
	Secret func(name string) (value string, found bool, err error)
	// ReplayWindow is how far a signed timestamp may be in the past or the
	// future. Optional. Default: DefaultReplayWindow (5 minutes). A block's
	// tolerance_secs@int: overrides it.
	ReplayWindow time.Duration
}

// Request is what verification needs of an incoming request.
type Request struct {
	// Headers in their original spelling and order; lookups ignore case and
	// take the first header of a name.
	Headers [][2]string
	// Body is the raw body as received: signatures are computed over these
	// exact bytes.
	Body []byte
	// ClientIP is the client address after trusted proxies were applied
	// ("203.0.113.7" or "2001:db8::1"); only ip_allow uses it.
	ClientIP string
}

// Header returns the value of the first header named name (any case) and
// whether there is one.
func (r *Request) Header(name string) (string, bool) {
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

// Error is a refused request. Its text names the block and a reason such as
// "signature does not match"; it never holds an expected value, a secret or
// the signature the request carried.
type Error struct {
	// Status is the HTTP status to answer: 401, or 403 for ip_allow.
	Status int
	// Block is the key of the block that refused the request ("verify/github").
	Block string
	// Reason says why, for the caller and the logs.
	Reason string
	// Kind classifies the refusal for metrics: KindMissing,
	// KindMalformed, KindMismatch, KindTimestamp or KindAddress.
	Kind string
	// Challenge is a WWW-Authenticate value to send with a 401 from the
	// basic and bearer types, or "".
	Challenge string
}

func (e *Error) Error() string {
	if e.Block == "" {
		return "verify: " + e.Reason
	}
	return e.Block + ": " + e.Reason
}

// Verifier checks requests against one compiled verify/<name>: block. It is
// immutable and safe for concurrent use.
type Verifier struct {
	key       string
	typ       string
	pos       kata.Pos
	window    time.Duration
	status    int
	challenge string
	lookup    func(string) (string, bool, error)
	check     checker
	secrets   []string // names of the stored secrets the block refers to
}

// checker is the part of a Verifier that depends on its type.
type checker interface {
	verify(v *Verifier, r *Request, now time.Time) error
	// credentialHeaders names the request headers that carry this block's
	// credential (a signature, a token, a password): they are redacted from
	// every record.
	credentialHeaders() []string
	// sample fills in a request that passes (lab.go).
	sample(v *Verifier, s *Sample, now time.Time) error
	// explain checks a recorded request step by step (explain.go).
	explain(e *explainer)
}

// CredentialHeaders names the request headers whose values carry this
// block's credential (a signature, a token, a password), so that records
// never keep them: the fixed header of its scheme, or the header a
// `header:`/`hmac` block names.
func (v *Verifier) CredentialHeaders() []string { return v.check.credentialHeaders() }

// SchemeHeaders names the credential headers of every verify scheme that
// has a fixed one (X-Hub-Signature-256, Stripe-Signature, webhook-signature,
// Authorization...), whether or not a webhook verifies them: a caller may
// send them to any webhook.
func SchemeHeaders() []string {
	return []string{"Authorization", githubHeader, "X-Hub-Signature", gitlabHeader, stripeHeader, slackSigHeader,
		swSigHeader, "svix-signature"}
}

// Key is the block's key, "verify/github".
func (v *Verifier) Key() string { return v.key }

// Name is the part of the key after "verify/", "github".
func (v *Verifier) Name() string { return strings.TrimPrefix(v.key, "verify/") }

// Type is the block's type:, "github".
func (v *Verifier) Type() string { return v.typ }

// Pos is the position of the block's key in the event KATA.
func (v *Verifier) Pos() kata.Pos { return v.pos }

// SecretNames lists the stored secrets the block refers to through
// {{secrets.NAME}} placeholders, in written order, without repeats.
func (v *Verifier) SecretNames() []string { return append([]string(nil), v.secrets...) }

// Verify checks r at time now. It returns nil when the request passes, a
// *Error when it is refused, and an error wrapping ErrSecretUnavailable when
// a stored secret cannot be used.
func (v *Verifier) Verify(r *Request, now time.Time) error {
	if r == nil {
		return v.refuse(KindMissing, "no request")
	}
	return v.check.verify(v, r, now)
}

// VerifyAll checks r against every verifier in order and returns the first
// failure: all of them must pass.
func VerifyAll(vs []*Verifier, r *Request, now time.Time) error {
	for _, v := range vs {
		if err := v.Verify(r, now); err != nil {
			return err
		}
	}
	return nil
}

// Kinds of refusal (Error.Kind).
const (
	KindMissing   = "missing"   // a header the scheme needs is absent
	KindMalformed = "malformed" // a header cannot be read
	KindMismatch  = "mismatch"  // a signature, token or password does not match
	KindTimestamp = "timestamp" // the signed timestamp is outside the window
	KindAddress   = "address"   // the client address is not allowed
)

// fail returns the refusal of the block with reason, of KindMismatch.
func (v *Verifier) fail(reason string) *Error { return v.refuse(KindMismatch, reason) }

// refuse returns the refusal of the block with its kind and reason.
func (v *Verifier) refuse(kind, reason string) *Error {
	e := &Error{Status: v.status, Block: v.key, Reason: reason, Kind: kind, Challenge: v.challenge}
	if v.status == 0 {
		e.Status = http.StatusUnauthorized
	}
	return e
}

// missing is the refusal for an absent header.
func (v *Verifier) missing(header string) *Error {
	return v.refuse(KindMissing, "missing "+header+" header")
}

// malformed is the refusal for a header that cannot be read.
func (v *Verifier) malformed(header string) *Error {
	return v.refuse(KindMalformed, "malformed "+header+" header")
}

// header returns the trimmed value of a header; an empty value counts as
// missing.
func header(r *Request, name string) (string, bool) {
	s, ok := r.Header(name)
	s = strings.TrimSpace(s)
	return s, ok && s != ""
}

// maxTimestamp bounds accepted Unix timestamps (year 33658) so that
// arithmetic on them cannot overflow.
const maxTimestamp = 1 << 40

// checkTimestamp parses a Unix timestamp in seconds from the named header
// value and checks it against the block's window.
func (v *Verifier) checkTimestamp(headerName, ts string, now time.Time) *Error {
	sec, ok := parseTimestamp(ts)
	if !ok {
		return v.malformed(headerName)
	}
	d := now.Unix() - sec
	if d < 0 {
		d = -d
	}
	if d > int64(v.window/time.Second) {
		return v.refuse(KindTimestamp, fmt.Sprintf("timestamp outside the %ds window", int64(v.window/time.Second)))
	}
	return nil
}

// parseTimestamp parses decimal Unix seconds, digits only.
func parseTimestamp(s string) (int64, bool) {
	if s == "" || len(s) > 13 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= maxTimestamp
}
