package redact

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookhost/hookhost/internal/logbuf"
)

// Handler returns a slog.Handler that redacts the message and every
// attribute with r before passing a record on to h: a *LogHandler.
func (r *Redactor) Handler(h slog.Handler) slog.Handler {
	return &LogHandler{h: h, redact: r.Redact}
}

// LogHandler is a slog.Handler that redacts the message and every
// attribute (Redactor.Handler).
type LogHandler struct {
	h      slog.Handler
	redact func(string) string
}

var _ slog.Handler = (*LogHandler)(nil)

func (r *LogHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

// Handle passes rec on as it is when redacting changes nothing in it (the
// usual case: no copy of the record), else a copy with what changed.
func (r *LogHandler) Handle(ctx context.Context, rec slog.Record) error {
	msg := r.redact(rec.Message)
	var out slog.Record
	changed := msg != rec.Message
	if changed {
		out = slog.NewRecord(rec.Time, rec.Level, msg, rec.PC)
	}
	kept := 0 // attributes before the first change, kept as they are
	rec.Attrs(func(a slog.Attr) bool {
		if !changed {
			if r.unchanged(a) {
				kept++
				return true
			}
			changed = true
			out = slog.NewRecord(rec.Time, rec.Level, msg, rec.PC)
			i := 0
			rec.Attrs(func(b slog.Attr) bool {
				if i == kept {
					return false
				}
				out.AddAttrs(b)
				i++
				return true
			})
		}
		out.AddAttrs(r.attr(a))
		return true
	})
	if !changed {
		return r.h.Handle(ctx, rec)
	}
	return r.h.Handle(ctx, out)
}

// HandleAttrs writes the line of a record of time t, level, msg and attrs
// when the handler it wraps is a *logbuf.Handler that writes it
// (logbuf.Handler.HandleAttrs) and redacting changes nothing in it, and
// reports whether it did; otherwise it writes nothing and the caller hands
// Handle a slog.Record. The access log writes every request's line with
// it: its attributes stay on the stack.
func (r *LogHandler) HandleAttrs(t time.Time, level slog.Level, msg string, attrs []slog.Attr) (bool, error) {
	lh, ok := r.h.(*logbuf.Handler)
	if !ok || r.redact(msg) != msg {
		return false, nil
	}
	for _, a := range attrs {
		if !r.unchanged(a) {
			return false, nil
		}
	}
	return lh.HandleAttrs(t, level, msg, attrs)
}

// unchanged reports whether attr would return a as it is: a string with
// nothing to redact, or a value of a kind that holds no text.
func (r *LogHandler) unchanged(a slog.Attr) bool {
	switch a.Value.Kind() {
	case slog.KindString:
		s := a.Value.String()
		return r.redact(s) == s
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
		return true
	}
	return false
}

func (r *LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = r.attr(a)
	}
	return &LogHandler{h: r.h.WithAttrs(red), redact: r.redact}
}

func (r *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{h: r.h.WithGroup(name), redact: r.redact}
}

// attr redacts one attribute: strings, errors, groups, and any other value
// whose printed form holds something to redact (it is then logged as the
// redacted string).
func (r *LogHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]slog.Attr, len(g))
		for i, x := range g {
			red[i] = r.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		var text string
		if err, ok := v.Any().(error); ok && err != nil {
			text = err.Error()
		} else {
			text = fmt.Sprint(v.Any())
		}
		if red := r.redact(text); red != text {
			return slog.String(a.Key, red)
		}
		if _, ok := v.Any().(error); ok {
			return slog.String(a.Key, text)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
