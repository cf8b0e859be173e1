package verify_test

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/verify"
)

// marker is what records put in place of a credential header's value.
const marker = "[redacted]"

// TestExplain explains recorded requests: what each block can check from
// the record (presence, spellings, timestamps, client addresses, and
// signatures when the record kept them) and what it cannot (redacted
// credentials, a cut body). No explanation holds a credential.
func TestExplain(t *testing.T) {
	t.Parallel()
	const body = `{"ref":"main"}`
	ts := strconv.FormatInt(now.Unix(), 10)
	old := strconv.FormatInt(now.Unix()-900, 10)
	gh := "verify/gh:\n  type: github\n  secrets@list:\n    {{secrets.hook}}\n    {{secrets.hook_old}}\n"
	for _, tc := range []struct {
		name    string
		src     string
		headers [][2]string
		body    string
		ip      string
		cut     bool
		verdict string
		reason  string
		// steps lists "check: result" of steps that must be there, and
		// details holds text some step's detail must hold.
		steps   []string
		details []string
	}{
		{name: "GitHubMissingHeader", src: gh, headers: [][2]string{{"Content-Type", "application/json"}},
			verdict: verify.VerdictFail, reason: "missing X-Hub-Signature-256 header",
			steps: []string{"header X-Hub-Signature-256: failed"}},
		{name: "GitHubRedacted", src: gh, headers: [][2]string{{"X-Hub-Signature-256", marker}},
			verdict: verify.VerdictUnknown, reason: "present; the record redacts its value",
			steps:   []string{"header X-Hub-Signature-256: unknown", "secrets: info", "signature (HMAC-SHA256 of the body): unknown"},
			details: []string{"2 listed: secret hook (set), secret hook_old (set); 2 tried now"}},
		{name: "GitHubOlderSecretMatches", src: gh, headers: [][2]string{{"X-Hub-Signature-256", githubSig(labSecrets["hook_old"], body)}},
			verdict: verify.VerdictPass, steps: []string{"format of X-Hub-Signature-256: ok", "signature (HMAC-SHA256 of the body): ok"},
			details: []string{"matches secret hook_old (#2 of the 2 set); the sender does not use the first one listed"}},
		{name: "GitHubNoSecretMatches", src: gh, headers: [][2]string{{"X-Hub-Signature-256", githubSig("another secret", body)}},
			verdict: verify.VerdictFail, reason: "signature does not match",
			details: []string{"1 signature received, tried against 2 credentials set now: none matches"}},
		{name: "GitHubBodyCut", src: gh, headers: [][2]string{{"X-Hub-Signature-256", githubSig(labSecrets["hook"], body)}}, cut: true,
			verdict: verify.VerdictUnknown, reason: "the record keeps only the start of the body"},
		{name: "GitHubMalformed", src: gh, headers: [][2]string{{"X-Hub-Signature-256", "sha1=abc"}},
			verdict: verify.VerdictFail, reason: "malformed X-Hub-Signature-256 header"},
		{name: "GitHubSecretsNotSet", src: "verify/gh:\n  type: github\n  secret: {{secrets.empty_one}}\n", headers: [][2]string{{"X-Hub-Signature-256", marker}},
			verdict: verify.VerdictUnknown, details: []string{"1 listed: secret empty_one (not set); with none usable the request is answered 500"}},
		{name: "StandardSvixSpellingsAndOldTimestamp", src: "verify/sw:\n  type: standard_webhooks\n  secret: {{secrets.whsec}}\n",
			headers: [][2]string{{"svix-id", "msg_1"}, {"svix-timestamp", old}, {"svix-signature", marker}},
			verdict: verify.VerdictFail, reason: "timestamp outside the 300s window",
			steps: []string{"header webhook-id: ok", "header webhook-signature: unknown", "timestamp webhook-timestamp: failed"},
			details: []string{"present as svix-id (tried webhook-id, then svix-id)",
				old + " (2023-11-14T21:58:20Z) is 900s before the request arrived; the window is ±300s"}},
		{name: "StandardMissingID", src: "verify/sw:\n  type: standard_webhooks\n  secret: {{secrets.whsec}}\n",
			headers: [][2]string{{"webhook-timestamp", ts}}, verdict: verify.VerdictFail, reason: "missing webhook-id header",
			details: []string{"not in the request (tried webhook-id, then svix-id)"}},
		{name: "SlackRedactedSignatureFreshTimestamp", src: "verify/s:\n  type: slack\n  secret: {{secrets.hook}}\n",
			headers: [][2]string{{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", marker}},
			verdict: verify.VerdictUnknown, steps: []string{"timestamp X-Slack-Request-Timestamp: ok"},
			details: []string{"is 0s from when the request arrived, within the ±300s window"}},
		{name: "SlackReadableSignature", src: "verify/s:\n  type: slack\n  secret: {{secrets.hook}}\n",
			headers: slackHeaders(labSecrets["hook"], now.Unix(), body), verdict: verify.VerdictPass},
		{name: "StripeRedacted", src: "verify/s:\n  type: stripe\n  secret: {{secrets.hook}}\n", headers: [][2]string{{"Stripe-Signature", marker}},
			verdict: verify.VerdictUnknown, details: []string{"inside Stripe-Signature, which the record redacts"}},
		{name: "StripeReadableTooOld", src: "verify/s:\n  type: stripe\n  secret: {{secrets.hook}}\n",
			headers: [][2]string{{"Stripe-Signature", stripeSig(labSecrets["hook"], now.Unix()-900, body)}},
			verdict: verify.VerdictFail, reason: "timestamp outside the 300s window", details: []string{"matches secret hook"}},
		{name: "HMACWithTimestamp", src: "verify/h:\n  type: hmac\n  header: X-Sig\n  secret: {{secrets.hook}}\n  timestamp_header: X-Ts\n",
			headers: [][2]string{{"X-Ts", ts}, {"X-Sig", macHex(sha256.New, labSecrets["hook"], ts+"."+body)}}, verdict: verify.VerdictPass,
			steps: []string{`signature (HMAC of "{timestamp}.{body}"): ok`}},
		{name: "BearerRedacted", src: "verify/b:\n  type: bearer\n  token: {{secrets.token}}\n", headers: [][2]string{{"Authorization", marker}},
			verdict: verify.VerdictUnknown, details: []string{"cannot be compared: the record redacts Authorization"}},
		{name: "HeaderTokenWrong", src: "verify/k:\n  type: header\n  header: X-Key\n  tokens@list:\n    literal-token-value-81\n    {{secrets.token}}\n",
			headers: [][2]string{{"X-Key", "nope"}}, verdict: verify.VerdictFail, reason: "token does not match",
			details: []string{"2 listed: value #1 written in verify/k (set), secret token (set)"}},
		{name: "BasicPasswordWrong", src: "verify/b:\n  type: basic\n  username: alice\n  password: {{secrets.pass}}\n",
			headers: [][2]string{{"Authorization", "Basic YWxpY2U6d3Jvbmc="}}, verdict: verify.VerdictFail, reason: "credentials do not match",
			details: []string{"the username matches, the password does not"}},
		{name: "IPNotAllowed", src: "verify/ip:\n  type: ip_allow\n  cidrs@list:\n    10.0.0.0/8\n    192.0.2.7\n", ip: "198.51.100.4",
			verdict: verify.VerdictFail, reason: "client address not allowed", details: []string{"198.51.100.4 is in none of 10.0.0.0/8, 192.0.2.7/32"}},
		{name: "IPAllowed", src: "verify/ip:\n  type: ip_allow\n  cidrs: 10.0.0.0/8\n", ip: "::ffff:10.1.2.3",
			verdict: verify.VerdictPass, details: []string{"10.1.2.3 is in 10.0.0.0/8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := compileOne(t, tc.src, verify.Options{Secret: labLookup})
			b := tc.body
			if b == "" {
				b = body
			}
			r := &verify.Recorded{Request: verify.Request{Headers: tc.headers, Body: []byte(b), ClientIP: tc.ip},
				At: now, Marker: marker, BodyCut: tc.cut}
			ex := v.Explain(r)
			require.Equal(t, v.Key(), ex.Block)
			require.Equal(t, v.Type(), ex.Type)
			var all []string
			var details strings.Builder
			for _, s := range ex.Steps {
				all = append(all, s.Check+": "+s.Result)
				details.WriteString(s.Detail + "\n")
			}
			require.Equal(t, tc.verdict, ex.Verdict, "reason %q, steps %q", ex.Reason, all)
			require.Contains(t, ex.Reason, tc.reason)
			if tc.verdict == verify.VerdictPass {
				require.Empty(t, ex.Reason)
			}
			for _, s := range tc.steps {
				require.Contains(t, all, s)
			}
			for _, d := range tc.details {
				require.Contains(t, details.String(), d)
			}
			text := fmt.Sprintf("%+v", ex)
			requireNoLeak(t, text, labValues()...)
			for _, h := range tc.headers {
				if strings.Contains(strings.ToLower(h[0]), "sig") && h[1] != marker {
					requireNoLeak(t, text, h[1])
				}
			}
			// On a record that kept everything, Explain agrees with Verify.
			redacted := tc.cut
			for _, h := range tc.headers {
				redacted = redacted || h[1] == marker
			}
			if !redacted {
				err := v.Verify(&r.Request, now)
				require.Equal(t, tc.verdict == verify.VerdictPass, err == nil, "Verify: %v", err)
				if err != nil {
					var ve *verify.Error
					require.ErrorAs(t, err, &ve)
					require.Equal(t, ex.Reason, ve.Reason, "Explain words the refusal as Verify does")
				}
			}
		})
	}
}
