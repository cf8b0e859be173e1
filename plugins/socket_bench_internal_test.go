package plugins

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// benchInputs are the inputs of the run socket benchmarks' echo runs.
const benchInputs = `{"request_method":"POST","request_path":"/orders","request_params":{"name":"bob"},"request_body":"{\"id\":42,\"total\":9.5}"}`

// benchStream opens a run stream on a run socket served by echoExt in this
// process and returns a function that makes the echo run of call id id on
// it (a failed run fails the benchmark).
func benchStream(b *testing.B) func(ctx context.Context, id uint64) {
	b.Helper()
	sock := socketServer(b)
	rs, err := openRunStream(nil, sock.path, sock.token, true)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rs.fail(context.Canceled) })
	b.ReportAllocs()
	in := []byte(benchInputs)
	return func(ctx context.Context, id uint64) {
		r := &pb.RunRequest{CallId: id, RunId: "bench", Automation: "bench", Revision: "1", Trigger: "t", Inputs: in}
		resp, err := rs.run(ctx, r, runSize(r))
		if err != nil {
			b.Error(err)
			return
		}
		releaseResult(rs.results, resp) // as Client.Run does

	}
}

// BenchmarkRunSocketParallel is echo runs of 32×GOMAXPROCS concurrent
// callers over one run socket connection, host and extension sides in this
// process: the hop alone, without go-plugin or a second process.
func BenchmarkRunSocketParallel(b *testing.B) {
	run := benchStream(b)
	var ids atomic.Uint64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(p *testing.PB) {
		ctx := context.Background()
		for p.Next() {
			run(ctx, ids.Add(1))
		}
	})
}

// BenchmarkRunSocketSerial is echo runs of one caller over one run socket
// connection: every run finds the stream idle, as most do at a moderate
// rate.
func BenchmarkRunSocketSerial(b *testing.B) {
	run := benchStream(b)
	ctx := context.Background()
	for i := range b.N {
		run(ctx, uint64(i)+1)
	}
}

// BenchmarkRunStreamGRPC is echo runs of 32×GOMAXPROCS concurrent callers
// over a gRPC RunStream on 127.0.0.1 (an extension without a run socket),
// its messages decoded by gRPC's proto codec (a connection not dialled
// with DialOptions) or by the host's (answerCodec, within the run
// socket's bounds).
func BenchmarkRunStreamGRPC(b *testing.B) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterExtensionServer(s, newServer(echoExt{}, nil, nil))
	go func() { _ = s.Serve(lis) }()
	b.Cleanup(s.Stop)
	for _, codec := range []string{"proto", "answerCodec"} {
		b.Run(codec, func(b *testing.B) {
			opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
			if codec == "answerCodec" {
				opts = append(opts, DialOptions("bench")...)
			}
			conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = conn.Close() })
			rs, err := openRunStream(pb.NewExtensionClient(conn), "", nil, false)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { rs.fail(context.Canceled) })
			in := []byte(benchInputs)
			var ids atomic.Uint64
			b.ReportAllocs()
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(p *testing.PB) {
				ctx := context.Background()
				for p.Next() {
					r := &pb.RunRequest{CallId: ids.Add(1), RunId: "bench", Automation: "bench", Revision: "1", Trigger: "t", Inputs: in}
					if _, err := rs.run(ctx, r, runSize(r)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
