package main

import (
	"log/slog"
	"net"
	"path/filepath"

	"github.com/hookhost/hookhost/host"
	"github.com/hookhost/hookhost/host/api"
)

// publishServerURL writes the admin API's URL to <data dir>/server.url,
// where client commands look for the server when --server and
// HOOKHOST_SERVER are not given (as they find admin.token), and returns
// the function that removes it at shutdown. A server on another port (an
// admin listener of its own) is then found without telling every command.
func publishServerURL(cfg host.Config, log *slog.Logger, ln, adminLn net.Listener) (remove func()) {
	listen, addr := cfg.Listen, ln.Addr()
	if adminLn != nil {
		listen, addr = cfg.AdminListen, adminLn.Addr()
	}
	url, _ := api.LocalURL(listen, addr, cfg.TLSCert != "")
	if err := api.WriteServerURL(cfg.DataDir, url); err != nil {
		log.Warn("cannot write the server's URL for the CLI; client commands need --server", "file",
			filepath.Join(cfg.DataDir, api.ServerURLFile), "error", err)
		return func() {}
	}
	return func() { _ = api.RemoveServerURL(cfg.DataDir, url) }
}
