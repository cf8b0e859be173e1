package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses of hookhost. The root command's help lists them
// (exitStatusHelp); scripts branch on them.
const (
	exitOK       = 0
	exitFailure  = 1 // anything else
	exitUsage    = 2 // the command line is wrong
	exitNotFound = 3 // what was named does not exist
	exitAuth     = 4 // no admin token, or the server refused it
	exitConnect  = 5 // the server could not be reached
)

// exitStatusHelp ends `hookhost --help`.
const exitStatusHelp = `
Exit status:
  0  success
  1  any other failure (the server refused a request as invalid, a server error)
  2  usage: an unknown command or flag, a missing or bad argument or flag value
  3  not found: no such webhook, automation, job, run, secret, schedule, subscription or file (404)
  4  authentication: no admin token, or the server refused it (401, 403, or
     429 after repeated failures)
  5  cannot connect to the server (nothing listening there, a wrong --server,
     a TLS failure, a timeout)
`

// usageError is a mistake in how a command was called.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef is a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// ranError marks an error returned by a command's own RunE. An error
// without it came from cobra checking the command line before the command
// ran (an unknown command or flag, the arguments, a required or exclusive
// flag, an environment variable's value): a usage error.
type ranError struct{ err error }

func (e *ranError) Error() string { return e.err.Error() }
func (e *ranError) Unwrap() error { return e.err }

// exitCode is the exit status for the error a command ended with.
func exitCode(err error) int {
	var (
		ran   *ranError
		usage *usageError
		tok   *tokenError
		conn  *connError
		ae    *apiError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage), !errors.As(err, &ran):
		return exitUsage
	case errors.As(err, &tok):
		return exitAuth
	case errors.As(err, &conn):
		return exitConnect
	case errors.As(err, &ae):
		switch ae.Status {
		case http.StatusNotFound:
			return exitNotFound
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
			return exitAuth
		}
		return exitFailure
	case errors.Is(err, fs.ErrNotExist):
		return exitNotFound
	}
	return exitFailure
}

// finishCommands completes the command tree: errors from every RunE are
// marked as the command's own (ranError), a flag value that does not parse
// says what the flag wants, a command group given an unknown subcommand
// fails as a usage error instead of printing its help and succeeding, and
// the root's help ends with the exit statuses.
func finishCommands(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{flagError(err)} })
	root.SetUsageTemplate(root.UsageTemplate() + `{{if not .HasParent}}` + exitStatusHelp + `{{end}}`)
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, c := range cmd.Commands() {
			walk(c)
		}
		if cmd.HasParent() && cmd.HasSubCommands() && !cmd.Runnable() {
			cmd.Args = unknownSubcommand
			cmd.SuggestionsMinimumDistance = 2
			cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
		if run := cmd.RunE; run != nil {
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				if err := run(cmd, args); err != nil {
					return &ranError{err}
				}
				return nil
			}
		}
	}
	walk(root)
}

// unknownSubcommand refuses arguments to a command group: they can only be
// a misspelled subcommand.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return errors.New(msg)
}
