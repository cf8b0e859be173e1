package host

import (
	"math/bits"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// DefaultBodyMemory is the default --body-memory: 256 MiB of request
// bodies being received and handled at once, 256 bodies at the default
// 1 MiB --body-limit, 8 at the largest (20 MiB, a 32 MiB buffer).
const DefaultBodyMemory = 256 << 20

// smallBody is the largest body the body budget does not count, 16 KiB:
// about what every connection holds anyway (its 8 KiB read buffer at the
// default --max-header-bytes, its 4 KiB write buffer, its request context
// and goroutine), so that small requests are served however many large
// ones are in flight. A body buffer past it is dropped when its request
// ends (see bodyBudget.done).
const smallBody = 16 << 10

// busyRetryAfter is the Retry-After of a body refused because the budget
// is full: bodies in flight are read within --read-timeout, and a burst of
// genuine uploads drains well before that.
const busyRetryAfter = "5"

// adminBodyMemory is the most body memory of the admin listener
// (--admin-listen), a budget of its own: 64 MiB, two bodies at the largest
// --body-limit, or all of --body-memory when that is less (see
// adminBodyBudget).
const adminBodyMemory = 64 << 20

// sweepEvery is how often at most a full budget looks for orphaned holds.
const sweepEvery = time.Second

// sweepGrace is the time past the read timeout after which a hold still
// receiving its body is an orphan: the read has surely ended by then.
const sweepGrace = time.Second

// bodyBuffer is the size of the buffer fasthttp allocates for a body of n
// bytes before it reads it: n rounded up to a power of two (fasthttp's
// roundUpForSliceCap, up to 100 MB; --body-limit is at most 20 MiB).
func bodyBuffer(n int) int64 {
	if n <= 1 {
		return int64(n)
	}
	return 1 << bits.Len(uint(n-1))
}

// bodyBudget bounds the memory of request bodies being received and
// handled at once, server-wide. fasthttp (without StreamRequestBody)
// allocates a body's whole buffer as soon as its head announces its
// length, before a byte of it arrives; a chunked body allocates each chunk
// as its size line announces it. Without a bound, connections announcing
// bodies within --body-limit and sending nothing held --body-limit each
// for the whole --read-timeout: 1,000 such connections took a server from
// 33 MiB to 1,038 MiB.
//
// The server's HeaderReceived hook (admit) reserves each body's buffer
// before fasthttp reads it: the announced length for a Content-Length
// body, the body limit for a chunked one (it may grow that far). A body
// the budget cannot hold is refused with 503 before its buffer is
// allocated; bodies of at most smallBody bytes are never counted nor
// refused.
//
// A hold is keyed by its request's header, which fasthttp keeps for the
// life of the connection's request context (HeaderReceived gets no
// connection). It ends with the request: when the handler returns, when
// the error handler answers (a read timeout, a refusal, a broken body), or
// when the Expect handler refuses; and at the latest when the same context
// receives its next head. fasthttp ends a connection without calling any of
// them only in two cases (a chunked body whose connection closes at a
// chunk's size line, and a 100 Continue that cannot be written): such a
// hold is an orphan, and a full budget drops the holds still receiving
// past the read timeout (the body's read deadline) with sweepGrace to
// spare.
//
// Chunked holds may use at most half of the budget (or one body at the
// limit, when the budget holds no more), counted apart: a chunked head
// past that share is refused as a full budget's is, and Content-Length
// bodies, which do not orphan, keep the other half. This bounds, but does
// not close, the orphans' gap: clients that close chunked bodies at a size
// line still hold the chunked share until the sweep drops their holds, and
// meanwhile every chunked body over smallBody gets 503.
//
// The budget never looks at a request's credentials: whether a body is
// held or refused does not depend on its Authorization header, so neither
// its answer nor what it leaves for the next request tells a right admin
// token from a wrong one (an exemption for the admin token did, to any
// client, unthrottled). Admin requests on the webhook port draw from it
// like every request; the admin listener has a budget of its own (see
// adminBodyBudget), so that bodies on the public port cannot starve the
// admin's uploads there.
type bodyBudget struct {
	max  int64
	read time.Duration // the read timeout, the longest a body is read
	now  func() time.Time

	mu        sync.Mutex
	used      int64
	chunked   int64 // of used, held by chunked bodies
	holds     map[*fasthttp.RequestHeader]*bodyHold
	lastSweep time.Time
	orphans   int64
}

// bodyHold is the budget's hold of one request's body.
type bodyHold struct {
	bytes int64
	// chunked is set for a chunked body, counted in the budget's chunked
	// share.
	chunked bool
	// refused is set when the budget could not hold the body: fasthttp was
	// told to refuse it past smallBody bytes, and the refusal says 503.
	refused bool
	// handling is set once the handler runs: the hold ends when it returns.
	handling bool
	// expires is when a hold still receiving is surely an orphan.
	expires time.Time
}

// newBodyBudget returns a budget of max bytes for bodies read within the
// read timeout read.
func newBodyBudget(max int, read time.Duration) *bodyBudget {
	return &bodyBudget{max: int64(max), read: read, now: time.Now, holds: map[*fasthttp.RequestHeader]*bodyHold{}}
}

// adminBodyBudget returns the budget of the admin listener for a server
// whose --body-memory is bodyMemory: adminBodyMemory or bodyMemory,
// whichever is less (at least one body at --body-limit either way, which
// the largest limit's 32 MiB buffer fits twice). With --admin-listen the
// server's bodies may so take up to that much more than --body-memory.
func adminBodyBudget(bodyMemory int, read time.Duration) *bodyBudget {
	return newBodyBudget(min(bodyMemory, adminBodyMemory), read)
}

// admit is the HeaderReceived hook's work for a request within limit
// bytes: it reserves the buffer of the body h announces, or, when the
// budget cannot hold it, has fasthttp refuse the body past smallBody
// bytes. A Content-Length over limit is left to the body limit's 413.
func (b *bodyBudget) admit(h *fasthttp.RequestHeader, limit int) fasthttp.RequestConfig {
	want := h.ContentLength() // -1: chunked, -2: none
	chunked := want == -1
	switch {
	case chunked:
		want = limit
	case want > limit:
		want = 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropLocked(h) // the context's previous request has ended
	if want <= smallBody {
		return fasthttp.RequestConfig{}
	}
	size := bodyBuffer(want)
	hold := &bodyHold{chunked: chunked, expires: b.now().Add(b.read + sweepGrace)}
	b.holds[h] = hold
	if !b.fitsLocked(size, chunked) {
		hold.refused = true
		return fasthttp.RequestConfig{MaxRequestBodySize: smallBody}
	}
	hold.bytes = size
	b.used += size
	if chunked {
		b.chunked += size
	}
	return fasthttp.RequestConfig{}
}

// fitsLocked reports whether size more bytes fit (in the chunked share
// too for a chunked body), looking for orphaned holds first when they do
// not (at most once per sweepEvery).
func (b *bodyBudget) fitsLocked(size int64, chunked bool) bool {
	if b.roomLocked(size, chunked) {
		return true
	}
	now := b.now()
	if now.Sub(b.lastSweep) < sweepEvery {
		return false
	}
	b.lastSweep = now
	for h, hold := range b.holds {
		if !hold.handling && now.After(hold.expires) {
			b.dropLocked(h)
			b.orphans++
		}
	}
	return b.roomLocked(size, chunked)
}

// roomLocked reports whether size more bytes fit in the budget and, for a
// chunked body, in the chunked share: half the budget, or one body of
// size when the budget holds no more.
func (b *bodyBudget) roomLocked(size int64, chunked bool) bool {
	if b.used+size > b.max {
		return false
	}
	return !chunked || b.chunked+size <= max(b.max/2, size)
}

// refused reports whether the budget could not hold the body of the
// request whose header is h.
func (b *bodyBudget) refused(h *fasthttp.RequestHeader) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	hold := b.holds[h]
	return hold != nil && hold.refused
}

// handling notes that the handler of h's request runs: its hold is no
// orphan, and ends when the handler returns.
func (b *bodyBudget) handling(h *fasthttp.RequestHeader) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if hold := b.holds[h]; hold != nil {
		hold.handling = true
	}
}

// done ends the hold of fctx's request, and drops its body buffer when it
// is larger than smallBody: fasthttp keeps a request's buffer with its
// context for the next request on the connection and in its pool, where
// it would hold what the budget no longer counts. Nothing reads the body
// after the request ends (webhook handlers copy what they keep); a
// response that refers to it keeps its bytes alive, since a dropped
// buffer is left to the collector, not reused.
func (b *bodyBudget) done(fctx *fasthttp.RequestCtx) {
	b.mu.Lock()
	b.dropLocked(&fctx.Request.Header)
	b.mu.Unlock()
	fctx.Request.ReleaseBody(smallBody)
}

// dropLocked ends h's hold, if any.
func (b *bodyBudget) dropLocked(h *fasthttp.RequestHeader) {
	if hold, ok := b.holds[h]; ok {
		b.used -= hold.bytes
		if hold.chunked {
			b.chunked -= hold.bytes
		}
		delete(b.holds, h)
	}
}

// bodyBudgetStats is what the budget holds now.
type bodyBudgetStats struct {
	Used    int64 // bytes held
	Chunked int64 // of Used, bytes held by chunked bodies
	Holds   int   // requests held or refused, not yet ended
	Orphans int64 // holds dropped by a sweep since start
}

// stats reports what the budget holds now.
func (b *bodyBudget) stats() bodyBudgetStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bodyBudgetStats{Used: b.used, Chunked: b.chunked, Holds: len(b.holds), Orphans: b.orphans}
}
