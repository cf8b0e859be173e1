package extensions

import "syscall"

// sysProcAttr puts an extension process in a process group of its own and,
// with pdeathsig, has the kernel SIGKILL it when the thread that started it
// (the manager's spawner) ends, which happens at the latest when hookhost
// dies, however it dies.
func sysProcAttr(pdeathsig bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if pdeathsig {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}
