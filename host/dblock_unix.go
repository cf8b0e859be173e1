//go:build unix

package host

import (
	"os"
	"syscall"
)

// lockOpenFlags opens a lock file without following a link in its place:
// the holder's record is written into it.
const lockOpenFlags = os.O_RDWR | os.O_CREATE | syscall.O_NOFOLLOW

// errLocked is lockFile's error when another process holds the lock.
const errLocked = syscall.EWOULDBLOCK

// lockFile takes an exclusive flock on f without waiting.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
