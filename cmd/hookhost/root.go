package main

import (
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "hookhost",
		Short:         "Self-hosted webhook automation host running Cerb-style KATA automations",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	cl := &clientFlags{}
	root.AddCommand(
		newServeCmd(),
		newMigrateCmd(),
		newImportCmd(cl),
		newWebhookCmd(cl),
		newAutomationCmd(cl),
		newRunCmd(cl),
		newJobCmd(cl),
		newExtCmd(cl),
	)
	return root
}

// envDefault returns the value of the environment variable env, or def.
func envDefault(env, def string) string {
	if v, ok := os.LookupEnv(env); ok {
		return v
	}
	return def
}

func envInt(env string, def int) int {
	if v, ok := os.LookupEnv(env); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func envDuration(env string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(env); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envBool(env string) bool {
	b, _ := strconv.ParseBool(os.Getenv(env))
	return b
}

// stringFlag defines a string flag whose default comes from env.
func stringFlag(fs *pflag.FlagSet, p *string, name, env, def, usage string) {
	fs.StringVar(p, name, envDefault(env, def), usage+" (env "+env+")")
}
