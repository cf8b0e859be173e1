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
// Clients are go-plugin Managed clients; Close kills them, and a main that
// exits without Close should call plugin.CleanupClients.
package extensions

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hookhost/hookhost/plugins"
)

// Config configures a Manager. Zero fields take the defaults given.
type Config struct {
	// Builtins maps the name of each built-in extension to the command line
	// that serves it (see BuiltinCommand), e.g.
	// {"webhook": {"/usr/bin/hookhost", "ext", "serve", "webhook"}}.
	Builtins map[string][]string
	// PluginsDir is scanned by Start for third-party extensions: each
	// executable regular file is one, named after the file. "" for none.
	PluginsDir string
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
	// Env is added to the environment of every extension process (which
	// otherwise inherits the host's).
	Env []string
	// Logger receives the manager's log and every extension's, with the
	// attribute extension=<name>. Default slog.Default().
	Logger *slog.Logger
	// StartTimeout bounds starting one process: exec, handshake and
	// Describe. Default 10s.
	StartTimeout time.Duration
	// RestartBackoff is the wait before restarting a crashed process; it
	// doubles on each crash until a call succeeds again, up to
	// MaxRestartBackoff. Defaults 50ms and 5s.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration
	// HangGrace is how long a call may run past its deadline before its
	// process is deemed hung, killed and restarted. Default 2s.
	HangGrace time.Duration
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
	socketDir    string
	ownSocketDir bool
	closing      chan struct{}
	wg           sync.WaitGroup // restarts and hang watchdogs

	mu       sync.RWMutex
	started  bool
	closed   bool
	exts     map[string]*extension
	order    []string // extension names, sorted
	triggers map[string]*extension
	commands map[string]*extension
	cmdNames []string // sorted keys of commands, set by Start
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
	return &Manager{
		cfg:      cfg,
		log:      cfg.Logger,
		closing:  make(chan struct{}),
		exts:     map[string]*extension{},
		triggers: map[string]*extension{},
		commands: map[string]*extension{},
	}, nil
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

// Start prepares the socket directory, finds the extensions (built-ins and
// the plugins directory), starts each one's processes and asks what it
// provides. An extension that cannot be started (missing binary, checksum
// mismatch, wrong handshake) is refused: it is listed with its error and
// serves nothing, while the others serve. Start returns the refusals joined
// (each a *StartError) — callers usually log them — and an error for a
// setup failure (socket directory) or a second Start.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	if m.started || m.closed {
		m.mu.Unlock()
		return errors.New("extensions: Start called twice or after Close")
	}
	m.started = true
	m.mu.Unlock()

	if err := m.prepareSocketDir(); err != nil {
		return err
	}
	specs, refused := m.discover()
	exts := make([]*extension, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		exts[i] = newExtension(m, s)
		wg.Add(1)
		go func(e *extension) {
			defer wg.Done()
			e.start(ctx)
		}(exts[i])
	}
	wg.Wait()

	m.mu.Lock()
	defer m.mu.Unlock()
	errs := refused
	for _, e := range exts {
		m.exts[e.name] = e
		m.order = append(m.order, e.name)
		if e.err != nil {
			errs = append(errs, e.err)
			m.log.Error("extension refused", "extension", e.name, "error", e.err)
			continue
		}
		for _, t := range e.desc.Triggers {
			if other, ok := m.triggers[triggerKey(t)]; ok {
				if other == e {
					continue // both spellings listed
				}
				m.log.Warn("trigger provided twice; first extension wins", "trigger", t, "extension", e.name, "winner", other.name)
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
		m.log.Info("extension started", "extension", e.name, "version", e.desc.Version, "pids", e.pids(), "triggers", e.desc.Triggers, "commands", e.desc.Commands)
	}
	sort.Strings(m.order)
	m.cmdNames = make([]string, 0, len(m.commands))
	for c := range m.commands {
		m.cmdNames = append(m.cmdNames, c)
	}
	sort.Strings(m.cmdNames)
	return errors.Join(errs...)
}

func (m *Manager) prepareSocketDir() error {
	if m.cfg.SocketDir == "" {
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
	checksum []byte // nil: unpinned
}

// discover lists the built-ins, then the binaries of the plugins directory.
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
			sum, err := m.checksumOf(name, path)
			if err != nil {
				errs = append(errs, &StartError{Extension: name, Path: path, Err: err})
				continue
			}
			specs = append(specs, spec{name: name, argv: []string{path}, checksum: sum})
		}
	}
	sort.Slice(specs, func(i, j int) bool {
		if specs[i].builtin != specs[j].builtin {
			return specs[i].builtin
		}
		return specs[i].name < specs[j].name
	})
	return specs, errs
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

// triggerKey folds the two spellings of a trigger id
// ("cerb.trigger.webhook.respond" and "webhook.respond") into one.
func triggerKey(t string) string { return strings.TrimPrefix(t, "cerb.trigger.") }

// ForTrigger returns the extension that runs automations of trigger
// ("cerb.trigger.webhook.respond" and "webhook.respond" are the same
// trigger). The handle is valid until Close; its Run fails with a
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
// sorted (for automations.Options.Commands).
func (m *Manager) Commands() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.cmdNames)
}

// Extension states reported by Info.State.
const (
	StateRunning    = "running"    // every process is up
	StateRestarting = "restarting" // a process is being restarted
	StateRefused    = "refused"    // it could not be started; see Info.Error
	StateClosed     = "closed"
)

// Info describes one extension, for `GET /api/v1/extensions` and `hookhost
// ext list`.
type Info struct {
	Name     string   `json:"name"`
	Builtin  bool     `json:"builtin"`
	Path     string   `json:"path"`
	State    string   `json:"state"`
	Error    string   `json:"error,omitempty"`
	ID       string   `json:"id,omitempty"`
	Version  string   `json:"version,omitempty"`
	Triggers []string `json:"triggers"`
	Commands []string `json:"commands"`
	// Pids are the running processes, one per pool slot (0 while a slot
	// restarts).
	Pids []int `json:"pids"`
	// Restarts counts process restarts since Start.
	Restarts int `json:"restarts"`
	// InFlight counts calls running now.
	InFlight int `json:"in_flight"`
}

// List describes every extension, sorted by name, refused ones included.
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
// exit (go-plugin's graceful Kill, a forced kill after 2s) and removes the
// socket directory it created. Calls in flight fail with ErrClosed. Close
// is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.closing)
	exts := make([]*extension, 0, len(m.exts))
	for _, e := range m.exts {
		exts = append(exts, e)
	}
	m.mu.Unlock()

	var wg sync.WaitGroup
	for _, e := range exts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.close()
		}()
	}
	wg.Wait()
	m.wg.Wait()
	if m.ownSocketDir {
		return os.RemoveAll(m.socketDir)
	}
	return nil
}
