package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hookhost/hookhost/host/store"
)

const automationCols = `id, name, extension_id, description, script, policy_kata, revision, owner, created_at, updated_at`

func scanAutomation(r rowScanner) (*store.Automation, error) {
	var a store.Automation
	err := r.Scan(&a.ID, &a.Name, &a.ExtensionID, &a.Description, &a.Script, &a.PolicyKATA,
		&a.Revision, &a.Owner, timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// insertAutomation inserts a with revision 1. The database assigns the ID;
// CreatedAt is kept when set, else now; UpdatedAt is CreatedAt. The filled
// fields are written to a only when the insert succeeds.
func (s *Store) insertAutomation(ctx context.Context, q querier, a *store.Automation) error {
	if !store.ValidName(a.Name) {
		return invalid("automation name", a.Name)
	}
	if !store.ValidName(a.Owner) {
		return invalid("owner", a.Owner)
	}
	created := now()
	if !a.CreatedAt.IsZero() {
		created = norm(a.CreatedAt)
	}
	var id int64
	err := q.QueryRowContext(ctx, `
		INSERT INTO automations (name, extension_id, description, script, policy_kata, revision, owner, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)
		RETURNING id`,
		a.Name, s.bytes(a.ExtensionID), s.bytes(a.Description), s.bytes(a.Script), s.bytes(a.PolicyKATA), a.Owner, s.tm(created),
	).Scan(&id)
	if err != nil {
		return s.classify(err)
	}
	a.ID, a.Revision, a.CreatedAt, a.UpdatedAt = id, 1, created, created
	return nil
}

// updateAutomation replaces the fields of the automation named a.Name
// (when ifRevision is 0 or its revision), adds one to its revision and
// fills ID, Revision, CreatedAt and UpdatedAt on a.
func (s *Store) updateAutomation(ctx context.Context, q querier, a *store.Automation, ifRevision int64) error {
	if !store.ValidName(a.Name) {
		return store.ErrNotFound
	}
	if !store.ValidName(a.Owner) {
		return invalid("owner", a.Owner)
	}
	updated := now()
	got, err := scanAutomation(q.QueryRowContext(ctx, `
		UPDATE automations
		SET extension_id = $2, description = $3, script = $4, policy_kata = $5, owner = $6,
		    revision = revision + 1, updated_at = $7
		WHERE name = $1 AND (CAST($8 AS BIGINT) = 0 OR revision = $8)
		RETURNING `+automationCols,
		a.Name, s.bytes(a.ExtensionID), s.bytes(a.Description), s.bytes(a.Script), s.bytes(a.PolicyKATA), a.Owner,
		s.tm(updated), ifRevision))
	if err != nil {
		return s.missing(ctx, q, err, ifRevision, `SELECT revision FROM automations WHERE name = $1`, a.Name)
	}
	a.ID, a.Revision, a.CreatedAt, a.UpdatedAt = got.ID, got.Revision, got.CreatedAt, got.UpdatedAt
	return nil
}

// deleteAutomation deletes the automation named name (when ifRevision is
// 0 or its revision) and returns its ID and revision.
func (s *Store) deleteAutomation(ctx context.Context, q querier, name string, ifRevision int64) (int64, int64, error) {
	if !store.ValidName(name) {
		return 0, 0, store.ErrNotFound
	}
	var id, rev int64
	err := q.QueryRowContext(ctx, `
		DELETE FROM automations WHERE name = $1 AND (CAST($2 AS BIGINT) = 0 OR revision = $2)
		RETURNING id, revision`, name, ifRevision).Scan(&id, &rev)
	if err != nil {
		return 0, 0, s.missing(ctx, q, err, ifRevision, `SELECT revision FROM automations WHERE name = $1`, name)
	}
	return id, rev, nil
}

// missing classifies the error of a conditional UPDATE or DELETE that may
// have matched no row: ErrRevision when the record exists (at another
// revision than ifRevision), else ErrNotFound. Other errors are
// classified as they are.
func (s *Store) missing(ctx context.Context, q querier, err error, ifRevision int64, revQuery string, key any) error {
	if !errors.Is(err, sql.ErrNoRows) {
		return s.classify(err)
	}
	var rev int64
	if ifRevision != 0 && q.QueryRowContext(ctx, revQuery, key).Scan(&rev) == nil {
		return fmt.Errorf("%w: it is at revision %d, not %d", store.ErrRevision, rev, ifRevision)
	}
	return store.ErrNotFound
}

// CreateAutomation inserts a, filling in its ID, Revision (1) and
// timestamps. A taken name is ErrConflict, a name store.ValidName refuses
// ErrInvalid. It writes an audit entry by store.ActorSystem.
func (s *Store) CreateAutomation(ctx context.Context, a *store.Automation) error {
	return s.applyOne(ctx, store.Change{Action: store.ActionCreate, Automation: a})
}

// UpdateAutomation replaces the fields of the automation named a.Name, adds
// one to its revision and sets UpdatedAt to now; it fills ID, Revision,
// CreatedAt and UpdatedAt on a. A missing automation is ErrNotFound. It
// writes an audit entry by store.ActorSystem.
func (s *Store) UpdateAutomation(ctx context.Context, a *store.Automation) error {
	return s.applyOne(ctx, store.Change{Action: store.ActionUpdate, Automation: a})
}

// GetAutomation returns the automation named name, or ErrNotFound.
func (s *Store) GetAutomation(ctx context.Context, name string) (*store.Automation, error) {
	if !store.ValidName(name) {
		return nil, fmt.Errorf("get automation %q: %w", name, store.ErrNotFound)
	}
	a, err := scanAutomation(s.db.QueryRowContext(ctx,
		`SELECT `+automationCols+` FROM automations WHERE name = $1`, name))
	if err != nil {
		return nil, fmt.Errorf("get automation %q: %w", name, s.classify(err))
	}
	return a, nil
}

// ListAutomations returns every automation ordered by name (bytewise).
func (s *Store) ListAutomations(ctx context.Context) ([]*store.Automation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+automationCols+` FROM automations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list automations: %w", err)
	}
	defer rows.Close()
	var out []*store.Automation
	for rows.Next() {
		a, err := scanAutomation(rows)
		if err != nil {
			return nil, fmt.Errorf("list automations: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list automations: %w", err)
	}
	return out, nil
}

// DeleteAutomation deletes the automation named name, or returns
// ErrNotFound. It writes an audit entry by store.ActorSystem.
func (s *Store) DeleteAutomation(ctx context.Context, name string) error {
	return s.applyOne(ctx, store.Change{Action: store.ActionDelete, Automation: &store.Automation{Name: name}})
}
