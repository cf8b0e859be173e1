package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/hookhost/hookhost/host/api"
)

// versionInfo is what `hookhost version -o json` prints.
type versionInfo struct {
	Client api.Version  `json:"client"`
	Server *api.Version `json:"server,omitempty"`
	// ServerError says why the server's version is missing.
	ServerError string `json:"server_error,omitempty"`
}

// newVersionCmd is `hookhost version`: the CLI's version and, when the
// server answers, the server's (GET /api/v1/version).
func newVersionCmd(cl *clientFlags) *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the version of this hookhost and of the server it talks to",
		Long: `Show the version of this hookhost binary and, when the server answers, the
server's (GET /api/v1/version, with the admin token). An unreachable server
is reported but is not a failure: the client's version is always shown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cl.output != "table" && cl.output != "json" {
				return usagef("--output %q: want table or json", cl.output)
			}
			info := versionInfo{Client: api.Version{Version: version, GoVersion: runtime.Version()}}
			if !clientOnly {
				if c, err := cl.client(cmd); err != nil {
					info.ServerError = err.Error()
				} else {
					var v api.Version
					if err := c.do("GET", "/api/v1/version", "", nil, &v); err != nil {
						info.ServerError = err.Error()
					} else {
						info.Server = &v
					}
				}
			}
			out := cmd.OutOrStdout()
			if cl.output == "json" {
				b, err := json.MarshalIndent(info, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(out, "%s\n", b)
				return err
			}
			fmt.Fprintf(out, "client: %s (%s)\n", info.Client.Version, info.Client.GoVersion)
			switch {
			case info.Server != nil:
				fmt.Fprintf(out, "server: %s (%s)\n", info.Server.Version, info.Server.GoVersion)
			case info.ServerError != "":
				fmt.Fprintf(cmd.ErrOrStderr(), "server: unknown: %s\n", info.ServerError)
			}
			return nil
		},
	}
	cl.register(cmd)
	cmd.Flags().BoolVar(&clientOnly, "client", false, "show only the client's version; do not call the server")
	return cmd
}
