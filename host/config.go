package host

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/connguard"
	"github.com/hookhost/hookhost/host/dispatch"
	"github.com/hookhost/hookhost/host/jobs"
	"github.com/hookhost/hookhost/host/runner"
	"github.com/hookhost/hookhost/host/store"
	"github.com/hookhost/hookhost/plugins"
)

// Config is everything the server needs. Start from DefaultConfig, the one
// place defaults live; cmd/hookhost binds its flags (and HOOKHOST_*
// variables) to its fields. New validates it, naming each field as its flag
// does. A few empty fields are derived from others: PublicURL from Listen,
// PluginsDir from DataDir, Logger is slog.Default().
type Config struct {
	// Listen is the address of the HTTP listener. Default 127.0.0.1:8080.
	Listen string
	// AdminListen, when set, serves the admin API on its own address and
	// not on Listen.
	AdminListen string
	// PublicURL is the base of webhook URLs shown to users. Default
	// http://<Listen> (https:// with TLSCert), with the port Listen bound
	// (see the function Listen) and 127.0.0.1 for an unspecified host
	// (":8080", "0.0.0.0:8080"; ::1 for "[::]:8080"), which a caller on
	// another machine cannot reach: New logs that it is used.
	PublicURL string
	// bound is the address the function Listen bound for Listen (nil when
	// the caller bound it): PublicURL's default takes its port.
	bound net.Addr
	// sqliteOpen is the SQLite file lockSQLite resolved and locked, which
	// the store opens (not Database, whose links may change meanwhile).
	sqliteOpen string
	// publicURLLoopback is set by resolve when PublicURL's default put a
	// loopback host for Listen's unspecified one.
	publicURLLoopback bool
	// DataDir holds the SQLite database, admin.token and extension sockets.
	// Default ./data.
	DataDir string
	// Database is "" (SQLite in DataDir), a file path, or a postgres:// URL.
	Database string
	// PluginsDir holds third-party extension binaries. Default <DataDir>/plugins.
	PluginsDir string
	// AdminToken authenticates the admin API. When empty it is read from
	// <DataDir>/admin.token, or generated there at first start.
	AdminToken string
	// TLSCert and TLSKey, when set, serve HTTPS (TLS 1.2 or later) on Listen
	// and AdminListen.
	TLSCert string
	TLSKey  string
	// TLSClientCA, when set, requires client certificates signed by these
	// CAs (PEM) on the webhook listener (mutual TLS).
	TLSClientCA string
	// ExtensionProcesses is the number of processes started per extension;
	// concurrent runs are spread over them. Default 1 (one process
	// multiplexes all runs over one stream).
	ExtensionProcesses int
	// AllowPrivateRequests lets http.request and job completion callbacks
	// reach loopback, private and link-local addresses (refused by default:
	// the outbound guard).
	AllowPrivateRequests bool
	// BodyLimit caps webhook request bodies. Default 1 MiB, at most
	// MaxBodyLimit.
	BodyLimit int
	// BodyMemory bounds the request bodies being received and handled at
	// once, server-wide, in bytes (each counted as the buffer it needs: its
	// length rounded up to a power of two; a chunked body as one at
	// BodyLimit; bodies of at most 16 KiB not at all). A body the bound
	// cannot hold gets 503 with Retry-After before its buffer is allocated.
	// Chunked bodies hold at most half of it (or one body at BodyLimit),
	// so that Content-Length bodies keep the other half. Only bodies a
	// route reads are held (a known webhook's, the admin API's); one
	// client holds at most BodyMemoryPerClient of it, the admin
	// API on the webhook port a quarter; while it is full, bodies that
	// arrive slower than 64 KiB/s past 5 s give way. Every request counts,
	// whatever its admin token; with AdminListen, the admin listener has a
	// budget of its own besides, min(64 MiB, BodyMemory). Default
	// DefaultBodyMemory (256 MiB); at least the buffer of a body at
	// BodyLimit.
	BodyMemory int
	// BodyMemoryPerClient is the most of BodyMemory one client holds
	// (at least one body): its address, an IPv6 one's /64, or with
	// TrustedProxies the X-Forwarded-For client; behind a proxy not in
	// TrustedProxies every request is the proxy's. 0: no bound per client.
	// BodyMemoryPerClientAuto (DefaultConfig) is an eighth of BodyMemory;
	// with AdminListen the admin listener's budget takes the same part of
	// its own.
	BodyMemoryPerClient int
	// RequestTimeout caps one synchronous webhook run. Default 30s.
	RequestTimeout time.Duration
	// ShutdownDrain is how long a stopping server lets the requests in
	// flight finish before it cancels the runs still going (they answer
	// 503). 0: RequestTimeout and 5s more (a synchronous run may take up
	// to RequestTimeout), at least 10s and at most 5m (ShutdownDrainFor).
	ShutdownDrain time.Duration
	// ShutdownCloseWait bounds how long the server waits, after it
	// cancelled the runs still going at the end of the drain, for their
	// requests to answer. 0: dispatch.DefaultCloseWait (5s).
	ShutdownCloseWait time.Duration
	// DefaultLimits are the server-wide per-webhook limits: each field
	// applies to every webhook whose event KATA `limits:` block does not
	// set it. Zero fields mean no limit (the body limit is BodyLimit).
	DefaultLimits automations.EventLimits
	// ReadTimeout, WriteTimeout and IdleTimeout are the listeners' timeouts
	// (defaults 30s, 60s and 120s).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConnections caps the client connections served at once (the
	// webhook and admin listeners together); at the cap, idle and silent
	// connections make room first.
	MaxConnections int
	// MaxHeaderBytes caps a request's line and headers (431 past it).
	MaxHeaderBytes int
	// AccessLog logs one line per request: method, path (tokens
	// redacted), status, duration, bytes, request id, webhook, run or job,
	// and why a request was refused.
	AccessLog bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// RotateOverlap is how long a rotated token stays valid when the caller
	// does not say. Default 24h.
	RotateOverlap time.Duration
	// RunLogLimit caps the bytes of run log kept per run record. Default 16 KiB.
	RunLogLimit int
	// RunRetention is how long run records are kept; 0 keeps them without
	// an age bound.
	RunRetention time.Duration
	// RunHistoryMaxBytes bounds the run history's total size (the oldest
	// records go first); 0: no size bound.
	RunHistoryMaxBytes int
	// RunBodyLimit caps the request body, return dictionary and error kept
	// per run record; the rest is cut and marked.
	RunBodyLimit int
	// InProcess runs built-in extensions inside the server process instead
	// of as child processes (for tests and measurement).
	InProcess bool
	// ExtensionPassEnv names variables of the server's environment every
	// extension process gets besides PATH, HOME, TMPDIR, LANG, LANGUAGE,
	// LC_* and TZ (e.g. HTTPS_PROXY, SSL_CERT_FILE); nothing else of the
	// server's environment reaches an extension.
	ExtensionPassEnv []string
	// WatchPlugins reloads extensions when a binary in PluginsDir appears,
	// changes or goes.
	WatchPlugins bool
	// ExtensionStartTimeout bounds the start of one extension process; one
	// that misses it is killed with its children and listed as failed, and
	// the server starts without it.
	ExtensionStartTimeout time.Duration
	// ExtensionCommand is the command line that starts a built-in extension;
	// the extension's name is appended. Default: this executable + "ext serve".
	ExtensionCommand []string
	// Example imports the built-in webhook-example package and creates its
	// webhook at first start (make run).
	Example bool
	// Manifests is a directory of declarative manifests applied at start
	// and after every change of it (host/manifest.Watch); "" for none.
	Manifests string
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// Version is the server's version string.
	Version string
	// Runner, when set, runs automations instead of the extensions (for
	// tests of the request and job paths).
	Runner runner.Runner

	// Jobs are the durable job queue's settings.
	Jobs jobs.Settings

	// Memory is how the server process and the built-in extension
	// processes it starts hold memory (README "Memory").
	Memory MemorySettings
}

// MemorySettings are the Go runtime's memory settings of the server process
// and of the built-in extension processes. The server's own are applied by
// whoever owns the process (`hookhost serve`); New passes the extensions'
// to `hookhost ext serve` when ExtensionCommand is the default.
//
// GOGC and GOMEMLIMIT, when set in a process's environment, win over the
// GC percentages and limits here (Go reads them when the process starts).
type MemorySettings struct {
	// GCPercent is the server's GOGC: the heap grows by this share of the
	// live heap before the next collection. Lower holds less memory and
	// spends more CPU collecting. Default 150 (see DefaultMemorySettings).
	GCPercent int
	// Limit is the server's soft memory limit (GOMEMLIMIT) in bytes: near
	// it the collector runs more often and freed memory goes back to the
	// operating system at once. It is soft: the server does not fail at
	// it. 0: none.
	Limit int
	// ExtensionGCPercent and ExtensionLimit are GCPercent and Limit of
	// every built-in extension process. ExtensionGCPercent defaults to 200
	// (see DefaultMemorySettings).
	ExtensionGCPercent int
	ExtensionLimit     int
	// ReleaseStartup gives back, once a process has started, what only
	// its start needed: the heap freed after start-up work (migrations
	// parse with 4 MiB buffers) and, on Linux, the pages of the executable
	// and its shared libraries that package initialisation touched, which
	// stay in the page cache and come back at their next use, one at a
	// time (the kernel's fault-around is turned off for them where it
	// can be: Linux 6.7 and later). Default true.
	ReleaseStartup bool
}

// DefaultMemorySettings are the memory settings `hookhost serve` starts
// with (README "Memory" has the measurements behind them).
//
// The extension's GOGC is 200. Its live heap under load is 1-2 MiB, so at
// Go's 100 it ran at the runtime's 4 MiB minimum heap goal and collected
// every ~35 ms: 21-22% of its CPU samples. At 200 that is 12-14%, for 4-5
// MiB more RSS. Load run (bench -targets bare,outofprocess -rounds 3,
// alternated, six rounds each, server+extension cpu/req and RSS medians):
// server 100/extension 100 109 us, 51.7 MiB; 150/100 102.8 us, 55.9 MiB;
// 100/200 102.2 us, 54.9 MiB.
//
// The server's is 150, for the latency of a steady load: its live heap is
// only 3-5 MiB, so at 100 it collected every ~4-5 MiB allocated, 16 times
// per 10,000 requests at a fixed 2,000 req/s, and a request that meets a
// collection's mark phase (on one of two cores) waits. At 150 that is
// 10-11.5 times, the heap goal about 10.5 MiB, no more than the server's
// at 100 before its requests allocated 28% less (6.7 against 9.3 KB each):
// load-run RSS of the default target 52.7 MiB against 53.8 before
// (medians of three); 200 would collect 8-8.5 times, for 55.2 MiB.
func DefaultMemorySettings() MemorySettings {
	return MemorySettings{
		GCPercent:          150,
		ExtensionGCPercent: 200,
		ReleaseStartup:     true,
	}
}

// validate checks the settings, naming each as its flag does.
func (m MemorySettings) validate() error {
	for _, f := range []struct {
		flag string
		n    int
	}{{"--gc-percent", m.GCPercent}, {"--extension-gc-percent", m.ExtensionGCPercent}} {
		if f.n < 10 || f.n > 10_000 {
			return fmt.Errorf("%s %d: must be between 10 and 10000", f.flag, f.n)
		}
	}
	for _, f := range []struct {
		flag string
		n    int
	}{{"--memory-limit", m.Limit}, {"--extension-memory-limit", m.ExtensionLimit}} {
		if f.n != 0 && f.n < minMemoryLimit {
			return fmt.Errorf("%s %d: must be 0 (no limit) or at least %d (4 MiB)", f.flag, f.n, minMemoryLimit)
		}
	}
	return nil
}

// minMemoryLimit is the smallest soft memory limit accepted: below it the
// collector would run all the time.
const minMemoryLimit = 4 << 20

// ExtensionArgs are the flags of `hookhost ext serve` that carry the
// extensions' settings.
func (m MemorySettings) ExtensionArgs() []string {
	return []string{
		"--gc-percent=" + strconv.Itoa(m.ExtensionGCPercent),
		"--memory-limit=" + strconv.Itoa(m.ExtensionLimit),
		"--release-startup-memory=" + strconv.FormatBool(m.ReleaseStartup),
	}
}

// MaxBodyLimit is the largest --body-limit, 20 MiB: a run's inputs travel
// to the extension in one message of at most plugins.MaxMessage bytes, and
// hold the body up to twice (a job's request_body and webhook_data, or
// request_body and its form fields), each byte written as up to 6 in the
// JSON an extension without the wire form reads (\u0001): 12 times the
// body, 240 MiB, and 16 MiB for the headers and the rest (review2: the
// first bound, half the message, let a job of a 110 MiB form body or a
// run of 21 MiB of control bytes fail).
const MaxBodyLimit = 20 << 20

// BodyMemoryPerClientAuto is the BodyMemoryPerClient that resolves to an
// eighth of BodyMemory, --body-memory-per-client's default.
const BodyMemoryPerClientAuto = -1

// The message must hold 12 bodies and 16 MiB more.
const _ = uint(plugins.MaxMessage - 12*MaxBodyLimit - 16<<20)

// DefaultConfig returns the configuration `hookhost serve` starts with.
func DefaultConfig() Config {
	return Config{
		Listen:                "127.0.0.1:8080",
		DataDir:               "./data",
		ExtensionProcesses:    1,
		ExtensionStartTimeout: 10 * time.Second,
		BodyLimit:             1 << 20,
		BodyMemory:            DefaultBodyMemory,
		BodyMemoryPerClient:   BodyMemoryPerClientAuto,
		RequestTimeout:        30 * time.Second,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		MaxConnections:        connguard.DefaultMax(),
		MaxHeaderBytes:        8 << 10,
		AccessLog:             true,
		RotateOverlap:         24 * time.Hour,
		RunLogLimit:           16 << 10,
		RunRetention:          store.DefaultRunMaxAge,
		RunHistoryMaxBytes:    store.DefaultRunMaxBytes,
		RunBodyLimit:          dispatch.DefaultRunBodyLimit,
		Version:               "dev",
		Jobs:                  jobs.DefaultSettings(),
		Memory:                DefaultMemorySettings(),
	}
}

// Validate checks the configuration as New does, on a copy: the fields
// derived from others (PublicURL from Listen without the port a listener
// bound) included. Each error names the flag of the field it is about
// first (`hookhost config check` places it at the file's line).
func (c Config) Validate() error { return c.resolve() }

// resolve derives the empty fields that follow from others and validates
// the configuration.
func (c *Config) resolve() error {
	if c.PublicURL == "" {
		c.PublicURL, c.publicURLLoopback = api.LocalURL(c.Listen, c.bound, c.TLSCert != "")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.PluginsDir == "" {
		c.PluginsDir = filepath.Join(c.DataDir, "plugins")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.BodyMemoryPerClient == BodyMemoryPerClientAuto {
		c.BodyMemoryPerClient = c.BodyMemory / clientShare
	}
	return c.validate()
}

// validate checks every field, naming it as its flag does, with the bound
// it breaks.
func (c *Config) validate() error {
	positive := []struct {
		flag string
		d    time.Duration
	}{{"--request-timeout", c.RequestTimeout}, {"--read-timeout", c.ReadTimeout}, {"--write-timeout", c.WriteTimeout},
		{"--idle-timeout", c.IdleTimeout}, {"--rotate-overlap", c.RotateOverlap}}
	for _, p := range positive {
		if p.d <= 0 {
			return fmt.Errorf("%s %s: must be positive", p.flag, p.d)
		}
	}
	switch {
	case c.Listen == "":
		return errors.New("--listen: an address is required, such as 127.0.0.1:8080")
	case c.DataDir == "":
		return errors.New("--data-dir: a directory is required")
	}
	if db := sqlitePath(*c); db != "" && db != ":memory:" {
		if err := checkSQLitePath(db); err != nil {
			return err
		}
	}
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case c.TLSClientCA != "" && c.TLSCert == "":
		return errors.New("--tls-client-ca needs --tls-cert and --tls-key")
	case !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://"):
		return fmt.Errorf("--public-url %q: must start with http:// or https://", c.PublicURL)
	case c.BodyLimit < 1:
		return fmt.Errorf("--body-limit %d: must be at least 1 byte", c.BodyLimit)
	case c.BodyLimit > MaxBodyLimit:
		return fmt.Errorf("--body-limit %d: must be at most %d bytes (20 MiB: a run carries the body to its extension up to twice, JSON-escaped, in messages of at most %d bytes)", c.BodyLimit, MaxBodyLimit, plugins.MaxMessage)
	case int64(c.BodyMemory) < bodyBuffer(c.BodyLimit):
		return fmt.Errorf("--body-memory %d: must be at least %d bytes, the buffer of a body at --body-limit (%d bytes rounded up to a power of two)", c.BodyMemory, bodyBuffer(c.BodyLimit), c.BodyLimit)
	case c.BodyMemoryPerClient < 0:
		return fmt.Errorf("--body-memory-per-client %d: must be 0 (no bound per client) or more", c.BodyMemoryPerClient)
	case c.ExtensionProcesses < 1 || c.ExtensionProcesses > 64:
		return fmt.Errorf("--extension-processes %d: must be between 1 and 64", c.ExtensionProcesses)
	case c.ExtensionStartTimeout <= 0 || c.ExtensionStartTimeout > 5*time.Minute:
		return fmt.Errorf("--extension-start-timeout %s: must be more than 0 and at most 5m", c.ExtensionStartTimeout)
	case c.MaxConnections < 1:
		return fmt.Errorf("--max-connections %d: must be at least 1", c.MaxConnections)
	case c.MaxHeaderBytes < 1024 || c.MaxHeaderBytes > 1<<20:
		return fmt.Errorf("--max-header-bytes %d: must be between 1024 and 1048576", c.MaxHeaderBytes)
	case c.RunLogLimit < 1:
		return fmt.Errorf("run log limit %d: must be at least 1 byte", c.RunLogLimit)
	case c.RunRetention < 0:
		return fmt.Errorf("--run-retention %s: must not be negative (0: no age bound)", c.RunRetention)
	case c.RunHistoryMaxBytes < 0:
		return fmt.Errorf("--run-history-max-bytes %d: must not be negative (0: no size bound)", c.RunHistoryMaxBytes)
	case c.RunBodyLimit < 1:
		return fmt.Errorf("--run-body-limit %d: must be at least 1 byte", c.RunBodyLimit)
	}
	if l := c.DefaultLimits; l.Rate < 0 || l.Burst < 0 || l.Concurrency < 0 || l.BodyBytes < 0 {
		return errors.New("--default-rate, --default-burst and --default-concurrency must not be negative")
	}
	if err := c.Memory.validate(); err != nil {
		return err
	}
	return c.Jobs.Validate()
}

// ParseTrustedProxies parses a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 127.0.0.1").
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
