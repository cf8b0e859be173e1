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

// MetricsSummary is GET /api/v1/metrics/summary: this server's webhook
// traffic added up over every webhook since it started, and the job
// counts; what the console's System page charts, in a few hundred bytes
// where a /metrics scrape names every webhook.
type MetricsSummary struct {
	// Requests counts answered webhook requests by status class ("2xx";
	// "other").
	Requests map[string]uint64 `json:"requests"`
	// DurationBounds are the request duration buckets' upper bounds in
	// seconds; DurationCumulative has a count per bound and a last one
	// for +Inf (every request), as Prometheus's histogram buckets.
	DurationBounds     []float64 `json:"duration_bounds"`
	DurationCumulative []uint64  `json:"duration_cumulative"`
	// Jobs counts the durable jobs by state (absent without a job queue).
	Jobs map[string]int `json:"jobs,omitempty"`
}
