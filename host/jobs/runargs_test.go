package jobs

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRunArgsEncode: a run job's args are stored as encoding/json writes
// them, whether they are written directly or not.
func TestRunArgsEncode(t *testing.T) {
	t.Parallel()
	base := runArgs{JobID: "0193b3c1-6a4e-7c2d-9f3a-2b1c0d9e8f7a", WebhookID: "w1", Handler: "automation/job",
		Automation: "job", TimeoutMS: 30000}
	tests := []struct {
		name string
		edit func(*runArgs)
	}{
		{name: "Plain", edit: func(*runArgs) {}},
		{name: "Explicit", edit: func(a *runArgs) { a.Explicit = true }},
		{name: "Concurrency", edit: func(a *runArgs) { a.Concurrency = 4 }},
		{name: "NegativeNumbers", edit: func(a *runArgs) { a.Concurrency, a.TimeoutMS = -1, -5 }},
		{name: "CallbackURL", edit: func(a *runArgs) { a.CallbackURL = "http://127.0.0.1:9/cb?x=1" }},
		{name: "HTMLInURL", edit: func(a *runArgs) { a.CallbackURL = "http://127.0.0.1:9/cb?x=1&y=<2>" }},
		{name: "CredentialHeaders", edit: func(a *runArgs) { a.CredentialHeaders = []string{"X-Sig", "X-Token"} }},
		{name: "OddHeader", edit: func(a *runArgs) { a.CredentialHeaders = []string{"X-Sig", "X-\"q\"\\"} }},
		{name: "Unicode", edit: func(a *runArgs) { a.Automation = "jöb\u2028" }},
		{name: "ControlAndDEL", edit: func(a *runArgs) { a.Handler = "a\tb\x7f" }},
		{name: "InvalidUTF8", edit: func(a *runArgs) { a.WebhookID = "w\xff" }},
		{name: "Empty", edit: func(a *runArgs) { *a = runArgs{} }},
		{name: "Inputs", edit: func(a *runArgs) { a.Inputs = argBytes(`{"a":1}`) }},
		{name: "Everything", edit: func(a *runArgs) {
			a.Explicit, a.Concurrency, a.CallbackURL, a.CredentialHeaders = true, 2, "http://127.0.0.1/x", []string{"X-A"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := base
			tt.edit(&a)
			want, err := json.Marshal(a)
			require.NoError(t, err)
			got, err := a.encode()
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		})
	}
}

// BenchmarkRunArgsEncode measures a durable 202's args encoding.
func BenchmarkRunArgsEncode(b *testing.B) {
	a := runArgs{JobID: "0193b3c1-6a4e-7c2d-9f3a-2b1c0d9e8f7a", WebhookID: "0193b3c1-6a4e-7c2d-9f3a-2b1c0d9e8f7b",
		Handler: "automation/job", Automation: "job", Explicit: true, TimeoutMS: 30000}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, _ = json.Marshal(a)
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, _ = a.encode()
		}
	})
}
