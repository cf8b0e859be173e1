// Package host is the hookhost server: the Fiber app and its routes, webhook
// dispatch, the admin API, the run recorder, and the wiring of the store,
// the automation engine and the extensions.
package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/secrets"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/host/store/postgres"
	"github.com/hookhost/hookhost/host/store/sqlite"
	"github.com/hookhost/hookhost/templates"
)

// Server is a running hookhost instance. Create it with New, serve with Run
// (or use App in tests), and Close it.
type Server struct {
	cfg          Config
	log          *slog.Logger
	store        store.Store
	tpl          *templates.Env
	runner       Runner
	ext          *extRunner
	cache        *cache
	recorder     *recorder
	metrics      *metrics
	limits       *limiters
	jobs         *jobsRuntime
	authFailures *authFailures
	adminToken   string
	secrets      *secrets.Store    // the write-only secret store
	redactor     *secrets.Redactor // secret values and tokens kept out of logs and records
	box          *secrets.Box      // seals job inputs that hold a secret value
	app          *fiber.App
	adminApp     *fiber.App
	started      time.Time

	closeOnce sync.Once
	closers   []func() error
}

// New opens the store, prepares the admin token and the extensions, and
// builds the HTTP apps. It does not listen.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if _, err := cfg.tlsConfig(true); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, tpl: templates.New(), started: time.Now()}
	s.initRedaction()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.store = st
	s.closers = append(s.closers, st.Close)

	tok, err := loadAdminToken(cfg)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.adminToken = tok
	if err := s.initSecrets(ctx); err != nil {
		s.Close()
		return nil, err
	}

	runner, closeRunner, err := newRunner(ctx, s)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.runner, s.ext = runner, runner
	if closeRunner != nil {
		// Extensions stop before the store closes (closers run in reverse).
		s.closers = append(s.closers, closeRunner)
	}
	s.cache = newCache(s.store, s.tpl)
	s.cache.secret = s.secret
	s.limits = newLimiters()
	s.authFailures = newAuthFailures()
	if stop := s.startCacheSync(); stop != nil {
		s.closers = append(s.closers, stop)
	}
	s.recorder = newRecorder(s.store, s.log)
	s.closers = append(s.closers, s.recorder.Close)
	s.metrics = newMetrics(s)

	if err := s.initJobs(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.app = s.newApp()
	if cfg.AdminListen != "" {
		s.adminApp = s.newAdminApp()
	}
	if cfg.Example {
		if err := s.installExample(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("install example: %w", err)
		}
	}
	return s, nil
}

func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	db := cfg.Database
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		st, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return st, nil
	case db == "":
		db = filepath.Join(cfg.DataDir, "hookhost.db")
	case strings.HasPrefix(db, "sqlite://"):
		db = strings.TrimPrefix(db, "sqlite://")
	}
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", db, err)
	}
	return st, nil
}

// Migrate opens the configured database, applies pending migrations (the
// stores migrate when they open) and reports the schema version.
func Migrate(ctx context.Context, cfg Config) (int64, error) {
	if err := cfg.defaults(); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return 0, fmt.Errorf("create data dir: %w", err)
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
	tok := newToken()
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	cfg.Logger.Info("generated admin token", "file", path)
	return tok, nil
}

// newToken returns 160 random bits as 40 lowercase hex characters.
func newToken() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
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

// Run listens and serves until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish (up to 10 s), and
// closes the server.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln, nil)
}

// Serve is Run on listeners the caller opened (adminLn may be nil).
func (s *Server) Serve(ctx context.Context, ln, adminLn net.Listener) error {
	errc := make(chan error, 2)
	ln, err := s.cfg.wrapTLS(ln, true)
	if err != nil {
		return err
	}
	s.log.Info("hookhost listening", "addr", ln.Addr().String(), "public_url", s.cfg.PublicURL, "store", s.store.Dialect(), "version", s.cfg.Version)
	go func() { errc <- s.app.Listener(ln) }()
	if s.adminApp != nil {
		if adminLn == nil {
			if adminLn, err = net.Listen("tcp", s.cfg.AdminListen); err != nil {
				_ = s.app.Shutdown()
				return fmt.Errorf("listen admin %s: %w", s.cfg.AdminListen, err)
			}
		}
		if adminLn, err = s.cfg.wrapTLS(adminLn, false); err != nil {
			_ = s.app.Shutdown()
			return err
		}
		s.log.Info("admin API listening", "addr", adminLn.Addr().String())
		go func() { errc <- s.adminApp.Listener(adminLn) }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			s.Close()
			return err
		}
	}
	s.log.Info("shutting down")
	_ = s.app.ShutdownWithTimeout(10 * time.Second)
	if s.adminApp != nil {
		_ = s.adminApp.ShutdownWithTimeout(10 * time.Second)
	}
	return s.Close()
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
		ErrorHandler:          s.errorHandler,
		// Webhook handlers copy what they keep; nothing outlives a handler.
		Immutable: false,
	}
}

func (s *Server) newApp() *fiber.App {
	app := fiber.New(s.fiberConfig())
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.metrics.handler())
	app.All("/webhooks", s.handleWebhook)
	app.All("/webhooks/:token", s.handleWebhook)
	app.All("/webhooks/:token/*", s.handleWebhook)
	s.mountJobStatus(app)
	if s.cfg.AdminListen == "" {
		s.mountAdmin(app)
	}
	return app
}

func (s *Server) newAdminApp() *fiber.App {
	app := fiber.New(s.fiberConfig())
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	s.mountAdmin(app)
	return app
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.store.DB().PingContext(ctx); err != nil {
		return writeProblem(c, problem(fiber.StatusServiceUnavailable, "database unavailable"))
	}
	return c.JSON(fiber.Map{"status": "ready"})
}
