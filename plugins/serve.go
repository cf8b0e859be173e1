package plugins

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Serve serves ext as a hookhost extension process. It is the last call of
// an extension binary's main function and it never returns:
//
//	func main() { plugins.Serve(myExtension{}) }
//
// Serve speaks the go-plugin handshake of Handshake, so the binary runs only
// when started by hookhost (run by hand, it prints a note and exits 1). A
// panic in a handler becomes a gRPC Internal error for that call and the
// process keeps serving; a panic in a goroutine the extension starts itself
// still ends the process (the host restarts it). slog's default logger is
// pointed at the host's log.
//
// The process ends with its host:
//   - On SIGTERM it stops taking calls (they are answered CodeUnavailable,
//     and the host runs them on another process), lets the calls it holds
//     finish for up to ShutdownGrace, and exits 0.
//   - When the host goes away without stopping it (killed, crashed, out of
//     memory), it exits at once: it notices that its parent process changed
//     (it was re-parented), or, when the host announced it in EnvLifeline,
//     that its stdin reached end-of-file.
//
// So an extension process built with Serve never outlives its host, even
// where the operating system has no parent-death signal.
func Serve(ext Extension) {
	stderr := os.Stderr // go-plugin swaps os.Stderr once serving starts
	log := slog.New(NewLogHandler(stderr, slog.LevelDebug))
	slog.SetDefault(log)
	life := newLifecycle()
	if stop := startProfile(os.Getenv(EnvCPUProfile), log); stop != nil {
		life.exit = func(code int) { stop(); os.Exit(code) }
	}
	if os.Getenv(MagicCookieKey) == MagicCookieValue {
		// Started by a host (go-plugin refuses to serve otherwise).
		life.watch(log)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake(),
		VersionedPlugins: servedPlugins(ext, life),
		GRPCServer:       life.grpcServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Level:      hclog.Info,
			Output:     stderr,
			JSONFormat: true,
		}),
	})
	life.exit(0)
}

// NewGRPCServer builds the gRPC server of an extension process: opts plus
// MaxMessage as its message caps and interceptors that turn a handler
// panic into codes.Internal. Serve uses it;
// it is exported for harnesses that serve an extension some other way.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts,
		grpc.MaxRecvMsgSize(MaxMessage),
		grpc.MaxSendMsgSize(MaxMessage),
		grpc.ChainUnaryInterceptor(RecoverUnary),
		grpc.ChainStreamInterceptor(recoverStream),
	)
	return grpc.NewServer(opts...)
}

// RecoverUnary is a gRPC unary server interceptor that turns a panic in the
// handler into a codes.Internal error, so one bad call does not end the
// process and every call in flight with it.
func RecoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("panic in extension handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = status.Errorf(codes.Internal, "extension panicked: %v", r)
		}
	}()
	return handler(ctx, req)
}

func recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("panic in extension stream handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = status.Errorf(codes.Internal, "extension panicked: %v", r)
		}
	}()
	return handler(srv, ss)
}

// NewLogHandler returns a slog handler that writes hclog-style JSON lines
// ("@level", "@message", "@timestamp") to w, the format go-plugin's host
// side parses from an extension's stderr and re-levels into the host log.
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				lvl := strings.ToLower(a.Value.String())
				if lvl == "warning" {
					lvl = "warn"
				}
				return slog.String("@level", lvl)
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}
