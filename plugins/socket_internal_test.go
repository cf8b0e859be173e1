package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// echoExt returns its inputs; a run whose inputs are "panic" panics.
type echoExt struct{ NoHost }

// run is runFor without a Host, for the tests of the stream itself.
func (rs *runStream) run(ctx context.Context, r *pb.RunRequest, size int) (*pb.RunResponse, error) {
	resp, _, err := rs.runFor(ctx, r, size, nil)
	return resp, err
}

func (echoExt) Describe(context.Context) (Description, error) { return Description{ID: "echo"}, nil }

func (echoExt) Run(_ context.Context, inv Invocation, _ Host) (Outcome, error) {
	if string(inv.Inputs) == `"panic"` {
		panic("boom")
	}
	return Outcome{Exit: ExitReturn, Return: inv.Inputs}, nil
}

func (echoExt) RunCommand(context.Context, CommandCall, Host) ([]byte, error) { return nil, nil }

func socketServer(t testing.TB) *runSocket {
	t.Helper()
	return socketServerOf(t, echoExt{})
}

func socketServerOf(t testing.TB, ext Extension) *runSocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "hh-sock-") // short: unix socket paths are bounded
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := newServer(ext, nil, nil)
	s.socketDir = dir
	rs := s.openRunSocket()
	require.NotNil(t, rs)
	return rs
}

// echoRuns makes n concurrent runs on rs, call ids 1 to n, each of
// which must return its own inputs (echoExt).
func echoRuns(ctx context.Context, t *testing.T, rs *runStream, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			in := fmt.Sprintf(`{"n":%d}`, i)
			r := &pb.RunRequest{CallId: uint64(i + 1), Trigger: "t", Inputs: []byte(in)}
			resp, err := rs.run(ctx, r, runSize(r))
			if assert.NoError(t, err) {
				assert.Equal(t, in, string(resp.GetOutcome().GetReturn()))
			}
		})
	}
	wg.Wait()
}

// TestRunSocket: many concurrent runs over one run socket connection get
// their own results, a panic fails its run alone, and the stream keeps
// serving.
func TestRunSocket(t *testing.T) {
	t.Parallel()
	sock := socketServer(t)
	rs, err := openRunStream(nil, sock.path, sock.token, true)
	require.NoError(t, err)
	defer rs.fail(context.Canceled)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	echoRuns(ctx, t, rs, 200)

	r := &pb.RunRequest{CallId: 1000, Trigger: "t", Inputs: []byte(`"panic"`)}
	_, err = rs.run(ctx, r, runSize(r))
	require.ErrorContains(t, err, "extension panicked: boom")
	r = &pb.RunRequest{CallId: 1001, Trigger: "t", Inputs: []byte(`1`)}
	resp, err := rs.run(ctx, r, runSize(r))
	require.NoError(t, err)
	require.Equal(t, "1", string(resp.GetOutcome().GetReturn()))
	require.False(t, rs.broken())
}

// TestRunSocket_WrongToken: a connection that does not start with the
// token is closed unanswered.
func TestRunSocket_WrongToken(t *testing.T) {
	t.Parallel()
	sock := socketServer(t)
	c, err := net.Dial("unix", sock.path)
	require.NoError(t, err)
	defer c.Close()
	bad := make([]byte, socketTokenLen)
	_, err = c.Write(bad)
	require.NoError(t, err)
	f := newFrameConn(c)
	// The write may already fail (the extension closed the connection), or
	// else the read.
	if err := (hostConn{f: f}).Send(&pb.RunStreamRequest{Runs: []*pb.RunRequest{{CallId: 1, Trigger: "t", Inputs: []byte("1")}}}); err == nil {
		_, err := hostConn{f: f}.Recv()
		require.Error(t, err, "the extension closes the connection")
	}
}

// TestRunSocket_BrokenConnection: when the connection breaks, the runs
// waiting on it fail with codes.Unavailable, as over gRPC.
func TestRunSocket_BrokenConnection(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	rs := &runStream{st: hostConn{f: newFrameConn(a)}, cancel: func() { _ = a.Close() },
		wake: make(chan struct{}, 1), pending: map[uint64]pendingRun{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rs.sendLoop(ctx)
	go rs.recvLoop()
	go func() {
		// The "extension" reads the batch, then its connection breaks in
		// the middle of a frame.
		f := newFrameConn(b)
		_ = f.read(func([]byte) error { return nil })
		_, _ = b.Write([]byte{100, 0, 0, 0, 1, 2})
		_ = b.Close()
	}()
	r := &pb.RunRequest{CallId: 1, Trigger: "t", Inputs: []byte("1")}
	_, err := rs.run(ctx, r, runSize(r))
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.True(t, rs.broken())
}

// TestClient_RunSocketUndialableIsUnavailable: a run socket that cannot be
// dialled (its file gone, its listener closed) fails the run as the
// transport's failure, codes.Unavailable, as a broken stream does: the
// host's manager then restarts the process, where an error of another code
// would read as the extension's answer and fail every later run alike.
func TestClient_RunSocketUndialableIsUnavailable(t *testing.T) {
	t.Parallel()
	c := &Client{streamed: true, socket: filepath.Join(t.TempDir(), "runs.sock"), hosts: map[uint64]Host{}}
	for range 2 { // and again: the next run dials again
		_, err := c.Run(context.Background(), Invocation{RunID: "r", Automation: "a", Trigger: "t", Inputs: []byte("1")}, nil)
		require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		require.ErrorContains(t, err, "run socket: dial unix")
	}
}

// flakyListener fails its first fails Accepts as a process out of file
// descriptors does (EMFILE), then accepts as usual.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestRunSocket_AcceptErrorsAreRetried: failed Accepts do not end the
// extension's accept loop (which left the listener open and the host's
// connections queued unanswered, their runs waiting for their deadlines):
// a connection made after them is served, and the loop ends when the
// listener is closed.
func TestRunSocket_AcceptErrorsAreRetried(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "hh-sock-") // short: unix socket paths are bounded
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "runs.sock")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	fl := &flakyListener{Listener: ln}
	fl.fails.Store(3)
	token := make([]byte, socketTokenLen)
	done := make(chan struct{})
	go func() {
		newServer(echoExt{}, nil, nil).acceptRuns(fl, token)
		close(done)
	}()

	rs, err := openRunStream(nil, path, token, true)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := &pb.RunRequest{CallId: 1, Trigger: "t", Inputs: []byte("1")}
	resp, err := rs.run(ctx, r, runSize(r))
	rs.fail(context.Canceled)
	require.NoError(t, err, "a connection made after failed Accepts is served")
	require.Equal(t, "1", string(resp.GetOutcome().GetReturn()))

	require.NoError(t, ln.Close())
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the accept loop goes on after its listener was closed")
	}
}

// blockExt's runs report their context on seen and wait for it to end.
type blockExt struct {
	echoExt
	seen chan context.Context
}

func (x blockExt) Run(ctx context.Context, _ Invocation, _ Host) (Outcome, error) {
	x.seen <- ctx
	<-ctx.Done()
	return Outcome{}, ctx.Err()
}

// TestRunSocket_RunContext: a run's context reports its deadline without
// ending at it, and ends when the host gives the run up, or when the
// stream ends, for every run going.
func TestRunSocket_RunContext(t *testing.T) {
	t.Parallel()
	x := blockExt{seen: make(chan context.Context, 4)}
	sock := socketServerOf(t, x)
	rs, err := openRunStream(nil, sock.path, sock.token, true)
	require.NoError(t, err)

	// Given up by the host.
	dl := time.Now().Add(time.Hour).Round(0)
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	errc := make(chan error, 1)
	r := &pb.RunRequest{CallId: 1, Trigger: "t", DeadlineUnixNano: dl.UnixNano()}
	go func() { _, err := rs.run(ctx, r, runSize(r)); errc <- err }()
	rctx := <-x.seen
	got, ok := rctx.Deadline()
	require.True(t, ok)
	require.True(t, got.Equal(dl), "deadline %v, want %v", got, dl)
	require.NoError(t, rctx.Err())
	cancel()
	require.Equal(t, codes.Canceled, status.Code(<-errc))
	<-rctx.Done()
	require.ErrorIs(t, rctx.Err(), context.Canceled)

	// Ended with the stream: every run going, one without a deadline.
	var runs []context.Context
	for id := range uint64(2) {
		r := &pb.RunRequest{CallId: 10 + id, Trigger: "t"}
		go func() { _, _ = rs.run(context.Background(), r, runSize(r)) }()
		runs = append(runs, <-x.seen)
	}
	_, ok = runs[0].Deadline()
	require.False(t, ok)
	rs.fail(context.Canceled) // closes the connection
	for _, c := range runs {
		<-c.Done()
		require.ErrorIs(t, c.Err(), context.Canceled)
	}
}

// TestRunCtx: Done and Err agree before and after cancel, whichever comes
// first; the first cancel's error stays; values are the parent's.
func TestRunCtx(t *testing.T) {
	t.Parallel()
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")
	for _, tc := range []struct {
		name       string
		doneBefore bool // Done called before cancel
	}{{"DoneFirst", true}, {"CancelFirst", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &runCtx{parent: parent}
			require.Equal(t, "v", c.Value(key{}))
			require.NoError(t, c.Err())
			if tc.doneBefore {
				select {
				case <-c.Done():
					t.Fatal("done before cancel")
				default:
				}
			}
			c.cancel(context.DeadlineExceeded)
			c.cancel(context.Canceled)
			<-c.Done()
			require.ErrorIs(t, c.Err(), context.DeadlineExceeded)
			require.Equal(t, c.Done(), c.Done())
		})
	}
}

// TestRunStream_ReusedReplies: a run's reply channel goes to a later run
// only once nothing can send to it, whichever way the run ended (its
// result, its context's end before or after it was sent): every run gets
// its own result, never one meant for a run given up.
func TestRunStream_ReusedReplies(t *testing.T) {
	t.Parallel()
	sock := socketServer(t)
	rs, err := openRunStream(nil, sock.path, sock.token, true)
	require.NoError(t, err)
	defer rs.fail(context.Canceled)
	var ids atomic.Uint64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				in := []byte(fmt.Sprintf(`"%d-%d"`, g, i))
				r := &pb.RunRequest{CallId: ids.Add(1), Trigger: "t", Inputs: in}
				// A run that got another's reply may wait for its own forever.
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				switch i % 3 {
				case 1: // given up before it is sent, or soon after
					cancel()
				case 2: // given up while it runs, or after its result came
					go cancel()
				}
				res, err := rs.run(ctx, r, runSize(r))
				cancel()
				if err != nil {
					if i%3 == 0 || status.Code(err) != codes.Canceled {
						// the timeout is DeadlineExceeded
						t.Errorf("run %d-%d: %v", g, i, err)
					}
					continue
				}
				if got := string(res.GetOutcome().GetReturn()); got != string(in) {
					t.Errorf("run %d-%d got %s", g, i, got)
				}
			}
		}()
	}
	wg.Wait()
}

// scriptExt returns the script and policy it was given.
type scriptExt struct{ echoExt }

func (scriptExt) Run(_ context.Context, inv Invocation, _ Host) (Outcome, error) {
	return Outcome{Exit: ExitReturn, Return: []byte(inv.Script + "|" + inv.Policy)}, nil
}

// recordConn is a run stream's connection that records whether each run
// it sent left its script out.
type recordConn struct {
	runConn
	mu      sync.Mutex
	omitted []bool
}

func (c *recordConn) Send(m *pb.RunStreamRequest) error {
	c.mu.Lock()
	for _, r := range m.GetRuns() {
		c.omitted = append(c.omitted, r.GetScriptOmitted())
	}
	c.mu.Unlock()
	return c.runConn.Send(m)
}

// TestRunSocket_Scripts: a revision's script goes with its first run on a
// stream only, and a run whose script the extension does not have (here a
// new connection, as after the extension restarted, whose host side still
// believes it sent it) goes again with it; every run gets its own script.
func TestRunSocket_Scripts(t *testing.T) {
	t.Parallel()
	sock := socketServerOf(t, scriptExt{})
	open := func(t *testing.T) (*runStream, *recordConn) {
		hc, closer, err := dialRunSocket(sock.path, sock.token, true)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		rec := &recordConn{runConn: hc}
		rs := &runStream{st: rec, cancel: func() { cancel(); _ = closer.Close() }, wake: make(chan struct{}, 1),
			pending: map[uint64]pendingRun{}, scripts: true}
		go rs.sendLoop(ctx)
		go rs.recvLoop()
		t.Cleanup(func() { rs.fail(context.Canceled) })
		return rs, rec
	}
	var ids atomic.Uint64
	run := func(t *testing.T, rs *runStream, automation, revision string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		script := "start:\n  return:\n    a@text: " + automation + revision + "\n"
		r := &pb.RunRequest{CallId: ids.Add(1), Automation: automation, Revision: revision, Trigger: "t", Script: script, Policy: "p" + revision, Inputs: []byte("1")}
		resp, err := rs.run(ctx, r, runSize(r))
		require.NoError(t, err)
		require.Equal(t, script+"|p"+revision, string(resp.GetOutcome().GetReturn()))
	}
	type step struct{ automation, revision string }
	for _, tc := range []struct {
		name        string
		known       []step // the host side believes it sent these
		runs        []step
		wantOmitted []bool // per run sent
	}{
		{"FirstRunCarriesIt", nil, []step{{"a", "1"}, {"a", "1"}, {"a", "1"}}, []bool{false, true, true}},
		{"EachRevision", nil, []step{{"a", "1"}, {"a", "2"}, {"b", "1"}, {"a", "2"}, {"a", "1"}}, []bool{false, false, false, true, true}},
		{"NoRevision", nil, []step{{"a", ""}, {"a", ""}}, []bool{false, false}},
		{"UnknownGoesAgain", []step{{"a", "1"}}, []step{{"a", "1"}, {"a", "1"}}, []bool{true, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, rec := open(t)
			rs.sent = sentScripts{}
			for _, k := range tc.known {
				rs.sent[scriptKey{k.automation, k.revision}] = struct{}{}
			}
			for _, k := range tc.runs {
				run(t, rs, k.automation, k.revision)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			require.Equal(t, tc.wantOmitted, rec.omitted)
		})
	}
}

// TestRunStream_UnsentRunsDoNotCountAsSent: a run whose context ended
// before it was sent (already ended, or ended while it waited to be sent)
// does not count as having carried its revision's script, so the next run
// of that revision carries it.
func TestRunStream_UnsentRunsDoNotCountAsSent(t *testing.T) {
	t.Parallel()
	newRun := func(id uint64) *pb.RunRequest {
		return &pb.RunRequest{CallId: id, Automation: "a", Revision: "1", Trigger: "t", Script: "start:\n", Policy: "p", Inputs: []byte("1")}
	}
	// No send loop: whatever is queued stays unsent.
	rs := &runStream{wake: make(chan struct{}, 1), pending: map[uint64]pendingRun{}, scripts: true}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := rs.run(ended, newRun(1), 10)
	require.Equal(t, codes.Canceled, status.Code(err))

	ctx, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := rs.run(ctx, newRun(2), 10)
		done <- err
	}()
	require.Eventually(t, func() bool {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		return len(rs.runs) == 1
	}, time.Minute, time.Millisecond)
	rs.mu.Lock()
	_, marked := rs.sent[scriptKey{"a", "1"}]
	rs.mu.Unlock()
	require.True(t, marked, "a queued run carrying its script marks its revision")
	cancel2()
	require.Equal(t, codes.Canceled, status.Code(<-done))

	rs.mu.Lock()
	defer rs.mu.Unlock()
	require.Empty(t, rs.runs)
	require.Empty(t, rs.pending)
	_, marked = rs.sent[scriptKey{"a", "1"}]
	require.False(t, marked, "a run taken back before it was sent left its revision marked as sent")
	r := newRun(3)
	require.False(t, rs.omitLocked(r), "the next run of the revision must carry its script")
}

// TestRunStream_ScriptUnknownAfterTheEnd: a run that left its script out
// and whose context ended while the extension's script_unknown came back
// ends with its context's error, never with that code (which is for the
// host alone). Both ways out of the wait are ready at once, so the run
// takes either; many runs take both.
func TestRunStream_ScriptUnknownAfterTheEnd(t *testing.T) {
	t.Parallel()
	rs := &runStream{wake: make(chan struct{}, 1), pending: map[uint64]pendingRun{}, scripts: true,
		sent: sentScripts{{"a", "1"}: {}}}
	for id := uint64(1); id <= 64; id++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			r := &pb.RunRequest{CallId: id, Automation: "a", Revision: "1", Trigger: "t", Script: "start:\n", Inputs: []byte("1")}
			_, err := rs.run(ctx, r, 10)
			done <- err
		}()
		var ch chan streamReply
		require.Eventually(t, func() bool {
			rs.mu.Lock()
			defer rs.mu.Unlock()
			if len(rs.runs) == 0 {
				return false
			}
			// Sent, as the send loop would take it.
			require.True(t, rs.runs[0].GetScriptOmitted())
			rs.runs, rs.size = nil, 0
			ch = rs.pending[id].ch
			delete(rs.pending, id)
			return true
		}, time.Minute, time.Millisecond)
		cancel()
		ch <- streamReply{res: scriptUnknown(id)}
		require.Equal(t, codes.Canceled, status.Code(<-done), "run %d", id)
	}
}

// TestRunSocket_IdleRunAllocs counts the allocations of one run on an idle
// run socket stream, host and extension sides together: each side reuses
// its messages and its slice of runs or results (the extension keeps every
// run it decoded, the host every result).
func TestRunSocket_IdleRunAllocs(t *testing.T) {
	sock := socketServer(t)
	rs, err := openRunStream(nil, sock.path, sock.token, true)
	require.NoError(t, err)
	defer rs.fail(context.Canceled)
	ctx := context.Background()
	r := &pb.RunRequest{Trigger: "t", Inputs: []byte(`{"a":1}`)}
	run := func() {
		r.CallId++
		resp, err := rs.run(ctx, r, runSize(r))
		require.NoError(t, err)
		require.Equal(t, `{"a":1}`, string(resp.GetOutcome().GetReturn()))
	}
	for range 100 {
		run() // the worker pool, the reply pool and the buffers warm up
	}
	// Host: the decoded frame's copy and its results. Extension: the
	// frame, its runs, the run's state and its return's copy. And the
	// check's string. With a new message and slice for each send (the
	// streams' reuse off), 11.
	require.LessOrEqual(t, testing.AllocsPerRun(1000, run), 7.0)
}

// reuserExt returns a buffer of its own holding the inputs, and records
// the buffers the SDK hands back.
type reuserExt struct {
	echoExt
	mu       sync.Mutex
	returned map[*byte]bool // buffers returned, and whether handed back
}

func (x *reuserExt) Run(_ context.Context, inv Invocation, _ Host) (Outcome, error) {
	b := append(make([]byte, 0, len(inv.Inputs)), inv.Inputs...)
	x.mu.Lock()
	x.returned[unsafe.SliceData(b)] = false
	x.mu.Unlock()
	return Outcome{Exit: ExitReturn, Return: b}, nil
}

func (x *reuserExt) ReuseReturn(b []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := unsafe.SliceData(b)
	back, ok := x.returned[p]
	if !ok || back {
		panic("a buffer handed back that was not returned, or twice")
	}
	x.returned[p] = true
}

// handedBack counts the buffers returned and those handed back.
func (x *reuserExt) handedBack() (returned, back int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, b := range x.returned {
		returned++
		if b {
			back++
		}
	}
	return returned, back
}

// openSocketStream opens a run stream to ext over a run socket, and a
// context for its runs; both end with the test.
func openSocketStream(t *testing.T, ext Extension) (*runStream, context.Context) {
	t.Helper()
	sock := socketServerOf(t, ext)
	rs, err := openRunStream(nil, sock.path, sock.token, true)
	require.NoError(t, err)
	t.Cleanup(func() { rs.fail(context.Canceled) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return rs, ctx
}

// TestRunSocket_ReuseReturn: an extension that reuses its Return buffers
// gets each one back once its result was sent over the run socket, and
// the host got the result as it was returned.
func TestRunSocket_ReuseReturn(t *testing.T) {
	t.Parallel()
	ext := &reuserExt{returned: map[*byte]bool{}}
	rs, ctx := openSocketStream(t, ext)
	const runs = 100
	echoRuns(ctx, t, rs, runs)
	// Handed back after the write that carried them, which may come
	// after the host read their results.
	require.Eventually(t, func() bool {
		returned, back := ext.handedBack()
		return returned == runs && back == runs
	}, time.Minute, time.Millisecond)
}

// panicReuserExt panics in every ReuseReturn, and counts the calls.
type panicReuserExt struct {
	echoExt
	calls atomic.Int32
}

func (x *panicReuserExt) ReuseReturn([]byte) {
	x.calls.Add(1)
	panic("boom in ReuseReturn")
}

// TestRunSocket_ReuseReturnPanics: a panic in ReuseReturn drops that
// buffer alone; the extension's send loop, and the stream, keep serving.
func TestRunSocket_ReuseReturnPanics(t *testing.T) {
	t.Parallel()
	ext := &panicReuserExt{}
	rs, ctx := openSocketStream(t, ext)
	const runs = 10
	echoRuns(ctx, t, rs, runs)
	require.Eventually(t, func() bool { return ext.calls.Load() == runs }, time.Minute, time.Millisecond)
	echoRuns(ctx, t, rs, runs)
	require.False(t, rs.broken())
}

// oneWayConn is a run stream's connection broken one way: Send fails,
// Recv waits until the stream is cancelled.
type oneWayConn struct{ done <-chan struct{} }

func (c oneWayConn) Send(*pb.RunStreamRequest) error { return errors.New("send: broken pipe") }

func (c oneWayConn) Recv() (*pb.RunStreamResponse, error) {
	<-c.done
	return nil, context.Canceled
}

// TestRunStream_SendFailureFailsRuns: a run whose message could not be
// sent fails with the send's error although Recv goes on waiting (review
// rev4: the send loop returned and left the runs to wait for their
// contexts' end, here a minute).
func TestRunStream_SendFailureFailsRuns(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runStream{st: oneWayConn{done: ctx.Done()}, cancel: cancel, wake: make(chan struct{}, 1),
		pending: map[uint64]pendingRun{}}
	go rs.sendLoop(ctx)
	go rs.recvLoop()
	t.Cleanup(func() { rs.fail(context.Canceled) })
	runCtx, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	r := &pb.RunRequest{CallId: 1, Automation: "a", Trigger: "t", Inputs: []byte("1")}
	_, err := rs.run(runCtx, r, runSize(r))
	require.ErrorContains(t, err, "broken pipe")
	require.NoError(t, runCtx.Err(), "the run waited for its context's end")
}

// TestResultQueue_Batches: the extension sends its results in messages of
// about maxBatch bytes, at least one result each, none over maxResult (the
// link's limit on a message, which the host refuses to read past); a
// result over maxResult alone fails its run, the others go as they are.
func TestResultQueue_Batches(t *testing.T) {
	t.Parallel()
	const kib = 1 << 10
	for _, tc := range []struct {
		name     string
		returns  []int      // the results' Return sizes, of call ids 1, 2, …
		want     [][]uint64 // the call ids of each message
		tooLarge []uint64   // the call ids answered with an error
	}{
		{"small results go together", []int{10, 10, 10}, [][]uint64{{1, 2, 3}}, nil},
		{"cut at maxBatch", []int{20 * kib, 20 * kib, 20 * kib, 20 * kib}, [][]uint64{{1, 2}, {3, 4}}, nil},
		{"a result over maxBatch goes alone", []int{10, 60 * kib, 10}, [][]uint64{{1}, {2}, {3}}, nil},
		{"a result over maxResult fails its run", []int{10, 70 * kib, 10}, [][]uint64{{1, 2, 3}}, []uint64{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := &resultQueue{wake: make(chan struct{}, 1), life: newLifecycle(), reuse: true, maxBatch: 48 * kib, maxResult: 64 * kib}
			q.life.add(len(tc.returns))
			var replies []*runReply
			for i, n := range tc.returns {
				rr := q.newReply()
				rr.out = pb.Outcome{Exit: string(ExitReturn), Return: make([]byte, n)}
				rr.resp.Outcome = &rr.out
				rr.res = pb.RunStreamResult{CallId: uint64(i + 1), Response: &rr.resp}
				replies = append(replies, rr)
				q.pushReply(&rr.res, rr)
			}
			var got [][]uint64
			var tooLarge []uint64
			err := q.sendReady(func(m *pb.RunStreamResponse) error {
				assert.LessOrEqual(t, len(appendRunStreamResponse(nil, m)), q.maxResult, "a message over the limit")
				var ids []uint64
				for _, r := range m.GetResults() {
					ids = append(ids, r.GetCallId())
					if r.GetResponse().GetError() != nil {
						assert.Contains(t, r.GetResponse().GetError().GetMessage(), "over the 65536-byte limit of a message")
						tooLarge = append(tooLarge, r.GetCallId())
					}
				}
				got = append(got, ids)
				return nil
			}, new(pb.RunStreamResponse))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.tooLarge, tooLarge)
			require.Empty(t, q.res)
			require.Empty(t, q.own)
			require.Zero(t, q.size)
			for _, rr := range replies {
				require.True(t, rr.res.CallId == 0 && rr.out.Return == nil, "a reply sent goes back to the pool reset")
			}
		})
	}
}

// TestResultSize: resultSize bounds a result's encoded size.
func TestResultSize(t *testing.T) {
	t.Parallel()
	responses := frameResponses()
	// Small entries, which the extension pads (appendPadding).
	responses["EmptyEntries"] = &pb.RunStreamResponse{Results: []*pb.RunStreamResult{{CallId: 1, Response: &pb.RunResponse{Outcome: &pb.Outcome{
		Log: make([]*pb.LogEntry, MaxLogEntries), SideEffects: make([]*pb.SideEffect, MaxSideEffects)}}}}}
	responses["OneEmptyEntry"] = &pb.RunStreamResponse{Results: []*pb.RunStreamResult{{Response: &pb.RunResponse{Outcome: &pb.Outcome{
		Log: []*pb.LogEntry{{}}}}}}}
	for name, m := range responses {
		for _, r := range m.GetResults() {
			one := &pb.RunStreamResponse{Results: []*pb.RunStreamResult{r}}
			require.LessOrEqual(t, len(appendRunStreamResponse(nil, one)), resultSize(r), name)
		}
	}
}

// sizedExt returns a Return of as many bytes as its inputs say, and counts
// its runs.
type sizedExt struct {
	echoExt
	ran atomic.Int32
}

func (x *sizedExt) Run(_ context.Context, inv Invocation, _ Host) (Outcome, error) {
	n, err := strconv.Atoi(string(inv.Inputs))
	if err != nil {
		return Outcome{}, err
	}
	x.ran.Add(1)
	return Outcome{Exit: ExitReturn, Return: make([]byte, n)}, nil
}

// gatedConn holds the host's first Recv until gate closes (a host busy
// elsewhere for a moment), so that the extension's results queue up.
type gatedConn struct {
	runConn
	gate <-chan struct{}
	once sync.Once
}

func (c *gatedConn) Recv() (*pb.RunStreamResponse, error) {
	c.once.Do(func() { <-c.gate })
	return c.runConn.Recv()
}

// TestRunSocket_ResultsStayUnderTheFrameLimit: results that queue up in the
// extension while the host does not read (its socket full) go in frames
// under the limit of a frame, not in one frame over it, which the host
// refused: the stream broke and every run on it failed, as a crash of the
// process. A result over the limit fails its run alone. The limit is
// lowered here from MaxMessage to 64 KiB.
func TestRunSocket_ResultsStayUnderTheFrameLimit(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	ext := &sizedExt{}
	dir, err := os.MkdirTemp("", "hh-sock-") // short: unix socket paths are bounded
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := newServer(ext, nil, nil)
	s.socketDir, s.maxMessage = dir, limit
	sock := s.openRunSocket()
	require.NotNil(t, sock)

	hc, closer, err := dialRunSocket(sock.path, sock.token, true)
	require.NoError(t, err)
	hc.f.limit = limit
	gate := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runStream{st: &gatedConn{runConn: hc, gate: gate}, cancel: func() { cancel(); _ = closer.Close() },
		wake: make(chan struct{}, 1), pending: map[uint64]pendingRun{}, reuse: true, results: hc.results}
	go rs.sendLoop(ctx)
	go rs.recvLoop()
	t.Cleanup(func() { rs.fail(context.Canceled) })

	runCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	// 40 results of 40 KiB, 1.6 MB: more than the socket holds.
	const runs = 40
	errs := make(chan error, runs+1)
	for i := range runs + 1 {
		in := "40960"
		if i == runs {
			in = "70000" // over the limit
		}
		go func() {
			r := &pb.RunRequest{CallId: uint64(i + 1), Trigger: "t", Inputs: []byte(in)}
			resp, err := rs.run(runCtx, r, runSize(r))
			switch {
			case err != nil:
			case in == "70000":
				if e := resp.GetError(); e.GetCode() != string(CodeInternal) {
					err = fmt.Errorf("the run over the limit answered %v", resp)
				}
			case len(resp.GetOutcome().GetReturn()) != 40960:
				err = fmt.Errorf("run %d answered %v", i+1, resp)
			}
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return ext.ran.Load() == runs+1 }, 10*time.Second, time.Millisecond)
	time.Sleep(100 * time.Millisecond) // their results queue behind the blocked write
	close(gate)
	for range runs + 1 {
		require.NoError(t, <-errs)
	}
	require.False(t, rs.broken())
}

// TestRunSocket_MoreResultsThanRunsBreakTheStream: each run sent gets one
// result at most, even when the host gave up on it meanwhile (its answer
// may be on its way); a frame of more results than the runs sent and not
// answered breaks the stream, as another protocol violation does, before
// the host decodes (and allocates for) them.
func TestRunSocket_MoreResultsThanRunsBreakTheStream(t *testing.T) {
	t.Parallel()
	a, b := unixPair(t)
	hc := hostConn{f: newFrameConn(a), in: &pb.RunStreamResponse{}, unanswered: new(atomic.Int64), results: new(sync.Pool)}
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runStream{st: hc, cancel: func() { cancel(); _ = a.Close() },
		wake: make(chan struct{}, 1), pending: map[uint64]pendingRun{}, reuse: true, results: hc.results}
	go rs.sendLoop(ctx)
	go rs.recvLoop()
	t.Cleanup(func() { rs.fail(context.Canceled) })

	// The extension's side, by hand.
	ext := newFrameConn(b)
	sent := func() uint64 { // the next run sent
		for {
			m := &pb.RunStreamRequest{}
			require.NoError(t, ext.read(func(b []byte) error { return decodeRunStreamRequest(b, m) }))
			if len(m.GetRuns()) > 0 {
				require.Len(t, m.GetRuns(), 1)
				return m.GetRuns()[0].GetCallId()
			}
		}
	}
	answer := func(ids ...uint64) {
		m := &pb.RunStreamResponse{}
		for _, id := range ids {
			m.Results = append(m.Results, &pb.RunStreamResult{CallId: id, Response: &pb.RunResponse{Outcome: &pb.Outcome{Exit: "return"}}})
		}
		require.NoError(t, ext.write(func(b []byte) []byte { return appendRunStreamResponse(b, m) }))
	}
	run := func(ctx context.Context, id uint64) <-chan error {
		done := make(chan error, 1)
		go func() {
			r := &pb.RunRequest{CallId: id, Trigger: "t", Inputs: []byte("1")}
			_, err := rs.run(ctx, r, runSize(r))
			done <- err
		}()
		return done
	}
	runCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()

	// Run 1 is given up once sent; its answer comes all the same.
	ctx1, cancel1 := context.WithCancel(runCtx)
	done := run(ctx1, 1)
	require.Equal(t, uint64(1), sent())
	cancel1()
	require.ErrorIs(t, <-done, status.FromContextError(context.Canceled).Err())
	answer(1)
	// Run 2 is answered.
	done = run(runCtx, 2)
	require.Equal(t, uint64(2), sent())
	answer(2)
	require.NoError(t, <-done)
	require.False(t, rs.broken())
	// Run 3 is answered twice in one frame.
	done = run(runCtx, 3)
	require.Equal(t, uint64(3), sent())
	answer(3, 3)
	err := <-done
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.ErrorContains(t, err, "run socket: a message of 2 results, for 1 runs awaiting an answer")
	require.True(t, rs.broken())
}

// sleepExt sleeps as many milliseconds as its inputs say, or until its
// context ends, and returns its script.
type sleepExt struct{ echoExt }

func (sleepExt) Run(ctx context.Context, inv Invocation, _ Host) (Outcome, error) {
	ms, err := strconv.Atoi(string(inv.Inputs))
	if err != nil {
		return Outcome{}, err
	}
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	}
	return Outcome{Exit: ExitReturn, Return: []byte(inv.Script)}, nil
}

// unanswered returns the count of rs's run socket connection: the runs it
// sent that the extension did not answer yet.
func unanswered(rs *runStream) int64 { return rs.st.(hostConn).unanswered.Load() }

// TestRunSocket_GivenUpRunsAreAnswered: the extension answers a run the
// host gave up while it ran (the host drops the answer), so that the runs
// the host counts as awaiting an answer, which bound the results a frame
// may hold, are those that do: before, the extension dropped such a run's
// result and each timeout raised the bound for the connection's life.
func TestRunSocket_GivenUpRunsAreAnswered(t *testing.T) {
	t.Parallel()
	rs, _ := openSocketStream(t, sleepExt{})
	const n = 100
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
		r := &pb.RunRequest{CallId: uint64(i + 1), Trigger: "t", Inputs: []byte("60000")}
		_, err := rs.run(ctx, r, runSize(r))
		cancel()
		require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
	}
	require.Eventually(t, func() bool { return unanswered(rs) == 0 }, 10*time.Second, time.Millisecond,
		"no run awaits an answer: %d counted", unanswered(rs))
	// The stream serves on, the late answers dropped.
	r := &pb.RunRequest{CallId: n + 1, Trigger: "t", Script: "s", Inputs: []byte("0")}
	resp, err := rs.run(context.Background(), r, runSize(r))
	require.NoError(t, err)
	require.Equal(t, "s", string(resp.GetOutcome().GetReturn()))
	require.False(t, rs.broken())
}

// TestRunSocket_UnansweredCountUnderChurn: honest runs given up before,
// while and after the extension answers them, sent again with their script
// (script_unknown) and sent while others go, never break the stream, and
// once they are all over no run counts as awaiting an answer.
func TestRunSocket_UnansweredCountUnderChurn(t *testing.T) {
	t.Parallel()
	rs, _ := openSocketStream(t, sleepExt{})
	// The host believes it sent scripts the extension never saw: each such
	// revision's first run comes back script_unknown and goes again.
	rs.mu.Lock()
	rs.scripts, rs.sent = true, sentScripts{}
	for i := range 50 {
		rs.sent[scriptKey{"a", strconv.Itoa(i)}] = struct{}{}
	}
	rs.mu.Unlock()
	var ids atomic.Uint64
	var wg sync.WaitGroup
	var ok, gaveUp atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := range 150 {
				k := g*150 + i
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(k*7919%3000)*time.Microsecond)
				rev := strconv.Itoa(k % 60)
				r := &pb.RunRequest{CallId: ids.Add(1), Automation: "a", Revision: rev, Trigger: "t",
					Script: "s" + rev, Inputs: []byte(strconv.Itoa(k % 3))}
				resp, err := rs.run(ctx, r, runSize(r))
				cancel()
				switch code := status.Code(err); {
				case err == nil:
					ok.Add(1)
					assert.Equal(t, "s"+rev, string(resp.GetOutcome().GetReturn()))
				case code == codes.DeadlineExceeded:
					gaveUp.Add(1)
				default:
					t.Errorf("run failed: %v", err)
				}
			}
		})
	}
	wg.Wait()
	require.False(t, rs.broken(), "an honest extension broke the stream")
	require.Eventually(t, func() bool { return unanswered(rs) == 0 }, 10*time.Second, time.Millisecond,
		"no run awaits an answer: %d counted (%d answered, %d given up)", unanswered(rs), ok.Load(), gaveUp.Load())
	require.NotZero(t, ok.Load())
	require.NotZero(t, gaveUp.Load())
}

// entriesExt returns as many log entries as its inputs say.
type entriesExt struct{ echoExt }

func (entriesExt) Run(_ context.Context, inv Invocation, _ Host) (Outcome, error) {
	n, err := strconv.Atoi(string(inv.Inputs))
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Exit: ExitReturn, Log: make([]LogEntry, n)}, nil
}

// TestServer_TooManyEntriesFailTheRun: an outcome of more than
// MaxLogEntries log entries fails its run alone, in the extension, unary
// (gRPC) or streamed, as the host's decoder of the run socket would.
func TestServer_TooManyEntriesFailTheRun(t *testing.T) {
	t.Parallel()
	rs, ctx := openSocketStream(t, entriesExt{})
	s := newServer(entriesExt{}, nil, nil)
	for i, tc := range []struct {
		entries int
		err     *pb.Error
	}{
		{MaxLogEntries, nil},
		{MaxLogEntries + 1, tooManyEntries()},
		{1, nil},
	} {
		r := &pb.RunRequest{CallId: uint64(i + 1), Trigger: "t", Inputs: []byte(strconv.Itoa(tc.entries))}
		unary, err := s.Run(ctx, r)
		require.NoError(t, err)
		streamed, err := rs.run(ctx, r, runSize(r))
		require.NoError(t, err)
		for _, resp := range []*pb.RunResponse{unary, streamed} {
			if tc.err != nil {
				require.Equal(t, tc.err.String(), resp.GetError().String())
				continue
			}
			require.Nil(t, resp.GetError())
			require.Len(t, resp.GetOutcome().GetLog(), tc.entries)
		}
	}
	require.False(t, rs.broken())
}

// shortLinesExt returns as many short log lines ("ok", 8 bytes encoded)
// as its inputs say.
type shortLinesExt struct{ echoExt }

func (shortLinesExt) Run(_ context.Context, inv Invocation, _ Host) (Outcome, error) {
	n, err := strconv.Atoi(string(inv.Inputs))
	if err != nil {
		return Outcome{}, err
	}
	log := make([]LogEntry, n)
	for i := range log {
		log[i] = LogEntry{Level: 1, Message: "ok"}
	}
	return Outcome{Exit: ExitReturn, Log: log}, nil
}

// socketPlugin serves ext with a run socket in dir: with padded, as this
// SDK does (its Init answers entries_padded, its results are padded);
// otherwise with results written as proto.Marshal writes them, unpadded,
// as by an extension built with an earlier SDK, which does not announce
// entries_padded, or, announced, by a broken one.
type socketPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	t                 *testing.T
	ext               Extension
	dir               string
	announced, padded bool
}

func (p *socketPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	srv := newServer(p.ext, broker, nil)
	srv.socketDir = p.dir
	pb.RegisterExtensionServer(s, &socketPluginServer{server: srv, p: p})
	return nil
}

func (p *socketPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return newClient(ctx, broker, conn)
}

type socketPluginServer struct {
	*server
	p *socketPlugin
}

func (x *socketPluginServer) Init(ctx context.Context, r *pb.InitRequest) (*pb.InitResponse, error) {
	if x.p.padded {
		return x.server.Init(ctx, r) // this SDK's, run socket and all
	}
	resp, err := x.server.Init(ctx, &pb.InitRequest{HostBrokerId: r.GetHostBrokerId()}) // no run socket of its own
	if err != nil {
		return nil, err
	}
	resp.RunSocket, resp.RunSocketToken = x.serveUnpadded(), make([]byte, socketTokenLen)
	resp.EntriesPadded = x.p.announced
	return resp, nil
}

// serveUnpadded serves the run socket of an extension that does not pad
// its results, as acceptRuns does, the token zeros.
func (x *socketPluginServer) serveUnpadded() string {
	t := x.p.t
	path := filepath.Join(x.p.dir, "unpadded.sock")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := io.ReadFull(c, make([]byte, socketTokenLen)); err != nil {
					return
				}
				f := newFrameConn(c)
				_ = x.serveRuns(context.Background(),
					func() (*pb.RunStreamRequest, error) {
						in := &pb.RunStreamRequest{}
						return in, f.read(func(b []byte) error { return decodeRunStreamRequest(b, in) })
					},
					func(m *pb.RunStreamResponse) error {
						return f.write(func(b []byte) []byte {
							b, err := proto.MarshalOptions{}.MarshalAppend(b, m)
							assert.NoError(t, err) // not require: another goroutine
							return b
						})
					}, true)
			}()
		}
	}()
	return path
}

// TestClient_EntriesPaddedIsNegotiated: the host bounds a result's log
// entries and side effects by its bytes (one per minEntryBytes) only on
// the run socket of an extension that says, in Init, that it pads its
// results to that (entries_padded, which this SDK's extensions answer). An
// extension built with an earlier SDK neither pads nor says so: its
// honest run of 10,000 short log lines (8 bytes each) still succeeds, as
// plugins/README.md promises older extensions; one that says so and does
// not pad fails the run, as a result over the bound does.
func TestClient_EntriesPaddedIsNegotiated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		announced, padded bool
		err               string // the run's error; "": none
	}{
		{"this SDK: announced and padded", true, true, ""},
		{"an earlier SDK: neither announced nor padded", false, false, ""},
		{"announced but not padded", true, false, "which the extension said it pads its results to (entries_padded)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, err := os.MkdirTemp("", "hh-pad-") // short: unix socket paths are bounded
			require.NoError(t, err)
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			ps := map[string]plugin.Plugin{PluginName: &socketPlugin{t: t, ext: shortLinesExt{}, dir: dir,
				announced: tc.announced, padded: tc.padded}}
			client, _ := plugin.TestPluginGRPCConn(t, false, ps)
			t.Cleanup(func() { _ = client.Close() })
			raw, err := client.Dispense(PluginName)
			require.NoError(t, err)
			c := raw.(*Client)
			require.NotEmpty(t, c.socket)
			require.Equal(t, tc.announced, c.padded)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := c.Run(ctx, Invocation{RunID: "r", Trigger: "t", Inputs: []byte(strconv.Itoa(MaxLogEntries))}, nil)
			_, onSocket := c.stream.Load().st.(hostConn)
			require.True(t, onSocket, "the run went over gRPC")
			if tc.err != "" {
				var e *Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, CodeInternal, e.Code)
				require.Contains(t, e.Message, tc.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, out.Log, MaxLogEntries)
			require.Equal(t, "ok", out.Log[MaxLogEntries-1].Message)
		})
	}
}
