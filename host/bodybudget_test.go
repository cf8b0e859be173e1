package host

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/dispatch"
	"github.com/hookhost/hookhost/internal/heaptest"
)

// TestBodyBudget_Admit checks what the budget reserves for each kind of
// head, what it tells fasthttp, and when holds end.
func TestBodyBudget_Admit(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	tests := []struct {
		name string
		// lengths are the Content-Length of the heads admitted in turn, each
		// on a request context of its own (-1: chunked, -2: none).
		lengths []int
		// wantMax is the MaxRequestBodySize fasthttp is told for each.
		wantMax []int
		// wantUsed is the bytes held after them.
		wantUsed int64
		// budget is the budget's size; 0 is two bodies at the limit.
		budget int
	}{
		{name: "NoBody", lengths: []int{-2, 0}, wantMax: []int{0, 0}, wantUsed: 0},
		{name: "SmallBodiesAreNotCounted", lengths: []int{1, smallBody}, wantMax: []int{0, 0}, wantUsed: 0},
		{name: "LengthRoundedUpToItsBuffer", lengths: []int{smallBody + 1, 300 << 10}, wantMax: []int{0, 0},
			wantUsed: 32<<10 + 512<<10},
		{name: "ChunkedCountsTheLimit", lengths: []int{-1}, wantMax: []int{0}, wantUsed: limit},
		{name: "OverTheLimitIsLeftTo413", lengths: []int{limit + 1}, wantMax: []int{0}, wantUsed: 0},
		{name: "FullBudgetRefusesPastSmallBody", lengths: []int{limit, limit, limit, 100, -1},
			wantMax: []int{0, 0, smallBody, 0, smallBody}, wantUsed: 2 * limit},
		{name: "ChunkedHoldHalfTheBudget", lengths: []int{-1, -1, limit}, wantMax: []int{0, smallBody, 0}, wantUsed: 2 * limit},
		{name: "ChunkedShareIsOneBodyAtLeast", lengths: []int{-1, -1}, wantMax: []int{0, smallBody}, wantUsed: limit, budget: limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			budget := tt.budget
			if budget == 0 {
				budget = 2 * limit
			}
			b := newBodyBudget(budget, budget/clientShare, time.Minute)
			ctxs := make([]fasthttp.RequestCtx, len(tt.lengths))
			for i, n := range tt.lengths {
				h := &ctxs[i].Request.Header
				h.SetContentLength(n)
				ctxs[i].SetRemoteAddr(testPeer(i)) // each a client of its own
				got := b.admit(h, limit, claimAs(routeBody))
				require.Equal(t, tt.wantMax[i], got.MaxRequestBodySize, "head %d (Content-Length %d)", i, n)
				require.Equal(t, got.MaxRequestBodySize != 0, b.refused(h) != notRefused, "head %d: refused", i)
			}
			require.Equal(t, tt.wantUsed, b.stats().Used)
			for i := range ctxs {
				b.done(&ctxs[i])
			}
			require.Equal(t, bodyBudgetStats{}, b.stats(), "every hold ends with its request")
		})
	}
}

// TestBodyBudget_Shares checks the shares a hold is counted in besides
// the budget (its client's, the admin API's on the webhook port), and
// that a body no route reads is refused past smallBody and never held.
func TestBodyBudget_Shares(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	type head struct {
		route  bodyRoute
		peer   string
		length int // Content-Length; -1: chunked
		want   bodyRefusal
	}
	tests := []struct {
		name   string
		budget int
		heads  []head
		want   bodyBudgetStats // after the heads
	}{
		{name: "OneClientHoldsAnEighth", budget: 16 * limit, heads: []head{
			{routeBody, "192.0.2.1", limit, notRefused},
			{routeBody, "192.0.2.1", limit, notRefused},
			{routeBody, "192.0.2.1", -1, refusedClient},
			{routeBody, "192.0.2.1", smallBody, notRefused}, // not counted
			{routeBody, "192.0.2.2", limit, notRefused},
		}, want: bodyBudgetStats{Used: 3 * limit, Holds: 4}},
		{name: "ClientShareIsOneBodyAtLeast", budget: 2 * limit, heads: []head{
			{routeBody, "192.0.2.1", limit, notRefused},
			{routeBody, "192.0.2.1", smallBody + 1, refusedClient},
			{routeBody, "192.0.2.2", limit, notRefused},
		}, want: bodyBudgetStats{Used: 2 * limit, Holds: 3}},
		{name: "IPv6ClientIsItsSlash64", budget: 8 * limit, heads: []head{
			{routeBody, "2001:db8::1", limit, notRefused},
			{routeBody, "2001:db8::2", limit, refusedClient},
			{routeBody, "2001:db8:0:1::1", limit, notRefused},
		}, want: bodyBudgetStats{Used: 2 * limit, Holds: 3}},
		{name: "FullBudgetWithinTheShare", budget: 2 * limit, heads: []head{
			{routeBody, "192.0.2.1", limit, notRefused},
			{routeBody, "192.0.2.2", limit, notRefused},
			{routeBody, "192.0.2.3", limit, refusedFull},
		}, want: bodyBudgetStats{Used: 2 * limit, Holds: 3}},
		{name: "AdminShareAQuarter", budget: 8 * limit, heads: []head{
			{routeAdmin, "192.0.2.1", limit, notRefused},
			{routeAdmin, "192.0.2.2", limit, notRefused},
			{routeAdmin, "192.0.2.3", limit, refusedFull},
			{routeBody, "192.0.2.3", limit, notRefused},
		}, want: bodyBudgetStats{Used: 3 * limit, Admin: 2 * limit, Holds: 4}},
		{name: "NoRouteIsNeverHeld", budget: limit, heads: []head{
			{routeNoWebhook, "192.0.2.1", limit, refusedNoWebhook},
			{routeNoBody, "192.0.2.1", -1, refusedNoBody},
			{routeNoBody, "192.0.2.1", smallBody, notRefused}, // not counted
			{routeBody, "192.0.2.1", limit, notRefused},
			{routeNoWebhook, "192.0.2.2", smallBody + 1, refusedNoWebhook},
		}, want: bodyBudgetStats{Used: limit, Holds: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBodyBudget(tt.budget, tt.budget/clientShare, time.Minute)
			ctxs := make([]fasthttp.RequestCtx, len(tt.heads))
			for i, hd := range tt.heads {
				ctxs[i].SetRemoteAddr(net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(hd.peer), 40000)))
				h := &ctxs[i].Request.Header
				h.SetContentLength(hd.length)
				got := b.admit(h, limit, claimAs(hd.route))
				require.Equal(t, hd.want, b.refused(h), "head %d", i)
				require.Equal(t, hd.want != notRefused, got.MaxRequestBodySize == smallBody, "head %d: refused past smallBody", i)
			}
			require.Equal(t, tt.want, b.stats())
			for i := range ctxs {
				b.done(&ctxs[i])
			}
			require.Equal(t, bodyBudgetStats{}, b.stats(), "every hold ends with its request")
			require.Empty(t, b.clients, "no client is remembered once its holds end")
		})
	}
}

// TestBodyClient checks the client a body is counted to, against
// dispatch.ClientIP (what the request log and the admin throttle use),
// which reads the same addresses from the routed request.
func TestBodyClient(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		peer    string
		xff     []string // X-Forwarded-For lines
		trusted []netip.Prefix
		want    string
	}{
		{name: "IPv4Peer", peer: "198.51.100.7", want: "198.51.100.7/32"},
		{name: "IPv6PeerByItsSlash64", peer: "2001:db8:1:2:3:4:5:6", want: "2001:db8:1:2::/64"},
		{name: "MappedIPv4Peer", peer: "::ffff:198.51.100.7", want: "198.51.100.7/32"},
		{name: "ForwardedIgnoredWithoutProxies", peer: "10.0.0.1", xff: []string{"203.0.113.9"}, want: "10.0.0.1/32"},
		{name: "ForwardedIgnoredFromAnotherPeer", peer: "198.51.100.7", xff: []string{"203.0.113.9"}, trusted: proxies, want: "198.51.100.7/32"},
		{name: "ForwardedFromAProxy", peer: "10.0.0.1", xff: []string{"203.0.113.9"}, trusted: proxies, want: "203.0.113.9/32"},
		{name: "RightmostNotAProxy", peer: "10.0.0.1", xff: []string{"192.0.2.1, 203.0.113.9 ,10.0.0.5"}, trusted: proxies, want: "203.0.113.9/32"},
		{name: "OverLines", peer: "10.0.0.1", xff: []string{"192.0.2.1, 203.0.113.9", "10.0.0.5"}, trusted: proxies, want: "203.0.113.9/32"},
		{name: "GarbageStopsTheWalk", peer: "10.0.0.1", xff: []string{"203.0.113.9, nonsense, 10.0.0.5"}, trusted: proxies, want: "10.0.0.5/32"},
		{name: "EmptyEntryStopsTheWalk", peer: "10.0.0.1", xff: []string{"203.0.113.9,"}, trusted: proxies, want: "10.0.0.1/32"},
		{name: "OnlyProxies", peer: "10.0.0.1", xff: []string{"10.0.0.9, 10.0.0.5"}, trusted: proxies, want: "10.0.0.9/32"},
		{name: "IPv6Forwarded", peer: "fd00::1", xff: []string{"2001:db8:5:6::7"}, trusted: proxies, want: "2001:db8:5:6::/64"},
		{name: "NoForwardedFromAProxy", peer: "10.0.0.1", trusted: proxies, want: "10.0.0.1/32"},
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fctx fasthttp.RequestCtx
			fctx.SetRemoteAddr(net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(tt.peer), 40000)))
			fctx.Request.SetRequestURI("/webhooks/x")
			for _, line := range tt.xff {
				fctx.Request.Header.Add(fiber.HeaderXForwardedFor, line)
			}
			got := bodyClient(fctx.RemoteAddr(), &fctx.Request.Header, tt.trusted)
			require.Equal(t, netip.MustParsePrefix(tt.want), got)

			c := app.AcquireCtx(&fctx)
			defer app.ReleaseCtx(c)
			ip := netip.MustParseAddr(dispatch.ClientIP(c, tt.trusted)).Unmap()
			bits := 32
			if ip.Is6() {
				bits = 64
			}
			require.Equal(t, netip.PrefixFrom(ip, bits).Masked(), got, "as dispatch.ClientIP finds it")
		})
	}
}

// TestServer_BodyMemoryIdleHeads is the review's attack: one client opens
// connections that announce a body at the limit and send two bytes of it,
// to / (no route reads a body there), to webhook routes whose token names
// no webhook, to the admin API on the webhook port and to a webhook's own
// URL, and more clients send such heads to the admin API. Each held a body
// for the read timeout, and every other client's webhook body over 16 KiB
// got 503 until they ended. Now the bodies no route reads are answered at
// once (413, 404) and never held, the client holds its share (an eighth of
// the budget) and the admin API its share (a quarter): another client's
// bodies are served, at the limit too.
func TestServer_BodyMemoryIdleHeads(t *testing.T) {
	t.Parallel()
	const (
		limit  = 1 << 20
		budget = 8 << 20
		each   = budget / limit // heads per path: enough to fill the budget
	)
	b := setup(t, func(c *Config) {
		c.BodyLimit, c.BodyMemory, c.ReadTimeout = limit, budget, time.Minute
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	addr := serveTest(t, b)
	atLimit := "Content-Length: " + strconv.Itoa(limit) + "\r\n"

	type hostile struct {
		path, client string
		answers      chan int
	}
	// In turn (each group admitted before the next), so that what is held
	// at the end is known.
	var groups [][]hostile
	for _, path := range []string{"/", "/nowhere", "/webhooks/no-such-token", "/webhooks?token=no-such-token", "/webhooks",
		"/api/v1/packages/import", "/webhooks/" + tok} {
		groups = append(groups, slices.Repeat([]hostile{{path: path, client: "198.51.100.66"}}, each))
	}
	var others []hostile
	for i := range each {
		others = append(others, hostile{path: "/api/v1/packages/import", client: "198.51.100." + strconv.Itoa(100+i)})
	}
	groups = append(groups, others)
	var heads []*hostile
	answered := make(chan struct{}, len(groups)*each)
	n := 0
	for _, group := range groups {
		for i := range group {
			hd := &group[i]
			hd.answers = make(chan int, 1)
			heads = append(heads, hd)
			c := sendHead(t, addr, hd.path, "X-Forwarded-For: "+hd.client+"\r\n"+atLimit, "ab")
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				st := 0 // closed by the test
				if err == nil {
					_ = resp.Body.Close()
					st = resp.StatusCode
				}
				hd.answers <- st
				answered <- struct{}{}
			}()
		}
		// Every head so far is either answered or held.
		waitFor(t, func() bool {
			for len(answered) > 0 {
				<-answered
				n++
			}
			return n+b.srv.bodies.stats().Holds == len(heads)
		}, "the hostile heads are admitted")
	}

	// Another client's bodies are served: before, 503 for each.
	victim := "X-Forwarded-For: 203.0.113.1\r\n"
	for _, size := range []int{100_000, limit} {
		st, body := ask(t, addr, "POST", "/webhooks/"+tok, victim+"Content-Length: "+strconv.Itoa(size)+"\r\nExpect: 100-continue\r\n",
			strings.Repeat("x", size))
		require.Equal(t, http.StatusOK, st, "a %d-byte body from another client: %s", size, body)
	}

	// The attacker holds its client's share, one body, and another client
	// one in the admin share; nothing else is held.
	require.Equal(t, bodyBudgetStats{Used: 2 * limit, Admin: 2 * limit, Holds: 2}, b.srv.bodies.stats())
	require.Equal(t, int64(limit), b.srv.bodies.clientUsed(netip.MustParsePrefix("198.51.100.66/32")))
	want := map[string]int{
		"/": http.StatusRequestEntityTooLarge, "/nowhere": http.StatusRequestEntityTooLarge,
		"/webhooks/no-such-token": http.StatusNotFound, "/webhooks?token=no-such-token": http.StatusNotFound, "/webhooks": http.StatusNotFound,
		"/api/v1/packages/import": http.StatusServiceUnavailable, "/webhooks/" + tok: http.StatusServiceUnavailable,
	}
	held := 0
	for _, hd := range heads {
		select {
		case st := <-hd.answers:
			require.Equal(t, want[hd.path], st, "%s from %s", hd.path, hd.client)
		default:
			held++
		}
	}
	require.Equal(t, 2, held)
}

// TestServer_BodyMemoryPerPeer checks that a client is its connection's
// peer address without --trusted-proxies (and X-Forwarded-For is not
// believed): one peer holding its share leaves room for another's body.
// It needs a second loopback address (127.0.0.2, there on Linux).
func TestServer_BodyMemoryPerPeer(t *testing.T) {
	t.Parallel()
	const (
		limit  = 1 << 20
		budget = 8 << 20
	)
	b := setup(t, func(c *Config) { c.BodyLimit, c.BodyMemory, c.ReadTimeout = limit, budget, time.Minute })
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	addr := serveTest(t, b)
	path := "/webhooks/" + tok
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	var statuses []int
	for i := range budget / limit {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Skipf("no second loopback address: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_, err = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: hooks.test\r\nX-Forwarded-For: 203.0.113."+strconv.Itoa(i)+
			"\r\nContent-Length: "+strconv.Itoa(limit)+"\r\n\r\nab")
		require.NoError(t, err)
		if i == 0 {
			waitFor(t, func() bool { return b.srv.bodies.stats().Used == limit }, "the first body is held")
			continue
		}
		resp, _ := readAnswer(t, c)
		statuses = append(statuses, resp.StatusCode)
	}
	require.Equal(t, slices.Repeat([]int{http.StatusServiceUnavailable}, budget/limit-1), statuses, "the peer holds its share, one body")
	require.Equal(t, int64(limit), b.srv.bodies.clientUsed(netip.MustParsePrefix("127.0.0.2/32")))
	st, body := upload(t, addr, path, limit)
	require.Equal(t, http.StatusOK, st, "another peer's body: %s", body)
}

// TestBodyBehind checks the pace a held body must keep once the budget is
// full: nothing within the grace, then minBodyRate on average, never more
// than the body.
func TestBodyBehind(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	tests := []struct {
		name           string
		received, want int64
		elapsed        time.Duration
		behind         bool
	}{
		{name: "NothingWithinTheGrace", received: 0, want: limit, elapsed: bodyRateGrace},
		{name: "NothingPastIt", received: 2, want: limit, elapsed: bodyRateGrace + time.Second, behind: true},
		{name: "AtThePace", received: 4 * minBodyRate, want: limit, elapsed: bodyRateGrace + 4*time.Second},
		{name: "JustBehindThePace", received: 4*minBodyRate - 1, want: limit, elapsed: bodyRateGrace + 4*time.Second, behind: true},
		{name: "WholeBodyIsEnough", received: 100_000, want: 100_000, elapsed: time.Hour},
		{name: "ShortOfASmallBody", received: 99_999, want: 100_000, elapsed: time.Hour, behind: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.behind, bodyBehind(tt.received, tt.want, tt.elapsed, bodyRateGrace, minBodyRate))
		})
	}
}

// TestBodyConnOf checks that the budget finds the counting connection
// under TLS, where fasthttp's connection is the TLS one.
func TestBodyConnOf(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	bc := &bodyConn{Conn: a}
	require.Same(t, bc, bodyConnOf(bc))
	require.Same(t, bc, bodyConnOf(tls.Server(bc, &tls.Config{})))
	require.Nil(t, bodyConnOf(b))
}

// TestServer_BodyMemorySlowBodiesGiveWay fills the budget with a body
// that does not come (its head and two bytes) and one that comes at a
// pace, then, the budget's clock past the grace, asks for room for a third:
// the body that does not come is dropped for it (408, its connection
// closed), the one that comes is not, and both others are served. Before,
// the third got 503 until the read timeout ended the first.
func TestServer_BodyMemorySlowBodiesGiveWay(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	b := setup(t, func(c *Config) {
		c.BodyLimit, c.BodyMemory, c.ReadTimeout = limit, 2*limit, time.Minute
		c.TrustedProxies = testProxies
	})
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	var clock atomic.Int64 // the budget's, in seconds
	clock.Store(1_000_000)
	b.srv.bodies.now = func() time.Time { return time.Unix(clock.Load(), 0) }
	addr := serveTest(t, b)
	path := "/webhooks/" + tok
	atLimit := "Content-Length: " + strconv.Itoa(limit) + "\r\n"

	idle := sendHead(t, addr, path, forwardedFor(0)+atLimit, "ab")
	half := strings.Repeat("x", limit/2)
	steady := sendHead(t, addr, path, forwardedFor(1)+atLimit, half)
	waitFor(t, func() bool { return b.srv.bodies.stats().Used == 2*limit }, "both bodies are held")
	steadyClient := netip.MustParsePrefix("198.18.0.1/32")
	waitFor(t, func() bool {
		bb := b.srv.bodies
		bb.mu.Lock()
		defer bb.mu.Unlock()
		for _, hold := range bb.holds {
			// Less what the server read with the head, at most its buffer.
			if hold.client == steadyClient && hold.conn.read.Load()-hold.read >= limit/2-16<<10 {
				return true
			}
		}
		return false
	}, "the server has read the half sent")
	// Four seconds past the grace, at a pace of 256 KiB: the half sent is
	// ahead of it, the two bytes behind.
	clock.Add(int64((bodyRateGrace + 4*time.Second) / time.Second))

	st, body := upload(t, addr, path, limit)
	require.Equal(t, http.StatusOK, st, "a body from another client: %s", body)
	resp, _ := readAnswer(t, idle)
	require.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "the body that does not come is dropped")
	require.Equal(t, bodyBudgetStats{Used: limit, Holds: 1, Slow: 1}, b.srv.bodies.stats(), "the body that comes is held")
	_, err := io.WriteString(steady, half)
	require.NoError(t, err)
	resp, body = readAnswer(t, steady)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	waitBudgetEmpty(t, b.srv.bodies)
}

// TestBodyBudget_TokenChangesNothing fills a budget and admits a head
// announcing a body at the limit with each Authorization and path: each is
// counted and refused alike, so that the budget tells nothing of a token.
func TestBodyBudget_TokenChangesNothing(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	tests := []struct {
		name, auth, path string
		chunked          bool
	}{
		{name: "AdminToken", auth: "Bearer " + testAdminToken, path: "/api/v1/packages/import"},
		{name: "AdminTokenChunked", auth: "Bearer " + testAdminToken, path: "/api/v1/packages/import", chunked: true},
		{name: "WrongToken", auth: "Bearer " + testAdminToken + "x", path: "/api/v1/packages/import"},
		{name: "NoAuthorization", path: "/api/v1/packages/import"},
		{name: "WebhookPath", auth: "Bearer " + testAdminToken, path: "/webhooks/abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBodyBudget(limit, limit/clientShare, time.Minute)
			var full, ctx fasthttp.RequestCtx
			full.SetRemoteAddr(testPeer(0))
			ctx.SetRemoteAddr(testPeer(1))
			full.Request.Header.SetContentLength(limit)
			require.Zero(t, b.admit(&full.Request.Header, limit, claimAs(routeBody)).MaxRequestBodySize)

			h := &ctx.Request.Header
			h.SetContentLength(limit)
			if tt.chunked {
				h.SetContentLength(-1)
			}
			if tt.auth != "" {
				h.Set(fasthttp.HeaderAuthorization, tt.auth)
			}
			h.SetRequestURI(tt.path)
			require.Equal(t, smallBody, b.admit(h, limit, claimAs(routeBody)).MaxRequestBodySize, "refused")
			require.Equal(t, bodyBudgetStats{Used: limit, Holds: 2}, b.stats())
		})
	}
}

// TestBodyBudget_HoldsEnd checks the ends of a hold other than done: the
// next head on the same request context, and the sweep of orphans, which
// drops only holds still receiving past the read timeout.
func TestBodyBudget_HoldsEnd(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	now := time.Unix(1_000_000, 0)
	b := newBodyBudget(2*limit, 2*limit/clientShare, 10*time.Second)
	b.now = func() time.Time { return now }
	var receiving, handled, next, last fasthttp.RequestCtx
	for i, ctx := range []*fasthttp.RequestCtx{&receiving, &handled, &next, &last} {
		ctx.SetRemoteAddr(testPeer(i)) // each a client of its own
	}
	admit := func(ctx *fasthttp.RequestCtx, n int) int {
		ctx.Request.Header.SetContentLength(n)
		return b.admit(&ctx.Request.Header, limit, claimAs(routeBody)).MaxRequestBodySize
	}

	require.Zero(t, admit(&receiving, limit))
	require.Zero(t, admit(&receiving, limit), "the context's next head replaces its hold")
	require.Equal(t, int64(limit), b.stats().Used)
	require.Zero(t, admit(&handled, limit))
	b.handling(&handled.Request.Header)

	require.Equal(t, smallBody, admit(&next, limit), "full")
	now = now.Add(10*time.Second + sweepGrace)
	require.Equal(t, smallBody, admit(&next, limit), "still full at the read timeout and its grace")
	now = now.Add(sweepEvery)
	require.Zero(t, admit(&next, limit), "the hold still receiving past it is an orphan")
	require.Equal(t, bodyBudgetStats{Used: 2 * limit, Holds: 2, Orphans: 1}, b.stats())

	// A handler runs as long as it runs: its hold is never an orphan.
	now = now.Add(time.Hour)
	require.Zero(t, admit(&last, limit), "next's hold, still receiving, is swept; handled's is not")
	require.Equal(t, bodyBudgetStats{Used: 2 * limit, Holds: 2, Orphans: 2}, b.stats())
	b.done(&handled)
	b.done(&last)
	require.Equal(t, bodyBudgetStats{Orphans: 2}, b.stats())
}

// TestServer_BodyMemoryIsBounded opens connections that announce bodies
// at the body limit and send two bytes of them, as the hostile review did
// (1,000 of them took a server from 33 MiB to 1,038 MiB): the heap grows
// by about the body budget, not by a limit per connection; a further
// large body gets 503 with Retry-After, before any 100 Continue, while
// small bodies are served; and once the slow connections close, the
// budget is empty and a body at the limit is served.
//
// Not parallel: it measures the process's heap, which parallel tests would
// share (Go runs them only after every test that is not).
func TestServer_BodyMemoryIsBounded(t *testing.T) {
	const (
		limit  = 1 << 20
		budget = 8 << 20
		held   = budget / limit
		slow   = 40
	)
	b := setup(t, func(c *Config) {
		c.BodyLimit, c.BodyMemory, c.ReadTimeout = limit, budget, time.Minute
		c.TrustedProxies = testProxies // each connection a client of its own
	})
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	addr := serveTest(t, b)
	path := "/webhooks/" + tok

	before := heaptest.Live()
	answers := make(chan int, slow)
	conns := make([]net.Conn, slow)
	for i := range conns {
		conns[i] = sendHead(t, addr, path, forwardedFor(i)+"Content-Length: "+strconv.Itoa(limit)+"\r\n", "ab")
		go func(c net.Conn) {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answers <- 0 // closed by the test
				return
			}
			_ = resp.Body.Close()
			answers <- resp.StatusCode
		}(conns[i])
	}
	// The budget holds the first bodies, and refuses the others at once.
	refused := 0
	wait := time.After(20 * time.Second) // a bound on a broken server, not a timing assertion
	for refused < slow-held {
		select {
		case st := <-answers:
			require.Equal(t, http.StatusServiceUnavailable, st)
			refused++
		case <-wait:
			t.Logf("after 20 s, %d of %d connections were answered", refused, slow)
			refused = slow // measure what the server holds
		}
	}
	grown := int64(heaptest.Live()) - int64(before)
	t.Logf("%d connections announcing %d bytes: the live heap grew by %d bytes (budget %d)", slow, limit, grown, budget)
	require.Less(t, grown, int64(budget+4<<20), "the heap grows by the budget, not by the body limit per connection")
	require.Equal(t, bodyBudgetStats{Used: budget, Holds: held}, b.srv.bodies.stats())

	probes := []struct {
		name, head, body string
		wantStatus       int
	}{
		{"AnnouncedAtTheLimit", "Content-Length: " + strconv.Itoa(limit) + "\r\n", "", http.StatusServiceUnavailable},
		{"AnnouncedWithExpect", "Content-Length: " + strconv.Itoa(limit) + "\r\nExpect: 100-continue\r\n", "", http.StatusServiceUnavailable},
		{"ChunkedPastSmallBody", "Transfer-Encoding: chunked\r\n", strconv.FormatInt(2*smallBody, 16) + "\r\n", http.StatusServiceUnavailable},
		{"SmallBody", "Content-Length: 1024\r\n", strings.Repeat("x", 1024), http.StatusOK},
		{"SmallChunked", "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n", http.StatusOK},
	}
	for _, p := range probes {
		c := sendHead(t, addr, path, p.head, p.body)
		resp, body := readAnswer(t, c)
		require.Equal(t, p.wantStatus, resp.StatusCode, "%s: %s", p.name, body)
		if p.wantStatus == http.StatusOK {
			require.Equal(t, "ok", body, p.name)
			continue
		}
		require.Equal(t, busyRetryAfter, resp.Header.Get(fiber.HeaderRetryAfter), p.name)
		require.Equal(t, api.ProblemType, resp.Header.Get(fiber.HeaderContentType), p.name)
		var pr api.Problem
		require.NoError(t, json.Unmarshal([]byte(body), &pr), "%s: %s", p.name, body)
		require.Equal(t, http.StatusServiceUnavailable, pr.Status, p.name)
		require.Contains(t, pr.Detail, "receiving too many request bodies", p.name)
		require.True(t, resp.Close, "%s: the connection closes: the body is not read", p.name)
	}
	require.Equal(t, bodyBudgetStats{Used: budget, Holds: held}, b.srv.bodies.stats(), "probes hold nothing after they end")

	for _, c := range conns {
		_ = c.Close()
	}
	waitBudgetEmpty(t, b.srv.bodies)
	st, body := upload(t, addr, path, limit)
	require.Equal(t, http.StatusOK, st, "a body at the limit once the slow connections closed: %s", body)
	require.Equal(t, bodyBudgetStats{}, b.srv.bodies.stats())
}

// TestServer_IdleConnectionsKeepNoBody sends a body at the limit on each
// of several keep-alive connections and leaves them idle: the bodies are
// not kept. fasthttp keeps a request's body buffer with its connection's
// context for the next request, so 300 idle connections that had each
// sent 1 MB held a server at 325 MiB RSS (35 MiB now), out of the
// budget's count.
//
// Not parallel: it measures the process's heap.
func TestServer_IdleConnectionsKeepNoBody(t *testing.T) {
	const (
		limit = 1 << 20
		idle  = 24
	)
	b := setup(t, func(c *Config) { c.BodyLimit = limit })
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	addr := serveTest(t, b)

	before := heaptest.Live()
	for range idle {
		c := sendHead(t, addr, "/webhooks/"+tok, "Content-Length: "+strconv.Itoa(limit)+"\r\n", strings.Repeat("x", limit))
		resp, body := readAnswer(t, c)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		require.False(t, resp.Close, "the connection stays open, idle")
	}
	grown := int64(heaptest.Live()) - int64(before)
	t.Logf("%d idle connections after a %d-byte body each: the live heap grew by %d bytes", idle, limit, grown)
	require.Less(t, grown, int64(4<<20), "an idle connection keeps no large body buffer")
	require.Equal(t, bodyBudgetStats{}, b.srv.bodies.stats())
}

// TestServer_BodyMemoryReleased checks that the budget returns to empty
// after each way a held body can end without its handler: a read timeout
// (408), a client that closes mid-body, and the orphan fasthttp ends
// without a hook (a chunked body closed at a chunk's size line), which is
// swept once the read timeout has passed. The budget holds one body at the
// limit, so each case's hold would refuse the next body while it lasted.
func TestServer_BodyMemoryReleased(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	b := setup(t, func(c *Config) { c.BodyLimit, c.BodyMemory, c.ReadTimeout = limit, limit, time.Second })
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	addr := serveTest(t, b)
	path := "/webhooks/" + tok
	atLimit := "Content-Length: " + strconv.Itoa(limit) + "\r\n"
	served := func(t *testing.T) {
		t.Helper()
		st, body := upload(t, addr, path, limit)
		require.Equal(t, http.StatusOK, st, "%s", body)
		require.Equal(t, bodyBudgetStats{Orphans: b.srv.bodies.stats().Orphans}, b.srv.bodies.stats())
	}

	t.Run("ReadTimeout", func(t *testing.T) {
		resp, _ := readAnswer(t, sendHead(t, addr, path, atLimit, "ab"))
		require.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
		// The hold ended before the answer was written.
		require.Equal(t, bodyBudgetStats{}, b.srv.bodies.stats())
		served(t)
	})
	t.Run("ClosedMidBody", func(t *testing.T) {
		c := sendHead(t, addr, path, atLimit, "ab")
		waitFor(t, func() bool { return b.srv.bodies.stats().Used == limit }, "the body is held")
		_ = c.Close()
		waitBudgetEmpty(t, b.srv.bodies)
		served(t)
	})
	t.Run("OrphanedChunked", func(t *testing.T) {
		c := sendHead(t, addr, path, "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n")
		waitFor(t, func() bool { return b.srv.bodies.stats().Used == limit }, "the chunked body is held")
		_ = c.Close()
		// fasthttp ends the connection silently, with no hook: the hold
		// ends when its request context, back in fasthttp's pool, receives
		// another head, or else when a full budget sweeps it once the read
		// timeout and its grace have passed.
		waitFor(t, func() bool {
			st, body := upload(t, addr, path, limit)
			if st != http.StatusOK {
				require.Equal(t, http.StatusServiceUnavailable, st, "%s", body)
			}
			return st == http.StatusOK
		}, "a body at the limit is served once the orphan is swept")
		st := b.srv.bodies.stats()
		t.Logf("the orphan ended by %s", map[int64]string{0: "its context's next head", 1: "a sweep"}[st.Orphans])
		require.LessOrEqual(t, st.Orphans, int64(1))
		require.Equal(t, bodyBudgetStats{Orphans: st.Orphans}, st)
	})
}

// TestServer_BodyMemoryIgnoresTheToken fills the budget with webhook
// bodies that do not come (connections announcing 1 MiB each and sending
// 2 bytes), with the admin API on the webhook port: an admin upload past
// smallBody gets 503 whatever its token, and a head withheld after its
// token is held alike, so that what the budget leaves for the next request
// tells nothing of the token either.
func TestServer_BodyMemoryIgnoresTheToken(t *testing.T) {
	t.Parallel()
	const (
		limit  = 1 << 20
		budget = 4 << 20
	)
	b := setup(t, func(c *Config) {
		c.BodyLimit, c.BodyMemory, c.ReadTimeout = limit, budget, time.Minute
		c.TrustedProxies = testProxies
	})
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	addr := serveTest(t, b)
	var holders []net.Conn
	hold := func(i int) net.Conn {
		return sendHead(t, addr, "/webhooks/"+tok, forwardedFor(i)+"Content-Length: "+strconv.Itoa(limit)+"\r\n", "ab")
	}
	for i := range budget/limit - 1 {
		holders = append(holders, hold(i))
	}
	waitFor(t, func() bool { return b.srv.bodies.stats().Used == budget-limit }, "the webhook bodies hold all but one body")

	tests := []struct{ name, auth string }{
		{"NoToken", ""},
		{"WrongToken", "Authorization: Bearer not-the-token\r\n"},
		{"AdminToken", "Authorization: Bearer " + testAdminToken + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"HeadHeld", func(t *testing.T) {
			c := sendRequest(t, addr, "PUT", "/api/v1/secrets/big", tt.auth+"Content-Length: "+strconv.Itoa(limit)+"\r\n", "")
			waitFor(t, func() bool { return b.srv.bodies.stats().Holds == budget/limit }, "the head is held")
			require.Equal(t, bodyBudgetStats{Used: budget, Admin: limit, Holds: budget / limit}, b.srv.bodies.stats())
			require.NoError(t, c.Close())
			waitFor(t, func() bool { return b.srv.bodies.stats().Holds == budget/limit-1 }, "the hold ends")
		})
	}
	holders = append(holders, hold(budget/limit))
	waitFor(t, func() bool { return b.srv.bodies.stats().Used == budget }, "the webhook bodies fill the budget")
	secret := strings.Repeat("s", 20_000)
	for _, tt := range tests {
		t.Run(tt.name+"Refused", func(t *testing.T) {
			st, body := ask(t, addr, "PUT", "/api/v1/secrets/big", tt.auth+"Content-Length: "+strconv.Itoa(len(secret))+"\r\n", secret)
			require.Equal(t, http.StatusServiceUnavailable, st, "%s", body)
			require.Equal(t, bodyBudgetStats{Used: budget, Holds: budget / limit}, b.srv.bodies.stats())
		})
	}
	for _, c := range holders {
		require.NoError(t, c.Close())
	}
	waitBudgetEmpty(t, b.srv.bodies)
	st, body := ask(t, addr, "PUT", "/api/v1/secrets/big", tests[2].auth+"Content-Length: "+strconv.Itoa(len(secret))+"\r\n", secret)
	require.Equal(t, http.StatusCreated, st, "with room: %s", body)
}

// TestServer_AdminListenerHasItsOwnBodyMemory fills the webhook port's
// budget with bodies that do not come: on --admin-listen the admin API
// still takes an upload and answers by its token (201, 401), from a budget
// of its own, which bodies withheld there fill in turn (503 whatever the
// token).
func TestServer_AdminListenerHasItsOwnBodyMemory(t *testing.T) {
	t.Parallel()
	const (
		limit  = 1 << 20
		budget = 4 << 20 // less than adminBodyMemory: the admin's is as large
	)
	b := setup(t, func(c *Config) {
		c.BodyLimit, c.BodyMemory, c.ReadTimeout, c.AdminListen = limit, budget, time.Minute, "127.0.0.1:0"
		c.TrustedProxies = testProxies
	})
	addr, adminAddr := serveTestAdmin(t, b)
	// The webhook, through the admin listener's app.
	adminDo := func(path, contentType, body string) string {
		req := httptest.NewRequest(http.MethodPost, "/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := b.srv.AdminApp().Test(req, -1)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", got)
		return string(got)
	}
	automation, err := json.Marshal(map[string]string{"name": "ok", "extension_id": "cerb.trigger.webhook.respond",
		"script": "start:\n  return:\n    body: ok\n"})
	require.NoError(t, err)
	adminDo("/automations", "application/json", string(automation))
	var created struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(adminDo("/webhooks?name=ok", "text/plain", eventFor("ok"))), &created))
	tok := created.Token
	head := "Content-Length: " + strconv.Itoa(limit) + "\r\n"
	for i := range budget / limit {
		sendHead(t, addr, "/webhooks/"+tok, forwardedFor(i)+head, "ab")
	}
	waitFor(t, func() bool { return b.srv.bodies.stats().Used == budget }, "the webhook bodies fill the budget")

	secret := strings.Repeat("s", 20_000)
	put := func(auth string) (int, string) {
		return ask(t, adminAddr, "PUT", "/api/v1/secrets/big", auth+"Content-Length: "+strconv.Itoa(len(secret))+"\r\n", secret)
	}
	tests := []struct {
		name, auth           string
		wantRoom, wantNoRoom int
	}{
		{"NoToken", "", http.StatusUnauthorized, http.StatusServiceUnavailable},
		{"WrongToken", "Authorization: Bearer not-the-token\r\n", http.StatusUnauthorized, http.StatusServiceUnavailable},
		{"AdminToken", "Authorization: Bearer " + testAdminToken + "\r\n", http.StatusCreated, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		st, body := put(tt.auth)
		require.Equal(t, tt.wantRoom, st, "%s, the webhook port's budget full: %s", tt.name, body)
	}
	require.Equal(t, bodyBudgetStats{}, b.srv.adminBodies.stats())
	for i := range budget / limit {
		sendHead(t, adminAddr, "/api/v1/packages/import", forwardedFor(i)+head, "ab")
	}
	waitFor(t, func() bool { return b.srv.adminBodies.stats().Used == budget }, "the admin listener's budget is full")
	for _, tt := range tests {
		st, body := put(tt.auth)
		require.Equal(t, tt.wantNoRoom, st, "%s, its own budget full: %s", tt.name, body)
	}
}

// TestServer_BodyMemoryThrottledAdmin fills the admin listener's budget
// and has a client fail to authenticate until it is throttled: its admin
// requests are then answered 429 whatever the token, before the body with
// Expect: 100-continue and in place of the full budget's 503 without. A
// refusal for want of memory checks no token and counts no failure.
func TestServer_BodyMemoryThrottledAdmin(t *testing.T) {
	t.Parallel()
	const (
		limit  = 1 << 20
		budget = 4 << 20
		burst  = 10 // admin.authBurst
	)
	b := setup(t, func(c *Config) {
		c.BodyLimit, c.BodyMemory, c.ReadTimeout, c.AdminListen = limit, budget, time.Minute, "127.0.0.1:0"
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	_, adminAddr := serveTestAdmin(t, b)
	var holders []net.Conn
	for i := range budget / limit {
		holders = append(holders, sendHead(t, adminAddr, "/api/v1/packages/import", forwardedFor(i)+"Content-Length: "+strconv.Itoa(limit)+"\r\n", "ab"))
	}
	waitFor(t, func() bool { return b.srv.adminBodies.stats().Used == budget }, "the bodies fill the budget")

	secret := strings.Repeat("s", 20_000)
	path := func(client string) string { return "/api/v1/secrets/big_" + strings.ReplaceAll(client, ".", "_") }
	head := func(client, token, expect string) string {
		return "X-Forwarded-For: " + client + "\r\nAuthorization: Bearer " + token + "\r\n" + expect + "Content-Length: " + strconv.Itoa(len(secret)) + "\r\n"
	}
	put := func(client, token, expect string) (int, string) {
		return ask(t, adminAddr, "PUT", path(client), head(client, token, expect), secret)
	}
	get := func(client, token string) int {
		st, _ := ask(t, adminAddr, "GET", "/api/v1/version", "X-Forwarded-For: "+client+"\r\nAuthorization: Bearer "+token+"\r\n", "")
		return st
	}
	// throttled checks that client's request with token is answered 429
	// at once: before the body with Expect, whatever the token.
	throttled := func(client, token, expect string) {
		t.Helper()
		body := secret
		if expect != "" {
			body = ""
		}
		resp, got := readAnswer(t, sendRequest(t, adminAddr, "PUT", path(client), head(client, token, expect), body))
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%s", got)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
		require.Contains(t, got, "too many failed admin authentications")
	}
	tests := []struct {
		name, guesser, other, expect string
	}{
		{"BodySent", "198.51.100.1", "198.51.100.2", ""},
		{"Expect100Continue", "198.51.100.3", "198.51.100.4", "Expect: 100-continue\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var statuses []int
			for range burst {
				st, _ := put(tt.guesser, "guess", tt.expect)
				statuses = append(statuses, st)
			}
			require.Equal(t, slices.Repeat([]int{http.StatusServiceUnavailable}, burst), statuses)
			require.Equal(t, http.StatusUnauthorized, get(tt.guesser, "guess"), "refusals for want of memory are no failures")
			for range burst - 1 {
				require.Equal(t, http.StatusUnauthorized, get(tt.guesser, "guess"))
			}
			throttled(tt.guesser, "guess", tt.expect)
			throttled(tt.guesser, testAdminToken, tt.expect)
			st, body := put(tt.other, testAdminToken, tt.expect)
			require.Equal(t, http.StatusServiceUnavailable, st, "another client waits for room: %s", body)
			require.Equal(t, bodyBudgetStats{Used: budget, Holds: budget / limit}, b.srv.adminBodies.stats())
		})
	}

	for _, c := range holders {
		require.NoError(t, c.Close())
	}
	waitBudgetEmpty(t, b.srv.adminBodies)
	for _, tt := range tests {
		st, body := put(tt.other, testAdminToken, tt.expect)
		require.Equal(t, http.StatusCreated, st, "%s: another client, with room: %s", tt.name, body)
		throttled(tt.guesser, testAdminToken, tt.expect)
	}
}

// TestServer_BodyMemoryChunkedShare holds chunked bodies that do not come
// (a chunk's size line, then nothing) on as many connections as the
// budget holds bodies at the limit, as orphaned chunked bodies would until
// the sweep: they hold only half of the budget, so that a Content-Length
// body at the limit is still served. The chunked heads past that share
// are refused past smallBody, with or without Expect: 100-continue.
func TestServer_BodyMemoryChunkedShare(t *testing.T) {
	t.Parallel()
	const (
		limit  = 1 << 20
		budget = 4 << 20
		bodies = budget / limit
	)
	b := setup(t, func(c *Config) {
		c.BodyLimit, c.BodyMemory, c.ReadTimeout = limit, budget, time.Minute
		c.TrustedProxies = testProxies
	})
	b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := b.createWebhook(t, "ok", eventFor("ok"))
	addr := serveTest(t, b)
	path := "/webhooks/" + tok
	for i := range bodies {
		sendHead(t, addr, path, forwardedFor(i)+"Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n")
	}
	waitFor(t, func() bool { return b.srv.bodies.stats().Holds == bodies }, "the chunked heads are admitted")

	st, body := upload(t, addr, path, limit)
	require.Equal(t, http.StatusOK, st, "a Content-Length body at the limit: %s", body)
	require.Equal(t, bodyBudgetStats{Used: budget / 2, Chunked: budget / 2, Holds: bodies}, b.srv.bodies.stats(),
		"the chunked bodies hold half of the budget; the others are refused")

	// A refused chunked body may still be up to smallBody bytes: with
	// Expect, it is asked for as it is without (it got 503 before).
	chunked := "Transfer-Encoding: chunked\r\n"
	tests := []struct {
		name, head, body string
		wantStatus       int
	}{
		{"SmallChunked", chunked, "3\r\nabc\r\n0\r\n\r\n", http.StatusOK},
		{"SmallChunkedWithExpect", chunked + "Expect: 100-continue\r\n", "3\r\nabc\r\n0\r\n\r\n", http.StatusOK},
		{"ChunkedPastSmallBodyWithExpect", chunked + "Expect: 100-continue\r\n",
			strconv.FormatInt(2*smallBody, 16) + "\r\n", http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := ask(t, addr, "POST", path, tt.head, tt.body)
			require.Equal(t, tt.wantStatus, st, "%s", body)
			if st == http.StatusOK {
				require.Equal(t, "ok", body)
			}
		})
	}
	require.Equal(t, bodyBudgetStats{Used: budget / 2, Chunked: budget / 2, Holds: bodies}, b.srv.bodies.stats())
}

// TestConfig_BodyMemory checks --body-memory's bound: at least the buffer
// of a body at --body-limit.
func TestConfig_BodyMemory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		bodyLimit, memory int
		want              string
	}{
		{"Default", 1 << 20, DefaultBodyMemory, ""},
		{"OneBodyAtTheLimit", 1 << 20, 1 << 20, ""},
		{"LessThanOneBody", 1 << 20, 1<<20 - 1, "--body-memory 1048575: must be at least 1048576 bytes, the buffer of a body at --body-limit (1048576 bytes rounded up to a power of two)"},
		{"RoundedUp", 5 << 20, 5 << 20, "--body-memory 5242880: must be at least 8388608 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig(t)
			c.BodyLimit, c.BodyMemory = tt.bodyLimit, tt.memory
			err := c.resolve()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// claimAs returns a claim for bodyBudget.admit that tells route for every
// head, counted to its request context's peer (see bodyClient).
func claimAs(route bodyRoute) func(*fasthttp.RequestHeader) bodyClaim {
	return func(h *fasthttp.RequestHeader) bodyClaim {
		return bodyClaim{route: route, client: bodyClient(requestCtx(h).RemoteAddr(), h, nil)}
	}
}

// testProxies trusts the tests' connections (from 127.0.0.1) as proxies,
// so that forwardedFor tells each request's client.
var testProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// forwardedFor is the header line that makes a request from testProxies
// the i-th of distinct clients (198.18.0.0/15, not the tests' others).
func forwardedFor(i int) string {
	return "X-Forwarded-For: 198.18." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256) + "\r\n"
}

// testPeer is the i-th of distinct peer addresses (192.0.2.0/24).
func testPeer(i int) net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, byte(1+i)), Port: 40000}
}

// serveTest serves b's server (connection guard, both apps' hooks) on a
// 127.0.0.1 listener until the test ends and returns its address.
func serveTest(t *testing.T, b *testBundle) string {
	t.Helper()
	addr, _ := serveTestAdmin(t, b)
	return addr
}

// serveTestAdmin is serveTest that also serves the admin listener, when
// b's server has one (--admin-listen), on a 127.0.0.1 listener of its
// own; it returns both addresses ("" for no admin listener).
func serveTestAdmin(t *testing.T, b *testBundle) (addr, adminAddr string) {
	t.Helper()
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		return ln
	}
	ln := listen()
	var adminLn net.Listener
	if b.srv.AdminApp() != nil {
		adminLn = listen()
		adminAddr = adminLn.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.srv.Serve(ctx, ln, adminLn) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String(), adminAddr
}

// sendHead opens a connection to addr and writes a POST to path with the
// header lines head (each ending in CRLF), then body.
func sendHead(t *testing.T, addr, path, head, body string) net.Conn {
	t.Helper()
	return sendRequest(t, addr, "POST", path, head, body)
}

// sendRequest is sendHead with the request's method.
func sendRequest(t *testing.T, addr, method, path, head, body string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = io.WriteString(c, method+" "+path+" HTTP/1.1\r\nHost: hooks.test\r\nContent-Type: text/plain\r\n"+head+"\r\n"+body)
	require.NoError(t, err)
	return c
}

// readAnswer reads the answer on c and its body.
func readAnswer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	// A bound on a broken server, not a timing assertion.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp, string(body)
}

// upload posts a body of n bytes to path on a new connection, asking
// first with Expect: 100-continue (so that a refusal comes before the
// body is sent), and returns the final answer's status and body.
func upload(t *testing.T, addr, path string, n int) (int, string) {
	t.Helper()
	return ask(t, addr, "POST", path, "Content-Length: "+strconv.Itoa(n)+"\r\nExpect: 100-continue\r\n", strings.Repeat("x", n))
}

// ask sends a request with the header lines head on a new connection,
// then body: at once, or, when head asks with Expect: 100-continue, once
// the server answers 100 Continue (not when its answer is final at once).
// It returns the final answer's status and body.
func ask(t *testing.T, addr, method, path, head, body string) (int, string) {
	t.Helper()
	if !strings.Contains(head, "Expect: 100-continue\r\n") {
		resp, got := readAnswer(t, sendRequest(t, addr, method, path, head, body))
		return resp.StatusCode, got
	}
	c := sendRequest(t, addr, method, path, head, "")
	// A bound on a broken server, not a timing assertion.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	if resp.StatusCode == http.StatusContinue {
		_, err = io.WriteString(c, body)
		require.NoError(t, err)
		resp, err = http.ReadResponse(br, nil)
		require.NoError(t, err)
	}
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode, string(got)
}

// waitBudgetEmpty waits until the budget holds nothing (a closed
// connection's read error reaches the server in its own time).
func waitBudgetEmpty(t *testing.T, b *bodyBudget) {
	t.Helper()
	waitFor(t, func() bool {
		st := b.stats()
		return st.Used == 0 && st.Holds == 0
	}, "the budget returns to empty")
}

// waitFor polls cond until it holds, failing after 20 s (a bound on a
// broken server, not a timing assertion).
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %s did not happen", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkBodyBudget_HeaderReceived is the webhook port's HeaderReceived
// hook and the end of the request's hold, for a small body (the hot path:
// not counted) and for one the budget holds (a webhook's token looked up,
// the client found).
func BenchmarkBodyBudget_HeaderReceived(b *testing.B) {
	bundle := setup(b, func(c *Config) { c.TrustedProxies = testProxies })
	bundle.createAutomation(b, "ok", "start:\n  return:\n    body: ok\n", "")
	_, tok := bundle.createWebhook(b, "ok", eventFor("ok"))
	srv := bundle.srv.App().Server()
	for _, n := range []int{1 << 10, 64 << 10} {
		b.Run(strconv.Itoa(n>>10)+"KiB", func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			ctx.SetRemoteAddr(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000})
			raw := []byte("POST /webhooks/" + tok + " HTTP/1.1\r\nHost: hooks.test\r\nX-Forwarded-For: 203.0.113.9\r\n" +
				"Content-Length: " + strconv.Itoa(n) + "\r\n\r\n")
			rd := bytes.NewReader(nil)
			br := bufio.NewReader(rd)
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(raw)
				br.Reset(rd)
				ctx.Request.Header.Reset()
				if err := ctx.Request.Header.Read(br); err != nil {
					b.Fatal(err)
				}
				if cfg := srv.HeaderReceived(&ctx.Request.Header); cfg.MaxRequestBodySize != 0 {
					b.Fatal("refused")
				}
				bundle.srv.bodies.done(&ctx)
			}
		})
	}
}

// TestBodyBudget_SlowCuts checks which slow holds a body that does not fit
// cuts: none while the budget has room (a client past its own share cuts
// no one else's), and while it is full only as many as make room, none
// when they cannot. Before, any refusal (a client's share too) cut every
// slow hold in the budget.
func TestBodyBudget_SlowCuts(t *testing.T) {
	t.Parallel()
	const limit = 2 << 20
	tests := []struct {
		name    string
		budget  int
		slow    int  // slow holds of 1 MiB, from clients 0, 1, ...
		steady  int  // holds of 1 MiB arriving on time, from the next clients
		oneSelf bool // or all from the new body's client
		peer    int  // the new body's client
		length  int  // its Content-Length
		want    bodyRefusal
		wantCut int64
	}{
		{name: "OwnShareCutsNoOne", budget: 64 << 20, slow: 1, steady: 8, oneSelf: true, peer: 1, length: 1 << 20,
			want: refusedClient},
		{name: "RoomCutsNoOne", budget: 8 << 20, slow: 3, peer: 7, length: 1 << 20},
		{name: "FullCutsOne", budget: 8 << 20, slow: 3, steady: 5, peer: 8, length: 1 << 20, wantCut: 1},
		{name: "FullCutsAsManyAsNeeded", budget: 8 << 20, slow: 3, steady: 5, peer: 8, length: 2 << 20, wantCut: 2},
		{name: "TooFewToMakeRoomCutsNoOne", budget: 8 << 20, slow: 1, steady: 7, peer: 8, length: 2 << 20,
			want: refusedFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := time.Unix(1_000_000, 0)
			b := newBodyBudget(tt.budget, tt.budget/clientShare, time.Minute)
			b.now = func() time.Time { return now }
			n := tt.slow + tt.steady
			ctxs := make([]fasthttp.RequestCtx, n+1)
			conns := make([]*bodyConn, n)
			for i := range n {
				p1, p2 := net.Pipe()
				t.Cleanup(func() { p1.Close(); p2.Close() })
				conns[i] = &bodyConn{Conn: p1}
				peer := i
				if tt.oneSelf && i >= tt.slow {
					peer = tt.peer
				}
				ctxs[i].SetRemoteAddr(testPeer(peer))
				ctxs[i].Request.Header.SetContentLength(1 << 20)
				require.Zero(t, b.admit(&ctxs[i].Request.Header, limit, func(h *fasthttp.RequestHeader) bodyClaim {
					return bodyClaim{route: routeBody, client: bodyClient(requestCtx(h).RemoteAddr(), h, nil), conn: conns[i]}
				}).MaxRequestBodySize, "hold %d", i)
			}
			// 10 s in, the steady bodies have arrived at 128 KiB/s, the slow
			// ones at 20 KiB/s.
			now = now.Add(10 * time.Second)
			for i := range n {
				conns[i].read.Add(map[bool]int64{true: 200 << 10, false: 1280 << 10}[i < tt.slow])
			}
			h := &ctxs[n].Request.Header
			ctxs[n].SetRemoteAddr(testPeer(tt.peer))
			h.SetContentLength(tt.length)
			b.admit(h, limit, claimAs(routeBody))
			require.Equal(t, tt.want, b.refused(h))
			require.Equal(t, tt.wantCut, b.stats().Slow, "slow holds cut")
		})
	}
}

// TestBodyBudget_PerClient checks --body-memory-per-client: the most one
// client holds (at least one body), none with 0, and the admin listener's
// budget taking the same part of its own.
func TestBodyBudget_PerClient(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	held := func(b *bodyBudget) int {
		ctxs := make([]fasthttp.RequestCtx, 300)
		for i := range ctxs {
			ctxs[i].SetRemoteAddr(testPeer(0))
			ctxs[i].Request.Header.SetContentLength(limit)
			if b.admit(&ctxs[i].Request.Header, limit, claimAs(routeBody)).MaxRequestBodySize != 0 {
				return i
			}
		}
		return len(ctxs)
	}
	require.Equal(t, 32, held(newBodyBudget(DefaultBodyMemory, DefaultBodyMemory/clientShare, time.Minute)), "the default: an eighth")
	require.Equal(t, 256, held(newBodyBudget(DefaultBodyMemory, 0, time.Minute)), "0: the whole budget")
	require.Equal(t, 100, held(newBodyBudget(DefaultBodyMemory, 100*limit, time.Minute)))
	require.Equal(t, 1, held(newBodyBudget(DefaultBodyMemory, 1, time.Minute)), "one body at least")

	require.Equal(t, int64(8<<20), adminBodyBudget(DefaultBodyMemory, DefaultBodyMemory/clientShare, time.Minute).client)
	require.Zero(t, adminBodyBudget(DefaultBodyMemory, 0, time.Minute).client)
	require.Equal(t, int64(32<<20), adminBodyBudget(DefaultBodyMemory, DefaultBodyMemory/2, time.Minute).client)
	require.Equal(t, int64(4<<20), adminBodyBudget(8<<20, 4<<20, time.Minute).client)

	for _, tt := range []struct {
		memory, perClient, want int
		err                     string
	}{
		{DefaultBodyMemory, BodyMemoryPerClientAuto, 32 << 20, ""},
		{64 << 20, BodyMemoryPerClientAuto, 8 << 20, ""},
		{64 << 20, 0, 0, ""},
		{64 << 20, 1 << 30, 1 << 30, ""},
		{64 << 20, -2, 0, "--body-memory-per-client -2: must be 0 (no bound per client) or more"},
	} {
		c := testConfig(t)
		c.BodyMemory, c.BodyMemoryPerClient = tt.memory, tt.perClient
		err := c.resolve()
		if tt.err != "" {
			require.EqualError(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, c.BodyMemoryPerClient)
	}
}

// TestServer_BodyMemoryWarnsForwarded checks the hint behind a reverse
// proxy not in --trusted-proxies: a held body's request with
// X-Forwarded-For logs one warning, once; with --trusted-proxies none.
func TestServer_BodyMemoryWarnsForwarded(t *testing.T) {
	t.Parallel()
	const warning = "X-Forwarded-For but --trusted-proxies is empty"
	for _, trusted := range []bool{false, true} {
		var logs logBuffer
		b := setup(t, captureLogs(&logs), func(c *Config) {
			if trusted {
				c.TrustedProxies = testProxies
			}
		})
		b.createAutomation(t, "ok", "start:\n  return:\n    body: ok\n", "")
		_, tok := b.createWebhook(t, "ok", eventFor("ok"))
		addr := serveTest(t, b)
		body := strings.Repeat("x", 2*smallBody)
		for range 2 {
			resp, got := readAnswer(t, sendHead(t, addr, "/webhooks/"+tok, forwardedFor(0)+"Content-Length: "+strconv.Itoa(len(body))+"\r\n", body))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", got)
		}
		want := map[bool]int{false: 1, true: 0}[trusted]
		require.Equal(t, want, strings.Count(logs.String(), warning), "trusted proxies: %v", trusted)
	}
}

// TestRequestCtx checks, on a real fasthttp server, what requestCtx
// relies on: that the HeaderReceived hook gets the header of the
// connection's own request context, the one the handler then gets, whose
// peer is the connection's. A fasthttp upgrade that hands the hook another
// header (a copy, a pooled one) fails here, not with a wild pointer in
// the server.
func TestRequestCtx(t *testing.T) {
	t.Parallel()
	type seen struct {
		h    *fasthttp.RequestHeader
		ctx  *fasthttp.RequestCtx
		peer string
	}
	hooks := make(chan seen, 4)
	srv := &fasthttp.Server{
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			fctx := requestCtx(h)
			hooks <- seen{h: h, ctx: fctx, peer: fctx.RemoteAddr().String()}
			return fasthttp.RequestConfig{}
		},
		Handler: func(fctx *fasthttp.RequestCtx) {
			hook := <-hooks
			ok := hook.h == &fctx.Request.Header && hook.ctx == fctx && hook.peer == fctx.RemoteAddr().String()
			fctx.SetBodyString(strconv.FormatBool(ok) + " " + hook.peer)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	c := sendHead(t, ln.Addr().String(), "/", "Content-Length: 2\r\n", "ab")
	resp, body := readAnswer(t, c)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "true "+c.LocalAddr().String(), body,
		"the hook's header is not its request context's: requestCtx (host/bodylimit.go) must change with fasthttp")
}
