//go:build linux && (amd64 || arm64)

package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// userfaultfd(2)'s flags, ioctls and structures (linux/userfaultfd.h; the
// ioctl numbers are the generic _IOWR encoding of amd64 and arm64).
const (
	uffdUserModeOnly   = 1          // UFFD_USER_MODE_ONLY
	uffdAPI            = 0xAA       // UFFD_API
	uffdFeatureWPAsync = 1 << 15    // UFFD_FEATURE_WP_ASYNC
	uffdRegisterModeWP = 1 << 1     // UFFDIO_REGISTER_MODE_WP
	uffdioAPI          = 0xC018AA3F // UFFDIO_API: _IOWR(0xAA, 0x3F, struct uffdio_api)
	uffdioRegister     = 0xC020AA00 // UFFDIO_REGISTER: _IOWR(0xAA, 0x00, struct uffdio_register)
)

type uffdioAPIArg struct{ api, features, ioctls uint64 }

type uffdioRegisterArg struct{ start, len, mode, ioctls uint64 }

// disableFaultAround turns the kernel's fault-around off for ms: at a page
// fault on a file mapping, Linux maps not only the page but up to 16 of its
// neighbours that are in the page cache (fault_around_bytes, 64 KiB), so a
// process that calls a few functions of every package holds most of its
// executable. Measured under the load run, the server used about a third
// of the code and read-only data pages it held, and the extension about a
// quarter.
//
// The kernel does not fault around in ranges registered with userfaultfd
// for write-protection (mm/memory.c, uffd_disable_fault_around), so this
// registers ms in asynchronous write-protect mode (Linux 6.7 and later),
// where the kernel resolves write-protect faults itself and the descriptor
// is never read. Nothing is write-protected (that would take
// UFFDIO_WRITEPROTECT), so the registration changes nothing else: a page
// comes back at its next use as before, one at a time.
//
// The registration lasts while the returned descriptor is open (it is
// close-on-exec). An error (an older kernel) leaves fault-around as it
// was; the descriptor is closed then. Under a seccomp filter it is not
// tried: a filter may kill the process at a system call it does not allow
// (systemd's SystemCallFilter= does by default), and others refuse
// userfaultfd anyway (Docker's default profile, without CAP_SYS_PTRACE).
func disableFaultAround(ms []mapping) (fd int, err error) {
	if st, err := os.Open("/proc/self/status"); err == nil {
		filtered := seccompFiltered(st)
		_ = st.Close()
		if filtered {
			return -1, errSeccomp
		}
	}
	// UFFD_USER_MODE_ONLY needs no privilege whatever
	// vm.unprivileged_userfaultfd says: faults in the kernel's own
	// accesses are not reported, and this reads none anyway.
	r, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK|uffdUserModeOnly, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	fd = int(r)
	api := uffdioAPIArg{api: uffdAPI, features: uffdFeatureWPAsync}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uffdioAPI, uintptr(unsafe.Pointer(&api))); errno != 0 {
		_ = unix.Close(fd)
		return -1, errno
	}
	registered := false
	for _, m := range ms {
		reg := uffdioRegisterArg{start: uint64(m.start), len: uint64(m.end - m.start), mode: uffdRegisterModeWP}
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uffdioRegister, uintptr(unsafe.Pointer(&reg))); e != 0 {
			err = e
			continue
		}
		registered = true
	}
	if !registered {
		_ = unix.Close(fd)
		if err == nil {
			err = unix.EINVAL
		}
		return -1, err
	}
	return fd, nil
}

// errSeccomp is disableFaultAround's error under a seccomp filter.
var errSeccomp = errors.New("a seccomp filter may not allow userfaultfd")

// seccompFiltered reports whether /proc/<pid>/status says the process runs
// under seccomp (a filter, or the strict mode): its Seccomp field is not
// 0. A status without the field (a kernel without seccomp) is not.
func seccompFiltered(status io.Reader) bool {
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Seccomp:"); ok {
			return strings.TrimSpace(v) != "0"
		}
	}
	return false
}
