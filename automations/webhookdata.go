package automations

import (
	"strings"
	"unsafe"

	"github.com/hookhost/hookhost/templates/dict"
)

// WebhookData is Azure Automation's WebhookData, which a job's run gets as
// webhook_data: the webhook's name, the request headers with their
// original names (a repeated header's values joined with ", " in order),
// and the body. RequestBody shares r.Body's memory, as WebhookInputs'
// request_body does (a copy was a body-sized allocation for every durable
// 202): r.Body must not change while the dictionary is in use.
func WebhookData(name string, r HTTPRequest) *dict.Map {
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
	return dict.Of("WebhookName", name, "RequestHeader", hs, "RequestBody", unsafe.String(unsafe.SliceData(r.Body), len(r.Body)))
}

// CompactsRequestBody reports whether a job record's inputs (the shown
// copy webhook.respond's inputs with webhook_data, redacted) leave
// webhook_data's RequestBody out, and returns webhook_data: they do when
// it is their request_body, as it is for every body but a multipart one
// (whose request_body is empty), since each copy held the body twice. A
// durable 202 writes the compacted copy as it encodes it (dispatch).
// ExpandJobInputs puts RequestBody back where a record's inputs are shown.
// The real inputs, which the job's run reads, keep it: a server of an
// earlier version may run the job (during a rolling upgrade, or after a
// rollback), and it would give the automation an empty RequestBody.
func CompactsRequestBody(inputs *dict.Map) (*dict.Map, bool) {
	wd, ok := inputs.Value("webhook_data").(*dict.Map)
	if !ok {
		return nil, false
	}
	body, ok := wd.Value("RequestBody").(string)
	return wd, ok && body != "" && body == inputs.Value("request_body")
}

// ExpandJobInputs undoes the compaction (CompactsRequestBody): a
// webhook_data without RequestBody gets the inputs' request_body (which,
// in a record's redacted copy, is the body redacted as RequestBody was).
// Inputs stored before the compaction existed hold RequestBody and are
// left as they are.
func ExpandJobInputs(inputs *dict.Map) {
	wd, ok := inputs.Value("webhook_data").(*dict.Map)
	if !ok || wd.Has("RequestBody") {
		return
	}
	if body, ok := inputs.Value("request_body").(string); ok {
		wd.Set("RequestBody", body)
	}
}
