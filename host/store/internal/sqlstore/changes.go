package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/host/store"
)

// ApplyChanges applies every change of cs in one transaction, writing one
// audit entry per change, or nothing. The records of the changes are
// filled in (IDs, revisions, timestamps) only when it succeeds. An error
// names the change that failed, e.g. `update automation "x": store: the
// record changed since it was read`.
func (s *Store) ApplyChanges(ctx context.Context, cs *store.ChangeSet) error {
	work := copyChanges(cs.Changes)
	err := s.wrote(s.inTx(ctx, func(tx *sql.Tx) error {
		return s.applyChanges(ctx, tx, cs.Actor, work)
	}))
	if err != nil {
		return err
	}
	copyBack(cs.Changes, work)
	return nil
}

// applyOne is ApplyChanges of one change by store.ActorSystem, for the
// Create, Update and Delete methods.
func (s *Store) applyOne(ctx context.Context, c store.Change) error {
	return s.ApplyChanges(ctx, &store.ChangeSet{Actor: store.ActorSystem, Changes: []store.Change{c}})
}

// copyChanges returns changes with copies of their records, so that a
// failed transaction leaves the caller's records as they were.
func copyChanges(in []store.Change) []store.Change {
	out := make([]store.Change, len(in))
	for i, c := range in {
		if c.Automation != nil {
			a := *c.Automation
			c.Automation = &a
		}
		if c.Webhook != nil {
			w := *c.Webhook
			c.Webhook = &w
		}
		if c.Secret != nil {
			sec := *c.Secret
			c.Secret = &sec
		}
		if c.Package != nil {
			p := *c.Package
			c.Package = &p
		}
		out[i] = c
	}
	return out
}

// copyBack writes the filled-in copies into the caller's records.
func copyBack(dst, src []store.Change) {
	for i, c := range dst {
		switch {
		case c.Automation != nil:
			*c.Automation = *src[i].Automation
		case c.Webhook != nil:
			*c.Webhook = *src[i].Webhook
		case c.Package != nil:
			*c.Package = *src[i].Package
		}
	}
}

// applyChanges applies the changes in tx.
func (s *Store) applyChanges(ctx context.Context, tx *sql.Tx, actor string, changes []store.Change) error {
	at := now()
	for i := range changes {
		c := &changes[i]
		e, err := s.applyChange(ctx, tx, c)
		if err != nil {
			return fmt.Errorf("%s: %w", changeLabel(c), err)
		}
		e.At, e.Actor, e.Detail = at, actor, c.Detail
		if c.Actor != "" {
			e.Actor = c.Actor
		}
		if err := s.insertAudit(ctx, tx, e); err != nil {
			return fmt.Errorf("%s: audit: %w", changeLabel(c), err)
		}
	}
	return nil
}

// changeLabel names a change in errors: `create automation "x"`.
func changeLabel(c *store.Change) string {
	switch {
	case c.Automation != nil:
		return fmt.Sprintf("%s automation %q", c.Action, c.Automation.Name)
	case c.Webhook != nil:
		if c.Action == store.ActionCreate {
			return fmt.Sprintf("%s webhook %q", c.Action, c.Webhook.Name)
		}
		return fmt.Sprintf("%s webhook %q", c.Action, c.Webhook.ID)
	case c.Secret != nil:
		return fmt.Sprintf("%s secret %q", c.Action, c.Secret.Name)
	case c.Package != nil:
		return fmt.Sprintf("%s package %q", c.Action, c.Package.Name)
	case c.Record != nil:
		return fmt.Sprintf("%s %s %q", c.Action, c.Record.Kind, c.Record.Name)
	}
	return c.Action
}

// errNoRecord refuses a change that names no record, or more than one.
var errNoRecord = fmt.Errorf("%w: a change needs exactly one record", store.ErrInvalid)

// applyChange writes one change and returns its audit entry (without time,
// actor and detail).
func (s *Store) applyChange(ctx context.Context, tx *sql.Tx, c *store.Change) (*store.AuditEntry, error) {
	n := 0
	for _, set := range []bool{c.Automation != nil, c.Webhook != nil, c.Secret != nil, c.Package != nil, c.Record != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errNoRecord
	}
	switch {
	case c.Automation != nil:
		return s.changeAutomation(ctx, tx, c)
	case c.Webhook != nil:
		return s.changeWebhook(ctx, tx, c)
	case c.Secret != nil:
		return s.changeSecret(ctx, tx, c)
	case c.Record != nil:
		return s.changeRecord(ctx, tx, c)
	default:
		return s.changePackage(ctx, tx, c)
	}
}

// badAction refuses an action a kind does not have.
func badAction(kind, action string) error {
	return fmt.Errorf("%w: no action %q on a %s", store.ErrInvalid, action, kind)
}

func (s *Store) changeAutomation(ctx context.Context, tx *sql.Tx, c *store.Change) (*store.AuditEntry, error) {
	a := c.Automation
	e := &store.AuditEntry{Kind: store.KindAutomation, Name: a.Name, Action: c.Action}
	switch c.Action {
	case store.ActionCreate:
		if err := s.insertAutomation(ctx, tx, a); err != nil {
			return nil, err
		}
		e.NewRevision = a.Revision
	case store.ActionUpdate:
		if err := s.updateAutomation(ctx, tx, a, c.IfRevision); err != nil {
			return nil, err
		}
		e.OldRevision, e.NewRevision = a.Revision-1, a.Revision
	case store.ActionDelete:
		id, rev, err := s.deleteAutomation(ctx, tx, a.Name, c.IfRevision)
		if err != nil {
			return nil, err
		}
		a.ID, a.Revision = id, rev
		e.OldRevision = rev
	default:
		return nil, badAction(store.KindAutomation, c.Action)
	}
	e.RecordID = strconv.FormatInt(a.ID, 10)
	return e, nil
}

func (s *Store) changeWebhook(ctx context.Context, tx *sql.Tx, c *store.Change) (*store.AuditEntry, error) {
	w := c.Webhook
	e := &store.AuditEntry{Kind: store.KindWebhook, Action: c.Action}
	switch c.Action {
	case store.ActionCreate:
		if err := s.insertWebhook(ctx, tx, w); err != nil {
			return nil, err
		}
		e.NewRevision = w.Revision
	case store.ActionUpdate, store.ActionRotate:
		if err := s.updateWebhook(ctx, tx, w, c.IfRevision); err != nil {
			return nil, err
		}
		e.OldRevision, e.NewRevision = w.Revision-1, w.Revision
	case store.ActionDelete:
		name, rev, err := s.deleteWebhook(ctx, tx, w.ID, c.IfRevision)
		if err != nil {
			return nil, err
		}
		w.Name, w.Revision = name, rev
		e.OldRevision = rev
	default:
		return nil, badAction(store.KindWebhook, c.Action)
	}
	e.Name, e.RecordID = w.Name, w.ID
	return e, nil
}

func (s *Store) changeSecret(ctx context.Context, tx *sql.Tx, c *store.Change) (*store.AuditEntry, error) {
	sec := c.Secret
	if !store.ValidName(sec.Name) {
		return nil, invalid("secret name", sec.Name)
	}
	if !store.ValidName(sec.Owner) {
		return nil, invalid("owner", sec.Owner)
	}
	e := &store.AuditEntry{Kind: store.KindSecret, Name: sec.Name, Action: c.Action}
	ns, key := s.bytes(store.SecretsNamespace), s.bytes(sec.Name)
	switch c.Action {
	case store.ActionPut:
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM kv WHERE ns = $1 AND key = $2`, ns, key).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			e.Action = store.ActionCreate
		case err != nil:
			return nil, err
		default:
			e.Action = store.ActionUpdate
		}
		value := sec.Sealed
		if value == nil {
			value = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO kv (ns, key, value, expires_at, owner) VALUES ($1, $2, $3, NULL, $4)
			ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = NULL, owner = excluded.owner`,
			ns, key, value, sec.Owner); err != nil {
			return nil, s.classify(err)
		}
	case store.ActionDelete:
		res, err := tx.ExecContext(ctx, `DELETE FROM kv WHERE ns = $1 AND key = $2`, ns, key)
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n == 0 {
			return nil, store.ErrNotFound
		}
	default:
		return nil, badAction(store.KindSecret, c.Action)
	}
	return e, nil
}

func (s *Store) changeRecord(ctx context.Context, tx *sql.Tx, c *store.Change) (*store.AuditEntry, error) {
	r := c.Record
	if r.Write == nil || r.Kind == "" {
		return nil, errNoRecord
	}
	if !store.ValidName(r.Name) || !store.ValidName(r.RecordID) {
		return nil, invalid(r.Kind+" name", r.Name)
	}
	if err := r.Write(ctx, tx); err != nil {
		return nil, s.classify(err)
	}
	return &store.AuditEntry{Kind: r.Kind, Name: r.Name, RecordID: r.RecordID, Action: c.Action}, nil
}

func (s *Store) changePackage(ctx context.Context, tx *sql.Tx, c *store.Change) (*store.AuditEntry, error) {
	p := c.Package
	if c.Action != store.ActionImport && c.Action != store.ActionUpgrade {
		return nil, badAction(store.KindPackage, c.Action)
	}
	if !store.ValidName(p.Name) {
		return nil, invalid("package name", p.Name)
	}
	if s.d.Name == "postgres" {
		// Serialise the imports of one package across servers: the check
		// below and the insert must not interleave with another's.
		h := fnv.New64a()
		h.Write([]byte("hookhost package " + p.Name))
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
			return nil, err
		}
	}
	prev, err := latestImport(ctx, tx, p.Name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		prev = nil
	case err != nil:
		return nil, err
	}
	switch {
	case c.Action == store.ActionImport && prev != nil:
		return nil, fmt.Errorf("%w: it was imported before, at revision %d", store.ErrRevision, prev.Revision)
	case c.Action == store.ActionUpgrade && prev == nil:
		return nil, fmt.Errorf("%w: it was never imported", store.ErrRevision)
	case c.Action == store.ActionUpgrade && c.IfRevision != 0 && prev.Revision != c.IfRevision:
		return nil, fmt.Errorf("%w: its latest import is at revision %d, not %d", store.ErrRevision, prev.Revision, c.IfRevision)
	}
	if err := s.insertImport(ctx, tx, p); err != nil {
		return nil, err
	}
	e := &store.AuditEntry{Kind: store.KindPackage, Name: p.Name, RecordID: p.ID, Action: c.Action, NewRevision: p.Revision}
	if prev != nil {
		e.OldRevision = prev.Revision
	}
	return e, nil
}

// insertAudit writes an audit entry.
func (s *Store) insertAudit(ctx context.Context, q querier, e *store.AuditEntry) error {
	if !store.ValidName(e.Actor) {
		return invalid("actor", e.Actor)
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO audit (at, actor, kind, name, record_id, action, old_revision, new_revision, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.tm(e.At), e.Actor, e.Kind, e.Name, e.RecordID, e.Action, e.OldRevision, e.NewRevision, s.bytes(e.Detail))
	return err
}

// ListAudit returns the audit entries f selects, newest first.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]*store.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = store.DefaultAuditLimit
	}
	limit = min(limit, store.MaxAuditLimit)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	if f.Name != "" {
		if !store.ValidName(f.Name) {
			return []*store.AuditEntry{}, nil
		}
		p := arg(f.Name)
		where = append(where, "(name = "+p+" OR record_id = "+p+")")
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+arg(s.tm(f.Since)))
	}
	if f.BeforeID > 0 {
		where = append(where, "id < "+arg(f.BeforeID))
	}
	q := `SELECT id, at, actor, kind, name, record_id, action, old_revision, new_revision, detail FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT " + arg(limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	out := []*store.AuditEntry{}
	for rows.Next() {
		var e store.AuditEntry
		if err := rows.Scan(&e.ID, timeCol{&e.At}, &e.Actor, &e.Kind, &e.Name, &e.RecordID, &e.Action,
			&e.OldRevision, &e.NewRevision, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// SecretOwners returns the owner of every secret that has one.
func (s *Store) SecretOwners(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, owner FROM kv WHERE ns = $1 AND owner <> ''`, s.bytes(store.SecretsNamespace))
	if err != nil {
		return nil, fmt.Errorf("secret owners: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, o string
		if err := rows.Scan(&k, &o); err != nil {
			return nil, fmt.Errorf("secret owners: %w", err)
		}
		out[k] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("secret owners: %w", err)
	}
	return out, nil
}
