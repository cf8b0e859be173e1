package schedule_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/schedule"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/postgres"
	"github.com/hookhost/hookhost/host/store/sqlite"
	"github.com/hookhost/hookhost/internal/pgtest"
)

// clock is a fake clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// fakeAutomations is a catalog of three automations.
type fakeAutomations struct{}

func (fakeAutomations) Automation(_ context.Context, name string) (*store.Automation, error) {
	switch name {
	case "report":
		return &store.Automation{Name: name, ExtensionID: "cerb.trigger.webhook.respond", Revision: 1,
			Script: "inputs:\n  text/env:\n    required@bool: yes\n  text/note:\nstart:\n  return:\n    body: ok\n"}, nil
	case "plain":
		return &store.Automation{Name: name, ExtensionID: "cerb.trigger.webhook.respond", Revision: 1,
			Script: "start:\n  return:\n    body: ok\n"}, nil
	case "other-trigger":
		return &store.Automation{Name: name, ExtensionID: "cerb.trigger.interaction.worker", Revision: 1,
			Script: "start:\n  return:\n"}, nil
	}
	return nil, nil
}

func (fakeAutomations) SealJobInputs(b []byte) ([]byte, error) { return b, nil }

// server is one server's scheduler and job queue.
type server struct {
	sched *schedule.Scheduler
	queue *jobs.Queue
}

// testDB opens a database (SQLite, or a fresh PostgreSQL schema) and
// returns a function that starts a server on it.
type testDB struct {
	name string
	open func(t *testing.T) (newServer func(t *testing.T, clk *clock) *server)
}

func testDBs() []testDB {
	return []testDB{
		{"SQLite", func(t *testing.T) func(*testing.T, *clock) *server {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookhost.db"))
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			return func(t *testing.T, clk *clock) *server { return newServer(t, st.DB(), st.Dialect(), "", clk) }
		}},
		{"PostgreSQL", func(t *testing.T) func(*testing.T, *clock) *server {
			dsn := pgtest.DSN(t, "hh_schedule_")
			return func(t *testing.T, clk *clock) *server {
				st, err := postgres.Open(context.Background(), dsn)
				require.NoError(t, err)
				t.Cleanup(func() { _ = st.Close() })
				return newServer(t, st.DB(), st.Dialect(), dsn, clk)
			}
		}},
	}
}

// newServer starts a queue that works no jobs (their records are what the
// tests look at) and a scheduler without a background loop, on clk.
func newServer(t *testing.T, db *sql.DB, dialect, dsn string, clk *clock) *server {
	t.Helper()
	ctx := context.Background()
	set := jobs.DefaultSettings()
	set.Workers = 0
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	q, err := jobs.New(ctx, jobs.Config{DB: db, Dialect: dialect, DatabaseURL: dsn, Runner: nopRunner{}, Settings: set,
		PruneInterval: -1, Logger: logger})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx))
	s, err := schedule.New(schedule.Config{DB: db, Dialect: dialect, Queue: q, Automations: fakeAutomations{},
		Logger: logger, Now: clk.Now, PollInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, q.Close())
	})
	return &server{sched: s, queue: q}
}

type nopRunner struct{}

func (nopRunner) RunJob(context.Context, *jobs.Attempt) (*jobs.Outcome, error) {
	return &jobs.Outcome{}, nil
}

func forEachDB(t *testing.T, test func(t *testing.T, open func(t *testing.T, clk *clock) *server)) {
	t.Helper()
	for _, db := range testDBs() {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			test(t, db.open(t))
		})
	}
}

// jobsOf lists the jobs of a schedule, oldest first, with their inputs.
func jobsOf(t *testing.T, q *jobs.Queue, name string) []map[string]any {
	t.Helper()
	list, _, err := q.List(context.Background(), jobs.Filter{Schedule: name, Limit: 500})
	require.NoError(t, err)
	out := make([]map[string]any, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		j := list[i]
		require.Empty(t, j.WebhookID)
		require.Equal(t, "schedule/"+name, j.Handler)
		var in map[string]any
		require.NoError(t, json.Unmarshal(j.Inputs, &in))
		out = append(out, in)
	}
	return out
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestScheduler_SavesAndListsNextRuns(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, open func(*testing.T, *clock) *server) {
		ctx := context.Background()
		clk := &clock{t: date("2027-01-04T08:10:00Z")}
		s := open(t, clk).sched
		sc, err := s.Create(ctx, &schedule.Schedule{Name: "morning", Cron: "30 9 * * 1-5", TimeZone: "Europe/Paris",
			Automation: "report", Inputs: json.RawMessage(`{ "env": "prod" }`), Enabled: true,
			Job: schedule.JobOptions{MaxAttempts: 3, TimeoutMS: 60000}})
		require.NoError(t, err)
		require.Equal(t, date("2027-01-04T08:30:00Z"), *sc.NextRunAt)
		require.Equal(t, schedule.MissedSkip, sc.Missed, "the default policy")
		require.Equal(t, `{"env":"prod"}`, string(sc.Inputs))
		require.Equal(t, schedule.JobOptions{MaxAttempts: 3, TimeoutMS: 60000}, sc.Job)
		var next []string
		for _, n := range schedule.NextRuns(sc, 5) {
			next = append(next, n.Format(time.RFC3339))
		}
		require.Equal(t, []string{"2027-01-04T09:30:00+01:00", "2027-01-05T09:30:00+01:00", "2027-01-06T09:30:00+01:00",
			"2027-01-07T09:30:00+01:00", "2027-01-08T09:30:00+01:00"}, next)

		_, err = s.Create(ctx, &schedule.Schedule{Name: "morning", Cron: "@daily", Automation: "plain", Enabled: true})
		requireProblem(t, err, http.StatusConflict)

		// A new expression waits for its first tick after now.
		expr := "@every 1h"
		sc, err = s.Update(ctx, "morning", schedule.Patch{Cron: &expr})
		require.NoError(t, err)
		require.Equal(t, date("2027-01-04T09:10:00Z"), *sc.NextRunAt)
		require.Equal(t, `{"env":"prod"}`, string(sc.Inputs), "a patch keeps what it does not name")

		sc, err = s.SetEnabled(ctx, "morning", false)
		require.NoError(t, err)
		require.False(t, sc.Enabled)
		require.Nil(t, sc.NextRunAt)
		require.Empty(t, schedule.NextRuns(sc, 5))
		clk.set(date("2027-01-04T12:00:00Z"))
		sc, err = s.SetEnabled(ctx, "morning", true)
		require.NoError(t, err)
		require.Equal(t, date("2027-01-04T13:00:00Z"), *sc.NextRunAt, "a resumed schedule does not catch up")

		list, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.NoError(t, s.Delete(ctx, "morning"))
		requireProblem(t, s.Delete(ctx, "morning"), http.StatusNotFound)
		_, err = s.Get(ctx, "morning")
		requireProblem(t, err, http.StatusNotFound)
	})
}

func requireProblem(t *testing.T, err error, status int) *api.Problem {
	t.Helper()
	var p *api.Problem
	require.True(t, errors.As(err, &p), "%v", err)
	require.Equal(t, status, p.Status, "%v", p)
	return p
}

func TestScheduler_RefusesWhatCannotRun(t *testing.T) {
	t.Parallel()
	s := open(t)
	tests := []struct {
		name  string
		sc    schedule.Schedule
		items []api.ProblemItem
	}{
		{"EverythingWrong", schedule.Schedule{Name: "a b", Cron: "every day", TimeZone: "Europe/Paris", Missed: "later",
			Job: schedule.JobOptions{MaxAttempts: 101, CallbackURL: "ftp://x"}}, []api.ProblemItem{
			{Field: "name", Message: `name "a b" must be 1 to 128 letters, digits, dots, dashes and underscores`},
			{Field: "cron", Message: `"every day" is not a cron expression (5 fields, 6 with seconds, or @every <duration>, @hourly, @daily, …): expected 5 to 6 fields, found 2: [every day]`},
			{Field: "automation", Message: "automation is required: the name of a webhook.respond automation"},
			{Field: "missed_runs", Message: `missed_runs "later": want "skip" or "run_once"`},
			{Field: "job.max_attempts", Message: "job.max_attempts must be between 1 and 100"},
			{Field: "job.callback_url", Message: "job.callback_url must be an http or https URL"},
		}},
		{"UnknownTimeZone", schedule.Schedule{Name: "a", Cron: "@daily", TimeZone: "Europe/Atlantis", Automation: "plain"}, []api.ProblemItem{
			{Field: "time_zone", Message: `unknown time zone "Europe/Atlantis": name an IANA time zone such as "Europe/Paris" or "UTC"`},
		}},
		{"NoSuchAutomation", schedule.Schedule{Name: "a", Cron: "@daily", Automation: "nope"}, []api.ProblemItem{
			{Field: "automation", Message: `no automation "nope"`},
		}},
		{"OtherTrigger", schedule.Schedule{Name: "a", Cron: "@daily", Automation: "other-trigger"}, []api.ProblemItem{
			{Field: "automation", Message: `automation "other-trigger" has the trigger cerb.trigger.interaction.worker; schedules run webhook.respond automations (cerb.trigger.webhook.respond)`},
		}},
		{"InputsNotDeclaredOrMissing", schedule.Schedule{Name: "a", Cron: "@daily", Automation: "report", Inputs: json.RawMessage(`{"zone":1}`)}, []api.ProblemItem{
			{Field: "inputs.zone", Message: `input "zone" is not declared by automation "report" (it declares env, note)`},
			{Field: "inputs", Message: `automation "report" requires input "env", which inputs does not give`},
		}},
		{"InputsNotAnObject", schedule.Schedule{Name: "a", Cron: "@daily", Automation: "plain", Inputs: json.RawMessage(`[1]`)}, []api.ProblemItem{
			{Field: "inputs", Message: `inputs must be a JSON object of the automation's inputs, e.g. {"environment": "production"}`},
		}},
		{"NeverMatches", schedule.Schedule{Name: "a", Cron: "0 0 30 2 *", Automation: "plain"}, []api.ProblemItem{
			{Field: "cron", Message: `"0 0 30 2 *" never matches a date`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := tt.sc
			_, err := s.Create(context.Background(), &sc)
			p := requireProblem(t, err, http.StatusBadRequest)
			require.Equal(t, tt.items, p.Errors)
		})
	}
}

// open starts a server on a fresh SQLite database at a fixed time.
func open(t *testing.T) *schedule.Scheduler {
	t.Helper()
	return testDBs()[0].open(t)(t, &clock{t: date("2027-01-01T00:00:00Z")}).sched
}

// TestScheduler_MissedRuns moves a fake clock past ticks: a tick found in
// time runs, a tick found after downtime follows the missed-run policy.
func TestScheduler_MissedRuns(t *testing.T) {
	t.Parallel()
	type step struct {
		at     string // the clock
		queued int    // jobs RunDue queues
		next   string // the schedule's next run after it
		missed int64  // its MissedCount after it
	}
	tests := []struct {
		name   string
		policy string
		steps  []step
		jobs   []map[string]any // the jobs' schedule_* inputs, oldest first
	}{
		{"SkipDropsLateTicks", schedule.MissedSkip, []step{
			{"2027-01-01T00:30:00Z", 0, "2027-01-01T01:00:00Z", 0},
			{"2027-01-01T01:00:20Z", 1, "2027-01-01T02:00:00Z", 0}, // in time
			{"2027-01-01T05:30:00Z", 0, "2027-01-01T06:00:00Z", 4}, // down from 02:00 to 05:30
			{"2027-01-01T06:00:00Z", 1, "2027-01-01T07:00:00Z", 4},
		}, []map[string]any{
			{"schedule_time": "2027-01-01T01:00:00Z", "schedule_catch_up": false},
			{"schedule_time": "2027-01-01T06:00:00Z", "schedule_catch_up": false},
		}},
		{"RunOnceCatchesUpOnce", schedule.MissedRunOnce, []step{
			{"2027-01-01T01:00:20Z", 1, "2027-01-01T02:00:00Z", 0},
			{"2027-01-01T05:30:00Z", 1, "2027-01-01T06:00:00Z", 3},
			{"2027-01-01T05:40:00Z", 0, "2027-01-01T06:00:00Z", 3},
			{"2027-01-01T06:00:01Z", 1, "2027-01-01T07:00:00Z", 3},
		}, []map[string]any{
			{"schedule_time": "2027-01-01T01:00:00Z", "schedule_catch_up": false},
			{"schedule_time": "2027-01-01T02:00:00Z", "schedule_catch_up": true},
			{"schedule_time": "2027-01-01T06:00:00Z", "schedule_catch_up": false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := &clock{t: date("2027-01-01T00:10:00Z")}
			srv := testDBs()[0].open(t)(t, clk)
			_, err := srv.sched.Create(ctx, &schedule.Schedule{Name: "hourly", Cron: "0 * * * *", Automation: "report",
				Inputs: json.RawMessage(`{"env":"prod"}`), Enabled: true, Missed: tt.policy})
			require.NoError(t, err)
			for _, st := range tt.steps {
				clk.set(date(st.at))
				n, err := srv.sched.RunDue(ctx)
				require.NoError(t, err)
				require.Equal(t, st.queued, n, "at %s", st.at)
				sc, err := srv.sched.Get(ctx, "hourly")
				require.NoError(t, err)
				require.Equal(t, date(st.next), *sc.NextRunAt, "at %s", st.at)
				require.Equal(t, st.missed, sc.MissedCount, "at %s", st.at)
			}
			got := jobsOf(t, srv.queue, "hourly")
			require.Len(t, got, len(tt.jobs))
			for i, in := range got {
				require.Equal(t, "hourly", in["schedule_name"])
				require.Equal(t, map[string]any{"env": "prod"}, in["inputs"])
				require.Equal(t, tt.jobs[i]["schedule_time"], in["schedule_time"])
				require.Equal(t, tt.jobs[i]["schedule_catch_up"], in["schedule_catch_up"])
				require.Equal(t, float64(date(in["schedule_time"].(string)).Unix()), in["schedule_timestamp"])
			}
		})
	}
}

// TestScheduler_OneJobPerTick has two servers on one database look for due
// ticks at the same moments, concurrently and repeatedly: each tick gets
// exactly one job.
func TestScheduler_OneJobPerTick(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, open func(*testing.T, *clock) *server) {
		ctx := context.Background()
		clk := &clock{t: date("2027-01-01T00:00:00Z")}
		a, b := open(t, clk), open(t, clk)
		_, err := a.sched.Create(ctx, &schedule.Schedule{Name: "often", Cron: "@every 10s", Automation: "plain", Enabled: true})
		require.NoError(t, err)
		const ticks = 5
		for i := 1; i <= ticks; i++ {
			clk.set(date("2027-01-01T00:00:00Z").Add(time.Duration(i) * 10 * time.Second))
			var wg sync.WaitGroup
			for _, s := range []*server{a, b, a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.sched.RunDue(ctx)
					require.NoError(t, err)
				}()
			}
			wg.Wait()
		}
		got := jobsOf(t, a.queue, "often")
		perTick := map[string]int{}
		for _, in := range got {
			perTick[in["schedule_time"].(string)]++
		}
		require.Len(t, perTick, ticks)
		for tick, n := range perTick {
			require.Equal(t, 1, n, "tick %s", tick)
		}
		sc, err := b.sched.Get(ctx, "often")
		require.NoError(t, err)
		require.Equal(t, date("2027-01-01T00:01:00Z"), *sc.NextRunAt)
		require.Zero(t, sc.MissedCount)
	})
}
