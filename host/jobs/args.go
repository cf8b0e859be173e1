package jobs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
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

// encode returns json.Marshal(a), written without encoding/json's
// reflection when its strings need no escape (plainJSON) and it has no
// Inputs, as a durable 202's args always are (json.Marshal was a tenth of
// the queue's CPU for each). Any other args go through encoding/json.
func (a *runArgs) encode() ([]byte, error) {
	plain := len(a.Inputs) == 0 && plainJSON(a.JobID) && plainJSON(a.WebhookID) && plainJSON(a.Handler) &&
		plainJSON(a.Automation) && plainJSON(a.CallbackURL)
	// The text's length: the four names and their keys (58 bytes), the
	// others as present, a number of at most 20 bytes.
	n := len(a.JobID) + len(a.WebhookID) + len(a.Handler) + len(a.Automation) + 58 + len(`,"timeout_ms":`) + 20
	if a.Explicit {
		n += len(`,"explicit_attempts":true`)
	}
	if a.Concurrency != 0 {
		n += len(`,"concurrency":`) + 20
	}
	if a.CallbackURL != "" {
		n += len(`,"callback_url":""`) + len(a.CallbackURL)
	}
	if len(a.CredentialHeaders) > 0 {
		n += len(`,"credential_headers":[]`)
	}
	for _, h := range a.CredentialHeaders {
		plain = plain && plainJSON(h)
		n += len(h) + 3
	}
	if !plain {
		return json.Marshal(a)
	}
	b := make([]byte, 0, n)
	b = append(append(append(b, `{"job_id":"`...), a.JobID...), `","webhook_id":"`...)
	b = append(append(b, a.WebhookID...), `","handler":"`...)
	b = append(append(b, a.Handler...), `","automation":"`...)
	b = append(append(b, a.Automation...), '"')
	if a.Explicit {
		b = append(b, `,"explicit_attempts":true`...)
	}
	b = strconv.AppendInt(append(b, `,"timeout_ms":`...), a.TimeoutMS, 10)
	if a.Concurrency != 0 {
		b = strconv.AppendInt(append(b, `,"concurrency":`...), int64(a.Concurrency), 10)
	}
	if a.CallbackURL != "" {
		b = append(append(append(b, `,"callback_url":"`...), a.CallbackURL...), '"')
	}
	if len(a.CredentialHeaders) > 0 {
		b = append(b, `,"credential_headers":[`...)
		for i, h := range a.CredentialHeaders {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(append(append(b, '"'), h...), '"')
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// plainJSON reports whether encoding/json writes s as it is between
// quotes: printable ASCII without '"', '\\' or the HTML characters it
// escapes ('<', '>', '&').
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

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
