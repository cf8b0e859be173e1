// Package logbuf gathers a busy server's log lines into fewer writes.
//
// A slog handler writes each record with one Write call. With an access
// line per request that is one write system call per request, each of them
// waking whatever reads the server's standard error (a pipe to journald, a
// container runtime or a terminal): at thousands of requests a second this
// cost more CPU than the request's own logging. A Writer keeps the lines
// and writes them together a short delay after the first one, or at once
// when they fill its buffer. Lines keep their order and are never split; an
// idle Writer does nothing (no ticker: the delay is armed by the first line
// after a write). Handler flushes at once after a record of level Warn or
// above, so that warnings and errors are out before anything that follows
// them, such as the process exiting.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Defaults of New: a line waits at most DefaultDelay, and DefaultSize bytes
// of lines are written at once.
const (
	DefaultDelay = 20 * time.Millisecond
	DefaultSize  = 32 << 10
)

// Writer buffers writes to an underlying io.Writer; see the package
// documentation. It is safe for concurrent use.
type Writer struct {
	out   io.Writer
	delay time.Duration
	size  int

	// flushMu serializes the writes to out, so that batches keep their
	// order while mu is free for new lines.
	flushMu sync.Mutex

	mu     sync.Mutex
	buf    []byte
	spare  []byte
	armed  bool // a flush is scheduled
	closed bool
	err    error // the first error writing to out
	timer  *time.Timer
	times  timeCache // the lines' times (writeRecord)
}

// New returns a Writer to out that writes what it holds delay after the
// first line it got since its last write, or as soon as it holds size
// bytes. delay ≤ 0 and size ≤ 0 take DefaultDelay and DefaultSize.
func New(out io.Writer, delay time.Duration, size int) *Writer {
	if delay <= 0 {
		delay = DefaultDelay
	}
	if size <= 0 {
		size = DefaultSize
	}
	w := &Writer{out: out, delay: delay, size: size}
	w.timer = time.AfterFunc(time.Hour, func() { _ = w.Flush() })
	w.timer.Stop()
	return w
}

// Write keeps a copy of p to be written later (at once once the Writer is
// closed). It reports the first error writing to the underlying writer, if
// any happened, and otherwise never fails.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.flushMu.Lock()
		defer w.flushMu.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	if err := w.added(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// added arms the delay or, when the buffer is full, flushes after a line
// was added to it; w.mu is held, and released. It returns the first error
// writing to out, if any.
func (w *Writer) added() error {
	full := len(w.buf) >= w.size
	if !full && !w.armed {
		w.armed = true
		w.timer.Reset(w.delay)
	}
	err := w.err
	w.mu.Unlock()
	if full {
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// writeRecord appends r's line, encoded in the JSON (json) or text format,
// as Write would; see encode.go. It reports false, having written nothing,
// for a record only slog's handler encodes and once the Writer is closed.
func (w *Writer) writeRecord(json bool, r slog.Record) (bool, error) {
	return w.writeLine(json, r.Time, r.Level, r.Message, &r, nil)
}

// writeLine is writeRecord for appendLine's record: r's attributes or,
// with r nil, attrs.
func (w *Writer) writeLine(json bool, t time.Time, level slog.Level, msg string, r *slog.Record, attrs []slog.Attr) (bool, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false, nil
	}
	n := len(w.buf)
	b, ok := appendLine(w.buf, json, t, level, msg, r, attrs, &w.times)
	if !ok {
		w.buf = b[:n]
		w.mu.Unlock()
		return false, nil
	}
	w.buf = b
	return true, w.added()
}

// Flush writes everything held now. It returns the error of that write.
func (w *Writer) Flush() error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	batch := w.buf
	w.buf = w.spare[:0]
	w.spare = nil
	w.armed = false
	w.timer.Stop()
	w.mu.Unlock()
	if len(batch) == 0 {
		w.mu.Lock()
		w.spare = batch
		w.mu.Unlock()
		return nil
	}
	_, err := w.out.Write(batch)
	w.mu.Lock()
	if cap(batch) <= 4*w.size { // a rare huge line's buffer is not kept
		w.spare = batch[:0]
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	return err
}

// Close writes what is held; later writes go straight to the underlying
// writer. It does not close that writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	return w.Flush()
}

// Handler is a slog.Handler that flushes a Writer after every record of
// level Warn or above that its inner handler handled. Made by NewJSONHandler
// or NewTextHandler, it writes most records itself, byte for byte as slog's
// handler would, at a fraction of the cost (see encode.go).
type Handler struct {
	slog.Handler
	w *Writer
	// enc says whether the handler encodes records itself: encNone
	// leaves them all to the inner handler.
	enc encoding
}

// encoding is the format a Handler writes records in itself.
type encoding uint8

const (
	encNone encoding = iota
	encJSON
	encText
)

// NewHandler wraps h, which writes to w.
func NewHandler(h slog.Handler, w *Writer) *Handler { return &Handler{Handler: h, w: w} }

// NewJSONHandler returns a Handler of slog.NewJSONHandler(w, opts) that
// writes the records it can itself (all but those with values other than
// strings, numbers and booleans) unless opts set ReplaceAttr or AddSource.
func NewJSONHandler(w *Writer, opts *slog.HandlerOptions) *Handler {
	return &Handler{Handler: slog.NewJSONHandler(w, opts), w: w, enc: fastEncoding(encJSON, opts)}
}

// NewTextHandler is NewJSONHandler for slog.NewTextHandler's format.
func NewTextHandler(w *Writer, opts *slog.HandlerOptions) *Handler {
	return &Handler{Handler: slog.NewTextHandler(w, opts), w: w, enc: fastEncoding(encText, opts)}
}

// fastEncoding is enc unless opts ask for what only slog's handlers do.
func fastEncoding(enc encoding, opts *slog.HandlerOptions) encoding {
	if opts != nil && (opts.ReplaceAttr != nil || opts.AddSource) {
		return encNone
	}
	return enc
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var (
		done bool
		err  error
	)
	if h.enc != encNone {
		done, err = h.w.writeRecord(h.enc == encJSON, r)
	}
	if !done {
		err = h.Handler.Handle(ctx, r)
	}
	if r.Level >= slog.LevelWarn {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// HandleAttrs writes the line of a record of time t, level, msg and attrs,
// as Handle writes it, when the handler encodes that record itself (see
// NewJSONHandler), and reports whether it did; otherwise it writes nothing
// and the caller hands Handle a slog.Record. attrs are read during the call
// only (a slog.Record allocates for attributes past its first five). The
// access log writes every request's line with it.
func (h *Handler) HandleAttrs(t time.Time, level slog.Level, msg string, attrs []slog.Attr) (bool, error) {
	if h.enc == encNone {
		return false, nil
	}
	done, err := h.w.writeLine(h.enc == encJSON, t, level, msg, nil, attrs)
	if done && level >= slog.LevelWarn {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return done, err
}

// WithAttrs implements slog.Handler. The handler it returns leaves records
// to the inner handler, which holds the attributes.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{Handler: h.Handler.WithAttrs(attrs), w: h.w}
}

// WithGroup implements slog.Handler, as WithAttrs.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{Handler: h.Handler.WithGroup(name), w: h.w}
}
