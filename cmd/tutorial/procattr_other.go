//go:build unix && !linux

package main

import "syscall"

// sysProcAttr puts a program in its own process group, so that Ctrl-C in
// the terminal reaches only the runner, which then stops everything in
// order. (Only Linux can also kill it when the runner dies.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
