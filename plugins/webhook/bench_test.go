package webhook

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/templates/dict"
)

// benchScript returns the Cerb guide's webhook example, the script bench/
// measures, from the repository's shared testdata
// (testdata/kata/cerb-guide-webhook-example.kata).
func benchScript(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("../../testdata/kata/cerb-guide-webhook-example.kata")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// benchInputs is the guide's curl as bench/ sends it, as the server builds
// its dictionary.
func benchInputs() automations.HTTPRequest {
	return automations.HTTPRequest{
		Method: "POST",
		Path:   "",
		Headers: [][2]string{
			{"Host", "127.0.0.1:41235"},
			{"User-Agent", "Go-http-client/1.1"},
			{"Content-Length", "0"},
			{"X-Customheader", "true"},
			{"Accept-Encoding", "gzip"},
		},
		Query:    [][2]string{{"key", "value"}},
		ClientIP: "127.0.0.1",
	}
}

// go test ./plugins/webhook -run '^$' -bench . -benchmem
//
// BenchmarkRun_JSON is the extension's side of an out-of-process run: the
// inputs arrive as JSON, the return leaves as JSON.
func BenchmarkRun_JSON(b *testing.B) {
	x := newExtension(Options{})
	m := automations.WebhookInputs(benchInputs(), automations.WebhookInfo{ID: "0193", Name: "Webhook Example", UpdatedAt: time.Unix(1735689600, 0)})
	in, err := encode(m)
	if err != nil {
		b.Fatal(err)
	}
	iv := plugins.Invocation{RunID: "r", Automation: "example.webhook.respond", Revision: "1", Trigger: trigger, Script: benchScript(b), Inputs: in}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out, err := x.Run(ctx, iv, nil)
		if err != nil || out.Exit != plugins.ExitReturn {
			b.Fatal(err, out.Error)
		}
	}
}

// BenchmarkInputs_JSON is the inputs' decoding alone.
func BenchmarkInputs_JSON(b *testing.B) {
	x := newExtension(Options{})
	m := automations.WebhookInputs(benchInputs(), automations.WebhookInfo{ID: "0193", Name: "Webhook Example", UpdatedAt: time.Unix(1735689600, 0)})
	in, err := encode(m)
	if err != nil {
		b.Fatal(err)
	}
	iv := plugins.Invocation{Inputs: in}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := x.inputs(iv); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRun_Wire is BenchmarkRun_JSON with the inputs and the return in
// dict's wire form, as the server sends them.
func BenchmarkRun_Wire(b *testing.B) {
	x := newExtension(Options{})
	m := automations.WebhookInputs(benchInputs(), automations.WebhookInfo{ID: "0193", Name: "Webhook Example", UpdatedAt: time.Unix(1735689600, 0)})
	iv := plugins.Invocation{RunID: "r", Automation: "example.webhook.respond", Revision: "1", Trigger: trigger, Script: benchScript(b),
		Inputs: dict.AppendWire(nil, m, false), InputsFormat: dict.WireVersion}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out, err := x.Run(ctx, iv, nil)
		if err != nil || out.Exit != plugins.ExitReturn {
			b.Fatal(err, out.Error)
		}
	}
}
