package extensions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin/runner"

	"github.com/hookhost/hookhost/plugins"
)

// pipeGrace is how long, after an extension process and its process group
// are gone, the host keeps reading the stdout and stderr pipes before it
// closes them: a descendant that left the group (setsid) could otherwise
// hold them open, and go-plugin waits for their end-of-file.
const pipeGrace = time.Second

// procRunner runs one extension process for go-plugin (a runner.Runner,
// given to plugin.ClientConfig.RunnerFunc) the way hookhost wants it:
//   - with an explicit, minimal environment (Manager.environ);
//   - in a process group of its own, killed as a whole when the process
//     stops or is killed, so a plugin's children die with it;
//   - on Linux with the parent-death signal (SIGKILL), set by the manager's
//     spawner thread (see Manager.spawn);
//   - with a lifeline on stdin: a pipe whose write end only the host holds,
//     so an extension built with plugins.Serve exits when the host dies.
type procRunner struct {
	argv      []string
	env       []string
	spawn     func(context.Context, *exec.Cmd) error
	pdeathsig bool

	mu       sync.Mutex
	cmd      *exec.Cmd
	pid      int
	killed   bool // Kill was called: a later Start fails
	stdout   *watchedPipe
	stderr   *watchedPipe
	lifeline *os.File      // the host's end of the process's stdin
	done     chan struct{} // closed once the process was reaped
	waitErr  error
}

var _ runner.Runner = (*procRunner)(nil)

func newProcRunner(argv []string, spawn func(context.Context, *exec.Cmd) error, pdeathsig bool) *procRunner {
	return &procRunner{argv: argv, spawn: spawn, pdeathsig: pdeathsig, done: make(chan struct{})}
}

// setEnv sets the environment of the process to start.
func (r *procRunner) setEnv(env []string) {
	r.mu.Lock()
	r.env = env
	r.mu.Unlock()
}

// Start starts the process. ctx bounds waiting for the spawner.
func (r *procRunner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.killed {
		return errors.New("extension start aborted")
	}
	if r.cmd != nil {
		return errors.New("extension process already started")
	}
	var files []*os.File // the child's ends, closed here once it started
	closeAll := func(fs ...*os.File) {
		for _, f := range fs {
			if f != nil {
				_ = f.Close()
			}
		}
	}
	stdinR, lifeline, err := os.Pipe()
	if err != nil {
		return err
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, lifeline)
		return err
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, lifeline, stdoutR, stdoutW)
		return err
	}
	files = append(files, stdinR, stdoutW, stderrW)
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Env = r.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, stderrW
	cmd.SysProcAttr = sysProcAttr(r.pdeathsig)
	err = r.spawn(ctx, cmd)
	for try := 1; textBusy(err) && try <= 5; try++ {
		// The binary is still open for writing somewhere: being copied into
		// the plugins directory, or inherited for a moment by a process
		// forked meanwhile (golang/go#22315). Try again shortly.
		time.Sleep(time.Duration(try) * 20 * time.Millisecond)
		cmd = exec.Command(r.argv[0], r.argv[1:]...)
		cmd.Env = r.env
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, stderrW
		cmd.SysProcAttr = sysProcAttr(r.pdeathsig)
		err = r.spawn(ctx, cmd)
	}
	closeAll(files...)
	if err != nil {
		closeAll(lifeline, stdoutR, stderrR)
		return err
	}
	r.cmd, r.pid, r.lifeline = cmd, cmd.Process.Pid, lifeline
	r.stdout, r.stderr = newWatchedPipe(stdoutR), newWatchedPipe(stderrR)
	go r.wait()
	return nil
}

// wait reaps the process, then kills what is left of its process group,
// cuts the lifeline and, once the output pipes ended (or pipeGrace passed),
// closes them.
func (r *procRunner) wait() {
	err := r.cmd.Wait()
	killGroup(r.pid)
	r.mu.Lock()
	r.waitErr = err
	_ = r.lifeline.Close()
	r.mu.Unlock()
	close(r.done)
	t := time.NewTimer(pipeGrace)
	defer t.Stop()
	for _, p := range []*watchedPipe{r.stdout, r.stderr} {
		select {
		case <-p.eof:
		case <-t.C:
		}
		_ = p.f.Close()
	}
}

// Wait waits until the process was reaped.
func (r *procRunner) Wait(ctx context.Context) error {
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waitErr
}

// Kill kills the process and its process group (SIGKILL), or makes a Start
// still to come fail. It is idempotent.
func (r *procRunner) Kill(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killed = true
	if r.cmd == nil {
		return nil
	}
	select {
	case <-r.done:
		// Reaped: wait already killed the group, and the pid may be reused.
	default:
		killGroup(r.pid)
	}
	return nil
}

// Stdout is the process's stdout, where go-plugin reads the handshake.
func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }

// Stderr is the process's stderr, which go-plugin logs.
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }

// Name is the binary.
func (r *procRunner) Name() string { return r.argv[0] }

// ID is the pid, "" before Start.
func (r *procRunner) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pid == 0 {
		return ""
	}
	return strconv.Itoa(r.pid)
}

// Pid is the process id, 0 before Start.
func (r *procRunner) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pid
}

// Diagnose explains what a failed handshake usually means.
func (r *procRunner) Diagnose(context.Context) string {
	return "An extension must be built with hookhost's plugins.Serve (or speak go-plugin's handshake with the " +
		plugins.MagicCookieKey + " cookie) and print its handshake line on stdout; a wrapper script must exec it."
}

// PluginToHost returns the address unchanged: host and extension share the
// filesystem and network.
func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

// HostToPlugin returns the address unchanged.
func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// watchedPipe is the host's end of an output pipe; eof closes when a read
// returned end-of-file or an error.
type watchedPipe struct {
	f    *os.File
	eof  chan struct{}
	once sync.Once
}

func newWatchedPipe(f *os.File) *watchedPipe { return &watchedPipe{f: f, eof: make(chan struct{})} }

func (p *watchedPipe) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if err != nil {
		p.once.Do(func() { close(p.eof) })
	}
	return n, err
}

// Close is a no-op: the runner closes the pipe once the process is gone.
func (p *watchedPipe) Close() error { return nil }

// spawner starts extension processes from one goroutine locked to its OS
// thread. Linux sends the parent-death signal when the *thread* that forked
// the child exits, not the process (golang/go#27505), and the Go runtime
// may end a thread a goroutine left locked; forking from a thread that only
// this goroutine ever runs on means the signal fires when the host process
// dies, or when Close ends the spawner, and not before.
type spawner struct {
	reqs chan spawnReq
	stop chan struct{}
	done chan struct{}
}

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spawner) loop() {
	runtime.LockOSThread()
	// Never unlocked: when loop returns, the thread ends with it.
	defer close(s.done)
	for {
		select {
		case r := <-s.reqs:
			r.errc <- r.cmd.Start()
		case <-s.stop:
			return
		}
	}
}

// start starts cmd on the spawner's thread.
func (s *spawner) start(ctx context.Context, cmd *exec.Cmd) error {
	r := spawnReq{cmd: cmd, errc: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-r.errc
}

// close ends the spawner; call it once every process it started is gone.
func (s *spawner) close() {
	close(s.stop)
	<-s.done
}

// environ is the environment of an extension process: from the host's own
// environment only the basics (PATH, HOME, TMPDIR, LANG, LANGUAGE, LC_*,
// TZ) and the names of Config.PassEnv; then Config.Env; then the lifeline
// announcement; then what go-plugin adds (pluginEnv: the handshake cookie,
// PLUGIN_* settings). Later entries win. Nothing else of the host's
// environment, in particular no HOOKHOST_* secret, reaches an extension.
func (m *Manager) environ(hostEnv, pluginEnv []string) []string {
	env := make([]string, 0, 16+len(m.cfg.Env)+len(pluginEnv))
	for _, kv := range hostEnv {
		name, _, ok := strings.Cut(kv, "=")
		if ok && (inheritedEnv(name) || m.passEnv[name]) {
			env = append(env, kv)
		}
	}
	env = append(env, m.cfg.Env...)
	env = append(env, plugins.EnvLifeline+"=stdin")
	return append(env, pluginEnv...)
}

// inheritedEnv reports whether the host variable name reaches every
// extension process.
func inheritedEnv(name string) bool {
	switch name {
	case "PATH", "HOME", "TMPDIR", "TZ", "LANG", "LANGUAGE":
		return true
	}
	return strings.HasPrefix(name, "LC_")
}

// startTimeoutError is why a start that ran out of time failed.
func startTimeoutError(ctx context.Context, timeout time.Duration) error {
	if errors.Is(context.Cause(ctx), errStartDeadline) {
		return fmt.Errorf("%w: no handshake and description within %s (a wrapper script must exec the extension)", ErrStartTimeout, timeout)
	}
	return fmt.Errorf("start aborted: %w", ctx.Err())
}

// errStartDeadline is the cause of a start context whose StartTimeout
// passed.
var errStartDeadline = errors.New("start timeout")
