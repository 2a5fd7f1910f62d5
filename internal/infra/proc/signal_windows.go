package proc

import "syscall"

// Native Windows has no process groups or signals; the runner says to use
// WSL2 there. This is enough for the package to build.

// Signal kills the process for SIGKILL and SIGTERM, the only signals
// Windows can deliver; others are ignored.
func (p *Process) Signal(sig syscall.Signal) {
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		p.cmd.Process.Kill()
	}
}

func sysProcAttr() *syscall.SysProcAttr { return nil }
