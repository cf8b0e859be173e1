package jobs

import (
	"fmt"
	"time"
)

// Settings are the job queue's operator knobs: `hookhost serve` binds its
// --job-* flags to them, and DefaultSettings is the one place their
// defaults live. A zero field means what its comment says, never "the
// default".
type Settings struct {
	// Workers is how many jobs this process runs at once, beside at most
	// legacyRunWorkers of the run jobs an earlier version queued
	// (queueRunsArgs) while any are left. 0 runs none
	// here (nor completion callbacks): the process still queues jobs and
	// answers about them, and the other servers sharing its PostgreSQL
	// database run them.
	Workers int
	// ShutdownGrace is how long Close lets running jobs finish before
	// cancelling them (they are retried later).
	ShutdownGrace time.Duration
	// RescueAfter is how long a job may stay running without a heartbeat
	// from its process before it is run again (after a crash).
	RescueAfter time.Duration
	// FetchPollInterval is how often the process looks for new jobs besides
	// insert notifications. 0 picks by database: 1s on SQLite (the process
	// wakes River itself after its own inserts), 500ms on PostgreSQL
	// (LISTEN/NOTIFY wakes fetches).
	FetchPollInterval time.Duration
	// Retention is how long ended jobs keep their queue row (River's), with
	// the real inputs a retry needs.
	Retention time.Duration
	// RecordRetention is how long the records of ended jobs (state,
	// redacted inputs, response, output, log: what the API shows) are kept
	// after they ended. 0 keeps them without an age bound.
	RecordRetention time.Duration
	// RecordMaxBytes bounds the size of ended jobs' records (their inputs,
	// headers, body, output, log and error, plus 256 bytes each): pruning
	// deletes the oldest until the rest fit. Records of jobs that have not
	// ended are never pruned. 0: no size bound.
	RecordMaxBytes int
	// RetryBackoff is the first retry delay of a failed job; later ones
	// double, with jitter, up to 5 minutes.
	RetryBackoff time.Duration
	// BatchDelay is how long inserts and state writes are collected into
	// one transaction (group commit).
	BatchDelay time.Duration
	// CallbackWorkers is how many completion callbacks, subscription
	// deliveries and upstream subscription requests this process sends at
	// once (when Workers is not 0); at most a quarter of them, and at
	// least one, go to one suspect destination (one that stopped
	// answering) at a time (destinations.go).
	CallbackWorkers int
}

// DefaultSettings returns the defaults of Settings.
func DefaultSettings() Settings {
	return Settings{
		Workers:         10,
		ShutdownGrace:   30 * time.Second,
		RescueAfter:     20 * time.Second,
		Retention:       7 * 24 * time.Hour,
		RecordRetention: 7 * 24 * time.Hour,
		RecordMaxBytes:  256 << 20,
		RetryBackoff:    time.Second,
		BatchDelay:      time.Millisecond,
		CallbackWorkers: 16,
	}
}

// Validate checks the settings, naming each as its flag does, with the
// bound it breaks.
func (s Settings) Validate() error {
	switch {
	case s.Workers < 0:
		return fmt.Errorf("--job-workers %d: must be 0 (run none here) or more", s.Workers)
	case s.Workers > 10_000:
		return fmt.Errorf("--job-workers %d: must be at most 10000", s.Workers)
	case s.ShutdownGrace < 0:
		return fmt.Errorf("--job-shutdown-grace %s: must not be negative", s.ShutdownGrace)
	case s.RescueAfter < time.Second:
		return fmt.Errorf("--job-rescue-after %s: must be at least 1s", s.RescueAfter)
	case s.FetchPollInterval < 0:
		return fmt.Errorf("--job-poll-interval %s: must not be negative (0 picks by database)", s.FetchPollInterval)
	case s.Retention < time.Minute:
		return fmt.Errorf("--job-retention %s: must be at least 1m", s.Retention)
	case s.RecordRetention < 0:
		return fmt.Errorf("--job-record-retention %s: must not be negative (0 keeps records without an age bound)", s.RecordRetention)
	case s.RecordMaxBytes < 0:
		return fmt.Errorf("--job-records-max-bytes %d: must not be negative (0: no size bound)", s.RecordMaxBytes)
	case s.RetryBackoff <= 0:
		return fmt.Errorf("--job-retry-backoff %s: must be positive", s.RetryBackoff)
	case s.BatchDelay < 0 || s.BatchDelay > time.Second:
		return fmt.Errorf("--job-batch-delay %s: must be between 0 and 1s", s.BatchDelay)
	case s.CallbackWorkers < 1 || s.CallbackWorkers > 1000:
		return fmt.Errorf("--callback-workers %d: must be between 1 and 1000", s.CallbackWorkers)
	}
	return nil
}
