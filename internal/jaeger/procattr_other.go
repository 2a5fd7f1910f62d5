//go:build unix && !linux

package jaeger

import "syscall"

// sysProcAttr puts Jaeger in its own process group, so that Stop can signal
// all of it. (Only Linux can also kill it when its parent dies.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
