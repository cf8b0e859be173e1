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
// response) without the network: a bare Fiber handler that returns the same
// bytes, the automation run in-process through the plugins.Extension
// interface, and run in an extension process (the test binary re-executed).
// Only one server is up at a time. Serial measures latency; Parallel
// measures throughput with 16 callers per core, so ratios of its ns/op are
// throughput ratios.
func BenchmarkWebhook_GuideExample(b *testing.B) {
	b.Run("BareFiber", func(b *testing.B) {
		g := newGuideBench(b)
		c := g.request()
		g.handler(c)
		require.Equal(b, 200, c.Response.StatusCode(), "%s", c.Response.Body())
		answer := append([]byte(nil), c.Response.Body()...)
		require.NoError(b, g.close())

		bare := fiber.New(fiber.Config{DisableStartupMessage: true})
		bare.Post("/webhooks/:token", func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
			return c.Send(answer)
		})
		benchGuide(b, &guideBench{tok: g.tok, handler: bare.Handler()})
	})
	b.Run("InProcess", func(b *testing.B) { benchGuide(b, newGuideBench(b)) })
	b.Run("OutOfProcess", func(b *testing.B) { benchGuide(b, newGuideBench(b, outOfProcess)) })
}

func benchGuide(b *testing.B, g *guideBench) {
	b.Run("Serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			g.serve(b)
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				g.serve(b)
			}
		})
	})
}

// guideBench is one server of BenchmarkWebhook_GuideExample with the guide
// example webhook.
type guideBench struct {
	tok     string
	handler fasthttp.RequestHandler
	close   func() error
}

func newGuideBench(b *testing.B, mutate ...func(*Config)) *guideBench {
	bundle := setup(b, mutate...)
	pkg := readFile(b, filepath.Join("..", "testdata", "packages", "webhook-example.json"))
	r := bundle.admin(b, "POST", "/packages/import", "application/json", pkg)
	require.Equal(b, 201, r.Status, "%s", r.Body)
	_, tok := bundle.createWebhook(b, "guide", eventFor("example.webhook.respond"))
	return &guideBench{tok: tok, handler: bundle.srv.App().Handler(), close: bundle.srv.Close}
}

// request is the Cerb guide's curl.
func (g *guideBench) request() *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/webhooks/" + g.tok + "?key=value")
	ctx.Request.Header.Set("Host", "127.0.0.1:8080")
	ctx.Request.Header.Set("User-Agent", "curl/7.88.1")
	ctx.Request.Header.Set("Accept", "*/*")
	ctx.Request.Header.Set("X-CustomHeader", "true")
	return &ctx
}

func (g *guideBench) serve(b *testing.B) {
	c := g.request()
	g.handler(c)
	if c.Response.StatusCode() != 200 {
		b.Fatalf("status %d: %s", c.Response.StatusCode(), c.Response.Body())
	}
}
