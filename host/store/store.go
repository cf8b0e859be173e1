// Package store is hookhost's persistence: one Store interface with a SQLite
// implementation (host/store/sqlite, the default) and a PostgreSQL one
// (host/store/postgres), both checked by the shared conformance suite in
// host/store/storetest.
package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a unique field (an automation name, a token) is taken.
	ErrConflict = errors.New("store: already exists")
)

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
	CreatedAt   time.Time
	UpdatedAt   time.Time
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
	CreatedAt          time.Time
	UpdatedAt          time.Time
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
}

// RunFilter selects runs for ListRuns. Zero fields do not filter.
type RunFilter struct {
	WebhookID string
	Limit     int    // default 50, at most 500
	BeforeID  string // page: runs created before this run
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
	DeleteWebhook(ctx context.Context, id string) error

	InsertRuns(ctx context.Context, runs []*Run) error // one transaction
	GetRun(ctx context.Context, id string) (*Run, error)
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error) // newest first

	ApplyImport(ctx context.Context, plan *ImportPlan) error
	ListImports(ctx context.Context) ([]*PackageImport, error)

	// Key-value storage for the storage.* commands, namespaced (by automation).
	KVGet(ctx context.Context, ns, key string, now time.Time) (value []byte, found bool, err error)
	KVSet(ctx context.Context, ns, key string, value []byte, expires *time.Time) error
	KVDelete(ctx context.Context, ns, key string) (found bool, err error)
	// KVList returns the keys of namespace ns that have not expired, sorted.
	KVList(ctx context.Context, ns string) ([]string, error)

	// DB is the underlying database, for the job queue that shares it.
	DB() *sql.DB
	// Dialect is "sqlite" or "postgres".
	Dialect() string
	Close() error
}
