package api

import "encoding/json"

// DryRunInput is the body of POST /webhooks/{id}/dry-run: a recorded
// request (RecordID, a request record of any webhook) or a composed one
// (Request). Exactly one is set.
type DryRunInput struct {
	RecordID string           `json:"record_id,omitempty"`
	Request  *ComposedRequest `json:"request,omitempty"`
}

// ComposedRequest is a request written for a dry run. Headers and Query
// are [name, value] pairs in order; Method defaults to POST and ClientIP
// to 127.0.0.1. Path is the path after the webhook's token ("a/b").
type ComposedRequest struct {
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	Query    [][2]string `json:"query"`
	Headers  [][2]string `json:"headers"`
	Body     string      `json:"body"`
	ClientIP string      `json:"client_ip"`
}

// DryRun is the answer of POST /webhooks/{id}/dry-run: what the webhook's
// current configuration does with the request, with nothing written (no
// request record, no job), nothing sent, and no side-effect command run.
type DryRun struct {
	// Verify holds each verify block's verdict: reported, not enforced.
	Verify []VerifyCheck `json:"verify"`
	// Handler is the handler that fires ("automation/main"), "" when none.
	Handler string `json:"handler"`
	// Automation is the automation the handler names.
	Automation string `json:"automation"`
	// Inputs are the handler's fixed inputs as rendered for the request
	// (secret values redacted); null when it has none.
	Inputs json.RawMessage `json:"inputs"`
	// Secrets names the stored secrets the event KATA and the automation
	// read ({{secrets.NAME}}): names only.
	Secrets []string `json:"secrets"`
	// Job reports a job: handler, run here synchronously.
	Job bool `json:"job"`
	// Response is the automation's answer; null when Problem is set.
	Response *JobResponse `json:"response"`
	// Problem is what the webhook answers instead (no handler, the
	// automation failed, ...); null when Response is set.
	Problem *Problem `json:"problem"`
	// Log is the run log (secret values redacted).
	Log []LogEntry `json:"log"`
	// SideEffects are the commands that did not run.
	SideEffects []SideEffect `json:"side_effects"`
	// Notes say what differs from a real request (a disabled webhook, a
	// job's 202, a recorded request's redacted credentials).
	Notes []string `json:"notes"`
}

// SideEffect is a command a dry run did not run.
type SideEffect struct {
	Command string `json:"command"`
	Node    string `json:"node"`
	// Simulated is false when the policy refused the command: it failed as
	// it would have in a real run.
	Simulated bool `json:"simulated"`
	// OnSimulate reports that its on_simulate: block ran instead.
	OnSimulate bool `json:"on_simulate"`
}

// VerifyCheck is a verify block's verdict on a request, step by step.
type VerifyCheck struct {
	Block string `json:"block"`
	Type  string `json:"type"`
	// OK reports that the block passes the request.
	OK bool `json:"ok"`
	// Verdict is pass, fail, or unknown (the record cannot show it).
	Verdict string `json:"verdict"`
	// Reason is why it fails, or what cannot be checked.
	Reason string       `json:"reason,omitempty"`
	Steps  []VerifyStep `json:"steps"`
}

// VerifyStep is one check of a verify block.
type VerifyStep struct {
	Check string `json:"check"`
	// Result is ok, failed, unknown or info.
	Result string `json:"result"`
	Detail string `json:"detail"`
}

// Explanation is the answer of GET /requests/{id}/explain: the webhook's
// verify blocks run again on the recorded request, as far as the record
// allows.
type Explanation struct {
	RecordID  string `json:"record_id"`
	WebhookID string `json:"webhook_id"`
	Status    int    `json:"status"`
	Cause     string `json:"cause"`
	// RecordedReason is the refusal as it was recorded
	// ("verify/github: signature does not match").
	RecordedReason string `json:"recorded_reason"`
	// Block is the block that refused the request, "" when none did.
	Block string `json:"block"`
	// EventChanged reports that the webhook changed after the request:
	// the blocks explained are the current ones.
	EventChanged bool          `json:"event_changed"`
	Blocks       []VerifyCheck `json:"blocks"`
	Notes        []string      `json:"notes"`
}

// VerifyLab is the answer of GET /webhooks/{id}/verify-lab: for each
// verify block, a request that passes it.
type VerifyLab struct {
	Blocks []VerifySample `json:"blocks"`
}

// VerifySample is a request that passes one verify block, made with its
// current credentials. It never holds a token or password (placeholders
// name where they are kept) nor a secret; signatures over the sample body
// are shown.
type VerifySample struct {
	Block string `json:"block"`
	Type  string `json:"type"`
	// Sample is null when none can be made (Error says why).
	Sample *SampleRequest `json:"sample"`
	// Allowed lists, for ip_allow, the addresses that pass.
	Allowed []string `json:"allowed,omitempty"`
	Notes   string   `json:"notes"`
	Error   string   `json:"error,omitempty"`
}

// SampleRequest is a sample request and the curl command that sends it
// (to ${WEBHOOK_URL}: the webhook's URL holds its token, which is never
// shown again).
type SampleRequest struct {
	Method  string      `json:"method"`
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`
	// Placeholder reports that a header holds a placeholder the sender
	// replaces with the credential ("<the token in secret deploy_token>").
	Placeholder bool   `json:"placeholder"`
	Curl        string `json:"curl"`
}
