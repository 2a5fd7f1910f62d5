//go:build unix

package stack

import (
	"syscall"

	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

// Pause freezes the process (SIGSTOP), as a hung program is: it keeps its
// port and its connections, and answers nothing.
func (p *Process) Pause() { p.current().Signal(syscall.SIGSTOP) }

// Resume lets a paused process go on (SIGCONT).
func (p *Process) Resume() { resume(p.current().Process) }

func resume(p *proc.Process) { p.Signal(syscall.SIGCONT) }
