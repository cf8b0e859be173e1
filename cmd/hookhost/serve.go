package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host"
	"github.com/hookhost/hookhost/internal/logbuf"
	"github.com/hookhost/hookhost/plugins"
)

func newServeCmd() *cobra.Command {
	cmd, _ := serveCommand()
	return cmd
}

// serveCommand is `hookhost serve` and the check of the settings its flags
// hold that serve makes before it binds a port (config check runs it on a
// file's settings).
func serveCommand() (*cobra.Command, func() error) {
	var (
		cfg       = host.DefaultConfig()
		trusted   string
		passEnv   string
		logFormat string
		logLevel  string
	)
	check := func() error {
		if _, err := host.ParseTrustedProxies(trusted); err != nil {
			return fmt.Errorf("--trusted-proxies: %w", err)
		}
		if _, err := parseLogOptions(logFormat, logLevel); err != nil {
			return err
		}
		return cfg.Validate()
	}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the hookhost server",
		Long: `Start the hookhost server: webhooks under /webhooks/<token>, the admin API
under /api/v1 (bearer admin token), /healthz, /readyz, /metrics.

Settings come from flags, then HOOKHOST_* environment variables, then the
YAML file named by --config (HOOKHOST_CONFIG), then the defaults shown.

The admin token is HOOKHOST_ADMIN_TOKEN, else <data dir>/admin.token
(generated at first start, mode 0600).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// SIGHUP stops the server as SIGTERM does (it killed it, leaving
			// server.url behind); a second signal stops it at once.
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sigs)
			fromFile, err := applyConfigFile(cmd)
			if err != nil {
				return err
			}
			if err := check(); err != nil {
				return fromFile.place(err)
			}
			logger, closeLog, err := newLogger(cmd, logFormat, logLevel)
			if err != nil {
				return err
			}
			defer closeLog()
			cfg.Logger = logger
			cfg.Version = version
			defer startCPUProfile(os.Getenv(plugins.EnvCPUProfile), logger)()
			cfg.AdminToken = os.Getenv("HOOKHOST_ADMIN_TOKEN")
			if cfg.TrustedProxies, err = host.ParseTrustedProxies(trusted); err != nil {
				return err
			}
			for _, name := range strings.Split(passEnv, ",") {
				if name = strings.TrimSpace(name); name != "" {
					cfg.ExtensionPassEnv = append(cfg.ExtensionPassEnv, name)
				}
			}
			applyMemorySettings(cfg.Memory.GCPercent, cfg.Memory.Limit)
			if !cfg.InProcess {
				// In process, the automations' CPU is the server's: a
				// heavy one on one P would hold up every other request
				// for its preemption slices (review rev3).
				adaptProcs(serverProcs())
			}
			// The ports are bound first: a port in use stops here, before
			// anything (an extension process) is started.
			ln, adminLn, err := host.Listen(&cfg)
			if err != nil {
				return err
			}
			srv, err := host.New(cmd.Context(), cfg)
			if err != nil {
				_ = ln.Close()
				if adminLn != nil {
					_ = adminLn.Close()
				}
				return err
			}
			defer publishServerURL(cfg, logger, ln, adminLn)()
			if cfg.Memory.ReleaseStartup {
				// In the background: the server answers /readyz meanwhile.
				go releaseStartupMemory()
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			served := make(chan struct{})
			defer close(served)
			go stopOnSignals(sigs, served, cancel, srv.StopNow, logger)
			return srv.Serve(ctx, ln, adminLn)
		},
	}
	fs := cmd.Flags()
	var configPath string
	stringFlag(fs, &configPath, configFlag, "HOOKHOST_CONFIG", "", "YAML file of settings, keyed by these flags' names (flags and HOOKHOST_* variables win over it); hookhost config check FILE checks one")
	stringFlag(fs, &cfg.Listen, "listen", "HOOKHOST_LISTEN", cfg.Listen, "address to listen on")
	stringFlag(fs, &cfg.AdminListen, "admin-listen", "HOOKHOST_ADMIN_LISTEN", "", "serve the admin API on this address only (default: on --listen)")
	stringFlag(fs, &cfg.PublicURL, "public-url", "HOOKHOST_PUBLIC_URL", "", "base URL of webhook URLs (default http://<listen> with the port bound, 127.0.0.1 for an unspecified host)")
	stringFlag(fs, &cfg.DataDir, "data-dir", "HOOKHOST_DATA_DIR", cfg.DataDir, "data directory (SQLite database, admin token)")
	stringFlag(fs, &cfg.Database, "database", "HOOKHOST_DATABASE", "", "database: empty for SQLite in the data dir, a file path, or a postgres:// URL")
	stringFlag(fs, &cfg.PluginsDir, "plugins-dir", "HOOKHOST_PLUGINS_DIR", "", "directory of third-party extension binaries (default <data dir>/plugins)")
	stringFlag(fs, &cfg.TLSCert, "tls-cert", "HOOKHOST_TLS_CERT", "", "TLS certificate (PEM) to serve HTTPS, TLS 1.2 or later")
	stringFlag(fs, &cfg.TLSKey, "tls-key", "HOOKHOST_TLS_KEY", "", "TLS private key (PEM)")
	stringFlag(fs, &cfg.TLSClientCA, "tls-client-ca", "HOOKHOST_TLS_CLIENT_CA", "", "require client certificates signed by these CAs (PEM) on the webhook listener")
	stringFlag(fs, &trusted, "trusted-proxies", "HOOKHOST_TRUSTED_PROXIES", "", "comma-separated addresses/CIDRs whose X-Forwarded-For is believed")
	stringFlag(fs, &logFormat, "log-format", "HOOKHOST_LOG_FORMAT", "auto", "log format: auto (text on a terminal, else JSON), text or json")
	stringFlag(fs, &logLevel, "log-level", "HOOKHOST_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	sizeFlag(fs, &cfg.BodyLimit, "body-limit", "HOOKHOST_BODY_LIMIT", cfg.BodyLimit, "largest webhook request body (bytes, or with a unit: 512KiB, 4MB)")
	sizeFlag(fs, &cfg.BodyMemory, "body-memory", "HOOKHOST_BODY_MEMORY", cfg.BodyMemory, "request bodies received and handled at once, server-wide (each its length rounded up to a power of two, a chunked one as one at --body-limit, none of at most 16KiB; with --admin-listen the admin listener has its own, the lesser of 64MiB and this); past it, or past the client's share (--body-memory-per-client), a body gets 503 with Retry-After before its buffer is allocated. Only bodies a route reads are held: past 16KiB, one for a token that names no webhook gets 404 and one for any other path 413, unread. While it is full, held bodies arriving slower than 64KiB/s past 5s are cut (408) as far as needed to make room")
	cfg.BodyMemoryPerClient = host.BodyMemoryPerClientAuto
	fs.Var(autoSizeValue{&cfg.BodyMemoryPerClient, host.BodyMemoryPerClientAuto}, "body-memory-per-client", "the most of --body-memory one client holds at once, at least one body (default: an eighth of --body-memory; 0: no bound per client). A client is its address (an IPv6 one's /64), or with --trusted-proxies the X-Forwarded-For client: behind a proxy not in --trusted-proxies every request is the proxy's, one client")
	envFlag(fs, "body-memory-per-client", "HOOKHOST_BODY_MEMORY_PER_CLIENT")
	durationFlag(fs, &cfg.RequestTimeout, "request-timeout", "HOOKHOST_REQUEST_TIMEOUT", cfg.RequestTimeout, "time limit of one synchronous webhook run")
	boolFlag(fs, &cfg.AllowPrivateRequests, "allow-private-requests", "HOOKHOST_ALLOW_PRIVATE_REQUESTS", "let http.request and job completion callbacks reach loopback, private and link-local addresses")
	intFlag(fs, &cfg.ExtensionProcesses, "extension-processes", "HOOKHOST_EXTENSION_PROCESSES", cfg.ExtensionProcesses, "processes per extension; concurrent runs are spread over them")
	stringFlag(fs, &passEnv, "extension-pass-env", "HOOKHOST_EXTENSION_PASS_ENV", "", "comma-separated environment variables every extension process gets besides PATH, HOME, TMPDIR, LANG, LANGUAGE, LC_* and TZ; nothing else of the server's environment reaches an extension")
	boolFlag(fs, &cfg.WatchPlugins, "watch-plugins", "HOOKHOST_WATCH_PLUGINS", "reload extensions when a binary in the plugins directory appears, changes or goes")
	durationFlag(fs, &cfg.ExtensionStartTimeout, "extension-start-timeout", "HOOKHOST_EXTENSION_START_TIMEOUT", cfg.ExtensionStartTimeout, "time one extension process gets to start; one that misses it is killed and listed as failed, and the server starts without it")
	boolFlag(fs, &cfg.InProcess, "in-process", "HOOKHOST_IN_PROCESS", "run built-in extensions inside the server process")
	stringFlag(fs, &cfg.Manifests, "manifests", "HOOKHOST_MANIFESTS", "", "directory of declarative manifests applied at start and after every change; it owns what it declares (docs/manifests.md)")
	boolFlag(fs, &cfg.Example, "example", "HOOKHOST_EXAMPLE", "import the webhook-example package and create its webhook at first start")
	intFlag(fs, &cfg.Jobs.Workers, "job-workers", "HOOKHOST_JOB_WORKERS", cfg.Jobs.Workers, "durable jobs this process runs at once (and up to 2 more of those an earlier version queued, while any are left); 0 runs none (the process only queues jobs for the other servers on its PostgreSQL)")
	durationFlag(fs, &cfg.Jobs.ShutdownGrace, "job-shutdown-grace", "HOOKHOST_JOB_SHUTDOWN_GRACE", cfg.Jobs.ShutdownGrace, "time running jobs get to finish at shutdown")
	durationFlag(fs, &cfg.Jobs.RescueAfter, "job-rescue-after", "HOOKHOST_JOB_RESCUE_AFTER", cfg.Jobs.RescueAfter, "re-run a job whose process stopped sending heartbeats for this long")
	durationFlag(fs, &cfg.Jobs.FetchPollInterval, "job-poll-interval", "HOOKHOST_JOB_POLL_INTERVAL", cfg.Jobs.FetchPollInterval, "how often to look for new jobs; 0 picks by database (1s on SQLite, 500ms on PostgreSQL)")
	durationFlag(fs, &cfg.Jobs.Retention, "job-retention", "HOOKHOST_JOB_RETENTION", cfg.Jobs.Retention, "how long ended jobs keep their queue row and real inputs, for retries")
	durationFlag(fs, &cfg.RunRetention, "run-retention", "HOOKHOST_RUN_RETENTION", cfg.RunRetention, "how long run records are kept; 0 keeps them without an age bound")
	sizeFlag(fs, &cfg.RunHistoryMaxBytes, "run-history-max-bytes", "HOOKHOST_RUN_HISTORY_MAX_BYTES", cfg.RunHistoryMaxBytes, "largest total size of the run history; the oldest records go first (0: no bound)")
	sizeFlag(fs, &cfg.RunBodyLimit, "run-body-limit", "HOOKHOST_RUN_BODY_LIMIT", cfg.RunBodyLimit, "request body, return dictionary and error kept per run record; the rest is cut and marked")
	durationFlag(fs, &cfg.Jobs.RecordRetention, "job-record-retention", "HOOKHOST_JOB_RECORD_RETENTION", cfg.Jobs.RecordRetention, "how long ended jobs' records are kept; 0 keeps them without an age bound")
	sizeFlag(fs, &cfg.Jobs.RecordMaxBytes, "job-records-max-bytes", "HOOKHOST_JOB_RECORDS_MAX_BYTES", cfg.Jobs.RecordMaxBytes, "largest total size of ended jobs' records, the oldest pruned first with their queue rows (0: no bound)")
	durationFlag(fs, &cfg.Jobs.BatchDelay, "job-batch-delay", "HOOKHOST_JOB_BATCH_DELAY", cfg.Jobs.BatchDelay, "how long concurrent job inserts are collected into one transaction")
	intFlag(fs, &cfg.Jobs.CallbackWorkers, "callback-workers", "HOOKHOST_CALLBACK_WORKERS", cfg.Jobs.CallbackWorkers, "job completion callbacks, subscription deliveries and upstream subscription requests this process sends at once (1 to 1000); a quarter of them, at least one, go to one receiver's scheme, host and port at a time once a request to it got no answer, and one that stops answering fails fast until it answers again")
	durationFlag(fs, &cfg.Jobs.RetryBackoff, "job-retry-backoff", "HOOKHOST_JOB_RETRY_BACKOFF", cfg.Jobs.RetryBackoff, "first retry delay of a failed job, doubling up to 5m")
	durationFlag(fs, &cfg.ReadTimeout, "read-timeout", "HOOKHOST_READ_TIMEOUT", cfg.ReadTimeout, "listener read timeout (whole request)")
	durationFlag(fs, &cfg.WriteTimeout, "write-timeout", "HOOKHOST_WRITE_TIMEOUT", cfg.WriteTimeout, "listener write timeout (whole response)")
	durationFlag(fs, &cfg.IdleTimeout, "idle-timeout", "HOOKHOST_IDLE_TIMEOUT", cfg.IdleTimeout, "how long an idle keep-alive connection stays open")
	intFlag(fs, &cfg.MaxConnections, "max-connections", "HOOKHOST_MAX_CONNECTIONS", cfg.MaxConnections, "client connections served at once (webhook and admin listeners together); at the cap the longest idle and silent ones make room (default: the file descriptor limit less 256)")
	boolFlag(fs, &cfg.AccessLog, "access-log", "HOOKHOST_ACCESS_LOG", "log one line per request (method, path with tokens redacted, status, duration, request id, webhook, run or job, refusal cause)")
	sizeFlag(fs, &cfg.MaxHeaderBytes, "max-header-bytes", "HOOKHOST_MAX_HEADER_BYTES", cfg.MaxHeaderBytes, "largest request line and headers in bytes (431 past it)")
	durationFlag(fs, &cfg.RotateOverlap, "rotate-overlap", "HOOKHOST_ROTATE_OVERLAP", cfg.RotateOverlap, "how long a rotated webhook token stays valid when the rotation does not say")
	floatFlag(fs, &cfg.DefaultLimits.Rate, "default-rate", "HOOKHOST_DEFAULT_RATE", 0, "requests per second each webhook accepts unless its limits: block says otherwise (0: no limit)")
	intFlag(fs, &cfg.DefaultLimits.Burst, "default-burst", "HOOKHOST_DEFAULT_BURST", 0, "burst of --default-rate (default: the rate rounded up)")
	intFlag(fs, &cfg.Memory.GCPercent, "gc-percent", "HOOKHOST_GC_PERCENT", cfg.Memory.GCPercent, "the server's GOGC: heap growth over the live heap before the next collection; lower holds less memory for more CPU (GOGC, when set, wins)")
	sizeFlag(fs, &cfg.Memory.Limit, "memory-limit", "HOOKHOST_MEMORY_LIMIT", cfg.Memory.Limit, "the server's soft memory limit (GOMEMLIMIT): near it the collector runs more often and returns freed memory at once; 0: none (GOMEMLIMIT, when set, wins)")
	intFlag(fs, &cfg.Memory.ExtensionGCPercent, "extension-gc-percent", "HOOKHOST_EXTENSION_GC_PERCENT", cfg.Memory.ExtensionGCPercent, "--gc-percent of every built-in extension process")
	sizeFlag(fs, &cfg.Memory.ExtensionLimit, "extension-memory-limit", "HOOKHOST_EXTENSION_MEMORY_LIMIT", cfg.Memory.ExtensionLimit, "--memory-limit of every built-in extension process; 0: none")
	boolFlag(fs, &cfg.Memory.ReleaseStartup, "release-startup-memory", "HOOKHOST_RELEASE_STARTUP_MEMORY", "once started, return to the operating system what only start-up used (freed heap; on Linux the pages of the executable and its libraries that package initialisation touched, which come back one at a time where used), in the server and its built-in extension processes")
	intFlag(fs, &cfg.DefaultLimits.Concurrency, "default-concurrency", "HOOKHOST_DEFAULT_CONCURRENCY", 0, "runs in progress each webhook allows unless its limits: block says otherwise (0: no limit)")
	return cmd, check
}

// stopOnSignals cancels the server's context (a graceful shutdown) at the
// first signal of sigs, and calls stopNow at the second; it returns then,
// or when done is closed.
func stopOnSignals(sigs <-chan os.Signal, done <-chan struct{}, cancel context.CancelFunc, stopNow func(), log *slog.Logger) {
	for n := 1; ; n++ {
		select {
		case sig := <-sigs:
			if n == 1 {
				log.Info("signal received: shutting down gracefully; send it again to stop now", "signal", sig.String())
				cancel()
				continue
			}
			log.Warn("signal received again: stopping now", "signal", sig.String())
			stopNow()
			return
		case <-done:
			return
		}
	}
}

// newLogger returns the server's logger on the command's standard error,
// and what writes out the lines it still holds: lines are gathered into
// fewer writes (logbuf), each written at most logbuf.DefaultDelay after it
// was logged and at once after a warning or an error.
func newLogger(cmd *cobra.Command, format, level string) (*slog.Logger, func(), error) {
	lv, err := parseLogOptions(format, level)
	if err != nil {
		return nil, nil, err
	}
	out := cmd.ErrOrStderr()
	text := false
	switch strings.ToLower(format) {
	case "auto":
		text = isTerminal(out)
	case "text":
		text = true
	}
	w := logbuf.New(out, 0, 0)
	opts := &slog.HandlerOptions{Level: lv}
	h := logbuf.NewJSONHandler(w, opts)
	if text {
		h = logbuf.NewTextHandler(w, opts)
	}
	return slog.New(h), func() { _ = w.Close() }, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// parseLogOptions checks --log-format and reads --log-level.
func parseLogOptions(format, level string) (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return lv, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	switch strings.ToLower(format) {
	case "auto", "text", "json":
		return lv, nil
	}
	return lv, fmt.Errorf("--log-format %q: want auto, text or json", format)
}
