package plugins

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// rawConn reads and writes a unix socket with raw system calls, still
// waiting for readiness in the runtime's network poller: a read or write
// of a non-blocking socket never blocks, so it needs none of what
// syscall.Read and syscall.Write do around a call that might (entersyscall
// and exitsyscall, which also wake the runtime's sysmon thread whenever it
// sleeps, that is after every idle moment of a process with one P: a
// futex wake, then its 20 µs polls until the process is idle again).
// Reads come from one goroutine and writes from one other, as frameConn's.
type rawConn struct {
	c  net.Conn
	rc syscall.RawConn

	rbuf []byte // the read's buffer, while rc.Read runs
	rn   int
	rerr syscall.Errno
	rfn  func(fd uintptr) bool // readFD, bound once: a method value per call would allocate

	wbuf []byte // what is left to write, while rc.Write runs
	werr syscall.Errno
	wfn  func(fd uintptr) bool
}

// newRawConn returns c's rawConn, or nil when c is not a unix socket.
func newRawConn(c net.Conn) *rawConn {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawConn{c: c, rc: rc}
	r.rfn, r.wfn = r.readFD, r.writeFD
	return r
}

func (r *rawConn) readFD(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.rbuf))), uintptr(len(r.rbuf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait for the poller
		}
		r.rn, r.rerr = int(n), e
		return true
	}
}

// Read implements io.Reader (for frameConn's bufio.Reader).
func (r *rawConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.rbuf, r.rn, r.rerr = p, 0, 0
	err := r.rc.Read(r.rfn)
	r.rbuf = nil
	switch {
	case err != nil:
		return 0, err
	case r.rerr != 0:
		return 0, &net.OpError{Op: "read", Net: "unix", Err: r.rerr}
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

func (r *rawConn) writeFD(fd uintptr) bool {
	for len(r.wbuf) > 0 {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.wbuf))), uintptr(len(r.wbuf)))
		switch e {
		case 0:
			r.wbuf = r.wbuf[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // the socket's buffer is full: wait for the poller
		default:
			r.werr = e
			return true
		}
	}
	return true
}

// Write writes all of p.
func (r *rawConn) Write(p []byte) (int, error) {
	r.wbuf, r.werr = p, 0
	err := r.rc.Write(r.wfn)
	left := len(r.wbuf)
	r.wbuf = nil
	if err == nil && r.werr != 0 {
		err = &net.OpError{Op: "write", Net: "unix", Err: r.werr}
	}
	if err == nil && left > 0 {
		err = io.ErrShortWrite // not reached: writeFD ends with all written or an error
	}
	return len(p) - left, err
}
