package automations

import (
	"strings"

	"github.com/hookhost/hookhost/templates/dict"
)

// WebhookData is Azure Automation's WebhookData, which a job's run gets as
// webhook_data: the webhook's name, the request headers with their
// original names (a repeated header's values joined with ", " in order),
// and the body.
func WebhookData(name string, r HTTPRequest) *dict.Map {
	wd := webhookHeaders(name, r)
	wd.Set("RequestBody", string(r.Body))
	return wd
}

// SetJobWebhookData sets webhook_data in a job's inputs (the
// webhook.respond inputs of r) as the job stores it: without RequestBody
// when that is the inputs' request_body, as it is for every body but a
// multipart one (whose request_body is empty). A job stores its inputs
// twice, the real ones in its River args and a redacted copy in its
// record, and each held the body twice: a 1 MiB body was 4 MiB to encode,
// write and read back. ExpandJobInputs puts RequestBody back wherever
// stored inputs are read.
func SetJobWebhookData(inputs *dict.Map, name string, r HTTPRequest) {
	wd := webhookHeaders(name, r)
	if body, _ := inputs.Value("request_body").(string); body == "" || body != string(r.Body) {
		wd.Set("RequestBody", string(r.Body))
	}
	inputs.Set("webhook_data", wd)
}

// webhookHeaders is WebhookData without RequestBody.
func webhookHeaders(name string, r HTTPRequest) *dict.Map {
	hs := dict.New(len(r.Headers))
	// A repeated header's later values, joined to its first once all are
	// in: joined line by line, n lines of one header copied n²/2 values
	// (seconds of CPU for the lines a 1 MiB --max-header-bytes admits, as
	// request_headers did: requestHeaders).
	var more map[string][]string
	for _, h := range r.Headers {
		if hs.Has(h[0]) {
			if more == nil {
				more = map[string][]string{}
			}
			more[h[0]] = append(more[h[0]], h[1])
			continue
		}
		hs.Set(h[0], h[1])
	}
	for name, vals := range more {
		hs.Set(name, hs.Value(name).(string)+", "+strings.Join(vals, ", "))
	}
	return dict.Of("WebhookName", name, "RequestHeader", hs)
}

// ExpandJobInputs undoes SetJobWebhookData's sharing: a webhook_data without
// RequestBody gets the inputs' request_body (which, in a record's
// redacted copy, is the body redacted as RequestBody was). Inputs stored
// before SetJobWebhookData shared the body hold RequestBody and are left as they
// are.
func ExpandJobInputs(inputs *dict.Map) {
	wd, ok := inputs.Value("webhook_data").(*dict.Map)
	if !ok || wd.Has("RequestBody") {
		return
	}
	if body, ok := inputs.Value("request_body").(string); ok {
		wd.Set("RequestBody", body)
	}
}
