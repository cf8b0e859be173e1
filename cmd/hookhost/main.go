// Command hookhost is the hookhost server and its command-line client.
//
//	hookhost serve                      start the server
//	hookhost import FILE|NAME           import a package
//	hookhost webhook create|list|...    manage webhooks
//	hookhost automation list|show|apply manage automations
//	hookhost run list|show              inspect run history
//	hookhost request list|show|replay|explain  inspect recorded requests
//	hookhost tail                       print requests and job changes as they happen
//	hookhost dry-run WEBHOOK_ID         what a webhook does with a request, without side effects
//	hookhost verify-lab WEBHOOK_ID      requests that pass a webhook's verify blocks
//	hookhost job list|show|logs -f      inspect durable jobs
//	hookhost version                    the client's and the server's version
//
// Exit statuses: 0 success, 1 failure, 2 usage, 3 not found, 4 auth,
// 5 cannot connect (see hookhost --help).
//
// Every flag has a HOOKHOST_* environment variable; see --help.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit status (see
// exitStatusHelp). Errors are written to stderr; a usage error points to
// the command's help.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetIn(stdin)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "hookhost:", err)
	code := exitCode(err)
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}
