package host

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/runner"
)

// TestFunction_DepthLimit checks that a function calling itself ends the
// run in error naming the limit, instead of nesting until memory or time
// runs out.
func TestFunction_DepthLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const allowFunction = "commands:\n  function:\n    allow: yes\n"
	body, _ := json.Marshal(map[string]string{"name": "loop.fn", "extension_id": "cerb.trigger.automation.function",
		"script":      "start:\n  function:\n    uri: cerb:automation:loop.fn\n    output: r\n  return:\n    depth: deep\n",
		"policy_kata": allowFunction})
	r := b.admin(t, "POST", "/automations", "application/json", string(body))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	b.createAutomation(t, "loop.entry", "start:\n  function:\n    uri: cerb:automation:loop.fn\n    output: r\n  return:\n    body: never\n", allowFunction)
	id, tok := b.createWebhook(t, "w", eventFor("loop.entry"))
	r = b.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"debug":true}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	r = b.do(t, "POST", "/webhooks/"+tok, "", "")
	require.Equal(t, http.StatusInternalServerError, r.Status, "%s", r.Body)
	require.Contains(t, r.json(t)["detail"], fmt.Sprintf("nest deeper than %d", runner.MaxFunctionDepth), "the error names the limit")
}

// TestWebhook_InvalidStatusIsExplained checks that a literal invalid
// status_code is refused when saved, and that a templated one that renders
// invalid answers 500 with the reason in the run record.
func TestWebhook_InvalidStatusIsExplained(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body, _ := json.Marshal(map[string]string{"name": "bad", "extension_id": "cerb.trigger.webhook.respond",
		"script": "start:\n  return:\n    status_code: abc\n"})
	r := b.admin(t, "POST", "/automations", "application/json", string(body))
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "status_code")

	b.createAutomation(t, "templated", "start:\n  return:\n    status_code: {{request_params.code}}\n    body: x\n", "")
	whID, tok := b.createWebhook(t, "w", eventFor("templated"))
	r = b.do(t, "GET", "/webhooks/"+tok+"?code=999", "", "")
	require.Equal(t, http.StatusInternalServerError, r.Status)
	b.srv.dispatch.FlushRuns()
	r = b.admin(t, "GET", "/runs?webhook="+whID, "", "")
	runs := r.json(t)["runs"].([]any)
	require.Len(t, runs, 1)
	r = b.admin(t, "GET", "/runs/"+runs[0].(map[string]any)["id"].(string), "", "")
	require.Contains(t, string(r.Body), `invalid status_code \"999\"; answered 500`)
}
