package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newConfigCmd is `hookhost config`: checking configuration files.
func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check the server's configuration file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Check a configuration file: every key a setting of hookhost serve, every value valid",
		Long: `Check a configuration file as hookhost serve --config reads it: every key
a setting of serve, every value one serve accepts, alone and with the
others (the checks serve makes before it binds a port; the defaults stand
for the settings the file leaves out, HOOKHOST_* variables are not read).
Every problem is listed with its file:line:col; the exit status is non-zero
when there is one. Not checked: what only a start finds (a port in use,
TLS files, the database).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			serve, check := serveCommand()
			fs := serve.Flags()
			// The file's values are set on serve's flags as they are
			// read (the probe), for check.
			entries, err := readConfigFile(args[0], fs, fs)
			if err != nil {
				return err
			}
			if err := check(); err != nil {
				return fileSettings{path: args[0], entries: entries}.place(err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d settings)\n", args[0], len(entries))
			return err
		},
	})
	return cmd
}
