package e2e

import "syscall"

// sysProcAttr puts a program in its own process group, so that Stop and
// Kill reach anything it started too. Pdeathsig kills it if the test binary
// dies without stopping it (a panic, go test's -timeout), which no cleanup
// code can handle, so no program outlives a test run holding its port.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
