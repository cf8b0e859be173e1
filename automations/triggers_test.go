package automations_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
)

func TestTrigger(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id       string
		ok       bool
		canon    string
		kind     automations.TriggerKind
		webhook  bool
		function bool
	}{
		{"cerb.trigger.webhook.respond", true, "cerb.trigger.webhook.respond", automations.TriggerKindWebhook, true, false},
		{"webhook.respond", true, "cerb.trigger.webhook.respond", automations.TriggerKindWebhook, true, false},
		{"cerb.trigger.automation.function", true, "cerb.trigger.automation.function", automations.TriggerKindFunction, false, true},
		{"automation.function", true, "cerb.trigger.automation.function", automations.TriggerKindFunction, false, true},
		{"cerb.trigger.interaction.website", false, "", "", false, false},
		{"Webhook.Respond", false, "", "", false, false},
		{"", false, "", "", false, false},
	} {
		t.Run("ID_"+tc.id, func(t *testing.T) {
			t.Parallel()
			got, ok := automations.Trigger(tc.id)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.canon, got.ID)
			require.Equal(t, tc.kind, got.Kind)
			require.Equal(t, tc.webhook, automations.IsWebhookTrigger(tc.id))
			require.Equal(t, tc.function, automations.IsFunctionTrigger(tc.id))
		})
	}
}

func TestKnownTriggers(t *testing.T) {
	t.Parallel()

	t.Run("WebhookFirstThenFunction", func(t *testing.T) {
		t.Parallel()
		known := automations.KnownTriggers()
		require.Len(t, known, 2)
		require.Equal(t, automations.TriggerWebhookRespond, known[0].ID)
		require.Equal(t, automations.TriggerAutomationFunction, known[1].ID)
	})

	t.Run("StemIsTheIDWithoutNamespace", func(t *testing.T) {
		t.Parallel()
		for _, tr := range automations.KnownTriggers() {
			require.Equal(t, tr.Stem, automations.TriggerStem(tr.ID))
			require.NotEmpty(t, tr.Summary)
			got, ok := automations.Trigger(tr.Stem)
			require.True(t, ok)
			require.Equal(t, tr, got)
		}
	})

	t.Run("ResultIsACopy", func(t *testing.T) {
		t.Parallel()
		known := automations.KnownTriggers()
		known[0].ID = "changed"
		require.Equal(t, automations.TriggerWebhookRespond, automations.KnownTriggers()[0].ID)
	})
}

func TestTriggerStem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ id, want string }{
		{"cerb.trigger.webhook.respond", "webhook.respond"},
		{"webhook.respond", "webhook.respond"},
		{"cerb.trigger.example.custom", "example.custom"},
		{"example.custom", "example.custom"},
	} {
		t.Run("ID_"+tc.id, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, automations.TriggerStem(tc.id))
		})
	}
}

// TestAwaitInEveryTrigger: every trigger may await; a webhook is answered
// from the await's output (Cerb's controller answers from __return).
func TestAwaitInEveryTrigger(t *testing.T) {
	t.Parallel()
	for _, trigger := range []string{"", automations.TriggerWebhookRespond, automations.TriggerWebhookRespondStem,
		automations.TriggerAutomationFunction, "cerb.trigger.interaction.worker"} {
		t.Run("Trigger_"+trigger, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, compileError(automations.Source{Trigger: trigger, Script: "start:\n  await:\n    a: b\n"}, automations.Options{}))
		})
	}
}
