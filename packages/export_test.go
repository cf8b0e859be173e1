package packages

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEscapeMarkup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"NoMarkup", "start:\n  return:\n    body: {{ x }} {% if y %}", "start:\n  return:\n    body: {{ x }} {% if y %}"},
		{"Placeholder", "a {{{b}}} c", "a {{{'{{{'}}}b}}} c"},
		{"Tag", "{{% if %}}", "{{{'{{%'}}} if %}}"},
		{"Comment", "{{# x #}}", "{{{'{{#'}}} x #}}"},
		{"FourBraces", "{{{{", "{{{'{{{'}}}{"},
		{"BraceBeforeTag", "{{{%", "{{{'{{{'}}}%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, EscapeMarkup(tt.in))
			got, err := testRenderer(t).render(EscapeMarkup(tt.in))
			require.NoError(t, err)
			require.Equal(t, tt.in, got, "the renderer gives the text back")
		})
	}
}

// TestExport_RoundTrip exports records holding every kind of text an
// import could mistake for package markup and imports them back: the
// records are the same.
func TestExport_RoundTrip(t *testing.T) {
	t.Parallel()
	tricky := []string{
		"",
		"start:\n  return:\n    body: {{ request_params.x }}\n",
		"a {{{ not a placeholder }}} b",
		"{{% if x %}}{{% endif %}} {{# c #}} {{{{ }}}} {{{%",
		"{{% verbatim %}}{{% endverbatim %}}",
		"}}} {{{'{{{'}}}",
		"unicode: é ✓ \u2028",
		"{{{",
	}
	for _, text := range tricky {
		t.Run(text, func(t *testing.T) {
			t.Parallel()
			e := Export{Name: "P " + text, Revision: 4,
				Automations: []Automation{{UID: "a1", Name: "x.y", ExtensionID: "cerb.trigger.webhook.respond",
					Description: text, Script: text, PolicyKATA: text}},
				Webhooks: []Webhook{{UID: "w1", Name: "hook " + text, EventKATA: text, Enabled: false}},
			}
			raw, err := e.JSON()
			require.NoError(t, err)
			plan, err := Import(raw, Options{})
			require.NoError(t, err, "%s", raw)
			require.Equal(t, e.Name, plan.Name)
			require.Equal(t, e.Revision, plan.Revision)
			require.Equal(t, e.Automations, plan.Automations)
			require.Len(t, plan.Webhooks, 1)
			got := plan.Webhooks[0]
			require.Equal(t, Webhook{UID: "w1", Name: "hook " + text, EventKATA: text, Enabled: false},
				Webhook{UID: got.UID, Name: got.Name, EventKATA: got.EventKATA, Enabled: got.Enabled})
		})
	}
}

func TestImport_KeepsWebhookIDs(t *testing.T) {
	t.Parallel()
	raw := onePackage(t, nil,
		map[string]any{"uid": "w1", "_context": "webhook_listener", "name": "one", "automations_kata": "# {{{uid.w1}}} {{{uid.w2}}}"},
		map[string]any{"uid": "w2", "_context": "webhook_listener", "name": "two", "automations_kata": ""})
	plan, err := Import(raw, Options{WebhookIDs: map[string]string{"w1": "kept-id"}})
	require.NoError(t, err)
	require.Equal(t, "kept-id", plan.Webhooks[0].ID)
	require.NotEqual(t, "kept-id", plan.Webhooks[1].ID)
	require.Equal(t, "# kept-id "+plan.Webhooks[1].ID, plan.Webhooks[0].EventKATA)
}

func TestHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		wantName  string
		wantRev   int
		wantOK    bool
	}{
		{"Package", `{"package":{"name":"p","revision":3},"records":[]}`, "p", 3, true},
		{"Wrapped", `{"package":{"package":{"name":"p","revision":"4"}},"prompts":{}}`, "p", 4, true},
		{"NoRevision", `{"package":{"name":"p"}}`, "p", 0, true},
		{"NotJSON", `{`, "", 0, false},
		{"NoHeader", `{"records":[]}`, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, rev, ok := Header([]byte(tt.raw))
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.wantName, name)
			require.Equal(t, tt.wantRev, rev)
		})
	}
}
