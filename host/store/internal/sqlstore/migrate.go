package sqlstore

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"
)

// Migrate applies p's pending migrations. It refuses a database whose
// schema is newer than the newest migration this binary knows: an older
// hookhost must not run against (and possibly corrupt) a newer schema.
func Migrate(ctx context.Context, p *goose.Provider) error {
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	var newest int64
	for _, s := range p.ListSources() {
		newest = max(newest, s.Version)
	}
	if current > newest {
		return fmt.Errorf("the database schema is at version %d, newer than this hookhost binary knows (%d): upgrade hookhost", current, newest)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
