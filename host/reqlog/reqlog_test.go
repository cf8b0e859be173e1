package reqlog_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/reqlog"
	"github.com/hookhost/hookhost/internal/logbuf"
)

// TestNew_AccessLine checks the access line at each logger level: one line
// with every noted attribute when the logger takes Info, none otherwise;
// the request id is echoed and observed either way.
func TestNew_AccessLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		level slog.Level
		want  []string
	}{
		{"Info", slog.LevelInfo, []string{"msg=request", "method=POST", "path=/webhooks/x", "status=202", "bytes=2",
			"request_id=abc", "webhook=w1", "run_id=r1", "job_id=j1", "cause=error", "reason=why"}},
		{"Warn", slog.LevelWarn, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			var observed *reqlog.Entry
			app := fiber.New(fiber.Config{DisableStartupMessage: true})
			app.Use(reqlog.New(reqlog.Config{
				Logger:  slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level})),
				Observe: func(_ *fiber.Ctx, e *reqlog.Entry, _ int, _ time.Duration) { observed = e },
			}))
			app.Post("/webhooks/x", func(c *fiber.Ctx) error {
				e := reqlog.From(c)
				e.WebhookID, e.RunID, e.JobID, e.Cause, e.Reason = "w1", "r1", "j1", "error", "why"
				return c.Status(202).SendString("ok")
			})
			req := httptest.NewRequest("POST", "/webhooks/x", nil)
			req.Header.Set(reqlog.Header, "abc")
			resp, err := app.Test(req, -1)
			require.NoError(t, err)
			require.Equal(t, "abc", resp.Header.Get(reqlog.Header))
			require.NotNil(t, observed)
			require.Equal(t, "abc", observed.ID)
			if tt.want == nil {
				require.Empty(t, buf.String())
				return
			}
			for _, w := range tt.want {
				require.Contains(t, buf.String(), w)
			}
			require.Equal(t, 1, bytes.Count(buf.Bytes(), []byte("\n")))
		})
	}
}

// refusedRequest is a POST /webhooks/x request, with the caller's request
// id "abc", in the context of an app whose error handler answers 413 with
// the error's text (after prefix), for the functions that answer outside
// the middleware; the request's access lines go to log.
func refusedRequest(t *testing.T, prefix string, log *bytes.Buffer, observe func(*fiber.Ctx, *reqlog.Entry, int, time.Duration)) (reqlog.Config, *fasthttp.RequestCtx, *fiber.Ctx) {
	t.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(fiber.StatusRequestEntityTooLarge).SendString(prefix + err.Error())
	}})
	cfg := reqlog.Config{Logger: slog.New(slog.NewTextHandler(log, nil)), Observe: observe}
	fctx := &fasthttp.RequestCtx{}
	fctx.Request.Header.SetMethod("POST")
	fctx.Request.SetRequestURI("/webhooks/x")
	fctx.Request.Header.Set(reqlog.Header, "abc")
	c := app.AcquireCtx(fctx)
	t.Cleanup(func() { app.ReleaseCtx(c) })
	return cfg, fctx, c
}

// TestRefuse checks a request answered outside the middleware: the app's
// error handler writes the error, and the request gets an id, echoed in
// the answer, an Observe call with its status and cause, and one access
// line, as through the middleware.
func TestRefuse(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var observed *reqlog.Entry
	var observedStatus int
	cfg, fctx, c := refusedRequest(t, "refused: ", &buf, func(_ *fiber.Ctx, e *reqlog.Entry, status int, _ time.Duration) {
		observed, observedStatus = e, status
	})

	require.NoError(t, reqlog.Refuse(cfg, c, "body_size", "too long", errors.New("too long")))
	require.Equal(t, fiber.StatusRequestEntityTooLarge, fctx.Response.StatusCode())
	require.Equal(t, "refused: too long", string(fctx.Response.Body()))
	require.Equal(t, "abc", string(fctx.Response.Header.Peek(reqlog.Header)))
	require.NotNil(t, observed)
	require.Equal(t, reqlog.Entry{ID: "abc", Cause: "body_size", Reason: "too long"}, *observed)
	require.Equal(t, fiber.StatusRequestEntityTooLarge, observedStatus)
	for _, w := range []string{"msg=request", "method=POST", "path=/webhooks/x", "status=413", "request_id=abc", "cause=body_size", `reason="too long"`} {
		require.Contains(t, buf.String(), w)
	}
	require.Equal(t, 1, bytes.Count(buf.Bytes(), []byte("\n")))
}

// TestAnswer checks that the answer function sees the request's Entry with
// its id (a request record keeps it), and that what it notes there is on
// the access line and in the Observe call.
func TestAnswer(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var observed reqlog.Entry
	cfg, fctx, c := refusedRequest(t, "", &buf, func(_ *fiber.Ctx, e *reqlog.Entry, _ int, _ time.Duration) { observed = *e })

	var seen reqlog.Entry
	require.NoError(t, reqlog.Answer(cfg, c, func(e *reqlog.Entry) error {
		seen = *e
		e.WebhookID, e.RunID, e.Cause = "wh1", "run1", "body_size"
		return errors.New("too long")
	}))
	require.Equal(t, reqlog.Entry{ID: "abc"}, seen, "the request has its id before it is answered")
	require.Equal(t, reqlog.Entry{ID: "abc", WebhookID: "wh1", RunID: "run1", Cause: "body_size"}, observed)
	require.Equal(t, "too long", string(fctx.Response.Body()))
	for _, w := range []string{"request_id=abc", "webhook=wh1", "run_id=run1", "cause=body_size", "status=413"} {
		require.Contains(t, buf.String(), w)
	}
}

// benchLogger is the server's logger as hookhost serve builds it: the
// redactor's handler (the admin token and a stored secret registered) on a
// logbuf Writer's handler on slog's JSON handler.
func benchLogger(out io.Writer) *slog.Logger {
	w := logbuf.New(out, 0, 0)
	red := redact.New(strings.Repeat("0123456789abcdef", 4), "hunter2-secret/x")
	return slog.New(red.Handler(logbuf.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})))
}

// BenchmarkNew_AccessLine is one webhook request through the middleware,
// with the access line (Logged) and without it (NoLog): the difference is
// the line's cost.
func BenchmarkNew_AccessLine(b *testing.B) {
	tok := strings.Repeat("ab12", 10)
	for _, bb := range []struct {
		name   string
		logger *slog.Logger
	}{
		{"Logged", benchLogger(io.Discard)},
		{"NoLog", nil},
	} {
		b.Run(bb.name, func(b *testing.B) {
			app := fiber.New(fiber.Config{DisableStartupMessage: true})
			app.Use(reqlog.New(reqlog.Config{Logger: bb.logger}))
			app.Post("/webhooks/:token", func(c *fiber.Ctx) error {
				e := reqlog.From(c)
				e.WebhookID, e.RunID = "deploy-site", "01JF3ZQ8W5X7N2K4M6P8R0T2V4"
				return c.Status(200).SendString(`{"ok":true}`)
			})
			h := app.Handler()
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod("POST")
				ctx.Request.SetRequestURI("/webhooks/" + tok)
				h(&ctx)
			}
		})
	}
}

// TestRedactedPath checks the access line's path: tokens redacted, and a
// string that does not change when the request's bytes are reused.
func TestRedactedPath(t *testing.T) {
	t.Parallel()
	tok := strings.Repeat("ab12", 10)
	for _, tt := range []struct{ path, want string }{
		{"", ""},
		{"/", "/"},
		{"/webhooks/" + tok, "/webhooks/[redacted]"},
		{"/webhooks/" + tok + "/a/b", "/webhooks/[redacted]/a/b"},
		{"/webhooks/short", "/webhooks/short"},
		{"/api/v1/runs", "/api/v1/runs"},
		{"/webhooks/" + tok + "/" + strings.Repeat("long/", 40), "/webhooks/[redacted]/" + strings.Repeat("long/", 40)},
	} {
		b := []byte(tt.path)
		got := reqlog.RedactedPath(b)
		for i := range b {
			b[i] = 'x'
		}
		require.Equal(t, tt.want, got)
	}
}

// TestRedactedPath_Allocs counts the path's allocations: none for a
// webhook's own path (a constant), one for any other.
func TestRedactedPath_Allocs(t *testing.T) {
	tok := strings.Repeat("ab12", 10)
	for _, tt := range []struct {
		path   string
		allocs float64
	}{
		{"/webhooks/" + tok, 0},
		{"/webhooks/" + tok + "/a/b", 1},
		{"/api/v1/runs", 1},
	} {
		b := []byte(tt.path)
		got := testing.AllocsPerRun(100, func() { reqlog.RedactedPath(b) })
		require.Equal(t, tt.allocs, got, "%s", tt.path)
	}
}

// TestNew_AccessLineServerChain checks the whole access line as the server
// writes it (the redacting handler on logbuf's encoders), in both formats,
// against slog's own handlers given the same record.
func TestNew_AccessLineServerChain(t *testing.T) {
	t.Parallel()
	const secret = "hidden-Echo-42"
	tok := strings.Repeat("ab12", 10)
	for _, json := range []bool{true, false} {
		var got, want bytes.Buffer
		w := logbuf.New(&got, time.Hour, 0)
		red := redact.New(secret)
		fast := logbuf.NewTextHandler(w, nil)
		var ref slog.Handler = slog.NewTextHandler(&want, nil)
		if json {
			fast = logbuf.NewJSONHandler(w, nil)
			ref = slog.NewJSONHandler(&want, nil)
		}
		// The record the middleware makes, kept to give slog's handler.
		var rec slog.Record
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Use(reqlog.New(reqlog.Config{Logger: slog.New(&tee{Handler: red.Handler(fast), rec: &rec})}))
		app.Post("/webhooks/*", func(c *fiber.Ctx) error {
			e := reqlog.From(c)
			e.WebhookID, e.RunID, e.Cause, e.Reason = "w1", "r1", "verify", `bad "sig" `+secret
			return c.Status(401).SendString("no")
		})
		req := httptest.NewRequest("POST", "/webhooks/"+tok+"/x%20y", nil)
		req.Header.Set(reqlog.Header, "abc")
		_, err := app.Test(req, -1)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		require.NoError(t, red.Handler(ref).Handle(context.Background(), rec))
		require.Equal(t, want.String(), got.String())
		require.Contains(t, got.String(), "[redacted]/x y")
		require.Contains(t, got.String(), `bad \"sig\" [redacted]`)
		require.NotContains(t, got.String(), secret)
		require.NotContains(t, got.String(), tok)
	}
}

// tee is a handler that keeps a clone of the record it passes on.
type tee struct {
	slog.Handler
	rec *slog.Record
}

func (t *tee) Handle(ctx context.Context, r slog.Record) error {
	*t.rec = r.Clone()
	return t.Handler.Handle(ctx, r)
}

// TestNewEntry_ID checks the request ids: a sane caller's id is kept (a
// copy), any other gets a new one of 24 hex digits, in the same allocation
// as the Entry.
func TestNewEntry_ID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, given string
		keep        bool
	}{
		{"None", "", false},
		{"Sane", "abc-1.2_X", true},
		{"Longest", strings.Repeat("a", 128), true},
		{"TooLong", strings.Repeat("a", 129), false},
		{"Unsafe", "a b", false},
		{"Quote", `a"b`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := reqlog.NewEntry(tt.given)
			if tt.keep {
				require.Equal(t, tt.given, e.ID)
				return
			}
			require.Regexp(t, `^[0-9a-f]{24}$`, e.ID)
			require.NotEqual(t, e.ID, reqlog.NewEntry(tt.given).ID)
		})
	}
}

// TestNewEntry_Allocs guards the one allocation of a request's Entry with
// the id made for it (not parallel: AllocsPerRun counts the process's).
func TestNewEntry_Allocs(t *testing.T) {
	require.Equal(t, 1.0, testing.AllocsPerRun(100, func() { reqlog.NewEntry("") }))
}
