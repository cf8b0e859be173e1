package verify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/host/verify"
)

func Example() {
	src := `verify/github:
  type: github
  secret: {{secrets.github_hook}}
verify/ip:
  type: ip_allow
  cidrs@list:
    140.82.112.0/20
    192.30.252.0/22
`
	doc, _ := kata.Parse("event", src) // automations.Event.Verify holds these blocks
	vs, err := verify.Compile(doc.Root.Children, verify.Options{
		Secret: func(name string) (string, bool, error) {
			return "It's a Secret to Everybody", name == "github_hook", nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	body := []byte("Hello, World!")
	mac := hmac.New(sha256.New, []byte("It's a Secret to Everybody"))
	mac.Write(body)
	r := &verify.Request{
		Headers:  [][2]string{{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(mac.Sum(nil))}},
		Body:     body,
		ClientIP: "140.82.115.4",
	}
	fmt.Println(verify.VerifyAll(vs, r, time.Now()))

	r.Body = []byte("Hello, World?")
	err = verify.VerifyAll(vs, r, time.Now())
	var ve *verify.Error
	if errors.As(err, &ve) {
		fmt.Println(ve.Status, err)
	}
	// Output:
	// <nil>
	// 401 verify/github: signature does not match
}
