//go:build unix

package proc

import "syscall"

// Signal sends sig to the process's group: the program and anything it
// started.
func (p *Process) Signal(sig syscall.Signal) {
	syscall.Kill(-p.Pid(), sig) // ESRCH: already gone, fine
}
