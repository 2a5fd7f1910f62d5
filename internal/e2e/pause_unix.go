//go:build unix

package e2e

import (
	"syscall"
	"testing"
)

// Pause stops the process with SIGSTOP, as a hung program is: it keeps its
// port and its connections, and answers nothing. Resume (or the test's
// end) lets it go on.
func (p *Process) Pause(t testing.TB) {
	t.Helper()
	pid := p.current().Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("e2e: pausing %s: %v", p.name, err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
}

// Resume lets a paused process go on (SIGCONT).
func (p *Process) Resume(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(p.current().Pid(), syscall.SIGCONT); err != nil {
		t.Fatalf("e2e: resuming %s: %v", p.name, err)
	}
}

// Pause makes the server hang (SIGSTOP): connections open, no answers.
func (r *RedisServer) Pause(t testing.TB) { t.Helper(); r.proc.Pause(t) }

// Resume lets a paused server answer again.
func (r *RedisServer) Resume(t testing.TB) { t.Helper(); r.proc.Resume(t) }
