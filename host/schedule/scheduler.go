package schedule

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/internal/sqlbind"
	"github.com/hookhost/hookhost/templates"
)

// Queue is what the scheduler needs of the job queue (*jobs.Queue).
type Queue interface {
	Enqueue(ctx context.Context, req *jobs.Request) (jobs.Result, error)
}

// Automations is what the scheduler needs of the catalog
// (*catalog.Catalog).
type Automations interface {
	// Automation returns the automation named name, or (nil, nil).
	Automation(ctx context.Context, name string) (*store.Automation, error)
	// SealJobInputs returns a job's inputs as they are stored.
	SealJobInputs(inputs []byte) ([]byte, error)
}

// Config configures a Scheduler.
type Config struct {
	// DB is the store's database, whose hookhost_schedules table the job
	// queue migrates (jobs.New). Required.
	DB *sql.DB
	// Dialect is jobs.DialectSQLite or jobs.DialectPostgres. Required.
	Dialect string
	// Queue queues each tick's job. Required.
	Queue Queue
	// Automations looks automations up and seals job inputs. Required.
	Automations Automations
	// Redactor redacts the job record's copy of the inputs. Optional.
	Redactor *redact.Redactor
	// Commands lists the commands extensions provide, so that saving a
	// schedule can compile its automation to check the fixed inputs
	// against the script's inputs: block. Optional: without it, scripts
	// that call extension commands are not checked.
	Commands func() []string
	// Logger receives the scheduler's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// PollInterval bounds how long the scheduler sleeps between looks at
	// the schedules (it wakes for the earliest tick it knows, and at once
	// for changes made through this process; this bound is for changes
	// made by other servers). Default 5s. Negative: no background loop
	// (call RunDue).
	PollInterval time.Duration
	// MissedAfter is how late a tick may be found and still run as usual;
	// a tick found later (after downtime) follows its schedule's missed-run
	// policy. Default 1m.
	MissedAfter time.Duration
}

// Scheduler runs schedules: it keeps them in the database and, in every
// server sharing it, queues the job of each tick that comes due, once.
// Create it with New, Start it, and Close it before the job queue.
type Scheduler struct {
	cfg  Config
	db   *sql.DB
	log  *slog.Logger
	tmpl *templates.Env
	wake chan struct{}

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New returns a scheduler; it does not start ticking (Start).
func New(cfg Config) (*Scheduler, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("schedule: Config.DB is required")
	case cfg.Queue == nil:
		return nil, errors.New("schedule: Config.Queue is required")
	case cfg.Automations == nil:
		return nil, errors.New("schedule: Config.Automations is required")
	case cfg.Dialect != jobs.DialectSQLite && cfg.Dialect != jobs.DialectPostgres:
		return nil, fmt.Errorf("schedule: dialect %q: want %q or %q", cfg.Dialect, jobs.DialectSQLite, jobs.DialectPostgres)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.MissedAfter <= 0 {
		cfg.MissedAfter = time.Minute
	}
	return &Scheduler{cfg: cfg, db: cfg.DB, log: cfg.Logger, tmpl: templates.New(), wake: make(chan struct{}, 1)}, nil
}

// Start starts the background loop (unless Config.PollInterval is
// negative).
func (s *Scheduler) Start(ctx context.Context) {
	if s.cfg.PollInterval < 0 {
		return
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop, s.done = cancel, make(chan struct{})
	go s.loop(lctx)
}

// Close stops the background loop and waits for it; a tick being queued
// finishes first.
func (s *Scheduler) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
			<-s.done
		}
	})
	return nil
}

// notify wakes the loop after a change made through this process.
func (s *Scheduler) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// now is the clock, at the microsecond the database keeps.
func (s *Scheduler) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// q rewrites ? placeholders as $1, $2… on PostgreSQL (the queries of this
// package have no ? inside literals).
func (s *Scheduler) q(query string) string {
	if s.cfg.Dialect != jobs.DialectPostgres {
		return query
	}
	return sqlbind.Dollar(query)
}

const columns = `name, description, cron, time_zone, automation, inputs, options, missed, enabled, next_run_at,
	last_run_at, last_job_id, skipped, created_at, updated_at, owner`

type rowScanner interface{ Scan(dest ...any) error }

func scan(r rowScanner) (*Schedule, error) {
	var (
		sc                        Schedule
		inputs, options           string
		enabled                   int64
		next, last                sql.NullInt64
		skipped, created, updated int64
	)
	err := r.Scan(&sc.Name, &sc.Description, &sc.Cron, &sc.TimeZone, &sc.Automation, &inputs, &options, &sc.Missed,
		&enabled, &next, &last, &sc.LastJobID, &skipped, &created, &updated, &sc.Owner)
	if err != nil {
		return nil, err
	}
	if inputs != "" {
		sc.Inputs = json.RawMessage(inputs)
	}
	if options != "" {
		_ = json.Unmarshal([]byte(options), &sc.Job)
	}
	sc.Enabled, sc.MissedCount = enabled != 0, skipped
	sc.NextRunAt, sc.LastRunAt = timePtr(next), timePtr(last)
	sc.CreatedAt, sc.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return &sc, nil
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}

func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func notFound(name string) error { return api.Errorf(http.StatusNotFound, "no schedule %q", name) }

// Get returns a schedule (a 404 *api.Problem when there is none).
func (s *Scheduler) Get(ctx context.Context, name string) (*Schedule, error) {
	sc, err := scan(s.db.QueryRowContext(ctx, s.q(`SELECT `+columns+` FROM hookhost_schedules WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("schedule: read %q: %w", name, err)
	}
	return sc, nil
}

// List returns the schedules by name.
func (s *Scheduler) List(ctx context.Context) ([]*Schedule, error) {
	return s.list(ctx, `SELECT `+columns+` FROM hookhost_schedules ORDER BY name`)
}

func (s *Scheduler) list(ctx context.Context, query string, args ...any) ([]*Schedule, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("schedule: list: %w", err)
	}
	defer rows.Close()
	out := []*Schedule{}
	for rows.Next() {
		sc, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("schedule: list: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("schedule: list: %w", err)
	}
	return out, nil
}

// validate checks a schedule the way saving it does: its fields, and that
// its automation is a webhook.respond automation that declares its fixed
// inputs. The error is a 400 *api.Problem listing every problem.
func (s *Scheduler) validate(ctx context.Context, sc *Schedule) (*Cron, error) {
	return s.validateWith(ctx, sc, s.cfg.Automations.Automation)
}

// Validate checks and normalises a schedule as saving it does, with
// automation looking its automation up (nil, nil: there is none), as a
// manifest apply sees the automations it is about to write. The error is a
// 400 *api.Problem listing every problem.
func (s *Scheduler) Validate(ctx context.Context, sc *Schedule, automation func(ctx context.Context, name string) (*store.Automation, error)) error {
	_, err := s.validateWith(ctx, sc, automation)
	return err
}

func (s *Scheduler) validateWith(ctx context.Context, sc *Schedule, automation func(ctx context.Context, name string) (*store.Automation, error)) (*Cron, error) {
	c, items := sc.check()
	if sc.Automation != "" {
		more, err := s.checkAutomation(ctx, sc, automation)
		if err != nil {
			return nil, err
		}
		items = append(items, more...)
	}
	if len(items) > 0 {
		return nil, api.Validation().Add(items...)
	}
	return c, nil
}

// checkAutomation reports what is wrong with a schedule's automation and
// its fixed inputs.
func (s *Scheduler) checkAutomation(ctx context.Context, sc *Schedule, automation func(ctx context.Context, name string) (*store.Automation, error)) ([]api.ProblemItem, error) {
	a, err := automation(ctx, sc.Automation)
	if err != nil {
		return nil, fmt.Errorf("schedule: automation %q: %w", sc.Automation, err)
	}
	if a == nil {
		return []api.ProblemItem{{Field: "automation", Message: fmt.Sprintf("no automation %q", sc.Automation)}}, nil
	}
	if !automations.IsWebhookTrigger(a.ExtensionID) {
		return []api.ProblemItem{{Field: "automation", Message: fmt.Sprintf(
			"automation %q has the trigger %s; schedules run webhook.respond automations (cerb.trigger.webhook.respond)",
			a.Name, a.ExtensionID)}}, nil
	}
	var cmds []string
	if s.cfg.Commands != nil {
		cmds = s.cfg.Commands()
	}
	prog, err := automations.Compile(automations.Source{Name: a.Name, Trigger: a.ExtensionID, Script: a.Script, Policy: a.PolicyKATA},
		automations.Options{Templates: s.tmpl, Commands: cmds})
	if err != nil {
		return nil, nil // its runs report it
	}
	decls := prog.Inputs()
	given := map[string]json.RawMessage{}
	if sc.Inputs != nil {
		_ = json.Unmarshal(sc.Inputs, &given)
	}
	var items []api.ProblemItem
	names := make([]string, 0, len(given))
	for k := range given {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.ContainsFunc(decls, func(d automations.InputDecl) bool { return d.Name == k }) {
			items = append(items, api.ProblemItem{Field: "inputs." + k,
				Message: fmt.Sprintf("input %q is not declared by automation %q (%s)", k, a.Name, declared(decls))})
		}
	}
	for _, d := range decls {
		if _, ok := given[d.Name]; d.Required && !d.HasDefault && !ok {
			items = append(items, api.ProblemItem{Field: "inputs",
				Message: fmt.Sprintf("automation %q requires input %q, which inputs does not give", a.Name, d.Name)})
		}
	}
	return items, nil
}

// declared describes an automation's inputs for a message.
func declared(ds []automations.InputDecl) string {
	if len(ds) == 0 {
		return "it declares no inputs"
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	return "it declares " + strings.Join(names, ", ")
}

// Create validates and saves a new schedule; an enabled one waits for its
// first tick after now. A name in use is a 409 *api.Problem.
func (s *Scheduler) Create(ctx context.Context, sc *Schedule) (*Schedule, error) {
	c, err := s.validate(ctx, sc)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sc.CreatedAt, sc.UpdatedAt, sc.NextRunAt = now, now, nil
	if sc.Enabled {
		next := c.Next(now)
		sc.NextRunAt = &next
	}
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO hookhost_schedules (name, description, cron, time_zone, automation,
		inputs, options, missed, enabled, next_run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO NOTHING`), sc.Name, sc.Description, sc.Cron, sc.TimeZone, sc.Automation, string(sc.Inputs),
		options(sc.Job), sc.Missed, boolInt(sc.Enabled), microsPtr(sc.NextRunAt), now.UnixMicro(), now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("schedule: create %q: %w", sc.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return nil, fmt.Errorf("schedule: create %q: %w", sc.Name, err)
		}
		return nil, api.Errorf(http.StatusConflict, "a schedule named %q exists", sc.Name)
	}
	s.notify()
	return s.Get(ctx, sc.Name)
}

func options(o JobOptions) string {
	b, _ := json.Marshal(o)
	if string(b) == "{}" {
		return ""
	}
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Patch changes a schedule: the fields set change, the others stay.
type Patch struct {
	Description *string
	Cron        *string
	TimeZone    *string
	Automation  *string
	// Inputs replace the fixed inputs; JSON null removes them.
	Inputs  json.RawMessage
	Job     *JobOptions
	Enabled *bool
	Missed  *string
}

// Update applies a patch. A change of the expression, the time zone or
// enabled makes the schedule wait for its first tick after now (a resumed
// schedule does not catch up on the ticks it slept through).
func (s *Scheduler) Update(ctx context.Context, name string, p Patch) (*Schedule, error) {
	old, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	sc := *old
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&sc.Description, p.Description)
	set(&sc.Cron, p.Cron)
	set(&sc.TimeZone, p.TimeZone)
	set(&sc.Automation, p.Automation)
	set(&sc.Missed, p.Missed)
	if p.Inputs != nil {
		sc.Inputs = p.Inputs
	}
	if p.Job != nil {
		sc.Job = *p.Job
	}
	if p.Enabled != nil {
		sc.Enabled = *p.Enabled
	}
	c, err := s.validate(ctx, &sc)
	if err != nil {
		return nil, err
	}
	now := s.now()
	retime := sc.Cron != old.Cron || sc.TimeZone != old.TimeZone || sc.Enabled != old.Enabled
	query := `UPDATE hookhost_schedules SET description = ?, cron = ?, time_zone = ?, automation = ?, inputs = ?, options = ?,
		missed = ?, enabled = ?, updated_at = ?`
	args := []any{sc.Description, sc.Cron, sc.TimeZone, sc.Automation, string(sc.Inputs), options(sc.Job), sc.Missed,
		boolInt(sc.Enabled), now.UnixMicro()}
	if retime {
		sc.NextRunAt = nil
		if sc.Enabled {
			next := c.Next(now)
			sc.NextRunAt = &next
		}
		query += `, next_run_at = ?`
		args = append(args, microsPtr(sc.NextRunAt))
	}
	query += ` WHERE name = ? AND created_at = ?`
	args = append(args, name, old.CreatedAt.UnixMicro())
	res, err := s.db.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("schedule: update %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, notFound(name)
	}
	s.notify()
	return s.Get(ctx, name)
}

// Change returns the change of a change set (store.ChangeSet) that writes
// sc: action store.ActionCreate inserts it (waiting for its first tick
// after now when enabled), store.ActionUpdate replaces its settings and
// owner (its next tick recomputed when its expression, time zone or
// enabled changed), store.ActionDelete deletes it. sc must have been
// validated (Validate). After the change set is applied, call Changed.
func (s *Scheduler) Change(action string, sc *Schedule) store.Change {
	rec := &store.RecordChange{Kind: store.KindSchedule, Name: sc.Name, RecordID: sc.Name}
	rec.Write = func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		switch action {
		case store.ActionCreate:
			var next *time.Time
			if sc.Enabled {
				c, err := ParseCron(sc.Cron, sc.TimeZone)
				if err != nil {
					return err
				}
				n := c.Next(now)
				next = &n
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO hookhost_schedules (name, description, cron, time_zone, automation,
				inputs, options, missed, enabled, next_run_at, created_at, updated_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				sc.Name, sc.Description, sc.Cron, sc.TimeZone, sc.Automation, string(sc.Inputs), options(sc.Job), sc.Missed,
				boolInt(sc.Enabled), microsPtr(next), now.UnixMicro(), now.UnixMicro(), sc.Owner)
			return err
		case store.ActionUpdate:
			old, err := scan(tx.QueryRowContext(ctx, s.q(`SELECT `+columns+` FROM hookhost_schedules WHERE name = ?`), sc.Name))
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			query := `UPDATE hookhost_schedules SET description = ?, cron = ?, time_zone = ?, automation = ?, inputs = ?, options = ?,
				missed = ?, enabled = ?, owner = ?, updated_at = ?`
			args := []any{sc.Description, sc.Cron, sc.TimeZone, sc.Automation, string(sc.Inputs), options(sc.Job), sc.Missed,
				boolInt(sc.Enabled), sc.Owner, now.UnixMicro()}
			if sc.Cron != old.Cron || sc.TimeZone != old.TimeZone || sc.Enabled != old.Enabled {
				var next *time.Time
				if sc.Enabled {
					c, err := ParseCron(sc.Cron, sc.TimeZone)
					if err != nil {
						return err
					}
					n := c.Next(now)
					next = &n
				}
				query += `, next_run_at = ?`
				args = append(args, microsPtr(next))
			}
			_, err = tx.ExecContext(ctx, s.q(query+` WHERE name = ?`), append(args, sc.Name)...)
			return err
		case store.ActionDelete:
			res, err := tx.ExecContext(ctx, s.q(`DELETE FROM hookhost_schedules WHERE name = ?`), sc.Name)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrNotFound
			}
			return nil
		}
		return fmt.Errorf("%w: no action %q on a schedule", store.ErrInvalid, action)
	}
	return store.Change{Action: action, Record: rec}
}

// Changed tells the scheduler that schedules changed in a change set it
// did not apply itself (Change), so that it looks at them at once.
func (s *Scheduler) Changed() { s.notify() }

// SetEnabled pauses (false) or resumes (true) a schedule.
func (s *Scheduler) SetEnabled(ctx context.Context, name string, enabled bool) (*Schedule, error) {
	return s.Update(ctx, name, Patch{Enabled: &enabled})
}

// Delete deletes a schedule; its jobs' records stay.
func (s *Scheduler) Delete(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM hookhost_schedules WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("schedule: delete %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(name)
	}
	return nil
}

// NextRuns lists the next n ticks of a schedule, in its time zone (none
// while it is paused).
func NextRuns(sc *Schedule, n int) []time.Time {
	out := []time.Time{}
	if sc.NextRunAt == nil || n <= 0 {
		return out
	}
	c, err := ParseCron(sc.Cron, sc.TimeZone)
	if err != nil {
		return out
	}
	first := sc.NextRunAt.In(c.Location())
	return append(append(out, first), c.NextN(first, n-1)...)
}

// maxMissedCount bounds the ticks counted in one look (MissedCount).
const maxMissedCount = 100_000

// dueBatch bounds the schedules read in one look.
const dueBatch = 256

// RunDue queues the job of every tick due at Config.Now (its jobs are
// queued once whichever servers look at the same time), moves each
// schedule on to its next tick, and returns how many jobs it queued. A
// tick found more than Config.MissedAfter late follows the schedule's
// missed-run policy; a schedule that is behind runs at most one job per
// look and goes on from its first tick after now.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	queued := 0
	var errs []error
	for range 100 { // each pass moves every due schedule on, or fails it
		now := s.now()
		due, err := s.list(ctx, `SELECT `+columns+` FROM hookhost_schedules WHERE next_run_at IS NOT NULL AND next_run_at <= ?
			ORDER BY next_run_at, name LIMIT ?`, now.UnixMicro(), dueBatch)
		if err != nil {
			return queued, err
		}
		for _, sc := range due {
			ok, err := s.tick(ctx, sc, now)
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				queued++
			}
		}
		if len(due) < dueBatch || len(errs) > 0 {
			break
		}
	}
	return queued, errors.Join(errs...)
}

// tick handles the due tick of sc at now, and reports whether it queued a
// job.
func (s *Scheduler) tick(ctx context.Context, sc *Schedule, now time.Time) (bool, error) {
	due := *sc.NextRunAt
	c, err := ParseCron(sc.Cron, sc.TimeZone)
	var next time.Time
	if err == nil {
		if next = c.Next(due); !next.IsZero() && !next.After(now) {
			next = c.Next(now)
		}
	}
	if err != nil || next.IsZero() {
		// Saved valid, no longer valid (the time zone database changed):
		// pause it rather than look at it again and again.
		s.log.Error("schedule paused: its expression no longer gives a next run", "schedule", sc.Name, "cron", sc.Cron,
			"time_zone", sc.TimeZone, "error", err)
		_, err := s.db.ExecContext(ctx, s.q(`UPDATE hookhost_schedules SET enabled = 0, next_run_at = NULL
			WHERE name = ? AND next_run_at = ?`), sc.Name, due.UnixMicro())
		return false, err
	}
	late := now.Sub(due) > s.cfg.MissedAfter
	run := !late || sc.Missed == MissedRunOnce
	var missed int64
	if !run {
		missed++
	}
	for t := c.Next(due); t.Before(next) && missed < maxMissedCount; t = c.Next(t) {
		missed++
	}
	var jobID string
	if run {
		res, err := s.enqueue(ctx, sc, due.In(c.Location()), late)
		if err != nil {
			return false, fmt.Errorf("schedule %q: queue the run of %s: %w", sc.Name, due.Format(time.RFC3339), err)
		}
		jobID = res.JobID
	}
	// Move on from this tick, unless another server did (or the schedule
	// changed meanwhile): the job above is the same one for all of them.
	query := `UPDATE hookhost_schedules SET next_run_at = ?, skipped = skipped + ?`
	args := []any{next.UnixMicro(), missed}
	if run {
		query += `, last_run_at = ?, last_job_id = ?`
		args = append(args, due.UnixMicro(), jobID)
	}
	query += ` WHERE name = ? AND created_at = ? AND next_run_at = ?`
	args = append(args, sc.Name, sc.CreatedAt.UnixMicro(), due.UnixMicro())
	if _, err := s.db.ExecContext(ctx, s.q(query), args...); err != nil {
		return false, fmt.Errorf("schedule %q: move on to %s: %w", sc.Name, next.Format(time.RFC3339), err)
	}
	if late {
		s.log.Warn("schedule missed runs", "schedule", sc.Name, "due", due, "missed", missed, "policy", sc.Missed, "job_id", jobID)
	}
	return run, nil
}

// scheduleData is a scheduled run's dictionary: the fixed inputs under
// "inputs" (as a webhook handler's), and the schedule_* keys.
type scheduleData struct {
	Inputs    json.RawMessage `json:"inputs,omitempty"`
	Name      string          `json:"schedule_name"`
	Time      string          `json:"schedule_time"`
	Timestamp int64           `json:"schedule_timestamp"`
	CatchUp   bool            `json:"schedule_catch_up"`
}

// enqueue queues the job of the tick due of sc. Its idempotency key names
// the schedule and the tick, so that servers queuing the same tick get one
// job.
func (s *Scheduler) enqueue(ctx context.Context, sc *Schedule, due time.Time, catchUp bool) (jobs.Result, error) {
	raw, err := json.Marshal(scheduleData{Inputs: sc.Inputs, Name: sc.Name, Time: due.Format(time.RFC3339),
		Timestamp: due.Unix(), CatchUp: catchUp})
	if err != nil {
		return jobs.Result{}, err
	}
	sealed, err := s.cfg.Automations.SealJobInputs(raw)
	if err != nil {
		return jobs.Result{}, err
	}
	shown := raw
	if s.cfg.Redactor != nil {
		shown = s.cfg.Redactor.RawJSON(raw)
	}
	return s.cfg.Queue.Enqueue(ctx, &jobs.Request{Handler: jobs.ScheduleHandler(sc.Name), Automation: sc.Automation,
		Inputs: sealed, RedactedInputs: shown, Options: sc.Job.queueOptions(),
		IdempotencyKey: fmt.Sprintf("schedule:%s:%d:%d", sc.Name, sc.CreatedAt.UnixMicro(), due.UnixMicro())})
}

// earliest returns the earliest tick any schedule waits for.
func (s *Scheduler) earliest(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(next_run_at) FROM hookhost_schedules WHERE next_run_at IS NOT NULL`).Scan(&v); err != nil {
		return time.Time{}, false, err
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMicro(v.Int64), true, nil
}

// minWait keeps the loop from spinning on a tick it cannot move on.
const minWait = 10 * time.Millisecond

// loop runs RunDue whenever a tick comes due, until ctx ends.
func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
		wait := s.cfg.PollInterval
		if _, err := s.RunDue(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("schedules: queuing due runs failed; trying again", "in", wait, "error", err)
		} else if at, ok, err := s.earliest(ctx); err == nil && ok {
			wait = max(min(wait, at.Sub(s.cfg.Now())), minWait)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}
