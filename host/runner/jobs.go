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
	// Secrets are not stored with a job: they are read when it runs.
	if err := r.Catalog.InjectSecrets(ctx, inputs, r.Catalog.AutomationSecrets(a)); err != nil {
		return nil, fmt.Errorf("read the secrets of automation %q: %w", a.Name, err)
	}
	res, err := r.Runner.Run(ctx, &Invocation{RunID: at.JobID, Automation: a, Inputs: inputs})
	out := &jobs.Outcome{Revision: a.Revision}
	if res != nil {
		out.Log = jobLog(res.Log, r.Redactor)
	}
	if err != nil {
		return out, err
	}
	resp := automations.WebhookResponse(res)
	for _, w := range resp.Warnings {
		out.Log = append(out.Log, jobs.LogEntry{Level: 4, Message: w})
	}
	out.Status, out.Headers, out.Body = resp.Status, resp.Headers, resp.Body
	// The record keeps the output redacted; the response (Body) is the
	// automation's answer to its caller, redacted only where admins see it.
	if res.Return != nil {
		out.Output, _ = encode(r.Redactor.Value(res.Return))
	}
	if res.Exit == automations.ExitError {
		out.Failed, out.Error = true, r.Redactor.Redact(res.Error)
		if out.Error == "" {
			out.Error = "the automation ended in error"
		}
	}
	return out, nil
}

// jobLog converts a run log for the job record, redacting every message.
func jobLog(l []automations.LogEntry, red *redact.Redactor) []jobs.LogEntry {
	out := make([]jobs.LogEntry, 0, len(l))
	for _, e := range l {
		out = append(out, jobs.LogEntry{Level: e.Level, Node: e.Node, Message: red.Redact(e.Message)})
	}
	return out
}
