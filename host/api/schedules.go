package api

import (
	"encoding/json"
	"time"
)

// Schedule is a schedule record: an automation run as a durable job at
// each tick of a cron expression.
type Schedule struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Cron is 5 cron fields, 6 with seconds first, or @every <duration>,
	// @hourly, @daily, @weekly, @monthly, @yearly.
	Cron string `json:"cron"`
	// TimeZone is the IANA time zone Cron is read in.
	TimeZone string `json:"time_zone"`
	// Automation is the webhook.respond automation each tick runs.
	Automation string `json:"automation"`
	// Inputs are its fixed inputs (null for none).
	Inputs json.RawMessage `json:"inputs"`
	Job    ScheduleJob     `json:"job"`
	// Enabled is false while the schedule is paused.
	Enabled bool `json:"enabled"`
	// MissedRuns is the missed-run policy: skip or run_once.
	MissedRuns string `json:"missed_runs"`
	// NextRunAt is the tick it waits for (null while paused), in its time
	// zone; NextRuns, shown by GET /schedules/{name}, the next 5.
	NextRunAt *time.Time  `json:"next_run_at"`
	NextRuns  []time.Time `json:"next_runs,omitempty"`
	// LastRunAt is the tick of its last job, LastJobID that job.
	LastRunAt *time.Time `json:"last_run_at"`
	LastJobID string     `json:"last_job_id,omitempty"`
	// MissedCount counts the ticks that got no job of their own.
	MissedCount int64 `json:"missed_count"`
	// Owner is "manifest:<directory>/<file>" when a manifest manages the schedule.
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ScheduleJob are the options of a schedule's jobs, as the job: block of
// event KATA names them; zero fields take the defaults.
type ScheduleJob struct {
	MaxAttempts int    `json:"max_attempts,omitempty"`
	TimeoutMS   int64  `json:"timeout_ms,omitempty"`
	Concurrency int    `json:"concurrency,omitempty"`
	CallbackURL string `json:"callback_url,omitempty"`
}

// ScheduleInput is the body of POST /schedules.
type ScheduleInput struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Cron        string          `json:"cron"`
	TimeZone    string          `json:"time_zone"`
	Automation  string          `json:"automation"`
	Inputs      json.RawMessage `json:"inputs"`
	Job         ScheduleJob     `json:"job"`
	// Enabled defaults to true.
	Enabled    *bool  `json:"enabled"`
	MissedRuns string `json:"missed_runs"`
}

// SchedulePatch is the body of PATCH /schedules/{name}: the fields
// present change, the others stay.
type SchedulePatch struct {
	Description *string `json:"description,omitempty"`
	Cron        *string `json:"cron,omitempty"`
	TimeZone    *string `json:"time_zone,omitempty"`
	Automation  *string `json:"automation,omitempty"`
	// Inputs replace the fixed inputs; null removes them.
	Inputs     json.RawMessage `json:"inputs,omitempty"`
	Job        *ScheduleJob    `json:"job,omitempty"`
	Enabled    *bool           `json:"enabled,omitempty"`
	MissedRuns *string         `json:"missed_runs,omitempty"`
}

// ScheduleList is the answer of GET /schedules.
type ScheduleList struct {
	Schedules []Schedule `json:"schedules"`
}

// ScheduleSigningSecret is the answer of GET and POST
// /schedules/{name}/signing-secret: the secret that signs the completion
// callbacks of the schedule's jobs.
type ScheduleSigningSecret struct {
	Schedule      string `json:"schedule"`
	SigningSecret string `json:"signing_secret"`
}

// Subscription is a receiver of hookhost's events. Secret signs its
// deliveries (Standard Webhooks); it is shown by POST /subscriptions and
// GET /subscriptions/{id}, not in lists.
type Subscription struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	WebhookID   string   `json:"webhook_id,omitempty"`
	Description string   `json:"description,omitempty"`
	Secret      string   `json:"secret,omitempty"`
	// Name identifies a subscription a manifest declares; Owner is
	// "manifest:<directory>/<file>" when a manifest manages it.
	Name      string    `json:"name,omitempty"`
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// SubscriptionInput is the body of POST /subscriptions.
type SubscriptionInput struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	WebhookID   string   `json:"webhook_id"`
	Description string   `json:"description"`
}

// SubscriptionList is the answer of GET /subscriptions.
type SubscriptionList struct {
	Subscriptions []Subscription `json:"subscriptions"`
}

// Delivery is one event sent (or being sent) to a subscription.
type Delivery struct {
	// ID is the message id (the webhook-id header).
	ID    string `json:"id"`
	Event string `json:"event"`
	// State is queued, delivered, retrying, failed, refused or stopped.
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// Status is the receiver's last HTTP status (0 for none).
	Status    int       `json:"status"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DeliveryList is the answer of GET /subscriptions/{id}/deliveries,
// newest first.
type DeliveryList struct {
	Deliveries []Delivery `json:"deliveries"`
}
