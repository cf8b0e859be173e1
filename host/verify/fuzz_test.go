package verify_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/host/verify"
)

// FuzzVerify feeds arbitrary header values, bodies and client addresses to a
// block of every type: no panic, and every failure is a *Error with a 401 or
// 403.
func FuzzVerify(f *testing.F) {
	whpk := "whpk_" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))
	src := `verify/github:
  type: github
  secret: s
verify/gitlab:
  type: gitlab
  token: s
verify/stripe:
  type: stripe
  secret: s
verify/slack:
  type: slack
  secret: s
verify/sw:
  type: standard_webhooks
  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  public_key: ` + whpk + `
verify/hmac:
  type: hmac
  header: X-Sig
  secret: s
  encoding: base64
  prefix: v1=
  timestamp_header: X-Ts
  signed_payload: {timestamp}:{body}:{timestamp}
verify/basic:
  type: basic
  username: u
  password: p
verify/bearer:
  type: bearer
  token: s
verify/header:
  type: header
  header: X-Api-Key
  token: s
verify/ip:
  type: ip_allow
  cidrs@list:
    10.0.0.0/8
    2001:db8::/32
`
	doc, err := kata.Parse("event", src)
	if err != nil {
		f.Fatal(err)
	}
	vs, err := verify.Compile(doc.Root.Children, verify.Options{})
	if err != nil {
		f.Fatal(err)
	}
	ts := fmt.Sprint(now.Unix())
	f.Add("sha256=00", ts, "msg_1", []byte(body), "10.0.0.1")
	f.Add("t="+ts+",v1=00,v1=", ts, "", []byte{}, "::ffff:10.1.1.1")
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,AAAA", "1614265330", "msg_p5jXN8AQM9LWM0D4loKWxJek", []byte(`{"test": 2432232314}`), "")
	f.Add("Basic dTpw", "99999999999999999999", "x", []byte("\x00\xff"), "2001:db8::1%eth0")
	f.Add("Bearer s", "-1", "", []byte(nil), "not an ip")
	f.Add("v0=zz", "1e9", ".", []byte("{}"), "1.2.3.4:80")
	f.Fuzz(func(t *testing.T, sig, ts, id string, body []byte, ip string) {
		r := &verify.Request{
			Headers: [][2]string{
				{"X-Hub-Signature-256", sig}, {"X-Gitlab-Token", sig}, {"Stripe-Signature", sig},
				{"X-Slack-Signature", sig}, {"X-Slack-Request-Timestamp", ts},
				{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", sig},
				{"X-Sig", sig}, {"X-Ts", ts}, {"Authorization", sig}, {"X-Api-Key", sig},
			},
			Body:     body,
			ClientIP: ip,
		}
		for _, v := range vs {
			err := v.Verify(r, now)
			if err == nil {
				continue
			}
			var ve *verify.Error
			if !errors.As(err, &ve) {
				t.Fatalf("%s: error is %T: %v", v.Key(), err, err)
			}
			if ve.Status != 401 && ve.Status != 403 || ve.Reason == "" {
				t.Fatalf("%s: bad refusal %+v", v.Key(), ve)
			}
		}
		_ = verify.VerifyAll(vs, r, now)
	})
}

// FuzzCompile compiles arbitrary event KATA: no panic, and a failure is
// kata.Errors with positions inside the source.
func FuzzCompile(f *testing.F) {
	f.Add("verify/github:\n  type: github\n  secret: {{secrets.x}}\n")
	f.Add("verify/h:\n  type: hmac\n  header: X\n  secret: s\n  signed_payload: {timestamp}{body}{x}{\n  timestamp_header: T\n")
	f.Add("verify/ip:\n  type: ip_allow\n  cidrs@list:\n    10.0.0.0/8\n      ::1\n  cidrs@csv: ,,\n")
	f.Add("verify/sw:\n  type: standard_webhooks\n  secrets@csv: whsec_, whsec_AA==\n  public_keys@list:\n    whpk_\n")
	f.Add("verify/b:\n  type: basic\n  username@list:\n    u\n  password: p\n  tolerance_secs@int: 9999999999999999999999\n")
	f.Fuzz(func(t *testing.T, src string) {
		doc, err := kata.Parse("event", src)
		if err != nil || doc == nil || doc.Root == nil {
			return
		}
		lines := strings.Count(src, "\n") + 1
		_, err = verify.Compile(doc.Root.Children, verify.Options{})
		if err == nil {
			return
		}
		var es kata.Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error is %T: %v", err, err)
		}
		for _, e := range es {
			if e.Source != "event" || e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 {
				t.Fatalf("bad diagnostic %+v", e)
			}
		}
	})
}
