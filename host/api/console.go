package api

// EventKATACheck is the body of POST /webhooks/validate: event KATA to
// check as saving a webhook would, without saving anything.
type EventKATACheck struct {
	EventKATA string `json:"event_kata"`
}

// Valid is the answer of a validation that found no problem.
type Valid struct {
	Valid bool `json:"valid"`
}

// SecretUsageList is the answer of GET /secrets/usage: every stored secret,
// and every secret name that event KATA or a script refers to, with what
// refers to it.
type SecretUsageList struct {
	Secrets []SecretUsage `json:"secrets"`
}

// SecretUsage is one secret name and what refers to it.
type SecretUsage struct {
	Name string `json:"name"`
	// Set says whether a value is stored under the name.
	Set bool `json:"set"`
	// Webhooks are the first (in creation order) of the webhooks that
	// refer to it: at most SecretUsageWebhooks.
	Webhooks []SecretWebhookUse `json:"webhooks"`
	// WebhookCount is how many webhooks refer to it, all of them.
	WebhookCount int      `json:"webhook_count"`
	Automations  []string `json:"automations"`
}

// SecretUsageWebhooks is how many of the webhooks that refer to a secret
// GET /secrets/usage lists (a secret shared by 10,000 webhooks is shown as
// 20 and a count).
const SecretUsageWebhooks = 20

// SecretWebhookUse is a webhook whose event KATA refers to a secret.
type SecretWebhookUse struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Verify says whether a verify block uses it: deleting the secret is
	// then refused (409) unless forced.
	Verify bool `json:"verify"`
}
