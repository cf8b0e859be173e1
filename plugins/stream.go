package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// maxStreamedRun is the largest run (inputs, script and policy, roughly)
// sent over RunStream; a larger one goes as a unary Run call, so that a
// message over MaxMessage fails that run alone, and not the stream and
// every run on it. It also bounds a batch to about twice this size.
const maxStreamedRun = 1 << 20

// runStream is the host side of one RunStream: it multiplexes the runs of a
// Client over one long-lived bidirectional stream. Runs that queue up while
// a message is being sent go together in the next one, and so do their
// results, so under load the per-run cost of gRPC (HTTP/2 frames, the
// transport's queues, a stream per call) is shared by many runs.
type runStream struct {
	st     runConn
	cancel context.CancelFunc // ends the stream
	wake   chan struct{}      // cap 1: the send loop has work

	mu      sync.Mutex
	pending map[uint64]pendingRun
	runs    []*pb.RunRequest
	size    int // estimated bytes of runs
	cancels []uint64
	err     error // why the stream broke; nil while it serves
	sent    sentScripts
	// batches counts the messages the send loop took runs for; writing,
	// with reuse, is the one it is sending (0: none).
	batches, writing uint64
	// reuse is set when st is done with a message when Send returns (the
	// run socket encodes it; gRPC may keep it): the send loop then reuses
	// the message and gives its runs' slice back, two allocations a
	// message fewer. Set before the stream is used, read-only after.
	reuse bool
	out   pb.RunStreamRequest // the writer's message, with reuse

	// scripts is set when the extension keeps the scripts of the stream's
	// runs (scripts.go); set before the stream is used, read-only after.
	scripts bool
	// results, on the run socket, holds the decoded results that their
	// runs are done with (releaseResult), for the next ones; nil on gRPC.
	results *sync.Pool

	// replies holds the reply channels of finished runs, empty and
	// referenced by nothing else, for the next runs: a buffered channel
	// of pointers is two allocations a run otherwise.
	replies sync.Pool
}

// pendingRun is a run sent, or about to be, and not answered yet: where
// its answer goes, and the Host that answers its callbacks meanwhile (nil:
// none). Keeping the Host here, not in the Client's map of calls, saves a
// run a second registration.
type pendingRun struct {
	ch   chan streamReply
	host Host
	// batch is the message the send loop took the run for (runStream's
	// batches), 0 while the run is queued: an answer to a queued run is a
	// protocol error, as its request is still to be encoded.
	batch uint64
}

// streamReply is the answer to one streamed run: its result, or why the
// stream broke before it came.
type streamReply struct {
	res *pb.RunStreamResult
	err error
	// settled is set when, with reuse, the answer came once the run's
	// message was sent: the stream is done with the run's request (not so
	// on gRPC, which may keep a message after Send, nor for an answer that
	// came while the message was being sent).
	settled bool
}

// runConn carries a run stream's messages: a gRPC RunStream, or a run
// socket connection (socket.go). A message from Recv may be reused by the
// next Recv.
type runConn interface {
	Send(*pb.RunStreamRequest) error
	Recv() (*pb.RunStreamResponse, error)
}

// grpcRunConn is a run stream's conn over gRPC's RunStream, for an
// extension without a run socket. It counts the runs sent that the
// extension has not answered yet, as hostConn does, and its Recv hands the
// count to the host's codec (boundedResults), which decodes a message
// within the run socket's bounds: a message of more results than that
// breaks the stream, as codes.Unavailable, as on the run socket.
type grpcRunConn struct {
	st         grpc.BidiStreamingClient[pb.RunStreamRequest, pb.RunStreamResponse]
	unanswered atomic.Int64
	in         boundedResults // Recv's; Recv calls come one at a time
}

var _ runConn = (*grpcRunConn)(nil)

func (g *grpcRunConn) Send(m *pb.RunStreamRequest) error {
	g.unanswered.Add(int64(len(m.GetRuns()))) // before the extension can answer them
	return g.st.Send(m)
}

func (g *grpcRunConn) Recv() (*pb.RunStreamResponse, error) {
	in := &g.in
	*in = boundedResults{RunStreamResponse: &pb.RunStreamResponse{}, awaiting: &g.unanswered}
	if err := g.st.RecvMsg(in); err != nil {
		if in.err != nil {
			// Refused by the codec: gRPC calls it an internal error, but
			// the stream broke as a run socket's does.
			return nil, status.Error(codes.Unavailable, "run stream: "+in.err.Error())
		}
		return nil, err
	}
	g.unanswered.Add(-int64(len(in.Results)))
	return in.RunStreamResponse, nil
}

// openRunStream opens a run stream on the extension's run socket when it
// has one, else RunStream on ext, and starts its send and receive loops.
// padded tells that the extension pads its results on the run socket
// (InitResponse.entries_padded, hostConn.padded).
func openRunStream(ext pb.ExtensionClient, socket string, token []byte, padded bool) (*runStream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	var st runConn
	var results *sync.Pool
	reuse := false
	if socket != "" {
		hc, closer, err := dialRunSocket(socket, token, padded)
		if err != nil {
			cancel()
			// The transport's failure, as a broken stream is: the caller
			// (the host's manager) restarts the process rather than fail
			// every later run as the extension's own error.
			return nil, status.Error(codes.Unavailable, "run socket: "+err.Error())
		}
		st, results = hc, hc.results
		reuse = true
		stop := cancel
		cancel = func() { stop(); _ = closer.Close() }
	} else {
		gs, err := ext.RunStream(ctx)
		if err != nil {
			cancel()
			return nil, err
		}
		st = &grpcRunConn{st: gs}
	}
	rs := &runStream{
		st:      st,
		cancel:  cancel,
		wake:    make(chan struct{}, 1),
		pending: map[uint64]pendingRun{},
		reuse:   reuse,
		results: results,
	}
	go rs.sendLoop(ctx)
	go rs.recvLoop()
	return rs, nil
}

// broken reports whether the stream stopped serving.
func (rs *runStream) broken() bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.err != nil
}

// runFor sends r and waits for its result, ctx's end, or the stream's,
// with host answering the run's callbacks (hostOf). r may leave its script
// out (scripts.go); then r is changed meanwhile. settled
// reports that the stream is done with r and what it refers to (with
// reuse, and an answer that came once r's message was sent).
func (rs *runStream) runFor(ctx context.Context, r *pb.RunRequest, size int, host Host) (resp *pb.RunResponse, settled bool, err error) {
	script, policy := r.GetScript(), r.GetPolicy()
	resp, settled, err = rs.runOnce(ctx, r, size, true, host)
	if err != nil || !r.GetScriptOmitted() || resp.GetError().GetCode() != codeScriptUnknown {
		return resp, settled, err
	}
	if err := ctx.Err(); err != nil {
		// Ended before it could go again: the run's end, not a code that
		// is for the host alone.
		return nil, false, status.FromContextError(err).Err()
	}
	// The extension does not have the script: again, with it.
	if !settled {
		// The answer came while r's message could still be read (being
		// written on the run socket, or kept by gRPC): the retry is a
		// copy, and the caller must not reuse r (review rev4).
		r = proto.Clone(r).(*pb.RunRequest)
	}
	r.Script, r.Policy, r.ScriptOmitted = script, policy, false
	resp, again, err := rs.runOnce(ctx, r, size, false, host)
	return resp, settled && again, err
}

// runOnce is run's one attempt; mayOmit lets r leave its script out.
func (rs *runStream) runOnce(ctx context.Context, r *pb.RunRequest, size int, mayOmit bool, host Host) (*pb.RunResponse, bool, error) {
	ch, _ := rs.replies.Get().(chan streamReply)
	if ch == nil {
		ch = make(chan streamReply, 1)
	}
	// Every way out below leaves ch empty, out of rs.pending and out of
	// fail's copy of it (a reply taken from it was received here), so
	// the next run may have it.
	defer rs.replies.Put(ch)
	id := r.GetCallId()
	if err := ctx.Err(); err != nil {
		// Ended already: nothing to send, and no answer to wait for (an
		// answer arriving before the select below noticed ctx's end would
		// have been taken as the run's).
		return nil, false, status.FromContextError(err).Err()
	}
	rs.mu.Lock()
	if err := rs.err; err != nil {
		rs.mu.Unlock()
		return nil, false, err
	}
	if rs.omitLocked(r) && mayOmit {
		size -= len(r.GetScript()) + len(r.GetPolicy())
		r.Script, r.Policy, r.ScriptOmitted = "", "", true
	}
	rs.pending[id] = pendingRun{ch: ch, host: host}
	rs.runs = append(rs.runs, r)
	rs.size += size
	rs.mu.Unlock()
	rs.signal()

	select {
	case rep := <-ch:
		return rep.response()
	case <-ctx.Done():
		rs.mu.Lock()
		_, waiting := rs.pending[id]
		sent := true
		if waiting {
			delete(rs.pending, id)
			if i := slices.Index(rs.runs, r); i >= 0 {
				// Not sent yet: it never will be.
				rs.runs = slices.Delete(rs.runs, i, i+1)
				rs.size -= size
				sent = false
				rs.unsentLocked(r)
			} else {
				rs.cancels = append(rs.cancels, id)
			}
		}
		rs.mu.Unlock()
		if !waiting {
			// The answer arrived meanwhile.
			return (<-ch).response()
		}
		if sent {
			rs.signal()
		}
		return nil, false, status.FromContextError(ctx.Err()).Err()
	}
}

// response is what a unary Run would have returned, and whether the
// stream is done with the run's request (settled, see runFor).
func (rep streamReply) response() (*pb.RunResponse, bool, error) {
	switch {
	case rep.err != nil:
		return nil, false, rep.err
	case rep.res.GetPanic() != "":
		return nil, false, status.Errorf(codes.Internal, "extension panicked: %s", rep.res.GetPanic())
	case rep.res.GetResponse() == nil:
		return nil, false, status.Error(codes.Internal, "extension sent an empty run result")
	}
	return rep.res.GetResponse(), rep.settled, nil
}

func (rs *runStream) signal() {
	select {
	case rs.wake <- struct{}{}:
	default:
	}
}

// sendLoop sends what queued up since its last message, until the stream
// ends.
func (rs *runStream) sendLoop(ctx context.Context) {
	for {
		select {
		case <-rs.wake:
		case <-ctx.Done():
			return
		}
		// Let the goroutines that are ready to run first (callers about
		// to queue their runs) do so: woken at once, the loop sent one
		// message, one write, per run even under load.
		runtime.Gosched()
		for {
			rs.mu.Lock()
			if rs.err != nil {
				rs.mu.Unlock()
				return
			}
			runs, cancels := takeBatch(&rs.runs, &rs.size, runSize, maxStreamedRun), rs.cancels
			rs.cancels = nil
			if len(runs) > 0 {
				rs.batches++
				for _, r := range runs {
					// A run queued is pending (runOnce and fail change
					// both together), unless another run took its call
					// id meanwhile.
					id := r.GetCallId()
					if p, ok := rs.pending[id]; ok {
						p.batch = rs.batches
						rs.pending[id] = p
					}
				}
				if rs.reuse {
					rs.writing = rs.batches
				}
			}
			rs.mu.Unlock()
			if len(runs) == 0 && len(cancels) == 0 {
				break
			}
			var m *pb.RunStreamRequest
			if rs.reuse {
				m = &rs.out
				m.Runs, m.Cancel = runs, cancels
			} else {
				m = &pb.RunStreamRequest{Runs: runs, Cancel: cancels}
			}
			err := rs.st.Send(m)
			if err != nil {
				// The stream ended; Recv usually tells why, but a
				// connection broken one way only would leave runs queued
				// with no sender until their contexts end (review rev4).
				rs.fail(err)
				return
			}
			if rs.reuse {
				// Sent: the slice no longer holds the runs (after a
				// partial batch, the array behind it may be kept with
				// the rest).
				m.Runs, m.Cancel = nil, nil
				clear(runs)
				rs.mu.Lock()
				rs.writing = 0
				if rs.runs == nil && cap(runs) <= maxKeptBatch {
					// The slice the runs queued in, for the next ones.
					rs.runs = runs[:0]
				}
				rs.mu.Unlock()
			}
		}
	}
}

// maxKeptBatch is the most runs or results a kept batch slice has room for:
// a rare burst does not keep its slice.
const maxKeptBatch = 1024

// takeBatch removes from *items, whose sizes (by sizeOf) add up to *size,
// the items of the next message: as many as fit in about limit bytes, at
// least one. The runs of the host's messages go by it (maxStreamedRun), and
// the results of the extension's (resultQueue).
func takeBatch[T any](items *[]T, size *int, sizeOf func(T) int, limit int) []T {
	all := *items
	if len(all) == 0 {
		return nil // an empty slice stays, for the next items
	}
	if *size <= limit {
		*items, *size = nil, 0
		return all
	}
	n, sz := 0, 0
	for n < len(all) && (n == 0 || sz+sizeOf(all[n]) <= limit) {
		sz += sizeOf(all[n])
		n++
	}
	*items = all[n:]
	*size -= sz
	return all[:n:n]
}

// recvLoop hands each result to its run until the stream breaks, then fails
// every run still waiting.
func (rs *runStream) recvLoop() {
	for {
		m, err := rs.st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Unavailable, "the extension ended the run stream")
			}
			rs.fail(err)
			return
		}
		for _, r := range m.GetResults() {
			rs.deliver(r.GetCallId(), streamReply{res: r})
		}
	}
}

// deliver hands rep to the run of call id, unless it is not pending any
// more. An answer to a run not sent yet breaks the stream: the run's
// caller would reuse the request (and its inputs) that the send loop is
// still to encode.
func (rs *runStream) deliver(id uint64, rep streamReply) {
	rs.mu.Lock()
	p, ok := rs.pending[id]
	if ok && p.batch == 0 {
		rs.mu.Unlock()
		rs.fail(status.Errorf(codes.Internal, "run stream: the extension answered call %d before it was sent", id))
		return
	}
	delete(rs.pending, id)
	rep.settled = rs.reuse && p.batch != rs.writing
	rs.mu.Unlock()
	if ok {
		p.ch <- rep // buffered, and only one reply per run
	}
}

// hostOf returns the Host of the run of call id while it is pending.
func (rs *runStream) hostOf(id uint64) (Host, bool) {
	rs.mu.Lock()
	p, ok := rs.pending[id]
	rs.mu.Unlock()
	return p.host, ok && p.host != nil
}

// fail breaks the stream with err: every run waiting on it gets err, later
// runs open a new stream.
func (rs *runStream) fail(err error) {
	rs.mu.Lock()
	if rs.err == nil {
		rs.err = err
	}
	pending := rs.pending
	rs.pending = map[uint64]pendingRun{}
	rs.runs, rs.size, rs.cancels = nil, 0, nil
	rs.mu.Unlock()
	for _, p := range pending {
		p.ch <- streamReply{err: err}
	}
	rs.cancel()
}

// runSize estimates the encoded size of r.
func runSize(r *pb.RunRequest) int {
	n := 128 + len(r.GetRunId()) + len(r.GetAutomation()) + len(r.GetRevision()) + len(r.GetTrigger()) +
		len(r.GetScript()) + len(r.GetPolicy()) + len(r.GetInputs())
	for _, c := range r.GetCommands() {
		n += len(c) + 2
	}
	return n
}

// RunStream is the extension side of the host's run stream: each run runs
// in its own goroutine, and results are sent back as they finish, batched
// when several are ready. A panic in a run fails that run alone. When the
// host ends the stream, the runs still going are cancelled.
func (s *server) RunStream(st grpc.BidiStreamingServer[pb.RunStreamRequest, pb.RunStreamResponse]) error {
	return s.serveRuns(st.Context(), st.Recv, st.Send, false) // gRPC may keep a message after Send
}

// serveRuns serves one run stream, whose messages come from recv and go
// out through send (a gRPC RunStream, or a run socket connection), until
// recv fails or ctx ends. recv's message may be reused by the next recv;
// with reuse, send is done with its message when it returns, and the
// message and its results' slice are reused.
func (s *server) serveRuns(sctx context.Context, recv func() (*pb.RunStreamRequest, error), send func(*pb.RunStreamResponse) error, reuse bool) error {
	ctx, stop := context.WithCancel(sctx)
	defer stop()
	out := &resultQueue{wake: make(chan struct{}, 1), life: s.life, reuse: reuse,
		maxBatch: min(maxStreamedRun, s.maxMessage), maxResult: s.maxMessage}
	st := &streamRuns{out: out, runs: map[uint64]*streamRun{}}
	if rr, ok := s.impl.(ReturnReuser); ok && reuse {
		st.out.reuser = rr
	}
	var scripts streamScripts
	sent := make(chan error, 1)
	go func() { sent <- st.out.sendLoop(ctx, send) }()

	for {
		m, err := recv()
		if err != nil {
			stop()
			st.mu.Lock()
			for _, sr := range st.runs {
				sr.ctx.cancel(context.Canceled)
			}
			clear(st.runs) // their results are not wanted
			st.mu.Unlock()
			<-sent
			st.out.close() // results not sent, and those still to come, are dropped
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		for _, r := range m.GetRuns() {
			id := r.GetCallId()
			// Each run counts (s.life) from here until its result is sent
			// or dropped.
			if !scripts.fill(r) {
				s.life.add(1)
				st.out.push(scriptUnknown(id))
				continue
			}
			if !s.life.begin() {
				s.life.add(1)
				st.out.push(&pb.RunStreamResult{CallId: id, Response: &pb.RunResponse{Error: errShuttingDown()}})
				continue
			}
			sr := &streamRun{s: s, st: st, r: r}
			sr.ctx.parent = ctx
			if dl := r.GetDeadlineUnixNano(); dl != 0 {
				sr.ctx.deadline = time.Unix(0, dl)
			}
			st.mu.Lock()
			if old := st.runs[id]; old != nil {
				old.ctx.cancel(context.Canceled) // a call id used twice: the first run's result is not wanted
			}
			st.runs[id] = sr
			st.mu.Unlock()
			s.workers.do(sr)
		}
		// Cancellations come after the runs of the same message, which they
		// may name. A run the host gave up is answered at once, with a
		// result of a few bytes, and its own result is dropped: the host
		// counts the runs it sent that are not answered (hostConn), which
		// bounds the results it reads, and a run never answered would
		// count for the connection's life. The host drops the answer, its
		// run no longer waiting. A run that ended already was answered.
		for _, id := range m.GetCancel() {
			st.mu.Lock()
			sr, ok := st.runs[id]
			if ok {
				delete(st.runs, id)
			}
			st.mu.Unlock()
			if ok {
				sr.ctx.cancel(context.Canceled)
				s.life.add(1) // the answer, until sent; the run counts until it returns
				st.out.push(givenUp(id))
			}
		}
	}
}

// streamRuns is the extension side of one run stream: its runs going, by
// call id, and the queue of their results.
type streamRuns struct {
	out  *resultQueue
	mu   sync.Mutex
	runs map[uint64]*streamRun // a run cancelled by the host, or by the stream's end, is not here
}

// streamRun is one run of a stream on the extension side: its request,
// context and Host in one allocation (not a context, a cancel func, a
// closure for the worker and a Host). Its reply comes from the stream's
// result queue.
type streamRun struct {
	s    *server
	st   *streamRuns
	r    *pb.RunRequest
	ctx  runCtx
	host hostClient
}

var _ task = (*streamRun)(nil)

// givenUp is the answer to run id, which the host gave up while it ran.
func givenUp(id uint64) *pb.RunStreamResult {
	return &pb.RunStreamResult{CallId: id, Response: &pb.RunResponse{Error: &pb.Error{
		Code: string(CodeCanceled), Message: "the host gave up the run"}}}
}

// run runs sr on a worker and queues its result, unless it is not wanted
// any more (the host gave the run up, and it was answered then, or the
// stream ended).
func (sr *streamRun) run() {
	reply := sr.st.out.newReply()
	res := sr.s.streamedRun(&sr.ctx, sr.r, reply, &sr.host)
	id := sr.r.GetCallId()
	sr.st.mu.Lock()
	wanted := sr.st.runs[id] == sr
	if wanted {
		delete(sr.st.runs, id)
	}
	sr.st.mu.Unlock()
	sr.ctx.cancel(context.Canceled)
	if wanted {
		sr.st.out.pushReply(res, reply)
	} else {
		sr.s.life.end(1)
	}
}

// runCtx is the context of a streamed run. Its values are the stream's;
// it reports the run's deadline, but it ends only when the host cancels
// the run (the host does when the deadline passes), the stream ends, or
// the run returns. So, as with a unary call, whose context ends a little
// after the host gave up, the host always sees its own deadline pass
// first; with a timer of its own the extension could answer "canceled"
// before the host's deadline fired. It is not registered with the
// stream's context, as context.WithCancel would be (an allocation and a
// map entry per run): serveRuns cancels every run going when the stream
// ends.
type runCtx struct {
	parent   context.Context
	deadline time.Time // zero: none

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	err   error
	ended atomic.Bool // err is set, done closed
}

var _ context.Context = (*runCtx)(nil)

// Deadline implements context.Context.
func (c *runCtx) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }

// Value implements context.Context.
func (c *runCtx) Value(key any) any { return c.parent.Value(key) }

// Done implements context.Context.
func (c *runCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

// Err implements context.Context.
func (c *runCtx) Err() error {
	if !c.ended.Load() {
		return nil
	}
	return c.err // set before ended, never again
}

// cancel ends c with err, unless it ended.
func (c *runCtx) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	// ended before done closes: a goroutine that Done wakes calls Err
	// (without the lock) and must see err, as context.Context promises.
	c.ended.Store(true)
	if c.done != nil {
		close(c.done)
	}
}

// streamedRun runs one run of the stream as the unary Run would, with a
// panic turned into the result's panic field. The result is reply.res.
func (s *server) streamedRun(ctx context.Context, r *pb.RunRequest, reply *runReply, host *hostClient) (res *pb.RunStreamResult) {
	res = &reply.res
	res.CallId = r.GetCallId()
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic in extension handler", "method", pb.Extension_RunStream_FullMethodName, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res.Response, res.Panic = nil, fmt.Sprint(p)
			if res.Panic == "" {
				res.Panic = "(empty panic value)"
			}
		}
	}()
	resp := s.run(ctx, r, reply, host)
	if !validResponse(resp) {
		// What gRPC answers a unary Run whose response it cannot encode;
		// sent on the stream, the response would end the stream.
		resp = &pb.RunResponse{Error: &pb.Error{Code: string(CodeInternal),
			Message: "grpc: error while marshaling: string field contains invalid UTF-8"}}
	}
	res.Response = resp
	return res
}

// validRequest reports whether r can go on the stream: every string field is
// valid UTF-8 (else the message could not be encoded, which would end the
// stream) and it is not too large.
func validRequest(r *pb.RunRequest) bool {
	if runSize(r) > maxStreamedRun {
		return false
	}
	for _, s := range [...]string{r.GetRunId(), r.GetAutomation(), r.GetRevision(), r.GetTrigger(), r.GetScript(), r.GetPolicy()} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	for _, c := range r.GetCommands() {
		if !utf8.ValidString(c) {
			return false
		}
	}
	return true
}

// validResponse reports whether every string field of r is valid UTF-8.
func validResponse(r *pb.RunResponse) bool {
	validErr := func(e *pb.Error) bool {
		return e == nil || utf8.ValidString(e.GetCode()) && utf8.ValidString(e.GetMessage()) && utf8.ValidString(e.GetAt())
	}
	o := r.GetOutcome()
	if !validErr(r.GetError()) || !validErr(o.GetError()) || !utf8.ValidString(o.GetExit()) || !utf8.ValidString(o.GetLimit()) {
		return false
	}
	for _, l := range o.GetLog() {
		if !utf8.ValidString(l.GetNode()) || !utf8.ValidString(l.GetMessage()) {
			return false
		}
	}
	for _, e := range o.GetSideEffects() {
		if !utf8.ValidString(e.GetCommand()) || !utf8.ValidString(e.GetNode()) {
			return false
		}
	}
	return true
}

// resultQueue collects finished runs for the extension's send loop. Every
// result in it counts in life until it is sent or dropped.
type resultQueue struct {
	wake  chan struct{} // cap 1
	life  *lifecycle
	reuse bool // send is done with a message when it returns
	// maxBatch is about the most bytes of results a message takes
	// (resultSize), unless one result alone is larger; maxResult is the
	// most a result may take (the link's limit on a message, MaxMessage):
	// a larger one fails its run alone (tooLarge). Set before use.
	maxBatch, maxResult int
	// reuser takes back the Return of each result sent (with reuse).
	reuser ReturnReuser
	mu     sync.Mutex
	res    []*pb.RunStreamResult
	size   int // resultSize of res, added up
	// own are the runReply of results in res that came from replies, in
	// the order of their results: with reuse, they go back to it once
	// sent.
	own    []*runReply
	closed bool // the stream ended: results are dropped

	// replies holds runReply values sent and reset, for the next runs
	// (with reuse).
	replies sync.Pool
}

// newReply returns a runReply for a run's result, a sent one when there
// is one.
func (q *resultQueue) newReply() *runReply {
	if rr, _ := q.replies.Get().(*runReply); rr != nil {
		return rr
	}
	return new(runReply)
}

func (q *resultQueue) push(r *pb.RunStreamResult) { q.pushReply(r, nil) }

// pushReply queues r, which rr (from newReply), unless nil, holds. A
// result larger than a message may be fails its run instead (tooLarge).
func (q *resultQueue) pushReply(r *pb.RunStreamResult, rr *runReply) {
	size := resultSize(r)
	if size > q.maxResult {
		q.tooLarge(r, size)
		size = resultSize(r)
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		q.life.end(1)
		return
	}
	q.res = append(q.res, r)
	q.size += size
	if rr != nil && q.reuse {
		q.own = append(q.own, rr)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// tooLarge makes r, a result of size bytes (resultSize) that no message
// could carry, the error of its run: sent as it is, it would break the
// stream and fail every run on it (as gRPC answers a unary Run whose
// response is over its limit, and streamedRun one it cannot encode).
func (q *resultQueue) tooLarge(r *pb.RunStreamResult, size int) {
	r.Panic = ""
	r.Response = &pb.RunResponse{Error: &pb.Error{Code: string(CodeInternal),
		Message: fmt.Sprintf("the run's result, of about %d bytes, is over the %d-byte limit of a message", size, q.maxResult)}}
}

// resultSize bounds the encoded size of r in a RunStreamResponse: its
// strings and bytes, with every field's tag and length at their longest.
func resultSize(r *pb.RunStreamResult) int {
	errorSize := func(e *pb.Error) int { return len(e.GetCode()) + len(e.GetMessage()) + len(e.GetAt()) }
	resp := r.GetResponse()
	o := resp.GetOutcome()
	// 128: the fields' tags and lengths, of the result, its response and
	// outcome and their errors (120 at most).
	n := 128 + len(r.GetPanic()) + errorSize(resp.GetError()) + errorSize(o.GetError()) +
		len(o.GetExit()) + len(o.GetReturn()) + len(o.GetLimit()) + len(o.GetReturnFormat())
	// An entry's tags and lengths take 29 bytes at most besides its text
	// (a side effect's 22), and an entry is padded to minEntryBytes (32)
	// at most (appendPadding, whose own tag and length fit in the 128).
	for _, l := range o.GetLog() {
		n += minEntryBytes + len(l.GetNode()) + len(l.GetMessage())
	}
	for _, e := range o.GetSideEffects() {
		n += minEntryBytes + len(e.GetCommand()) + len(e.GetNode())
	}
	return n
}

// takeOwn removes from q.own the runReply of the results of batch, which
// were just taken from q.res; q.mu is held.
func (q *resultQueue) takeOwn(batch []*pb.RunStreamResult) []*runReply {
	if len(q.res) == 0 {
		own := q.own
		q.own = nil
		return own
	}
	n := 0 // they are in the order of their results
	for _, r := range batch {
		if n < len(q.own) && &q.own[n].res == r {
			n++
		}
	}
	own := q.own[:n:n]
	q.own = q.own[n:]
	return own
}

// sendLoop sends the results that are ready, several per message (about
// maxBatch bytes at most), until ctx ends or a send fails.
func (q *resultQueue) sendLoop(ctx context.Context, send func(*pb.RunStreamResponse) error) error {
	var out pb.RunStreamResponse // the message, with reuse
	for {
		select {
		case <-q.wake:
		case <-ctx.Done():
			return nil
		}
		// As the host's send loop does: let the runs that are ready to
		// finish do so first, and send their results together.
		runtime.Gosched()
		if err := q.sendReady(send, &out); err != nil {
			return err
		}
	}
}

// sendReady sends the results queued, in messages of about maxBatch bytes
// at most, until there are none; with reuse, out is the message.
func (q *resultQueue) sendReady(send func(*pb.RunStreamResponse) error, out *pb.RunStreamResponse) error {
	for {
		q.mu.Lock()
		batch := takeBatch(&q.res, &q.size, resultSize, q.maxBatch)
		if len(batch) == 0 {
			q.mu.Unlock()
			return nil
		}
		own := q.takeOwn(batch)
		q.mu.Unlock()
		var m *pb.RunStreamResponse
		if q.reuse {
			m = out
			m.Results = batch
		} else {
			m = &pb.RunStreamResponse{Results: batch}
		}
		err := send(m)
		q.life.end(len(batch))
		if err != nil {
			return err
		}
		if q.reuse {
			m.Results = nil
		}
		if q.reuser != nil {
			// Encoded and written: the runs' Return buffers are the
			// extension's again.
			for _, r := range batch {
				if o := r.GetResponse().GetOutcome(); len(o.GetReturn()) > 0 {
					ret := o.Return
					o.Return = nil
					reuseReturn(q.reuser, ret)
				}
			}
		}
		for _, rr := range own {
			// Encoded and written: nothing refers to the result any
			// more (the run that made it is over, and only the queue
			// held it).
			*rr = runReply{}
			q.replies.Put(rr)
		}
		if q.reuse {
			// Sent: the slices no longer hold the results (after a
			// partial batch, the array behind them may be kept with the
			// rest).
			clear(batch)
			clear(own)
		}
		if q.reuse && cap(batch) <= maxKeptBatch {
			// The slices the results queued in, for the next ones.
			q.mu.Lock()
			if q.res == nil {
				q.res = batch[:0]
			}
			if q.own == nil && cap(own) <= maxKeptBatch {
				q.own = own[:0]
			}
			q.mu.Unlock()
		}
	}
}

// reuseReturn hands b back to rr; a panic in it is logged, and b dropped.
func reuseReturn(rr ReturnReuser, b []byte) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic in extension handler", "method", "ReuseReturn", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	rr.ReuseReturn(b)
}

// close drops the results not sent and every later one.
func (q *resultQueue) close() {
	q.mu.Lock()
	n := len(q.res)
	q.res, q.own, q.size, q.closed = nil, nil, 0, true
	q.mu.Unlock()
	q.life.end(n)
}

// workerIdle is how long a worker of a workerPool waits for more work
// before it exits: at least this, at most twice this.
const workerIdle = 10 * time.Second

// workerPool runs functions on reused goroutines: a streamed run on a new
// goroutine would grow its stack from scratch every time, which costs more
// than a small automation run. There is no bound: a task that finds no
// idle worker gets a new one. The zero value is ready to use.
//
// Tasks wait in a queue, and a worker that finishes one takes the next
// before it goes idle: a batch of runs costs one or two goroutine
// hand-offs, not one each. Nothing waits behind a task that blocks: a
// worker that takes a task and leaves others queued first makes sure that
// another worker is woken to take them (waking, as the runtime's spinning
// threads), so every queued task has a worker on its way.
//
// Idle workers wait on a stack, the last one idle on top, so that the ones
// at the bottom are those that stayed idle longest; one timer for the pool
// (not one per worker, reset after every run) ends every workerIdle those
// that stayed idle all that time.
type workerPool struct {
	mu      sync.Mutex
	queue   []task // tasks not taken yet, first at queue[head]
	head    int
	waking  int // workers woken (or started) that have not looked at the queue yet
	idle    []*worker
	low     int  // the fewest idle workers since the last reap: the bottom ones stayed idle
	reaping bool // a reap is due: there are idle workers
}

// task is what a workerPool runs: an interface, so that a pointer to a
// struct that holds what the work needs goes to the worker without a
// closure allocated for it.
type task interface{ run() }

// taskFunc is a function as a task.
type taskFunc func()

func (f taskFunc) run() { f() }

// worker is an idle worker's mailbox: true to look at the queue, false to
// exit.
type worker struct{ next chan bool } // cap 1

// do queues t, and wakes a worker for it unless one is on its way.
func (p *workerPool) do(t task) {
	p.mu.Lock()
	if p.head > 0 && len(p.queue) == cap(p.queue) {
		// Under a steady load the queue may never empty: move the tasks
		// left to the front rather than grow it.
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	p.queue = append(p.queue, t)
	w, start := p.wakeLocked()
	p.mu.Unlock()
	p.wake(w, start)
}

// wakeLocked picks the worker to wake, an idle one or a new one (start),
// when tasks are queued and no worker is on its way; p.mu is held.
func (p *workerPool) wakeLocked() (w *worker, start bool) {
	if p.waking > 0 || p.head == len(p.queue) {
		return nil, false
	}
	p.waking++
	n := len(p.idle) - 1
	if n < 0 {
		return nil, true
	}
	w = p.idle[n]
	p.idle[n] = nil
	p.idle = p.idle[:n]
	p.low = min(p.low, n)
	return w, false
}

func (p *workerPool) wake(w *worker, start bool) {
	switch {
	case start:
		go p.work(&worker{next: make(chan bool, 1)})
	case w != nil:
		w.next <- true
	}
}

// work takes tasks from the queue until it is empty, then waits idle.
func (p *workerPool) work(w *worker) {
	p.mu.Lock()
	p.waking--
	for {
		if p.head == len(p.queue) {
			clear(p.queue) // the tasks, not kept alive
			p.queue, p.head = p.queue[:0], 0
			p.idle = append(p.idle, w)
			if !p.reaping {
				p.reaping, p.low = true, len(p.idle)
				time.AfterFunc(workerIdle, p.reap)
			}
			p.mu.Unlock()
			if !<-w.next {
				return
			}
			p.mu.Lock()
			p.waking--
			continue
		}
		t := p.queue[p.head]
		p.queue[p.head] = nil
		p.head++
		next, start := p.wakeLocked()
		p.mu.Unlock()
		p.wake(next, start)
		t.run()
		p.mu.Lock()
	}
}

// reap ends the workers that stayed idle since the last reap, and comes
// again while some are idle.
func (p *workerPool) reap() {
	p.mu.Lock()
	done := slices.Clone(p.idle[:p.low])
	p.idle = slices.Delete(p.idle, 0, p.low)
	p.low = len(p.idle)
	if p.reaping = p.low > 0; p.reaping {
		time.AfterFunc(workerIdle, p.reap)
	}
	p.mu.Unlock()
	for _, w := range done {
		w.next <- false
	}
}
