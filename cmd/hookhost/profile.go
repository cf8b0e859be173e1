package main

import (
	"log/slog"
	"os"
	"runtime/pprof"
)

// startCPUProfile writes a CPU profile of the server to path until the
// returned function is called; with an empty path it does nothing. It is
// for the load run (bench/ sets HOOKHOST_CPUPROFILE, see
// plugins.EnvCPUProfile).
func startCPUProfile(path string, log *slog.Logger) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path + ".serve.pprof")
	if err != nil {
		log.Warn("no CPU profile", "err", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Warn("no CPU profile", "err", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
