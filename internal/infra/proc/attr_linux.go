package proc

import "syscall"

// sysProcAttr puts a program in its own process group. Pdeathsig kills it
// when the program that started it dies (strictly, when the OS thread that
// started it exits, which Go's runtime leaves to the program's end).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
