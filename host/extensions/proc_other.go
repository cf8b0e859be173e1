//go:build !unix

package extensions

import (
	"os"
	"syscall"
)

// sysProcAttr sets nothing: there are no process groups here.
func sysProcAttr(bool) *syscall.SysProcAttr { return nil }

// killGroup kills the process pgid alone.
func killGroup(pgid int) {
	if p, err := os.FindProcess(pgid); err == nil {
		_ = p.Kill()
		_ = p.Release()
	}
}

// textBusy reports false: there is no ETXTBSY here.
func textBusy(error) bool { return false }
