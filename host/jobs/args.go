package jobs

import (
	"encoding/json"
	"time"
)

// River queues and job kinds.
const (
	queueRuns      = "hookhost_runs"
	queueCallbacks = "hookhost_callbacks"
	kindRun        = "hookhost.run"
	kindCallback   = "hookhost.callback"
)

// runArgs are a run job's River args. They hold the real inputs.
type runArgs struct {
	JobID       string          `json:"job_id"`
	WebhookID   string          `json:"webhook_id"`
	Handler     string          `json:"handler"`
	Automation  string          `json:"automation"`
	Inputs      json.RawMessage `json:"inputs"`
	Explicit    bool            `json:"explicit_attempts,omitempty"` // max_attempts was set: automation errors retry
	TimeoutMS   int64           `json:"timeout_ms"`
	Concurrency int             `json:"concurrency,omitempty"`
	CallbackURL string          `json:"callback_url,omitempty"`
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
	JobID     string          `json:"job_id"`
	WebhookID string          `json:"webhook_id"`
	URL       string          `json:"url"`
	Payload   json.RawMessage `json:"payload"`
}

// Kind is River's job kind.
func (callbackArgs) Kind() string { return kindCallback }
