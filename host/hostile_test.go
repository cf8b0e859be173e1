package host

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHostile_TemplatesAreBounded checks that templates the server renders
// itself (event KATA rules, package placeholders) and those automations
// render fail that request alone, with the limit named, and that the server
// answers the next request.
func TestHostile_TemplatesAreBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, okTok := b.createWebhook(t, "ok", eventFor("ok"))

	t.Run("EventRule", func(t *testing.T) {
		id, tok := b.createWebhook(t, "rule", "automation/main:\n  uri: cerb:automation:ok\n  disabled@bool: {{ [1]|batch(50000000,'x')|length > 5 }}\n")
		r := b.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"debug":true}`)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r = b.do(t, "POST", "/webhooks/"+tok, "", "")
		require.Equal(t, http.StatusInternalServerError, r.Status, "%s", r.Body)
		require.Contains(t, r.json(t)["detail"], "limit exceeded")
	})
	t.Run("Script", func(t *testing.T) {
		b.createAutomation(t, "greedy", "start:\n  set:\n    x: {{ 'ab'|repeat(100000)|repeat(100000) }}\n  return:\n    body: done\n", "")
		id, tok := b.createWebhook(t, "greedy", eventFor("greedy"))
		r := b.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"debug":true}`)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r = b.do(t, "POST", "/webhooks/"+tok, "", "")
		require.Equal(t, http.StatusInternalServerError, r.Status, "a limit ends the run in error: %s", r.Body)
		require.Contains(t, r.json(t)["detail"], "limit exceeded")
	})
	t.Run("PackagePlaceholder", func(t *testing.T) {
		doubling := `{{% set s = 'x' %}}{{% for i in 1..64 %}}{{% set s = s ~ s %}}{{% endfor %}}{{{ s|length }}}`
		pkg := map[string]any{
			"package": map[string]any{"name": "greedy", "revision": 1, "requires": map[string]any{}, "library": map[string]any{"name": "greedy"}},
			"records": []any{map[string]any{"uid": "a", "_context": "automation", "name": "greedy.pkg",
				"extension_id": "cerb.trigger.webhook.respond",
				"script":       "start:\n  return:\n    body: " + doubling + "\n"}},
		}
		raw, _ := json.Marshal(pkg)
		r := b.admin(t, "POST", "/packages/import", "application/json", string(raw))
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		require.Contains(t, string(r.Body), "limit exceeded")
	})
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/webhooks/"+okTok, "", "").Status, "the server still answers")
}
