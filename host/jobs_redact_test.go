package host

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/redact"
)

// TestJobs_RecordRedactsResponse: a job whose automation echoes a stored
// secret and the caller's Authorization into its response, output, log
// and error keeps them redacted in its record as stored (read from the
// job store, not through the API's view), while a caller waiting for the
// job gets the automation's answer unchanged.
func TestJobs_RecordRedactsResponse(t *testing.T) {
	t.Parallel()
	const (
		secret = "sup3r-s3cret-value"
		bearer = "caller-b3arer-token"
	)
	script := "start:\n" +
		"  log: key={{secrets.API_KEY}} auth={{request_headers.authorization}}\n" +
		"  return:\n" +
		"    status_code@int: 200\n" +
		"    headers:\n" +
		"      X-Echo: {{secrets.API_KEY}}\n" +
		"      Set-Cookie: session={{request_headers.authorization}}\n" +
		"    body: key={{secrets.API_KEY}} auth={{request_headers.authorization}}\n"
	tests := []struct {
		name string
		// job is the handler's job: block.
		job string
		// wantAnswer is the caller's answer (a 200 from a job that ended
		// within wait_ms), "" for a 202.
		wantAnswer string
	}{
		{"WaitingCallerGetsTheAnswerWhole", "    wait_ms@int: 10000\n", "key=" + secret + " auth=Bearer " + bearer},
		{"QueuedJob", "    max_attempts@int: 1\n", ""},
	}
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := setupJobs(t, be)
			r := b.admin(t, http.MethodPut, "/secrets/API_KEY", "text/plain", secret)
			require.Less(t, r.Status, 300, "%s", r.Body)
			b.createAutomation(t, "echo", script, "")
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					wid, tok := b.createWebhook(t, "echo-"+strings.ToLower(tt.name), "automation/echo:\n  uri: cerb:automation:echo\n  job:\n"+tt.job)
					r := b.do(t, http.MethodPost, "/webhooks/"+tok, "application/json", `{}`, "Authorization", "Bearer "+bearer)
					if tt.wantAnswer != "" {
						require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
						require.Equal(t, tt.wantAnswer, string(r.Body))
						require.Equal(t, secret, r.Header.Get("X-Echo"))
					} else {
						require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
					}
					list, _, lerr := b.srv.jobs.List(context.Background(), jobs.Filter{WebhookID: wid})
					require.NoError(t, lerr)
					require.Len(t, list, 1)
					id := list[0].ID
					b.waitState(t, id, jobs.StateCompleted)

					j, err := b.srv.jobs.Get(context.Background(), id)
					require.NoError(t, err)
					require.Equal(t, "key="+redact.Marker+" auth="+redact.Marker, string(j.Body))
					require.Equal(t, [][2]string{{"X-Echo", redact.Marker}, {"Set-Cookie", redact.Marker}}, j.Headers)
					for what, stored := range map[string]string{"output": string(j.Output), "log": logText(j.Log), "body": string(j.Body)} {
						require.NotContains(t, stored, secret, what)
						require.NotContains(t, stored, bearer, what)
					}
					require.Contains(t, logText(j.Log), "key="+redact.Marker)
				})
			}
		})
	}
}

func logText(l []jobs.LogEntry) string {
	var sb strings.Builder
	for _, e := range l {
		sb.WriteString(e.Message + "\n")
	}
	return sb.String()
}

// TestJobs_ShownInputsHideCredentialFields: a durable job's stored inputs
// (what its record and /webhook-jobs show) hide a credential field of a
// form or JSON body and of a nested query parameter, as a synchronous
// run's record does (review rev3: the job kept them), while the
// automation got the real value.
func TestJobs_ShownInputsHideCredentialFields(t *testing.T) {
	t.Parallel()
	const value = "hunter22hunter"
	tests := []struct{ name, query, contentType, body string }{
		{"FormBody", "", "application/x-www-form-urlencoded", "password=" + value + "&a=1"},
		{"JSONBody", "", "application/json", `{"user":{"password":"` + value + `"}}`},
		{"NestedQuery", "?a[api_token]=" + value, "application/json", `{}`},
	}
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := setupJobs(t, be)
			b.createAutomation(t, "seen", "start:\n  return:\n    body: {{request_body}} {{request_params|json_encode}}\n", "")
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					wid, tok := b.createWebhook(t, "seen-"+strings.ToLower(tt.name),
						"automation/seen:\n  uri: cerb:automation:seen\n  job:\n    wait_ms@int: 10000\n")
					r := b.do(t, http.MethodPost, "/webhooks/"+tok+tt.query, tt.contentType, tt.body)
					require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
					require.Contains(t, string(r.Body), value, "the automation got the real value")
					list, _, err := b.srv.jobs.List(context.Background(), jobs.Filter{WebhookID: wid})
					require.NoError(t, err)
					require.Len(t, list, 1)
					j, err := b.srv.jobs.Get(context.Background(), list[0].ID)
					require.NoError(t, err)
					require.NotContains(t, string(j.Inputs), value)
					require.Contains(t, string(j.Inputs), redact.Marker)
				})
			}
		})
	}
}
