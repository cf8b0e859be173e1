// Package host wires the hookhost server together and runs it: the
// listeners and their lifecycle, the one error handler, health routes,
// and, in dependency order, the parts that do the work:
//
//   - host/store: persistence (SQLite or PostgreSQL)
//   - host/secrets and host/redact: sealed secrets, and keeping them (and
//     tokens) out of every log line, record and answer
//   - host/catalog: webhooks, automations, secrets and packages, their
//     validation and caches
//   - host/runner: the extensions and the runs sent to them
//   - host/jobs: the durable job queue, and subscriptions to its events
//   - host/schedule: automations run as jobs on a schedule
//   - host/dispatch: the webhook request path
//   - host/admin: the admin API, with its wire types in host/api
//   - host/metrics: the Prometheus registry
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookhost/hookhost/host/admin"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/connguard"
	"github.com/hookhost/hookhost/host/console"
	"github.com/hookhost/hookhost/host/dispatch"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/live"
	"github.com/hookhost/hookhost/host/manifest"
	"github.com/hookhost/hookhost/host/metrics"
	"github.com/hookhost/hookhost/host/redact"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/host/schedule"
	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/postgres"
	"github.com/hookhost/hookhost/host/store/sqlite"
	"github.com/hookhost/hookhost/host/upstream"
	"github.com/hookhost/hookhost/templates"
)

// Server is a running hookhost instance. Create it with New, serve with Run
// (or use App in tests), and Close it.
type Server struct {
	cfg        Config
	log        *slog.Logger
	store      store.Store
	redactor   *redact.Redactor
	secrets    *secrets.Store
	catalog    *catalog.Catalog
	ext        *runner.Extensions
	runner     runner.Runner
	jobs       *jobs.Queue
	schedules  *schedule.Scheduler
	upstream   *upstream.Manager
	box        *secrets.Box
	dispatch   *dispatch.Dispatcher
	admin      *admin.Admin
	metrics    *metrics.Metrics
	guard      *connguard.Guard
	bodies     *bodyBudget
	live       *live.Broker
	manifests  *manifest.Watcher
	adminToken string
	app        *fiber.App
	adminApp   *fiber.App
	started    time.Time

	// forwardedWarned is set once warnForwarded has warned.
	forwardedWarned atomic.Bool
	// adminBodies is the admin listener's body budget (nil without one).
	adminBodies *bodyBudget

	closeOnce sync.Once
	closers   []func() error

	// hurry is closed by StopNow.
	hurry     chan struct{}
	hurryOnce sync.Once
}

// New opens the store, prepares the admin token, the secrets and the
// extensions, starts the job queue, and builds the HTTP apps. It does not
// listen. On failure everything started so far is stopped.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	if _, err := cfg.tlsConfig(true); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, started: time.Now(), hurry: make(chan struct{})}
	if err := s.start(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// start wires the parts together, in dependency order; each part that
// needs stopping registers its closer (run in reverse by Close).
func (s *Server) start(ctx context.Context) error {
	cfg := &s.cfg
	// Nothing logs before the redactor is in place: no log line holds a
	// known secret value, the admin token or a webhook token.
	s.redactor = redact.New()
	s.log = slog.New(s.redactor.Handler(cfg.Logger.Handler()))
	cfg.Logger = s.log
	if cfg.publicURLLoopback {
		s.log.Info("webhook URLs use a loopback address for --listen's unspecified host, which callers on other machines cannot reach; --public-url sets the address they reach",
			"public_url", cfg.PublicURL, "listen", cfg.Listen)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if db := sqlitePath(*cfg); db != "" {
		file, release, err := lockSQLite(db, holderServe)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, release)
		cfg.sqliteOpen = file
	}
	// The extension processes start while the store opens and migrates:
	// neither needs the other, and each takes tens of milliseconds.
	extc := s.startExtensions(ctx)
	err := s.openStorage(ctx)
	ext := <-extc
	if ext.ext != nil {
		s.ext = ext.ext
		// Extensions stop before the store closes (closers run in reverse).
		s.closers = append(s.closers, s.ext.Close)
	}
	if err != nil {
		return err
	}
	if ext.err != nil {
		return ext.err
	}

	version := cfg.Version
	if version == "dev" {
		version = ""
	}
	s.catalog = catalog.New(catalog.Config{Store: s.store, Templates: templates.New(), Secrets: s.secrets, Box: s.box,
		Redactor: s.redactor, Extensions: s.ext, Logger: s.log, PublicURL: cfg.PublicURL, DatabaseURL: cfg.Database,
		Version: version, RotateOverlap: cfg.RotateOverlap})
	if stop := s.catalog.StartSync(); stop != nil {
		s.closers = append(s.closers, stop)
	}
	s.runner = cfg.Runner
	if s.runner == nil {
		s.runner = runner.New(s.ext, s.catalog, s.log)
	}
	s.guard = connguard.New(cfg.MaxConnections, s.log)
	s.bodies = newBodyBudget(cfg.BodyMemory, cfg.BodyMemoryPerClient, cfg.ReadTimeout)
	s.live = live.New(maxWatchers)
	s.closers = append(s.closers, s.live.Close)
	// The registry reads the other parts' numbers when it is scraped.
	s.metrics = metrics.New(metrics.Sources{
		DroppedRuns:       func() int64 { return s.dispatch.DroppedRuns() },
		SkippedRuns:       func() int64 { return s.dispatch.SkippedRuns() },
		ExtensionRestarts: s.ext.Restarts,
		PublishDropped: func() int64 {
			if s.jobs == nil {
				return 0
			}
			return s.jobs.PublishDropped()
		},
		JobStates:   s.jobStates,
		Connections: s.guard.Stats,
	})
	if err := s.startJobs(ctx, s.box); err != nil {
		return err
	}
	if err := s.startSchedules(ctx); err != nil {
		return err
	}
	s.dispatch = dispatch.New(dispatch.Config{Catalog: s.catalog, Runner: s.runner, Jobs: s.jobs, Redactor: s.redactor,
		Metrics: s.metrics, Logger: s.log, RequestTimeout: cfg.RequestTimeout, DefaultLimits: cfg.DefaultLimits,
		TrustedProxies: cfg.TrustedProxies, RunLogLimit: cfg.RunLogLimit, CloseWait: cfg.ShutdownCloseWait,
		Recorder: dispatch.RecorderConfig{Retention: runRetention(*cfg), BodyLimit: cfg.RunBodyLimit, OnWritten: s.publishRecords}})
	s.closers = append(s.closers, s.dispatch.Close)
	s.admin = admin.New(admin.Config{Catalog: s.catalog, Dispatch: s.dispatch, Live: s.live, Jobs: s.jobs, Schedules: s.schedules, Upstream: s.upstream,
		Extensions: s.ext, Redactor: s.redactor, Metrics: s.metrics,
		Logger: s.log, Token: s.adminToken, TrustedProxies: cfg.TrustedProxies, Version: cfg.Version})

	s.app = s.newApp()
	if cfg.AdminListen != "" {
		s.adminBodies = adminBodyBudget(cfg.BodyMemory, cfg.BodyMemoryPerClient, cfg.ReadTimeout)
		s.adminApp = s.newAdminApp()
	}
	if cfg.Example {
		if err := s.catalog.InstallExample(ctx, cfg.DataDir); err != nil {
			return fmt.Errorf("install example: %w", err)
		}
	}
	if cfg.Manifests != "" {
		mm := manifest.NewMetrics()
		s.metrics.Registry().MustRegister(mm.Collectors()...)
		var x manifest.Extras
		if s.schedules != nil {
			x.Schedules = s.schedules
		}
		if s.jobs != nil {
			x.Subscriptions = s.jobs
		}
		if s.upstream != nil {
			x.Upstream = s.upstream
		}
		w, err := manifest.Watch(ctx, manifest.WatchConfig{Dir: cfg.Manifests, Applier: manifest.NewApplier(s.catalog).WithExtras(x),
			Logger: s.log, Metrics: mm})
		if err != nil {
			return err
		}
		s.manifests = w
		s.closers = append(s.closers, func() error { w.Stop(); return nil })
	}
	return nil
}

// openStorage opens the store (migrating it), loads the admin token and
// opens the secrets.
func (s *Server) openStorage(ctx context.Context) error {
	st, err := openStore(ctx, s.cfg)
	if err != nil {
		return err
	}
	s.store = st
	s.closers = append(s.closers, st.Close)
	if s.adminToken, err = loadAdminToken(s.cfg); err != nil {
		return err
	}
	s.redactor.Add(s.adminToken)
	s.box, err = s.openSecrets(ctx)
	return err
}

// startedExtensions is what startExtensions hands back.
type startedExtensions struct {
	ext *runner.Extensions
	err error
}

// startExtensions starts the extension processes in the background; the
// channel gets them (or why they did not start) once they answered their
// handshake and description.
func (s *Server) startExtensions(ctx context.Context) <-chan startedExtensions {
	cfg := &s.cfg
	c := make(chan startedExtensions, 1)
	command, err := cfg.extensionCommand()
	if err != nil {
		c <- startedExtensions{err: err}
		return c
	}
	rc := runner.Config{DataDir: cfg.DataDir, PluginsDir: cfg.PluginsDir, Processes: cfg.ExtensionProcesses,
		AllowPrivateRequests: cfg.AllowPrivateRequests, InProcess: cfg.InProcess, Command: command,
		PassEnv: cfg.ExtensionPassEnv, WatchPlugins: cfg.WatchPlugins, StartTimeout: cfg.ExtensionStartTimeout, Logger: s.log}
	go func() {
		ext, err := runner.Start(ctx, rc)
		c <- startedExtensions{ext: ext, err: err}
	}()
	return c
}

// extensionCommand is the command line that starts a built-in extension
// (its name is appended): ExtensionCommand, or this executable's `ext
// serve` with the extensions' memory settings.
func (c *Config) extensionCommand() ([]string, error) {
	if len(c.ExtensionCommand) > 0 || c.InProcess {
		return c.ExtensionCommand, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("extensions: locate hookhost binary: %w", err)
	}
	return append([]string{exe, "ext", "serve"}, c.Memory.ExtensionArgs()...), nil
}

// openSecrets loads the master key (HOOKHOST_SECRET_KEY, else
// <data dir>/secret.key, created at first start) and opens the secret
// store over the store's key-value table. Every stored value is registered
// with the redactor. It returns the box that seals job inputs.
func (s *Server) openSecrets(ctx context.Context) (*secrets.Box, error) {
	key, err := secrets.LoadKey(os.Getenv(secrets.KeyEnv), s.cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	box, err := secrets.NewBox(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	s.secrets = secrets.NewStore(storeKV{s.store}, box, s.redactor)
	if err := s.secrets.LoadRedactor(ctx); err != nil {
		// The server still starts: the other secrets work, and webhooks that
		// need an unreadable one answer 500 and log why.
		s.log.Error("some stored secrets cannot be read with this key; they are not redacted and cannot be used", "error", err)
	}
	return box, nil
}

// startJobs migrates and starts the durable job queue on the store's
// database; Close stops it (running jobs get Jobs.ShutdownGrace). box
// seals the signing secrets of callbacks and subscriptions.
func (s *Server) startJobs(ctx context.Context, box *secrets.Box) error {
	jc := jobs.Config{
		Box:      box,
		DB:       s.store.DB(),
		Dialect:  s.store.Dialect(),
		Runner:   &runner.Jobs{Runner: s.runner, Catalog: s.catalog, Redactor: s.redactor},
		Settings: s.cfg.Jobs,
		Logger:   s.log,
		Observe:  s.observeJob(),
		// Completion callbacks go through the same outbound guard as
		// http.request, lifted by the same switch.
		AllowPrivateRequests: s.cfg.AllowPrivateRequests,
		// The queue writes to the store's database: a probe of the
		// store's tells it that its writes work again (/readyz).
		ProbeWrite: s.store.ProbeWrite,
	}
	if jc.Dialect == jobs.DialectPostgres {
		jc.DatabaseURL = s.cfg.Database
	}
	// Upstream subscriptions' requests (subscribe/<name>: blocks) are jobs
	// of the queue; the manager is made before the queue starts working.
	jc.Upstream = func(ctx context.Context, id string, attempt int, last bool) error {
		return s.upstream.Work(ctx, id, attempt, last)
	}
	q, err := jobs.New(ctx, jc)
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	s.upstream, err = upstream.New(upstream.Config{DB: s.store.DB(), Dialect: s.store.Dialect(), Queue: q, Sealer: s.box,
		Compile: func(text string) ([]*upstream.Spec, error) {
			ev, err := s.catalog.CompileEvent(text)
			if err != nil {
				return nil, err
			}
			return ev.Subscriptions, nil
		},
		Secret: s.catalog.SecretValue, AllowPrivateRequests: s.cfg.AllowPrivateRequests, Logger: s.log})
	if err != nil {
		_ = q.Close()
		return err
	}
	if err := q.Start(ctx); err != nil {
		_ = q.Close()
		return fmt.Errorf("job queue: %w", err)
	}
	s.jobs = q
	s.closers = append(s.closers, q.Close)
	return nil
}

// sqlitePath is the SQLite database file the configuration names, or ""
// when it names PostgreSQL: once locked, the file the lock resolved.
func sqlitePath(cfg Config) string {
	db := cfg.Database
	switch {
	case cfg.sqliteOpen != "":
		return cfg.sqliteOpen
	case isPostgresURL(db):
		return ""
	case db == "":
		return filepath.Join(cfg.DataDir, "hookhost.db")
	}
	return strings.TrimPrefix(db, "sqlite://")
}

// isPostgresURL reports whether db is a postgres:// or postgresql:// URL,
// the scheme in any case.
func isPostgresURL(db string) bool {
	l := strings.ToLower(db)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	db := sqlitePath(cfg)
	if db == "" {
		st, err := postgres.Open(ctx, cfg.Database)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", db, err)
	}
	return st, nil
}

// DatabaseName names the database cfg configures, for people: the SQLite
// file's path, or the PostgreSQL database as user@host:port/name, rebuilt
// from what the driver reads, so that a password anywhere in the URL (its
// user info, a password= parameter, an unescaped one that the URL parser
// reads otherwise) is never shown (review revmig2).
func DatabaseName(cfg Config) string {
	if db := sqlitePath(cfg); db != "" {
		return db
	}
	pc, err := pgconn.ParseConfig(cfg.Database)
	if err != nil {
		return "postgres://…"
	}
	u := url.URL{Scheme: "postgres", User: url.User(pc.User), Host: net.JoinHostPort(pc.Host, strconv.Itoa(int(pc.Port))), Path: "/" + pc.Database}
	return u.String()
}

// Migrate opens the configured database, applies pending migrations (the
// stores migrate when they open) and reports the schema version. It reads
// only cfg's DataDir and Database (`hookhost migrate` has no other
// settings). On SQLite it takes the server's lock on the file for the
// while: a server running on it is a reason to refuse (stop it first;
// `serve` migrates at start-up too).
func Migrate(ctx context.Context, cfg Config) (int64, error) {
	if cfg.Database == "" && cfg.DataDir == "" {
		return 0, errors.New("--data-dir: a directory is required")
	}
	if db := sqlitePath(cfg); db != "" {
		file, release, err := lockSQLite(db, holderMigrate)
		if err != nil {
			return 0, err
		}
		defer func() { _ = release() }()
		cfg.sqliteOpen = file
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var v int64
	err = st.DB().QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v, err
}

// loadAdminToken returns the configured admin token, the one in
// <data dir>/admin.token, or a new one written there (mode 0600).
func loadAdminToken(cfg Config) (string, error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	path := filepath.Join(cfg.DataDir, "admin.token")
	b, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("admin token file %s is empty", path)
		}
		return tok, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	tok := catalog.NewToken()
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	cfg.Logger.Info("generated admin token", "file", path)
	return tok, nil
}

// App is the main Fiber app (webhooks, health, and the admin API unless it
// has its own listener). Tests drive it with app.Test.
func (s *Server) App() *fiber.App { return s.app }

// AdminApp is the admin API app when AdminListen is set, else nil.
func (s *Server) AdminApp() *fiber.App { return s.adminApp }

// Store is the server's store.
func (s *Server) Store() store.Store { return s.store }

// AdminToken is the admin API bearer token.
func (s *Server) AdminToken() string { return s.adminToken }

// Listen binds the listeners the configuration names: Listen, and
// AdminListen when set (nil otherwise), and notes in cfg the address Listen
// got, so that New derives the default PublicURL from the port bound (port
// 0 included). `hookhost serve` binds them before it starts anything else,
// so that a port in use stops it before any extension process exists.
func Listen(cfg *Config) (ln, adminLn net.Listener, err error) {
	if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	cfg.bound = ln.Addr()
	if cfg.AdminListen != "" {
		if adminLn, err = net.Listen("tcp", cfg.AdminListen); err != nil {
			_ = ln.Close()
			return nil, nil, fmt.Errorf("listen admin %s: %w", cfg.AdminListen, err)
		}
	}
	return ln, adminLn, nil
}

// Run listens and serves until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish (up to ShutdownDrain)
// while running jobs get their grace, and closes the server (see
// shutdown). It binds after New: with port 0 and no PublicURL,
// webhook URLs carry port 0 (`hookhost serve` binds with Listen first).
func (s *Server) Run(ctx context.Context) error {
	cfg := s.cfg
	ln, adminLn, err := Listen(&cfg)
	if err != nil {
		_ = s.Close()
		return err
	}
	return s.Serve(ctx, ln, adminLn)
}

// Serve is Run on listeners the caller opened (adminLn may be nil; it is
// opened here when the configuration has AdminListen). Both listeners share
// one connection cap (MaxConnections).
func (s *Server) Serve(ctx context.Context, ln, adminLn net.Listener) error {
	if s.adminApp != nil && adminLn == nil {
		var err error
		if adminLn, err = net.Listen("tcp", s.cfg.AdminListen); err != nil {
			_ = ln.Close()
			_ = s.Close()
			return fmt.Errorf("listen admin %s: %w", s.cfg.AdminListen, err)
		}
	}
	guard := s.guard
	serve := func(app *fiber.App, ln net.Listener, clientAuth bool) (net.Listener, error) {
		// Under TLS, the bytes read count as they arrive (see bodyConn).
		ln, err := s.cfg.wrapTLS(bodyListener{ln}, clientAuth)
		if err != nil {
			return nil, err
		}
		app.Server().ConnState = guard.ConnState
		return guard.Listener(ln), nil
	}
	errc := make(chan error, 2)
	pub, err := serve(s.app, ln, true)
	if err != nil {
		_ = s.Close()
		return err
	}
	var admin net.Listener
	if s.adminApp != nil {
		if admin, err = serve(s.adminApp, adminLn, false); err != nil {
			_ = pub.Close()
			_ = s.Close()
			return err
		}
	}
	s.log.Info("hookhost listening", "addr", ln.Addr().String(), "public_url", s.cfg.PublicURL, "store", s.store.Dialect(),
		"version", s.cfg.Version, "max_connections", s.cfg.MaxConnections)
	go func() { errc <- s.app.Listener(pub) }()
	consoleListen, consoleLn := s.cfg.Listen, ln
	if admin != nil {
		s.log.Info("admin API listening", "addr", adminLn.Addr().String())
		go func() { errc <- s.adminApp.Listener(admin) }()
		consoleListen, consoleLn = s.cfg.AdminListen, adminLn
	}
	consoleURL, _ := api.LocalURL(consoleListen, consoleLn.Addr(), s.cfg.TLSCert != "")
	s.log.Info("web console: open it in a browser, sign in with the admin token", "url", consoleURL+console.Prefix)
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			_ = s.Close()
			return err
		}
	}
	return s.shutdown()
}

// Shutdown drain bounds (ShutdownDrainFor).
const (
	drainMargin = 5 * time.Second
	minDrain    = 10 * time.Second
	maxDrain    = 5 * time.Minute
)

// ShutdownDrainFor is the HTTP drain of a server whose synchronous runs
// take up to requestTimeout: that and drainMargin more, at least minDrain
// and at most maxDrain.
func ShutdownDrainFor(requestTimeout time.Duration) time.Duration {
	return min(max(requestTimeout+drainMargin, minDrain), maxDrain)
}

// ErrStoppedNow is what Serve returns when StopNow cut its shutdown short.
var ErrStoppedNow = errors.New("stopped at once (signal received again): requests and running jobs were interrupted; the jobs run again after a restart")

// StopNow cuts a graceful shutdown short (a second SIGTERM or SIGINT):
// Serve returns ErrStoppedNow at once, without waiting any longer for
// requests or running jobs. It is safe to call more than once, and before
// the shutdown begins (Serve then stops at once when its context ends).
func (s *Server) StopNow() { s.hurryOnce.Do(func() { close(s.hurry) }) }

// shutdown stops a serving server: requests waiting for their jobs answer
// 202 at once, event streams end, and then, in parallel, the listeners
// drain their requests in flight (ShutdownDrain) and the job queue lets its
// running jobs finish (--job-shutdown-grace); then the runs still going are
// cancelled and the server closes.
func (s *Server) shutdown() error {
	drain := s.cfg.ShutdownDrain
	if drain <= 0 {
		drain = ShutdownDrainFor(s.cfg.RequestTimeout)
	}
	s.dispatch.Stop()
	// Event streams end first: they would hold the drain for its whole
	// timeout.
	_ = s.live.Close()
	grace := time.Duration(0)
	if s.jobs != nil {
		grace = s.cfg.Jobs.ShutdownGrace
	}
	s.log.Info("shutting down: waiting for the requests in flight and the running jobs; send the signal again to stop now",
		"requests", s.dispatch.InFlight(), "request_drain", drain, "job_grace", grace)
	done := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		drainApp := func(app *fiber.App) {
			defer wg.Done()
			if err := app.ShutdownWithTimeout(drain); err != nil {
				s.log.Warn("requests still in flight after the drain; their runs are cancelled", "drain", drain, "requests", s.dispatch.InFlight())
			}
		}
		wg.Add(1)
		go drainApp(s.app)
		if s.adminApp != nil {
			wg.Add(1)
			go drainApp(s.adminApp)
		}
		if s.schedules != nil {
			// Nothing queues jobs from the schedules any more.
			_ = s.schedules.Close()
		}
		wg.Wait()
		var jobsErr error
		if s.jobs != nil {
			// After the drain, not beside it: Close first stops taking jobs,
			// and a request still in the drain may queue one (its caller
			// is owed the 202). The running jobs then get their grace.
			jobsErr = s.jobs.Close()
		}
		done <- errors.Join(jobsErr, s.Close())
	}()
	select {
	case err := <-done:
		return err
	case <-s.hurry:
		s.log.Warn("signal received again: stopping now; requests and running jobs are interrupted (the jobs run again after a restart)",
			"requests", s.dispatch.InFlight())
		return ErrStoppedNow
	}
}

// Close releases everything: the recorder flushes, extensions stop, the
// store closes. It is safe to call more than once.
func (s *Server) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			if err := s.closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

func (s *Server) fiberConfig() fiber.Config {
	return fiber.Config{
		AppName:               "hookhost",
		DisableStartupMessage: true,
		BodyLimit:             s.cfg.BodyLimit,
		ReadTimeout:           s.cfg.ReadTimeout,
		WriteTimeout:          s.cfg.WriteTimeout,
		IdleTimeout:           s.cfg.IdleTimeout,
		ReadBufferSize:        s.cfg.MaxHeaderBytes,
		ErrorHandler:          s.errorHandler,
		// Webhook handlers copy what they keep; nothing outlives a handler.
		Immutable: false,
		// Keep a multipart body as it was sent: signatures are computed
		// over the raw bytes, and the form fields keep their order (a
		// pre-parsed form is a Go map and its body is re-encoded from it).
		DisablePreParseMultipartForm: true,
	}
}

func (s *Server) newApp() *fiber.App {
	app := fiber.New(s.fiberConfig())
	s.refuseOversized(app, s.dispatch, s.bodies)
	app.Use(s.requestLog(), refuseServiceWorker)
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	s.dispatch.Mount(app)
	if s.cfg.AdminListen == "" {
		s.mountAdmin(app)
	}
	return app
}

// newAdminApp is the app of the admin listener (--admin-listen).
func (s *Server) newAdminApp() *fiber.App {
	app := fiber.New(s.fiberConfig())
	// No webhook routes here, and a body budget of its own: bodies on the
	// webhook port cannot starve the admin's uploads.
	s.refuseOversized(app, nil, s.adminBodies)
	app.Use(s.requestLog(), refuseServiceWorker)
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	s.mountAdmin(app)
	return app
}

// mountAdmin adds what is served where the admin API is: the API itself
// and /metrics, which never face the webhook port when the admin API has a
// listener of its own.
func (s *Server) mountAdmin(app *fiber.App) {
	app.Get("/metrics", s.metrics.Handler())
	s.admin.Mount(app)
	console.Mount(app)
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(api.Status{Status: "ok"})
}

// readyz answers 200 while the database answers and writes succeed; 503
// saying why otherwise (a full disk says so). It never writes.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.store.DB().PingContext(ctx); err != nil {
		return api.NewProblem(fiber.StatusServiceUnavailable, "database unavailable")
	}
	for _, healthy := range []func() error{s.dispatch.Healthy, s.jobs.Healthy} {
		if err := healthy(); err != nil {
			detail := "store writes are failing"
			var wf *store.WritesFailingError
			if errors.As(err, &wf) {
				detail += " since " + wf.Since.UTC().Format(time.RFC3339)
			}
			if errors.Is(err, store.ErrStorageFull) {
				detail += ": the disk is full"
			}
			return api.NewProblem(fiber.StatusServiceUnavailable, detail)
		}
	}
	if s.manifests != nil && !s.manifests.Ready() {
		return api.NewProblem(fiber.StatusServiceUnavailable, "the --manifests directory is not applied: "+s.manifests.Healthy().Error())
	}
	return c.JSON(api.Status{Status: "ready"})
}

// runRetention is the run history's retention in the store's terms (where
// a negative bound is none).
func runRetention(cfg Config) store.RunRetention {
	r := store.RunRetention{MaxAge: cfg.RunRetention, MaxBytes: int64(cfg.RunHistoryMaxBytes)}
	if r.MaxAge == 0 {
		r.MaxAge = -1
	}
	if r.MaxBytes == 0 {
		r.MaxBytes = -1
	}
	return r
}

// storeKV adapts the store's key-value methods to secrets.KV.
type storeKV struct{ st store.Store }

var _ secrets.KV = storeKV{}

func (kv storeKV) Get(ctx context.Context, ns, key string, now time.Time) ([]byte, bool, error) {
	return kv.st.KVGet(ctx, ns, key, now)
}

func (kv storeKV) Set(ctx context.Context, ns, key string, value []byte, expires *time.Time) error {
	return kv.st.KVSet(ctx, ns, key, value, expires)
}

func (kv storeKV) Delete(ctx context.Context, ns, key string) (bool, error) {
	return kv.st.KVDelete(ctx, ns, key)
}

func (kv storeKV) List(ctx context.Context, ns string) ([]string, error) {
	return kv.st.KVList(ctx, ns)
}
