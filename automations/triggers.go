package automations

import "strings"

// Trigger ids hookhost runs. A trigger has a canonical id and a stem (the
// id without Cerb's "cerb.trigger." namespace); both spellings are accepted
// wherever a trigger id is read.
const (
	TriggerWebhookRespond         = "cerb.trigger.webhook.respond"
	TriggerWebhookRespondStem     = "webhook.respond"
	TriggerAutomationFunction     = "cerb.trigger.automation.function"
	TriggerAutomationFunctionStem = "automation.function"
)

// triggerPrefix is the namespace of Cerb's trigger ids.
const triggerPrefix = "cerb.trigger."

// TriggerKind is what automations of a trigger are for.
type TriggerKind string

// Trigger kinds.
const (
	// TriggerKindWebhook automations answer webhook requests: their
	// dictionary is the request (WebhookInputs) and their return is the
	// response (WebhookResponse); an await: is answered like a return:.
	TriggerKindWebhook TriggerKind = "webhook"
	// TriggerKindFunction automations are called by the function: command
	// of other automations, with their inputs under `inputs`.
	TriggerKindFunction TriggerKind = "function"
)

// TriggerInfo describes one trigger hookhost runs.
type TriggerInfo struct {
	ID      string // canonical id, "cerb.trigger.webhook.respond"
	Stem    string // the id without "cerb.trigger.", "webhook.respond"
	Kind    TriggerKind
	Summary string
}

// triggerTable is every trigger hookhost runs. It is never modified.
var triggerTable = [...]TriggerInfo{
	{
		ID: TriggerWebhookRespond, Stem: TriggerWebhookRespondStem, Kind: TriggerKindWebhook,
		Summary: "Answers a webhook request: the dictionary holds the request keys (`request_*`, `webhook_*`) and `return:` gives `status_code`, `headers` and `body`.",
	},
	{
		ID: TriggerAutomationFunction, Stem: TriggerAutomationFunctionStem, Kind: TriggerKindFunction,
		Summary: "A function other automations call with `function:`; its `inputs:` declarations receive the caller's inputs and its return dictionary is the caller's output.",
	},
}

// Trigger returns the trigger whose canonical id or stem is id; ok is false
// for a trigger hookhost does not run.
func Trigger(id string) (t TriggerInfo, ok bool) {
	for _, t := range triggerTable {
		if id == t.ID || id == t.Stem {
			return t, true
		}
	}
	return TriggerInfo{}, false
}

// KnownTriggers lists the triggers hookhost runs, webhook.respond first.
// The result is a copy.
func KnownTriggers() []TriggerInfo {
	return append([]TriggerInfo(nil), triggerTable[:]...)
}

// IsWebhookTrigger reports whether id names a trigger of kind
// TriggerKindWebhook (either spelling).
func IsWebhookTrigger(id string) bool {
	t, ok := Trigger(id)
	return ok && t.Kind == TriggerKindWebhook
}

// IsFunctionTrigger reports whether id names a trigger of kind
// TriggerKindFunction (either spelling).
func IsFunctionTrigger(id string) bool {
	t, ok := Trigger(id)
	return ok && t.Kind == TriggerKindFunction
}

// TriggerStem folds the two spellings of any trigger id, known or not, into
// one: it removes the "cerb.trigger." namespace ("cerb.trigger.x.y" and
// "x.y" both give "x.y"). Extensions may declare triggers hookhost does not
// know; this is their lookup key.
func TriggerStem(id string) string { return strings.TrimPrefix(id, triggerPrefix) }
