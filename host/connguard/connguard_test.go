package connguard_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/hookhost/hookhost/host/connguard"
)

// serve runs a fasthttp server behind a Guard of max connections on
// 127.0.0.1; block, when set, holds every request (after announcing it on
// arrived) until it is closed.
func serve(t *testing.T, max int, block, arrived chan struct{}) (*connguard.Guard, string) {
	t.Helper()
	g := connguard.New(max, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if block != nil {
				arrived <- struct{}{}
				<-block
			}
			ctx.SetBodyString("ok")
		},
		ConnState:   g.ConnState,
		IdleTimeout: time.Minute,
		ReadTimeout: time.Minute,
	}
	go func() { _ = srv.Serve(g.Listener(ln)) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return g, ln.Addr().String()
}

// request sends one keep-alive request on c and reads the answer.
func request(t *testing.T, c net.Conn) {
	t.Helper()
	_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.Equal(t, 200, resp.StatusCode)
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closed reports whether the server closed c (a read sees EOF or a reset).
func closed(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, syscall.EAGAIN) && !isTimeout(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// waitOpen polls until the guard counts n connections (bounded tries).
func waitOpen(t *testing.T, g *connguard.Guard, n int) {
	t.Helper()
	for range 500 {
		if open, _, _ := g.Stats(); open == n {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	open, _, _ := g.Stats()
	t.Fatalf("guard counts %d connections, want %d", open, n)
}

// waitIdle polls until the guard counts n idle connections (bounded tries).
func waitIdle(t *testing.T, g *connguard.Guard, n int) {
	t.Helper()
	for range 500 {
		if g.Idle() == n {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("guard counts %d idle connections, want %d", g.Idle(), n)
}

func TestGuard_ShedsTheLongestIdleFirst(t *testing.T) {
	t.Parallel()
	g, addr := serve(t, 3, nil, nil)
	var idle []net.Conn
	for i := range 3 {
		c := dial(t, addr)
		request(t, c)
		// The server marks a connection idle after it wrote the answer the
		// client read: wait for it, so that the three became idle in order.
		waitIdle(t, g, i+1)
		idle = append(idle, c)
	}
	waitOpen(t, g, 3)
	fresh := dial(t, addr)
	request(t, fresh)
	require.True(t, closed(idle[0]), "the longest idle connection makes room")
	request(t, idle[2])
	_, shed, refused := g.Stats()
	require.Equal(t, int64(1), shed)
	require.Zero(t, refused)
}

func TestGuard_ShedsSilentConnectionsBeforeRefusing(t *testing.T) {
	t.Parallel()
	g, addr := serve(t, 3, nil, nil)
	var silent []net.Conn
	for range 3 {
		silent = append(silent, dial(t, addr)) // connect, send nothing
	}
	waitOpen(t, g, 3)
	fresh := dial(t, addr)
	request(t, fresh)
	require.True(t, closed(silent[0]), "the oldest connection without a request makes room")
}

func TestGuard_RefusesWhenEveryConnectionIsBusy(t *testing.T) {
	t.Parallel()
	block, arrived := make(chan struct{}), make(chan struct{}, 2)
	g, addr := serve(t, 2, block, arrived)
	var busy []net.Conn
	for range 2 {
		c := dial(t, addr)
		_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		busy = append(busy, c)
	}
	<-arrived // both requests are being served
	<-arrived
	extra := dial(t, addr)
	require.True(t, closed(extra), "a connection beyond the cap is refused while all are busy")
	_, _, refused := g.Stats()
	require.Equal(t, int64(1), refused)
	close(block)
	for _, c := range busy {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode, "busy connections are never cut")
	}
}

// flakyListener fails Accept with an exhaustion error n times.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

func TestGuard_SurvivesDescriptorExhaustion(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	fl := &flakyListener{Listener: ln}
	fl.fails.Store(3)
	g := connguard.New(10, nil)
	gl := g.Listener(fl)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			defer c.Close()
			time.Sleep(time.Second)
		}
	}()
	c, err := gl.Accept()
	require.NoError(t, err, "EMFILE is waited out, not returned")
	require.NotNil(t, c)
	_ = c.Close()
	require.Less(t, fl.fails.Load(), int32(0), "every failure was retried")
}

func TestExhausted(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "accept", Err: syscall.EMFILE}, true},
		{&net.OpError{Op: "accept", Err: syscall.ENFILE}, true},
		{syscall.ENOBUFS, true},
		{net.ErrClosed, false},
		{io.EOF, false},
	} {
		require.Equal(t, tt.want, connguard.Exhausted(tt.err), "%v", tt.err)
	}
}

func TestDefaultMax(t *testing.T) {
	t.Parallel()
	require.GreaterOrEqual(t, connguard.DefaultMax(), connguard.MinMax)
}
