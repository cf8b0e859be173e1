package plugins

import (
	"context"
	"net"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
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
