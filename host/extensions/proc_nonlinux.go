//go:build unix && !linux

package extensions

import "syscall"

// sysProcAttr puts an extension process in a process group of its own.
// There is no parent-death signal outside Linux: extensions built with
// plugins.Serve notice that the host died and exit by themselves.
func sysProcAttr(bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
