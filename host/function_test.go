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
