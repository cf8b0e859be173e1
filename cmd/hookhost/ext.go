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
	var (
		gcPercent, memoryLimit int
		release                bool
	)
	cmd := &cobra.Command{
		Use:    "serve NAME",
		Short:  "Serve a built-in extension over go-plugin (started by the server)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			switch args[0] {
			case "webhook":
				applyMemorySettings(gcPercent, memoryLimit)
				adaptProcs(extensionProcs())
				if release {
					// In the background, while the handshake goes on.
					go releaseStartupMemory()
				}
				allow, _ := strconv.ParseBool(os.Getenv(webhook.EnvAllowPrivateRequests))
				plugins.Serve(webhook.NewWithOptions(webhook.Options{AllowPrivateRequests: allow})) // never returns
			}
			return fmt.Errorf("no built-in extension %q (built-ins: webhook)", args[0])
		},
	}
	// The server passes its --extension-* memory settings (host.MemorySettings.ExtensionArgs).
	fs := cmd.Flags()
	fs.Var(intValue{&gcPercent}, "gc-percent", "GOGC of this process; 0 leaves Go's (GOGC, when set, wins)")
	fs.Var(sizeValue{&memoryLimit}, "memory-limit", "soft memory limit (GOMEMLIMIT) of this process; 0: none (GOMEMLIMIT, when set, wins)")
	fs.Var(boolValue{&release}, "release-startup-memory", "return what only start-up used once started")
	fs.Lookup("release-startup-memory").NoOptDefVal = "true"
	return cmd
}
