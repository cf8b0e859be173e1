package admin

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/verify"
)

// dryRunRoutes serve the tools that show what a webhook does without a
// caller: a dry run of a request, sample requests that pass its verify
// blocks, and why a recorded request was refused.
func (a *Admin) dryRunRoutes() []route {
	return []route{
		{fiber.MethodPost, "/webhooks/:id/dry-run", a.dryRun},
		{fiber.MethodGet, "/webhooks/:id/verify-lab", a.verifyLab},
		{fiber.MethodGet, "/requests/:id/explain", a.explain},
	}
}

// dryRun takes a recorded or composed request through the webhook's
// current configuration, simulated: nothing is recorded, queued or sent.
func (a *Admin) dryRun(c *fiber.Ctx) error {
	var in api.DryRunInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := a.cfg.Dispatch.DryRun(c.UserContext(), c.Params("id"), &in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// explain runs the webhook's verify blocks again on a recorded request.
func (a *Admin) explain(c *fiber.Ctx) error {
	out, err := a.cfg.Dispatch.Explain(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// webhookURLPlaceholder stands for the webhook's URL in sample commands:
// the URL holds the token, which is shown only when it is made.
const webhookURLPlaceholder = "${WEBHOOK_URL}"

// maxSampleBody bounds the ?body= of the verify lab.
const maxSampleBody = 64 << 10

// verifyLab answers, for each verify block of the webhook, a request that
// passes it now, signed with the block's current secret (on the server:
// no secret, token or password is in the answer), with ?body= as its body
// (default {"hello":"world"}).
func (a *Admin) verifyLab(c *fiber.Ctx) error {
	h, err := a.cat.HookByID(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	body := c.Query("body")
	if len(body) > maxSampleBody {
		return api.InvalidField("body", fmt.Sprintf("body must be at most %d bytes", maxSampleBody))
	}
	now := time.Now()
	out := api.VerifyLab{Blocks: make([]api.VerifySample, 0, len(h.Event.Verifiers))}
	for _, v := range h.Event.Verifiers {
		b := api.VerifySample{Block: v.Key(), Type: v.Type()}
		s, err := v.Sample([]byte(body), now)
		switch {
		case errors.Is(err, verify.ErrSecretUnavailable):
			// The error names the secret, never its value.
			b.Error = a.red.Redact(err.Error())
			b.Notes = "no sample: a request to this webhook is answered 500 until the secret is set"
		case err != nil:
			return err
		default:
			b.Sample = &api.SampleRequest{Method: s.Method, Headers: s.Headers, Body: string(s.Body), Placeholder: s.Placeholder,
				Curl: curlCommand(s)}
			b.Allowed = s.Allowed
			b.Notes = strings.Join(s.Notes, "; ")
		}
		out.Blocks = append(out.Blocks, b)
	}
	return c.JSON(out)
}

// curlCommand is the curl command line that sends s to the webhook's URL
// (WEBHOOK_URL, set by the reader).
func curlCommand(s *verify.Sample) string {
	var b strings.Builder
	b.WriteString("curl -X " + s.Method)
	for _, h := range s.Headers {
		b.WriteString(" -H " + shellQuote(h[0]+": "+h[1]))
	}
	b.WriteString(" --data-binary " + shellQuote(string(s.Body)))
	b.WriteString(` "` + webhookURLPlaceholder + `"`)
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
