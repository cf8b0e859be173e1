package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
)

// newJobCmd is the `hookhost job` command group (durable jobs).
func newJobCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "job", Short: "Inspect and control durable jobs", Aliases: []string{"jobs"}}
	cl.register(cmd)
	cmd.AddCommand(newJobListCmd(cl), newJobShowCmd(cl), newJobLogsCmd(cl),
		newJobActionCmd(cl, "cancel", "Cancel a queued or running job"),
		newJobActionCmd(cl, "retry", "Run an ended job again with the same inputs (a new, linked job)"))
	return cmd
}

func newJobListCmd(cl *clientFlags) *cobra.Command {
	var (
		webhook, state, cursor string
		limit                  int
	)
	cmd := &cobra.Command{
		Use: "list", Short: "List jobs, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"webhook": webhook, "state": state, "cursor": cursor} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", strconv.Itoa(limit))
			var res api.JobList
			if printed, err := c.call("GET", "/api/v1/jobs?"+q.Encode(), nil, &res); printed || err != nil {
				return err
			}
			rows := make([][]string, 0, len(res.Jobs))
			for _, j := range res.Jobs {
				finished := "-"
				if j.FinishedAt != nil {
					finished = fmtTime(*j.FinishedAt)
				}
				rows = append(rows, []string{j.ID, j.State, fmtTime(j.CreatedAt), finished, j.Automation,
					fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts), j.Error})
			}
			if err := c.table([]string{"ID", "STATE", "CREATED", "FINISHED", "AUTOMATION", "ATTEMPTS", "ERROR"}, rows); err != nil {
				return err
			}
			if res.NextCursor != "" {
				fmt.Fprintf(c.out, "\nmore: hookhost job list --cursor %s\n", res.NextCursor)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&webhook, "webhook", "", "only jobs of this webhook id")
	f.StringVar(&state, "state", "", "only jobs in this state (Queued, Running, Retrying, Completed, Failed, Stopped)")
	f.StringVar(&cursor, "cursor", "", "continue a previous list")
	f.IntVar(&limit, "limit", 50, "how many jobs (1-500)")
	return cmd
}

func newJobShowCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show a job with its inputs (secrets redacted), output, response and log", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return c.printGet("/api/v1/jobs/" + url.PathEscape(args[0]))
		},
	}
}

// Bounds of job logs --interval.
const (
	minFollowInterval = 100 * time.Millisecond
	maxFollowInterval = time.Minute
)

func newJobLogsCmd(cl *clientFlags) *cobra.Command {
	var (
		follow   bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Show a job's run log by stream (Output, Warning, Error, Verbose); --follow until it ends",
		Long: `Show a job's run log by stream (Output, Warning, Error, Verbose).

With --follow, ask the server every --interval and print each new entry once,
as STREAM NODE MESSAGE lines (with -o json, one JSON object a line), until the
job is Completed, Failed or Stopped; the final state is written to stderr.
Within one poll, new entries are printed by stream.`,
		Example: `  hookhost job logs 5b0d... --follow
  hookhost job logs 5b0d... -f --interval 5s -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval < minFollowInterval || interval > maxFollowInterval {
				return usagef("--interval %s: want %s to %s", interval, minFollowInterval, maxFollowInterval)
			}
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			if follow {
				return followJobLogs(cmd.Context(), c, args[0], interval)
			}
			return getTable(c, "/api/v1/jobs/"+url.PathEscape(args[0])+"/logs", []string{"STREAM", "NODE", "MESSAGE"},
				func(s api.Streams) [][]string {
					rows := [][]string{}
					for _, st := range streamsOf(s) {
						for _, e := range st.entries {
							rows = append(rows, []string{st.name, e.Node, e.Message})
						}
					}
					return rows
				})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "print new entries as they come until the job ends")
	f.DurationVar(&interval, "interval", time.Second, "with --follow, how often to ask the server (100ms to 1m)")
	return cmd
}

// stream is one of a job's log streams.
type stream struct {
	name    string
	entries []api.LogEntry
}

// streamsOf lists s's streams in the order they are shown.
func streamsOf(s api.Streams) []stream {
	return []stream{{"Output", s.Output}, {"Warning", s.Warning}, {"Error", s.Error}, {"Verbose", s.Verbose}}
}

// followJobLogs prints a job's log entries as they appear, asking for the
// job every interval (a timer, never a busy loop), until the job is in a
// final state or ctx ends. A stream that shrinks (a new attempt started
// its log afresh) is printed again from its start.
func followJobLogs(ctx context.Context, c *client, id string, interval time.Duration) error {
	shown := map[string]int{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		var j api.Job
		if err := c.do("GET", "/api/v1/jobs/"+url.PathEscape(id), "", nil, &j); err != nil {
			return err
		}
		var streams api.Streams
		if j.Streams != nil {
			streams = *j.Streams
		}
		for _, st := range streamsOf(streams) {
			from := shown[st.name]
			if len(st.entries) < from {
				from = 0
			}
			for _, e := range st.entries[from:] {
				if err := c.printLogEntry(st.name, e); err != nil {
					return err
				}
			}
			shown[st.name] = len(st.entries)
		}
		if jobEnded(j.State) {
			msg := fmt.Sprintf("job %s %s", j.ID, j.State)
			if j.Error != "" {
				msg += ": " + j.Error
			}
			_, err := fmt.Fprintln(c.errOut, msg)
			return err
		}
		timer.Reset(interval)
	}
}

// jobEnded reports whether a job state is final.
func jobEnded(state string) bool {
	switch state {
	case "Completed", "Failed", "Stopped":
		return true
	}
	return false
}

// printLogEntry writes one followed log entry: a line, or with -o json
// one JSON object.
func (c *client) printLogEntry(streamName string, e api.LogEntry) error {
	if c.output == "json" {
		b, err := json.Marshal(struct {
			Stream string `json:"stream"`
			api.LogEntry
		}{streamName, e})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(c.out, "%-7s  %s  %s\n", streamName, orDash(e.Node), e.Message)
	return err
}

// newJobActionCmd is `job cancel ID` or `job retry ID`.
func newJobActionCmd(cl *clientFlags, action, short string) *cobra.Command {
	return &cobra.Command{
		Use: action + " ID", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var res struct {
				api.Job
				api.JobIDs
			}
			if printed, err := c.call("POST", "/api/v1/jobs/"+url.PathEscape(args[0])+"/"+action, nil, &res); printed || err != nil {
				return err
			}
			if len(res.JobIDs.JobIDs) > 0 {
				_, err = fmt.Fprintf(c.out, "queued job %s (retry of %s)\n", res.JobIDs.JobIDs[0], args[0])
				return err
			}
			_, err = fmt.Fprintf(c.out, "job %s is %s\n", res.ID, res.State)
			return err
		},
	}
}
