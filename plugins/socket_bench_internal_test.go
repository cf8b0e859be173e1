package plugins

import (
	"context"
	"sync/atomic"
	"testing"

	pb "github.com/hookhost/hookhost/plugins/proto"
)

// BenchmarkRunSocketParallel is echo runs of 32×GOMAXPROCS concurrent
// callers over one run socket connection, host and extension sides in this
// process: the hop alone, without go-plugin or a second process.
func BenchmarkRunSocketParallel(b *testing.B) {
	sock := socketServer(b)
	rs, err := openRunStream(nil, sock.path, sock.token)
	if err != nil {
		b.Fatal(err)
	}
	defer rs.fail(context.Canceled)
	in := []byte(`{"request_method":"POST","request_path":"/orders","request_params":{"name":"bob"},"request_body":"{\"id\":42,\"total\":9.5}"}`)
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
}

// BenchmarkRunSocketSerial is echo runs of one caller over one run socket
// connection: every run finds the stream idle, as most do at a moderate
// rate.
func BenchmarkRunSocketSerial(b *testing.B) {
	sock := socketServer(b)
	rs, err := openRunStream(nil, sock.path, sock.token)
	if err != nil {
		b.Fatal(err)
	}
	defer rs.fail(context.Canceled)
	in := []byte(`{"request_method":"POST","request_path":"/orders","request_params":{"name":"bob"},"request_body":"{\"id\":42,\"total\":9.5}"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for i := range b.N {
		r := &pb.RunRequest{CallId: uint64(i) + 1, RunId: "bench", Automation: "bench", Revision: "1", Trigger: "t", Inputs: in}
		if _, err := rs.run(ctx, r, runSize(r)); err != nil {
			b.Fatal(err)
		}
	}
}
