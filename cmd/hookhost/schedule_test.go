package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScheduleCmd runs the schedule commands in order against a server:
// each case sees the ones before.
func TestScheduleCmd(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	a, _ := json.Marshal(map[string]string{"name": "report", "extension_id": "cerb.trigger.webhook.respond",
		"script": "inputs:\n  text/env:\nstart:\n  return:\n    body: {{inputs.env}}\n"})
	s.admin(t, "POST", "/automations", "application/json", string(a))

	const when = `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z+-][A-Za-z0-9+-]*`
	tests := []struct {
		name string
		args []string
		code int
		out  string // a regexp the output matches
		err  string // part of stderr
	}{
		{name: "Create", args: []string{"schedule", "create", "nightly", "--cron", "0 2 * * *", "--time-zone", "Europe/Paris",
			"--automation", "report", "--input", "env=prod", "--max-attempts", "3"},
			out: `^created schedule nightly\nnext run: \d{4}-\d\d-\d\d 02:00:00 CES?T\n$`},
		{name: "CreateRefused", args: []string{"schedule", "create", "bad", "--cron", "@every 1ms", "--automation", "nope"},
			code: exitFailure, err: "cron: @every must be at least 1s"},
		{name: "CreateNeedsCron", args: []string{"schedule", "create", "x", "--automation", "report"}, code: exitUsage, err: `"cron" not set`},
		{name: "List", args: []string{"schedule", "list"},
			out: `^NAME\s+CRON\s+TIME ZONE\s+AUTOMATION\s+ENABLED\s+NEXT RUN\s+LAST JOB\nnightly\s+0 2 \* \* \*\s+Europe/Paris\s+report\s+true\s+` + when + `\s+-\n$`},
		{name: "Show", args: []string{"schedule", "show", "nightly"},
			out: `(?s)^name:\s+nightly\n.*inputs:\s+\{"env":"prod"\}\njob:\s+\{"max_attempts":3\}\n.*missed runs:\s+skip \(0 so far\)\n.*next runs:\n(  \d{4}-\d\d-\d\d 02:00:00 CES?T\n){5}$`},
		{name: "UpdateCron", args: []string{"schedule", "update", "nightly", "--cron", "30 1 * * *", "--missed", "run_once"},
			out: `^schedule nightly updated\nnext run: \d{4}-\d\d-\d\d 01:30:00 CES?T\n$`},
		{name: "UpdateNothing", args: []string{"schedule", "update", "nightly"}, code: exitUsage, err: "nothing to change"},
		{name: "Pause", args: []string{"schedule", "pause", "nightly"}, out: `^schedule nightly paused; next run: -\n$`},
		{name: "Resume", args: []string{"schedule", "resume", "nightly"}, out: `^schedule nightly resumed; next run: ` + when + `\n$`},
		{name: "Jobs", args: []string{"schedule", "jobs", "nightly"}, out: `^ID\s+STATE\s+CREATED\s+FINISHED\s+ATTEMPTS\s+ERROR\n$`},
		{name: "Delete", args: []string{"schedule", "delete", "nightly"}, out: `^schedule nightly deleted\n$`},
		{name: "ShowDeleted", args: []string{"schedule", "show", "nightly"}, code: exitNotFound, err: `404 Not Found: no schedule "nightly"`},
	}
	for _, tt := range tests {
		r := s.cli("", tt.args...)
		require.Equal(t, tt.code, r.code, "%s: %s", tt.name, r.err)
		if tt.err != "" {
			require.Contains(t, r.err, tt.err, tt.name)
			continue
		}
		require.Regexp(t, regexp.MustCompile(tt.out), r.out, tt.name)
	}
}

// TestSubscriptionCmd subscribes, lists, shows and unsubscribes a URL
// (no event happens, so nothing is sent).
func TestSubscriptionCmd(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.cli("", "subscription", "create", "--url", "https://hooks.example.com/hookhost", "--event", "job.failed,job.stopped")
	require.Equal(t, exitOK, r.code, r.err)
	m := regexp.MustCompile(`^created subscription (\S+)\nsigning secret: whsec_\S+\n$`).FindStringSubmatch(r.out)
	require.NotNil(t, m, r.out)
	id := m[1]

	r = s.cli("", "subscription", "list")
	require.Equal(t, exitOK, r.code, r.err)
	require.Regexp(t, `(?m)^`+id+`\s+https://hooks.example.com/hookhost\s+job.failed,job.stopped\s+-\s+`, r.out)
	require.NotContains(t, r.out, "whsec_")
	r = s.cli("", "subscription", "show", id)
	require.Equal(t, exitOK, r.code, r.err)
	require.Contains(t, r.out, `"secret": "whsec_`)
	r = s.cli("", "subscription", "deliveries", id)
	require.Equal(t, exitOK, r.code, r.err)
	require.Equal(t, "ID  EVENT  STATE  ATTEMPTS  STATUS  UPDATED  ERROR\n", r.out)

	r = s.cli("", "subscription", "create", "--url", "http://127.0.0.1:9/x", "--event", "job.failed")
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.err, "url: deliveries to this url would be refused: 127.0.0.1 is a loopback address")

	r = s.cli("", "subscription", "delete", id)
	require.Equal(t, exitOK, r.code, r.err)
	require.Equal(t, "subscription "+id+" deleted\n", r.out)
	r = s.cli("", "subscription", "delete", id)
	require.Equal(t, exitNotFound, r.code)
	require.True(t, strings.Contains(r.err, "404 Not Found"), r.err)
}
