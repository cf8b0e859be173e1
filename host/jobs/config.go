package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Dialects the package supports (store.Store.Dialect).
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Config configures a Queue. Zero fields take the defaults listed, except
// Settings, which are taken as they are (start from DefaultSettings).
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
	// Settings are the operator's knobs (DefaultSettings); they are not
	// defaulted here.
	Settings
	// Upstream does the upstream subscription requests EnqueueUpstream
	// queues (host/upstream). Optional: without it they are cancelled.
	Upstream UpstreamFunc
	// FetchCooldown is River's minimum time between two fetches. Default 1ms.
	FetchCooldown time.Duration
	// PruneInterval is how often this process prunes finished job records
	// and expired idempotency keys (PruneRecords), and ends the records of
	// jobs River ended without them (RepairRecords). Default 1m.
	// Negative: never in the background.
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
	// SubscriptionRefresh is how often this process reloads the
	// subscriptions that events are matched against, to see other
	// servers' changes (its own apply at once). Default 2s.
	SubscriptionRefresh time.Duration
	// PublishRate and PublishBurst bound the events Publish takes (a token
	// bucket: PublishRate a second, bursts of PublishBurst); events past
	// them are dropped (ErrPublishRate), so that a flood of refused
	// requests cannot become a flood of deliveries. Defaults 100 and 1000.
	PublishRate  float64
	PublishBurst int
	// BatchSize caps the items of one group commit. Default 256.
	BatchSize int
	// LockTimeout (PostgreSQL) is the lock_timeout of the group commits'
	// transactions: a write that waits that long for a row another
	// transaction holds fails alone with lock_not_available, rather than
	// its batch running into the group commit's 30 s deadline. Default
	// 5s; at least 1ms and under 30s.
	LockTimeout time.Duration
	// CallbackTimeout bounds the HTTP request of one attempt of a
	// completion callback or a subscription delivery: a receiver that
	// does not answer within it counts as no answer (its destination's
	// guards, destinations.go). Default 10s; at most 15s, half the
	// attempt's own limit of 30s, which also covers the database work
	// before the send: a hung send must end by this timeout, not by the
	// job's deadline, which counts neither way (answerOf).
	CallbackTimeout time.Duration
	// AllowPrivateRequests lets completion callbacks reach loopback,
	// private, link-local and shared (CGNAT) addresses, which the SSRF
	// guard of http.request (automations/ssrf) refuses to them by default;
	// wire it to the server's --allow-private-requests. Cloud metadata,
	// unspecified, multicast and reserved addresses stay refused. Default
	// false.
	AllowPrivateRequests bool
	// ProbeWrite, when set, makes one small real write to the queue's
	// database (the server passes its store's store.ProbeWrite, on the
	// same database). While the queue's writes fail (Healthy), it is called
	// every ProbeInterval, and its success clears the failure: a fetch
	// that takes no job writes nothing, so that without it a queue with no
	// job to write stayed failing after the database came back, and the
	// server's /readyz with it, which kept the traffic that would queue a
	// job away. Optional.
	ProbeWrite func(context.Context) error
	// ProbeInterval is how often ProbeWrite is tried while writes fail.
	// Default 5s.
	ProbeInterval time.Duration
	// Box seals the signing secrets of callbacks and subscriptions at
	// rest: the server's secrets box (host/secrets), which seals stored
	// secrets. Nil keeps them in clear.
	Box Sealer
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
			// This process wakes River after its own inserts (wake.go), so
			// the poll only finds what River alone knows of: retries whose
			// time came.
			c.FetchPollInterval = sqliteIdlePoll
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
	if err := c.Settings.Validate(); err != nil {
		return err
	}
	if c.FetchCooldown == 0 {
		c.FetchCooldown = time.Millisecond
	}
	if c.FetchPollInterval < c.FetchCooldown {
		c.FetchPollInterval = c.FetchCooldown
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
	if c.BatchSize == 0 {
		c.BatchSize = 256
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = defaultLockTimeout
	}
	if c.CallbackTimeout == 0 {
		c.CallbackTimeout = defaultCallbackTimeout
	}
	if c.PublishRate <= 0 {
		c.PublishRate = 100
	}
	if c.PublishBurst <= 0 {
		c.PublishBurst = 1000
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = 5 * time.Second
	}
	if c.SubscriptionRefresh <= 0 {
		c.SubscriptionRefresh = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.BatchSize < 1 || c.PruneBatch < 1 {
		return errors.New("jobs: BatchSize and PruneBatch must be at least 1")
	}
	if c.LockTimeout < time.Millisecond || c.LockTimeout >= groupCommitTimeout {
		return fmt.Errorf("jobs: LockTimeout %v: want at least 1ms and under the group commit's %v", c.LockTimeout, groupCommitTimeout)
	}
	if c.CallbackTimeout < 0 || c.CallbackTimeout > deliveryJobTimeout/2 {
		return fmt.Errorf("jobs: CallbackTimeout %v: want a positive duration of at most half a delivery attempt's %v", c.CallbackTimeout, deliveryJobTimeout)
	}
	return nil
}
