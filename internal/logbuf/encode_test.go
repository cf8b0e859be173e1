package logbuf

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fastRecords are records with the encoder's plain values, in every form
// its output could differ from slog's in: odd characters in keys, values
// and messages, floats around encoding/json's cutoffs, times in zones,
// with and without fractions of a second.
func fastRecords() map[string]slog.Record {
	utc := time.Date(2026, 12, 6, 1, 22, 27, 123456789, time.UTC)
	rec := func(t time.Time, l slog.Level, msg string, attrs ...slog.Attr) slog.Record {
		r := slog.NewRecord(t, l, msg, 0)
		r.AddAttrs(attrs...)
		return r
	}
	odd := []string{"", "plain", "with space", "a=b", `quo"te`, `back\slash`, "tab\tnl\ncr\r", "ctl\x00\x01\x1f\x7f",
		"<html>&amp;", "ünïcødé", "nbsp\u00a0", "ls\u2028ps\u2029", "bad\xffutf8", "\xc3", "emoji 😀", "zero\u200bwidth",
		"/webhooks/[redacted]", "-", "#", "'"}
	out := map[string]slog.Record{
		"AccessLine": rec(utc, slog.LevelInfo, "request", slog.String("method", "POST"),
			slog.String("path", "/webhooks/[redacted]"), slog.Int("status", 202), slog.Float64("duration_ms", 0.123),
			slog.Int("bytes", -1), slog.String("request_id", "0123abcd"), slog.String("webhook", "deploy"),
			slog.String("run_id", "01JF3ZQ8W5X7N2K4M6P8R0T2V4"), slog.String("cause", "verify"), slog.String("reason", `bad "sig"`)),
		"NoAttrs":     rec(utc, slog.LevelWarn, "hello"),
		"ZeroTime":    rec(time.Time{}, slog.LevelError, "no time", slog.Bool("ok", false)),
		"WholeSecond": rec(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), slog.LevelDebug, "m"),
		"TrailingZeros": rec(time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC), slog.LevelInfo+2, "m",
			slog.Uint64("u", math.MaxUint64), slog.Int64("i", math.MinInt64)),
		"Nanosecond":   rec(time.Date(1999, 12, 31, 23, 59, 59, 1, time.UTC), slog.LevelDebug-1, "m"),
		"Zone":         rec(time.Date(2026, 6, 1, 12, 0, 0, 999999999, time.FixedZone("X", -(3*3600+30*60))), slog.LevelInfo, "m"),
		"ZoneSeconds":  rec(time.Date(2026, 6, 1, 12, 0, 0, 5e6, time.FixedZone("LMT", 3600+17)), slog.LevelInfo, "m"),
		"Local":        rec(time.Now(), slog.LevelInfo, "m"),
		"Monotonic":    rec(time.Now().Add(time.Second), slog.LevelInfo, "m"),
		"YearZero":     rec(time.Date(0, 1, 1, 0, 0, 0, 1e6, time.UTC), slog.LevelInfo, "m"),
		"Year9999":     rec(time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), slog.LevelInfo, "m"),
		"Floats":       rec(utc, slog.LevelInfo, "m", floats()...),
		"OddKeys":      rec(utc, slog.LevelInfo, "m", oddAttrs(odd, true)...),
		"OddValues":    rec(utc, slog.LevelInfo, "m", oddAttrs(odd, false)...),
		"ManyAttrs":    rec(utc, slog.LevelInfo, "m", oddAttrs(odd, false)[:12]...),
		"SpaceMessage": rec(utc, slog.LevelInfo, "hello world"),
	}
	for i, m := range odd {
		out["OddMessage"+string(rune('A'+i))] = rec(utc, slog.LevelInfo, m, slog.Int("i", i))
	}
	return out
}

func floats() []slog.Attr {
	var as []slog.Attr
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.123, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e-300, 1e20, 1e21,
		123456789012345678901234.0, math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3, 100, 1e6, 12.5e-10} {
		as = append(as, slog.Float64("f", f))
	}
	return as
}

func oddAttrs(odd []string, keys bool) []slog.Attr {
	var as []slog.Attr
	for i, s := range odd {
		if keys {
			if s == "" {
				continue // the empty key is left to slog
			}
			as = append(as, slog.Int(s, i))
		} else {
			as = append(as, slog.String("k", s))
		}
	}
	return as
}

// slowRecords are records the encoder leaves to slog's handler.
func slowRecords() map[string]slog.Record {
	t := time.Date(2026, 12, 6, 1, 22, 27, 123456789, time.UTC)
	rec := func(t time.Time, attrs ...slog.Attr) slog.Record {
		r := slog.NewRecord(t, slog.LevelInfo, "m", 0)
		r.AddAttrs(slog.String("before", "x"))
		r.AddAttrs(attrs...)
		return r
	}
	return map[string]slog.Record{
		"Error":     rec(t, slog.Any("error", errors.New(`bad "thing"`))),
		"Group":     rec(t, slog.Group("g", slog.String("k", "v"))),
		"Duration":  rec(t, slog.Duration("d", 1500*time.Millisecond)),
		"Time":      rec(t, slog.Time("t", t)),
		"Any":       rec(t, slog.Any("a", []int{1, 2})),
		"EmptyKey":  rec(t, slog.String("", "v")),
		"EmptyAttr": rec(t, slog.Attr{}),
		"NaN":       rec(t, slog.Float64("f", math.NaN())),
		"Inf":       rec(t, slog.Float64("f", math.Inf(-1))),
		"Year10000": rec(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)),
		"YearBC":    rec(time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)),
		"LogValuer": rec(t, slog.Any("v", valuer{})),
	}
}

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved") }

// TestFastMatchesSlog checks that NewJSONHandler and NewTextHandler write
// every record byte for byte as slog's handlers do, and that they write
// the plain ones themselves.
func TestFastMatchesSlog(t *testing.T) {
	t.Parallel()
	for _, json := range []bool{true, false} {
		for name, r := range fastRecords() {
			t.Run(format(json)+"/"+name, func(t *testing.T) {
				t.Parallel()
				var tc timeCache
				b, ok := appendRecord(nil, json, r, &tc)
				require.True(t, ok, "the encoder does not take the record")
				want := slogLine(json, r)
				require.Equal(t, want, string(b))
				// Again, with the time's second cached.
				b, ok = appendRecord(b[:0], json, r, &tc)
				require.True(t, ok)
				require.Equal(t, want, string(b))
				require.Equal(t, want, handlerLine(json, r))
				line, done := attrsLine(json, r)
				require.True(t, done, "HandleAttrs does not take the record")
				require.Equal(t, want, line)
			})
		}
		for name, r := range slowRecords() {
			t.Run(format(json)+"/Slow"+name, func(t *testing.T) {
				t.Parallel()
				_, ok := appendRecord(nil, json, r, &timeCache{})
				require.False(t, ok, "the encoder takes a record it cannot write")
				require.Equal(t, slogLine(json, r), handlerLine(json, r))
				line, done := attrsLine(json, r)
				require.False(t, done, "HandleAttrs takes a record it cannot write")
				require.Empty(t, line)
			})
		}
	}
}

// TestTimeCache checks that a cached second is not reused for another
// second or zone.
func TestTimeCache(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 6, 1, 22, 27, 5e8, time.UTC)
	var tc timeCache
	for _, tm := range []time.Time{t0, t0.Add(time.Second), t0.In(time.FixedZone("A", 3600)), t0.Add(time.Millisecond),
		t0.In(time.FixedZone("B", 7200)), t0.Add(-time.Second)} {
		for _, json := range []bool{true, false} {
			r := slog.NewRecord(tm, slog.LevelInfo, "m", 0)
			b, ok := appendRecord(nil, json, r, &tc)
			require.True(t, ok)
			require.Equal(t, slogLine(json, r), string(b))
		}
	}
}

// TestHandler_Options checks that options only slog's handlers implement
// leave every record to them, and that levels still filter.
func TestHandler_Options(t *testing.T) {
	t.Parallel()
	r := slog.NewRecord(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), slog.LevelInfo, "m", 0)
	r.AddAttrs(slog.String("k", "v"))
	upper := func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindString {
			a.Value = slog.StringValue(strings.ToUpper(a.Value.String()))
		}
		return a
	}
	var out bytes.Buffer
	w := New(&out, time.Hour, 0)
	h := NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: upper, Level: slog.LevelWarn})
	require.False(t, h.Enabled(context.Background(), slog.LevelInfo))
	require.True(t, h.Enabled(context.Background(), slog.LevelWarn))
	require.NoError(t, h.Handle(context.Background(), r))
	require.NoError(t, w.Flush())
	require.Contains(t, out.String(), `"msg":"M","k":"V"`)

	out.Reset()
	var pcs [1]uintptr
	runtime.Callers(1, pcs[:])
	r = slog.NewRecord(r.Time, r.Level, r.Message, pcs[0])
	h = NewTextHandler(w, &slog.HandlerOptions{AddSource: true})
	require.NoError(t, h.Handle(context.Background(), r))
	require.NoError(t, w.Flush())
	require.Contains(t, out.String(), "source=")
}

func format(json bool) string {
	if json {
		return "JSON"
	}
	return "Text"
}

// slogLine is r as slog's own handler writes it.
func slogLine(json bool, r slog.Record) string {
	var buf bytes.Buffer
	var h slog.Handler = slog.NewTextHandler(&buf, nil)
	if json {
		h = slog.NewJSONHandler(&buf, nil)
	}
	if err := h.Handle(context.Background(), r.Clone()); err != nil {
		return "error: " + err.Error()
	}
	return buf.String()
}

// handlerLine is r as a Handler of New{JSON,Text}Handler writes it.
func handlerLine(json bool, r slog.Record) string {
	var buf bytes.Buffer
	w := New(&buf, time.Hour, 0)
	h := NewTextHandler(w, nil)
	if json {
		h = NewJSONHandler(w, nil)
	}
	if err := h.Handle(context.Background(), r.Clone()); err != nil {
		return "error: " + err.Error()
	}
	if err := w.Close(); err != nil {
		return "error: " + err.Error()
	}
	return buf.String()
}

// attrsLine is what HandleAttrs writes for r's parts, and whether it wrote.
func attrsLine(json bool, r slog.Record) (string, bool) {
	var buf bytes.Buffer
	w := New(&buf, time.Hour, 0)
	h := NewTextHandler(w, nil)
	if json {
		h = NewJSONHandler(w, nil)
	}
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	done, err := h.HandleAttrs(r.Time, r.Level, r.Message, attrs)
	if err != nil {
		return "error: " + err.Error(), done
	}
	if err := w.Close(); err != nil {
		return "error: " + err.Error(), done
	}
	return buf.String(), done
}

// TestHandler_AfterClose checks that a record handled after Close is
// written at once, as slog's handler writes it.
func TestHandler_AfterClose(t *testing.T) {
	t.Parallel()
	var out recorder
	w := New(&out, time.Hour, 0)
	h := NewJSONHandler(w, nil)
	r := slog.NewRecord(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), slog.LevelInfo, "before", 0)
	require.NoError(t, h.Handle(context.Background(), r))
	require.NoError(t, w.Close())
	r.Message = "after"
	require.NoError(t, h.Handle(context.Background(), r))
	require.Equal(t, []string{slogLine(true, slog.NewRecord(r.Time, r.Level, "before", 0)), slogLine(true, r)}, out.got())
}

// TestPlainJSONString checks the eight-bytes-at-a-time test against the
// byte table: every byte value at every position of strings of 1 to 17
// plain bytes, so each lands in a word and in the tail.
func TestPlainJSONString(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 17; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				want := plainJSON[c]
				if got := plainJSONString(string(b)); got != want {
					t.Fatalf("plainJSONString(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"", true},
		{"/webhooks/[redacted]", true},
		{`Go-http-client/1.1 "x"`, false},
		{"0123456789abcdef\x1f", false},
		{"01234567\\89abcdef", false},
		{"héllo wörld", false},
	} {
		require.Equal(t, tt.want, plainJSONString(tt.s), "%q", tt.s)
	}
}
