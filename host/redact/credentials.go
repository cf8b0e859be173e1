package redact

import (
	"strings"

	"github.com/hookhost/hookhost/host/verify"
	"github.com/hookhost/hookhost/templates/dict"
)

// credentialHeaders are request and response headers that carry
// credentials whatever scheme is used: besides these, every verify
// scheme's own headers (verify.SchemeHeaders) and the headers a webhook's
// verify blocks read (passed as extra) are credentials.
var credentialHeaders = []string{
	"Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Api-Key",
	"X-Gitea-Signature", "X-Gogs-Signature", "X-Signature", "X-Shopify-Hmac-Sha256", "X-Twilio-Signature",
	"X-Line-Signature", "X-Webhook-Signature", "X-Auth-Token", "X-Access-Token", "X-Webhook-Token",
}

// CredentialHeader reports whether a header called name carries a
// credential: a well-known credential header, a verify scheme's header, or
// one of extra (the headers a webhook's verify blocks read). Names compare
// case-insensitively, and "_" matches "-" (as automations see header
// names).
func CredentialHeader(name string, extra ...string) bool {
	n := strings.ReplaceAll(name, "_", "-")
	for _, list := range [][]string{credentialHeaders, verify.SchemeHeaders(), extra} {
		for _, h := range list {
			if strings.EqualFold(n, h) {
				return true
			}
		}
	}
	return false
}

// credentialWords are the parts of parameter and field names that mark a
// credential.
var credentialWords = []string{"token", "secret", "password", "passwd", "signature", "api_key", "apikey", "api-key", "credential"}

// CredentialParam reports whether a query parameter, form field or JSON
// field called name holds a credential (its name contains token, secret,
// password, signature, api_key...).
func CredentialParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Headers returns a copy of hs with credential headers (CredentialHeader
// with extra) replaced by "[redacted]" and every other value redacted
// with r.
func (r *Redactor) Headers(hs [][2]string, extra ...string) [][2]string {
	out := make([][2]string, len(hs))
	for i, h := range hs {
		if CredentialHeader(h[0], extra...) {
			out[i] = [2]string{h[0], Marker}
			continue
		}
		out[i] = [2]string{h[0], r.Redact(h[1])}
	}
	return out
}

// Inputs returns a copy of a run's inputs dictionary for display and
// storage: credential headers (request_headers and webhook_data's
// RequestHeader) and credential parameters (request_params) are replaced
// by "[redacted]", and every other string is redacted with r. The
// automation itself gets the real values.
func (r *Redactor) Inputs(in *dict.Map, extra ...string) *dict.Map {
	out := in.Clone()
	markKeys(out.Value("request_headers"), func(k string) bool { return CredentialHeader(k, extra...) })
	markKeys(out.Value("request_params"), CredentialParam)
	if wd, ok := out.Value("webhook_data").(*dict.Map); ok {
		markKeys(wd.Value("RequestHeader"), func(k string) bool { return CredentialHeader(k, extra...) })
	}
	m, _ := r.Value(out).(*dict.Map)
	return m
}

// markKeys replaces the values of the keys of v (a *dict.Map) that match.
func markKeys(v any, match func(string) bool) {
	m, ok := v.(*dict.Map)
	if !ok {
		return
	}
	m.Range(func(k string, _ any) bool {
		if match(k) {
			m.Set(k, Marker)
		}
		return true
	})
}
