//go:build unix

package host

import (
	"os"
	"syscall"
)

// errLocked is lockFile's error when another process holds the lock.
const errLocked = syscall.EWOULDBLOCK

// lockFile takes an exclusive flock on f without waiting.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
