package automations_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates"
	"github.com/hookhost/hookhost/templates/dict"
)

// guideScript returns the Cerb guide's webhook example, the script bench/
// measures, from the repository's shared testdata
// (testdata/kata/cerb-guide-webhook-example.kata).
func guideScript(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("../testdata/kata/cerb-guide-webhook-example.kata")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// guideRequest is a realistic request: ten headers and two parameters.
func guideRequest() automations.HTTPRequest {
	return automations.HTTPRequest{
		Method: "POST",
		Path:   "orders/new",
		Headers: [][2]string{
			{"Host", "hooks.example.com"},
			{"User-Agent", "curl/8.5.0"},
			{"Accept", "*/*"},
			{"Accept-Encoding", "gzip, deflate"},
			{"Content-Type", "application/x-www-form-urlencoded"},
			{"Content-Length", "9"},
			{"X-Customheader", "true"},
			{"X-Request-Id", "4f1c2a9e-1b7d-4c55-9f3e-0c8e2a7d1f20"},
			{"X-Forwarded-For", "203.0.113.9"},
			{"Connection", "keep-alive"},
		},
		Query:    [][2]string{{"key", "value"}},
		Form:     [][2]string{{"name", "Kina"}},
		Body:     []byte("name=Kina"),
		ClientIP: "203.0.113.9",
	}
}

func guideProgram(tb testing.TB) *automations.Program {
	tb.Helper()
	p, err := automations.Compile(automations.Source{Name: "example.webhook.respond", Trigger: automations.TriggerWebhookRespond,
		Script: guideScript(tb), Policy: "commands:\n  "}, automations.Options{Templates: templates.New()})
	require.NoError(tb, err)
	return p
}

func BenchmarkCompileGuideExample(b *testing.B) {
	env := templates.New()
	src := automations.Source{Name: "example.webhook.respond", Trigger: automations.TriggerWebhookRespond, Script: guideScript(b), Policy: "commands:\n  "}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := automations.Compile(src, automations.Options{Templates: env}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRunGuideExample(b *testing.B) {
	p := guideProgram(b)
	benchRun(b, p, automations.WebhookInputs(guideRequest(), automations.WebhookInfo{ID: "1", Name: "Webhook Example", UpdatedAt: time.Unix(1735689600, 0)}))
}

// benchRun runs p on inputs over and over, each run ending in return.
func benchRun(b *testing.B, p *automations.Program, inputs *dict.Map) {
	ctx := context.Background()
	rt := automations.Runtime{}
	b.ReportAllocs()
	for b.Loop() {
		res := p.Run(ctx, inputs, rt)
		if res.Exit != automations.ExitReturn {
			b.Fatal(res.Error)
		}
	}
}

func BenchmarkWebhookRoundTrip(b *testing.B) {
	p := guideProgram(b)
	req := guideRequest()
	info := automations.WebhookInfo{ID: "1", Name: "Webhook Example", UpdatedAt: time.Unix(1735689600, 0)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp := automations.WebhookResponse(p.Run(ctx, automations.WebhookInputs(req, info), automations.Runtime{}))
		if resp.Status != 200 {
			b.Fatal(resp.Status)
		}
	}
}

func BenchmarkWebhookInputs(b *testing.B) {
	req := guideRequest()
	info := automations.WebhookInfo{ID: "1", Name: "Webhook Example", UpdatedAt: time.Unix(1735689600, 0)}
	b.ReportAllocs()
	for b.Loop() {
		if m := automations.WebhookInputs(req, info); m.Len() == 0 {
			b.Fatal("empty")
		}
	}
}

// writesScript writes the run's dictionary through every entry point the
// run-memory budget accounts: set:, var.set (top level and deep),
// var.push, var.unset, a repeat's item, and command outputs.
const writesScript = `start:
  set:
    order:
      id: 42
      lines@csv: a,b,c
    total@int: 0
  repeat:
    each@csv: a,b,c,d,e,f,g,h,i,j
    as: item
    do:
      var.set:
        inputs:
          key: order:last
          value: {{ item }}
        output: last
      var.push:
        inputs:
          key: seen
          value: {{ item }}
      set:
        total: {{ total + 1 }}
  var.unset:
    inputs:
      key: order:lines
  return:
    total@key: total
    seen@key: seen
`

func BenchmarkRunWrites(b *testing.B) {
	p, err := automations.Compile(automations.Source{Name: "bench.writes", Trigger: automations.TriggerWebhookRespond, Script: writesScript},
		automations.Options{Templates: templates.New()})
	require.NoError(b, err)
	benchRun(b, p, automations.WebhookInputs(guideRequest(), automations.WebhookInfo{ID: "1", Name: "Writes", UpdatedAt: time.Unix(1735689600, 0)}))
}
