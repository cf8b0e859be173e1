package runner

import (
	"context"
	"fmt"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/templates/dict"
)

// Jobs runs durable job attempts like synchronous runs: the automation is
// looked up by name at run time in the catalog's cache (invalidated on
// every change, across servers on PostgreSQL), so a job reads no
// automation row from the database; the outcome records the revision that
// ran.
type Jobs struct {
	Runner   Runner
	Catalog  *catalog.Catalog
	Redactor *redact.Redactor
}

var _ jobs.Runner = (*Jobs)(nil)

// RunJob runs one attempt of a job.
func (r *Jobs) RunJob(ctx context.Context, at *jobs.Attempt) (*jobs.Outcome, error) {
	a, err := r.Catalog.Automation(ctx, at.Automation)
	if err != nil {
		return nil, fmt.Errorf("load automation %q: %w", at.Automation, err)
	}
	if a == nil || !automations.IsWebhookTrigger(a.ExtensionID) {
		return &jobs.Outcome{Failed: true, Error: fmt.Sprintf("automation %q no longer exists", at.Automation)}, nil
	}
	stored, err := r.Catalog.OpenJobInputs(at.Inputs)
	if err != nil {
		return &jobs.Outcome{Revision: a.Revision, Failed: true, Error: "the job's inputs cannot be unsealed with this server's secret key"}, nil
	}
	v, err := dict.DecodeJSON(stored)
	inputs, ok := v.(*dict.Map)
	if err != nil || !ok {
		return &jobs.Outcome{Revision: a.Revision, Failed: true, Error: "the job's inputs are not a JSON object"}, nil
	}
	// This version stores the real inputs whole; reading compacted ones
	// too lets a later version compact them once no server of this one
	// or earlier runs jobs (review rev1: a release that reads them before
	// one that writes them).
	automations.ExpandJobInputs(inputs)
	// The record redacts the caller's own credentials wherever the
	// automation echoed them, as a run record does.
	red := recordRedactor(r.Redactor, inputs, at.CredentialHeaders)
	// Secrets are not stored with a job: they are read when it runs.
	if err := r.Catalog.InjectSecrets(ctx, inputs, r.Catalog.AutomationSecrets(a)); err != nil {
		return nil, fmt.Errorf("read the secrets of automation %q: %w", a.Name, err)
	}
	res, err := r.Runner.Run(ctx, &Invocation{RunID: at.JobID, Automation: a, Inputs: inputs})
	out := &jobs.Outcome{Revision: a.Revision}
	if res != nil {
		out.Log = jobLog(res.Log, red)
	}
	if err != nil {
		return out, err
	}
	resp := automations.WebhookResponse(res)
	for _, w := range resp.Warnings {
		// A warning may quote what the automation returned (an invalid
		// status_code): redacted as the log is.
		out.Log = append(out.Log, jobs.LogEntry{Level: 4, Message: red(w)})
	}
	out.Status, out.Headers, out.Body = resp.Status, resp.Headers, resp.Body
	// The response (Headers, Body) is the automation's answer, which a
	// caller waiting for the job gets whole; the record keeps it, the
	// output, the log and the error redacted, as a run record does.
	out.RecordHeaders, out.RecordBody = recordHeaders(resp.Headers, red), resp.Body
	if resp.Body != nil {
		out.RecordBody = []byte(red(string(resp.Body)))
	}
	if res.Return != nil {
		out.Output, _ = encode(redact.Walk(res.Return, red))
	}
	if res.Exit == automations.ExitError {
		out.Failed, out.Error = true, red(res.Error)
		if out.Error == "" {
			out.Error = "the automation ended in error"
		}
	}
	return out, nil
}

// jobLog converts a run log for the job record, redacting every message.
func jobLog(l []automations.LogEntry, red func(string) string) []jobs.LogEntry {
	out := make([]jobs.LogEntry, 0, len(l))
	for _, e := range l {
		out = append(out, jobs.LogEntry{Level: e.Level, Node: e.Node, Message: red(e.Message)})
	}
	return out
}

// recordRedactor returns the redaction of a job record: the stored
// secrets' values (red) and the values of the credential headers the
// caller sent (the job's request_headers): the well-known ones
// (redact.CredentialHeader) and extra, the headers the webhook's verify
// blocks read when the job was queued (jobs.Attempt.CredentialHeaders),
// with a bearer or basic token also without its scheme. A repeated header
// is one value there, its values joined with ", " (Cerb's form), where a
// synchronous run's record redacts each value the caller sent: so each
// value it may have been is redacted too, with the same rules
// (redact.JoinedCallerCredentials), and an automation that echoes one of
// them alone has it redacted in the job's record as in a run's.
func recordRedactor(red *redact.Redactor, inputs *dict.Map, extra []string) func(string) string {
	var hs [][2]string
	if m, ok := inputs.Value("request_headers").(*dict.Map); ok {
		for _, k := range m.Keys() {
			if v, ok := m.Value(k).(string); ok {
				hs = append(hs, [2]string{k, v})
			}
		}
	}
	if cr := red.JoinedCallerRedaction(hs, redact.InputsFieldCredentials(inputs), extra...); cr != nil {
		return cr
	}
	return red.Redact
}

// recordHeaders returns a copy of a job's response headers for its
// record: credential headers (Set-Cookie, …) are "[redacted]", every
// other value is redacted with red.
func recordHeaders(hs [][2]string, red func(string) string) [][2]string {
	if hs == nil {
		return nil
	}
	out := make([][2]string, len(hs))
	for i, h := range hs {
		if redact.CredentialHeader(h[0]) {
			out[i] = [2]string{h[0], redact.Marker}
			continue
		}
		out[i] = [2]string{h[0], red(h[1])}
	}
	return out
}
