package sqlstore

import (
	"context"
	"fmt"

	"github.com/hookhost/hookhost/host/store"
)

const automationCols = `id, name, extension_id, description, script, policy_kata, revision, created_at, updated_at`

func scanAutomation(r rowScanner) (*store.Automation, error) {
	var a store.Automation
	err := r.Scan(&a.ID, &a.Name, &a.ExtensionID, &a.Description, &a.Script, &a.PolicyKATA,
		&a.Revision, timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt})
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
	created := now()
	if !a.CreatedAt.IsZero() {
		created = norm(a.CreatedAt)
	}
	var id int64
	err := q.QueryRowContext(ctx, `
		INSERT INTO automations (name, extension_id, description, script, policy_kata, revision, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 1, $6, $6)
		RETURNING id`,
		a.Name, s.bytes(a.ExtensionID), s.bytes(a.Description), s.bytes(a.Script), s.bytes(a.PolicyKATA), s.tm(created),
	).Scan(&id)
	if err != nil {
		return s.classify(err)
	}
	a.ID, a.Revision, a.CreatedAt, a.UpdatedAt = id, 1, created, created
	return nil
}

// CreateAutomation inserts a, filling in its ID, Revision (1) and
// timestamps. A taken name is ErrConflict, a name store.ValidName refuses
// ErrInvalid.
func (s *Store) CreateAutomation(ctx context.Context, a *store.Automation) error {
	if err := s.wrote(s.insertAutomation(ctx, s.db, a)); err != nil {
		return fmt.Errorf("create automation %q: %w", a.Name, err)
	}
	return nil
}

// UpdateAutomation replaces the fields of the automation named a.Name, adds
// one to its revision and sets UpdatedAt to now; it fills ID, Revision,
// CreatedAt and UpdatedAt on a. A missing automation is ErrNotFound.
func (s *Store) UpdateAutomation(ctx context.Context, a *store.Automation) error {
	if !store.ValidName(a.Name) {
		return fmt.Errorf("update automation %q: %w", a.Name, store.ErrNotFound)
	}
	updated := now()
	got, err := scanAutomation(s.db.QueryRowContext(ctx, `
		UPDATE automations
		SET extension_id = $2, description = $3, script = $4, policy_kata = $5,
		    revision = revision + 1, updated_at = $6
		WHERE name = $1
		RETURNING `+automationCols,
		a.Name, s.bytes(a.ExtensionID), s.bytes(a.Description), s.bytes(a.Script), s.bytes(a.PolicyKATA), s.tm(updated)))
	if err := s.wrote(s.classify(err)); err != nil {
		return fmt.Errorf("update automation %q: %w", a.Name, err)
	}
	a.ID, a.Revision, a.CreatedAt, a.UpdatedAt = got.ID, got.Revision, got.CreatedAt, got.UpdatedAt
	return nil
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
// ErrNotFound.
func (s *Store) DeleteAutomation(ctx context.Context, name string) error {
	if !store.ValidName(name) {
		return fmt.Errorf("delete automation %q: %w", name, store.ErrNotFound)
	}
	if err := s.deleteOne(ctx, `DELETE FROM automations WHERE name = $1`, name); err != nil {
		return fmt.Errorf("delete automation %q: %w", name, err)
	}
	return nil
}

// deleteOne runs a DELETE and returns ErrNotFound when it deleted nothing.
func (s *Store) deleteOne(ctx context.Context, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return s.wrote(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	s.wrote(nil)
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
