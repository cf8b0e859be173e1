package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SampleBody is the body of a sample request when the caller gives none.
const SampleBody = `{"hello":"world"}`

// Sample is a request that passes one verify block, made with the block's
// current credentials (Verifier.Sample): what a sender must send. It never
// holds a credential: a signature over the sample body is shown (it
// reveals nothing of the secret), but where the scheme sends the
// credential itself (a token, a password) the header value is a
// placeholder that names where the credential is kept, such as
// "<the token in secret deploy_token>", and Placeholder is set.
type Sample struct {
	Method  string
	Headers [][2]string
	Body    []byte
	// Placeholder reports that a header value is a placeholder the sender
	// replaces with the credential.
	Placeholder bool
	// Allowed lists, for ip_allow, the client addresses that pass (CIDR
	// prefixes; a single address as /32 or /128).
	Allowed []string
	// Notes say how the sample was made and what a sender must do.
	Notes []string
}

// Sample returns a request that passes the block at time now (timestamps
// are now), with body (SampleBody when empty) signed with the block's
// current credential: the first one listed that is set (for a rotation,
// list the new secret first). It fails, wrapping ErrSecretUnavailable, when
// no credential is set or a stored one cannot be used; the error names the
// secret, never its value.
func (v *Verifier) Sample(body []byte, now time.Time) (*Sample, error) {
	if len(body) == 0 {
		body = []byte(SampleBody)
	}
	s := &Sample{Method: "POST", Body: body}
	if err := v.check.sample(v, s, now); err != nil {
		return nil, err
	}
	s.Headers = append(s.Headers, [2]string{"Content-Type", "application/json"})
	return s, nil
}

// credLabel names credential i for people: the stored secret's name, or
// where the literal is written. Never the value.
func (v *Verifier) credLabel(c credential, i int) string {
	if c.secret != "" {
		return "secret " + c.secret
	}
	return fmt.Sprintf("value #%d written in %s", i+1, v.key)
}

// current returns the key material of the first credential of k that is
// set, and its label. Like resolve, it fails (wrapping
// ErrSecretUnavailable) when a lookup fails or a value cannot be decoded,
// or none is set.
func (k *keys) current(v *Verifier) ([]byte, string, error) {
	var unset []string
	for i, c := range k.creds {
		b, set, err := k.one(v, i)
		if err != nil {
			return nil, "", err
		}
		if set {
			return b, v.credLabel(c, i), nil
		}
		unset = append(unset, c.secret)
	}
	return nil, "", fmt.Errorf("%s: secret %q is not set: %w", v.key, strings.Join(unset, `", "`), ErrSecretUnavailable)
}

// one returns the key material of credential i of k, and whether it is
// set (a literal always is). Like resolve, it fails (wrapping
// ErrSecretUnavailable) when a lookup fails or a value cannot be decoded.
func (k *keys) one(v *Verifier, i int) ([]byte, bool, error) {
	c := k.creds[i]
	if c.secret == "" {
		return k.decoded[i], true, nil
	}
	if v.lookup == nil {
		return nil, false, fmt.Errorf("%s: secret %q: no secret store is configured: %w", v.key, c.secret, ErrSecretUnavailable)
	}
	val, found, err := v.lookup(c.secret)
	if err != nil {
		return nil, false, fmt.Errorf("%s: secret %q: %w: %w", v.key, c.secret, ErrSecretUnavailable, err)
	}
	if !found || val == "" {
		return nil, false, nil
	}
	b, err := k.decode(val)
	if err != nil {
		return nil, false, fmt.Errorf("%s: secret %q: %s: %w", v.key, c.secret, err, ErrSecretUnavailable)
	}
	return b, true, nil
}

// placeholder is what a sample shows instead of the credential of k: the
// label of the one that is set, "<the token in secret deploy_token>".
func (k *keys) placeholder(v *Verifier, what string) (string, error) {
	_, label, err := k.current(v)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(label, "secret ") {
		return "<the " + what + " in " + label + ">", nil
	}
	return "<the " + what + ", " + label + ">", nil
}

// signedWith is the note of a signed sample.
func signedWith(label string, n int) string {
	note := "signed with " + label
	if n > 1 {
		note += fmt.Sprintf(" (the first of the %d listed that is set; any of them passes)", n)
	}
	return note
}

func (c *githubChecker) sample(v *Verifier, s *Sample, _ time.Time) error {
	key, label, err := c.secrets.current(v)
	if err != nil {
		return err
	}
	s.Headers = append(s.Headers, [2]string{githubHeader, "sha256=" + hex.EncodeToString(macSum(sha256.New, key, s.Body))})
	s.Notes = append(s.Notes, signedWith(label, len(c.secrets.creds)),
		"X-Hub-Signature-256 is the hex HMAC-SHA256 of the raw body: a body changed in any byte needs a new signature")
	return nil
}

func (c *tokenChecker) sample(v *Verifier, s *Sample, _ time.Time) error {
	ph, err := c.tokens.placeholder(v, "token")
	if err != nil {
		return err
	}
	value := ph
	if c.bearer {
		value = "Bearer " + ph
	}
	s.Headers = append(s.Headers, [2]string{c.header, value})
	s.Placeholder = true
	s.Notes = append(s.Notes, fmt.Sprintf("the sender puts the token itself in %s; it is never shown here", c.header))
	if len(c.tokens.creds) > 1 {
		s.Notes = append(s.Notes, fmt.Sprintf("any of the %d tokens listed passes", len(c.tokens.creds)))
	}
	return nil
}

func (c *stripeChecker) sample(v *Verifier, s *Sample, now time.Time) error {
	key, label, err := c.secrets.current(v)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := hex.EncodeToString(macSum(sha256.New, key, []byte(ts), []byte("."), s.Body))
	s.Headers = append(s.Headers, [2]string{stripeHeader, "t=" + ts + ",v1=" + sig})
	s.Notes = append(s.Notes, signedWith(label, len(c.secrets.creds)),
		fmt.Sprintf("the timestamp t= is now; the sample passes for %ds", int64(v.window/time.Second)))
	return nil
}

func (c *slackChecker) sample(v *Verifier, s *Sample, now time.Time) error {
	key, label, err := c.secrets.current(v)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := hex.EncodeToString(macSum(sha256.New, key, []byte("v0:"), []byte(ts), []byte(":"), s.Body))
	s.Headers = append(s.Headers, [2]string{slackTSHeader, ts}, [2]string{slackSigHeader, "v0=" + sig})
	s.Notes = append(s.Notes, signedWith(label, len(c.secrets.creds)),
		fmt.Sprintf("the timestamp is now; the sample passes for %ds", int64(v.window/time.Second)))
	return nil
}

func (c *standardChecker) sample(v *Verifier, s *Sample, now time.Time) error {
	id := "msg_hookhost_sample_" + strconv.FormatInt(now.Unix(), 10)
	ts := strconv.FormatInt(now.Unix(), 10)
	s.Headers = append(s.Headers, [2]string{swIDHeader, id}, [2]string{swTSHeader, ts})
	if len(c.secrets.creds) == 0 {
		// Only public keys: the signature needs the sender's private key.
		if _, _, err := c.publicKeys.current(v); err != nil {
			return err
		}
		s.Headers = append(s.Headers, [2]string{swSigHeader, "v1a,<base64 Ed25519 signature of \"" + id + "." + ts + ".<body>\" by the sender's private key>"})
		s.Placeholder = true
		s.Notes = append(s.Notes, "this block holds public keys only (whpk_): a signature needs the sender's private key, which hookhost never has")
		return nil
	}
	key, label, err := c.secrets.current(v)
	if err != nil {
		return err
	}
	sig := base64.StdEncoding.EncodeToString(macSum(sha256.New, key, []byte(id), []byte("."), []byte(ts), []byte("."), s.Body))
	s.Headers = append(s.Headers, [2]string{swSigHeader, "v1," + sig})
	s.Notes = append(s.Notes, signedWith(label, len(c.secrets.creds)),
		"svix-id, svix-timestamp and svix-signature are accepted in place of the webhook-* headers",
		fmt.Sprintf("the timestamp is now; the sample passes for %ds", int64(v.window/time.Second)))
	if len(c.publicKeys.creds) > 0 {
		s.Notes = append(s.Notes, "a v1a Ed25519 signature by the sender's private key passes too")
	}
	return nil
}

func (c *hmacChecker) sample(v *Verifier, s *Sample, now time.Time) error {
	key, label, err := c.secrets.current(v)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	parts := make([][]byte, len(c.layout))
	var layout strings.Builder
	for i, seg := range c.layout {
		switch seg.kind {
		case segBody:
			parts[i] = s.Body
			layout.WriteString("{body}")
		case segTimestamp:
			parts[i] = []byte(ts)
			layout.WriteString("{timestamp}")
		default:
			parts[i] = []byte(seg.text)
			layout.WriteString(seg.text)
		}
	}
	mac := macSum(c.alg, key, parts...)
	enc := hex.EncodeToString(mac)
	if c.base64 {
		enc = base64.StdEncoding.EncodeToString(mac)
	}
	if c.tsHeader != "" {
		s.Headers = append(s.Headers, [2]string{c.tsHeader, ts})
	}
	s.Headers = append(s.Headers, [2]string{c.header, c.prefix + enc})
	s.Notes = append(s.Notes, signedWith(label, len(c.secrets.creds)),
		fmt.Sprintf("%s holds %q followed by the %s HMAC of %q", c.header, c.prefix, c.encodingName(), layout.String()))
	if c.tsHeader != "" {
		s.Notes = append(s.Notes, fmt.Sprintf("the timestamp is now; the sample passes for %ds", int64(v.window/time.Second)))
	}
	return nil
}

// encodingName names the signature's encoding for notes.
func (c *hmacChecker) encodingName() string {
	if c.base64 {
		return "base64"
	}
	return "hex"
}

func (c *basicChecker) sample(v *Verifier, s *Sample, _ time.Time) error {
	user, err := c.usernameShown(v)
	if err != nil {
		return err
	}
	pass, err := c.passwords.placeholder(v, "password")
	if err != nil {
		return err
	}
	s.Headers = append(s.Headers, [2]string{"Authorization", `Basic <base64 of "` + user + ":" + pass + `">`})
	s.Placeholder = true
	s.Notes = append(s.Notes, "the sender sends Authorization: Basic with the base64 of username:password (curl -u); the password is never shown here")
	return nil
}

// usernameShown is the username a sample shows: a literal as written (a
// username is no secret), a stored one as a placeholder.
func (c *basicChecker) usernameShown(v *Verifier) (string, error) {
	_, label, err := c.username.current(v)
	if err != nil {
		return "", err
	}
	for i, cr := range c.username.creds {
		if cr.secret == "" && v.credLabel(cr, i) == label {
			return cr.literal, nil
		}
	}
	return c.username.placeholder(v, "username")
}

func (c *ipChecker) sample(_ *Verifier, s *Sample, _ time.Time) error {
	for _, p := range c.prefixes {
		s.Allowed = append(s.Allowed, p.String())
	}
	s.Notes = append(s.Notes, "no header: the request passes when it comes from one of the allowed addresses (behind a proxy, the address --trusted-proxies gives)")
	return nil
}
