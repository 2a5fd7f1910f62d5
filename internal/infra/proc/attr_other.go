//go:build unix && !linux

package proc

import "syscall"

// sysProcAttr puts a program in its own process group. (Only Linux can
// also kill it when the program that started it dies.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
