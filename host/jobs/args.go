package jobs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"time"
)

// River queues and job kinds.
//
// Run jobs queued since job schema version 10 keep their real inputs in
// hookhost_job_inputs, and go to queueRuns, which a server of an earlier
// version does not work: it would find no inputs in their args and end
// them failed (README: an older server works on the newer schema until it
// is replaced). Those queued before are in queueRunsArgs, with their
// inputs in their args; this version works both.
const (
	queueRuns      = "hookhost_runs_kept"
	queueRunsArgs  = "hookhost_runs"
	queueCallbacks = "hookhost_callbacks"
	// legacyRunWorkers and legacyRunPoll are queueRunsArgs' workers (at
	// most, beside Config.Workers) and poll interval.
	legacyRunWorkers = 2
	legacyRunPoll    = 10 * time.Second
	kindRun          = "hookhost.run"
	kindCallback     = "hookhost.callback"
	kindDelivery     = "hookhost.delivery"
)

// runArgs are a run job's River args. Jobs queued since schema version
// 10 keep their real inputs apart, raw, in hookhost_job_inputs (inputs.go),
// and their args have no inputs key; Inputs holds those of jobs queued
// before, in base64 (argBytes), and the inputs the worker runs with.
type runArgs struct {
	JobID       string   `json:"job_id"`
	WebhookID   string   `json:"webhook_id"`
	Handler     string   `json:"handler"`
	Automation  string   `json:"automation"`
	Inputs      argBytes `json:"inputs,omitempty"`
	Explicit    bool     `json:"explicit_attempts,omitempty"` // max_attempts was set: automation errors retry
	TimeoutMS   int64    `json:"timeout_ms"`
	Concurrency int      `json:"concurrency,omitempty"`
	CallbackURL string   `json:"callback_url,omitempty"`
	// CredentialHeaders are the Request's (none for most webhooks: the
	// key is then left out).
	CredentialHeaders []string `json:"credential_headers,omitempty"`
}

// Kind is River's job kind.
func (runArgs) Kind() string { return kindRun }

func (a runArgs) timeout() time.Duration {
	d := time.Duration(a.TimeoutMS) * time.Millisecond
	if d <= 0 {
		d = DefaultTimeout
	}
	return min(d, MaxTimeout)
}

// slotKey names the concurrency limit the job counts against: its
// webhook's handler.
func (a runArgs) slotKey() string { return a.WebhookID + "/" + a.Handler }

// callbackArgs are a completion callback's River args.
type callbackArgs struct {
	JobID     string `json:"job_id"`
	WebhookID string `json:"webhook_id"`
	// SigningKey names the signing secret (SigningKey); callbacks queued
	// before it existed use WebhookID.
	SigningKey string   `json:"signing_key,omitempty"`
	URL        string   `json:"url"`
	Payload    argBytes `json:"payload"`
}

// Kind is River's job kind.
func (callbackArgs) Kind() string { return kindCallback }

// argBytes are bytes in River's args (a JSON document: jsonb on
// PostgreSQL, which refuses the escape \u0000 and invalid UTF-8 that a
// caller's body or query may hold). They are encoded as a base64 string;
// a JSON value other than a string, as args written before this encoding
// hold, decodes to its raw text.
type argBytes []byte

// MarshalText encodes b in base64, which encoding/json writes as a JSON
// string. (A MarshalJSON's output is validated and compacted again by
// encoding/json; a text's is only escaped, and base64 needs no escapes.)
func (b argBytes) MarshalText() ([]byte, error) {
	return base64.StdEncoding.AppendEncode(make([]byte, 0, base64.StdEncoding.EncodedLen(len(b))), b), nil
}

// UnmarshalJSON decodes a base64 string, or keeps any other JSON value as
// it is.
func (b *argBytes) UnmarshalJSON(data []byte) error {
	if len(data) == 0 || data[0] != '"' {
		if bytes.Equal(data, []byte("null")) {
			*b = nil
			return nil
		}
		*b = append(argBytes{}, data...)
		return nil
	}
	if s := data[1:]; len(s) > 0 && s[len(s)-1] == '"' && bytes.IndexByte(s, '\\') < 0 {
		// No escapes (as written by MarshalText): the base64 as it is.
		return b.decodeBase64(s[:len(s)-1])
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	dec, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	*b = dec
	return nil
}

// decodeBase64 sets b to the bytes of the base64 text s.
func (b *argBytes) decodeBase64(s []byte) error {
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(dec, s)
	if err != nil {
		return err
	}
	*b = dec[:n]
	return nil
}
