package ssrf_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations/ssrf"
)

// poolBundle is one guarded client shared by several "automations", as
// the webhook extension shares its client:
//
//   - 127.0.0.1 stands for the public internet: the server's options
//     allow it, so every automation may reach it; it redirects to ?to=;
//   - 127.0.0.2 and 127.0.0.3 are internal hosts the guard refuses,
//     except to the automations whose policy opens them (ctxA and ctxC).
type poolBundle struct {
	client           *http.Client
	public           *server
	internal2        *server
	internal3        *server
	ctxA, ctxC, ctxB context.Context
}

func setupPools(t *testing.T) *poolBundle {
	t.Helper()
	whoami := func(ip string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello from "+ip) })
	}
	b := &poolBundle{
		client: ssrf.NewClient(ssrf.Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Resolver: noDNS()}),
		public: serve(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if to := r.URL.Query().Get("to"); to != "" {
				http.Redirect(w, r, to, http.StatusFound)
				return
			}
			io.WriteString(w, "hello from 127.0.0.1")
		})),
		internal2: serve(t, "127.0.0.2", whoami("127.0.0.2")),
		internal3: serve(t, "127.0.0.3", whoami("127.0.0.3")),
		ctxA:      ssrf.WithAllow(context.Background(), []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}),
		ctxC:      ssrf.WithAllow(context.Background(), []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}),
		ctxB:      context.Background(),
	}
	t.Cleanup(b.client.CloseIdleConnections)
	return b
}

// via returns the public URL that redirects to target.
func (b *poolBundle) via(target string) string { return b.public.URL + "/?to=" + target }

// requireRefused asserts err is the guard refusing addr.
func requireRefused(t *testing.T, err error, addr string) {
	t.Helper()
	var be *ssrf.BlockedError
	require.ErrorAs(t, err, &be)
	require.Equal(t, addr, be.Addr.String())
	require.Equal(t, ssrf.KindLoopback, be.Kind)
}

// TestTransport_AllowListsNeverShareConnections proves that a connection
// dialled for one automation's http_allow_networks never carries the
// request of an automation that may not reach its address: not when it is
// kept alive, not when it was dialled by a redirect, and not across two
// different allow-lists.
func TestTransport_AllowListsNeverShareConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, b *poolBundle)
	}{
		{name: "KeptAliveConnection", run: func(t *testing.T, b *poolBundle) {
			for range 2 {
				got, err := getCtx(t, b.ctxA, b.client, b.internal2.URL, false)
				require.NoError(t, err)
				require.Equal(t, "hello from 127.0.0.2", got)
			}
			require.Equal(t, int32(1), b.internal2.conns.Load(), "A's requests share A's connection")
			_, err := getCtx(t, b.ctxB, b.client, b.internal2.URL, false)
			requireRefused(t, err, "127.0.0.2")
			require.Equal(t, int32(2), b.internal2.requests.Load())
		}},
		{name: "ConnectionARedirectDialled", run: func(t *testing.T, b *poolBundle) {
			// A asks for the connection not to be kept (as http.request
			// did), but the redirect's request is a new one.
			got, err := getCtx(t, b.ctxA, b.client, b.via(b.internal2.URL), true)
			require.NoError(t, err)
			require.Equal(t, "hello from 127.0.0.2", got)
			_, err = getCtx(t, b.ctxB, b.client, b.internal2.URL, false)
			requireRefused(t, err, "127.0.0.2")
			require.Equal(t, int32(1), b.internal2.requests.Load())
		}},
		{name: "RedirectOfAnotherAutomation", run: func(t *testing.T, b *poolBundle) {
			_, err := getCtx(t, b.ctxA, b.client, b.internal2.URL, false)
			require.NoError(t, err)
			// B follows a redirect from a permitted host to the host A
			// holds a kept-alive connection to.
			_, err = getCtx(t, b.ctxB, b.client, b.via(b.internal2.URL), false)
			requireRefused(t, err, "127.0.0.2")
			require.Equal(t, int32(1), b.internal2.requests.Load())
		}},
		{name: "AnotherAllowList", run: func(t *testing.T, b *poolBundle) {
			_, err := getCtx(t, b.ctxA, b.client, b.via(b.internal2.URL), false)
			require.NoError(t, err)
			_, err = getCtx(t, b.ctxC, b.client, b.via(b.internal3.URL), false)
			require.NoError(t, err)
			_, err = getCtx(t, b.ctxC, b.client, b.internal2.URL, false)
			requireRefused(t, err, "127.0.0.2")
			_, err = getCtx(t, b.ctxA, b.client, b.via(b.internal3.URL), false)
			requireRefused(t, err, "127.0.0.3")
			require.Equal(t, int32(1), b.internal2.requests.Load())
			require.Equal(t, int32(1), b.internal3.requests.Load())
		}},
		{name: "SameAllowListSpelledDifferently", run: func(t *testing.T, b *poolBundle) {
			_, err := getCtx(t, b.ctxA, b.client, b.internal2.URL, false)
			require.NoError(t, err)
			same := ssrf.WithAllow(context.Background(), []netip.Prefix{
				netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("127.0.0.2/32")})
			_, err = getCtx(t, same, b.client, b.internal2.URL, false)
			require.NoError(t, err)
			require.Equal(t, int32(1), b.internal2.conns.Load(), "one pool per allow-list, however it is written")
		}},
		{name: "PublicHostForEveryone", run: func(t *testing.T, b *poolBundle) {
			for _, ctx := range []context.Context{b.ctxA, b.ctxB, b.ctxC} {
				got, err := getCtx(t, ctx, b.client, b.public.URL, false)
				require.NoError(t, err)
				require.Equal(t, "hello from 127.0.0.1", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, setupPools(t))
		})
	}
}

// TestTransport_ManyAllowLists checks that allow-lists past the pooled ones
// still work, on connections of their own.
func TestTransport_ManyAllowLists(t *testing.T) {
	t.Parallel()
	b := setupPools(t)
	for i := range 70 {
		ctx := ssrf.WithAllow(context.Background(), []netip.Prefix{
			netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix(fmt.Sprintf("10.0.%d.0/24", i))})
		got, err := getCtx(t, ctx, b.client, b.internal2.URL, false)
		require.NoError(t, err)
		require.Equal(t, "hello from 127.0.0.2", got)
	}
	_, err := getCtx(t, b.ctxB, b.client, b.internal2.URL, false)
	requireRefused(t, err, "127.0.0.2")
}
