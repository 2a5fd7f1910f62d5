package main

import "syscall"

// sysProcAttr puts a program in its own process group, so that Ctrl-C in
// the terminal reaches only the runner, which then stops everything in
// order, and so that stopping a program reaches anything it started.
// Pdeathsig kills it if the runner dies without stopping it (a crash, a
// SIGKILL), so no program outlives the runner holding its port.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
