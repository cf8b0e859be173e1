package dispatch

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// TestRouteToken checks that routeToken, which reads a request before
// Fiber routes it, finds the token that handle reads after routing, and
// none for a path the webhook routes do not serve. Where the two could
// differ, it finds none (the request then goes on to handle).
func TestRouteToken(t *testing.T) {
	t.Parallel()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	// The token as handle reads it, on the routes Mount adds.
	routed := func(c *fiber.Ctx) error {
		token := c.Params("token")
		if token == "" {
			token = c.Query("token")
		}
		return c.SendString(token)
	}
	app.All(webhooksPath, routed)
	app.All(webhooksPath+"/:token", routed)
	app.All(webhooksPath+"/:token/*", routed)
	app.Get("/webhook-jobs/:id", func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) })

	tests := []struct {
		name   string
		target string
		want   string
		// notRouted is set when no webhook route serves the target.
		notRouted bool
	}{
		{name: "Path", target: "/webhooks/tok", want: "tok"},
		{name: "TrailingSlash", target: "/webhooks/tok/", want: "tok"},
		{name: "Subpath", target: "/webhooks/tok/github/push", want: "tok"},
		{name: "PathBeforeQuery", target: "/webhooks/tok?token=other", want: "tok"},
		{name: "PrefixInOtherCase", target: "/WebHooks/tok", want: "tok"},
		{name: "EscapedTokenKeptRaw", target: "/webhooks/t%2Fk", want: "t%2Fk"},
		{name: "Query", target: "/webhooks?token=tok", want: "tok"},
		{name: "QueryAfterSlash", target: "/webhooks/?token=tok", want: "tok"},
		{name: "QueryEscaped", target: "/webhooks?token=t%2Bk", want: "t+k"},
		{name: "NoToken", target: "/webhooks", want: ""},
		{name: "EmptyPathToken", target: "/webhooks//x?token=tok", notRouted: true},
		{name: "OtherRoute", target: "/webhook-jobs/tok", notRouted: true},
		{name: "LongerPrefix", target: "/webhooksx/tok?token=tok", notRouted: true},
		{name: "NotAtRoot", target: "/api/webhooks/tok", notRouted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fctx fasthttp.RequestCtx
			fctx.Request.Header.SetMethod(http.MethodPost)
			fctx.Request.SetRequestURI(tt.target)
			c := app.AcquireCtx(&fctx)
			got := routeToken(c)
			app.ReleaseCtx(c)
			require.Equal(t, tt.want, got, "before routing")
			// As the server's HeaderReceived hook reads it, from the head
			// alone: every target a webhook route serves is a route there,
			// since a body past 16 KiB on any other path is refused.
			var u fasthttp.URI
			require.NoError(t, u.Parse([]byte("hooks.test"), []byte(tt.target)))
			headToken, route := RouteToken(string(u.PathOriginal()), u.QueryArgs())
			require.Equal(t, tt.want, headToken, "from the head")

			resp, err := app.Test(httptest.NewRequest(http.MethodPost, tt.target, nil), -1)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			if tt.notRouted {
				require.NotEqual(t, http.StatusOK, resp.StatusCode, "no webhook route serves %s", tt.target)
				return
			}
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, tt.want, string(body), "handle reads the same token after routing")
			require.True(t, route, "a webhook route serves %s", tt.target)
		})
	}
}
