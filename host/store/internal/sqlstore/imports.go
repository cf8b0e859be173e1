package sqlstore

import (
	"context"
	"fmt"

	"github.com/hookhost/hookhost/host/store"
)

// ApplyImport writes the import record, every automation and every webhook
// of plan in one transaction (ApplyChanges by store.ActorSystem), filling
// in IDs, revisions and timestamps as the Create methods do. On any error
// nothing is written, no record of plan is changed, and the error names
// the offending record, e.g. `apply import "pkg": create automation "x":
// store: already exists`.
func (s *Store) ApplyImport(ctx context.Context, plan *store.ImportPlan) error {
	imp := plan.Import
	cs := &store.ChangeSet{Actor: store.ActorSystem}
	cs.Changes = append(cs.Changes, store.Change{Action: store.ActionImport, Package: &imp})
	for _, a := range plan.Automations {
		cs.Changes = append(cs.Changes, store.Change{Action: store.ActionCreate, Automation: a})
	}
	for _, w := range plan.Webhooks {
		cs.Changes = append(cs.Changes, store.Change{Action: store.ActionCreate, Webhook: w})
	}
	if err := s.ApplyChanges(ctx, cs); err != nil {
		return fmt.Errorf("apply import %q: %w", plan.Import.Name, err)
	}
	plan.Import = imp
	return nil
}

// insertImport inserts p, filling in its ID (a UUIDv7 when empty) and
// CreatedAt (kept when set, else now). Revision is stored as given.
func (s *Store) insertImport(ctx context.Context, q querier, p *store.PackageImport) error {
	if !store.ValidName(p.Name) {
		return invalid("package name", p.Name)
	}
	if !store.ValidName(p.ID) {
		return invalid("import id", p.ID)
	}
	id := p.ID
	if id == "" {
		var err error
		if id, err = newID(); err != nil {
			return err
		}
	}
	created := now()
	if !p.CreatedAt.IsZero() {
		created = norm(p.CreatedAt)
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO package_imports (id, name, revision, result, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		id, p.Name, p.Revision, p.Result, s.tm(created))
	if err != nil {
		return s.classify(err)
	}
	p.ID, p.CreatedAt = id, created
	return nil
}

const importCols = `id, name, revision, result, created_at`

func scanImport(r rowScanner) (*store.PackageImport, error) {
	var p store.PackageImport
	if err := r.Scan(&p.ID, &p.Name, &p.Revision, blobCol{&p.Result}, timeCol{&p.CreatedAt}); err != nil {
		return nil, err
	}
	return &p, nil
}

// latestImport reads the newest import of the package called name
// (sql.ErrNoRows when there is none).
func latestImport(ctx context.Context, q querier, name string) (*store.PackageImport, error) {
	return scanImport(q.QueryRowContext(ctx, `SELECT `+importCols+` FROM package_imports
		WHERE name = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, name))
}

// LatestImport returns the newest import of the package called name, or
// ErrNotFound.
func (s *Store) LatestImport(ctx context.Context, name string) (*store.PackageImport, error) {
	if !store.ValidName(name) {
		return nil, fmt.Errorf("latest import of %q: %w", name, store.ErrNotFound)
	}
	p, err := latestImport(ctx, s.db, name)
	if err != nil {
		return nil, fmt.Errorf("latest import of %q: %w", name, s.classify(err))
	}
	return p, nil
}

// ListImports returns every package import in creation order.
func (s *Store) ListImports(ctx context.Context) ([]*store.PackageImport, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, name, revision, result, created_at FROM package_imports ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	defer rows.Close()
	var out []*store.PackageImport
	for rows.Next() {
		var p store.PackageImport
		if err := rows.Scan(&p.ID, &p.Name, &p.Revision, blobCol{&p.Result}, timeCol{&p.CreatedAt}); err != nil {
			return nil, fmt.Errorf("list imports: %w", err)
		}
		out = append(out, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	return out, nil
}
