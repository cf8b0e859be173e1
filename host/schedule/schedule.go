package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/jobs"
)

// Missed-run policies: what a tick found late (after downtime) does.
const (
	// MissedSkip drops ticks found late; the schedule goes on from the
	// next one.
	MissedSkip = "skip"
	// MissedRunOnce runs one job for the ticks found late (its inputs say
	// schedule_catch_up: true), then goes on from the next one.
	MissedRunOnce = "run_once"
)

// Bounds of a schedule's job options: those of the job: block of event
// KATA.
const (
	maxJobAttempts    = 100
	maxJobTimeoutMS   = int64(jobs.MaxTimeout / time.Millisecond)
	maxJobConcurrency = 1000
)

// Schedule is a schedule: an automation run as a durable job at each tick
// of a cron expression, with fixed inputs.
type Schedule struct {
	// Name identifies it (letters, digits, '.', '_', '-'; at most 128).
	Name        string
	Description string
	// Cron is the expression (ParseCron).
	Cron string
	// TimeZone is the IANA time zone Cron is read in ("UTC" by default).
	TimeZone string
	// Automation is the webhook.respond automation each tick runs.
	Automation string
	// Inputs are its fixed inputs: a JSON object, or nil.
	Inputs json.RawMessage
	// Job are the options of each tick's job.
	Job JobOptions
	// Enabled is false while the schedule is paused.
	Enabled bool
	// Missed is the missed-run policy: MissedSkip or MissedRunOnce.
	Missed string
	// Owner is what manages the schedule: "" for the admin API,
	// store.OwnerManifest+file for a declarative manifest.
	Owner string

	// NextRunAt is the tick it waits for (nil while paused).
	NextRunAt *time.Time
	// LastRunAt is the tick of its last job, LastJobID that job.
	LastRunAt *time.Time
	LastJobID string
	// MissedCount counts the ticks that passed without a job of their own
	// (found late, or folded into a catch-up run).
	MissedCount int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// JobOptions are the options of a schedule's jobs, as the job: block of
// event KATA names them. Zero fields take the job queue's defaults.
type JobOptions struct {
	// MaxAttempts is the most attempts (1 to 100); when set, an automation
	// that ends in error is retried.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// TimeoutMS is the time limit of one attempt (1 to 3 hours).
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// Concurrency caps the schedule's attempts running at once (1 to 1000).
	Concurrency int `json:"concurrency,omitempty"`
	// CallbackURL receives a signed notice when a job ends.
	CallbackURL string `json:"callback_url,omitempty"`
}

// queueOptions are the job queue's options of o.
func (o JobOptions) queueOptions() jobs.Options {
	return jobs.Options{MaxAttempts: o.MaxAttempts, Timeout: time.Duration(o.TimeoutMS) * time.Millisecond,
		Concurrency: o.Concurrency, CallbackURL: o.CallbackURL}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// check validates the fields of sc that do not need the catalog, and
// normalises them (default time zone and policy, compact inputs). It
// returns the parsed expression (nil when it is invalid) and every problem.
func (sc *Schedule) check() (*Cron, []api.ProblemItem) {
	var items []api.ProblemItem
	add := func(field, format string, args ...any) {
		items = append(items, api.ProblemItem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !nameRE.MatchString(sc.Name) {
		add("name", "name %q must be 1 to 128 letters, digits, dots, dashes and underscores", sc.Name)
	}
	if sc.TimeZone == "" {
		sc.TimeZone = DefaultTimeZone
	}
	c, err := ParseCron(sc.Cron, sc.TimeZone)
	if err != nil {
		field := "cron"
		if _, tzErr := LoadTimeZone(sc.TimeZone); tzErr != nil {
			field = "time_zone"
		}
		add(field, "%s", err)
		c = nil
	} else if c.Next(time.Now()).IsZero() {
		add("cron", "%q never matches a date", sc.Cron)
		c = nil
	}
	if sc.Automation == "" {
		add("automation", "automation is required: the name of a webhook.respond automation")
	}
	switch sc.Missed {
	case "":
		sc.Missed = MissedSkip
	case MissedSkip, MissedRunOnce:
	default:
		add("missed_runs", "missed_runs %q: want %q or %q", sc.Missed, MissedSkip, MissedRunOnce)
	}
	if len(sc.Description) > 1024 || !utf8.ValidString(sc.Description) || strings.ContainsRune(sc.Description, 0) {
		add("description", "description must be at most 1024 bytes of UTF-8 text")
	}
	if in := bytes.TrimSpace(sc.Inputs); len(in) == 0 || bytes.Equal(in, []byte("null")) {
		sc.Inputs = nil
	} else if in[0] != '{' || !json.Valid(in) || !utf8.Valid(in) {
		add("inputs", "inputs must be a JSON object of the automation's inputs, e.g. {\"environment\": \"production\"}")
	} else {
		var buf bytes.Buffer
		_ = json.Compact(&buf, in)
		sc.Inputs = buf.Bytes()
	}
	o := sc.Job
	if o.MaxAttempts < 0 || o.MaxAttempts > maxJobAttempts {
		add("job.max_attempts", "job.max_attempts must be between 1 and %d", maxJobAttempts)
	}
	if o.TimeoutMS < 0 || o.TimeoutMS > maxJobTimeoutMS {
		add("job.timeout_ms", "job.timeout_ms must be between 1 and %d", maxJobTimeoutMS)
	}
	if o.Concurrency < 0 || o.Concurrency > maxJobConcurrency {
		add("job.concurrency", "job.concurrency must be between 1 and %d", maxJobConcurrency)
	}
	if o.CallbackURL != "" {
		u, err := url.Parse(o.CallbackURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(o.CallbackURL, " \t\x00") ||
			!utf8.ValidString(o.CallbackURL) {
			add("job.callback_url", "job.callback_url must be an http or https URL")
		}
	}
	return c, items
}
