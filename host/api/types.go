package api

import (
	"encoding/json"
	"time"
)

// Automation is an automation record (Cerb's record fields).
type Automation struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	ExtensionID string `json:"extension_id"`
	Description string `json:"description"`
	Script      string `json:"script"`
	PolicyKATA  string `json:"policy_kata"`
	Revision    int64  `json:"revision"`
	// Owner is "manifest:<directory>/<file>" when a manifest manages the automation
	// (the admin API then refuses changes without ?force=true).
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AutomationInput is the body of POST /automations and PUT
// /automations/{name}.
type AutomationInput struct {
	Name        string `json:"name"`
	ExtensionID string `json:"extension_id"`
	Description string `json:"description"`
	Script      string `json:"script"`
	PolicyKATA  string `json:"policy_kata"`
}

// AutomationList is the answer of GET /automations.
type AutomationList struct {
	Automations []Automation `json:"automations"`
}

// Webhook is a webhook record. URL and Token are set only in the answers
// that create or rotate its token: it is shown once.
type Webhook struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	EventKATA string     `json:"event_kata"`
	Enabled   bool       `json:"enabled"`
	Debug     bool       `json:"debug"`
	ExpiresAt *time.Time `json:"expires_at"`
	// Revision grows by one on every change.
	Revision int64 `json:"revision"`
	// Owner is "manifest:<directory>/<file>" when a manifest manages the webhook.
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// PreviousTokenValidUntil is set while a rotated token still works.
	PreviousTokenValidUntil *time.Time `json:"previous_token_valid_until,omitempty"`
	URL                     string     `json:"url,omitempty"`
	Token                   string     `json:"token,omitempty"`
	// Stats are the webhook's recent requests (GET /webhooks?stats=).
	Stats *WebhookStats `json:"stats,omitempty"`
	// Subscriptions are the subscriptions hookhost made (or is making, or
	// is taking back) upstream for its subscribe/<name>: blocks (GET
	// /webhooks/{id}).
	Subscriptions []UpstreamSubscription `json:"subscriptions,omitempty"`
}

// UpstreamSubscription is the state of a subscription hookhost makes at an
// upstream API for a subscribe/<name>: block of a webhook's event KATA.
type UpstreamSubscription struct {
	// Block is the block's name.
	Block string `json:"block"`
	// State is pending, active, failed or deleting.
	State string `json:"state"`
	// Current is false for one being taken back (replaced by a newer
	// one, or its block removed).
	Current bool `json:"current"`
	// Location is where DELETE takes it back.
	Location string `json:"location,omitempty"`
	// LastStatus and LastAnswer are the upstream's last answer (an
	// excerpt); LastError says why the last attempt failed.
	LastStatus int       `json:"last_status,omitempty"`
	LastAnswer string    `json:"last_answer,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	Attempts   int       `json:"attempts"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// WebhookInput is the JSON body of POST /webhooks.
type WebhookInput struct {
	Name      string     `json:"name"`
	EventKATA string     `json:"event_kata"`
	Enabled   *bool      `json:"enabled"`
	Debug     bool       `json:"debug"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// WebhookPatch is the body of PATCH /webhooks/{id}: the fields present
// change, the others stay.
type WebhookPatch struct {
	Name      *string `json:"name,omitempty"`
	EventKATA *string `json:"event_kata,omitempty"`
	Enabled   *bool   `json:"enabled,omitempty"`
	Debug     *bool   `json:"debug,omitempty"`
	// ExpiresAt is an RFC 3339 time, or null to clear the expiry.
	ExpiresAt json.RawMessage `json:"expires_at,omitempty"`
}

// WebhookList is the answer of GET /webhooks.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
	// NextCursor continues the list (?cursor=) when it was asked for by
	// page (?limit=); empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// WebhookStats counts a webhook's requests since a time (GET /webhooks
// with ?stats=): in 24 buckets, oldest first, and its last answer.
type WebhookStats struct {
	Since      time.Time  `json:"since"`
	BucketSecs int64      `json:"bucket_seconds"`
	Requests   []int      `json:"requests"`
	Errors     []int      `json:"errors"`
	Total      int        `json:"total"`
	ErrorTotal int        `json:"error_total"`
	LastStatus int        `json:"last_status,omitempty"`
	LastAt     *time.Time `json:"last_at,omitempty"`
}

// Run is a synchronous run record. Inputs, Output and Log are shown by
// GET /runs/{id} only.
type Run struct {
	ID         string          `json:"id"`
	WebhookID  string          `json:"webhook_id"`
	Automation string          `json:"automation"`
	Revision   int64           `json:"revision"`
	Status     int             `json:"status"`
	Exit       string          `json:"exit"`
	Error      string          `json:"error,omitempty"`
	DurationUS int64           `json:"duration_us"`
	CreatedAt  time.Time       `json:"created_at"`
	Inputs     json.RawMessage `json:"inputs,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Log        json.RawMessage `json:"log,omitempty"`
	// RequestID is the request's X-Request-Id.
	RequestID string `json:"request_id,omitempty"`
	// Cause says why the request was refused before its automation ran
	// (verify, rate_limit, concurrency, body_size, disabled, expired,
	// no_handler), or why the run failed (error, timeout, crash).
	Cause string `json:"cause,omitempty"`
	// JobID names the job a hand-off queued.
	JobID string `json:"job_id,omitempty"`
	// ReplayOf names the record this one replayed.
	ReplayOf string `json:"replay_of,omitempty"`
}

// RunList is the answer of GET /runs.
type RunList struct {
	Runs []Run `json:"runs"`
	// NextBefore is the before= of the next page; absent on the last page.
	NextBefore string `json:"next_before,omitempty"`
	// Searched is, for a search (q=) that stopped at its budget before it
	// filled the page, how many records it read (the newest that match
	// the other filters, from before= on); older ones are searched from
	// NextBefore.
	Searched int `json:"searched,omitempty"`
	// Total is, with count=true, how many records match the filters but
	// q, up to MaxRunCount; TotalMore says that there are more.
	Total     *int `json:"total,omitempty"`
	TotalMore bool `json:"total_more,omitempty"`
}

// MaxRunCount bounds the count of GET /requests?count=true: past it the
// answer says "10,000+" (total_more) rather than count a million records.
const MaxRunCount = 10_000

// Job is a durable job as the APIs show it: a list row, the caller's
// status resource (GET /webhook-jobs/{id}), or the admin detail.
type Job struct {
	ID          string          `json:"id"`
	State       string          `json:"state"`
	WebhookID   string          `json:"webhook_id,omitempty"`
	Handler     string          `json:"handler,omitempty"`
	Automation  string          `json:"automation,omitempty"`
	Revision    int64           `json:"revision,omitempty"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at"`
	FinishedAt  *time.Time      `json:"finished_at"`
	Error       string          `json:"error,omitempty"`
	RetryOf     string          `json:"retry_of,omitempty"`
	CallbackURL string          `json:"callback_url,omitempty"`
	Inputs      json.RawMessage `json:"inputs,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
	Response    *JobResponse    `json:"response,omitempty"`
	Streams     *Streams        `json:"streams,omitempty"`
}

// JobResponse is the automation's HTTP answer of a finished job. Body is
// text when it is UTF-8, else BodyBase64.
type JobResponse struct {
	Status     int         `json:"status"`
	Headers    [][2]string `json:"headers"`
	Body       string      `json:"body,omitempty"`
	BodyBase64 string      `json:"body_base64,omitempty"`
}

// JobList is the answer of GET /jobs.
type JobList struct {
	Jobs       []Job  `json:"jobs"`
	NextCursor string `json:"next_cursor"`
}

// JobIDs is the answer of a job hand-off (202), as Azure Automation words
// it.
type JobIDs struct {
	JobIDs []string `json:"JobIds"`
}

// LogEntry is one line of a job's log.
type LogEntry struct {
	Level   int    `json:"level"`
	Node    string `json:"node,omitempty"`
	Message string `json:"message"`
}

// Streams are Azure Automation's job streams: Output (level 7), Warning
// (4), Error (3 and 1) and Verbose (the rest).
type Streams struct {
	Output  []LogEntry `json:"Output"`
	Warning []LogEntry `json:"Warning"`
	Error   []LogEntry `json:"Error"`
	Verbose []LogEntry `json:"Verbose"`
}

// SigningSecret is the answer of POST /webhooks/{id}/signing-secret: the
// only time the secret is shown.
type SigningSecret struct {
	WebhookID     string `json:"webhook_id"`
	SigningSecret string `json:"signing_secret"`
}

// Secret names a stored secret; values are write-only.
type Secret struct {
	Name string `json:"name"`
}

// SecretInput is the JSON form of PUT /secrets/{name}.
type SecretInput struct {
	Value *string `json:"value"`
}

// SecretList is the answer of GET /secrets.
type SecretList struct {
	Secrets []Secret `json:"secrets"`
}

// Created is one record a package import created.
type Created struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// ImportResult is the answer of POST /packages/import: Cerb's
// records_created, plus each created webhook's URL and token (shown once).
type ImportResult struct {
	Package  string `json:"package"`
	Revision int    `json:"revision"`
	// Action is what the import did: ImportFirst (201), ImportUpgrade
	// (200), or ImportUnchanged (200: the package is already at this
	// revision; RecordsCreated are the records it created then).
	Action string `json:"action"`
	// PreviousRevision is the revision an upgrade replaced.
	PreviousRevision int                           `json:"previous_revision,omitempty"`
	RecordsCreated   map[string]map[string]Created `json:"records_created"`
	// RecordsUpdated are the records an upgrade changed in place (a
	// webhook keeps its ID and token).
	RecordsUpdated map[string]map[string]Created `json:"records_updated,omitempty"`
	// RecordsKept are records of the previous revision that this one no
	// longer has: they are kept (and no longer part of the package)
	// unless the import prunes them (RecordsDeleted).
	RecordsKept    map[string]map[string]Created `json:"records_kept,omitempty"`
	RecordsDeleted map[string]map[string]Created `json:"records_deleted,omitempty"`
	Webhooks       []ImportedWebhook             `json:"webhooks,omitempty"`
	Warnings       []string                      `json:"warnings,omitempty"`
}

// ImportResult actions.
const (
	ImportFirst     = "import"
	ImportUpgrade   = "upgrade"
	ImportUnchanged = "unchanged"
)

// ImportedWebhook is a webhook a package created, with its token.
type ImportedWebhook struct {
	UID   string `json:"uid"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	URL   string `json:"url"`
	Token string `json:"token"`
}

// LibraryList is the answer of GET /packages/library.
type LibraryList struct {
	Packages []string `json:"packages"`
}

// Extension describes a loaded (or refused) extension.
type Extension struct {
	Name     string   `json:"name"`
	Builtin  bool     `json:"builtin"`
	Path     string   `json:"path"`
	State    string   `json:"state"`
	Error    string   `json:"error,omitempty"`
	ID       string   `json:"id,omitempty"`
	Version  string   `json:"version,omitempty"`
	Triggers []string `json:"triggers"`
	Commands []string `json:"commands"`
	// Pids are the running processes, one per pool slot (0 while a slot
	// restarts).
	Pids []int `json:"pids"`
	// Restarts counts process restarts since the server started.
	Restarts int `json:"restarts"`
	// InFlight counts calls running now.
	InFlight int `json:"in_flight"`
}

// ExtensionList is the answer of GET /extensions.
type ExtensionList struct {
	Extensions []Extension `json:"extensions"`
}

// Status is the answer of /healthz and /readyz.
type Status struct {
	Status string `json:"status"`
}

// Version is the answer of GET /version.
type Version struct {
	// Version is the server's release ("dev" for a development build).
	Version string `json:"version"`
	// GoVersion is the Go release the server was built with.
	GoVersion string `json:"go_version"`
}

// ExtensionReload is the answer of POST /extensions/reload: what a re-scan
// of the plugins directory did.
type ExtensionReload struct {
	// Started are new binaries, now serving.
	Started []string `json:"started"`
	// Restarted are changed binaries, now serving in new processes.
	Restarted []string `json:"restarted"`
	// Stopped are binaries gone from the plugins directory.
	Stopped []string `json:"stopped"`
	// Failed could not be started (GET /extensions says why); a changed
	// binary that fails leaves the old processes serving.
	Failed []string `json:"failed"`
}

// Replay is the answer of POST /requests/{id}/replay: the replay's own
// record and what the webhook answered it (Response, or Problem).
type Replay struct {
	RecordID string       `json:"record_id"`
	Response *JobResponse `json:"response,omitempty"`
	Problem  *Problem     `json:"problem,omitempty"`
}

// JobEvent is the data of a "job" event on the event stream: a job started
// or ended on the server streaming it.
type JobEvent struct {
	JobID   string    `json:"job_id"`
	State   string    `json:"state"`
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
}
