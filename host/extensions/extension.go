package extensions

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hookhost/hookhost/plugins"
)

// extension is one extension: its description and its pool of processes.
// It is the handle ForTrigger and ForCommand return.
type extension struct {
	m    *Manager
	spec spec
	name string

	// Set by start, read-only afterwards.
	desc  plugins.Description
	err   error // *StartError when refused
	slots []*slot

	next     atomic.Uint32 // round-robin start for least-busy selection
	restarts atomic.Int64
}

var _ plugins.Extension = (*extension)(nil)

func newExtension(m *Manager, s spec) *extension {
	n := m.cfg.PoolSize
	if p, ok := m.cfg.PoolSizes[s.name]; ok && p > 0 {
		n = p
	}
	e := &extension{m: m, spec: s, name: s.name}
	e.slots = make([]*slot, n)
	for i := range e.slots {
		e.slots[i] = &slot{e: e, ready: make(chan struct{}), backoff: m.cfg.RestartBackoff}
	}
	return e
}

// start starts every process of the pool; the first one's Describe is the
// extension's description. Any failure refuses the extension.
func (e *extension) start(ctx context.Context) {
	for i, s := range e.slots {
		p, d, err := e.spawn(ctx)
		if err != nil {
			e.err = err
			for _, s := range e.slots[:i] {
				s.close()
			}
			return
		}
		if i == 0 {
			e.desc = d
		}
		s.mu.Lock()
		s.cur = p
		close(s.ready)
		s.mu.Unlock()
	}
}

// spawn starts one process and describes it.
func (e *extension) spawn(ctx context.Context) (*proc, plugins.Description, error) {
	m := e.m
	fail := func(err error) (*proc, plugins.Description, error) {
		return nil, plugins.Description{}, &StartError{Extension: e.name, Path: e.spec.argv[0], Err: err}
	}
	cmd := exec.Command(e.spec.argv[0], e.spec.argv[1:]...)
	cmd.Env = append(cmd.Env, m.cfg.Env...) // go-plugin adds os.Environ()
	var secure *plugin.SecureConfig
	if e.spec.checksum != nil {
		secure = &plugin.SecureConfig{Checksum: e.spec.checksum, Hash: sha256.New()}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake(),
		VersionedPlugins: plugins.VersionedPlugins(),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLog(m.log.With("extension", e.name)),
		StartTimeout:     m.cfg.StartTimeout,
		Managed:          true,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: m.socketDir},
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			err = fmt.Errorf("%w: the binary's SHA-256 is not the pinned one", ErrChecksum)
		}
		return fail(err)
	}
	raw, err := rpc.Dispense(plugins.PluginName)
	if err != nil {
		client.Kill()
		return fail(fmt.Errorf("dispense: %w", err))
	}
	pc, ok := raw.(*plugins.Client)
	if !ok {
		client.Kill()
		return fail(fmt.Errorf("dispensed %T, want *plugins.Client", raw))
	}
	dctx, cancel := context.WithTimeout(ctx, m.cfg.StartTimeout)
	defer cancel()
	d, err := pc.Describe(dctx)
	if err != nil {
		client.Kill()
		return fail(fmt.Errorf("describe: %w", err))
	}
	if d.ProtocolVersion != plugins.ProtocolVersion {
		client.Kill()
		return fail(fmt.Errorf("extension speaks protocol %d, host %d", d.ProtocolVersion, plugins.ProtocolVersion))
	}
	p := &proc{client: client, ext: pc, started: time.Now()}
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	return p, d, nil
}

// Describe returns the description the extension gave at start.
func (e *extension) Describe(context.Context) (plugins.Description, error) {
	if e.err != nil {
		return plugins.Description{}, e.err
	}
	return e.desc, nil
}

// Run runs inv on the least busy process of the pool.
func (e *extension) Run(ctx context.Context, inv plugins.Invocation, host plugins.Host) (plugins.Outcome, error) {
	s, p, err := e.acquire(ctx)
	if err != nil {
		return plugins.Outcome{}, err
	}
	if inv.Commands == nil {
		inv.Commands = e.m.cmdNames // immutable after Start
	}
	out, err := p.ext.Run(ctx, inv, host)
	s.inflight.Add(-1)
	if err != nil {
		return plugins.Outcome{}, e.callFailed(ctx, s, p, err)
	}
	s.succeeded(p)
	return out, nil
}

// RunCommand runs call on the least busy process of the pool.
func (e *extension) RunCommand(ctx context.Context, call plugins.CommandCall, host plugins.Host) ([]byte, error) {
	s, p, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	out, err := p.ext.RunCommand(ctx, call, host)
	s.inflight.Add(-1)
	if err != nil {
		return nil, e.callFailed(ctx, s, p, err)
	}
	s.succeeded(p)
	return out, nil
}

// acquire picks the least busy slot (ties: round robin) and waits for its
// process. The slot's in-flight count includes the caller on success.
func (e *extension) acquire(ctx context.Context) (*slot, *proc, error) {
	if e.err != nil {
		return nil, nil, &RunError{Extension: e.name, Err: e.err}
	}
	s := e.slots[0]
	if n := len(e.slots); n > 1 {
		start := int(e.next.Add(1))
		best := int64(-1)
		for i := range n {
			c := e.slots[(start+i)%n]
			if f := c.inflight.Load(); best < 0 || f < best {
				s, best = c, f
			}
		}
	}
	s.inflight.Add(1)
	p, err := s.get(ctx)
	if err != nil {
		s.inflight.Add(-1)
		return nil, nil, &RunError{Extension: e.name, Err: err}
	}
	return s, p, nil
}

// callFailed classifies the error of a call on p and reacts: a dead
// process is restarted, a deadline starts the hang watchdog.
func (e *extension) callFailed(ctx context.Context, s *slot, p *proc, err error) error {
	var pe *plugins.Error
	if errors.As(err, &pe) {
		s.succeeded(p) // the process answered
		return &RunError{Extension: e.name, Pid: p.pid, Err: pe}
	}
	if e.m.isClosed() {
		return &RunError{Extension: e.name, Pid: p.pid, Err: ErrClosed}
	}
	st, _ := status.FromError(err)
	switch {
	case ctx.Err() != nil || st.Code() == codes.DeadlineExceeded || st.Code() == codes.Canceled:
		cerr := ctx.Err()
		if cerr == nil {
			cerr = context.DeadlineExceeded
			if st.Code() == codes.Canceled {
				cerr = context.Canceled
			}
		}
		if errors.Is(cerr, context.DeadlineExceeded) {
			s.watchHang(p)
		}
		return &RunError{Extension: e.name, Pid: p.pid, Err: cerr}
	case st.Code() == codes.Unavailable:
		s.crashed(p, "call failed: "+st.Message())
		return &RunError{Extension: e.name, Pid: p.pid, Err: fmt.Errorf("%w: %s", ErrCrashed, st.Message())}
	case st.Code() == codes.Internal:
		// The recover interceptor caught a panic; the process serves on.
		return &RunError{Extension: e.name, Pid: p.pid, Err: &plugins.Error{Code: plugins.CodeInternal, Message: st.Message()}}
	default:
		return &RunError{Extension: e.name, Pid: p.pid, Err: &plugins.Error{Code: plugins.CodeInternal, Message: err.Error()}}
	}
}

func (e *extension) pids() []int {
	out := make([]int, len(e.slots))
	for i, s := range e.slots {
		s.mu.Lock()
		if s.cur != nil {
			out[i] = s.cur.pid
		}
		s.mu.Unlock()
	}
	return out
}

func (e *extension) info() Info {
	in := Info{
		Name:     e.name,
		Builtin:  e.spec.builtin,
		Path:     e.spec.argv[0],
		State:    StateRunning,
		ID:       e.desc.ID,
		Version:  e.desc.Version,
		Triggers: append([]string{}, e.desc.Triggers...),
		Commands: append([]string{}, e.desc.Commands...),
		Restarts: int(e.restarts.Load()),
	}
	if e.err != nil {
		in.State, in.Error = StateRefused, e.err.Error()
		return in
	}
	in.Pids = e.pids()
	for i, s := range e.slots {
		in.InFlight += int(s.inflight.Load())
		if in.Pids[i] == 0 {
			in.State = StateRestarting
		}
	}
	if e.m.isClosed() {
		in.State = StateClosed
	}
	return in
}

func (e *extension) close() {
	for _, s := range e.slots {
		s.close()
	}
}

func (m *Manager) isClosed() bool {
	select {
	case <-m.closing:
		return true
	default:
		return false
	}
}

// proc is one extension process.
type proc struct {
	client  *plugin.Client
	ext     *plugins.Client
	pid     int
	started time.Time
	healthy atomic.Bool // a call succeeded since start
	dead    atomic.Bool // crashed or being killed
	probing atomic.Bool // a hang watchdog runs
}

// kill ends the process: at once (SIGKILL) when forced, else go-plugin's
// graceful Kill.
func (p *proc) kill(force bool) {
	if force && p.pid > 0 {
		if pr, err := os.FindProcess(p.pid); err == nil {
			_ = pr.Kill()
		}
	}
	p.client.Kill()
}

// slot is one position of an extension's pool: the current process, or a
// restart in progress.
type slot struct {
	e        *extension
	inflight atomic.Int64

	mu       sync.Mutex
	cur      *proc         // nil while (re)starting
	ready    chan struct{} // closed when cur is set or a start failed
	lastErr  error         // why the last start failed
	starting bool
	closed   bool
	backoff  time.Duration
}

// get returns the slot's live process, waiting for a restart in progress.
func (s *slot) get(ctx context.Context) (*proc, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if p := s.cur; p != nil {
			if !p.client.Exited() {
				s.mu.Unlock()
				return p, nil
			}
			s.crashedLocked(p, "process exited")
		}
		if s.lastErr != nil && !s.starting {
			err := s.lastErr
			s.mu.Unlock()
			return nil, err
		}
		ch := s.ready
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// succeeded records that p answered a call: the restart backoff starts over.
func (s *slot) succeeded(p *proc) {
	if !p.healthy.Load() {
		p.healthy.Store(true)
	}
}

// crashed takes p out of service, kills it and schedules a restart; only
// the first report of a process's death counts.
func (s *slot) crashed(p *proc, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crashedLocked(p, why)
}

func (s *slot) crashedLocked(p *proc, why string) {
	if !p.dead.CompareAndSwap(false, true) {
		return
	}
	log := s.e.m.log
	log.Error("extension process failed; restarting", "extension", s.e.name, "pid", p.pid, "reason", why, "exited", p.client.Exited(), "uptime", time.Since(p.started).Round(time.Millisecond))
	s.e.m.wg.Go(func() { p.kill(true) })
	if s.cur != p || s.closed {
		return
	}
	s.cur = nil
	s.ready = make(chan struct{})
	if p.healthy.Load() {
		s.backoff = s.e.m.cfg.RestartBackoff
	}
	s.restartLocked()
}

// restartLocked starts a new process after the backoff, unless one is
// already starting.
func (s *slot) restartLocked() {
	if s.starting || s.closed {
		return
	}
	s.starting = true
	delay := s.backoff
	s.backoff = min(s.backoff*2, s.e.m.cfg.MaxRestartBackoff)
	m := s.e.m
	m.wg.Go(func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-m.closing:
			s.mu.Lock()
			s.starting = false
			s.mu.Unlock()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.StartTimeout)
		p, _, err := s.e.spawn(ctx)
		cancel()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.starting = false
		if s.closed {
			if p != nil {
				m.wg.Go(func() { p.kill(false) })
			}
			return
		}
		if err != nil {
			m.log.Error("extension restart failed", "extension", s.e.name, "error", err, "retry_in", s.backoff)
			s.lastErr = err
			close(s.ready)
			s.ready = make(chan struct{})
			s.restartLocked()
			return
		}
		s.e.restarts.Add(1)
		m.log.Info("extension process restarted", "extension", s.e.name, "pid", p.pid, "restarts", s.e.restarts.Load())
		s.lastErr = nil
		s.cur = p
		close(s.ready)
	})
}

// watchHang checks, HangGrace after a call's deadline passed, whether the
// process is still busy with a call that long overdue (or does not answer);
// if so it is hung and is killed and restarted. While calls are late but not
// yet overdue it keeps probing.
func (s *slot) watchHang(p *proc) {
	if p.dead.Load() || !p.probing.CompareAndSwap(false, true) {
		return
	}
	m := s.e.m
	grace := m.cfg.HangGrace
	m.wg.Go(func() {
		defer p.probing.Store(false)
		wait := grace
		for !p.dead.Load() {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-m.closing:
				t.Stop()
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			overdue, late, err := p.ext.Overdue(ctx, grace)
			cancel()
			switch {
			case err != nil:
				s.crashed(p, "hung: no answer to the overdue probe: "+err.Error())
				return
			case overdue > 0:
				s.crashed(p, fmt.Sprintf("hung: %d call(s) still running %s past their deadline", overdue, grace))
				return
			case late == 0:
				return
			}
			wait = max(grace/4, time.Millisecond)
		}
	})
}

func (s *slot) close() {
	s.mu.Lock()
	s.closed = true
	select {
	case <-s.ready:
	default:
		close(s.ready) // wake waiters: they see closed
	}
	p := s.cur
	s.cur = nil
	s.mu.Unlock()
	if p != nil {
		p.dead.Store(true)
		p.kill(false)
	}
}
