//go:build unix

package plugins

import (
	"os"
	"syscall"
)

// killOwnGroup kills the process group of the process, itself included,
// when the process leads it (the host starts every extension in a group of
// its own): so the children an extension started die with it. A process
// that does not lead its group (started by a wrapper script, or by a host
// that shares its group) leaves the group alone.
func killOwnGroup() {
	if pid := os.Getpid(); syscall.Getpgrp() == pid {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
