package plugins

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
)

// EnvCPUProfile names a path prefix: when it is set, an extension process
// run by Serve writes a CPU profile of its whole life to
// <prefix>.ext-<pid>.pprof (the host must pass the variable on, e.g.
// hookhost serve --extension-pass-env HOOKHOST_CPUPROFILE). hookhost's load
// run (bench/) uses it to profile the extension side of a run.
const EnvCPUProfile = "HOOKHOST_CPUPROFILE"

// startProfile starts a CPU profile to prefix's file and returns what ends
// it, or nil when prefix is empty or the profile cannot start.
func startProfile(prefix string, log *slog.Logger) func() {
	if prefix == "" {
		return nil
	}
	f, err := os.Create(fmt.Sprintf("%s.ext-%d.pprof", prefix, os.Getpid()))
	if err != nil {
		log.Warn("no CPU profile", "err", err)
		return nil
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Warn("no CPU profile", "err", err)
		_ = f.Close()
		return nil
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
