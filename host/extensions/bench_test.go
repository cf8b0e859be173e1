package extensions_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/hookhost/hookhost/host/extensions"
	"github.com/hookhost/hookhost/plugins"
)

// benchInputs is a small webhook-like input dictionary (about 140 bytes).
var benchInputs = []byte(`{"request_method":"POST","request_path":"/orders","request_params":{"name":"bob"},"request_body":"{\"id\":42,\"total\":9.5}"}`)

func benchRun(b *testing.B, e plugins.Extension) {
	inv := plugins.Invocation{RunID: "bench", Automation: "bench", Revision: "1", Trigger: "test.run", Inputs: benchInputs}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := e.Run(ctx, inv, nil)
		if err != nil || len(out.Return) != len(benchInputs) {
			b.Fatalf("run: %v %q", err, out.Return)
		}
	}
}

func benchManager(b *testing.B) plugins.Extension {
	m, err := extensions.New(extensions.Config{
		Builtins: map[string][]string{"test": helperArgv("test")},
		Env:      helperEnv,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	e, err := m.ForTrigger("test.run")
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkRunOutOfProcess is one echo run through the manager and a real
// extension process (gRPC over a unix socket), one caller at a time.
func BenchmarkRunOutOfProcess(b *testing.B) { benchRun(b, benchManager(b)) }

// BenchmarkRunOutOfProcessParallel is the same with GOMAXPROCS callers.
func BenchmarkRunOutOfProcessParallel(b *testing.B) {
	e := benchManager(b)
	inv := plugins.Invocation{RunID: "bench", Automation: "bench", Revision: "1", Trigger: "test.run", Inputs: benchInputs}
	b.ReportAllocs()
	b.SetParallelism(32) // 32×GOMAXPROCS concurrent callers, like a loaded server
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := e.Run(ctx, inv, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRunInProcess is the same echo run through plugins.InProcess.
func BenchmarkRunInProcess(b *testing.B) { benchRun(b, plugins.InProcess(testExt{id: "test"})) }
