package extensions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hookhost/hookhost/plugins"
)

// stopGrace bounds go-plugin's graceful Kill of a process (it waits 2s for
// the process to exit after asking it to); past it the process group is
// killed.
const stopGrace = 5 * time.Second

// errMoved is what acquire returns on an extension that a Reload replaced
// or removed.
var errMoved = errors.New("extension replaced or removed")

// extension is one extension: its description and its pool of processes.
// It is the handle ForTrigger and ForCommand return. A Reload never changes
// one: it starts a new extension and retires the old one, which hands new
// calls to its successor.
type extension struct {
	m    *Manager
	spec spec
	name string

	// Set by start, read-only afterwards.
	desc  plugins.Description
	err   error // *StartError when refused or failed
	slots []*slot

	next     atomic.Uint32 // round-robin start for least-busy selection
	restarts atomic.Int64

	successor atomic.Pointer[extension] // set when a Reload replaced it
	removed   atomic.Bool               // set when a Reload removed it
	reloadErr atomic.Pointer[string]    // why the last Reload could not replace it
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

// start starts every process of the pool concurrently; the first one's
// Describe is the extension's description. Any failure fails the
// extension, and the processes that did start are stopped.
func (e *extension) start(ctx context.Context) {
	if e.spec.err != nil {
		e.err = e.spec.err
		return
	}
	type started struct {
		p   *proc
		d   plugins.Description
		err error
	}
	res := make([]started, len(e.slots))
	var wg sync.WaitGroup
	for i := range e.slots {
		wg.Go(func() {
			p, d, err := e.spawn(ctx)
			res[i] = started{p, d, err}
		})
	}
	wg.Wait()
	for _, r := range res {
		if r.err != nil {
			e.err = r.err
			break
		}
	}
	if e.err != nil {
		for _, r := range res {
			if r.p != nil {
				e.m.background(func() { r.p.kill(false) })
			}
		}
		return
	}
	e.desc = res[0].d
	for i, s := range e.slots {
		s.mu.Lock()
		s.cur = res[i].p
		close(s.ready)
		s.mu.Unlock()
		s.watchExit(res[i].p)
	}
}

// spawn starts one process and describes it, within StartTimeout. A process
// that misses it, or whose start ctx ends, is killed with its process group.
func (e *extension) spawn(ctx context.Context) (*proc, plugins.Description, error) {
	m := e.m
	path := e.spec.argv[0]
	fail := func(err error) (*proc, plugins.Description, error) {
		return nil, plugins.Description{}, &StartError{Extension: e.name, Path: path, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("start aborted: %w", err))
	}
	ctx, cancel := context.WithTimeoutCause(ctx, m.cfg.StartTimeout, errStartDeadline)
	defer cancel()
	if e.spec.checksum != nil {
		// Checked at every start: a restart runs the file again.
		sum, err := fileSHA256(path)
		if err != nil {
			return fail(err)
		}
		if !bytes.Equal(sum, e.spec.checksum) {
			return fail(fmt.Errorf("%w: the binary's SHA-256 is not the pinned one", ErrChecksum))
		}
	}
	r := newProcRunner(e.spec.argv, m.spawner.start, !m.cfg.noPdeathsig)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake(),
		VersionedPlugins: plugins.VersionedPlugins(),
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			r.setEnv(m.environ(os.Environ(), cmd.Env))
			return r, nil
		},
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  plugins.DialOptions(e.name),
		Logger:           newHCLog(m.log.With("extension", e.name)),
		StartTimeout:     m.cfg.StartTimeout,
		Managed:          true,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: m.socketDir},
	})
	type connected struct {
		pc  *plugins.Client
		d   plugins.Description
		err error
	}
	ch := make(chan connected, 1)
	go func() {
		pc, d, err := connect(ctx, client)
		ch <- connected{pc, d, err}
	}()
	var c connected
	select {
	case c = <-ch:
	case <-ctx.Done():
		// Kill the process group: that ends the handshake wait at once.
		_ = r.Kill(context.Background())
		m.background(func() {
			<-ch
			client.Kill()
		})
		return fail(startTimeoutError(ctx, m.cfg.StartTimeout))
	}
	if c.err != nil {
		_ = r.Kill(context.Background())
		client.Kill()
		if ctx.Err() != nil {
			c.err = fmt.Errorf("%w (%w)", startTimeoutError(ctx, m.cfg.StartTimeout), c.err)
		}
		return fail(c.err)
	}
	return &proc{client: client, runner: r, ext: c.pc, pid: r.Pid(), started: time.Now()}, c.d, nil
}

// connect does the handshake, dispenses the extension (its Init) and
// describes it.
func connect(ctx context.Context, client *plugin.Client) (*plugins.Client, plugins.Description, error) {
	rpc, err := client.Client()
	if err != nil {
		return nil, plugins.Description{}, err
	}
	raw, err := rpc.Dispense(plugins.PluginName)
	if err != nil {
		return nil, plugins.Description{}, fmt.Errorf("dispense: %w", err)
	}
	pc, ok := raw.(*plugins.Client)
	if !ok {
		return nil, plugins.Description{}, fmt.Errorf("dispensed %T, want *plugins.Client", raw)
	}
	d, err := pc.Describe(ctx)
	if err != nil {
		return nil, plugins.Description{}, fmt.Errorf("describe: %w", err)
	}
	if d.ProtocolVersion != plugins.ProtocolVersion {
		return nil, plugins.Description{}, fmt.Errorf("extension speaks protocol %d, host %d", d.ProtocolVersion, plugins.ProtocolVersion)
	}
	return pc, d, nil
}

// Describe returns the description the extension gave at start.
func (e *extension) Describe(ctx context.Context) (plugins.Description, error) {
	if next := e.successor.Load(); next != nil {
		return next.Describe(ctx)
	}
	if e.err != nil {
		return plugins.Description{}, e.err
	}
	return e.desc, nil
}

// Run runs inv on the least busy process of the pool. A run the process
// refused because it is shutting down (plugins.CodeUnavailable: it never
// started) is run once more, on the process that replaces it.
func (e *extension) Run(ctx context.Context, inv plugins.Invocation, host plugins.Host) (plugins.Outcome, error) {
	if inv.Commands == nil {
		inv.Commands = *e.m.cmdNames.Load() // never modified
	}
	for attempt := 0; ; attempt++ {
		s, p, err := e.acquire(ctx)
		if errors.Is(err, errMoved) {
			if next := e.successor.Load(); next != nil {
				return next.Run(ctx, inv, host)
			}
			return plugins.Outcome{}, e.removedError()
		}
		if err != nil {
			return plugins.Outcome{}, err
		}
		out, err := p.ext.Run(ctx, inv, host)
		s.inflight.Add(-1)
		if err == nil {
			s.succeeded(p)
			return out, nil
		}
		if attempt == 0 && s.refusedWhileStopping(p, err) {
			continue
		}
		return plugins.Outcome{}, e.callFailed(ctx, s, p, err)
	}
}

// RunCommand runs call on the least busy process of the pool, like Run.
func (e *extension) RunCommand(ctx context.Context, call plugins.CommandCall, host plugins.Host) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		s, p, err := e.acquire(ctx)
		if errors.Is(err, errMoved) {
			if next := e.successor.Load(); next != nil {
				return next.RunCommand(ctx, call, host)
			}
			return nil, e.removedError()
		}
		if err != nil {
			return nil, err
		}
		out, err := p.ext.RunCommand(ctx, call, host)
		s.inflight.Add(-1)
		if err == nil {
			s.succeeded(p)
			return out, nil
		}
		if attempt == 0 && s.refusedWhileStopping(p, err) {
			continue
		}
		return nil, e.callFailed(ctx, s, p, err)
	}
}

func (e *extension) removedError() error {
	return &RunError{Extension: e.name, Err: fmt.Errorf("removed from the plugins directory: %w", ErrNotFound)}
}

// acquire picks the least busy slot (ties: round robin) and waits for its
// process. The slot's in-flight count includes the caller on success. It
// fails with errMoved once a Reload replaced or removed the extension: the
// count is raised before that check, and retire sets the successor before
// it waits for the count to drop, so no call slips past both.
func (e *extension) acquire(ctx context.Context) (*slot, *proc, error) {
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
	if e.successor.Load() != nil || e.removed.Load() {
		s.inflight.Add(-1)
		return nil, nil, errMoved
	}
	if e.err != nil {
		s.inflight.Add(-1)
		return nil, nil, &RunError{Extension: e.name, Err: e.err}
	}
	p, err := s.get(ctx)
	if err != nil {
		s.inflight.Add(-1)
		return nil, nil, &RunError{Extension: e.name, Err: err}
	}
	return s, p, nil
}

// refusedWhileStopping reports whether err is p refusing a call because it
// is shutting down (it got SIGTERM); p is then taken out of service, and
// the call may be made again.
func (s *slot) refusedWhileStopping(p *proc, err error) bool {
	var pe *plugins.Error
	if !errors.As(err, &pe) || pe.Code != plugins.CodeUnavailable {
		return false
	}
	s.stopping(p, pe.Message)
	return true
}

// stopping takes p, which is shutting down by itself, out of service: a
// new process replaces it, while p finishes the calls it holds and exits
// (it is killed if it has not within plugins.ShutdownGrace and stopGrace).
func (s *slot) stopping(p *proc, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !p.dead.CompareAndSwap(false, true) {
		return
	}
	m := s.e.m
	m.log.Warn("extension process is shutting down; replacing it", "extension", s.e.name, "pid", p.pid, "reason", why)
	m.background(func() {
		t := time.NewTimer(plugins.ShutdownGrace + stopGrace)
		defer t.Stop()
		select {
		case <-p.runner.done:
		case <-t.C:
		case <-m.ctx.Done():
		}
		p.kill(false)
	})
	if s.cur != p || s.closed {
		return
	}
	s.cur = nil
	s.ready = make(chan struct{})
	s.restartLocked()
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
	case ctx.Err() == nil && (p.dead.Load() || st.Code() == codes.Canceled):
		// The host closed the connection under the call: the process died
		// (its exit was seen first), was killed as hung, or was retired
		// past its drain time. The caller did not cancel.
		s.crashed(p, "call failed: "+st.Message())
		return &RunError{Extension: e.name, Pid: p.pid, Err: fmt.Errorf("%w: %s", ErrCrashed, st.Message())}
	case ctx.Err() != nil || st.Code() == codes.DeadlineExceeded:
		cerr := ctx.Err()
		if cerr == nil {
			cerr = context.DeadlineExceeded
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

// state is the extension's Info.State.
func (e *extension) state() string {
	switch {
	case e.err != nil && errors.Is(e.err, ErrChecksum):
		return StateRefused
	case e.err != nil:
		return StateFailed
	case e.m.isClosed():
		return StateClosed
	}
	for _, s := range e.slots {
		s.mu.Lock()
		up := s.cur != nil
		s.mu.Unlock()
		if !up {
			return StateRestarting
		}
	}
	return StateRunning
}

func (e *extension) info() Info {
	in := Info{
		Name:     e.name,
		Builtin:  e.spec.builtin,
		Path:     e.spec.argv[0],
		State:    e.state(),
		ID:       e.desc.ID,
		Version:  e.desc.Version,
		Triggers: append([]string{}, e.desc.Triggers...),
		Commands: append([]string{}, e.desc.Commands...),
		Restarts: int(e.restarts.Load()),
		Pids:     []int{},
	}
	if e.err != nil {
		in.Error = e.err.Error()
		return in
	}
	if msg := e.reloadErr.Load(); msg != nil {
		in.Error = *msg
	}
	in.Pids = e.pids()
	for _, s := range e.slots {
		in.InFlight += int(s.inflight.Load())
	}
	return in
}

// inflight counts the calls the extension's processes hold.
func (e *extension) inflight() int64 {
	var n int64
	for _, s := range e.slots {
		n += s.inflight.Load()
	}
	return n
}

func (e *extension) close() {
	var wg sync.WaitGroup
	for _, s := range e.slots {
		wg.Go(s.close)
	}
	wg.Wait()
}

// retire stops an extension that a Reload replaced or removed (its
// successor or removed flag is set already): the calls it holds may finish
// for up to DrainTimeout (not when the manager closes), then its processes
// stop.
func (e *extension) retire() {
	m := e.m
	deadline := time.NewTimer(m.cfg.DrainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
wait:
	for e.inflight() > 0 {
		select {
		case <-tick.C:
		case <-deadline.C:
			m.log.Warn("extension still busy after the drain timeout; stopping it", "extension", e.name, "in_flight", e.inflight(), "drain_timeout", m.cfg.DrainTimeout)
			break wait
		case <-m.ctx.Done():
			break wait
		}
	}
	e.close()
}

// proc is one extension process.
type proc struct {
	client  *plugin.Client
	runner  *procRunner
	ext     *plugins.Client
	pid     int
	started time.Time
	healthy atomic.Bool // a call succeeded since start
	dead    atomic.Bool // crashed or being killed
	probing atomic.Bool // a hang watchdog runs
}

// exited reports whether the process is gone (reaped by its runner, or
// seen gone by go-plugin).
func (p *proc) exited() bool {
	select {
	case <-p.runner.done:
		return true
	default:
		return p.client.Exited()
	}
}

// kill ends the process and its process group: at once (SIGKILL) when
// forced, else go-plugin's graceful Kill, bounded by stopGrace.
func (p *proc) kill(force bool) {
	if force {
		_ = p.runner.Kill(context.Background())
	}
	done := make(chan struct{})
	go func() {
		p.client.Kill()
		close(done)
	}()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = p.runner.Kill(context.Background())
		<-done
	}
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
			if !p.exited() {
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
	log.Error("extension process failed; restarting", "extension", s.e.name, "pid", p.pid, "reason", why, "exited", p.exited(), "uptime", time.Since(p.started).Round(time.Millisecond))
	s.e.m.background(func() { p.kill(true) })
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
	m.background(func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-m.ctx.Done():
			s.mu.Lock()
			s.starting = false
			s.mu.Unlock()
			return
		}
		p, _, err := s.e.spawn(m.ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.starting = false
		if s.closed {
			if p != nil {
				m.background(func() { p.kill(false) })
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
		m.restarts.Add(1)
		m.log.Info("extension process restarted", "extension", s.e.name, "pid", p.pid, "restarts", s.e.restarts.Load())
		s.lastErr = nil
		s.cur = p
		close(s.ready)
		s.watchExit(p)
	})
}

// watchExit takes p out of service (and restarts it) as soon as its process
// exits, so that a call that comes later waits for the replacement instead
// of failing on a dead process.
func (s *slot) watchExit(p *proc) {
	m := s.e.m
	m.background(func() {
		select {
		case <-p.runner.done:
			s.crashed(p, "process exited")
		case <-m.ctx.Done():
		}
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
	m.background(func() {
		defer p.probing.Store(false)
		wait := grace
		for !p.dead.Load() {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-m.ctx.Done():
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
