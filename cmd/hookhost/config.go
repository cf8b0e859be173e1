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
		Long: `Check a configuration file as hookhost serve --config reads it. Every
problem is listed with its file:line:col; the exit status is non-zero when
there is one.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			serve := newServeCmd().Flags()
			entries, err := readConfigFile(args[0], serve, newServeCmd().Flags())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d settings)\n", args[0], len(entries))
			return err
		},
	})
	return cmd
}
