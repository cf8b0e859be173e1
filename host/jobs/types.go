package jobs

import (
	"context"
	"encoding/json"
	"time"
)

// Runner runs one attempt of a job. The host implements it with the
// extension call of a synchronous run.
//
// An error means the attempt did not complete for a reason outside the
// automation (an extension crash, the store unavailable): the job is
// retried with backoff up to its max attempts. An automation that ended in
// error is an Outcome with Failed set, not an error.
type Runner interface {
	RunJob(ctx context.Context, a *Attempt) (*Outcome, error)
}

// Attempt is one run of a job, as the Runner gets it.
type Attempt struct {
	JobID       string
	WebhookID   string
	Automation  string
	Inputs      json.RawMessage // the real inputs (JSON object)
	Attempt     int             // 1-based
	MaxAttempts int
	// CredentialHeaders are the job's Request.CredentialHeaders.
	CredentialHeaders []string
}

// Outcome is how an attempt ended.
type Outcome struct {
	// Revision is the automation revision that ran.
	Revision int64
	// Failed reports that the automation ended in error (or ran past its
	// time limit); Error says why.
	Failed bool
	Error  string
	// Status, Headers and Body are the automation's HTTP answer, as a
	// caller waiting for the job in this process gets it.
	Status  int
	Headers [][2]string
	Body    []byte
	// RecordHeaders and RecordBody are Headers and Body as the job's
	// record keeps them: redacted (the stored secrets' values, the
	// caller's credentials). When both are nil the record keeps Headers
	// and Body.
	RecordHeaders [][2]string
	RecordBody    []byte
	// Output is the return dictionary as JSON (nil when none).
	Output json.RawMessage
	// Log is the run log.
	Log []LogEntry
}

// LogEntry is one line of a run log (Cerb levels: 7 log, 4 warn, 3 error,
// 1 alert).
type LogEntry struct {
	Level   int    `json:"level"`
	Node    string `json:"node,omitempty"`
	Message string `json:"message"`
}

// Streams splits a run log into Azure Automation's job streams: Output
// (level 7), Warning (4), Error (3 and 1) and Verbose (the rest).
type Streams struct {
	Output  []LogEntry `json:"Output"`
	Warning []LogEntry `json:"Warning"`
	Error   []LogEntry `json:"Error"`
	Verbose []LogEntry `json:"Verbose"`
}

// SplitStreams sorts log entries into streams, keeping their order.
func SplitStreams(log []LogEntry) Streams {
	s := Streams{Output: []LogEntry{}, Warning: []LogEntry{}, Error: []LogEntry{}, Verbose: []LogEntry{}}
	for _, e := range log {
		switch e.Level {
		case 7:
			s.Output = append(s.Output, e)
		case 4:
			s.Warning = append(s.Warning, e)
		case 3, 1:
			s.Error = append(s.Error, e)
		default:
			s.Verbose = append(s.Verbose, e)
		}
	}
	return s
}

// Job is a job record.
type Job struct {
	ID          string
	RiverID     int64
	WebhookID   string
	Handler     string // the event handler key, e.g. "automation/deploy"
	Automation  string
	Revision    int64 // 0 until an attempt ran
	State       State
	Attempt     int
	MaxAttempts int
	Inputs      json.RawMessage // redacted
	Status      int
	Headers     [][2]string
	Body        []byte
	Output      json.RawMessage
	Log         []LogEntry
	Error       string
	RetryOf     string
	CallbackURL string
	CreatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
}

// Finished is what a waiter learns when a job ends in this process.
type Finished struct {
	JobID   string
	State   State
	Status  int
	Headers [][2]string
	Body    []byte
	Error   string
	// TimedOut reports a job that ran past its time limit.
	TimedOut bool
}

// EventKind names an Event.
type EventKind int

// Event kinds.
const (
	EventStarted EventKind = iota + 1
	EventFinished
	// EventCallback reports how a completion callback delivery ended
	// (Event.Outcome: delivered, refused, failed or stopped).
	EventCallback
)

// Event is passed to Config.Observe.
type Event struct {
	Kind  EventKind
	JobID string
	State State
	At    time.Time
	// Attempt is the attempt that started or ended.
	Attempt int
	// Outcome is how a callback delivery ended (EventCallback).
	Outcome string
}

// Options are a job's options (the handler's job: block).
type Options struct {
	// MaxAttempts is the most attempts; 0 means DefaultMaxAttempts, and an
	// automation ending in error is then not retried.
	MaxAttempts int
	// Timeout is the time limit of one attempt; 0 means DefaultTimeout.
	// It is capped at MaxTimeout.
	Timeout time.Duration
	// Concurrency, when positive, caps the attempts of this handler that
	// run at once across every process sharing the database.
	Concurrency int
	// CallbackURL, when set, receives a signed notice when the job ends.
	CallbackURL string
}

// Request is a job to queue.
type Request struct {
	WebhookID  string
	Handler    string
	Automation string
	// Inputs are the real inputs (JSON object); RedactedInputs the copy
	// kept in the job record.
	Inputs         json.RawMessage
	RedactedInputs json.RawMessage
	// CredentialHeaders name the request headers the webhook's verify
	// blocks read credentials from, besides the well-known ones
	// (redact.CredentialHeader): the runner redacts their values in the
	// job's record wherever the automation echoed them. They are kept
	// with the job (its River args) because the webhook may change before
	// the job runs.
	CredentialHeaders []string
	Options           Options
	// IdempotencyKey, when set, makes a redelivery within 24 hours get the
	// first job's id instead of a new job.
	IdempotencyKey string
	// RetryOf links a retry to the job it repeats.
	RetryOf string
}

// Result is what Enqueue returns.
type Result struct {
	JobID string
	// Duplicate reports an idempotent redelivery: JobID is the first job's.
	Duplicate bool
}
