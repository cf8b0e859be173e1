package host

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/runner"
)

// Config is everything the server needs. cmd/hookhost fills it from flags
// and HOOKHOST_* environment variables; zero fields take the defaults of
// (*Config).defaults.
type Config struct {
	// Listen is the address of the HTTP listener. Default 127.0.0.1:8080.
	Listen string
	// AdminListen, when set, serves the admin API on its own address and
	// not on Listen.
	AdminListen string
	// PublicURL is the base of webhook URLs shown to users. Default
	// http://<Listen>.
	PublicURL string
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
	// AllowPrivateRequests lets http.request reach loopback, private and
	// link-local addresses (refused by default: SSRF guard).
	AllowPrivateRequests bool
	// BodyLimit caps webhook request bodies. Default 1 MiB.
	BodyLimit int
	// RequestTimeout caps one synchronous webhook run. Default 30s.
	RequestTimeout time.Duration
	// DefaultLimits are the server-wide per-webhook limits: each field
	// applies to every webhook whose event KATA `limits:` block does not
	// set it. Zero fields mean no limit (the body limit is BodyLimit).
	DefaultLimits automations.EventLimits
	// ReadTimeout, WriteTimeout and IdleTimeout are the listeners' timeouts
	// (defaults 30s, 60s and 120s).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// RotateOverlap is how long a rotated token stays valid when the caller
	// does not say. Default 24h.
	RotateOverlap time.Duration
	// RunLogLimit caps the bytes of run log kept per run record. Default 16 KiB.
	RunLogLimit int
	// InProcess runs built-in extensions inside the server process instead
	// of as child processes (for tests and measurement).
	InProcess bool
	// ExtensionCommand is the command line that starts a built-in extension;
	// the extension's name is appended. Default: this executable + "ext serve".
	ExtensionCommand []string
	// Example imports the built-in webhook-example package and creates its
	// webhook at first start (make run).
	Example bool
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// Version is the server's version string.
	Version string
	// Runner, when set, runs automations instead of the extensions (for
	// tests of the request and job paths).
	Runner runner.Runner

	// JobWorkers is how many durable jobs this process runs at once.
	// Default 10. A negative value runs none: the process still queues jobs
	// and answers about them, and the other servers sharing its PostgreSQL
	// database run them.
	JobWorkers int
	// JobShutdownGrace is how long Close lets running jobs finish before
	// cancelling them (they are retried later). Default 30s.
	JobShutdownGrace time.Duration
	// JobRescueAfter is how long a job may stay "running" without a
	// heartbeat from its process before it is run again (after a crash).
	// Default 1m.
	JobRescueAfter time.Duration
	// JobPollInterval is how often each process looks for new jobs besides
	// insert notifications. Default 10ms on SQLite, 500ms on PostgreSQL.
	JobPollInterval time.Duration
	// JobRetention is how long finished jobs keep their queue row (with the
	// real inputs a retry needs). Default 168h.
	JobRetention time.Duration
	// JobRetryBackoff is the first retry delay of a failed job; later ones
	// double (with jitter) up to 5 minutes. Default 1s.
	JobRetryBackoff time.Duration
	// JobBatchDelay is how long the job inserter collects concurrent
	// requests into one transaction (group commit). Default 1ms.
	JobBatchDelay time.Duration
}

func (c *Config) defaults() error {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.PublicURL == "" {
		scheme := "http://"
		if c.TLSCert != "" {
			scheme = "https://"
		}
		c.PublicURL = scheme + c.Listen
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		return errors.New("--tls-client-ca needs --tls-cert and --tls-key")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return fmt.Errorf("public URL %q must start with http:// or https://", c.PublicURL)
	}
	if c.PluginsDir == "" {
		c.PluginsDir = filepath.Join(c.DataDir, "plugins")
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = 1 << 20
	}
	if c.BodyLimit < 0 {
		return errors.New("body limit must not be negative")
	}
	if c.ExtensionProcesses < 0 || c.ExtensionProcesses > 64 {
		return fmt.Errorf("extension processes: %d is not between 1 and 64", c.ExtensionProcesses)
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 30 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 60 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 {
		return errors.New("listener timeouts must not be negative")
	}
	if l := c.DefaultLimits; l.Rate < 0 || l.Burst < 0 || l.Concurrency < 0 || l.BodyBytes < 0 {
		return errors.New("default limits must not be negative")
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.RotateOverlap == 0 {
		c.RotateOverlap = 24 * time.Hour
	}
	if c.RunLogLimit == 0 {
		c.RunLogLimit = 16 << 10
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	return c.jobDefaults()
}

// jobDefaults fills the zero job settings and checks the rest.
func (c *Config) jobDefaults() error {
	if c.JobWorkers == 0 {
		c.JobWorkers = 10
	}
	if c.JobShutdownGrace == 0 {
		c.JobShutdownGrace = 30 * time.Second
	}
	if c.JobRescueAfter == 0 {
		c.JobRescueAfter = time.Minute
	}
	if c.JobRetention == 0 {
		c.JobRetention = 7 * 24 * time.Hour
	}
	if c.JobRetryBackoff == 0 {
		c.JobRetryBackoff = time.Second
	}
	if c.JobBatchDelay == 0 {
		c.JobBatchDelay = time.Millisecond
	}
	switch {
	case c.JobShutdownGrace < 0, c.JobRetention < 0, c.JobRetryBackoff < 0, c.JobBatchDelay < 0, c.JobPollInterval < 0:
		return errors.New("job durations must not be negative")
	case c.JobRescueAfter < time.Second:
		return fmt.Errorf("job rescue-after %s: must be at least 1s", c.JobRescueAfter)
	}
	return nil
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
