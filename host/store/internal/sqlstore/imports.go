package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookhost/hookhost/host/store"
)

// ApplyImport writes the import record, every automation and every webhook
// of plan in one transaction, filling in IDs, revisions and timestamps as
// the Create methods do. On any error nothing is written, no record of plan
// is changed, and the error names the offending record, e.g.
// `apply import "pkg": automation "x": store: already exists`.
func (s *Store) ApplyImport(ctx context.Context, plan *store.ImportPlan) error {
	// Work on copies so that a rolled-back import leaves plan untouched.
	imp := plan.Import
	autos := make([]store.Automation, len(plan.Automations))
	for i, a := range plan.Automations {
		autos[i] = *a
	}
	hooks := make([]store.Webhook, len(plan.Webhooks))
	for i, w := range plan.Webhooks {
		hooks[i] = *w
	}
	err := s.wrote(s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertImport(ctx, tx, &imp); err != nil {
			return fmt.Errorf("import record: %w", err)
		}
		for i := range autos {
			if err := s.insertAutomation(ctx, tx, &autos[i]); err != nil {
				return fmt.Errorf("automation %q: %w", autos[i].Name, err)
			}
		}
		for i := range hooks {
			if err := s.insertWebhook(ctx, tx, &hooks[i]); err != nil {
				return fmt.Errorf("webhook %q: %w", hooks[i].Name, err)
			}
		}
		return nil
	}))
	if err != nil {
		return fmt.Errorf("apply import %q: %w", plan.Import.Name, err)
	}
	plan.Import = imp
	for i, a := range plan.Automations {
		*a = autos[i]
	}
	for i, w := range plan.Webhooks {
		*w = hooks[i]
	}
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
