package host

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAccessLog checks the request id (the caller's when sane, else a new
// one, echoed in the answer) and the access line: token redacted, webhook,
// run id, and the cause of a refusal.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	b := setup(t, captureLogs(&logs))
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	whID, tok := b.createWebhook(t, "w", "verify/key:\n  type: header\n  header: X-Key\n  token: right-key\n"+eventFor("ok"))

	r := b.do(t, "POST", "/webhooks/"+tok, "", "", "X-Request-Id", "caller-id.42", "X-Key", "right-key")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "caller-id.42", r.Header.Get("X-Request-Id"), "a sane caller id is kept")

	r = b.do(t, "POST", "/webhooks/"+tok, "", "", "X-Request-Id", "bad id\twith spaces", "X-Key", "wrong")
	require.Equal(t, http.StatusUnauthorized, r.Status)
	generated := r.Header.Get("X-Request-Id")
	require.NotEmpty(t, generated)
	require.NotEqual(t, "bad id\twith spaces", generated)

	// Fiber routes a path in any case to the webhook: its token is
	// redacted all the same, and the request counted.
	// (Not through b.do: openapi.json documents the lower-case path.)
	req := httptest.NewRequest("POST", "/WebHooks/"+tok, nil)
	req.Header.Set("X-Request-Id", "caller-id.upper")
	req.Header.Set("X-Key", "right-key")
	resp, err := b.srv.App().Test(req, 150_000) // an upper bound, not a timing assertion
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var ok, refused, upper string
	for _, line := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(line, "request_id=caller-id.42"):
			ok = line
		case strings.Contains(line, "request_id="+generated):
			refused = line
		case strings.Contains(line, "request_id=caller-id.upper"):
			upper = line
		}
	}
	require.Contains(t, upper, "path=/WebHooks/[redacted]")
	require.Contains(t, upper, "webhook="+whID)
	metrics := b.do(t, "GET", "/metrics", "", "", "Authorization", "Bearer "+testAdminToken)
	require.Contains(t, string(metrics.Body), `hookhost_webhook_requests_total{code="2xx",webhook="`+whID+`"} 2`, "both 200s counted")
	require.Contains(t, ok, "msg=request")
	require.Contains(t, ok, "status=200")
	require.Contains(t, ok, "webhook="+whID)
	require.Contains(t, ok, "run_id=")
	require.Contains(t, ok, "path=/webhooks/[redacted]")
	require.NotContains(t, logs.String(), tok, "the token is never logged")
	require.Contains(t, refused, "status=401")
	require.Contains(t, refused, "cause=verify")
	require.Contains(t, refused, `reason="verify/key: token does not match"`)
	require.NotContains(t, logs.String(), "right-key")
}
