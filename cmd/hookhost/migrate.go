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
than this binary is refused. It reads only --data-dir and --database, from
the flags, then HOOKHOST_* variables, then serve's configuration file named
by --config (HOOKHOST_CONFIG), as serve does; on SQLite it refuses while a
server runs on the database file. It prints the database it migrated (a
URL without its password).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := applyConfigFile(cmd)
			if err != nil {
				return err
			}
			v, err := host.Migrate(cmd.Context(), cfg)
			if err != nil {
				return from.place(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "database %s is at schema version %d\n", host.DatabaseName(cfg), v)
			return nil
		},
	}
	fs := cmd.Flags()
	var configPath string
	stringFlag(fs, &configPath, configFlag, "HOOKHOST_CONFIG", "", "serve's YAML file of settings, of which migrate reads data-dir and database (flags and HOOKHOST_* variables win over it)")
	stringFlag(fs, &cfg.DataDir, "data-dir", "HOOKHOST_DATA_DIR", "./data", "data directory (SQLite database)")
	stringFlag(fs, &cfg.Database, "database", "HOOKHOST_DATABASE", "", "database: empty for SQLite in the data dir, a file path, or a postgres:// URL")
	return cmd
}
