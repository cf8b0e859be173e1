package verify_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/host/verify"
)

// requireNoLeak fails when text holds any of the secrets, in any case.
func requireNoLeak(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		require.NotContains(t, strings.ToLower(text), strings.ToLower(s), "error text leaks a secret or signature")
	}
}

// TestErrorsLeakNoSecret checks, in the manner of alertmanager's
// AssertNotifyLeaksNoSecret, that no refusal and no secret failure holds the
// secret, the signature the request should have carried, or the one it did
// carry.
func TestErrorsLeakNoSecret(t *testing.T) {
	t.Parallel()
	const secret = "TopSecretValue-9f8e7d"
	const stored = "StoredSecretValue-1a2b3c"
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte(secret))
	ts := now.Unix()
	tsStr := fmt.Sprint(ts)

	// expected signatures for body under secret, as each scheme encodes them.
	hexOf := func(msg string) string { return macHex(sha256.New, secret, msg) }
	b64Of := func(msg string) string { return macB64(sha256.New, []byte(secret), msg) }
	expected := []string{
		hexOf(body), hexOf(tsStr + "." + body), hexOf("v0:" + tsStr + ":" + body),
		b64Of(body), b64Of("msg_1." + tsStr + "." + body), b64Of(tsStr + "." + body),
	}
	received := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	receivedB64 := base64.StdEncoding.EncodeToString([]byte("received-signature-bytes-32-long"))

	blocks := []string{
		"verify/a:\n  type: github\n  secret: " + secret + "\n",
		"verify/a:\n  type: gitlab\n  token: " + secret + "\n",
		"verify/a:\n  type: stripe\n  secret: " + secret + "\n",
		"verify/a:\n  type: slack\n  secret: " + secret + "\n",
		"verify/a:\n  type: standard_webhooks\n  secret: " + whsec + "\n",
		"verify/a:\n  type: hmac\n  header: X-Sig\n  secret: " + secret + "\n",
		"verify/a:\n  type: hmac\n  header: X-Sig\n  secret: " + secret + "\n  encoding: base64\n  timestamp_header: X-Ts\n",
		"verify/a:\n  type: basic\n  username: " + secret + "\n  password: " + secret + "\n",
		"verify/a:\n  type: bearer\n  token: " + secret + "\n",
		"verify/a:\n  type: header\n  header: X-Sig\n  token: " + secret + "\n",
		"verify/a:\n  type: github\n  secret: {{secrets.gh}}\n",
		"verify/a:\n  type: standard_webhooks\n  secret: {{secrets.gh}}\n",
		"verify/a:\n  type: bearer\n  tokens@list:\n    {{secrets.gh}}\n    {{secrets.none}}\n",
	}
	// Requests with wrong, near-right, stale and malformed credentials.
	requests := [][][2]string{
		nil,
		{{"X-Hub-Signature-256", "sha256=" + received}},
		{{"X-Hub-Signature-256", "sha256=" + hexOf(body)[:62] + "00"}},
		{{"X-Hub-Signature-256", "sha256=" + received + "zz"}},
		{{"X-Gitlab-Token", received}},
		{{"X-Gitlab-Token", secret[:len(secret)-1]}},
		{{"Stripe-Signature", "t=" + tsStr + ",v1=" + received}},
		{{"Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", ts-1000, macHex(sha256.New, secret, fmt.Sprintf("%d.%s", ts-1000, body)))}},
		{{"X-Slack-Request-Timestamp", tsStr}, {"X-Slack-Signature", "v0=" + received}},
		{{"webhook-id", "msg_1"}, {"webhook-timestamp", tsStr}, {"webhook-signature", "v1," + receivedB64}},
		{{"X-Sig", received}, {"X-Ts", tsStr}},
		{{"X-Sig", receivedB64}, {"X-Ts", tsStr}},
		{{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(secret+":"+received))}},
		{{"Authorization", "Bearer " + received}},
		{{"Authorization", "Bearer " + secret + "x"}},
	}
	opts := verify.Options{Secret: func(name string) (string, bool, error) {
		if name == "gh" {
			return stored, true, nil
		}
		return "", false, nil
	}}
	for i, src := range blocks {
		v := compileOne(t, src, opts)
		for j, h := range requests {
			for _, at := range []time.Time{now, now.Add(time.Hour)} {
				err := v.Verify(&verify.Request{Headers: h, Body: []byte(body), ClientIP: "192.0.2.1"}, at)
				require.Error(t, err, "block %d request %d", i, j)
				text := err.Error() + fmt.Sprintf(" %v %+v %#v", err, err, err)
				requireNoLeak(t, text, append(expected, secret, stored, whsec, received, receivedB64, secret[:len(secret)-1])...)
			}
		}
	}
}

// TestCompileErrorsLeakNoSecret checks that compile errors about a
// credential do not quote it.
func TestCompileErrorsLeakNoSecret(t *testing.T) {
	t.Parallel()
	const secret = "whsec_Leaky!Secret-Value"
	srcs := []string{
		"verify/a:\n  type: standard_webhooks\n  secret: " + secret + "\n",
		"verify/a:\n  type: standard_webhooks\n  public_key: " + secret + "\n",
		"verify/a:\n  type: github\n  secret: {{ " + secret + " }}\n",
		"verify/a:\n  type: github\n  secret: " + secret + "\n  secrets@list:\n    " + secret + "\n",
		"verify/a:\n  type: github\n  secret@text: " + secret + "\n",
		"verify/a:\n  type: bearer\n  tokens@list:\n    {% " + secret + " %}\n",
	}
	for _, src := range srcs {
		doc, err := kata.Parse("event", src)
		require.NoError(t, err)
		_, err = verify.Compile(doc.Root.Children, verify.Options{})
		require.Error(t, err, src)
		requireNoLeak(t, err.Error(), secret, "Leaky!Secret")
	}
}
