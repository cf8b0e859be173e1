//go:build unix

package connguard

import "syscall"

// fileLimit is the process's soft RLIMIT_NOFILE.
func fileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return uint64(rl.Cur), true // an int64 on some Unixes
}
