package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/plugins"
	"github.com/hookhost/hookhost/plugins/webhook"
)

// newExtServeCmd is the hidden `hookhost ext serve NAME`: the server starts
// built-in extensions by re-executing its own binary with it.
func newExtServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "serve NAME",
		Short:  "Serve a built-in extension over go-plugin (started by the server)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			switch args[0] {
			case "webhook":
				allow, _ := strconv.ParseBool(os.Getenv(webhook.EnvAllowPrivateRequests))
				plugins.Serve(webhook.NewWithOptions(webhook.Options{AllowPrivateRequests: allow})) // never returns
			}
			return fmt.Errorf("no built-in extension %q (built-ins: webhook)", args[0])
		},
	}
}
