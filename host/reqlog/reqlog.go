// Package reqlog gives every request an id and a line in the access log.
// The middleware takes the caller's X-Request-Id when it is a sane token
// (at most 128 letters, digits, '.', '_' and '-'), else makes one, echoes it
// in the answer, and, once the request is answered, logs one line: method,
// path (webhook tokens redacted), status, duration, bytes, request id, and
// what the handlers noted in the request's Entry (webhook, run or job,
// why it was refused). Errors are written by the app's error handler here,
// so the line has the status that was answered. Refuse gives the same to a
// request the server answers before any route runs, and so before the
// middleware.
package reqlog

import (
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
	"unsafe"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/internal/logbuf"
)

// Header is the request id header.
const Header = "X-Request-Id"

// maxIDLen bounds a caller's request id.
const maxIDLen = 128

// localsKey is the Fiber Locals key of the request's Entry.
const localsKey = "hookhost.reqlog"

// Entry is what a request did, as its handlers note it.
type Entry struct {
	// ID is the request id.
	ID string
	// WebhookID is the webhook the request was for (known ones only).
	WebhookID string
	// RunID and JobID name the run record or the job the request made.
	RunID, JobID string
	// Cause says why a request was refused (verify, rate_limit,
	// concurrency, body_size, body_memory, disabled, expired,
	// unknown_token, no_handler, service_worker) or did not complete
	// (error, timeout, crash).
	Cause string
	// Reason is the refusal's detail for the log (never a credential).
	Reason string
}

// From returns the request's Entry; outside the middleware it returns a
// fresh one (so handlers never check for nil).
func From(c *fiber.Ctx) *Entry {
	if e, ok := c.Locals(localsKey).(*Entry); ok {
		return e
	}
	e := &Entry{}
	c.Locals(localsKey, e)
	return e
}

// Config configures the middleware.
type Config struct {
	// Logger receives the access lines (nil: no access log).
	Logger *slog.Logger
	// Observe, when set, is called with every answered request.
	Observe func(c *fiber.Ctx, e *Entry, status int, elapsed time.Duration)
}

// New returns the middleware.
func New(cfg Config) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		e := begin(c)
		return cfg.end(c, e, start, c.Next())
	}
}

// Refuse answers a request that the server refuses before any handler of
// the app runs (one whose announced body is over the body limit): the
// app's error handler writes err, and the request gets its id, its access
// line and its Observe call as the middleware gives every other one, with
// cause and reason noted in its Entry. c is the app's context of the
// request.
func Refuse(cfg Config, c *fiber.Ctx, cause, reason string, err error) error {
	return Answer(cfg, c, func(e *Entry) error {
		e.Cause, e.Reason = cause, reason
		return err
	})
}

// Answer is Refuse for a refusal that needs the request's Entry before it
// is answered (a request record keeps its id): answer notes in e what it
// did and returns the error for the app's error handler to write. It runs
// after the request got its id, and the access line and the Observe call
// follow it.
func Answer(cfg Config, c *fiber.Ctx, answer func(e *Entry) error) error {
	start := time.Now()
	e := begin(c)
	return cfg.end(c, e, start, answer(e))
}

// begin gives the request its Entry and echoes its id.
func begin(c *fiber.Ctx) *Entry {
	e := newEntry(c.Get(Header))
	c.Locals(localsKey, e)
	c.Set(Header, e.ID)
	return e
}

// end has the app's error handler answer err (when not nil), then observes
// and logs the request, which began at start.
func (cfg Config) end(c *fiber.Ctx, e *Entry, start time.Time, err error) error {
	if err != nil {
		if err := c.App().ErrorHandler(c, err); err != nil {
			return err
		}
	}
	status := c.Response().StatusCode()
	now := time.Now()
	elapsed := now.Sub(start)
	if cfg.Observe != nil {
		cfg.Observe(c, e, status, elapsed)
	}
	if cfg.Logger != nil {
		logLine(c, cfg.Logger.Handler(), e, status, now, elapsed)
	}
	return nil
}

// logLine logs the access line when the handler takes Info (a server run
// with --log-level warn pays nothing for it). A logbuf handler (the
// server's, under its redaction) is handed the attributes themselves
// (logbuf.Handler.HandleAttrs): a slog.Record allocates for attributes past
// its first five. Any other handler, or a line those do not write, gets a
// record, directly, not through slog.Logger.LogAttrs, which would also walk
// the stack (runtime.Callers) for the record's source: the server's
// handlers never show it, and it would always be this function.
func logLine(c *fiber.Ctx, h slog.Handler, e *Entry, status int, now time.Time, elapsed time.Duration) {
	ctx := c.UserContext()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// The attributes are on the stack: a record copies them, HandleAttrs
	// reads them. (A call through an interface would move them to the
	// heap, hence the concrete types.)
	attrs, n := accessAttrs(c, redactedPath(c.Request().URI().Path()), e, status, elapsed)
	var done bool
	switch h := h.(type) {
	case *redact.LogHandler: // the server's: redaction over logbuf
		done, _ = h.HandleAttrs(now, slog.LevelInfo, "request", attrs[:n])
	case *logbuf.Handler:
		done, _ = h.HandleAttrs(now, slog.LevelInfo, "request", attrs[:n])
	}
	if done {
		return
	}
	r := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	r.AddAttrs(attrs[:n]...)
	_ = h.Handle(ctx, r) // as slog.Logger does, a handler's error is dropped
}

// maxAttrs is the most attributes of an access line.
const maxAttrs = 11

// accessAttrs returns the attributes of the access line, the first n of
// attrs, path being the request's path with its token redacted. (Returned,
// not set through a pointer: a store through a pointer parameter would send
// them to the heap.)
func accessAttrs(c *fiber.Ctx, path string, e *Entry, status int, elapsed time.Duration) (attrs [maxAttrs]slog.Attr, n int) {
	attrs[0] = slog.String("method", c.Method())
	attrs[1] = slog.String("path", path)
	attrs[2] = slog.Int("status", status)
	attrs[3] = slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000)
	attrs[4] = slog.Int("bytes", bodySize(c))
	attrs[5] = slog.String("request_id", e.ID)
	n = 6
	for _, kv := range [...][2]string{{"webhook", e.WebhookID}, {"run_id", e.RunID}, {"job_id", e.JobID}, {"cause", e.Cause}, {"reason", e.Reason}} {
		if kv[1] != "" {
			attrs[n] = slog.String(kv[0], kv[1])
			n++
		}
	}
	return attrs, n
}

// redactedPath is the request path with its webhook token redacted, as a
// string of its own: one allocation (two for a path that grows past 128
// bytes), and none for a webhook's own path, /webhooks/<token>, which is
// always redactedWebhookPath.
func redactedPath(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	view := unsafe.String(unsafe.SliceData(p), len(p)) // p's bytes, only while this runs
	var buf [128]byte
	out, ok := redact.AppendTokens(buf[:0], view)
	switch {
	case !ok:
		return strings.Clone(view) // no token
	case string(out) == redactedWebhookPath:
		return redactedWebhookPath
	}
	return string(out)
}

// redactedWebhookPath is a webhook request's path in the access line.
const redactedWebhookPath = "/webhooks/" + redact.Marker

// idLen is the length of a request id the middleware makes: 96 random
// bits in hex.
const idLen = 24

// entryWithID is an Entry and the bytes of the id made for it: one
// allocation, where the Entry and its id string were two.
type entryWithID struct {
	e  Entry
	id [idLen]byte
}

// newEntry returns the Entry of a request whose X-Request-Id is given:
// its ID is (a copy of) given when it is a sane token, else a new id.
// given is Fiber's view of the request's bytes, which the next request on
// the connection overwrites; the id outlives the request (the run record
// is finished and written later, on the recorder's goroutine), so it is
// copied.
func newEntry(given string) *Entry {
	if given != "" && len(given) <= maxIDLen && sane(given) {
		return &Entry{ID: strings.Clone(given)}
	}
	b := new(entryWithID)
	newID(&b.id)
	// The id's bytes are written once, here, and never again: the string
	// may share them.
	b.e.ID = unsafe.String(&b.id[0], idLen)
	return &b.e
}

// newID writes a new request id into id: 96 random bits from
// math/rand/v2's per-thread ChaCha8 generator, in hex. An id names a
// request, it guards nothing, and crypto/rand cost ~2% of the server's
// CPU per request.
func newID(id *[idLen]byte) {
	var b [idLen / 2]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], rand.Uint32())
	hex.Encode(id[:], b[:])
}

func sane(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// bodySize is the answer's body length, or -1 for a streamed body (an
// event stream), which reading would consume.
func bodySize(c *fiber.Ctx) int {
	if c.Response().IsBodyStream() {
		return -1
	}
	return len(c.Response().Body())
}
