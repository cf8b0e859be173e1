package host

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
)

// TestConsoleAPI_ValidateEventKATA checks POST /webhooks/validate, which the
// console calls as event KATA is typed: the problems saving would give,
// with their positions, and nothing saved.
func TestConsoleAPI_ValidateEventKATA(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "example.echo", "start:\n  return:\n    body: hi\n", "")
	tests := []struct {
		name       string
		kata       string
		wantStatus int
		wantItems  []api.ProblemItem
	}{
		{"Valid", eventFor("example.echo"), http.StatusOK, nil},
		{"UnknownVerifyType", "verify/x:\n  type: githib\n  secret: abcd\n" + eventFor("example.echo"), http.StatusBadRequest,
			[]api.ProblemItem{{Field: "event_kata", Line: 2, Column: 9}}},
		{"SecretNotSet", "verify/gh:\n  type: github\n  secret: {{secrets.nope}}\n" + eventFor("example.echo"), http.StatusBadRequest,
			[]api.ProblemItem{{Field: "event_kata", Line: 1, Column: 1}}},
		{"UnknownAutomation", eventFor("example.nope"), http.StatusBadRequest, []api.ProblemItem{{Field: "event_kata"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, _ := json.Marshal(api.EventKATACheck{EventKATA: tt.kata})
			r := b.admin(t, http.MethodPost, "/webhooks/validate", "application/json", string(body))
			require.Equal(t, tt.wantStatus, r.Status, "%s", r.Body)
			if tt.wantStatus == http.StatusOK {
				require.JSONEq(t, `{"valid":true}`, string(r.Body))
				return
			}
			var p api.Problem
			require.NoError(t, json.Unmarshal(r.Body, &p))
			require.Len(t, p.Errors, len(tt.wantItems), "%s", r.Body)
			for i, want := range tt.wantItems {
				got := p.Errors[i]
				require.NotEmpty(t, got.Message)
				got.Message = ""
				require.Equal(t, want, got)
			}
		})
	}
	t.Run("NothingIsSaved", func(t *testing.T) {
		t.Parallel()
		r := b.admin(t, http.MethodGet, "/webhooks", "", "")
		require.Equal(t, http.StatusOK, r.Status)
		require.JSONEq(t, `{"webhooks":[]}`, string(r.Body))
	})
	t.Run("BadBody", func(t *testing.T) {
		t.Parallel()
		r := b.admin(t, http.MethodPost, "/webhooks/validate", "application/json", `{"kata": "x"}`)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	})
	t.Run("NeedsTheAdminToken", func(t *testing.T) {
		t.Parallel()
		r := b.do(t, http.MethodPost, "/api/v1/webhooks/validate", "application/json", `{"event_kata": ""}`)
		require.Equal(t, http.StatusUnauthorized, r.Status)
	})
}

// TestConsoleAPI_SecretUsage checks GET /secrets/usage: each secret with
// the webhooks (verify blocks marked) and automations that refer to it,
// names referred to but not set, and never a value.
func TestConsoleAPI_SecretUsage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const value = "gh-secret-value-123"
	for name, v := range map[string]string{"gh_hook": value, "api_key": "api-key-value-456", "unused": "unused-value-789"} {
		r := b.admin(t, http.MethodPut, "/secrets/"+name, "text/plain", v)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	}
	b.createAutomation(t, "example.deploy", "inputs:\n  text/key:\nstart:\n  return:\n    body: {{secrets.api_key}} {{secrets['missing']}}\n", "")
	ghID, _ := b.createWebhook(t, "GitHub", "verify/gh:\n  type: github\n  secret: {{secrets.gh_hook}}\n"+
		"automation/main:\n  uri: cerb:automation:example.deploy\n  inputs:\n    key: {{secrets.api_key}}\n")
	r := b.admin(t, http.MethodGet, "/secrets/usage", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NotContains(t, string(r.Body), value)
	var got api.SecretUsageList
	require.NoError(t, json.Unmarshal(r.Body, &got))
	want := api.SecretUsageList{Secrets: []api.SecretUsage{
		{Name: "api_key", Set: true, Webhooks: []api.SecretWebhookUse{{ID: ghID, Name: "GitHub"}}, WebhookCount: 1, Automations: []string{"example.deploy"}},
		{Name: "gh_hook", Set: true, Webhooks: []api.SecretWebhookUse{{ID: ghID, Name: "GitHub", Verify: true}}, WebhookCount: 1, Automations: []string{}},
		{Name: "missing", Webhooks: []api.SecretWebhookUse{}, Automations: []string{"example.deploy"}},
		{Name: "unused", Set: true, Webhooks: []api.SecretWebhookUse{}, Automations: []string{}},
	}}
	require.Equal(t, want, got)
	require.False(t, strings.Contains(string(r.Body), "null"), "lists are never null: %s", r.Body)
}

// TestConsoleAPI_SecretUsageIsBounded checks that a secret many webhooks
// share is shown as its first webhooks and a count.
func TestConsoleAPI_SecretUsageIsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "example.deploy", "start:\n  return:\n    body: ok\n", "")
	r := b.admin(t, http.MethodPut, "/secrets/shared", "text/plain", "shared-secret-value-123")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var first []string
	for i := range api.SecretUsageWebhooks + 3 {
		id, _ := b.createWebhook(t, fmt.Sprintf("hook-%02d", i), "verify/gh:\n  type: github\n  secret: {{secrets.shared}}\n"+
			"automation/main:\n  uri: cerb:automation:example.deploy\n")
		if i < api.SecretUsageWebhooks {
			first = append(first, id)
		}
	}
	r = b.admin(t, http.MethodGet, "/secrets/usage", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var got api.SecretUsageList
	require.NoError(t, json.Unmarshal(r.Body, &got))
	require.Len(t, got.Secrets, 1)
	u := got.Secrets[0]
	require.Equal(t, api.SecretUsageWebhooks+3, u.WebhookCount)
	var listed []string
	for _, w := range u.Webhooks {
		listed = append(listed, w.ID)
		require.True(t, w.Verify, "a listed webhook says that its verify block uses the secret")
	}
	require.Equal(t, first, listed, "the first webhooks, in creation order")
}

// TestConsoleAPI_ServesTheConsole checks that the console is where the
// admin API is, with its security headers.
func TestConsoleAPI_ServesTheConsole(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do(t, http.MethodGet, "/console/", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	require.Contains(t, r.Header.Get("Content-Security-Policy"), "script-src 'self'")
	require.Equal(t, "DENY", r.Header.Get("X-Frame-Options"))
	r = b.do(t, http.MethodGet, "/console", "", "")
	require.Equal(t, http.StatusPermanentRedirect, r.Status)
	r = b.do(t, http.MethodGet, "/console/js/main.js", "", "")
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "text/javascript; charset=utf-8", r.Header.Get("Content-Type"))
	r = b.do(t, http.MethodGet, "/console/nope.js", "", "")
	require.Equal(t, http.StatusNotFound, r.Status)
}
