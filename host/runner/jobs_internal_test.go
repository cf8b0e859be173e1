package runner

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/redact"
)

// TestRecordRedactor_RepeatedHeaders: a job's record redacts every
// credential a synchronous run's record redacts of the same request
// (redact.CallerCredentials of the headers as sent, one value a line),
// though the job knows them only from its inputs' request_headers, where
// the values of a repeated header are joined with ", "
// (automations.WebhookInputs).
func TestRecordRedactor_RepeatedHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sent  [][2]string // the header lines as sent
		extra []string    // the headers the webhook's verify blocks read
	}{
		{name: "RepeatedBearer", sent: [][2]string{{"Authorization", "Bearer first-tok-1"}, {"Authorization", "Bearer second-tok-2"}}},
		{name: "RepeatedBasic", sent: [][2]string{{"Authorization", "Basic dXNlcjpwNHNzLXdvcmQ="}, {"authorization", "Basic b3RoZXI6c2Vjb25kLXBhc3M="}}},
		{name: "RepeatedVerifyReadHeader", extra: []string{"X-Custom-Key"},
			sent: [][2]string{{"X-Custom-Key", "custom-value-1"}, {"Accept", "*/*"}, {"X-Custom-Key", "custom-value-2"}}},
		{name: "CommaInsideRepeatedValue",
			sent: [][2]string{{"X-Api-Key", "ab, key-part-two"}, {"X-Api-Key", "other-value-3"}}},
		{name: "ThreeValues", sent: [][2]string{{"X-Auth-Token", "token-one-1"}, {"X-Auth-Token", "token-two-2"}, {"X-Auth-Token", "token-three-3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inputs := automations.WebhookInputs(automations.HTTPRequest{Method: "POST", Headers: tt.sent}, automations.WebhookInfo{})
			red := recordRedactor(redact.New(), inputs, tt.extra)
			creds := redact.CallerCredentials(tt.sent, tt.extra...)
			require.NotEmpty(t, creds)
			for _, c := range creds {
				require.Equal(t, "echo "+redact.Marker, red("echo "+c), "the job's record of %q", c)
			}
			require.Equal(t, "*/* nothing here", red("*/* nothing here"))
		})
	}
}
