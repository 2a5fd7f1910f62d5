//go:build unix && !linux

package e2e

import "syscall"

// sysProcAttr puts a program in its own process group, so that Stop and
// Kill reach anything it started too. (Only Linux can also kill it when the
// test binary dies.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
