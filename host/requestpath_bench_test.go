package host

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/internal/logbuf"
	"github.com/hookhost/hookhost/templates/dict"
)

// fixedRunner answers every run with the Cerb guide example's return, as
// the extension would: what is left of a request's cost is the server's
// own request path.
type fixedRunner struct{}

var _ runner.Runner = fixedRunner{}

var guideReturn = dict.Of("status_code", int64(200), "headers", dict.Of("Content-Type", "application/json"),
	"body", "{\n    \"client\": {\n        \"ip\": \"0.0.0.0\"\n    }\n}")

func (fixedRunner) Run(context.Context, *runner.Invocation) (*automations.Result, error) {
	return &automations.Result{Exit: automations.ExitReturn, Return: guideReturn, Steps: 3}, nil
}

// BenchmarkWebhook_RequestPath measures the server's own cost of the
// guide's webhook request without the run: routing, the access log line
// (as serve writes it by default) and metrics, the token lookup, the event KATA, the answer. The webhook keeps
// failed runs only (history: record: errors, as the bench's
// outofprocess-errors target), so no run record is written, and the run is
// a fixed answer. Compare allocs/op and ns/op before and after a change.
func BenchmarkWebhook_RequestPath(b *testing.B) {
	handler, tok := fixedGuideWebhook(b, "history:\n  record: errors\n")
	// The request as a client sends it, read by fasthttp as the server
	// reads it (into a RequestCtx reused per connection).
	raw := []byte("POST /webhooks/" + tok + "?key=value HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\n" +
		"Content-Length: 0\r\nX-Customheader: true\r\nAccept-Encoding: gzip\r\n\r\n")
	benchRequests(b, handler, raw, 200)
}

// BenchmarkWebhook_RequestPathBody16KiB is BenchmarkWebhook_RequestPath
// with a 16 KiB JSON body (bench -body-bytes 16384: commit-like objects)
// and every run recorded (the default history), the record written to
// SQLite by the recorder in batches: what a request's body costs the
// server besides the extension's trip, per byte mostly the run record
// (the credential-field check, the redaction, the body escaped into the
// inputs, the write).
func BenchmarkWebhook_RequestPathBody16KiB(b *testing.B) {
	handler, tok := fixedGuideWebhook(b, "")
	const item = `{"id":"7fd1a60b01f91b314f59955a4e4d4e80d8edf11d","message":"Fix the \"edge\" case","author":{"name":"Octo Cat","email":"octocat@example.com"},"added":[],"modified":["README.md"]}`
	body := []byte{'['}
	for len(body)+len(item)+2 <= 16<<10 {
		if len(body) > 1 {
			body = append(body, ',')
		}
		body = append(body, item...)
	}
	body = append(body, bytes.Repeat([]byte(" "), 16<<10-1-len(body))...)
	body = append(body, ']')
	raw := []byte("POST /webhooks/" + tok + "?key=value HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\n" +
		"Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nX-Customheader: true\r\nAccept-Encoding: gzip\r\n\r\n")
	benchRequests(b, handler, append(raw, body...), 200)
}

// fixedGuideWebhook serves the guide's webhook (its event KATA after
// history, a webhook's history: block or "") with a fixed answer instead
// of the run, logging as hookhost serve does; it returns the server's
// handler and the webhook's token.
func fixedGuideWebhook(b *testing.B, history string) (fasthttp.RequestHandler, string) {
	bundle := setup(b, func(c *Config) {
		c.Runner = fixedRunner{}
		// As hookhost serve logs by default (and the bench runs it): JSON
		// through logbuf at info, the access line of every request
		// included.
		c.Logger = slog.New(logbuf.NewJSONHandler(logbuf.New(io.Discard, 0, 0), &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	pkg := readFile(b, filepath.Join("..", "testdata", "packages", "webhook-example.json"))
	r := bundle.admin(b, "POST", "/packages/import", "application/json", pkg)
	require.Equal(b, 201, r.Status, "%s", r.Body)
	_, tok := bundle.createWebhook(b, "guide", history+eventFor("example.webhook.respond"))
	return bundle.srv.App().Handler(), tok
}

// benchRequests has handler serve the raw request over and over, read by
// fasthttp as the server reads it (into a RequestCtx reused per
// connection), each answered with status.
func benchRequests(b *testing.B, handler fasthttp.RequestHandler, raw []byte, status int) {
	var ctx fasthttp.RequestCtx
	br := bufio.NewReaderSize(nil, 64<<10)
	rd := bytes.NewReader(nil)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(raw)
		br.Reset(rd)
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.ResetUserValues()
		if err := ctx.Request.Read(br); err != nil {
			b.Fatal(err)
		}
		handler(&ctx)
		if ctx.Response.StatusCode() != status {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
