package verify_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/host/verify"
)

// now is the clock of every test.
var now = time.Unix(1_700_000_000, 0)

// compile parses src as event KATA and compiles its blocks.
func compile(t *testing.T, src string, opts verify.Options) []*verify.Verifier {
	t.Helper()
	doc, err := kata.Parse("event", src)
	require.NoError(t, err)
	vs, err := verify.Compile(doc.Root.Children, opts)
	require.NoError(t, err)
	return vs
}

// compileOne compiles src, which holds one block.
func compileOne(t *testing.T, src string, opts verify.Options) *verify.Verifier {
	t.Helper()
	vs := compile(t, src, opts)
	require.Len(t, vs, 1)
	return vs[0]
}

// Independent signers: they use crypto/hmac directly, not the package.

func macHex(h func() hash.Hash, key, msg string) string {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func macB64(h func() hash.Hash, key []byte, msg string) string {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func githubSig(secret, body string) string { return "sha256=" + macHex(sha256.New, secret, body) }

func stripeSig(secret string, ts int64, body string) string {
	return fmt.Sprintf("t=%d,v1=%s", ts, macHex(sha256.New, secret, fmt.Sprintf("%d.%s", ts, body)))
}

func slackHeaders(secret string, ts int64, body string) [][2]string {
	s := strconv.FormatInt(ts, 10)
	return [][2]string{
		{"X-Slack-Request-Timestamp", s},
		{"X-Slack-Signature", "v0=" + macHex(sha256.New, secret, "v0:"+s+":"+body)},
	}
}

func whsecKey(t *testing.T, whsec string) []byte {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsec, "whsec_"))
	require.NoError(t, err)
	return k
}

func standardHeaders(sig, id string, ts int64) [][2]string {
	return [][2]string{{"webhook-id", id}, {"webhook-timestamp", strconv.FormatInt(ts, 10)}, {"webhook-signature", sig}}
}

func TestPublishedVectors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		src     string
		headers [][2]string
		body    string
		now     time.Time
	}{
		{
			// docs.github.com, "Validating webhook deliveries": testing the
			// webhook payload validation.
			name:    "GitHub",
			src:     "verify/github:\n  type: github\n  secret: It's a Secret to Everybody\n",
			headers: [][2]string{{"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}},
			body:    "Hello, World!",
			now:     now,
		},
		{
			// api.slack.com, "Verifying requests from Slack".
			name: "Slack",
			src:  "verify/slack:\n  type: slack\n  secret: 8f742231b10e8888abcd99yyyzzz85a5\n",
			headers: [][2]string{
				{"X-Slack-Request-Timestamp", "1531420618"},
				{"X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
			},
			body: "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
			now:  time.Unix(1531420618+10, 0),
		},
		{
			// The Standard Webhooks reference test vector (shared by the
			// libraries of standard-webhooks/standard-webhooks).
			name:    "StandardWebhooks",
			src:     "verify/sw:\n  type: standard_webhooks\n  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
			headers: standardHeaders("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330),
			body:    `{"test": 2432232314}`,
			now:     time.Unix(1614265330, 0),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := compileOne(t, tt.src, verify.Options{})
			r := &verify.Request{Headers: tt.headers, Body: []byte(tt.body)}
			require.NoError(t, v.Verify(r, tt.now))

			// One changed byte of the body fails.
			r.Body = append([]byte(nil), r.Body...)
			r.Body[len(r.Body)-1] ^= 1
			err := v.Verify(r, tt.now)
			var ve *verify.Error
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "signature does not match", ve.Reason)
		})
	}
}

// vcase is one request against one block.
type vcase struct {
	name    string
	src     string
	headers [][2]string
	body    string
	ip      string
	at      time.Time // default now
	status  int       // 0: the request passes
	reason  string
}

func runCases(t *testing.T, cases []vcase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := compileOne(t, tt.src, verify.Options{})
			at := tt.at
			if at.IsZero() {
				at = now
			}
			err := v.Verify(&verify.Request{Headers: tt.headers, Body: []byte(tt.body), ClientIP: tt.ip}, at)
			if tt.status == 0 {
				require.NoError(t, err)
				return
			}
			var ve *verify.Error
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.status, ve.Status)
			require.Equal(t, tt.reason, ve.Reason)
			require.Equal(t, v.Key()+": "+tt.reason, err.Error())
		})
	}
}

const body = `{"action":"opened","number":1}`

// reserialised is body after a proxy parsed and re-encoded it.
const reserialised = `{"action": "opened", "number": 1}`

func TestGitHub(t *testing.T) {
	t.Parallel()
	src := "verify/github:\n  type: github\n  secret: s3cret-value\n"
	rotated := "verify/github:\n  type: github\n  secrets@list:\n    new-secret\n    s3cret-value\n"
	sig := githubSig("s3cret-value", body)
	runCases(t, []vcase{
		{name: "Valid", src: src, headers: [][2]string{{"X-Hub-Signature-256", sig}}, body: body},
		{name: "HeaderNameAnyCase", src: src, headers: [][2]string{{"x-hub-signature-256", sig}}, body: body},
		{name: "UppercaseHex", src: src, headers: [][2]string{{"X-Hub-Signature-256", "sha256=" + strings.ToUpper(sig[7:])}}, body: body},
		{name: "RotatedOld", src: rotated, headers: [][2]string{{"X-Hub-Signature-256", sig}}, body: body},
		{name: "RotatedNew", src: rotated, headers: [][2]string{{"X-Hub-Signature-256", githubSig("new-secret", body)}}, body: body},
		{name: "TamperedBody", src: src, headers: [][2]string{{"X-Hub-Signature-256", sig}}, body: body + " ", status: 401, reason: "signature does not match"},
		{name: "Reserialised", src: src, headers: [][2]string{{"X-Hub-Signature-256", sig}}, body: reserialised, status: 401, reason: "signature does not match"},
		{name: "WrongSecret", src: src, headers: [][2]string{{"X-Hub-Signature-256", githubSig("other", body)}}, body: body, status: 401, reason: "signature does not match"},
		{name: "Missing", src: src, body: body, status: 401, reason: "missing X-Hub-Signature-256 header"},
		{name: "Empty", src: src, headers: [][2]string{{"X-Hub-Signature-256", " "}}, body: body, status: 401, reason: "missing X-Hub-Signature-256 header"},
		{name: "Sha1Prefix", src: src, headers: [][2]string{{"X-Hub-Signature-256", "sha1=" + sig[7:]}}, body: body, status: 401, reason: "malformed X-Hub-Signature-256 header"},
		{name: "NotHex", src: src, headers: [][2]string{{"X-Hub-Signature-256", "sha256=zz" + sig[9:]}}, body: body, status: 401, reason: "malformed X-Hub-Signature-256 header"},
		{name: "Truncated", src: src, headers: [][2]string{{"X-Hub-Signature-256", sig[:len(sig)-2]}}, body: body, status: 401, reason: "malformed X-Hub-Signature-256 header"},
	})
}

func TestGitLab(t *testing.T) {
	t.Parallel()
	src := "verify/gitlab:\n  type: gitlab\n  token: gl-token-1\n"
	runCases(t, []vcase{
		{name: "Valid", src: src, headers: [][2]string{{"X-Gitlab-Token", "gl-token-1"}}},
		{name: "RotatedOld", src: "verify/gitlab:\n  type: gitlab\n  tokens@csv: gl-token-2, gl-token-1\n", headers: [][2]string{{"X-Gitlab-Token", "gl-token-1"}}},
		{name: "Wrong", src: src, headers: [][2]string{{"X-Gitlab-Token", "gl-token-2"}}, status: 401, reason: "token does not match"},
		{name: "Prefix", src: src, headers: [][2]string{{"X-Gitlab-Token", "gl-token"}}, status: 401, reason: "token does not match"},
		{name: "Missing", src: src, status: 401, reason: "missing X-Gitlab-Token header"},
	})
}

func TestStripe(t *testing.T) {
	t.Parallel()
	src := "verify/stripe:\n  type: stripe\n  secret: whsec_stripe_test\n"
	ts := now.Unix()
	sig := stripeSig("whsec_stripe_test", ts, body)
	runCases(t, []vcase{
		{name: "Valid", src: src, headers: [][2]string{{"Stripe-Signature", sig}}, body: body},
		{name: "SeveralV1", src: src, headers: [][2]string{{"Stripe-Signature", fmt.Sprintf("t=%d,v1=%s,v1=%s,v0=abc", ts, strings.Repeat("0", 64), sig[strings.Index(sig, "v1=")+3:])}}, body: body},
		{name: "RotatedNew", src: "verify/stripe:\n  type: stripe\n  secrets@list:\n    whsec_new\n    whsec_stripe_test\n", headers: [][2]string{{"Stripe-Signature", stripeSig("whsec_new", ts, body)}}, body: body},
		{name: "EdgeOfWindow", src: src, headers: [][2]string{{"Stripe-Signature", stripeSig("whsec_stripe_test", ts-300, body)}}, body: body},
		{name: "Expired", src: src, headers: [][2]string{{"Stripe-Signature", stripeSig("whsec_stripe_test", ts-301, body)}}, body: body, status: 401, reason: "timestamp outside the 300s window"},
		{name: "Future", src: src, headers: [][2]string{{"Stripe-Signature", stripeSig("whsec_stripe_test", ts+301, body)}}, body: body, status: 401, reason: "timestamp outside the 300s window"},
		{name: "Tolerance", src: "verify/stripe:\n  type: stripe\n  secret: whsec_stripe_test\n  tolerance_secs@int: 600\n", headers: [][2]string{{"Stripe-Signature", stripeSig("whsec_stripe_test", ts-599, body)}}, body: body},
		{name: "ToleranceExpired", src: "verify/stripe:\n  type: stripe\n  secret: whsec_stripe_test\n  tolerance_secs: 10\n", headers: [][2]string{{"Stripe-Signature", stripeSig("whsec_stripe_test", ts-11, body)}}, body: body, status: 401, reason: "timestamp outside the 10s window"},
		{name: "TimestampChanged", src: src, headers: [][2]string{{"Stripe-Signature", strings.Replace(sig, fmt.Sprint(ts), fmt.Sprint(ts-1), 1)}}, body: body, status: 401, reason: "signature does not match"},
		{name: "TamperedBody", src: src, headers: [][2]string{{"Stripe-Signature", sig}}, body: reserialised, status: 401, reason: "signature does not match"},
		{name: "WrongSecret", src: src, headers: [][2]string{{"Stripe-Signature", stripeSig("whsec_other", ts, body)}}, body: body, status: 401, reason: "signature does not match"},
		{name: "NoTimestamp", src: src, headers: [][2]string{{"Stripe-Signature", sig[strings.Index(sig, ",")+1:]}}, body: body, status: 401, reason: "missing timestamp in Stripe-Signature header"},
		{name: "NoV1", src: src, headers: [][2]string{{"Stripe-Signature", fmt.Sprintf("t=%d,v0=abc", ts)}}, body: body, status: 401, reason: "no v1 signature in Stripe-Signature header"},
		{name: "BadTimestamp", src: src, headers: [][2]string{{"Stripe-Signature", "t=-5," + sig[strings.Index(sig, ",")+1:]}}, body: body, status: 401, reason: "malformed Stripe-Signature header"},
		{name: "Missing", src: src, body: body, status: 401, reason: "missing Stripe-Signature header"},
	})
}

func TestSlack(t *testing.T) {
	t.Parallel()
	src := "verify/slack:\n  type: slack\n  secret: slack-signing\n"
	ts := now.Unix()
	runCases(t, []vcase{
		{name: "Valid", src: src, headers: slackHeaders("slack-signing", ts, body), body: body},
		{name: "Expired", src: src, headers: slackHeaders("slack-signing", ts-3600, body), body: body, status: 401, reason: "timestamp outside the 300s window"},
		{name: "Future", src: src, headers: slackHeaders("slack-signing", ts+3600, body), body: body, status: 401, reason: "timestamp outside the 300s window"},
		{name: "WrongSecret", src: src, headers: slackHeaders("other", ts, body), body: body, status: 401, reason: "signature does not match"},
		{name: "Reserialised", src: src, headers: slackHeaders("slack-signing", ts, body), body: reserialised, status: 401, reason: "signature does not match"},
		{name: "MissingTimestamp", src: src, headers: slackHeaders("slack-signing", ts, body)[1:], body: body, status: 401, reason: "missing X-Slack-Request-Timestamp header"},
		{name: "MissingSignature", src: src, headers: slackHeaders("slack-signing", ts, body)[:1], body: body, status: 401, reason: "missing X-Slack-Signature header"},
		{name: "BadTimestamp", src: src, headers: [][2]string{{"X-Slack-Request-Timestamp", "yesterday"}, {"X-Slack-Signature", "v0=00"}}, body: body, status: 401, reason: "malformed X-Slack-Request-Timestamp header"},
		{name: "NoV0", src: src, headers: [][2]string{{"X-Slack-Request-Timestamp", "1"}, {"X-Slack-Signature", "v1=00"}}, body: body, status: 401, reason: "malformed X-Slack-Signature header"},
	})
}

func TestStandardWebhooks(t *testing.T) {
	t.Parallel()
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	const other = "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA=="
	key, otherKey := whsecKey(t, whsec), whsecKey(t, other)
	ts := now.Unix()
	sign := func(k []byte, id string, ts int64, body string) string {
		return "v1," + macB64(sha256.New, k, fmt.Sprintf("%s.%d.%s", id, ts, body))
	}
	priv := ed25519.NewKeyFromSeed([]byte("hookhost-test-seed-32-bytes-long"))
	whpk := "whpk_" + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	signA := func(id string, ts int64, body string) string {
		return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(fmt.Sprintf("%s.%d.%s", id, ts, body))))
	}
	src := "verify/sw:\n  type: standard_webhooks\n  secret: " + whsec + "\n"
	rotated := "verify/sw:\n  type: standard_webhooks\n  secrets@list:\n    " + other + "\n    " + whsec + "\n"
	asym := "verify/sw:\n  type: standard_webhooks\n  public_key: " + whpk + "\n"
	both := "verify/sw:\n  type: standard_webhooks\n  secret: " + whsec + "\n  public_key: " + whpk + "\n"
	good := sign(key, "msg_1", ts, body)
	runCases(t, []vcase{
		{name: "Valid", src: src, headers: standardHeaders(good, "msg_1", ts), body: body},
		{name: "SvixHeaders", src: src, headers: [][2]string{{"svix-id", "msg_1"}, {"svix-timestamp", fmt.Sprint(ts)}, {"svix-signature", good}}, body: body},
		{name: "SeveralSignatures", src: src, headers: standardHeaders(sign(otherKey, "msg_1", ts, body)+" "+good, "msg_1", ts), body: body},
		{name: "RotatedOld", src: rotated, headers: standardHeaders(good, "msg_1", ts), body: body},
		{name: "RotatedNew", src: rotated, headers: standardHeaders(sign(otherKey, "msg_1", ts, body), "msg_1", ts), body: body},
		{name: "Ed25519", src: asym, headers: standardHeaders(signA("msg_1", ts, body), "msg_1", ts), body: body},
		{name: "Ed25519AndHMAC", src: both, headers: standardHeaders(signA("msg_1", ts, body)+" "+good, "msg_1", ts), body: body},
		{name: "Ed25519Tampered", src: asym, headers: standardHeaders(signA("msg_1", ts, body), "msg_1", ts), body: reserialised, status: 401, reason: "signature does not match"},
		{name: "Ed25519OnlyHMACSent", src: asym, headers: standardHeaders(good, "msg_1", ts), body: body, status: 401, reason: "no usable signature in webhook-signature header"},
		{name: "IDChanged", src: src, headers: standardHeaders(good, "msg_2", ts), body: body, status: 401, reason: "signature does not match"},
		{name: "WrongSecret", src: src, headers: standardHeaders(sign(otherKey, "msg_1", ts, body), "msg_1", ts), body: body, status: 401, reason: "signature does not match"},
		{name: "Reserialised", src: src, headers: standardHeaders(good, "msg_1", ts), body: reserialised, status: 401, reason: "signature does not match"},
		{name: "Expired", src: src, headers: standardHeaders(sign(key, "msg_1", ts-301, body), "msg_1", ts-301), body: body, status: 401, reason: "timestamp outside the 300s window"},
		{name: "Future", src: src, headers: standardHeaders(sign(key, "msg_1", ts+301, body), "msg_1", ts+301), body: body, status: 401, reason: "timestamp outside the 300s window"},
		{name: "MissingID", src: src, headers: standardHeaders(good, "msg_1", ts)[1:], body: body, status: 401, reason: "missing webhook-id header"},
		{name: "MissingSignature", src: src, headers: standardHeaders(good, "msg_1", ts)[:2], body: body, status: 401, reason: "missing webhook-signature header"},
		{name: "BadSignature", src: src, headers: standardHeaders("v1,!!!", "msg_1", ts), body: body, status: 401, reason: "no usable signature in webhook-signature header"},
	})
}

func TestHMAC(t *testing.T) {
	t.Parallel()
	ts := now.Unix()
	tsStr := strconv.FormatInt(ts, 10)
	plain := "verify/h:\n  type: hmac\n  header: X-Signature\n  secret: hmac-secret\n"
	full := "verify/h:\n  type: hmac\n  header: X-Signature\n  secret: hmac-secret\n  algorithm: sha512\n  encoding: base64\n  prefix: sha512=\n  timestamp_header: X-Timestamp\n  signed_payload: v1:{timestamp}:{body}\n"
	sha1src := "verify/h:\n  type: hmac\n  header: X-Hub-Signature\n  secret: hmac-secret\n  algorithm: sha1\n  prefix: sha1=\n"
	deftsrc := "verify/h:\n  type: hmac\n  header: X-Signature\n  secret: hmac-secret\n  timestamp_header: X-Timestamp\n  tolerance_secs@int: 60\n"
	fullSig := func(ts string, body string) string {
		return "sha512=" + macB64(sha512.New, []byte("hmac-secret"), "v1:"+ts+":"+body)
	}
	runCases(t, []vcase{
		{name: "Valid", src: plain, headers: [][2]string{{"X-Signature", macHex(sha256.New, "hmac-secret", body)}}, body: body},
		{name: "Sha1", src: sha1src, headers: [][2]string{{"X-Hub-Signature", "sha1=" + macHex(sha1.New, "hmac-secret", body)}}, body: body},
		{name: "Sha1MissingPrefix", src: sha1src, headers: [][2]string{{"X-Hub-Signature", macHex(sha1.New, "hmac-secret", body)}}, body: body, status: 401, reason: "malformed X-Hub-Signature header"},
		{name: "Full", src: full, headers: [][2]string{{"X-Signature", fullSig(tsStr, body)}, {"X-Timestamp", tsStr}}, body: body},
		{name: "FullExpired", src: full, headers: [][2]string{{"X-Signature", fullSig("1", body)}, {"X-Timestamp", "1"}}, body: body, status: 401, reason: "timestamp outside the 300s window"},
		{name: "FullTimestampChanged", src: full, headers: [][2]string{{"X-Signature", fullSig(tsStr, body)}, {"X-Timestamp", fmt.Sprint(ts + 1)}}, body: body, status: 401, reason: "signature does not match"},
		{name: "FullMissingTimestamp", src: full, headers: [][2]string{{"X-Signature", fullSig(tsStr, body)}}, body: body, status: 401, reason: "missing X-Timestamp header"},
		{name: "DefaultLayout", src: deftsrc, headers: [][2]string{{"X-Signature", macHex(sha256.New, "hmac-secret", tsStr+"."+body)}, {"X-Timestamp", tsStr}}, body: body},
		{name: "DefaultLayoutFuture", src: deftsrc, headers: [][2]string{{"X-Signature", macHex(sha256.New, "hmac-secret", fmt.Sprint(ts+61)+"."+body)}, {"X-Timestamp", fmt.Sprint(ts + 61)}}, body: body, status: 401, reason: "timestamp outside the 60s window"},
		{name: "WrongAlgorithm", src: plain, headers: [][2]string{{"X-Signature", macHex(sha256.New, "other", body)}}, body: body, status: 401, reason: "signature does not match"},
		{name: "Reserialised", src: plain, headers: [][2]string{{"X-Signature", macHex(sha256.New, "hmac-secret", body)}}, body: reserialised, status: 401, reason: "signature does not match"},
		{name: "WrongLength", src: plain, headers: [][2]string{{"X-Signature", macHex(sha1.New, "hmac-secret", body)}}, body: body, status: 401, reason: "malformed X-Signature header"},
		{name: "Missing", src: plain, body: body, status: 401, reason: "missing X-Signature header"},
	})
}

func basicAuth(user, pass string) [][2]string {
	return [][2]string{{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	basic := "verify/basic:\n  type: basic\n  username: hook\n  password: pa:ss word\n"
	rotated := "verify/basic:\n  type: basic\n  username: hook\n  passwords@list:\n    new-pass\n    pa:ss word\n"
	bearer := "verify/bearer:\n  type: bearer\n  token: tok-123\n"
	hdr := "verify/hdr:\n  type: header\n  header: X-Api-Key\n  token: key-123\n"
	runCases(t, []vcase{
		{name: "BasicValid", src: basic, headers: basicAuth("hook", "pa:ss word")},
		{name: "BasicRotated", src: rotated, headers: basicAuth("hook", "new-pass")},
		{name: "BasicLowercaseScheme", src: basic, headers: [][2]string{{"authorization", "basic " + base64.StdEncoding.EncodeToString([]byte("hook:pa:ss word"))}}},
		{name: "BasicWrongPassword", src: basic, headers: basicAuth("hook", "pa:ss"), status: 401, reason: "credentials do not match"},
		{name: "BasicWrongUser", src: basic, headers: basicAuth("root", "pa:ss word"), status: 401, reason: "credentials do not match"},
		{name: "BasicMissing", src: basic, status: 401, reason: "missing Authorization header"},
		{name: "BasicBearer", src: basic, headers: [][2]string{{"Authorization", "Bearer x"}}, status: 401, reason: "malformed Authorization header"},
		{name: "BasicNotBase64", src: basic, headers: [][2]string{{"Authorization", "Basic %%%"}}, status: 401, reason: "malformed Authorization header"},
		{name: "BearerValid", src: bearer, headers: [][2]string{{"Authorization", "Bearer tok-123"}}},
		{name: "BearerWrong", src: bearer, headers: [][2]string{{"Authorization", "Bearer tok-12"}}, status: 401, reason: "token does not match"},
		{name: "BearerBasic", src: bearer, headers: basicAuth("tok-123", ""), status: 401, reason: "malformed Authorization header"},
		{name: "BearerMissing", src: bearer, status: 401, reason: "missing Authorization header"},
		{name: "HeaderValid", src: hdr, headers: [][2]string{{"x-api-key", "key-123"}}},
		{name: "HeaderWrong", src: hdr, headers: [][2]string{{"X-Api-Key", "key-124"}}, status: 401, reason: "token does not match"},
		{name: "HeaderMissing", src: hdr, headers: [][2]string{{"Authorization", "Bearer key-123"}}, status: 401, reason: "missing X-Api-Key header"},
	})
}

func TestAuth_Challenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want string
	}{
		{"verify/a:\n  type: basic\n  username: u\n  password: p\n", `Basic realm="hookhost", charset="UTF-8"`},
		{"verify/a:\n  type: bearer\n  token: t\n", `Bearer realm="hookhost"`},
		{"verify/a:\n  type: github\n  secret: s\n", ""},
	}
	for _, tt := range tests {
		v := compileOne(t, tt.src, verify.Options{})
		var ve *verify.Error
		require.ErrorAs(t, v.Verify(&verify.Request{}, now), &ve)
		require.Equal(t, tt.want, ve.Challenge)
	}
}

func TestIPAllow(t *testing.T) {
	t.Parallel()
	src := "verify/ip:\n  type: ip_allow\n  cidrs@list:\n    140.82.112.0/20\n    192.30.252.0/22\n    2001:db8::/32\n    203.0.113.9\n    ::ffff:198.51.100.0/120\n"
	runCases(t, []vcase{
		{name: "InFirst", src: src, ip: "140.82.115.3"},
		{name: "InSecond", src: src, ip: "192.30.255.255"},
		{name: "IPv6", src: src, ip: "2001:db8:1::5"},
		{name: "SingleHost", src: src, ip: "203.0.113.9"},
		{name: "Mapped", src: src, ip: "::ffff:140.82.112.1"},
		{name: "MappedPrefix", src: src, ip: "198.51.100.7"},
		{name: "Outside", src: src, ip: "140.82.128.1", status: 403, reason: "client address not allowed"},
		{name: "NextHost", src: src, ip: "203.0.113.10", status: 403, reason: "client address not allowed"},
		{name: "Loopback", src: src, ip: "127.0.0.1", status: 403, reason: "client address not allowed"},
		{name: "Unknown", src: src, ip: "", status: 403, reason: "client address unknown"},
		{name: "WithPort", src: src, ip: "140.82.115.3:443", status: 403, reason: "client address unknown"},
		{name: "CSV", src: "verify/ip:\n  type: ip_allow\n  cidrs@csv: 10.0.0.0/8, 192.168.0.0/16\n", ip: "192.168.1.1"},
		{name: "Inline", src: "verify/ip:\n  type: ip_allow\n  cidrs: 10.0.0.0/8\n", ip: "10.1.2.3"},
	})
}

func TestVerifyAll(t *testing.T) {
	t.Parallel()
	src := "verify/ip:\n  type: ip_allow\n  cidrs: 10.0.0.0/8\nverify/github:\n  type: github\n  secret: s\n"
	vs := compile(t, src, verify.Options{})
	require.Len(t, vs, 2)
	require.Equal(t, "verify/ip", vs[0].Key())
	require.Equal(t, "ip", vs[0].Name())
	require.Equal(t, "ip_allow", vs[0].Type())
	require.Equal(t, kata.Pos{Line: 4, Col: 1}, vs[1].Pos())

	good := &verify.Request{Headers: [][2]string{{"X-Hub-Signature-256", githubSig("s", body)}}, Body: []byte(body), ClientIP: "10.0.0.1"}
	require.NoError(t, verify.VerifyAll(vs, good, now))
	require.NoError(t, verify.VerifyAll(nil, good, now))

	var ve *verify.Error
	outside := *good
	outside.ClientIP = "11.0.0.1"
	require.ErrorAs(t, verify.VerifyAll(vs, &outside, now), &ve)
	require.Equal(t, http.StatusForbidden, ve.Status)
	require.Equal(t, "verify/ip", ve.Block)

	unsigned := *good
	unsigned.Headers = nil
	require.ErrorAs(t, verify.VerifyAll(vs, &unsigned, now), &ve)
	require.Equal(t, http.StatusUnauthorized, ve.Status)
	require.Equal(t, "verify/github", ve.Block)
}

func TestSecrets(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		store   map[string]string
		lookups atomic.Int64
		fail    error
		opts    verify.Options
	}
	setup := func(t *testing.T) *testBundle {
		t.Helper()
		b := &testBundle{store: map[string]string{"github_hook": "first"}}
		b.opts = verify.Options{Secret: func(name string) (string, bool, error) {
			b.lookups.Add(1)
			if b.fail != nil {
				return "", false, b.fail
			}
			v, ok := b.store[name]
			return v, ok, nil
		}}
		return b
	}
	req := func(secret string) *verify.Request {
		return &verify.Request{Headers: [][2]string{{"X-Hub-Signature-256", githubSig(secret, body)}}, Body: []byte(body)}
	}

	t.Run("ResolvedAtVerifyTime", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		v := compileOne(t, "verify/github:\n  type: github\n  secret: {{ secrets.github_hook }}\n", b.opts)
		require.Zero(t, b.lookups.Load(), "Compile must not look secrets up")
		require.Equal(t, []string{"github_hook"}, v.SecretNames())
		require.NoError(t, v.Verify(req("first"), now))

		b.store["github_hook"] = "second"
		var ve *verify.Error
		require.ErrorAs(t, v.Verify(req("first"), now), &ve)
		require.NoError(t, v.Verify(req("second"), now))
	})

	t.Run("RotationOldAndNew", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.store["github_hook_new"] = "second"
		v := compileOne(t, "verify/github:\n  type: github\n  secrets@list:\n    {{secrets.github_hook_new}}\n    {{secrets.github_hook}}\n    literal-third\n", b.opts)
		require.Equal(t, []string{"github_hook_new", "github_hook"}, v.SecretNames())
		for _, s := range []string{"first", "second", "literal-third"} {
			require.NoError(t, v.Verify(req(s), now), s)
		}
		// The old secret was deleted: the others still verify.
		delete(b.store, "github_hook")
		require.NoError(t, v.Verify(req("second"), now))
		var ve *verify.Error
		require.ErrorAs(t, v.Verify(req("first"), now), &ve)
	})

	t.Run("NotSet", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		v := compileOne(t, "verify/github:\n  type: github\n  secret: {{secrets.missing}}\n", b.opts)
		err := v.Verify(req("first"), now)
		require.ErrorIs(t, err, verify.ErrSecretUnavailable)
		var ve *verify.Error
		require.False(t, errors.As(err, &ve), "a missing secret is not a refusal of the request")
		require.Equal(t, `verify/github: secret "missing" is not set: secret unavailable`, err.Error())
	})

	t.Run("LookupFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fail = errors.New("database is locked")
		v := compileOne(t, "verify/github:\n  type: github\n  secret: {{secrets.github_hook}}\n", b.opts)
		err := v.Verify(req("first"), now)
		require.ErrorIs(t, err, verify.ErrSecretUnavailable)
		require.ErrorIs(t, err, b.fail)
	})

	t.Run("NoStore", func(t *testing.T) {
		t.Parallel()
		v := compileOne(t, "verify/github:\n  type: github\n  secret: {{secrets.github_hook}}\n", verify.Options{})
		require.ErrorIs(t, v.Verify(req("first"), now), verify.ErrSecretUnavailable)
	})

	t.Run("StoredWhsecNotBase64", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.store["sw"] = "whsec_not base64!"
		v := compileOne(t, "verify/sw:\n  type: standard_webhooks\n  secret: {{secrets.sw}}\n", b.opts)
		err := v.Verify(&verify.Request{Headers: standardHeaders("v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)), "m", now.Unix())}, now)
		require.ErrorIs(t, err, verify.ErrSecretUnavailable)
		require.NotContains(t, err.Error(), "not base64!")
	})

	t.Run("StoredWhsec", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.store["sw"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		v := compileOne(t, "verify/sw:\n  type: standard_webhooks\n  secret: {{secrets.sw}}\n", b.opts)
		r := &verify.Request{Headers: standardHeaders("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330), Body: []byte(`{"test": 2432232314}`)}
		require.NoError(t, v.Verify(r, time.Unix(1614265330, 0)))
	})
}

func TestReplayWindowOption(t *testing.T) {
	t.Parallel()
	src := "verify/slack:\n  type: slack\n  secret: s\n"
	h := slackHeaders("s", now.Unix()-100, body)
	r := &verify.Request{Headers: h, Body: []byte(body)}

	require.NoError(t, compileOne(t, src, verify.Options{}).Verify(r, now))
	var ve *verify.Error
	require.ErrorAs(t, compileOne(t, src, verify.Options{ReplayWindow: time.Minute}).Verify(r, now), &ve)
	require.Equal(t, "timestamp outside the 60s window", ve.Reason)
	// tolerance_secs overrides the option.
	require.NoError(t, compileOne(t, src+"  tolerance_secs@int: 120\n", verify.Options{ReplayWindow: time.Minute}).Verify(r, now))
}
