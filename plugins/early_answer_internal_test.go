package plugins

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// TestRunStream_EarlyAnswerBreaksStream: an extension that answers a call
// id (sequential: c.next) before the host sent that run breaks the stream.
// Taken as the run's answer, it would let Client.Run and the runner reuse
// the request and its inputs buffer while the send loop is still to encode
// them (review rev2).
func TestRunStream_EarlyAnswerBreaksStream(t *testing.T) {
	a, b := net.Pipe()
	rs := &runStream{st: hostConn{f: newFrameConn(a), in: &pb.RunStreamResponse{}, results: new(sync.Pool)},
		cancel: func() { _ = a.Close() }, wake: make(chan struct{}, 1), pending: map[uint64]pendingRun{}, reuse: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rs.sendLoop(ctx)
	go rs.recvLoop()
	queued := func(n, pending int) bool {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		return len(rs.runs) == n && len(rs.pending) == pending
	}

	r1 := &pb.RunRequest{CallId: 1, Trigger: "t", Inputs: []byte("1")}
	go func() { _, _ = rs.run(ctx, r1, runSize(r1)) }()
	require.Eventually(t, func() bool { return queued(0, 1) }, 5*time.Second, time.Millisecond) // frame 1 is being written (the pipe has no reader yet)
	r2 := &pb.RunRequest{CallId: 2, Trigger: "t", Inputs: []byte("inputs-of-run-2")}
	done := make(chan error, 1)
	go func() { _, err := rs.run(ctx, r2, runSize(r2)); done <- err }()
	require.Eventually(t, func() bool { return queued(1, 2) }, 5*time.Second, time.Millisecond) // run 2 queued, not sent

	ext := newFrameConn(b)
	require.NoError(t, ext.write(func(buf []byte) []byte {
		return appendRunStreamResponse(buf, &pb.RunStreamResponse{Results: []*pb.RunStreamResult{
			{CallId: 2, Response: &pb.RunResponse{Outcome: &pb.Outcome{Exit: "return"}}}}})
	}))
	err := <-done
	require.Error(t, err, "run 2 reported answered before it was sent")
	require.Contains(t, err.Error(), "answered call 2 before it was sent")
	require.True(t, rs.broken())
}

// TestRunStream_ScriptUnknownWhileSentRetriesACopy: a script_unknown
// answer that comes while the run's message is still being written (the
// send loop may still read the request) is retried with a copy, and the
// run is not reported settled: the retry rewrote the request's script
// fields under the send loop (review rev4).
func TestRunStream_ScriptUnknownWhileSentRetriesACopy(t *testing.T) {
	a, b := net.Pipe()
	rs := &runStream{st: hostConn{f: newFrameConn(a), in: &pb.RunStreamResponse{}, results: new(sync.Pool)},
		cancel: func() { _ = a.Close() }, wake: make(chan struct{}, 1), pending: map[uint64]pendingRun{}, reuse: true,
		scripts: true, sent: sentScripts{{"a", "1"}: {}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rs.sendLoop(ctx)
	go rs.recvLoop()

	r := &pb.RunRequest{CallId: 1, Automation: "a", Revision: "1", Trigger: "t", Script: "start:\n", Policy: "p", Inputs: []byte("1")}
	type result struct {
		settled bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		_, settled, err := rs.runFor(ctx, r, runSize(r), nil)
		done <- result{settled, err}
	}()
	// The send loop took the run (its script left out) and is writing
	// its frame: the pipe has no reader yet.
	require.Eventually(t, func() bool {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		p, ok := rs.pending[1]
		return ok && p.batch != 0
	}, 5*time.Second, time.Millisecond)
	ext := newFrameConn(b)
	require.NoError(t, ext.write(func(buf []byte) []byte {
		return appendRunStreamResponse(buf, &pb.RunStreamResponse{Results: []*pb.RunStreamResult{
			{CallId: 1, Response: &pb.RunResponse{Error: &pb.Error{Code: codeScriptUnknown}}}}})
	}))
	// The answer is delivered while the first frame is still being
	// written (the test reads it only below): the retry is queued behind
	// it. Without this wait the read below could end the write before
	// the receive loop delivered the answer, which then is settled (the
	// request written) and rightly retried in place.
	require.Eventually(t, func() bool {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		return len(rs.runs) == 1
	}, 5*time.Second, time.Millisecond)
	// Read the frames and answer the retry.
	var frames int
	for frames < 2 {
		require.NoError(t, ext.read(func([]byte) error { frames++; return nil }))
	}
	require.True(t, r.GetScriptOmitted(), "the request being sent was rewritten")
	require.Empty(t, r.GetScript())
	require.NoError(t, ext.write(func(buf []byte) []byte {
		return appendRunStreamResponse(buf, &pb.RunStreamResponse{Results: []*pb.RunStreamResult{
			{CallId: 1, Response: &pb.RunResponse{Outcome: &pb.Outcome{Exit: "return"}}}}})
	}))
	res := <-done
	require.NoError(t, res.err)
	require.False(t, res.settled, "a request that may still be read is not settled")
}
