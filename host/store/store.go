// Package store is hookhost's persistence: one Store interface with a SQLite
// implementation (host/store/sqlite, the default) and a PostgreSQL one
// (host/store/postgres), both checked by the shared conformance suite in
// host/store/storetest.
package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a unique field (an automation name, a token) is taken.
	ErrConflict = errors.New("store: already exists")
	// ErrInvalid means a value cannot be stored as given: a name or ID
	// that is not valid UTF-8 or holds a NUL byte (see ValidName). It is
	// the caller's mistake (an HTTP 400), never the database's.
	ErrInvalid = errors.New("store: invalid value")
	// ErrStorageFull means the database could not write because its disk
	// (or its configured size limit) is full: SQLite's SQLITE_FULL,
	// PostgreSQL's disk_full (53100), or ENOSPC. Errors that wrap it also
	// wrap the driver's error. See IsStorageFull.
	ErrStorageFull = errors.New("store: storage is full")
)

// WritesFailingError is what Store.Healthy returns while the store's writes
// fail: since when, and the latest failure (which wraps ErrStorageFull when
// the disk is full).
type WritesFailingError struct {
	Since time.Time
	Err   error
}

// Error says since when writes fail and why.
func (e *WritesFailingError) Error() string {
	return "store writes failing since " + e.Since.UTC().Format(time.RFC3339) + ": " + e.Err.Error()
}

// Unwrap returns the latest failure.
func (e *WritesFailingError) Unwrap() error { return e.Err }

// ValidName reports whether s can be a name or an ID in the store: valid
// UTF-8 without NUL bytes. Names are the keys records are found by
// (automation, webhook and package names, record IDs); every other text
// field stores any bytes.
func ValidName(s string) bool {
	// strings.IndexByte compares 16 or 32 bytes at a time (a byte loop
	// was about 150 instructions for a run ID, each record's twice).
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// IsStorageFull reports whether err means the disk (or the database's size
// limit) is full: it wraps ErrStorageFull or ENOSPC, or a driver error
// with SQLite's SQLITE_FULL result code or PostgreSQL's SQLSTATE 53100
// (disk_full). It recognises the drivers' errors by their methods (Code()
// int, SQLState() string), so any package can classify without importing a
// driver.
func IsStorageFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrStorageFull) || errors.Is(err, syscall.ENOSPC) {
		return true
	}
	// modernc.org/sqlite: *sqlite.Error; the primary result code is the
	// low byte of an extended one.
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code()&0xff == sqliteFull {
		return true
	}
	// pgx: *pgconn.PgError.
	var pg interface{ SQLState() string }
	return errors.As(err, &pg) && pg.SQLState() == "53100"
}

// sqliteFull is SQLite's SQLITE_FULL result code.
const sqliteFull = 13

// Automation is an automation record (Cerb's fields plus a revision that
// grows by one on every change).
type Automation struct {
	ID          int64
	Name        string
	ExtensionID string
	Description string
	Script      string
	PolicyKATA  string
	Revision    int64
	// Owner is what manages the record: "" for the admin API and
	// packages, OwnerManifest+file for a manifest.
	Owner     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Webhook is a webhook record. The token itself is never stored: TokenHash is
// its SHA-256. After a rotation the previous hash stays valid until
// PrevTokenExpiresAt.
type Webhook struct {
	ID                 string // UUID
	Name               string
	TokenHash          []byte
	PrevTokenHash      []byte     // nil when none
	PrevTokenExpiresAt *time.Time // nil when none
	EventKATA          string
	Enabled            bool
	Debug              bool       // failures show their message to the caller
	ExpiresAt          *time.Time // nil: never
	// Revision grows by one on every change.
	Revision int64
	// Owner is what manages the record (see Automation.Owner).
	Owner string
	// TokenSecret names the secret whose value is the token, when a
	// manifest pins it ("" for a generated token).
	TokenSecret string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Run is one synchronous webhook run.
type Run struct {
	ID         string // UUID
	WebhookID  string
	Automation string
	Revision   int64
	Status     int    // HTTP status answered
	Exit       string // return, error, exit, or "" when the automation did not run
	Error      string
	DurationUS int64
	Inputs     []byte // JSON, secrets redacted
	Output     []byte // JSON return dictionary, may be nil
	Log        []byte // JSON list of log entries, truncated
	CreatedAt  time.Time
	// RequestID is the request's X-Request-Id.
	RequestID string
	// Cause says why a request was refused before its automation ran
	// (verify, rate_limit, disabled, ...), or "" when it ran.
	Cause string
	// JobID names the job a hand-off queued.
	JobID string
	// ReplayOf names the record a replay repeated.
	ReplayOf string
}

// RunFilter selects runs for ListRuns. Zero fields do not filter.
type RunFilter struct {
	WebhookID string
	Limit     int    // default 50, at most 500
	BeforeID  string // page: runs created before this run
	// StatusClass keeps the runs answered with a status of that class
	// (2 for 2xx ... 5 for 5xx).
	StatusClass int
	// Cause keeps the runs refused for that cause; "-" keeps the runs
	// that were not refused.
	Cause string
	// Since and Until keep the runs created in [Since, Until).
	Since, Until time.Time
	// Search keeps the runs whose stored request (headers, parameters,
	// body) holds the text. ListRunsPage reads at most SearchBudget
	// records (matching the other fields) for one page of a search.
	Search string
	// SearchBudget bounds the records one search page reads: default
	// DefaultSearchBudget, at most MaxSearchBudget.
	SearchBudget int
}

// Search budgets (see RunFilter.SearchBudget). A search reads each record's
// stored request, so an unbounded search of a million records would read
// them all for a text that is in none. Measured with a million records
// (make scale): 20,000 records cost about 50 ms when they are the newest
// of all, and a few hundred ms when they are one webhook's, scattered
// through the table.
const (
	DefaultSearchBudget = 20_000
	MaxSearchBudget     = 1_000_000
)

// RunPage is a page of ListRunsPage.
type RunPage struct {
	Runs []*Run
	// NextBefore is the BeforeID of the next page ("" when this page is the
	// last): the last run of a full page, or the oldest record a search
	// read when it stopped at its budget.
	NextBefore string
	// Searched is how many records a search read when it stopped at its
	// budget (0 otherwise): there may be older matches, from NextBefore on.
	Searched int
}

// WebhookPage selects a page of webhooks for ListWebhooksPage.
type WebhookPage struct {
	// Limit is the page size: default 50, at most 500.
	Limit int
	// AfterID continues after that webhook (the last of the previous page).
	AfterID string
	// Query keeps the webhooks whose name holds it (case-insensitive).
	Query string
	// IDs keeps the webhooks with those IDs (a page of names to show
	// beside request records); at most Limit of them are read.
	IDs []string
}

// StatsQuery asks WebhookStats for the records of ids created since Since,
// counted in Buckets buckets of Width each.
type StatsQuery struct {
	IDs     []string
	Since   time.Time
	Width   time.Duration
	Buckets int
}

// WebhookStats is one webhook's request records since a time.
type WebhookStats struct {
	// Requests and Errors count the records, and those answered 400 or
	// more, by bucket (oldest first).
	Requests, Errors []int
	// LastStatus and LastAt are the newest record's status and time (zero
	// when the webhook has none at all).
	LastStatus int
	LastAt     time.Time
}

// PackageImport records one package import.
type PackageImport struct {
	ID        string // UUID
	Name      string
	Revision  int64
	Result    []byte // JSON of what was created
	CreatedAt time.Time
}

// ImportPlan is everything one package import creates; ApplyImport writes it
// in one transaction, or nothing.
type ImportPlan struct {
	Import      PackageImport
	Automations []*Automation
	Webhooks    []*Webhook
}

// Run history retention defaults (RunRetention).
const (
	// DefaultRunMaxAge is how long run records are kept: a week, time to
	// look into what happened over a weekend.
	DefaultRunMaxAge = 7 * 24 * time.Hour
	// DefaultRunMaxBytes bounds the run history's size (RunSize of every
	// record): 256 MiB, about 4,000 records at the recorder's 64 KiB body
	// cap, or hundreds of thousands of small ones.
	DefaultRunMaxBytes = 256 << 20
	// DefaultPruneBatch is how many records one DELETE statement removes,
	// each in its own short transaction, so that pruning never holds
	// SQLite's single writer for long.
	DefaultPruneBatch = 256
)

// RunOverhead is what RunSize adds for a record's fixed columns and index
// entries.
const RunOverhead = 128

// RunSize is the size a run record counts for in RunRetention.MaxBytes:
// the bytes of its variable fields plus RunOverhead.
func RunSize(r *Run) int64 {
	return int64(len(r.ID) + len(r.WebhookID) + len(r.Automation) + len(r.Exit) + len(r.Error) +
		len(r.Inputs) + len(r.Output) + len(r.Log) + len(r.RequestID) + len(r.Cause) + len(r.JobID) + len(r.ReplayOf) + RunOverhead)
}

// RunRetention says which run records PruneRuns removes. Zero fields take
// the defaults; a negative MaxAge or MaxBytes turns that bound off.
type RunRetention struct {
	// MaxAge removes records created this long before now. Default
	// DefaultRunMaxAge.
	MaxAge time.Duration
	// MaxBytes removes the oldest records until the RunSize of those left
	// adds up to at most this. Default DefaultRunMaxBytes.
	MaxBytes int64
	// Batch is how many records one statement deletes. Default
	// DefaultPruneBatch.
	Batch int
}

// WithDefaults returns r with its zero fields set to the defaults.
func (r RunRetention) WithDefaults() RunRetention {
	if r.MaxAge == 0 {
		r.MaxAge = DefaultRunMaxAge
	}
	if r.MaxBytes == 0 {
		r.MaxBytes = DefaultRunMaxBytes
	}
	if r.Batch <= 0 {
		r.Batch = DefaultPruneBatch
	}
	return r
}

// PruneResult is what one pruning pass did.
type PruneResult struct {
	// ByAge and BySize count the records deleted for each bound.
	ByAge, BySize int64
	// Bytes is the size of the records left (0 when MaxBytes is off).
	Bytes int64
}

// Store is the persistence interface. Implementations are safe for
// concurrent use. Create methods fill in IDs (where empty), revisions and
// timestamps on the record passed in.
type Store interface {
	CreateAutomation(ctx context.Context, a *Automation) error // ErrConflict on a taken name
	UpdateAutomation(ctx context.Context, a *Automation) error // by Name; Revision+1; ErrNotFound
	GetAutomation(ctx context.Context, name string) (*Automation, error)
	ListAutomations(ctx context.Context) ([]*Automation, error) // by name
	DeleteAutomation(ctx context.Context, name string) error

	CreateWebhook(ctx context.Context, w *Webhook) error // ErrConflict on a taken token hash
	UpdateWebhook(ctx context.Context, w *Webhook) error // by ID; ErrNotFound
	GetWebhook(ctx context.Context, id string) (*Webhook, error)
	// GetWebhookByTokenHash matches the current token hash, or the previous
	// one while it has not expired (at now).
	GetWebhookByTokenHash(ctx context.Context, hash []byte, now time.Time) (*Webhook, error)
	ListWebhooks(ctx context.Context) ([]*Webhook, error) // by creation
	// ListWebhooksPage returns one page of webhooks in creation order
	// (see WebhookPage).
	ListWebhooksPage(ctx context.Context, p WebhookPage) ([]*Webhook, error)
	// WebhookStats counts the request records of each webhook in ids
	// since a time, in buckets (see StatsQuery).
	WebhookStats(ctx context.Context, q StatsQuery) (map[string]*WebhookStats, error)
	DeleteWebhook(ctx context.Context, id string) error

	InsertRuns(ctx context.Context, runs []*Run) error // one transaction
	GetRun(ctx context.Context, id string) (*Run, error)
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error) // newest first
	// ListRunsPage is ListRuns with where the next page starts; a search
	// reads at most f.SearchBudget records (see RunPage).
	ListRunsPage(ctx context.Context, f RunFilter) (RunPage, error)
	// CountRuns counts the runs f selects, ignoring its BeforeID and
	// Search, but stops past upTo: a count above upTo is upTo+1.
	CountRuns(ctx context.Context, f RunFilter, upTo int) (int, error)
	// PruneRuns runs one pruning pass of the run history at now, in
	// bounded batches (see RunRetention), and reports what it deleted.
	PruneRuns(ctx context.Context, r RunRetention, now time.Time) (PruneResult, error)

	// ApplyImport is ApplyChanges of the plan: the import record and
	// every record created, by ActorSystem.
	ApplyImport(ctx context.Context, plan *ImportPlan) error
	ListImports(ctx context.Context) ([]*PackageImport, error)
	// LatestImport returns the newest import of the package called name,
	// or ErrNotFound.
	LatestImport(ctx context.Context, name string) (*PackageImport, error)

	// ApplyChanges applies every change of cs in one transaction, each
	// with its audit entry, or none of them (see Change). It fills in the
	// records as the Create and Update methods do. Errors name the
	// change that failed and wrap ErrConflict, ErrNotFound, ErrInvalid or
	// ErrRevision. The Create, Update and Delete methods of automations
	// and webhooks are ApplyChanges of one change by ActorSystem.
	ApplyChanges(ctx context.Context, cs *ChangeSet) error
	// ListAudit returns audit entries, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
	// SecretOwners returns the owner of every secret that has one, by
	// name.
	SecretOwners(ctx context.Context) (map[string]string, error)

	// Key-value storage for the storage.* commands, namespaced (by automation).
	KVGet(ctx context.Context, ns, key string, now time.Time) (value []byte, found bool, err error)
	KVSet(ctx context.Context, ns, key string, value []byte, expires *time.Time) error
	KVDelete(ctx context.Context, ns, key string) (found bool, err error)
	// KVList returns the keys of namespace ns that have not expired, sorted.
	KVList(ctx context.Context, ns string) ([]string, error)

	// Healthy reports whether the store's writes succeed: nil, or a
	// *WritesFailingError saying since when they fail and why (wrapping
	// ErrStorageFull when the disk is full). It reads state the store keeps as writes succeed
	// and fail, so it is cheap enough for every readiness probe; a
	// successful write (or ProbeWrite) clears it.
	Healthy() error
	// ProbeWrite makes one small real write (a few pages, committed and
	// removed) to learn whether writes succeed again, and updates what
	// Healthy reports. Call it while Healthy fails, not per probe.
	ProbeWrite(ctx context.Context) error

	// DB is the underlying database, for the job queue that shares it.
	DB() *sql.DB
	// Dialect is "sqlite" or "postgres".
	Dialect() string
	Close() error
}
