package automations_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/internal/golden"
	"github.com/hookhost/hookhost/templates"
)

// FuzzEventKATA parses arbitrary event KATA as saving a webhook does
// (ParseEvent; the admin API adds verify.Compile and the automation
// look-ups) and selects a handler for a request carrying the fuzzed header
// and parameter values. Neither may panic; a refusal is Diagnostics whose
// every entry has a message and a line:col inside the source, in order; a
// selected handler names one of the event's automations. Seeds: the
// testdata/events cases plus testdata/fuzz/FuzzEventKATA.
func FuzzEventKATA(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "events", "*.txtar"))
	require.NoError(f, err)
	for _, file := range files {
		g, err := golden.Read(file)
		require.NoError(f, err)
		if _, ok := g.Section("event"); ok {
			f.Add(g.Text("event"), "yes", "Joe")
		}
	}
	env := templates.New()
	f.Fuzz(func(t *testing.T, src, header, param string) {
		ev, err := automations.ParseEvent(src, env)
		if err != nil {
			require.Nil(t, ev)
			var ds automations.Diagnostics
			require.True(t, errors.As(err, &ds), "error is %T: %v", err, err)
			require.NotEmpty(t, ds)
			lines := strings.Split(strings.ReplaceAll(src, "\r", ""), "\n")
			for i, d := range ds {
				require.NotEmpty(t, d.Msg, "%v", d)
				require.True(t, d.Pos.Line >= 1 && d.Pos.Line <= len(lines), "line of %v (%d lines)", d, len(lines))
				require.True(t, d.Pos.Col >= 1 && d.Pos.Col <= len(lines[d.Pos.Line-1])+1, "column of %v", d)
				if i > 0 {
					p := ds[i-1].Pos
					require.True(t, p.Line < d.Pos.Line || p.Line == d.Pos.Line && p.Col <= d.Pos.Col, "not in order: %v", ds)
				}
			}
			return
		}
		require.NotNil(t, ev)
		names := ev.Automations()
		if l := ev.Limits; l != nil {
			require.True(t, l.Rate >= 0 && l.Burst >= 0 && l.Concurrency >= 0 && l.BodyBytes >= 0, "%+v", *l)
		}
		req := automations.HTTPRequest{
			Method:   "POST",
			Path:     "a/b",
			Headers:  [][2]string{{"X-Skip", header}, {"Content-Type", "text/plain"}},
			Query:    [][2]string{{"name", param}, {"other", param}},
			Body:     []byte(param),
			ClientIP: "127.0.0.1",
		}
		h, err := ev.Select(automations.WebhookInputs(req, automations.WebhookInfo{ID: "w", Name: "fuzz", EventKATA: src}))
		if err != nil {
			// A template that fails when rendered makes Select fail (event
			// KATA is strict); the message names the handler.
			require.Nil(t, h)
			require.Contains(t, err.Error(), "event ")
			return
		}
		if h != nil {
			require.True(t, slices.Contains(names, h.Automation), "%q not in %q", h.Automation, names)
			require.NotZero(t, h.Pos.Line)
		}
	})
}
