package api

import "time"

// AuditEntry is one change as GET /audit shows it: who made it, to what,
// when, and the revisions before and after. It never holds a secret's
// value or a webhook's token.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Actor is "token:<12 hex digits of the admin token's SHA-256>",
	// "manifest:<directory>/<file>" or "system".
	Actor string `json:"actor"`
	// Kind is automation, webhook, secret or package.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// RecordID is the automation's ID, the webhook's UUID or the package
	// import's ID ("" for a secret).
	RecordID string `json:"record_id,omitempty"`
	// Action is create, update, delete, rotate, import or upgrade.
	Action      string `json:"action"`
	OldRevision int64  `json:"old_revision"`
	NewRevision int64  `json:"new_revision"`
	Detail      string `json:"detail,omitempty"`
}

// AuditList is the answer of GET /audit, newest first. NextBefore, when
// set, is the ?before= of the next (older) page.
type AuditList struct {
	Entries    []AuditEntry `json:"entries"`
	NextBefore int64        `json:"next_before,omitempty"`
}

// ManifestApply is the body of POST /manifests/apply: the files of a
// manifest directory and the values of the secrets they refer to.
type ManifestApply struct {
	// Files holds the directory's files by name (relative, with "/"):
	// the YAML manifests and the .kata files they name.
	Files map[string]string `json:"files"`
	// Secrets holds the values of the secrets the manifests declare with
	// a source (from_env:, from_file:), by secret name, as the client read
	// them where it runs. The server never reads its own environment or
	// files for a request: a declared secret missing here is a problem.
	Secrets map[string]string `json:"secrets,omitempty"`
	// DryRun plans without changing anything.
	DryRun bool `json:"dry_run,omitempty"`
	// Prune deletes the records manifests own that no file declares any
	// more.
	Prune bool `json:"prune,omitempty"`
	// Source names the directory (hookhost apply -f sends its absolute
	// path): the records are owned by "manifest:<source>/<file>", and a
	// prune deletes only those of this source. Optional: without it the
	// records are "manifest:<file>", and a prune deletes only those
	// without a source. Also in the audit log's details.
	Source string `json:"source,omitempty"`
}

// ManifestPlan is the answer of POST /manifests/apply: what the apply did
// (or, with dry_run, would do), record by record.
type ManifestPlan struct {
	// Applied is true when the changes were written (false for a dry run
	// or when nothing changes).
	Applied bool             `json:"applied"`
	DryRun  bool             `json:"dry_run"`
	Changes []ManifestChange `json:"changes"`
	// Webhooks are the webhooks created with a generated token: their
	// URL and token are shown this once.
	Webhooks []ImportedWebhook `json:"webhooks,omitempty"`
	Warnings []string          `json:"warnings,omitempty"`
}

// ManifestChange is one record of a plan.
type ManifestChange struct {
	// Kind is automation, webhook or secret.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// ID is the webhook's UUID (known once it exists).
	ID string `json:"id,omitempty"`
	// Action is create, update, delete, unchanged, or keep (a record a
	// manifest owned that no file declares any more, kept without
	// prune).
	Action string `json:"action"`
	// File is the manifest file that declares the record (for a delete or
	// a keep, the one that did).
	File string `json:"file,omitempty"`
	// Fields names what an update changes.
	Fields []string `json:"fields,omitempty"`
	// Diff is a unified diff of the script, policy or event KATA an
	// update changes (secret values never appear: a changed secret says
	// so in Fields).
	Diff string `json:"diff,omitempty"`
}

// Manifest plan actions besides the store's create, update and delete.
const (
	ManifestUnchanged = "unchanged"
	ManifestKeep      = "keep"
)

// ManifestExport is the answer of GET /manifests/export: the files of a
// manifest directory that declares the current state and applies back
// unchanged.
type ManifestExport struct {
	Files map[string]string `json:"files"`
}
