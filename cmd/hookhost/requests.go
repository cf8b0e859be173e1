package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
)

// ---- request records ----

// newRequestCmd is the `hookhost request` command group: the request
// records (every request to a known webhook, refused ones included).
func newRequestCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "request", Short: "Inspect, replay and explain recorded webhook requests", Aliases: []string{"requests"}}
	cl.register(cmd)
	cmd.AddCommand(newRequestListCmd(cl), newRequestShowCmd(cl), newRequestReplayCmd(cl), newRequestExplainCmd(cl))
	return cmd
}

func newRequestListCmd(cl *clientFlags) *cobra.Command {
	var (
		webhook, status, cause, since, until, search string
		limit                                        int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List request records, newest first",
		Example: `  bin/hookhost request list --webhook 01a2... --status 4xx
  bin/hookhost request list --cause verify --since 1h
  bin/hookhost request list --search refs/heads/main -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"webhook": webhook, "status": status, "cause": cause, "q": search} {
				if v != "" {
					q.Set(k, v)
				}
			}
			now := time.Now()
			for _, t := range []struct{ flag, value string }{{"since", since}, {"until", until}} {
				if t.value == "" {
					continue
				}
				at, err := parseWhen(t.value, now)
				if err != nil {
					return usagef("--%s %q: %v", t.flag, t.value, err)
				}
				q.Set(t.flag, at.UTC().Format(time.RFC3339))
			}
			q.Set("limit", strconv.Itoa(limit))
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return getTable(c, "/api/v1/requests?"+q.Encode(), []string{"ID", "TIME", "WEBHOOK", "STATUS", "CAUSE", "AUTOMATION", "ERROR"},
				func(res api.RunList) [][]string {
					rows := [][]string{}
					for _, r := range res.Runs {
						rows = append(rows, []string{r.ID, fmtTime(r.CreatedAt), r.WebhookID, strconv.Itoa(r.Status), orDash(r.Cause),
							orDash(r.Automation), r.Error})
					}
					return rows
				})
		},
	}
	f := cmd.Flags()
	f.StringVar(&webhook, "webhook", "", "only requests to this webhook id")
	f.StringVar(&status, "status", "", "only answers of this status class: 2xx, 4xx, 5xx")
	f.StringVar(&cause, "cause", "", `only requests refused for this cause (verify, rate_limit, body_size, disabled, no_handler, ...), or "-" for those not refused`)
	f.StringVar(&since, "since", "", "only requests from this time on: RFC 3339 (2027-01-02T15:04:05Z) or a duration back from now (90m, 24h)")
	f.StringVar(&until, "until", "", "only requests before this time (as --since)")
	f.StringVar(&search, "search", "", "only requests whose stored headers, parameters or body hold this text")
	f.IntVar(&limit, "limit", 50, "how many requests (1-500)")
	return cmd
}

// parseWhen reads a time: RFC 3339, or a duration back from now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, errors.New("want a positive duration (how long ago)")
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time (2027-01-02T15:04:05Z) or a duration (90m, 24h)")
	}
	return t, nil
}

func newRequestShowCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show a request record: the request as stored (credentials redacted), the answer, the run's output and log",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			return c.printGet("/api/v1/requests/" + url.PathEscape(args[0]))
		},
	}
}

func newRequestReplayCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "replay ID",
		Short: "Send a recorded request again through its webhook's current configuration (limits and verify blocks skipped; credentials stay redacted as recorded)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var res api.Replay
			if printed, err := c.call("POST", "/api/v1/requests/"+url.PathEscape(args[0])+"/replay", nil, &res); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "replayed as request %s\n", orDash(res.RecordID))
			switch {
			case res.Problem != nil:
				fmt.Fprintf(c.out, "answered %d %s\n", res.Problem.Status, res.Problem.Error())
			case res.Response != nil:
				c.printResponse(res.Response)
			}
			return nil
		},
	}
}

// printResponse writes an automation's answer: status, headers, body.
func (c *client) printResponse(r *api.JobResponse) {
	fmt.Fprintf(c.out, "answered %d\n", r.Status)
	for _, h := range r.Headers {
		fmt.Fprintf(c.out, "%s: %s\n", h[0], h[1])
	}
	switch {
	case r.BodyBase64 != "":
		fmt.Fprintf(c.out, "\n(binary body, base64) %s\n", r.BodyBase64)
	case r.Body != "":
		fmt.Fprintf(c.out, "\n%s\n", strings.TrimRight(r.Body, "\n"))
	}
}

func newRequestExplainCmd(cl *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "explain ID",
		Short: "Explain why a verify block refused a recorded request, step by step",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var ex api.Explanation
			if printed, err := c.call("GET", "/api/v1/requests/"+url.PathEscape(args[0])+"/explain", nil, &ex); printed || err != nil {
				return err
			}
			fmt.Fprintf(c.out, "request %s: %d", ex.RecordID, ex.Status)
			if ex.RecordedReason != "" {
				fmt.Fprintf(c.out, " (%s)", ex.RecordedReason)
			}
			fmt.Fprintln(c.out)
			c.printChecks(ex.Blocks)
			c.printNotes(ex.Notes)
			return nil
		},
	}
}

// printChecks writes verify blocks' verdicts with their steps.
func (c *client) printChecks(checks []api.VerifyCheck) {
	for _, v := range checks {
		fmt.Fprintf(c.out, "%s (%s): %s", v.Block, v.Type, v.Verdict)
		if v.Reason != "" {
			fmt.Fprintf(c.out, ": %s", v.Reason)
		}
		fmt.Fprintln(c.out)
		for _, s := range v.Steps {
			fmt.Fprintf(c.out, "  %-7s  %s: %s\n", s.Result, s.Check, s.Detail)
		}
	}
}

// printNotes writes notes, one a line.
func (c *client) printNotes(notes []string) {
	for _, n := range notes {
		fmt.Fprintf(c.out, "note: %s\n", n)
	}
}

// ---- tail ----

// tailOptions configure tailEvents.
type tailOptions struct {
	// path is the event stream's path and query.
	path string
	// retry is the first delay before reconnecting after a drop; it
	// doubles up to retryMax, and starts again once a stream is open.
	retry, retryMax time.Duration
}

func newTailCmd(cl *clientFlags) *cobra.Command {
	var webhook, types string
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print requests and job changes as they happen, one line each, until interrupted",
		Long: `Print what happens on the server as it happens, one line each, until
interrupted (Ctrl-C): each request to a known webhook as it is recorded
(refused ones included) and each job that starts or ends there. It reads the
server-sent events of GET /api/v1/events and reconnects when the stream
drops (to the address <data dir>/server.url then holds, unless --server or
HOOKHOST_SERVER named the server). With -o json each line is the event as
the server sent it.`,
		Example: `  bin/hookhost tail
  bin/hookhost tail --webhook 01a2... --types request -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			if webhook != "" {
				q.Set("webhook", webhook)
			}
			if types != "" {
				q.Set("types", types)
			}
			path := "/api/v1/events"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			err = tailEvents(cmd.Context(), c, tailOptions{path: path, retry: time.Second, retryMax: 30 * time.Second})
			if errors.Is(err, context.Canceled) {
				return nil // interrupted: the normal end
			}
			return err
		},
	}
	cl.register(cmd)
	cmd.Flags().StringVar(&webhook, "webhook", "", "only events of this webhook id")
	cmd.Flags().StringVar(&types, "types", "", "only these event types: request, job, or request,job")
	return cmd
}

// tailEvents prints the events of the stream at opts.path until ctx ends.
// A failure to open the first stream is returned (a wrong server, token
// or filter); a stream that drops later is opened again after a delay,
// said on stderr.
func tailEvents(ctx context.Context, c *client, opts tailOptions) error {
	stream := &http.Client{Transport: c.http.Transport} // no timeout: a stream lasts
	delay := opts.retry
	for opened := false; ; {
		err := c.readEvents(ctx, stream, opts.path, func() { opened, delay = true, opts.retry })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *apiError
		if !opened || (errors.As(err, &ae) && ae.Status != http.StatusTooManyRequests && ae.Status < 500) {
			return err
		}
		msg := "the event stream ended"
		if err != nil {
			msg = "the event stream broke: " + err.Error()
		}
		fmt.Fprintf(c.errOut, "%s; reconnecting in %s\n", msg, delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if moved := c.refreshServer(); moved != "" {
			fmt.Fprintf(c.errOut, "the server is now at %s (from %s)\n", moved, c.from)
		}
		delay = min(2*delay, opts.retryMax)
	}
}

// readEvents reads one event stream, printing each event, until it ends;
// open is called once the server has accepted it.
func (c *client) readEvents(ctx context.Context, hc *http.Client, path string, open func()) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &connError{server: c.base, from: c.from, err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		p := &api.Problem{}
		if json.Unmarshal(b, p) != nil || p.Status == 0 {
			p = api.NewProblem(resp.StatusCode, strings.TrimSpace(string(b)))
		}
		return &apiError{Problem: p, server: c.base, from: c.from, tokenFrom: c.tokenFrom}
	}
	open()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var event string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(data) > 0 {
				if err := c.printEvent(event, strings.Join(data, "\n")); err != nil {
					return err
				}
			}
			event, data = "", nil
		case strings.HasPrefix(line, ":"): // a comment: the greeting, pings
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				event = value
			case "data":
				data = append(data, value)
			}
		}
	}
	return sc.Err()
}

// tailEvent is an event of the stream (host/live.Event).
type tailEvent struct {
	Type      string          `json:"type"`
	WebhookID string          `json:"webhook_id"`
	Data      json.RawMessage `json:"data"`
}

// printEvent prints one event: its data as sent with -o json, else a line.
func (c *client) printEvent(name, data string) error {
	if c.output == "json" {
		_, err := fmt.Fprintln(c.out, data)
		return err
	}
	var ev tailEvent
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		_, err := fmt.Fprintf(c.out, "%s %s\n", name, data)
		return err
	}
	switch ev.Type {
	case "request":
		var r api.Run
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			break
		}
		var what string
		switch r.Cause {
		case "":
			what = r.Exit
			if r.JobID != "" {
				what = "job " + r.JobID
			}
		case "error", "timeout", "crash":
			what = r.Cause
		default:
			what = "refused: " + r.Cause
		}
		if r.ReplayOf != "" {
			what += " (replay of " + r.ReplayOf + ")"
		}
		_, err := fmt.Fprintf(c.out, "%s  request  %d  webhook %s  %s  %s  %s\n", fmtTime(r.CreatedAt), r.Status, orDash(r.WebhookID),
			orDash(r.Automation), orDash(strings.TrimSpace(what)), r.ID+errSuffix(r.Error))
		return err
	case "job":
		var j api.JobEvent
		if err := json.Unmarshal(ev.Data, &j); err != nil {
			break
		}
		_, err := fmt.Fprintf(c.out, "%s  job      %s  attempt %d  %s\n", fmtTime(j.At), j.State, j.Attempt, j.JobID)
		return err
	}
	_, err := fmt.Fprintf(c.out, "%s %s\n", orDash(name), data)
	return err
}

// errSuffix shows an error after a line, when there is one.
func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return "  " + e
}

// ---- dry run ----

func newDryRunCmd(cl *clientFlags) *cobra.Command {
	var (
		record, method, path, body, bodyFile, clientIP string
		headers, query                                 []string
	)
	cmd := &cobra.Command{
		Use:   "dry-run WEBHOOK_ID (--record ID | [--method M] [--path P] [--query K=V]... [--header K:V]... [--body TEXT | --body-file F])",
		Short: "Show what a webhook does with a request, without side effects",
		Long: `Take a request through the webhook's current configuration and show what
happens: each verify block's verdict (reported, not enforced), the handler
that fires, its rendered inputs, the secrets it reads (names only), and the
automation's answer. Nothing is recorded or queued and nothing is sent: the
commands with side effects (http.request, function, storage.*, extension
commands) do not run, and their on_simulate: blocks run instead.

The request is a recorded one (--record, from hookhost request list; its
credentials are redacted as recorded) or one composed with the flags
(default: POST with an empty body, from 127.0.0.1).`,
		Example: `  bin/hookhost dry-run 01a2... --record 01a3...
  bin/hookhost dry-run 01a2... --path a/b --query ref=v1 --header Content-Type:application/json --body '{"x":1}'
  bin/hookhost dry-run 01a2... --body-file payload.json -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := api.DryRunInput{RecordID: record}
			composed := cmd.Flags().Changed("method") || cmd.Flags().Changed("path") || len(headers) > 0 || len(query) > 0 ||
				cmd.Flags().Changed("body") || bodyFile != "" || clientIP != ""
			switch {
			case record != "" && composed:
				return usagef("--record takes the recorded request as it is: it cannot be combined with --method, --path, --query, --header, --body, --body-file or --client-ip")
			case record == "":
				req, err := composeRequest(cmd, method, path, body, bodyFile, clientIP, headers, query)
				if err != nil {
					return err
				}
				in.Request = req
			}
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var res api.DryRun
			if printed, err := c.call("POST", "/api/v1/webhooks/"+url.PathEscape(args[0])+"/dry-run", in, &res); printed || err != nil {
				return err
			}
			c.printDryRun(&res)
			return nil
		},
	}
	cl.register(cmd)
	f := cmd.Flags()
	f.StringVar(&record, "record", "", "dry-run this recorded request (an id from hookhost request list)")
	f.StringVar(&method, "method", "POST", "the composed request's method")
	f.StringVar(&path, "path", "", "the path after the webhook's token, e.g. a/b")
	f.StringArrayVar(&query, "query", nil, "a query parameter, K=V (repeatable)")
	f.StringArrayVar(&headers, "header", nil, "a header, K:V (repeatable)")
	f.StringVar(&body, "body", "", "the body")
	f.StringVar(&bodyFile, "body-file", "", "read the body from this file (- for stdin)")
	f.StringVar(&clientIP, "client-ip", "", "the caller's address (default 127.0.0.1)")
	return cmd
}

// composeRequest builds the composed request of dry-run's flags.
func composeRequest(cmd *cobra.Command, method, path, body, bodyFile, clientIP string, headers, query []string) (*api.ComposedRequest, error) {
	req := &api.ComposedRequest{Method: method, Path: path, Body: body, ClientIP: clientIP, Headers: [][2]string{}, Query: [][2]string{}}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("--header %q: want Name:value", h)
		}
		req.Headers = append(req.Headers, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	for _, q := range query {
		k, v, ok := strings.Cut(q, "=")
		if !ok || k == "" {
			return nil, usagef("--query %q: want name=value", q)
		}
		req.Query = append(req.Query, [2]string{k, v})
	}
	if bodyFile != "" {
		if cmd.Flags().Changed("body") {
			return nil, usagef("--body and --body-file cannot both be given")
		}
		var b []byte
		var err error
		if bodyFile == "-" {
			b, err = io.ReadAll(cmd.InOrStdin())
		} else {
			b, err = os.ReadFile(bodyFile)
		}
		if err != nil {
			return nil, err
		}
		req.Body = string(b)
	}
	return req, nil
}

// printDryRun writes a dry run for people.
func (c *client) printDryRun(r *api.DryRun) {
	c.printChecks(r.Verify)
	if r.Handler == "" {
		fmt.Fprintln(c.out, "handler: none")
	} else {
		job := ""
		if r.Job {
			job = " (a job)"
		}
		fmt.Fprintf(c.out, "handler: %s runs %s%s\n", r.Handler, r.Automation, job)
	}
	if len(r.Inputs) > 0 && string(r.Inputs) != "null" {
		fmt.Fprintf(c.out, "inputs: %s\n", r.Inputs)
	}
	if len(r.Secrets) > 0 {
		fmt.Fprintf(c.out, "secrets read: %s\n", strings.Join(r.Secrets, ", "))
	}
	for _, se := range r.SideEffects {
		what := "not run"
		switch {
		case !se.Simulated:
			what = "refused by the policy"
		case se.OnSimulate:
			what = "not run; on_simulate: ran instead"
		}
		fmt.Fprintf(c.out, "side effect: %s (%s) %s\n", se.Command, se.Node, what)
	}
	for _, l := range r.Log {
		fmt.Fprintf(c.out, "log %d %s %s\n", l.Level, orDash(l.Node), l.Message)
	}
	switch {
	case r.Problem != nil:
		fmt.Fprintf(c.out, "answered %d %s\n", r.Problem.Status, r.Problem.Error())
	case r.Response != nil:
		c.printResponse(r.Response)
	}
	c.printNotes(r.Notes)
}

// ---- verify lab ----

func newVerifyLabCmd(cl *clientFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify-lab WEBHOOK_ID",
		Short: "Print, for each verify block of a webhook, a curl command whose request passes it",
		Long: `Print, for each verify block of a webhook, a request that passes it now,
signed on the server with the block's current secret, as a curl command to
${WEBHOOK_URL} (the webhook's URL, which holds its token: set it yourself).
No secret, token or password is printed: where a scheme sends the
credential itself, the command holds a placeholder such as
<the token in secret deploy_token>. Timestamps are fresh: run the command
within the block's window.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl.client(cmd)
			if err != nil {
				return err
			}
			var lab api.VerifyLab
			if printed, err := c.call("GET", "/api/v1/webhooks/"+url.PathEscape(args[0])+"/verify-lab", nil, &lab); printed || err != nil {
				return err
			}
			if len(lab.Blocks) == 0 {
				fmt.Fprintln(c.out, "the webhook has no verify blocks: any request passes")
			}
			for i, b := range lab.Blocks {
				if i > 0 {
					fmt.Fprintln(c.out)
				}
				fmt.Fprintf(c.out, "# %s (%s)\n", b.Block, b.Type)
				if b.Error != "" {
					fmt.Fprintf(c.out, "# no sample: %s\n", b.Error)
				}
				if len(b.Allowed) > 0 {
					fmt.Fprintf(c.out, "# allowed: %s\n", strings.Join(b.Allowed, ", "))
				}
				if b.Notes != "" {
					fmt.Fprintf(c.out, "# %s\n", b.Notes)
				}
				if b.Sample != nil {
					fmt.Fprintln(c.out, b.Sample.Curl)
				}
			}
			return nil
		},
	}
	cl.register(cmd)
	return cmd
}
