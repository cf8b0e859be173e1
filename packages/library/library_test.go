package library_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/packages"
	"github.com/hookhost/hookhost/packages/library"
)

func TestList(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"deploy-example", "echo-json", "webhook-example"}, library.List())
}

func TestGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wantErr bool
	}{
		{name: "webhook-example"},
		{name: "echo-json"},
		{name: "deploy-example"},
		{name: "nope", wantErr: true},
		{name: "", wantErr: true},
		{name: "../library/echo-json", wantErr: true},
		{name: "echo-json.json", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := library.Get(tt.name)
			if tt.wantErr {
				require.ErrorIs(t, err, library.ErrNotFound)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, b)
		})
	}
}

// TestWebhookExampleMatchesFixture keeps the library copy of the Cerb
// guide's package identical to the one in testdata.
func TestWebhookExampleMatchesFixture(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("../../testdata/packages/webhook-example.json")
	require.NoError(t, err)
	got, err := library.Get("webhook-example")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

// TestImportAll imports every built-in package without answers.
func TestImportAll(t *testing.T) {
	t.Parallel()
	for _, name := range library.List() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := library.Get(name)
			require.NoError(t, err)
			plan, err := packages.Import(raw, packages.Options{Version: "0.1.0"})
			require.NoError(t, err)
			require.NotEmpty(t, plan.Automations)
		})
	}
}

func TestEchoJSON(t *testing.T) {
	t.Parallel()
	raw, err := library.Get("echo-json")
	require.NoError(t, err)
	plan, err := packages.Import(raw, packages.Options{Prompts: map[string]any{"prefix": "acme"}})
	require.NoError(t, err)
	require.Len(t, plan.Automations, 1)
	require.Equal(t, "acme.echo.json", plan.Automations[0].Name)
	require.Contains(t, plan.Automations[0].Script, "body@text: {{echo|json_encode}}")
	require.Len(t, plan.Webhooks, 1)
	require.Equal(t, "automation/echo:\n  uri: cerb:automation:acme.echo.json\n", plan.Webhooks[0].EventKATA)
}

// TestDeployExample keeps the automation README.md's examples call: its
// name, its trigger and its declared inputs.
func TestDeployExample(t *testing.T) {
	t.Parallel()
	raw, err := library.Get("deploy-example")
	require.NoError(t, err)
	plan, err := packages.Import(raw, packages.Options{})
	require.NoError(t, err)
	require.Len(t, plan.Automations, 1)
	a := plan.Automations[0]
	require.Equal(t, "example.deploy", a.Name)
	require.Equal(t, "cerb.trigger.webhook.respond", a.ExtensionID)
	require.Contains(t, a.Script, "inputs:\n  text/environment:\n    default: staging\n  text/api_key:\n")
	require.Empty(t, plan.Webhooks)
}
