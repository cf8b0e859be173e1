package plugins

import (
	"context"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// hostileRunResponse is a RunResponse in wire form of about size bytes
// whose outcome holds nothing but empty fields num (log entries or side
// effects, 2 bytes each), its outcome in parts occurrences (which
// proto.Unmarshal merges).
func hostileRunResponse(size int, num protowire.Number, parts int) []byte {
	var b []byte
	for range parts {
		var out []byte
		for len(out) < size/parts-8 {
			out = protowire.AppendTag(out, num, protowire.BytesType)
			out = protowire.AppendVarint(out, 0)
		}
		b = protowire.AppendTag(b, fRespOutcome, protowire.BytesType)
		b = protowire.AppendBytes(b, out)
	}
	return b
}

// withEntries is a RunResponse whose outcome has logs log entries and sides
// side effects.
func withEntries(logs, sides int) *pb.RunResponse {
	out := &pb.Outcome{Exit: "return", Return: []byte(`{"a":1}`)}
	for i := range logs {
		out.Log = append(out.Log, &pb.LogEntry{Level: int32(i % 4), Node: "n", Message: "m"})
	}
	for range sides {
		out.SideEffects = append(out.SideEffects, &pb.SideEffect{Command: "http.request", Node: "n"})
	}
	return &pb.RunResponse{Outcome: out}
}

func unmarshalWith(t *testing.T, c answerCodec, b []byte, v any) {
	t.Helper()
	require.NoError(t, c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, v))
}

// TestAnswerCodec_Decodes: what the codec decodes is what proto.Unmarshal
// does, a Run's response of too many entries excepted, which fails its run
// naming the extension.
func TestAnswerCodec_Decodes(t *testing.T) {
	t.Parallel()
	c := newAnswerCodec("ext")
	twice := func(logs, sides int) []byte { // the outcome in two parts
		a, err := proto.Marshal(withEntries(logs, sides))
		require.NoError(t, err)
		return append(a, a...)
	}
	marshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		return b
	}
	for _, tc := range []struct {
		name    string
		b       []byte
		refused bool
	}{
		{"empty", nil, false},
		{"an error", marshal(&pb.RunResponse{Error: &pb.Error{Code: "inputs", Message: "no"}}), false},
		{"at the bounds", marshal(withEntries(MaxLogEntries, MaxSideEffects)), false},
		{"one log entry over", marshal(withEntries(MaxLogEntries+1, 0)), true},
		{"one side effect over", marshal(withEntries(0, MaxSideEffects+1)), true},
		{"over in two parts", twice(MaxLogEntries/2+1, 0), true},
		{"at the bounds in two parts", twice(MaxLogEntries/2, MaxSideEffects/2), false},
		{"empty entries", hostileRunResponse(1<<20, fOutLog, 1), true},
		{"log entries of the wrong wire type (unknown fields)",
			protowire.AppendBytes(protowire.AppendTag(nil, fRespOutcome, protowire.BytesType),
				bytesOfVarints(fOutLog, MaxLogEntries+1)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := new(pb.RunResponse)
			unmarshalWith(t, c, tc.b, got)
			if tc.refused {
				require.Nil(t, got.GetOutcome())
				require.Equal(t, string(CodeInternal), got.GetError().GetCode())
				require.Contains(t, got.GetError().GetMessage(), `extension "ext"`)
				require.Contains(t, got.GetError().GetMessage(), "more than 10000 log entries or 1000 side effects")
				return
			}
			want := new(pb.RunResponse)
			require.NoError(t, proto.Unmarshal(tc.b, want))
			require.True(t, proto.Equal(want, got), "got %v, want %v", got, want)
		})
	}
	t.Run("OtherMessagesAsProto", func(t *testing.T) {
		t.Parallel()
		d := &pb.DescribeResponse{Id: "x", Triggers: []string{"a", "b"}}
		data, err := c.Marshal(d)
		require.NoError(t, err)
		got := new(pb.DescribeResponse)
		require.NoError(t, c.Unmarshal(data, got))
		require.True(t, proto.Equal(d, got))
		require.Equal(t, "proto", c.Name())
	})
	t.Run("MalformedRefused", func(t *testing.T) {
		t.Parallel()
		b := marshal(withEntries(3, 0))
		require.Error(t, c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b[:len(b)-1])}, new(pb.RunResponse)))
	})
}

// bytesOfVarints is an outcome of n varint fields num.
func bytesOfVarints(num protowire.Number, n int) []byte {
	var b []byte
	for range n {
		b = protowire.AppendTag(b, num, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	return b
}

// TestAnswerCodec_BoundsEntries: a Run's response of MaxMessage-sized
// empty entries took proto.Unmarshal and fromPBOutcome about 80 times its
// size (4 MiB: 324 MB allocated, 263 MB kept, 0.6 to 1.4 s; 256 MiB: some
// 20 GB). The codec scans it and decodes nothing of it.
func TestAnswerCodec_BoundsEntries(t *testing.T) {
	c := newAnswerCodec("ext")
	for _, num := range []protowire.Number{fOutLog, fOutSideEffects} {
		b := hostileRunResponse(4<<20, num, 1)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := new(pb.RunResponse)
		unmarshalWith(t, c, b, m)
		out := fromPBOutcome(m.GetOutcome())
		runtime.ReadMemStats(&after)
		require.Empty(t, out.Log)
		require.Equal(t, string(CodeInternal), m.GetError().GetCode())
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("a response of %d bytes: %d bytes allocated (%.2f times)", len(b), allocated, float64(allocated)/float64(len(b)))
		// The bytes materialised (a copy of the one buffer), little else.
		require.Less(t, allocated, uint64(2*len(b)))
	}
}

// hostileExt answers every unary Run with resp.
type hostileExt struct {
	pb.UnimplementedExtensionServer
	resp *pb.RunResponse
}

func (h hostileExt) Run(context.Context, *pb.RunRequest) (*pb.RunResponse, error) { return h.resp, nil }

// TestClient_UnaryRunEntriesBounded: over a connection dialled with
// DialOptions, a unary Run answered with more log entries or side effects
// than an outcome may have fails with CodeInternal, naming the extension;
// one at the bounds succeeds.
func TestClient_UnaryRunEntriesBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		logs, sides int
		refused     bool
	}{
		{"AtTheBounds", MaxLogEntries, MaxSideEffects, false},
		{"TooManyLogEntries", 2 * MaxLogEntries, 0, true},
		{"TooManySideEffects", 0, MaxSideEffects + 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			s := grpc.NewServer()
			pb.RegisterExtensionServer(s, hostileExt{resp: withEntries(tc.logs, tc.sides)})
			go func() { _ = s.Serve(lis) }()
			t.Cleanup(s.Stop)
			conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
				append(DialOptions("hostile"), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
			require.NoError(t, err)
			t.Cleanup(func() { _ = conn.Close() })
			c := &Client{ext: pb.NewExtensionClient(conn), hosts: map[uint64]Host{}}

			out, err := c.Run(context.Background(), Invocation{Automation: "a", Inputs: []byte(`{}`)}, nil)
			if !tc.refused {
				require.NoError(t, err)
				require.Len(t, out.Log, tc.logs)
				require.Len(t, out.SideEffects, tc.sides)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, CodeInternal, e.Code)
			require.Contains(t, e.Message, `extension "hostile"`)
			require.Empty(t, out.Log)
		})
	}
}

// BenchmarkAnswerCodec_Run decodes an honest Run's response (20 log
// entries, a 1 KiB return) with gRPC's proto codec and with answerCodec,
// which scans it first.
func BenchmarkAnswerCodec_Run(b *testing.B) {
	m := withEntries(20, 0)
	m.Outcome.Return = make([]byte, 1024)
	raw, err := proto.Marshal(m)
	require.NoError(b, err)
	for _, c := range []struct {
		name  string
		codec interface {
			Unmarshal(mem.BufferSlice, any) error
		}
	}{{"proto", newAnswerCodec("ext").proto}, {"answerCodec", newAnswerCodec("ext")}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(raw)}, new(pb.RunResponse)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestAnswerCodec_BoundsStreamMessages: gRPC's proto codec took 61 times
// the size of a RunStream message of empty results (4 MiB: 256 MB), and as
// much for a result of empty log entries. The codec refuses the first
// before it decodes a result, and decodes MaxLogEntries entries of the
// second, whose run fails.
func TestAnswerCodec_BoundsStreamMessages(t *testing.T) {
	c := newAnswerCodec("ext")
	var empty []byte // 2 MiB results, for the one run awaiting
	for len(empty) < 4<<20 {
		empty = protowire.AppendTag(empty, fResponseResults, protowire.BytesType)
		empty = protowire.AppendVarint(empty, 0)
	}
	res := protowire.AppendTag(nil, fResultCallID, protowire.VarintType)
	res = protowire.AppendVarint(res, 1)
	res = protowire.AppendTag(res, fResultResponse, protowire.BytesType)
	res = protowire.AppendBytes(res, hostileRunResponse(4<<20, fOutLog, 1))
	entries := protowire.AppendBytes(protowire.AppendTag(nil, fResponseResults, protowire.BytesType), res)
	for _, tc := range []struct {
		name string
		b    []byte
		err  string
		most float64 // allocated, times the message's size
	}{
		{"EmptyResults", empty, "a message of 2097152 results, for 1 runs awaiting an answer", 0.1},
		// The message's copy, and the entries up to the bound.
		{"EmptyLogEntries", entries, "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			awaiting := new(atomic.Int64)
			awaiting.Store(1)
			m := &boundedResults{RunStreamResponse: new(pb.RunStreamResponse), awaiting: awaiting}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(tc.b)}, m)
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("a message of %d bytes: %d bytes allocated (%.2f times)", len(tc.b), allocated, float64(allocated)/float64(len(tc.b)))
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				require.Equal(t, err, m.err)
				require.Empty(t, m.Results)
			} else {
				require.NoError(t, err)
				require.Len(t, m.Results, 1)
				require.Nil(t, m.Results[0].GetResponse().GetOutcome())
				require.Equal(t, tooManyEntries(), m.Results[0].GetResponse().GetError())
			}
			require.Less(t, float64(allocated), tc.most*float64(len(tc.b)))
		})
	}
}

// streamExt answers the runs of a RunStream: once it holds batch runs (1:
// each as it comes), it sends answer's message for them.
type streamExt struct {
	pb.UnimplementedExtensionServer
	batch  int
	answer func(ids []uint64) *pb.RunStreamResponse
}

func (s streamExt) RunStream(st grpc.BidiStreamingServer[pb.RunStreamRequest, pb.RunStreamResponse]) error {
	var ids []uint64
	for {
		m, err := st.Recv()
		if err != nil {
			return err
		}
		for _, r := range m.GetRuns() {
			ids = append(ids, r.GetCallId())
		}
		if len(ids) >= max(s.batch, 1) {
			if err := st.Send(s.answer(ids)); err != nil {
				return err
			}
			ids = nil
		}
	}
}

// resultOf is a result of run id whose outcome has logs log entries and
// sides side effects.
func resultOf(id uint64, logs, sides int) *pb.RunStreamResult {
	return &pb.RunStreamResult{CallId: id, Response: withEntries(logs, sides)}
}

// streamedClient is a Client that runs over RunStream on a connection to
// ext, dialled with DialOptions unless plain.
func streamedClient(t *testing.T, ext pb.ExtensionServer, plain bool) *Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := grpc.NewServer()
	pb.RegisterExtensionServer(s, ext)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if !plain {
		opts = append(opts, DialOptions("hostile")...)
	}
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	c := &Client{ext: pb.NewExtensionClient(conn), hosts: map[uint64]Host{}, streamed: true}
	t.Cleanup(func() {
		if rs := c.stream.Load(); rs != nil {
			rs.fail(context.Canceled)
		}
	})
	return c
}

// TestClient_StreamResultsBounded: over a connection dialled with
// DialOptions, the messages of a gRPC RunStream (an extension without a run
// socket) are decoded within the run socket's bounds: a result of more log
// entries or side effects than an outcome may have, or past the entries
// the host decodes in one message, fails its run alone; a message of more
// results than runs awaiting an answer breaks the stream.
func TestClient_StreamResultsBounded(t *testing.T) {
	t.Parallel()
	inv := Invocation{Automation: "a", Inputs: []byte(`{}`)}
	runCtx := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	for _, tc := range []struct {
		name        string
		logs, sides int
		err         string // the run's *Error; "": none
	}{
		{"AtTheBounds", MaxLogEntries, MaxSideEffects, ""},
		{"TooManyLogEntries", MaxLogEntries + 1, 0, "more than 10000 log entries or 1000 side effects"},
		{"TooManySideEffects", 0, MaxSideEffects + 1, "more than 10000 log entries or 1000 side effects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := streamedClient(t, streamExt{answer: func(ids []uint64) *pb.RunStreamResponse {
				return &pb.RunStreamResponse{Results: []*pb.RunStreamResult{resultOf(ids[0], tc.logs, tc.sides)}}
			}}, false)
			for range 2 { // the stream serves on
				out, err := c.Run(runCtx(t), inv, nil)
				if tc.err == "" {
					require.NoError(t, err)
					require.Len(t, out.Log, tc.logs)
					require.Len(t, out.SideEffects, tc.sides)
					continue
				}
				var e *Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, CodeInternal, e.Code)
				require.Contains(t, e.Message, tc.err)
				require.Empty(t, out.Log)
			}
			require.False(t, c.stream.Load().broken())
		})
	}
	t.Run("MoreResultsThanRunsBreakTheStream", func(t *testing.T) {
		t.Parallel()
		c := streamedClient(t, streamExt{answer: func(ids []uint64) *pb.RunStreamResponse {
			return &pb.RunStreamResponse{Results: []*pb.RunStreamResult{resultOf(ids[0], 0, 0), resultOf(ids[0], 0, 0)}}
		}}, false)
		_, err := c.Run(runCtx(t), inv, nil)
		require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		require.ErrorContains(t, err, "run stream: a message of 2 results, for 1 runs awaiting an answer")
		require.True(t, c.stream.Load().broken())
	})
	t.Run("PastTheMessagesEntries", func(t *testing.T) {
		t.Parallel()
		// Eleven results of MaxLogEntries in one message: the last is past
		// the maxFrameEntries the host decodes in one.
		const runs = maxFrameEntries/MaxLogEntries + 1
		c := streamedClient(t, streamExt{batch: runs, answer: func(ids []uint64) *pb.RunStreamResponse {
			m := &pb.RunStreamResponse{}
			for _, id := range ids {
				m.Results = append(m.Results, resultOf(id, MaxLogEntries, 0))
			}
			return m
		}}, false)
		ctx := runCtx(t)
		errs := make(chan error, runs)
		for range runs {
			go func() {
				_, err := c.Run(ctx, inv, nil)
				errs <- err
			}()
		}
		failed := 0
		for range runs {
			if err := <-errs; err != nil {
				var e *Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, CodeInternal, e.Code)
				require.Contains(t, e.Message, "rebuild the extension with a current SDK")
				failed++
			}
		}
		require.Equal(t, 1, failed)
		require.False(t, c.stream.Load().broken())
	})
	t.Run("WithoutTheCodec", func(t *testing.T) {
		t.Parallel()
		// A connection not dialled with DialOptions (go-plugin's test
		// harness): gRPC's proto codec decodes the messages.
		c := streamedClient(t, streamExt{answer: func(ids []uint64) *pb.RunStreamResponse {
			return &pb.RunStreamResponse{Results: []*pb.RunStreamResult{resultOf(ids[0], 3, 1)}}
		}}, true)
		out, err := c.Run(runCtx(t), inv, nil)
		require.NoError(t, err)
		require.Len(t, out.Log, 3)
		require.Len(t, out.SideEffects, 1)
	})
}

// describeExt answers Describe with triggers empty triggers.
type describeExt struct {
	pb.UnimplementedExtensionServer
	triggers int
}

func (d describeExt) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return &pb.DescribeResponse{Id: "x", Triggers: make([]string, d.triggers)}, nil
}

// TestClient_DescribeAnswerBounded: a Describe answer over maxControlAnswer
// bytes (empty triggers, 2 bytes each, took 41 times their size) fails
// the call before it is decoded, over a connection whose calls may take
// MaxMessage.
func TestClient_DescribeAnswerBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		triggers int
		refused  bool
	}{
		{"Honest", 100, false},
		{"UnderTheBound", maxControlAnswer/2 - 16, false},
		{"OverTheBound", maxControlAnswer / 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := streamedClient(t, describeExt{triggers: tc.triggers}, false)
			d, err := c.Describe(context.Background())
			if tc.refused {
				require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
				return
			}
			require.NoError(t, err)
			require.Len(t, d.Triggers, tc.triggers)
		})
	}
}

// BenchmarkAnswerCodec_RunStream decodes an honest RunStream message (16
// results of 20 log entries and a 1 KiB return) with gRPC's proto codec
// and with answerCodec, which decodes it as the run socket's decoder does.
func BenchmarkAnswerCodec_RunStream(b *testing.B) {
	m := &pb.RunStreamResponse{}
	for i := range 16 {
		r := withEntries(20, 0)
		r.Outcome.Return = make([]byte, 1024)
		m.Results = append(m.Results, &pb.RunStreamResult{CallId: uint64(i + 1), Response: r})
	}
	raw, err := proto.Marshal(m)
	require.NoError(b, err)
	awaiting := new(atomic.Int64)
	awaiting.Store(16)
	c := newAnswerCodec("ext")
	for _, tc := range []struct {
		name string
		into func() any
		dec  func(mem.BufferSlice, any) error
	}{
		{"proto", func() any { return new(pb.RunStreamResponse) }, c.proto.Unmarshal},
		{"answerCodec", func() any {
			return &boundedResults{RunStreamResponse: new(pb.RunStreamResponse), awaiting: awaiting}
		}, c.Unmarshal},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.dec(mem.BufferSlice{mem.SliceBuffer(raw)}, tc.into()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestResponseEntries_StopsPastBound: the scan of a Run's response stops at
// the first entry past a bound (the counts say one over it), whatever
// follows: a hostile answer costs its first entries' scan, not its size's.
func TestResponseEntries_StopsPastBound(t *testing.T) {
	tests := []struct {
		name              string
		num               protowire.Number
		wantLogs, wantSfx int
	}{
		{"log entries", fOutLog, MaxLogEntries + 1, 0},
		{"side effects", fOutSideEffects, 0, MaxSideEffects + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Four times the entries the scan needs, in two outcomes.
			b := hostileRunResponse(16*(MaxLogEntries+1), tt.num, 2)
			logs, sides := responseEntries(b)
			require.Equal(t, tt.wantLogs, logs)
			require.Equal(t, tt.wantSfx, sides)
		})
	}
}
