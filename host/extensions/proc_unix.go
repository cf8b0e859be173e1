//go:build unix

package extensions

import "syscall"

// killGroup sends SIGKILL to the process group pgid (an extension process
// and every descendant that stayed in its group).
func killGroup(pgid int) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
