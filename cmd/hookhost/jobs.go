package main

import (
	"fmt"
	"net/url"
	"strconv"

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

func newJobLogsCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use: "logs ID", Short: "Show a job's run log by stream (Output, Warning, Error, Verbose)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return getTable(c, "/api/v1/jobs/"+url.PathEscape(args[0])+"/logs", []string{"STREAM", "NODE", "MESSAGE"},
				func(s api.Streams) [][]string {
					rows := [][]string{}
					for _, st := range []struct {
						name    string
						entries []api.LogEntry
					}{{"Output", s.Output}, {"Warning", s.Warning}, {"Error", s.Error}, {"Verbose", s.Verbose}} {
						for _, e := range st.entries {
							rows = append(rows, []string{st.name, e.Node, e.Message})
						}
					}
					return rows
				})
		},
	}
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
