//go:build unix

package catalog

import "syscall"

// openExisting are the flags the example's URL file is opened with: a
// symbolic link is not followed and a FIFO does not block the open.
const openExisting = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
