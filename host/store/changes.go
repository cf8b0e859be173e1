package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ErrRevision means a change set was planned against a state that changed
// before it was applied: a record's revision (or a package's latest
// import) is not the one the change expects. Nothing was written; read
// again and retry.
var ErrRevision = errors.New("store: the record changed since it was read")

// Kinds of records a Change writes, as audit entries name them.
const (
	KindAutomation = "automation"
	KindWebhook    = "webhook"
	KindSecret     = "secret"
	KindPackage    = "package"
	// KindSchedule and KindSubscription are written by Record changes
	// (host/schedule, host/jobs).
	KindSchedule     = "schedule"
	KindSubscription = "subscription"
)

// Actions of a Change, as audit entries name them.
const (
	// ActionCreate inserts an automation or a webhook.
	ActionCreate = "create"
	// ActionUpdate replaces an automation (by name) or a webhook (by ID).
	ActionUpdate = "update"
	// ActionDelete deletes an automation (by name), a webhook (by ID) or
	// a secret (by name).
	ActionDelete = "delete"
	// ActionRotate replaces a webhook like ActionUpdate; it is the
	// action of a change of its token.
	ActionRotate = "rotate"
	// ActionPut stores a secret, replacing any value it had. Its audit
	// entry says ActionCreate or ActionUpdate, as it turned out.
	ActionPut = "put"
	// ActionImport records a package's first import.
	ActionImport = "import"
	// ActionUpgrade records a package's import at a higher revision.
	ActionUpgrade = "upgrade"
)

// Owners of records. A record's owner is what manages it: the admin API
// and packages leave it empty; a declarative manifest sets OwnerManifest
// followed by its directory and file ("manifest:/srv/manifests/hooks.yaml";
// "manifest:hooks.yaml" without a directory: catalog.ManifestOwner).
const OwnerManifest = "manifest:"

// Actors that are not an admin token or a manifest.
const (
	// ActorSystem is the server itself (the example installed at first
	// start, a tool).
	ActorSystem = "system"
)

// Secret is a secret as the store keeps it: its name and its value sealed
// by host/secrets (the store never sees the value).
type Secret struct {
	Name   string
	Sealed []byte
	Owner  string
}

// SecretsNamespace is the key-value namespace that holds the sealed
// secrets (host/secrets.Namespace).
const SecretsNamespace = "secrets"

// Change is one write of a ChangeSet: exactly one of Automation, Webhook,
// Secret, Package and Record is set, and Action says what to do with it.
//
//   - Automation: ActionCreate (its ID, Revision 1 and timestamps are
//     filled in), ActionUpdate (by Name: every field but ID and
//     CreatedAt replaced, Revision+1), ActionDelete (by Name).
//   - Webhook: ActionCreate (ID filled in when empty, Revision 1),
//     ActionUpdate or ActionRotate (by ID, Revision+1), ActionDelete (by
//     ID).
//   - Secret: ActionPut, ActionDelete (by Name).
//   - Package: ActionImport or ActionUpgrade insert the import record
//     (ID and CreatedAt filled in).
//   - Record: any action; its Write does it (see RecordChange).
type Change struct {
	Action     string
	Automation *Automation
	Webhook    *Webhook
	Secret     *Secret
	Package    *PackageImport
	Record     *RecordChange
	// IfRevision, when not zero, is the revision the automation or
	// webhook must have for an update, rotation or deletion to happen,
	// and for a package the revision of its latest import (an upgrade);
	// otherwise the change set fails with ErrRevision. An ActionImport
	// fails with ErrRevision when the package was imported before.
	IfRevision int64
	// Actor, when set, is who made this change in its audit entry,
	// instead of ChangeSet.Actor ("manifest:hooks.yaml").
	Actor string
	// Detail is a note for the audit entry (what changed, on whose
	// behalf). It must never hold a secret value or a token.
	Detail string
}

// RecordChange is a change of a record whose table another package owns
// and migrates (a schedule, a published subscription): that package
// writes it, in the change set's transaction, and the store writes its
// audit entry.
type RecordChange struct {
	// Kind, Name and RecordID are what the audit entry names
	// (KindSchedule, KindSubscription).
	Kind, Name, RecordID string
	// Write makes the change in tx. Its queries use $1, $2… placeholders
	// on PostgreSQL (? is SQLite's). An error wrapping ErrNotFound,
	// ErrConflict or ErrRevision means what it does for other changes.
	Write func(ctx context.Context, tx *sql.Tx) error
}

// ChangeSet is every change of one operation, applied by
// Store.ApplyChanges in one transaction with one audit entry per change,
// or not at all.
type ChangeSet struct {
	// Actor is who made the changes: "token:<short hash>" for the admin
	// API, ActorSystem, "manifest:<directory>/<file>".
	Actor   string
	Changes []Change
}

// AuditEntry is one change as the audit log keeps it.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Actor    string
	Kind     string // KindAutomation, KindWebhook, KindSecret, KindPackage
	Name     string // automation, webhook, secret or package name
	RecordID string // automation ID, webhook UUID, import ID ("" for a secret)
	Action   string
	// OldRevision and NewRevision are the record's revision before and
	// after the change (0: none; a secret has no revisions); for a package,
	// the revisions of its previous and new import.
	OldRevision int64
	NewRevision int64
	Detail      string
}

// AuditFilter selects audit entries for ListAudit. Zero fields do not
// filter.
type AuditFilter struct {
	Kind string
	// Name matches an entry's Name or its RecordID.
	Name string
	// Since keeps entries at or after this time.
	Since time.Time
	// BeforeID pages: entries older than this one.
	BeforeID int64
	// Limit is at most this many entries (default 100, at most 1000).
	Limit int
}

// Audit listing bounds.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)
