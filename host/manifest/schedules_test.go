package manifest

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/schedule"
	"github.com/hookhost/hookhost/host/store"
)

// extrasBundle is a test's scheduler and job queue, beside its catalog.
type extrasBundle struct {
	*testBundle
	sched *schedule.Scheduler
	queue *jobs.Queue
}

// setupExtras is setup with a job queue (that works no jobs) and a
// scheduler (without a background loop) on the same database.
func setupExtras(t *testing.T) (*Applier, *extrasBundle) {
	t.Helper()
	a, b := setup(t)
	ctx := context.Background()
	set := jobs.DefaultSettings()
	set.Workers = 0
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	q, err := jobs.New(ctx, jobs.Config{DB: b.st.DB(), Dialect: b.st.Dialect(), Runner: nopRunner{}, Settings: set,
		PruneInterval: -1, AllowPrivateRequests: true, Logger: logger})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx))
	s, err := schedule.New(schedule.Config{DB: b.st.DB(), Dialect: b.st.Dialect(), Queue: q, Automations: b.cat,
		Logger: logger, PollInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, q.Close())
	})
	return a.WithExtras(Extras{Schedules: s, Subscriptions: q}), &extrasBundle{testBundle: b, sched: s, queue: q}
}

type nopRunner struct{}

func (nopRunner) RunJob(context.Context, *jobs.Attempt) (*jobs.Outcome, error) {
	return &jobs.Outcome{}, nil
}

const reports = `automations:
  - name: reports.daily
    script: |
      inputs:
        text/env:
          required@bool: yes
      start:
        return:
          body: report {{inputs.env}}
webhooks:
  - name: Reports
    event_kata: |
      automation/r:
        uri: cerb:automation:reports.daily
        inputs:
          env: hook
schedules:
  - name: nightly
    description: The nightly report
    cron: "0 3 * * *"
    time_zone: Europe/Paris
    automation: reports.daily
    inputs:
      env: production
    missed_runs: run_once
    job:
      max_attempts: 3
  - name: often
    cron: "@every 10m"
    automation: reports.daily
    inputs: {env: staging}
    enabled: false
subscriptions:
  - name: ops
    url: http://127.0.0.1:9/events
    events: [job.failed, job.completed]
    webhook: Reports
    description: failures to ops
`

func TestApply_SchedulesAndSubscriptions(t *testing.T) {
	t.Parallel()
	a, b := setupExtras(t)
	files := map[string]string{"reports.yaml": reports}

	dry, err := a.Apply(b.ctx, Files(files), Options{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, []string{"automation reports.daily create", "webhook Reports create", "schedule nightly create",
		"schedule often create", "subscription ops create"}, actions(dry))
	list, err := b.sched.List(b.ctx)
	require.NoError(t, err)
	require.Empty(t, list, "a dry run changes nothing")

	plan, err := a.Apply(b.ctx, Files(files), Options{By: "test"})
	require.NoError(t, err)
	require.True(t, plan.Applied)
	require.Equal(t, actions(dry), actions(plan))

	nightly, err := b.sched.Get(b.ctx, "nightly")
	require.NoError(t, err)
	require.Equal(t, "manifest:reports.yaml", nightly.Owner)
	require.Equal(t, "Europe/Paris", nightly.TimeZone)
	require.JSONEq(t, `{"env":"production"}`, string(nightly.Inputs))
	require.Equal(t, schedule.JobOptions{MaxAttempts: 3}, nightly.Job)
	require.Equal(t, schedule.MissedRunOnce, nightly.Missed)
	require.NotNil(t, nightly.NextRunAt)
	often, err := b.sched.Get(b.ctx, "often")
	require.NoError(t, err)
	require.False(t, often.Enabled)
	require.Nil(t, often.NextRunAt)

	subs, err := b.queue.Subscriptions(b.ctx)
	require.NoError(t, err)
	require.Len(t, subs, 1)
	hooks, err := b.st.ListWebhooks(b.ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Equal(t, "ops", subs[0].Name)
	require.Equal(t, hooks[0].ID, subs[0].WebhookID, "webhook: names the webhook the same apply created")
	require.Equal(t, []string{"job.completed", "job.failed"}, subs[0].Events)
	require.NotEmpty(t, subs[0].Secret)

	// The audit log has every change, by the file.
	entries, err := b.cat.Audit(b.ctx, store.AuditFilter{Kind: store.KindSchedule})
	require.NoError(t, err)
	require.Len(t, entries, 2)
	require.Equal(t, "manifest:reports.yaml", entries[0].Actor)
	entries, err = b.cat.Audit(b.ctx, store.AuditFilter{Kind: store.KindSubscription})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, subs[0].ID, entries[0].RecordID)

	again, err := a.Apply(b.ctx, Files(files), Options{})
	require.NoError(t, err)
	for _, c := range again.Changes {
		require.Equal(t, api.ManifestUnchanged, c.Action, "%+v", c)
	}

	// An update of each, and a removal kept (no prune), then pruned.
	changed := map[string]string{"reports.yaml": replaceAll(reports, map[string]string{
		`cron: "0 3 * * *"`:                   `cron: "0 4 * * *"`,
		"events: [job.failed, job.completed]": "events: [job.failed]",
		"  - name: often\n    cron: \"@every 10m\"\n    automation: reports.daily\n    inputs: {env: staging}\n    enabled: false\n": "",
	})}
	plan, err = a.Apply(b.ctx, Files(changed), Options{})
	require.NoError(t, err)
	got := map[string]api.ManifestChange{}
	for _, c := range plan.Changes {
		got[c.Kind+" "+c.Name] = c
	}
	require.Equal(t, store.ActionUpdate, got["schedule nightly"].Action)
	require.Equal(t, []string{"cron"}, got["schedule nightly"].Fields)
	require.Equal(t, "-cron: 0 3 * * *\n+cron: 0 4 * * *\n", got["schedule nightly"].Diff)
	require.Equal(t, api.ManifestKeep, got["schedule often"].Action)
	require.Equal(t, []string{"events"}, got["subscription ops"].Fields)
	require.Len(t, plan.Warnings, 1)

	plan, err = a.Apply(b.ctx, Files(changed), Options{Prune: true})
	require.NoError(t, err)
	require.Contains(t, actions(plan), "schedule often delete")
	_, err = b.sched.Get(b.ctx, "often")
	require.Error(t, err)
	subs, err = b.queue.Subscriptions(b.ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"job.failed"}, subs[0].Events)

	// Removing the subscription from the manifests and pruning deletes it.
	delete(changed, "reports.yaml")
	changed["reports.yaml"] = replaceAll(reports, map[string]string{reports[strings.Index(reports, "subscriptions:"):]: ""})
	plan, err = a.Apply(b.ctx, Files(changed), Options{Prune: true})
	require.NoError(t, err)
	require.Contains(t, actions(plan), "subscription ops delete")
	subs, err = b.queue.Subscriptions(b.ctx)
	require.NoError(t, err)
	require.Empty(t, subs)
}

func TestApply_ScheduleProblemsHavePositions(t *testing.T) {
	t.Parallel()
	a, b := setupExtras(t)
	files := map[string]string{"s.yaml": `schedules:
  - name: bad
    cron: "61 * * * *"
    automation: nope
  - name: inputs
    cron: "@every 1h"
    automation: plain
    inputs:
      extra: 1
    job:
      max_attempts: 1000
subscriptions:
  - name: ops
    url: ftp://127.0.0.1/x
    events: [job.failed]
  - name: hooked
    url: http://127.0.0.1/x
    events: [job.failed]
    webhook: Nope
automations:
  - name: plain
    script: |
      start:
        return:
`}
	_, err := a.Apply(b.ctx, Files(files), Options{})
	var ps Problems
	require.ErrorAs(t, err, &ps)
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	require.Equal(t, []string{
		`s.yaml:3:11: schedule "bad": "61 * * * *" is not a cron expression (5 fields, 6 with seconds, or @every <duration>, @hourly, @daily, …): end of range (61) above maximum (59): 61`,
		`s.yaml:4:17: schedule "bad": no automation "nope"`,
		`s.yaml:11:21: schedule "inputs": job.max_attempts must be between 1 and 100`,
		`s.yaml:9:7: schedule "inputs": input "extra" is not declared by automation "plain" (it declares no inputs)`,
		`s.yaml:14:10: subscription "ops": url "ftp://127.0.0.1/x" must be an absolute http:// or https:// URL`,
		`s.yaml:19:14: subscription "hooked": webhook "Nope": no webhook has this name`,
	}, got)
	list, err := b.sched.List(b.ctx)
	require.NoError(t, err)
	require.Empty(t, list)
}

// TestApply_ExtrasNotRunning refuses schedules where no scheduler runs.
func TestApply_ExtrasNotRunning(t *testing.T) {
	t.Parallel()
	a, b := setup(t)
	_, err := a.Apply(b.ctx, Files(map[string]string{"r.yaml": reports}), Options{})
	require.ErrorContains(t, err, `r.yaml:18:5: schedule "nightly": schedules are not running on this server`)
	require.ErrorContains(t, err, `r.yaml:34:5: subscription "ops": the job queue is not running on this server`)
}

// TestExport_RoundTripSchedulesAndSubscriptions exports schedules and
// subscriptions made by manifests and by the admin API: applied back
// here, only the owners of what the admin API made change; applied
// elsewhere, exporting again gives the same files.
func TestExport_RoundTripSchedulesAndSubscriptions(t *testing.T) {
	t.Parallel()
	a, b := setupExtras(t)
	_, err := a.Apply(b.ctx, Files(map[string]string{"reports.yaml": reports}), Options{})
	require.NoError(t, err)
	_, err = b.sched.Create(b.ctx, &schedule.Schedule{Name: "api.made", Cron: "*/5 * * * *", Automation: "reports.daily",
		Inputs: []byte(`{"env": "api: \"quoted\" # not a comment"}`), Enabled: true, Description: "made: by the API # here",
		Job: schedule.JobOptions{TimeoutMS: 60000, CallbackURL: "http://127.0.0.1:9/done"}, Missed: schedule.MissedRunOnce})
	require.NoError(t, err)
	sub := &jobs.Subscription{URL: "http://127.0.0.1:9/all", Events: []string{jobs.EventWebhookRequestRejected}}
	require.NoError(t, b.queue.Subscribe(b.ctx, sub))

	x := Extras{Schedules: b.sched, Subscriptions: b.queue}
	files, err := ExportAll(b.ctx, b.cat, x)
	require.NoError(t, err)
	require.Contains(t, files, ExportSchedules)
	require.Contains(t, files, ExportSubscriptions)
	require.Contains(t, files[ExportSubscriptions], "name: "+sub.ID)
	for name, content := range files {
		require.NotContains(t, content, sub.Secret, name)
	}

	plan, err := a.Apply(b.ctx, Files(files), Options{})
	require.NoError(t, err)
	changed := 0
	for _, c := range plan.Changes {
		if c.Action != api.ManifestUnchanged {
			changed++
			require.Equal(t, store.ActionUpdate, c.Action, "%+v", c)
			if c.Kind == store.KindSubscription {
				require.Equal(t, []string{"name", "owner"}, c.Fields, "%+v", c)
				continue
			}
			require.Equal(t, []string{"owner"}, c.Fields, "%+v", c)
		}
	}
	require.Equal(t, 2, changed, "the schedule and the subscription the admin API made")
	again, err := a.Apply(b.ctx, Files(files), Options{})
	require.NoError(t, err)
	for _, c := range again.Changes {
		require.Equal(t, api.ManifestUnchanged, c.Action, "%+v", c)
	}
	exported, err := ExportAll(b.ctx, b.cat, x)
	require.NoError(t, err)
	require.Equal(t, files, exported)
	kept, err := b.queue.Subscription(b.ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, sub.Secret, kept.Secret, "adopting a subscription keeps its signing secret")

	other, ob := setupExtras(t)
	_, err = other.Apply(ob.ctx, Files(files), Options{})
	require.NoError(t, err)
	there, err := ExportAll(ob.ctx, ob.cat, Extras{Schedules: ob.sched, Subscriptions: ob.queue})
	require.NoError(t, err)
	require.Equal(t, files, there)
}

// TestCheckOwner is the admin API's refusal of a change to a record a
// manifest owns.
func TestCheckOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	err := catalog.CheckOwner(ctx, "schedule", "nightly", "manifest:reports.yaml")
	var p *api.Problem
	require.ErrorAs(t, err, &p)
	require.Equal(t, 409, p.Status)
	require.Contains(t, p.Detail, "reports.yaml")
	require.NoError(t, catalog.CheckOwner(catalog.WithActor(ctx, catalog.Actor{ID: "token:x", Force: true}), "schedule", "nightly", "manifest:reports.yaml"))
	require.NoError(t, catalog.CheckOwner(ctx, "schedule", "nightly", ""))
}

func replaceAll(s string, m map[string]string) string {
	for old, new := range m {
		i := strings.Index(s, old)
		if i < 0 {
			panic("not found: " + old)
		}
		s = s[:i] + new + s[i+len(old):]
	}
	return s
}

// TestApply_PruneKeepsAScheduledAutomation: pruning the automation of a
// schedule the apply keeps (made through the admin API) is a problem, as
// deleting it through the admin API is a 409; nothing changes.
func TestApply_PruneKeepsAScheduledAutomation(t *testing.T) {
	t.Parallel()
	a, b := setupExtras(t)
	auto := "automations:\n  - name: reports.daily\n    script: |\n      start:\n        return:\n          body: report\n"
	_, err := a.Apply(b.ctx, Files(map[string]string{"a.yaml": auto}), Options{By: "test"})
	require.NoError(t, err)
	_, err = b.sched.Create(b.ctx, &schedule.Schedule{Name: "by-hand", Cron: "@every 1h", Automation: "reports.daily", Enabled: true})
	require.NoError(t, err)

	_, err = a.Apply(b.ctx, Files(map[string]string{"a.yaml": "automations:\n"}), Options{Prune: true})
	require.ErrorContains(t, err, `automation "reports.daily" is run by schedule "by-hand", which this apply keeps`)
	_, err = b.st.GetAutomation(b.ctx, "reports.daily")
	require.NoError(t, err, "a refused apply deletes nothing")

	// Once the schedule is gone, the prune goes through.
	require.NoError(t, b.sched.Delete(b.ctx, "by-hand"))
	plan, err := a.Apply(b.ctx, Files(map[string]string{"a.yaml": "automations:\n"}), Options{Prune: true})
	require.NoError(t, err)
	require.Equal(t, []string{"automation reports.daily delete"}, actions(plan))
}
