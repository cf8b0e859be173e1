package host

import (
	"crypto/tls"
	"math/bits"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
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

// minBodyRate and bodyRateGrace are the pace a held body must keep once
// the budget is full: after bodyRateGrace from its head, 64 KiB a second
// on average (512 kbit/s), or its hold is dropped for a new body (see
// bodyBudget).
const (
	minBodyRate   = 64 << 10
	bodyRateGrace = 5 * time.Second
)

// The shares of a budget that some holds may take at most, as divisors of
// the budget (each share is at least one body of the size asked, so that
// a budget of one body still holds one): chunked bodies, which may orphan,
// half; the admin API on the webhook port, whose heads no token is checked
// for (see bodyBudget), a quarter; one client, an eighth unless
// --body-memory-per-client says otherwise (see Config.BodyMemoryPerClient).
const (
	chunkedShare = 2
	adminShare   = 4
	clientShare  = 8
)

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
// Only a body that a route will read is held (see bodyClaim): a webhook's
// whose token names a webhook (the catalog's cached lookup), and the admin
// API's. Any other body over smallBody (an unknown token, a path no route
// reads a body on) is refused past smallBody and answered at once, 404 or
// 413, without its buffer: before, heads announcing 1 MiB to / and sending
// nothing more held the whole budget for the read timeout, and every
// webhook body over smallBody got 503. A body is held within its client's
// share too (--body-memory-per-client, an eighth of the budget by
// default: its address, an IPv6 one's /64, as the webhook path derives it,
// X-Forwarded-For from --trusted-proxies only), so that one client that knows a token cannot hold the budget for
// the others; the admin API on the webhook port, which must hold heads
// before any token is checked, holds at most its own share (a quarter).
// Clients that know a token from many addresses can still fill the
// budget: it bounds memory, it cannot tell them from a burst of genuine
// uploads. But they must send their bodies to keep them held: when a
// body does not fit in the budget (or in the chunked or admin share it
// draws from), as many holds as make room for it are dropped among those
// whose bodies arrive slower than minBodyRate past bodyRateGrace from
// their heads (the bytes read from their connections, see bodyConn), and
// their reads end at once (408, the connection closed). Before, two bytes
// held a body for the whole read timeout. A slow body is not cut while
// there is room, nor for a body refused by its own client's share.
//
// The budget never looks at a request's credentials: whether a body is
// held or refused does not depend on its Authorization header, so neither
// its answer nor what it leaves for the next request tells a right admin
// token from a wrong one (an exemption for the admin token did, to any
// client, unthrottled). Admin requests on the webhook port draw from it
// like every request, within the admin share; the admin listener has a
// budget of its own (see adminBodyBudget), so that bodies on the public
// port cannot starve the admin's uploads there. (Whether a webhook token
// names a webhook, which the budget does look at, its 404 tells anyway.)
type bodyBudget struct {
	max int64
	// client is the most one client holds (at least one body), 0 for no
	// bound per client.
	client int64
	read   time.Duration // the read timeout, the longest a body is read
	now    func() time.Time

	mu        sync.Mutex
	used      int64
	chunked   int64                  // of used, held by chunked bodies
	admin     int64                  // of used, held in the admin share
	clients   map[netip.Prefix]int64 // of used, held by each client holding any
	holds     map[*fasthttp.RequestHeader]*bodyHold
	lastSweep time.Time
	orphans   int64
	slow      int64
	// slowHolds are the holds the last sweep found slow, which a body
	// that does not fit may cut (see cutSlowLocked).
	slowHolds []slowHold

	// rate and grace are minBodyRate and bodyRateGrace (tests change them).
	rate  int64
	grace time.Duration
}

// bodyRoute is what the route of a request takes, as the server's
// HeaderReceived hook finds it from the request's head (see
// Server.bodyRoute).
type bodyRoute uint8

const (
	// routeBody reads bodies, held in the whole budget: a webhook whose
	// token names one (or could not be looked up: handle answers), and the
	// admin API on a listener of its own.
	routeBody bodyRoute = iota
	// routeAdmin is the admin API on the webhook port: its bodies are held
	// in the admin share.
	routeAdmin
	// routeNoWebhook is a webhook route whose token names no webhook (or
	// that has none), which handle answers 404 without reading the body.
	routeNoWebhook
	// routeNoBody is any other path: no route of the app reads a body
	// there.
	routeNoBody
)

// bodyClaim is what the budget is told of a request whose body it would
// hold: its route and its client.
type bodyClaim struct {
	route bodyRoute
	// client is the client's address, an IPv6 one's /64 (see bodyClient).
	client netip.Prefix
	// conn is the request's connection, nil when it is no bodyConn (the
	// apps' tests): its body is then never found slow.
	conn *bodyConn
}

// bodyRefusal is why the budget did not hold a body.
type bodyRefusal uint8

const (
	notRefused bodyRefusal = iota
	// refusedFull: the budget, or the chunked or admin share the body
	// draws from, cannot hold it (503).
	refusedFull
	// refusedClient: its client's share cannot hold it (503).
	refusedClient
	// refusedNoWebhook: its token names no webhook (404).
	refusedNoWebhook
	// refusedNoBody: no route reads a body on its path (413).
	refusedNoBody
)

// bodyHold is the budget's hold of one request's body.
type bodyHold struct {
	bytes int64
	// chunked is set for a chunked body, counted in the budget's chunked
	// share.
	chunked bool
	// admin is set for a body counted in the admin share.
	admin bool
	// client is the client the hold is counted to.
	client netip.Prefix
	// conn, want, read and since tell how the body arrives: the bytes read
	// from conn since its head (read then), of the want announced (the
	// body limit for a chunked one), and when the head came.
	conn  *bodyConn
	want  int64
	read  int64
	since time.Time
	// refused is set when the budget did not hold the body: fasthttp was
	// told to refuse it past smallBody bytes, and the refusal says why.
	refused bodyRefusal
	// handling is set once the handler runs: the hold ends when it returns.
	handling bool
	// expires is when a hold still receiving is surely an orphan.
	expires time.Time
}

// newBodyBudget returns a budget of max bytes, of which one client holds at
// most perClient (0: no bound), for bodies read within the read timeout
// read.
func newBodyBudget(max, perClient int, read time.Duration) *bodyBudget {
	return &bodyBudget{max: int64(max), client: int64(perClient), read: read, now: time.Now, clients: map[netip.Prefix]int64{},
		holds: map[*fasthttp.RequestHeader]*bodyHold{}, rate: minBodyRate, grace: bodyRateGrace}
}

// adminBodyBudget returns the budget of the admin listener for a server
// whose --body-memory is bodyMemory: adminBodyMemory or bodyMemory,
// whichever is less (at least one body at --body-limit either way, which
// the largest limit's 32 MiB buffer fits twice). With --admin-listen the
// server's bodies may so take up to that much more than --body-memory.
// One client holds at most the same part of it as perClient is of
// bodyMemory (an eighth by default; 0: no bound).
func adminBodyBudget(bodyMemory, perClient int, read time.Duration) *bodyBudget {
	max := min(bodyMemory, adminBodyMemory)
	return newBodyBudget(max, int(int64(perClient)*int64(max)/int64(bodyMemory)), read)
}

// admit is the HeaderReceived hook's work for a request within limit
// bytes: it reserves the buffer of the body h announces, or, when the
// budget does not hold it, has fasthttp refuse the body past smallBody
// bytes. A Content-Length over limit is left to the body limit's 413.
// claim tells what the request's route takes and who its client is; it
// is called only for a body over smallBody, outside the budget's lock (it
// may look a token up in the store).
func (b *bodyBudget) admit(h *fasthttp.RequestHeader, limit int, claim func(*fasthttp.RequestHeader) bodyClaim) fasthttp.RequestConfig {
	want := h.ContentLength() // -1: chunked, -2: none
	chunked := want == -1
	switch {
	case chunked:
		want = limit
	case want > limit:
		want = 0
	}
	if want <= smallBody {
		b.mu.Lock()
		b.dropLocked(h) // the context's previous request has ended
		b.mu.Unlock()
		return fasthttp.RequestConfig{}
	}
	cl := claim(h)
	size := bodyBuffer(want)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropLocked(h)
	now := b.now()
	hold := &bodyHold{chunked: chunked, admin: cl.route == routeAdmin, client: cl.client, conn: cl.conn, want: int64(want),
		since: now, expires: now.Add(b.read + sweepGrace)}
	if cl.conn != nil {
		hold.read = cl.conn.read.Load()
	}
	b.holds[h] = hold
	switch cl.route {
	case routeNoWebhook:
		hold.refused = refusedNoWebhook
	case routeNoBody:
		hold.refused = refusedNoBody
	default:
		hold.refused = b.fitsLocked(size, hold)
	}
	if hold.refused != notRefused {
		return fasthttp.RequestConfig{MaxRequestBodySize: smallBody}
	}
	hold.bytes = size
	b.used += size
	if chunked {
		b.chunked += size
	}
	if hold.admin {
		b.admin += size
	}
	b.clients[hold.client] += size
	return fasthttp.RequestConfig{}
}

// fitsLocked reports why size more bytes for hold do not fit (in its
// shares too), or notRefused. When they do not, it first drops orphaned
// holds and finds the holds whose bodies arrive too slowly (both at most
// once per sweepEvery, the holds being many); and when what refuses them
// is the budget itself, or the chunked or admin share they draw from, and
// not their client's share, it cuts as many of those slow holds, in that
// budget or share, as make room for them, and no more (their reads end).
// A client past its own share, or a budget with room, cuts no one.
func (b *bodyBudget) fitsLocked(size int64, hold *bodyHold) bodyRefusal {
	why := b.roomLocked(size, hold)
	if why == notRefused {
		return why
	}
	now := b.now()
	if now.Sub(b.lastSweep) >= sweepEvery {
		b.lastSweep = now
		b.slowHolds = b.slowHolds[:0]
		for h, held := range b.holds {
			switch {
			case held.handling:
			case now.After(held.expires):
				b.dropLocked(h)
				b.orphans++
			case b.behindLocked(held, now):
				b.slowHolds = append(b.slowHolds, slowHold{h, held})
			}
		}
		why = b.roomLocked(size, hold)
	}
	if why == refusedFull {
		b.cutSlowLocked(size, hold, now)
		why = b.roomLocked(size, hold)
	}
	return why
}

// slowHold is a hold whose body the last sweep found behind the pace, and
// the header it was held for.
type slowHold struct {
	h    *fasthttp.RequestHeader
	hold *bodyHold
}

// behindLocked reports whether held's body arrives slower than the
// budget's pace: only a held body read from a bodyConn can be.
func (b *bodyBudget) behindLocked(held *bodyHold, now time.Time) bool {
	return !held.handling && held.bytes > 0 && held.conn != nil &&
		bodyBehind(held.conn.read.Load()-held.read, held.want, now.Sub(held.since), b.grace, b.rate)
}

// cutSlowLocked cuts slow holds (found by the last sweep, and still held
// and slow) until size more bytes for hold fit in the budget and in the
// chunked and admin shares they draw from, counting only the holds that
// free what is short; it cuts none unless they would then fit. A cut
// hold's read fails at once (a deadline past), and fasthttp answers 408
// and closes the connection; the buffer is the collector's by then.
func (b *bodyBudget) cutSlowLocked(size int64, hold *bodyHold, now time.Time) {
	share := func(div int64) int64 { return max(b.max/div, size) }
	needPool := b.used + size - b.max
	needChunked, needAdmin := int64(0), int64(0)
	if hold.chunked {
		needChunked = b.chunked + size - share(chunkedShare)
	}
	if hold.admin {
		needAdmin = b.admin + size - share(adminShare)
	}
	// A hold frees what is short only if it is counted wherever something is.
	var cut []slowHold
	var freed int64
	need := max(needPool, needChunked, needAdmin)
	for _, sh := range b.slowHolds {
		if freed >= need {
			break
		}
		if b.holds[sh.h] != sh.hold || !b.behindLocked(sh.hold, now) ||
			needChunked > 0 && !sh.hold.chunked || needAdmin > 0 && !sh.hold.admin {
			continue
		}
		cut = append(cut, sh)
		freed += sh.hold.bytes
	}
	if freed < need {
		return // cutting them would not make room
	}
	for _, sh := range cut {
		_ = sh.hold.conn.SetReadDeadline(time.Unix(1, 0))
		b.dropLocked(sh.h)
		b.slow++
	}
}

// bodyBehind reports whether a body of want bytes, of which received
// have arrived within elapsed of its head, is behind a pace of rate bytes
// a second past grace.
func bodyBehind(received, want int64, elapsed, grace time.Duration, rate int64) bool {
	if elapsed <= grace {
		return false
	}
	due := min(want, int64((elapsed-grace).Seconds()*float64(rate)))
	return received < due
}

// roomLocked reports why size more bytes for hold do not fit, or
// notRefused: they must fit in its client's share, in the budget and, for
// a chunked body or the admin API on the webhook port, in that share.
func (b *bodyBudget) roomLocked(size int64, hold *bodyHold) bodyRefusal {
	share := func(div int64) int64 { return max(b.max/div, size) }
	switch {
	case b.client > 0 && b.clients[hold.client]+size > max(b.client, size):
		return refusedClient
	case b.used+size > b.max,
		hold.chunked && b.chunked+size > share(chunkedShare),
		hold.admin && b.admin+size > share(adminShare):
		return refusedFull
	}
	return notRefused
}

// refused reports why the budget did not hold the body of the request
// whose header is h, or notRefused.
func (b *bodyBudget) refused(h *fasthttp.RequestHeader) bodyRefusal {
	b.mu.Lock()
	defer b.mu.Unlock()
	if hold := b.holds[h]; hold != nil {
		return hold.refused
	}
	return notRefused
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
	hold, ok := b.holds[h]
	if !ok {
		return
	}
	delete(b.holds, h)
	if hold.bytes == 0 {
		return
	}
	b.used -= hold.bytes
	if hold.chunked {
		b.chunked -= hold.bytes
	}
	if hold.admin {
		b.admin -= hold.bytes
	}
	if b.clients[hold.client] -= hold.bytes; b.clients[hold.client] == 0 {
		delete(b.clients, hold.client)
	}
}

// bodyBudgetStats is what the budget holds now.
type bodyBudgetStats struct {
	Used    int64 // bytes held
	Chunked int64 // of Used, bytes held by chunked bodies
	Admin   int64 // of Used, bytes held in the admin share
	Holds   int   // requests held or refused, not yet ended
	Orphans int64 // holds dropped by a sweep since start
	Slow    int64 // holds dropped by a sweep for a slow body since start
}

// stats reports what the budget holds now.
func (b *bodyBudget) stats() bodyBudgetStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bodyBudgetStats{Used: b.used, Chunked: b.chunked, Admin: b.admin, Holds: len(b.holds), Orphans: b.orphans,
		Slow: b.slow}
}

// clientUsed reports the bytes held for client now.
func (b *bodyBudget) clientUsed(client netip.Prefix) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clients[client]
}

// bodyConn is a connection that counts the bytes read from it, so that the
// body budget can tell a body that arrives from one that does not. The
// server's listeners hand them out under TLS (see bodyListener).
type bodyConn struct {
	net.Conn
	read atomic.Int64
}

// Read reads from the connection and counts what it read.
func (c *bodyConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// bodyListener wraps a listener's connections in bodyConns.
type bodyListener struct{ net.Listener }

// Accept returns the next connection as a bodyConn.
func (l bodyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &bodyConn{Conn: c}, nil
}

// bodyConnOf returns the bodyConn that c is or that carries c (a TLS
// connection's), or nil.
func bodyConnOf(c net.Conn) *bodyConn {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	bc, _ := c.(*bodyConn)
	return bc
}
