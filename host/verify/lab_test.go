package verify_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/verify"
)

// labSecrets are the stored secrets of the lab and explanation tests.
var labSecrets = map[string]string{
	"hook":      "Lab-Secret-Current-4f1c",
	"hook_old":  "Lab-Secret-Older-9a2e",
	"token":     "Lab-Token-77d1e0",
	"pass":      "Lab-Password-3b8c",
	"user":      "lab-stored-user",
	"whsec":     "whsec_" + base64.StdEncoding.EncodeToString([]byte("Lab-Standard-Key-5e6f")),
	"empty_one": "",
}

// labLookup resolves {{secrets.NAME}} from labSecrets ("" is not set).
func labLookup(name string) (string, bool, error) {
	v, ok := labSecrets[name]
	return v, ok && v != "", nil
}

// labValues lists every secret value, to check that nothing leaks one.
func labValues() []string {
	out := []string{"literal-token-value-81"}
	for _, v := range labSecrets {
		if v != "" {
			out = append(out, v, base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	return out
}

// TestSample makes a sample request for every type and checks that it
// passes its block: a signed sample as it is, one with a placeholder once
// the sender puts the credential there. No sample holds a credential.
func TestSample(t *testing.T) {
	t.Parallel()
	priv := ed25519.NewKeyFromSeed([]byte("hookhost-test-seed-32-bytes-long"))
	whpk := "whpk_" + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	for _, tc := range []struct {
		name string
		src  string
		// fill replaces the placeholders with what a sender sends.
		fill        map[string]string
		placeholder bool
		allowed     []string
		note        string
		err         string
	}{
		{name: "GitHub", src: "verify/gh:\n  type: github\n  secrets@list:\n    {{secrets.empty_one}}\n    {{secrets.hook}}\n    {{secrets.hook_old}}\n",
			note: "signed with secret hook (the first of the 3 listed that is set; any of them passes)"},
		{name: "GitLab", src: "verify/gl:\n  type: gitlab\n  token: {{secrets.token}}\n", placeholder: true,
			fill: map[string]string{"<the token in secret token>": labSecrets["token"]}},
		{name: "Stripe", src: "verify/s:\n  type: stripe\n  secret: {{secrets.hook}}\n  tolerance_secs@int: 60\n", note: "passes for 60s"},
		{name: "Slack", src: "verify/s:\n  type: slack\n  secret: {{secrets.hook}}\n"},
		{name: "StandardWebhooks", src: "verify/sw:\n  type: standard_webhooks\n  secret: {{secrets.whsec}}\n", note: "svix-id"},
		{name: "StandardWebhooksPublicKeyOnly", src: "verify/sw:\n  type: standard_webhooks\n  public_key: " + whpk + "\n",
			placeholder: true, note: "public keys only"},
		{name: "HMACHex", src: "verify/h:\n  type: hmac\n  header: X-Sig\n  secret: {{secrets.hook}}\n  prefix: sha1=\n  algorithm: sha1\n"},
		{name: "HMACBase64Timestamp", src: "verify/h:\n  type: hmac\n  header: X-Sig\n  secret: {{secrets.hook}}\n  encoding: base64\n  algorithm: sha512\n  timestamp_header: X-Ts\n  signed_payload: v1:{timestamp}:{body}\n",
			note: `the base64 HMAC of "v1:{timestamp}:{body}"`},
		{name: "Basic", src: "verify/b:\n  type: basic\n  username: alice\n  password: {{secrets.pass}}\n", placeholder: true,
			fill: map[string]string{`<base64 of "alice:<the password in secret pass>">`: base64.StdEncoding.EncodeToString([]byte("alice:" + labSecrets["pass"]))}},
		{name: "BasicStoredUsername", src: "verify/b:\n  type: basic\n  username: {{secrets.user}}\n  password: {{secrets.pass}}\n", placeholder: true,
			fill: map[string]string{`<base64 of "<the username in secret user>:<the password in secret pass>">`: base64.StdEncoding.EncodeToString([]byte(labSecrets["user"] + ":" + labSecrets["pass"]))}},
		{name: "Bearer", src: "verify/b:\n  type: bearer\n  tokens@list:\n    literal-token-value-81\n    {{secrets.token}}\n", placeholder: true,
			fill: map[string]string{"<the token, value #1 written in verify/b>": "literal-token-value-81"}, note: "any of the 2 tokens listed passes"},
		{name: "Header", src: "verify/k:\n  type: header\n  header: X-Key\n  token: {{secrets.token}}\n", placeholder: true,
			fill: map[string]string{"<the token in secret token>": labSecrets["token"]}},
		{name: "IPAllow", src: "verify/ip:\n  type: ip_allow\n  cidrs@list:\n    10.0.0.0/8\n    192.0.2.7\n", allowed: []string{"10.0.0.0/8", "192.0.2.7/32"}},
		{name: "SecretNotSet", src: "verify/gh:\n  type: github\n  secret: {{secrets.missing}}\n", err: `verify/gh: secret "missing" is not set`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := compileOne(t, tc.src, verify.Options{Secret: labLookup})
			s, err := v.Sample(nil, now)
			if tc.err != "" {
				require.ErrorIs(t, err, verify.ErrSecretUnavailable)
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "POST", s.Method)
			require.Equal(t, verify.SampleBody, string(s.Body))
			require.Equal(t, tc.placeholder, s.Placeholder)
			require.Equal(t, tc.allowed, s.Allowed)
			text := fmt.Sprintf("%q %q", s.Headers, s.Notes)
			requireNoLeak(t, text, labValues()...)
			if tc.note != "" {
				require.Contains(t, strings.Join(s.Notes, "\n"), tc.note)
			}

			r := &verify.Request{Body: s.Body, ClientIP: "192.0.2.7"}
			for _, h := range s.Headers {
				val := h[1]
				for ph, real := range tc.fill {
					val = strings.ReplaceAll(val, ph, real)
				}
				r.Headers = append(r.Headers, [2]string{h[0], val})
			}
			if tc.name == "StandardWebhooksPublicKeyOnly" {
				id, _ := r.Header("webhook-id")
				ts, _ := r.Header("webhook-timestamp")
				sig := ed25519.Sign(priv, []byte(id+"."+ts+"."+string(s.Body)))
				for i, h := range r.Headers {
					if h[0] == "webhook-signature" {
						r.Headers[i][1] = "v1a," + base64.StdEncoding.EncodeToString(sig)
					}
				}
			}
			require.NoError(t, v.Verify(r, now), "the sample passes: %q", s.Headers)
			require.NoError(t, v.Verify(r, now.Add(-30*time.Second)), "within the window")
		})
	}
}
