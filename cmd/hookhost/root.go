package main

import (
	"errors"
	"fmt"
	"io"
	"os"
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
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	cl := &clientFlags{}
	root.AddCommand(
		newServeCmd(),
		newMigrateCmd(),
		newImportCmd(cl),
		newExportCmd(cl),
		newApplyCmd(cl),
		newAuditCmd(cl),
		newWebhookCmd(cl),
		newAutomationCmd(cl),
		newRunCmd(cl),
		newRequestCmd(cl),
		newTailCmd(cl),
		newDryRunCmd(cl),
		newVerifyLabCmd(cl),
		newJobCmd(cl),
		newScheduleCmd(cl),
		newSubscriptionCmd(cl),
		newSecretCmd(cl),
		newExtCmd(cl),
		newConfigCmd(),
		newVersionCmd(cl),
	)
	finishCommands(root)
	return root
}

// envAnnotation is the pflag annotation that names a flag's environment
// variable.
const envAnnotation = "hookhost_env"

// envFlag records env as the environment variable of flag name and mentions
// it in the usage text. applyEnv sets the flag from it.
func envFlag(fs *pflag.FlagSet, name, env string) {
	f := fs.Lookup(name)
	f.Usage += " (env " + env + ")"
	_ = fs.SetAnnotation(name, envAnnotation, []string{env})
}

// stringFlag defines a string flag that env can set.
func stringFlag(fs *pflag.FlagSet, p *string, name, env, def, usage string) {
	fs.StringVar(p, name, def, usage)
	envFlag(fs, name, env)
}

// intFlag defines an int flag that env can set.
func intFlag(fs *pflag.FlagSet, p *int, name, env string, def int, usage string) {
	*p = def
	fs.Var(intValue{p}, name, usage)
	envFlag(fs, name, env)
}

// sizeFlag defines a size in bytes (1048576, 512KiB, 4MB) that env can
// set.
func sizeFlag(fs *pflag.FlagSet, p *int, name, env string, def int, usage string) {
	*p = def
	fs.Var(sizeValue{p}, name, usage)
	envFlag(fs, name, env)
}

// floatFlag defines a float64 flag that env can set.
func floatFlag(fs *pflag.FlagSet, p *float64, name, env string, def float64, usage string) {
	*p = def
	fs.Var(floatValue{p}, name, usage)
	envFlag(fs, name, env)
}

// durationFlag defines a duration flag that env can set.
func durationFlag(fs *pflag.FlagSet, p *time.Duration, name, env string, def time.Duration, usage string) {
	*p = def
	fs.Var(durationValue{p}, name, usage)
	envFlag(fs, name, env)
}

// boolFlag defines a bool flag, defaulting to *p, that env can set.
func boolFlag(fs *pflag.FlagSet, p *bool, name, env, usage string) {
	fs.Var(boolValue{p}, name, usage) // the default is the field's value (host.DefaultConfig)
	fs.Lookup(name).NoOptDefVal = "true"
	envFlag(fs, name, env)
}

// applyEnv sets every flag of cmd that was not given on the command line
// from its environment variable, if that is set. A value the flag cannot
// parse is an error naming the variable.
func applyEnv(cmd *cobra.Command) error {
	var errs []error
	visit := func(f *pflag.Flag) {
		envs := f.Annotations[envAnnotation]
		if f.Changed || len(envs) == 0 {
			return
		}
		v, ok := os.LookupEnv(envs[0])
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q (for --%s): %w", envs[0], v, f.Name, err))
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	return errors.Join(errs...)
}
