package verify

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"regexp"
	"strings"
)

// credential is one secret:, token: or password: value: a literal, or the
// name of a stored secret.
type credential struct {
	literal string
	secret  string // set for a {{secrets.NAME}} placeholder
}

// placeholderRE matches a whole {{secrets.NAME}} placeholder.
var placeholderRE = regexp.MustCompile(`^\{\{\s*secrets\.([A-Za-z0-9_]{1,64})\s*\}\}$`)

// parseCredential reads a credential value; ok is false when the value
// holds template markup other than one {{secrets.NAME}} placeholder.
func parseCredential(s string) (credential, bool) {
	if m := placeholderRE.FindStringSubmatch(s); m != nil {
		return credential{secret: m[1]}, true
	}
	if strings.Contains(s, "{{") || strings.Contains(s, "}}") || strings.Contains(s, "{%") {
		return credential{}, false
	}
	return credential{literal: s}, true
}

// decodeFunc turns a resolved credential into key material, or fails when
// the value cannot be used (a malformed whsec_ secret).
type decodeFunc func(string) ([]byte, error)

func rawBytes(s string) ([]byte, error) { return []byte(s), nil }

// resolve returns the key material of every credential that is set.
// Literals were decoded at compile time (decoded holds them, by index);
// stored secrets are looked up now. Secrets that are not set are skipped;
// when none is left, or a lookup fails, or a value cannot be decoded, the
// error wraps ErrSecretUnavailable.
func (v *Verifier) resolve(cs []credential, decoded [][]byte, decode decodeFunc) ([][]byte, error) {
	out := make([][]byte, 0, len(cs))
	var unset []string
	for i, c := range cs {
		if c.secret == "" {
			out = append(out, decoded[i])
			continue
		}
		if v.lookup == nil {
			return nil, fmt.Errorf("%s: secret %q: no secret store is configured: %w", v.key, c.secret, ErrSecretUnavailable)
		}
		val, found, err := v.lookup(c.secret)
		if err != nil {
			// The lookup error is the store's; it does not hold the value.
			return nil, fmt.Errorf("%s: secret %q: %w: %w", v.key, c.secret, ErrSecretUnavailable, err)
		}
		if !found || val == "" {
			unset = append(unset, c.secret)
			continue
		}
		b, err := decode(val)
		if err != nil {
			return nil, fmt.Errorf("%s: secret %q: %s: %w", v.key, c.secret, err, ErrSecretUnavailable)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: secret %q is not set: %w", v.key, strings.Join(unset, `", "`), ErrSecretUnavailable)
	}
	return out, nil
}

// tokenEqual compares a received token with an expected one in constant
// time, independent of where they differ and of their lengths.
func tokenEqual(got string, want []byte) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256(want)
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// anyTokenEqual reports whether got equals one of want, comparing with
// every candidate.
func anyTokenEqual(got string, want [][]byte) bool {
	ok := 0
	for _, w := range want {
		if tokenEqual(got, w) {
			ok = 1
		}
	}
	return ok == 1
}
