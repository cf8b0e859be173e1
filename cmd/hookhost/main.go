// Command hookhost is the hookhost server and its command-line client.
//
//	hookhost serve                      start the server
//	hookhost import FILE|NAME           import a package
//	hookhost webhook create|list|...    manage webhooks
//	hookhost automation list|show|apply manage automations
//	hookhost run list|show              inspect run history
//
// Every flag has a HOOKHOST_* environment variable; see --help.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookhost:", err)
		os.Exit(1)
	}
}
