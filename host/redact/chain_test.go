package redact

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/logbuf"
)

// generic is the redacting handler as it was before it passed unchanged
// records on: every record copied, every attribute through attr. The
// server's chain must write what generic on slog's own handler writes.
type generic struct{ *LogHandler }

func (g generic) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, g.redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(g.attr(a))
		return true
	})
	return g.h.Handle(ctx, out)
}

// stringer is an slog.KindAny value whose printed form may hold a secret.
type stringer struct{ s string }

func (s stringer) String() string { return s.s }

// TestHandler_ServerChainMatchesSlog writes a table of records through the
// server's logger (the redacting handler on logbuf's JSON and text
// handlers, which write plain records themselves) and through the generic
// redacting handler on slog's handlers, and compares the bytes.
func TestHandler_ServerChainMatchesSlog(t *testing.T) {
	t.Parallel()
	const secret = "hidden-Echo-42"
	tok := strings.Repeat("ab12", 10)
	now := time.Date(2026, 12, 6, 1, 22, 27, 123456789, time.UTC)
	access := func(path, rid, reason string) []slog.Attr {
		return []slog.Attr{slog.String("method", "POST"), slog.String("path", path), slog.Int("status", 202),
			slog.Float64("duration_ms", 1.25), slog.Int("bytes", 11), slog.String("request_id", rid),
			slog.String("webhook", "deploy"), slog.String("run_id", "01JF3ZQ8W5X7N2K4M6P8R0T2V4"), slog.String("reason", reason)}
	}
	tests := []struct {
		name  string
		msg   string
		attrs []slog.Attr
	}{
		{"AccessLine", "request", access("/webhooks/[redacted]", "0123abcd", "ok")},
		{"AccessLineSecretFirst", "request", access("/x/"+secret, "0123abcd", "ok")},
		{"AccessLineSecretLast", "request", access("/x", "0123abcd", "bad "+secret)},
		{"AccessLineToken", "request", access("/webhooks/"+tok, "a", `"quoted"`)},
		{"SecretInMessage", "saw " + secret, []slog.Attr{slog.Int("n", 1)}},
		{"JSONEscapedSecret", "m", []slog.Attr{slog.String("body", `{"k":"`+secret+`"}`)}},
		{"URLEncodedSecret", "m", []slog.Attr{slog.String("u", "?q=hidden-Echo-42&x=1")}},
		{"TokenParam", "m", []slog.Attr{slog.String("url", "/webhook-jobs/1?token="+tok)}},
		{"Error", "m", []slog.Attr{slog.Any("error", errors.New("bad "+secret+" \"x\"\n"))}},
		{"ErrorPlain", "m", []slog.Attr{slog.String("a", "b"), slog.Any("error", errors.New("plain"))}},
		{"Stringer", "m", []slog.Attr{slog.Any("v", stringer{secret})}},
		{"StringerPlain", "m", []slog.Attr{slog.Any("v", stringer{"plain"})}},
		{"Group", "m", []slog.Attr{slog.Group("g", slog.String("k", secret), slog.Int("n", 2))}},
		{"Kinds", "m", []slog.Attr{slog.Int64("i", -4), slog.Uint64("u", 4), slog.Float64("f", 1e-9), slog.Bool("b", true),
			slog.Duration("d", time.Second), slog.Time("t", now), slog.Float64("nan", math.NaN())}},
		{"OddCharacters", "m\t\"x\"", []slog.Attr{slog.String("k=", "a b"), slog.String("ctl", "\x00\x7f\u2028é\xff"),
			slog.String("", "empty key")}},
		{"ManyAttrs", "m", append(access("/a", "b", "c"), access("/d", "e", secret)...)},
	}
	for _, json := range []bool{true, false} {
		for _, tt := range tests {
			name := "Text/" + tt.name
			if json {
				name = "JSON/" + tt.name
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				r := New(secret)
				var got, want bytes.Buffer
				w := logbuf.New(&got, time.Hour, 0)
				inner := logbuf.NewTextHandler(w, nil)
				ref := slog.Handler(slog.NewTextHandler(&want, nil))
				if json {
					inner = logbuf.NewJSONHandler(w, nil)
					ref = slog.NewJSONHandler(&want, nil)
				}
				rec := slog.NewRecord(now, slog.LevelInfo, tt.msg, 0)
				rec.AddAttrs(tt.attrs...)
				ctx := context.Background()
				require.NoError(t, r.Handler(inner).Handle(ctx, rec.Clone()))
				require.NoError(t, w.Close())
				require.NoError(t, generic{&LogHandler{h: ref, redact: r.Redact}}.Handle(ctx, rec.Clone()))
				require.Equal(t, want.String(), got.String())
				require.NotContains(t, got.String(), secret)
				require.NotContains(t, got.String(), tok)

				// HandleAttrs writes the same line, or nothing (the
				// caller then hands Handle the record).
				var viaAttrs bytes.Buffer
				w = logbuf.New(&viaAttrs, time.Hour, 0)
				inner = logbuf.NewTextHandler(w, nil)
				if json {
					inner = logbuf.NewJSONHandler(w, nil)
				}
				h := r.Handler(inner).(*LogHandler)
				done, err := h.HandleAttrs(now, slog.LevelInfo, tt.msg, tt.attrs)
				require.NoError(t, err)
				if !done {
					require.NoError(t, h.Handle(ctx, rec.Clone()))
				}
				require.NoError(t, w.Close())
				require.Equal(t, want.String(), viaAttrs.String())
			})
		}
	}
}
