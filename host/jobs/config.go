package jobs

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Dialects the package supports (store.Store.Dialect).
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Config configures a Queue. Zero fields take the defaults listed.
type Config struct {
	// DB is the store's database; the queue shares it (and, on SQLite, its
	// single connection). Required.
	DB *sql.DB
	// Dialect is DialectSQLite or DialectPostgres. Required.
	Dialect string
	// DatabaseURL is the PostgreSQL DSN, used to open the small pgx pool
	// that LISTENs for River's notifications. Required on PostgreSQL.
	DatabaseURL string
	// Runner runs one attempt of a job. Required.
	Runner Runner
	// Workers is how many run jobs this process works at once. Default 10.
	// A negative value works no jobs here (nor completion callbacks): the
	// process still queues jobs and answers about them, and other processes
	// sharing the database work them.
	Workers int
	// CallbackWorkers is how many completion callbacks are sent at once.
	// Default 4.
	CallbackWorkers int
	// FetchCooldown is River's minimum time between two fetches. Default 1ms.
	FetchCooldown time.Duration
	// FetchPollInterval is River's periodic fetch. Default 10ms on SQLite
	// (its notifications are polled every 50 ms), 500ms on PostgreSQL
	// (LISTEN/NOTIFY wakes fetches).
	FetchPollInterval time.Duration
	// RescueAfter is how long a running job may go without a heartbeat
	// before River's rescuer runs it again. Default 1m.
	RescueAfter time.Duration
	// ShutdownGrace is how long Close lets running jobs finish before
	// cancelling them (River then retries them). Default 30s.
	ShutdownGrace time.Duration
	// Retention is how long River keeps finished jobs (and so the real
	// inputs that Retry needs): River's own rows, not the job records.
	// Default 168h.
	Retention time.Duration
	// RecordRetention is how long the records of finished jobs (state,
	// redacted inputs, response, output, log) are kept after they finished.
	// Default: Retention. Negative: no age bound.
	RecordRetention time.Duration
	// RecordMaxBytes bounds the size of finished jobs' records (their
	// inputs, headers, body, output, log and error, plus 256 bytes each):
	// pruning deletes the oldest finished records until the rest fit.
	// Records of jobs that have not ended are never pruned. Default
	// DefaultRecordMaxBytes. Negative: no size bound.
	RecordMaxBytes int64
	// PruneInterval is how often this process prunes finished job records
	// and expired idempotency keys (PruneRecords). Default 1m. Negative:
	// never in the background.
	PruneInterval time.Duration
	// PruneBatch is how many rows one pruning statement deletes, each in
	// its own short transaction. Default 256.
	PruneBatch int
	// OutcomeRetries is how many times an attempt's outcome is written
	// again when writing it fails (the database unreachable, a connection
	// dropped), before the attempt is given up and River retries the job,
	// running the automation again. Default 8 (with OutcomeRetryBackoff,
	// about 17 seconds). Negative: no retries.
	OutcomeRetries int
	// OutcomeRetryBackoff is the delay before the first retry of an
	// outcome write; later ones double, with jitter, up to 5 seconds.
	// Default 100ms.
	OutcomeRetryBackoff time.Duration
	// RetryBackoff is the first retry delay; later ones double, with
	// jitter, up to 5 minutes. Default 1s.
	RetryBackoff time.Duration
	// BatchDelay is the group-commit window of inserts and state writes.
	// Default 1ms.
	BatchDelay time.Duration
	// BatchSize caps the items of one group commit. Default 256.
	BatchSize int
	// HTTPClient sends completion callbacks. Default: 10 s timeout.
	HTTPClient *http.Client
	// Logger receives the queue's logs. Default slog.Default().
	Logger *slog.Logger
	// Observe, when set, is called as jobs start and finish in this process
	// (for benchmarks and metrics). It must not block.
	Observe func(Event)
}

// Default limits of a job's options.
const (
	DefaultMaxAttempts = 3
	DefaultTimeout     = 5 * time.Minute
	MaxTimeout         = 3 * time.Hour
	// IdempotencyWindow is how long a delivery id maps to its first job.
	IdempotencyWindow = 24 * time.Hour
	// DefaultRecordMaxBytes is Config.RecordMaxBytes's default: 256 MiB.
	DefaultRecordMaxBytes = 256 << 20
	// maxOutcomeRetryDelay caps the delay between outcome write retries.
	maxOutcomeRetryDelay = 5 * time.Second
	// callbackMaxAttempts bounds completion callback deliveries.
	callbackMaxAttempts = 8
	maxRetryDelay       = 5 * time.Minute
)

func (c *Config) defaults() error {
	if c.DB == nil {
		return errors.New("jobs: Config.DB is required")
	}
	if c.Runner == nil {
		return errors.New("jobs: Config.Runner is required")
	}
	switch c.Dialect {
	case DialectSQLite:
		if c.FetchPollInterval == 0 {
			c.FetchPollInterval = 10 * time.Millisecond
		}
	case DialectPostgres:
		if c.DatabaseURL == "" {
			return errors.New("jobs: Config.DatabaseURL is required on PostgreSQL")
		}
		if c.FetchPollInterval == 0 {
			c.FetchPollInterval = 500 * time.Millisecond
		}
	default:
		return fmt.Errorf("jobs: dialect %q: want %q or %q", c.Dialect, DialectSQLite, DialectPostgres)
	}
	if c.Workers == 0 {
		c.Workers = 10
	}
	if c.CallbackWorkers == 0 {
		c.CallbackWorkers = 4
	}
	if c.FetchCooldown == 0 {
		c.FetchCooldown = time.Millisecond
	}
	if c.FetchPollInterval < c.FetchCooldown {
		c.FetchPollInterval = c.FetchCooldown
	}
	if c.RescueAfter == 0 {
		c.RescueAfter = time.Minute
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.Retention == 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.RecordRetention == 0 {
		c.RecordRetention = c.Retention
	}
	if c.RecordMaxBytes == 0 {
		c.RecordMaxBytes = DefaultRecordMaxBytes
	}
	if c.PruneInterval == 0 {
		c.PruneInterval = time.Minute
	}
	if c.PruneBatch == 0 {
		c.PruneBatch = 256
	}
	if c.OutcomeRetries == 0 {
		c.OutcomeRetries = 8
	}
	if c.OutcomeRetryBackoff == 0 {
		c.OutcomeRetryBackoff = 100 * time.Millisecond
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = time.Second
	}
	if c.BatchDelay == 0 {
		c.BatchDelay = time.Millisecond
	}
	if c.BatchSize == 0 {
		c.BatchSize = 256
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.CallbackWorkers < 1 || c.BatchSize < 1 || c.PruneBatch < 1 {
		return errors.New("jobs: CallbackWorkers, BatchSize and PruneBatch must be at least 1")
	}
	if c.RescueAfter < time.Second {
		return fmt.Errorf("jobs: RescueAfter %s: must be at least 1s", c.RescueAfter)
	}
	return nil
}
