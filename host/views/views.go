// Package views presents stored records as the admin API and the job
// status resource show them (host/api types), with every stored string
// redacted again on the way out: records written before a secret was set
// may hold its value.
package views

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates/dict"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/store"
)

// Automation shows an automation record.
func Automation(a *store.Automation) api.Automation {
	return api.Automation{ID: a.ID, Name: a.Name, ExtensionID: a.ExtensionID, Description: a.Description,
		Script: a.Script, PolicyKATA: a.PolicyKATA, Revision: a.Revision, Owner: a.Owner, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// Webhook shows a webhook record (without its token, which is shown only
// when it is made).
func Webhook(w *store.Webhook, now time.Time) api.Webhook {
	v := api.Webhook{ID: w.ID, Name: w.Name, EventKATA: w.EventKATA, Enabled: w.Enabled, Debug: w.Debug,
		ExpiresAt: w.ExpiresAt, Revision: w.Revision, Owner: w.Owner, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	if w.PrevTokenExpiresAt != nil && now.Before(*w.PrevTokenExpiresAt) {
		v.PreviousTokenValidUntil = w.PrevTokenExpiresAt
	}
	return v
}

// Run shows a run record; full adds its inputs, output and log.
func Run(r *store.Run, full bool, red *redact.Redactor) api.Run {
	v := api.Run{ID: r.ID, WebhookID: r.WebhookID, Automation: r.Automation, Revision: r.Revision, Status: r.Status,
		Exit: r.Exit, Error: red.Redact(r.Error), DurationUS: r.DurationUS, CreatedAt: r.CreatedAt,
		RequestID: r.RequestID, Cause: r.Cause, JobID: r.JobID, ReplayOf: r.ReplayOf}
	if full {
		v.Inputs = raw(red.RawJSON(r.Inputs))
		v.Output = raw(red.RawJSON(r.Output))
		v.Log = raw(red.RawJSON(r.Log))
	}
	return v
}

func raw(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// JobLevel is how much of a job a view shows.
type JobLevel int

// Job view levels.
const (
	// JobRow is a list row.
	JobRow JobLevel = iota
	// JobCaller is the caller's status resource: state, attempts, times
	// and the automation's answer as the caller would have received it.
	JobCaller
	// JobFull is the admin detail.
	JobFull
)

// Job shows j at level.
func Job(j *jobs.Job, level JobLevel, red *redact.Redactor) api.Job {
	v := api.Job{ID: j.ID, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
	if level != JobCaller {
		v.WebhookID, v.Handler, v.Automation, v.Revision = j.WebhookID, j.Handler, j.Automation, j.Revision
		v.Error, v.RetryOf = red.Redact(j.Error), j.RetryOf
	}
	if level == JobRow {
		return v
	}
	if j.State.Final() && j.Status != 0 {
		r := &api.JobResponse{Status: j.Status, Headers: j.Headers}
		if r.Headers == nil {
			r.Headers = [][2]string{}
		}
		if utf8.Valid(j.Body) {
			r.Body = string(j.Body)
		} else {
			r.BodyBase64 = base64.StdEncoding.EncodeToString(j.Body)
		}
		v.Response = r
	}
	if level == JobFull {
		v.CallbackURL, v.Inputs, v.Output = red.Redact(j.CallbackURL), jobInputs(j.Inputs, red), red.RawJSON(j.Output)
		if r := v.Response; r != nil {
			r.Headers = red.Headers(r.Headers)
			r.Body = red.Redact(r.Body)
		}
		st := Streams(j.Log, red)
		v.Streams = &st
	}
	return v
}

// jobInputs shows a job's stored inputs as its run has them: with
// webhook_data's RequestBody, which a job stores once, as request_body
// (automations.CompactsRequestBody), and redacted.
func jobInputs(stored json.RawMessage, red *redact.Redactor) json.RawMessage {
	v, err := dict.DecodeJSON(stored)
	if err != nil {
		return red.RawJSON(stored)
	}
	if m, ok := v.(*dict.Map); ok {
		automations.ExpandJobInputs(m)
	}
	return red.JSON(v)
}

// Streams splits a job's log into Azure Automation's streams, every
// message redacted.
func Streams(l []jobs.LogEntry, red *redact.Redactor) api.Streams {
	s := jobs.SplitStreams(l)
	conv := func(in []jobs.LogEntry) []api.LogEntry {
		out := make([]api.LogEntry, len(in))
		for i, e := range in {
			out[i] = api.LogEntry{Level: e.Level, Node: e.Node, Message: red.Redact(e.Message)}
		}
		return out
	}
	return api.Streams{Output: conv(s.Output), Warning: conv(s.Warning), Error: conv(s.Error), Verbose: conv(s.Verbose)}
}
