//go:build windows

package host

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockOpenFlags opens a lock file (Windows has no O_NOFOLLOW; the file
// is checked to be a regular one once open).
const lockOpenFlags = os.O_RDWR | os.O_CREATE

// errLocked is lockFile's error when another process holds the lock.
const errLocked = windows.ERROR_LOCK_VIOLATION

// lockFile takes an exclusive lock on f's first byte without waiting.
func lockFile(f *os.File) error {
	var ol windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
}
