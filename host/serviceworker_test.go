package host

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/dispatch"
)

// originScript answers an HTML page with headers that act on the whole
// origin, and a policy of its own.
const originScript = `start:
  return:
    status_code: 200
    headers:
      Content-Type: text/html
      Content-Security-Policy: default-src 'self'
      Service-Worker-Allowed: /
      Clear-Site-Data: "*"
    body: <p>thanks</p>
`

// appTest sends req to app and returns the answer, its body read.
func appTest(t *testing.T, app *fiber.App, req *http.Request) response {
	t.Helper()
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp.StatusCode, resp.Header, b}
}

// pageWebhook starts a server, with an admin listener of its own when
// adminListen, and saves a webhook answering originScript. It returns the
// app serving the admin API, the webhook's id and its token.
func pageWebhook(t *testing.T, adminListen bool) (b *testBundle, adminApp *fiber.App, id, token string) {
	t.Helper()
	b = setup(t, func(c *Config) {
		if adminListen {
			c.AdminListen = "127.0.0.1:0"
		}
	})
	adminApp = b.srv.App()
	if adminListen {
		adminApp = b.srv.AdminApp()
	}
	req := httptest.NewRequest("POST", "/api/v1/automations", strings.NewReader(`{"name":"page","extension_id":"cerb.trigger.webhook.respond","script":`+jsonString(originScript)+`}`))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	r := appTest(t, adminApp, req)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	req = httptest.NewRequest("POST", "/api/v1/webhooks?name=page", strings.NewReader(eventFor("page")))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "text/plain")
	r = appTest(t, adminApp, req)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	m := r.json(t)
	return b, adminApp, m["id"].(string), m["token"].(string)
}

// TestServer_RefusesServiceWorkerScripts: a browser's fetch of a service
// worker's script (Service-Worker: script) is refused 403 on every route
// of every listener, a webhook's answer, the console's and the admin API's
// included, whatever the admin token; the same requests without the
// header are answered.
func TestServer_RefusesServiceWorkerScripts(t *testing.T) {
	t.Parallel()
	eachListenerSetup(t, func(t *testing.T, adminListen bool) {
		b, adminApp, _, token := pageWebhook(t, adminListen)
		for _, route := range []struct {
			app  *fiber.App
			path string
			want int // without the header
		}{
			{b.srv.App(), "/webhooks/" + token, http.StatusOK},
			{b.srv.App(), "/webhooks/" + token + "?sw=1", http.StatusOK},
			{b.srv.App(), "/webhooks/unknown-token", http.StatusNotFound},
			{b.srv.App(), "/healthz", http.StatusOK},
			{adminApp, "/console/", http.StatusOK},
			{adminApp, "/api/v1/webhooks", http.StatusOK},
			{adminApp, "/metrics", http.StatusOK},
			{b.srv.App(), "/nope", http.StatusNotFound},
		} {
			for _, value := range []string{"script", "other"} {
				req := httptest.NewRequest("GET", route.path, nil)
				req.Header.Set("Authorization", "Bearer "+testAdminToken)
				req.Header.Set("Service-Worker", value)
				r := appTest(t, route.app, req)
				require.Equal(t, http.StatusForbidden, r.Status, "%s with Service-Worker: %s: %s", route.path, value, r.Body)
				require.Equal(t, api.ProblemType, r.Header.Get("Content-Type"))
				var p api.Problem
				require.NoError(t, json.Unmarshal(r.Body, &p))
				require.Contains(t, p.Detail, "no service worker scripts")
				// A worker registered before the refusal existed is
				// unregistered by the browser's failed update.
				require.Equal(t, `"storage"`, r.Header.Get("Clear-Site-Data"))
				require.NotContains(t, string(r.Body), token, "the answer repeats no webhook token")
			}
			req := httptest.NewRequest("GET", route.path, nil)
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			require.Equal(t, route.want, appTest(t, route.app, req).Status, "%s without Service-Worker", route.path)
		}

		// The refusals on the webhook port are counted by cause.
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		require.Contains(t, string(appTest(t, adminApp, req).Body), `hookhost_webhook_rejected_total{cause="service_worker"} 6`)
	})
}

// TestWebhook_AnswerCannotActOnTheOrigin: an automation's answer carries
// neither Service-Worker-Allowed nor Clear-Site-Data (the run's log says
// they were dropped), and every answer is sandboxed, in addition to the
// automation's own policy, on the webhook port whether or not the admin
// API shares it.
func TestWebhook_AnswerCannotActOnTheOrigin(t *testing.T) {
	t.Parallel()
	eachListenerSetup(t, func(t *testing.T, adminListen bool) {
		b, adminApp, id, token := pageWebhook(t, adminListen)
		r := appTest(t, b.srv.App(), httptest.NewRequest("GET", "/webhooks/"+token, nil))
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, "<p>thanks</p>", string(r.Body))
		require.Equal(t, []string{"default-src 'self'", dispatch.AnswerSandbox}, r.Header.Values("Content-Security-Policy"))
		require.Empty(t, r.Header.Values("Service-Worker-Allowed"))
		require.Empty(t, r.Header.Values("Clear-Site-Data"))
		require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))

		// The run's log says what was dropped and why.
		req := httptest.NewRequest("GET", "/api/v1/requests?webhook="+id, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		r = appTest(t, adminApp, req)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var runs struct{ Runs []api.Run }
		require.NoError(t, json.Unmarshal(r.Body, &runs))
		require.Len(t, runs.Runs, 1)
		req = httptest.NewRequest("GET", "/api/v1/requests/"+runs.Runs[0].ID, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		r = appTest(t, adminApp, req)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		for _, name := range []string{"Service-Worker-Allowed", "Clear-Site-Data"} {
			require.Contains(t, string(r.Body), `header \"`+name+`\" dropped: an automation cannot set it`)
		}
	})
}

// eachListenerSetup runs f, in parallel subtests, with the admin API on
// the webhook listener and on a listener of its own.
func eachListenerSetup(t *testing.T, f func(t *testing.T, adminListen bool)) {
	for _, tc := range []struct {
		name        string
		adminListen bool
	}{
		{"OneListener", false},
		{"AdminListener", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f(t, tc.adminListen)
		})
	}
}
