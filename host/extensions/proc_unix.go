//go:build unix

package extensions

import (
	"errors"
	"syscall"
)

// killGroup sends SIGKILL to the process group pgid (an extension process
// and every descendant that stayed in its group).
func killGroup(pgid int) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// textBusy reports whether exec failed because the binary is open for
// writing.
func textBusy(err error) bool { return errors.Is(err, syscall.ETXTBSY) }
