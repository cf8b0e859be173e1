// Package extensions runs hookhost's extensions: the built-in ones (the
// hookhost binary re-executed as `hookhost ext serve <name>`) and third-party
// binaries from the plugins directory, each as go-plugin processes speaking
// the protocol of package plugins.
//
// A Manager starts every extension, asks it what it provides (Describe), and
// routes runs by trigger (ForTrigger) and command calls by name
// (ForCommand). The handles it returns are plugins.Extension values, like
// plugins.InProcess, so the server does not care where an extension runs.
// Concurrent calls share one process (or a pool of them, least busy first).
//
// A process that crashes fails only the calls it held, with ErrCrashed, and
// is restarted with backoff; a call past its deadline fails with
// context.DeadlineExceeded, and a process still busy with it HangGrace later
// is killed and restarted (the other calls it held fail with ErrCrashed; use
// a pool to narrow that). Errors map to HTTP statuses as follows:
//
//	errors.Is(err, ErrCrashed)                → 502
//	errors.Is(err, context.DeadlineExceeded)  → 504
//	errors.As(err, **plugins.Error)           → 500 (the extension's failure)
//	errors.Is(err, ErrNotFound)               → 404 (no extension for it)
//	*StartError, ErrClosed                    → 503
//
// Check an Outcome too: Exit "error" is the automation's failure (500), and
// Limit "time" means it ran out of time (504).
//
// # Processes
//
// Every extension process runs in a process group of its own with an
// explicit, minimal environment (see Config.Env), its stdin a lifeline from
// the host, and, on Linux, the parent-death signal set; stopping it kills
// the whole group. So an extension never outlives the host, whether the host
// closes the Manager, fails to start, or is killed (SIGKILL, out of memory):
// the kernel kills the process, and an extension built with plugins.Serve
// also exits by itself when its lifeline or its parent goes.
//
// Start starts every extension concurrently, each process within
// StartTimeout (handshake, Init and Describe); one that does not make it is
// killed with its process group, logged and listed as failed, and the others
// serve. Cancelling Start's context aborts it at once.
//
// Reload (and, with Config.Watch, any change in the plugins directory)
// starts new binaries, restarts changed ones and stops removed ones without
// a restart of the host; runs in flight on a replaced process finish first.
//
// Clients are go-plugin Managed clients; Close kills them, and a main that
// exits without Close should call plugin.CleanupClients.
package extensions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookhost/hookhost/plugins"
)

// Config configures a Manager. Zero fields take the defaults given.
type Config struct {
	// Builtins maps the name of each built-in extension to the command line
	// that serves it (see BuiltinCommand), e.g.
	// {"webhook": {"/usr/bin/hookhost", "ext", "serve", "webhook"}}.
	Builtins map[string][]string
	// PluginsDir is scanned by Start (and Reload) for third-party
	// extensions: each executable regular file is one, named after the
	// file. "" for none.
	PluginsDir string
	// Watch makes the Manager watch PluginsDir and Reload when a binary
	// appears, changes or goes (after the directory has been quiet for
	// WatchDelay).
	Watch bool
	// WatchDelay is how long the plugins directory must be quiet before a
	// watched change reloads. Default 500ms.
	WatchDelay time.Duration
	// Checksums pins third-party binaries: extension name → hex SHA-256.
	// Without an entry, a "<name>.sha256" file next to the binary pins it
	// (its first word is the hex digest, as sha256sum prints it); without
	// either the binary runs unpinned. A binary that does not match is
	// refused.
	Checksums map[string]string
	// SocketDir is where go-plugin creates its unix sockets; Start empties
	// it, so sockets leaked by a crashed run of hookhost do not pile up.
	// Default: a new temporary directory that Close removes.
	SocketDir string
	// PoolSize is the number of processes per extension. Default 1.
	PoolSize int
	// PoolSizes overrides PoolSize per extension name.
	PoolSizes map[string]int
	// Env is added to the environment of every extension process. An
	// extension process does not inherit the host's environment: it gets
	// only PATH, HOME, TMPDIR, LANG, LANGUAGE, LC_* and TZ from it, the
	// variables named in PassEnv, then Env, then what the protocol needs
	// (the handshake cookie HOOKHOST_PLUGIN, plugins.EnvLifeline and
	// go-plugin's PLUGIN_* settings). Secrets such as HOOKHOST_ADMIN_TOKEN
	// or HOOKHOST_SECRET_KEY never reach an extension unless put here.
	Env []string
	// PassEnv names further variables of the host's environment that every
	// extension gets (e.g. HTTPS_PROXY, SSL_CERT_FILE).
	PassEnv []string
	// Logger receives the manager's log and every extension's, with the
	// attribute extension=<name>. Default slog.Default().
	Logger *slog.Logger
	// StartTimeout bounds starting one process: exec, handshake, Init and
	// Describe. Processes start concurrently, so Start as a whole takes
	// about StartTimeout at most. Default 10s.
	StartTimeout time.Duration
	// RestartBackoff is the wait before restarting a crashed process; it
	// doubles on each crash until a call succeeds again, up to
	// MaxRestartBackoff. Defaults 50ms and 5s.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration
	// HangGrace is how long a call may run past its deadline before its
	// process is deemed hung, killed and restarted. Default 2s.
	HangGrace time.Duration
	// DrainTimeout bounds how long the processes of an extension that
	// Reload replaced or removed may finish the calls they hold before they
	// are stopped (those calls then fail with ErrCrashed). Default 30s.
	DrainTimeout time.Duration

	// noPdeathsig leaves the parent-death signal unset (tests of the
	// extension side's own watchdog).
	noPdeathsig bool
}

func (c Config) withDefaults() Config {
	if c.PoolSize <= 0 {
		c.PoolSize = 1
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 10 * time.Second
	}
	if c.RestartBackoff <= 0 {
		c.RestartBackoff = 50 * time.Millisecond
	}
	if c.MaxRestartBackoff <= 0 {
		c.MaxRestartBackoff = 5 * time.Second
	}
	if c.MaxRestartBackoff < c.RestartBackoff {
		c.MaxRestartBackoff = c.RestartBackoff
	}
	if c.HangGrace <= 0 {
		c.HangGrace = 2 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 30 * time.Second
	}
	if c.WatchDelay <= 0 {
		c.WatchDelay = 500 * time.Millisecond
	}
	return c
}

// BuiltinCommand returns the command line that serves the built-in
// extension name from the running binary: `<os.Executable()> ext serve
// <name>`.
func BuiltinCommand(name string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("extensions: locate hookhost binary: %w", err)
	}
	return []string{exe, "ext", "serve", name}, nil
}

// Manager starts, supervises and routes to extension processes. It is safe
// for concurrent use. Create it with New, then Start; Close stops every
// extension.
type Manager struct {
	cfg          Config
	log          *slog.Logger
	passEnv      map[string]bool
	socketDir    string
	ownSocketDir bool
	// ctx ends when Close begins: it aborts starts, restarts and drains.
	ctx    context.Context
	cancel context.CancelFunc

	// Background work (restarts, hang watchdogs, stops, drains); bgDone is
	// set once Close stopped tracking it.
	wg     sync.WaitGroup
	bgMu   sync.Mutex
	bgDone bool

	restarts atomic.Int64             // process restarts since Start, every extension
	cmdNames atomic.Pointer[[]string] // sorted command names; replaced, never modified

	reloadMu sync.Mutex // serialises Start and Reload

	mu       sync.RWMutex
	started  bool
	closed   bool
	spawner  *spawner
	exts     map[string]*extension
	order    []string // extension names, sorted
	triggers map[string]*extension
	commands map[string]*extension
}

// New checks cfg and returns a Manager that has started nothing yet.
func New(cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	for name, argv := range cfg.Builtins {
		if name == "" || len(argv) == 0 || argv[0] == "" {
			return nil, fmt.Errorf("extensions: built-in %q: empty command line", name)
		}
	}
	for name, sum := range cfg.Checksums {
		if _, err := parseChecksum(sum); err != nil {
			return nil, fmt.Errorf("extensions: Checksums[%q]: %w", name, err)
		}
	}
	for name, n := range cfg.PoolSizes {
		if n < 0 {
			return nil, fmt.Errorf("extensions: PoolSizes[%q] is %d, must not be negative", name, n)
		}
	}
	if cfg.Watch && cfg.PluginsDir == "" {
		return nil, errors.New("extensions: Watch needs a PluginsDir")
	}
	pass := map[string]bool{}
	for _, name := range cfg.PassEnv {
		if name == "" || strings.Contains(name, "=") {
			return nil, fmt.Errorf("extensions: PassEnv: %q is not a variable name", name)
		}
		pass[name] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg:      cfg,
		log:      cfg.Logger,
		passEnv:  pass,
		ctx:      ctx,
		cancel:   cancel,
		exts:     map[string]*extension{},
		triggers: map[string]*extension{},
		commands: map[string]*extension{},
	}
	m.cmdNames.Store(&[]string{})
	return m, nil
}

func parseChecksum(s string) ([]byte, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil, errors.New("empty checksum")
	}
	b, err := hex.DecodeString(f[0])
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("checksum %q is not a hex SHA-256", f[0])
	}
	return b, nil
}

// background runs f on its own goroutine; Close waits for it unless Close
// is already past waiting.
func (m *Manager) background(f func()) {
	m.bgMu.Lock()
	if m.bgDone {
		m.bgMu.Unlock()
		go f()
		return
	}
	m.wg.Add(1)
	m.bgMu.Unlock()
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// Start prepares the socket directory, finds the extensions (built-ins and
// the plugins directory), starts each one's processes (all concurrently)
// and asks what it provides. An extension that cannot be started (missing
// binary, checksum mismatch, wrong handshake, no handshake within
// StartTimeout) is killed with its process group, logged, and listed with
// its error (state "refused" or "failed"); it serves nothing, while the
// others serve. Start returns those failures joined (each a *StartError) —
// callers usually log them —, the context's error when ctx ended first
// (call Close then), and any other error for a setup failure (socket
// directory) or a second Start.
func (m *Manager) Start(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.mu.Lock()
	if m.started || m.closed {
		m.mu.Unlock()
		return errors.New("extensions: Start called twice or after Close")
	}
	m.started = true
	m.spawner = newSpawner()
	m.mu.Unlock()

	if err := m.prepareSocketDir(); err != nil {
		return err
	}
	ctx, cancel := m.linked(ctx)
	defer cancel()
	specs, errs := m.discover()
	exts := make([]*extension, len(specs))
	for i, s := range specs {
		exts[i] = newExtension(m, s)
	}
	m.startAll(ctx, exts)

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.closeAll(exts)
		return ErrClosed
	}
	for _, e := range exts {
		m.exts[e.name] = e
	}
	m.rebuildLocked()
	m.mu.Unlock()

	for _, e := range exts {
		if e.err != nil {
			errs = append(errs, e.err)
			m.logStartFailure(e)
			continue
		}
		m.log.Info("extension started", "extension", e.name, "path", e.spec.argv[0], "version", e.desc.Version, "pids", e.pids(), "triggers", e.desc.Triggers, "commands", e.desc.Commands)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("extensions: start: %w", err)
	}
	if m.cfg.Watch {
		if err := m.watch(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// linked returns ctx, ended as well when Close begins.
func (m *Manager) linked(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(m.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// startAll starts exts concurrently and returns when each one serves or
// failed.
func (m *Manager) startAll(ctx context.Context, exts []*extension) {
	var wg sync.WaitGroup
	for _, e := range exts {
		wg.Go(func() { e.start(ctx) })
	}
	wg.Wait()
}

func (m *Manager) logStartFailure(e *extension) {
	m.log.Error("extension not started; the others serve", "extension", e.name, "path", e.spec.argv[0], "state", e.state(), "error", e.err)
}

// closeAll stops exts concurrently.
func (m *Manager) closeAll(exts []*extension) {
	var wg sync.WaitGroup
	for _, e := range exts {
		wg.Go(e.close)
	}
	wg.Wait()
}

// maxSocketDir is the longest socket directory that leaves room for the
// sockets go-plugin creates in it ("/plugin-dirNNNNNNNNNN/pluginNNNNNNNNNN",
// 38 bytes) within the 107 bytes of a unix socket path.
const maxSocketDir = 107 - 38

func (m *Manager) prepareSocketDir() error {
	dir := m.cfg.SocketDir
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil && len(abs) > maxSocketDir {
			// A long data directory path: the sockets go to a private
			// temporary directory instead (removed by Close).
			m.log.Info("the socket directory's path is too long for unix sockets; using a private temporary directory",
				"socket_dir", abs, "bytes", len(abs), "max", maxSocketDir)
			dir = ""
		}
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "hookhost-ext-")
		if err != nil {
			return fmt.Errorf("extensions: socket dir: %w", err)
		}
		m.socketDir, m.ownSocketDir = d, true
		return nil
	}
	m.socketDir = m.cfg.SocketDir
	if err := os.MkdirAll(m.socketDir, 0o700); err != nil {
		return fmt.Errorf("extensions: socket dir: %w", err)
	}
	entries, err := os.ReadDir(m.socketDir)
	if err != nil {
		return fmt.Errorf("extensions: socket dir: %w", err)
	}
	for _, ent := range entries {
		if err := os.RemoveAll(filepath.Join(m.socketDir, ent.Name())); err != nil {
			return fmt.Errorf("extensions: clean socket dir: %w", err)
		}
	}
	return nil
}

// spec is how to start one extension.
type spec struct {
	name     string
	argv     []string
	builtin  bool
	checksum []byte // pinned SHA-256; nil: unpinned
	sum      []byte // SHA-256 of the binary when it was found (plugins directory only)
	err      error  // why it is refused before any start, e.g. a bad pin
}

// discover lists the built-ins, then the binaries of the plugins directory.
// A binary refused before it starts (unreadable pin, checksum mismatch) is
// listed with its err; a name clash with a built-in is only reported.
func (m *Manager) discover() ([]spec, []error) {
	var specs []spec
	var errs []error
	for name, argv := range m.cfg.Builtins {
		specs = append(specs, spec{name: name, argv: slices.Clone(argv), builtin: true})
	}
	if m.cfg.PluginsDir != "" {
		entries, err := os.ReadDir(m.cfg.PluginsDir)
		if err != nil {
			errs = append(errs, fmt.Errorf("extensions: plugins dir: %w", err))
		}
		for _, ent := range entries {
			name := ent.Name()
			if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".sha256") {
				continue
			}
			path := filepath.Join(m.cfg.PluginsDir, name)
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
				continue
			}
			if _, ok := m.cfg.Builtins[name]; ok {
				errs = append(errs, &StartError{Extension: name, Path: path, Err: errors.New("a built-in extension has this name")})
				continue
			}
			s := spec{name: name, argv: []string{path}}
			if s.sum, err = fileSHA256(path); err != nil {
				s.err = err
			} else if s.checksum, err = m.checksumOf(name, path); err != nil {
				s.err = fmt.Errorf("%w: %w", ErrChecksum, err)
			} else if s.checksum != nil && !bytes.Equal(s.checksum, s.sum) {
				s.err = fmt.Errorf("%w: the binary's SHA-256 is not the pinned one", ErrChecksum)
			}
			if s.err != nil {
				s.err = &StartError{Extension: name, Path: path, Err: s.err}
			}
			specs = append(specs, s)
		}
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].before(specs[j]) })
	return specs, errs
}

// before orders extensions by precedence: built-ins first, then by name.
// When two provide the same trigger or command, the first one wins.
func (s spec) before(o spec) bool {
	if s.builtin != o.builtin {
		return s.builtin
	}
	return s.name < o.name
}

func (m *Manager) checksumOf(name, path string) ([]byte, error) {
	if s, ok := m.cfg.Checksums[name]; ok {
		return parseChecksum(s)
	}
	b, err := os.ReadFile(path + ".sha256")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checksum file: %w", err)
	}
	sum, err := parseChecksum(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("%s.sha256: %w", name, err)
	}
	return sum, nil
}

// fileSHA256 returns the SHA-256 of the file at path.
func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	return h.Sum(nil), nil
}

// rebuildLocked recomputes the routing (triggers, commands) and the listing
// order from m.exts. Call it with m.mu held for writing.
func (m *Manager) rebuildLocked() {
	byPrecedence := make([]*extension, 0, len(m.exts))
	m.order = m.order[:0]
	for name, e := range m.exts {
		m.order = append(m.order, name)
		byPrecedence = append(byPrecedence, e)
	}
	sort.Strings(m.order)
	sort.Slice(byPrecedence, func(i, j int) bool { return byPrecedence[i].spec.before(byPrecedence[j].spec) })
	m.triggers = map[string]*extension{}
	m.commands = map[string]*extension{}
	for _, e := range byPrecedence {
		if e.err != nil {
			continue
		}
		for _, t := range e.desc.Triggers {
			if other, ok := m.triggers[triggerKey(t)]; ok {
				if other != e { // else both spellings listed
					m.log.Warn("trigger provided twice; first extension wins", "trigger", t, "extension", e.name, "winner", other.name)
				}
				continue
			}
			m.triggers[triggerKey(t)] = e
		}
		for _, c := range e.desc.Commands {
			if other, ok := m.commands[c]; ok {
				m.log.Warn("command provided twice; first extension wins", "command", c, "extension", e.name, "winner", other.name)
				continue
			}
			m.commands[c] = e
		}
	}
	names := make([]string, 0, len(m.commands))
	for c := range m.commands {
		names = append(names, c)
	}
	sort.Strings(names)
	m.cmdNames.Store(&names)
}

// triggerKey folds the two spellings of a trigger id
// ("cerb.trigger.webhook.respond" and "webhook.respond") into one.
func triggerKey(t string) string { return strings.TrimPrefix(t, "cerb.trigger.") }

// ForTrigger returns the extension that runs automations of trigger
// ("cerb.trigger.webhook.respond" and "webhook.respond" are the same
// trigger). The handle is valid until Close, across reloads (a replaced
// extension hands its calls to its successor); its Run fails with a
// *RunError (see the package doc).
func (m *Manager) ForTrigger(trigger string) (plugins.Extension, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	if e, ok := m.triggers[triggerKey(trigger)]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("trigger %q: %w", trigger, ErrNotFound)
}

// ForCommand returns the extension that provides the command name.
func (m *Manager) ForCommand(name string) (plugins.Extension, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	if e, ok := m.commands[name]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("command %q: %w", name, ErrNotFound)
}

// RunCommand runs the command call.Name on the extension that provides it.
// host answers the extension's callbacks.
func (m *Manager) RunCommand(ctx context.Context, call plugins.CommandCall, host plugins.Host) ([]byte, error) {
	e, err := m.ForCommand(call.Name)
	if err != nil {
		return nil, err
	}
	return e.RunCommand(ctx, call, host)
}

// Commands returns the names of every command the extensions provide,
// sorted (for automations.Options.Commands). Reload may change them.
func (m *Manager) Commands() []string {
	return slices.Clone(*m.cmdNames.Load())
}

// CommandNames is Commands without the copy, for the run of every request:
// the list is replaced when the commands change, never modified, and the
// caller must not modify it either.
func (m *Manager) CommandNames() []string {
	return *m.cmdNames.Load()
}

// Restarts counts the extension processes restarted (after a crash or a
// hang) since Start, every extension included, also those a Reload since
// replaced or removed: it only grows (a Prometheus counter). Processes a
// Reload starts for new or changed binaries do not count.
func (m *Manager) Restarts() int64 { return m.restarts.Load() }

// Extension states reported by Info.State.
const (
	StateRunning    = "running"    // every process is up
	StateRestarting = "restarting" // a process is being restarted
	StateRefused    = "refused"    // the binary was refused (checksum); see Info.Error
	StateFailed     = "failed"     // it could not be started (exec, handshake, timeout); see Info.Error
	StateClosed     = "closed"
)

// Info describes one extension, for `GET /api/v1/extensions` and `hookhost
// ext list`.
type Info struct {
	Name    string `json:"name"`
	Builtin bool   `json:"builtin"`
	Path    string `json:"path"`
	State   string `json:"state"`
	// Error says why the extension is refused or failed; for one that
	// runs, why the last Reload could not replace it.
	Error    string   `json:"error,omitempty"`
	ID       string   `json:"id,omitempty"`
	Version  string   `json:"version,omitempty"`
	Triggers []string `json:"triggers"`
	Commands []string `json:"commands"`
	// Pids are the running processes, one per pool slot (0 while a slot
	// restarts).
	Pids []int `json:"pids"`
	// Restarts counts process restarts since the extension started (a
	// Reload that replaced it starts over; see Manager.Restarts).
	Restarts int `json:"restarts"`
	// InFlight counts calls running now.
	InFlight int `json:"in_flight"`
}

// List describes every extension, sorted by name, refused and failed ones
// included.
func (m *Manager) List() []Info {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Info, 0, len(m.order))
	for _, name := range m.order {
		out = append(out, m.exts[name].info())
	}
	return out
}

// Close stops every extension: it waits for nothing, asks each process to
// exit (go-plugin's graceful Kill; after a few seconds its whole process
// group is killed), aborts a Start or Reload in progress, and removes the
// socket directory it created. Calls in flight fail with ErrClosed. Close is
// idempotent, and safe before, during or after Start.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.cancel()
	exts := make([]*extension, 0, len(m.exts))
	for _, e := range m.exts {
		exts = append(exts, e)
	}
	sp := m.spawner
	m.mu.Unlock()

	m.closeAll(exts)
	m.bgMu.Lock()
	m.bgDone = true
	m.bgMu.Unlock()
	m.wg.Wait()
	if sp != nil {
		// Its thread ends: on Linux, any process it started that is still
		// alive gets the parent-death signal.
		sp.close()
	}
	if m.ownSocketDir {
		return os.RemoveAll(m.socketDir)
	}
	return nil
}

func (m *Manager) isClosed() bool { return m.ctx.Err() != nil }
