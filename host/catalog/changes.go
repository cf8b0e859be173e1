package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/store"
)

// Actor is who changes the catalog: the audit log names it. The admin API
// puts it in the request's context (WithActor); without one a change is
// store.ActorSystem's.
type Actor struct {
	// ID is what the audit log keeps: TokenActor of the admin token,
	// store.ActorSystem, or "manifest:<directory>/<file>".
	ID string
	// Force lets the change touch records a manifest owns (the admin
	// API's ?force=true).
	Force bool
}

// actorKey is the context key of the Actor.
type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the Actor of ctx, or store.ActorSystem's.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.ID != "" {
		return a
	}
	return Actor{ID: store.ActorSystem}
}

// TokenActor is the audit log's name of an admin token: "token:" and the
// first 12 hex digits of its SHA-256, enough to tell tokens apart and
// useless to guess one.
func TokenActor(token string) string {
	h := sha256.Sum256([]byte(token))
	return "token:" + hex.EncodeToString(h[:6])
}

// ManifestOwner is the owner a manifest file gives its records:
// "manifest:<source>/<file>", the source being the directory it was
// applied from (the watched directory's absolute path, or what hookhost
// apply -f sends: the absolute path of its directory). Without a source
// (an API client that sends none, and records applied before sources
// were recorded) it is "manifest:<file>". A manifest file is a top-level
// name, without "/": the last "/" ends the source.
func ManifestOwner(source, file string) string {
	if source == "" {
		return store.OwnerManifest + file
	}
	return store.OwnerManifest + source + "/" + file
}

// ManifestFile returns the manifest file an owner names, without its
// source ("" when the owner is not a manifest).
func ManifestFile(owner string) string {
	f, ok := strings.CutPrefix(owner, store.OwnerManifest)
	if !ok {
		return ""
	}
	if i := strings.LastIndexByte(f, '/'); i >= 0 {
		return f[i+1:]
	}
	return f
}

// ManifestSource returns the source (directory) a manifest owner names:
// "" when it names none, or is not a manifest.
func ManifestSource(owner string) string {
	f, ok := strings.CutPrefix(owner, store.OwnerManifest)
	if !ok {
		return ""
	}
	if i := strings.LastIndexByte(f, '/'); i >= 0 {
		return f[:i]
	}
	return ""
}

// ManifestPath is a manifest owner as a user reads it: the file, after
// its source when it has one ("/srv/manifests/hooks.yaml"); "" when the
// owner is not a manifest.
func ManifestPath(owner string) string {
	f, ok := strings.CutPrefix(owner, store.OwnerManifest)
	if !ok {
		return ""
	}
	return f
}

// CheckOwner refuses (409, naming the file) a change by the admin API to
// a record a manifest owns, unless the context's Actor forces it
// (?force=true) or is a manifest; kind and name name the record.
func CheckOwner(ctx context.Context, kind, name, owner string) error {
	return checkOwner(ctx, kind, name, owner)
}

// checkOwner refuses (409) a change by the admin API to a record a
// manifest owns, unless the actor forces it.
func checkOwner(ctx context.Context, kind, name, owner string) error {
	file := ManifestPath(owner)
	if file == "" || ActorFrom(ctx).Force || strings.HasPrefix(ActorFrom(ctx).ID, store.OwnerManifest) {
		return nil
	}
	return api.Errorf(http.StatusConflict,
		"%s %q is managed by the manifest file %s: change it there (the next apply would undo a change made here), or add ?force=true",
		kind, name, file)
}

// Apply writes cs through the store's one write path (one transaction, an
// audit entry per change) and drops the caches. cs.Actor defaults to the
// context's Actor. A record a change expected at another revision is a
// 409 problem; other errors are the store's.
func (c *Catalog) Apply(ctx context.Context, cs *store.ChangeSet) error {
	actor := ActorFrom(ctx)
	if cs.Actor == "" {
		cs.Actor = actor.ID
	}
	if actor.Force {
		for i := range cs.Changes {
			if cs.Changes[i].Detail == "" {
				cs.Changes[i].Detail = "with ?force=true"
			}
		}
	}
	if len(cs.Changes) == 0 {
		return nil
	}
	err := c.st.ApplyChanges(ctx, cs)
	if err != nil {
		if errors.Is(err, store.ErrRevision) {
			return api.NewProblem(http.StatusConflict, "nothing was changed: "+err.Error()+" (another change came first; read again and retry)")
		}
		return err
	}
	c.Changed(ctx)
	return nil
}

// apply is Apply of one change.
func (c *Catalog) apply(ctx context.Context, ch store.Change) error {
	return c.Apply(ctx, &store.ChangeSet{Changes: []store.Change{ch}})
}

// notFoundOr maps store.ErrNotFound of a change to a 404 problem naming
// the record.
func notFoundOr(err error, kind, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return api.Errorf(http.StatusNotFound, "no %s %q", kind, id)
	}
	return err
}

// SealSecret checks a secret's name and value and seals the value for the
// store (the value also joins the redactor). Its problems are 400s.
func (c *Catalog) SealSecret(name string, value []byte) ([]byte, error) {
	sealed, err := c.cfg.Secrets.Seal(name, value)
	if err != nil {
		return nil, secretProblem(name, err)
	}
	return sealed, nil
}

// Audit lists audit entries (store.AuditFilter), newest first.
func (c *Catalog) Audit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	if f.Limit < 0 || f.Limit > store.MaxAuditLimit {
		return nil, api.InvalidField("limit", fmt.Sprintf("limit must be 1 to %d", store.MaxAuditLimit))
	}
	return c.st.ListAudit(ctx, f)
}
