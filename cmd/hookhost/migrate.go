package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host"
)

func newMigrateCmd() *cobra.Command {
	var cfg host.Config
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		Long: `Apply the database schema migrations and exit. hookhost serve migrates at
start-up too; run this first when several servers share one PostgreSQL
database, so that the upgrade happens once. A database whose schema is newer
than this binary is refused. It reads only --data-dir and --database; on
SQLite it refuses while a server runs on the database file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := host.Migrate(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "database is at schema version %d\n", v)
			return nil
		},
	}
	fs := cmd.Flags()
	stringFlag(fs, &cfg.DataDir, "data-dir", "HOOKHOST_DATA_DIR", "./data", "data directory (SQLite database)")
	stringFlag(fs, &cfg.Database, "database", "HOOKHOST_DATABASE", "", "database: empty for SQLite in the data dir, a file path, or a postgres:// URL")
	return cmd
}
