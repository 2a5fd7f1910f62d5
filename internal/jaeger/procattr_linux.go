package jaeger

import "syscall"

// sysProcAttr puts Jaeger in its own process group, so that Stop can signal
// all of it and a Ctrl-C in the terminal does not reach it before the
// program that started it can stop it in order. Pdeathsig kills it if that
// program dies without stopping it (a panic, go test's -timeout), so no
// Jaeger outlives a test run holding its ports.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
