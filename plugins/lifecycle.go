package plugins

import (
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
)

// EnvLifeline is the environment variable through which the host tells an
// extension process that its stdin is a lifeline: a pipe whose other end
// only the host holds, so that reading end-of-file from it means the host is
// gone. The host sets it to "stdin"; Serve then exits when stdin closes.
const EnvLifeline = "HOOKHOST_PLUGIN_LIFELINE"

// Shutdown timings of an extension process (see Serve).
const (
	// ShutdownGrace is how long a process that received SIGTERM lets the
	// calls it holds finish before it exits anyway (they then fail on the
	// host as a crash, and jobs are retried).
	ShutdownGrace = 5 * time.Second
	// parentPoll is how often Serve checks whether its parent process
	// changed (the host died and the process was re-parented).
	parentPoll = 500 * time.Millisecond
	// flushGrace is how long the gRPC server may take, once every call is
	// answered, to write what it has queued before it is stopped.
	flushGrace = 250 * time.Millisecond
)

// lifecycle is how an extension process ends: on SIGTERM it drains (the
// calls it holds finish, new ones are refused with CodeUnavailable) and
// exits; when the host goes away it exits at once. Calls count from the
// moment they arrive until their answer is handed to gRPC.
type lifecycle struct {
	mu       sync.Mutex
	active   int
	draining bool
	idle     chan struct{} // closed when draining and active == 0

	srvMu sync.Mutex
	srv   *grpc.Server // the process's gRPC server, once built
	exit  func(code int)
}

func newLifecycle() *lifecycle {
	return &lifecycle{idle: make(chan struct{}), exit: os.Exit}
}

// begin counts a call that arrives; it reports false, counting nothing,
// when the process is draining and the call must be refused.
func (l *lifecycle) begin() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.draining {
		return false
	}
	l.active++
	return true
}

// add counts n calls whatever the state (answers to refused calls, which
// must still be sent).
func (l *lifecycle) add(n int) {
	l.mu.Lock()
	l.active += n
	l.mu.Unlock()
}

// end uncounts n calls answered (or abandoned).
func (l *lifecycle) end(n int) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active -= n
	if l.draining && l.active <= 0 {
		l.closeIdle()
	}
}

func (l *lifecycle) closeIdle() {
	select {
	case <-l.idle:
	default:
		close(l.idle)
	}
}

// drain stops taking calls; the channel closes when the last call held is
// answered.
func (l *lifecycle) drain() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.draining = true
	if l.active <= 0 {
		l.closeIdle()
	}
	return l.idle
}

// grpcServer builds the gRPC server of the process (NewGRPCServer) and
// keeps it, to stop it on shutdown.
func (l *lifecycle) grpcServer(opts []grpc.ServerOption) *grpc.Server {
	s := NewGRPCServer(opts)
	l.srvMu.Lock()
	l.srv = s
	l.srvMu.Unlock()
	return s
}

// watch starts the watchers that end the process: SIGTERM, the stdin
// lifeline (when the host announced it in EnvLifeline), and a change of the
// parent process.
func (l *lifecycle) watch(log *slog.Logger) {
	parent := os.Getppid()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		if os.Getppid() != parent {
			// The host died and the kernel sent its parent-death signal.
			l.hostGone(log, "SIGTERM after the parent process exited")
			return
		}
		log.Info("SIGTERM: finishing the calls in flight, then exiting", "grace", ShutdownGrace.String())
		l.shutdown(ShutdownGrace)
	}()
	if os.Getenv(EnvLifeline) == "stdin" {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			l.hostGone(log, "the host closed the lifeline (stdin)")
		}()
	}
	go func() {
		t := time.NewTicker(parentPoll)
		defer t.Stop()
		for range t.C {
			if p := os.Getppid(); p != parent {
				l.hostGone(log, "the parent process exited (re-parented to pid "+strconv.Itoa(p)+")")
				return
			}
		}
	}()
}

// hostGone ends the process at once, with the children it started: nobody
// is left to answer. The group goes first: the log line may well be the
// write to a broken stderr that ends the process (SIGPIPE).
func (l *lifecycle) hostGone(log *slog.Logger, why string) {
	killOwnGroup()
	log.Warn("host gone; exiting", "reason", why)
	l.exit(1)
}

// shutdown drains for up to grace, stops the gRPC server and exits 0.
func (l *lifecycle) shutdown(grace time.Duration) {
	t := time.NewTimer(grace)
	select {
	case <-l.drain():
	case <-t.C:
	}
	t.Stop()
	l.srvMu.Lock()
	s := l.srv
	l.srvMu.Unlock()
	if s != nil {
		// GracefulStop lets the transport write the answers it has queued;
		// it would also wait for go-plugin's own long-lived streams (broker,
		// stdio), hence the bound.
		stopped := make(chan struct{})
		go func() { s.GracefulStop(); close(stopped) }()
		f := time.NewTimer(flushGrace)
		select {
		case <-stopped:
		case <-f.C:
			s.Stop()
		}
		f.Stop()
	}
	l.exit(0)
}
