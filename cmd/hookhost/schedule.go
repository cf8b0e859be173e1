package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/schedule"
)

// newScheduleCmd is the `hookhost schedule` command group.
func newScheduleCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Short: "Run automations on a schedule (cron) as durable jobs", Aliases: []string{"schedules"}}
	cl.register(cmd)
	cmd.AddCommand(newScheduleListCmd(cl), newScheduleCreateCmd(cl), newScheduleShowCmd(cl), newScheduleUpdateCmd(cl),
		newScheduleDeleteCmd(cl), newScheduleActionCmd(cl, "pause", "Pause a schedule: no runs until it is resumed"),
		newScheduleActionCmd(cl, "resume", "Resume a paused schedule from its next tick (the ticks it slept through do not run)"),
		newScheduleJobsCmd(cl))
	return cmd
}

// schedulePath is the admin API path of a schedule.
func schedulePath(name string) string { return "/api/v1/schedules/" + url.PathEscape(name) }

// scheduleZone is a schedule's time zone, for showing its times (UTC when
// this machine does not know it).
func scheduleZone(sc api.Schedule) *time.Location {
	loc, err := schedule.LoadTimeZone(sc.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func newScheduleListCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List schedules with their next run (in each schedule's time zone)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return getTable(c, "/api/v1/schedules", []string{"NAME", "CRON", "TIME ZONE", "AUTOMATION", "ENABLED", "NEXT RUN", "LAST JOB"},
				func(res api.ScheduleList) [][]string {
					rows := [][]string{}
					for _, sc := range res.Schedules {
						next := "-"
						if sc.NextRunAt != nil {
							next = formatTime(*sc.NextRunAt, scheduleZone(sc))
						}
						rows = append(rows, []string{sc.Name, sc.Cron, sc.TimeZone, sc.Automation, strconv.FormatBool(sc.Enabled),
							next, orDash(sc.LastJobID)})
					}
					return rows
				})
		},
	}
}

// scheduleFlags are the flags that set a schedule's fields (create and
// update).
type scheduleFlags struct {
	cron, timeZone, automation, inputs, missed, description, callbackURL string
	input                                                                []string
	maxAttempts, concurrency                                             int
	timeout                                                              time.Duration
}

func (f *scheduleFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cron, "cron", "", `when it runs: 5 cron fields ("30 9 * * 1-5"), 6 with seconds first, or @every 10m, @hourly, @daily, @weekly, @monthly`)
	fs.StringVar(&f.timeZone, "time-zone", "", "IANA time zone the expression is read in, e.g. Europe/Paris (default UTC)")
	fs.StringVar(&f.automation, "automation", "", "the webhook.respond automation each run runs")
	fs.StringVar(&f.inputs, "inputs", "", `its fixed inputs as a JSON object, e.g. '{"env":"prod"}' (null: none)`)
	fs.StringArrayVar(&f.input, "input", nil, "one fixed input as name=value (text; repeatable; instead of --inputs)")
	fs.StringVar(&f.missed, "missed", "", "what a run found late after downtime does: skip (default) or run_once")
	fs.StringVar(&f.description, "description", "", "what the schedule is for")
	fs.IntVar(&f.maxAttempts, "max-attempts", 0, "attempts per run (1-100); when set, a run that ends in error is retried")
	fs.DurationVar(&f.timeout, "timeout", 0, "time limit of one attempt (up to 3h; default 5m)")
	fs.IntVar(&f.concurrency, "concurrency", 0, "runs of this schedule at once, across servers (1-1000)")
	fs.StringVar(&f.callbackURL, "callback-url", "", "receives a signed notice when a run ends")
}

// fixedInputs reads --inputs or --input; given is false when neither was
// set.
func (f *scheduleFlags) fixedInputs(fs *pflag.FlagSet) (raw json.RawMessage, given bool, err error) {
	switch {
	case fs.Changed("inputs") && fs.Changed("input"):
		return nil, false, usagef("give the fixed inputs with --inputs or with --input, not both")
	case fs.Changed("inputs"):
		if !json.Valid([]byte(f.inputs)) {
			return nil, false, usagef("--inputs %q: want a JSON object such as '{\"env\":\"prod\"}'", f.inputs)
		}
		return json.RawMessage(f.inputs), true, nil
	case fs.Changed("input"):
		m := map[string]string{}
		for _, kv := range f.input {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, false, usagef("--input %q: want name=value", kv)
			}
			m[k] = v
		}
		b, err := json.Marshal(m)
		return b, true, err
	}
	return nil, false, nil
}

// job is the job options the flags set.
func (f *scheduleFlags) job() api.ScheduleJob {
	return api.ScheduleJob{MaxAttempts: f.maxAttempts, TimeoutMS: f.timeout.Milliseconds(), Concurrency: f.concurrency,
		CallbackURL: f.callbackURL}
}

func newScheduleCreateCmd(cl *clientFlags) *cobra.Command {
	var (
		f        scheduleFlags
		disabled bool
	)
	cmd := &cobra.Command{
		Use:   "create NAME --cron EXPR --automation NAME",
		Short: "Create a schedule; each tick runs the automation as a durable job",
		Example: `  hookhost schedule create nightly-report --cron "0 2 * * *" --time-zone Europe/Paris \
    --automation example.report --input env=production
  hookhost schedule create heartbeat --cron "@every 5m" --automation ping --missed run_once`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			inputs, _, err := f.fixedInputs(cmd.Flags())
			if err != nil {
				return err
			}
			enabled := !disabled
			in := api.ScheduleInput{Name: args[0], Description: f.description, Cron: f.cron, TimeZone: f.timeZone,
				Automation: f.automation, Inputs: inputs, Job: f.job(), Enabled: &enabled, MissedRuns: f.missed}
			var sc api.Schedule
			if printed, err := c.call("POST", "/api/v1/schedules", in, &sc); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "created schedule %s\n", sc.Name)
			if sc.NextRunAt != nil {
				fmt.Fprintf(c.out, "next run: %s\n", formatTime(*sc.NextRunAt, scheduleZone(sc)))
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&disabled, "disabled", false, "create it paused")
	_ = cmd.MarkFlagRequired("cron")
	_ = cmd.MarkFlagRequired("automation")
	return cmd
}

func newScheduleShowCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use: "show NAME", Short: "Show a schedule and its next 5 runs", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var sc api.Schedule
			if printed, err := c.call("GET", schedulePath(args[0]), nil, &sc); printed || err != nil {
				return err
			}
			printSchedule(c, sc)
			return nil
		},
	}
}

// printSchedule writes a schedule as name: value lines.
func printSchedule(c *client, sc api.Schedule) {
	loc := scheduleZone(sc)
	inputs := "-"
	if len(sc.Inputs) > 0 && string(sc.Inputs) != "null" {
		inputs = string(sc.Inputs)
	}
	last := "-"
	if sc.LastRunAt != nil {
		last = formatTime(*sc.LastRunAt, loc) + " (job " + sc.LastJobID + ")"
	}
	job, _ := json.Marshal(sc.Job)
	fmt.Fprintf(c.out, "name:         %s\ncron:         %s\ntime zone:    %s\nautomation:   %s\ninputs:       %s\njob:          %s\n",
		sc.Name, sc.Cron, sc.TimeZone, sc.Automation, inputs, job)
	fmt.Fprintf(c.out, "enabled:      %t\nmissed runs:  %s (%d so far)\nlast run:     %s\n", sc.Enabled, sc.MissedRuns, sc.MissedCount, last)
	if sc.Description != "" {
		fmt.Fprintf(c.out, "description:  %s\n", sc.Description)
	}
	if len(sc.NextRuns) == 0 {
		fmt.Fprintln(c.out, "next runs:    - (paused)")
		return
	}
	fmt.Fprintln(c.out, "next runs:")
	for _, t := range sc.NextRuns {
		fmt.Fprintf(c.out, "  %s\n", formatTime(t, loc))
	}
}

func newScheduleUpdateCmd(cl *clientFlags) *cobra.Command {
	var f scheduleFlags
	cmd := &cobra.Command{
		Use:   "update NAME [flags]",
		Short: "Change a schedule: the flags given change, the others stay",
		Example: `  hookhost schedule update nightly-report --cron "30 1 * * *"
  hookhost schedule update nightly-report --inputs null`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			fs := cmd.Flags()
			var p api.SchedulePatch
			for name, dst := range map[string]**string{"cron": &p.Cron, "time-zone": &p.TimeZone, "automation": &p.Automation,
				"missed": &p.MissedRuns, "description": &p.Description} {
				if fs.Changed(name) {
					v, _ := fs.GetString(name)
					*dst = &v
				}
			}
			inputs, given, err := f.fixedInputs(fs)
			if err != nil {
				return err
			}
			if given {
				p.Inputs = inputs
			}
			if fs.Changed("max-attempts") || fs.Changed("timeout") || fs.Changed("concurrency") || fs.Changed("callback-url") {
				var old api.Schedule
				if err := c.do("GET", schedulePath(args[0]), "", nil, &old); err != nil {
					return err
				}
				j := old.Job
				if fs.Changed("max-attempts") {
					j.MaxAttempts = f.maxAttempts
				}
				if fs.Changed("timeout") {
					j.TimeoutMS = f.timeout.Milliseconds()
				}
				if fs.Changed("concurrency") {
					j.Concurrency = f.concurrency
				}
				if fs.Changed("callback-url") {
					j.CallbackURL = f.callbackURL
				}
				p.Job = &j
			}
			if p.Cron == nil && p.TimeZone == nil && p.Automation == nil && p.MissedRuns == nil && p.Description == nil &&
				p.Inputs == nil && p.Job == nil {
				return usagef("nothing to change: give at least one of --cron, --time-zone, --automation, --inputs, --input, --missed, --description or a job option")
			}
			var sc api.Schedule
			if printed, err := c.call("PATCH", schedulePath(args[0]), p, &sc); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "schedule %s updated\n", sc.Name)
			if sc.NextRunAt != nil {
				fmt.Fprintf(c.out, "next run: %s\n", formatTime(*sc.NextRunAt, scheduleZone(sc)))
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func newScheduleDeleteCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use: "delete NAME", Short: "Delete a schedule (the records of its jobs stay)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			if err := c.do("DELETE", schedulePath(args[0]), "", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "schedule %s deleted\n", args[0])
			return nil
		},
	}
}

// newScheduleActionCmd is `schedule pause|resume NAME`.
func newScheduleActionCmd(cl *clientFlags, action, short string) *cobra.Command {
	return &cobra.Command{
		Use: action + " NAME", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var sc api.Schedule
			if printed, err := c.call("POST", schedulePath(args[0])+"/"+action, nil, &sc); printed || err != nil {
				return err
			}
			next := "-"
			if sc.NextRunAt != nil {
				next = formatTime(*sc.NextRunAt, scheduleZone(sc))
			}
			fmt.Fprintf(c.out, "schedule %s %sd; next run: %s\n", sc.Name, action, next)
			return nil
		},
	}
}

func newScheduleJobsCmd(cl *clientFlags) *cobra.Command {
	var (
		state string
		limit int
	)
	cmd := &cobra.Command{
		Use: "jobs NAME", Short: "List a schedule's jobs, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if state != "" {
				q.Set("state", state)
			}
			return getTable(c, schedulePath(args[0])+"/jobs?"+q.Encode(), []string{"ID", "STATE", "CREATED", "FINISHED", "ATTEMPTS", "ERROR"},
				func(res api.JobList) [][]string {
					rows := [][]string{}
					for _, j := range res.Jobs {
						rows = append(rows, []string{j.ID, j.State, fmtTime(j.CreatedAt), fmtTimePtr(j.FinishedAt),
							fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts), j.Error})
					}
					return rows
				})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only jobs in this state (Queued, Running, Retrying, Completed, Failed, Stopped)")
	cmd.Flags().IntVar(&limit, "limit", 50, "how many jobs (1-500)")
	return cmd
}
