package host

import (
	"path/filepath"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// BenchmarkWebhook_GuideExample measures the whole synchronous hot path of
// the Cerb guide's webhook (routing, token lookup, event KATA, the run, the
// response) without the network, next to a bare Fiber handler that returns
// the same bytes.
func BenchmarkWebhook_GuideExample(b *testing.B) {
	bundle := setup(b)
	pkg := readFile(b, filepath.Join("..", "testdata", "packages", "webhook-example.json"))
	r := bundle.admin(b, "POST", "/packages/import", "application/json", pkg)
	require.Equal(b, 201, r.Status, "%s", r.Body)
	_, tok := bundle.createWebhook(b, "guide", eventFor("example.webhook.respond"))

	hookhost := bundle.srv.App().Handler()
	var answer []byte
	bare := fiber.New(fiber.Config{DisableStartupMessage: true})
	bare.Post("/webhooks/:token", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(answer)
	})
	bareHandler := bare.Handler()

	newCtx := func() *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/webhooks/" + tok + "?key=value")
		ctx.Request.Header.Set("Host", "127.0.0.1:8080")
		ctx.Request.Header.Set("User-Agent", "curl/7.88.1")
		ctx.Request.Header.Set("Accept", "*/*")
		ctx.Request.Header.Set("X-CustomHeader", "true")
		return &ctx
	}
	ctx := newCtx()
	hookhost(ctx)
	require.Equal(b, 200, ctx.Response.StatusCode(), "%s", ctx.Response.Body())
	answer = append([]byte(nil), ctx.Response.Body()...)

	b.Run("Hookhost", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := newCtx()
			hookhost(c)
			if c.Response.StatusCode() != 200 {
				b.Fatalf("status %d", c.Response.StatusCode())
			}
		}
	})
	b.Run("BareFiber", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := newCtx()
			bareHandler(c)
			if c.Response.StatusCode() != 200 {
				b.Fatalf("status %d", c.Response.StatusCode())
			}
		}
	})
}
